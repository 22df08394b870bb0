# QEMU with the bcchip device (tools/qemu/build; docs/qemu.md).  The build
# lives in /var/cache/bcchip/qemu, outside the tree, keyed by the Debian
# version and a hash of our sources, so repeated runs cost nothing.

.PHONY: qemu qemu-check qemu-fuzz
qemu:
	@$(TOP)/tools/qemu/build

# Host-side test of the device through QEMU's qtest accelerator.
qemu-check:
	$(TOP)/tools/qemu/test-device "$$($(TOP)/tools/qemu/build)"

# A random hostile guest and emulator against the device (60 s; longer:
# make qemu-fuzz QFUZZ_SECONDS=N, replay: QFUZZ_SEED=S).
QFUZZ_SECONDS ?= 60
qemu-fuzz:
	$(TOP)/tools/qemu/fuzz-device "$$($(TOP)/tools/qemu/build)" \
		--seconds $(QFUZZ_SECONDS) $(if $(QFUZZ_SEED),--seed $(QFUZZ_SEED))
