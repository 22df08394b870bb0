# QEMU with the bcchip device (tools/qemu/build; docs/qemu.md).  The build
# lives in /var/cache/bcchip/qemu, outside the tree, keyed by the Debian
# version and a hash of our sources, so repeated runs cost nothing.

.PHONY: qemu qemu-check
qemu:
	@$(TOP)/tools/qemu/build

# Host-side test of the device through QEMU's qtest accelerator.
qemu-check:
	$(TOP)/tools/qemu/test-device "$$($(TOP)/tools/qemu/build)"
