# VM harness targets.  KERNEL is 6.1 or 6.12.
KERNEL ?= 6.1
VM_KVER = $(if $(filter 6.12,$(KERNEL)),$(K612),$(K61))
# Listed when the recipe runs, after `all` has built them.
VM_TESTS = $(TOP)/build/rel/selftests/*_test $(TOP)/build/rel/lib/tests/test_pkcs11

.PHONY: check-vm check-vm-clients demo demo-vm fuzz-ioctl
check-vm: all
	@$(MAKE) -s all module KVER=$(VM_KVER)
	tools/vm/run --no-build --kernel $(KERNEL) --chips 2 --timeout 1500 --emu-arg=--test-clock \
		--add tools/vm/guest-tests:/usr/libexec/bcchip/guest-tests \
		$$(for t in $(VM_TESTS); do \
			echo --add $$t:/usr/libexec/bcchip/tests/$${t##*/}; done) \
		-- /usr/libexec/bcchip/guest-tests

# The two-command tour: set up, build, boot two chips, show them.  The
# kernel versions are known only once tools/setup has run, hence the
# second make.
demo:
	./tools/setup
	$(MAKE) demo-vm

demo-vm:
	$(MAKE) -j2 all module KVER=$(VM_KVER)
	tools/vm/run --no-build --kernel $(KERNEL) --chips 2 $(TLS_DEMO_ADD) -- sh -c '\
		set -x; modprobe bcchip && ls -l /dev/bcchip* && bcctl list && \
		pkcs11-tool --module /usr/lib/x86_64-linux-gnu/pkcs11/libbc_pkcs11.so -L && \
		pkcs11-tool --module /usr/lib/x86_64-linux-gnu/pkcs11/libbc_pkcs11.so \
			--generate-random 64 | od -An -tx1 && \
		bcctl status && \
		bash /usr/libexec/bcchip/tls/demo-guest'

# Real PKCS#11 clients (lib/tests/clients) through the driver, on two
# fresh chips of their own.
check-vm-clients: all
	@$(MAKE) -s all module KVER=$(VM_KVER)
	tools/vm/run --no-build --kernel $(KERNEL) --chips 2 \
		--add lib/tests/clients:/usr/libexec/bcchip/clients \
		-- sh -c 'modprobe bcchip && sleep 1 && bash /usr/libexec/bcchip/clients \
			/usr/lib/x86_64-linux-gnu/pkcs11/libbc_pkcs11.so \
			"Bastionchip vm 0" "Bastionchip vm 1"'

# The char-device fuzzer alone, for longer than make check runs it:
#   make fuzz-ioctl [KERNEL=6.12] [FUZZ_SECONDS=600] [FUZZ_SEED=0x...]
#   [FUZZ_WORKERS=4] [IOMMU=1]
FUZZ_SECONDS ?= 300
FUZZ_WORKERS ?= 4
fuzz-ioctl: all
	@$(MAKE) -s all module KVER=$(VM_KVER)
	tools/vm/run --no-build --kernel $(KERNEL) --chips 2 \
		--timeout $$(( $(FUZZ_SECONDS) + 300 )) $(if $(IOMMU),--iommu) \
		--add $(TOP)/build/rel/selftests/bcchip_fuzz_test:/usr/libexec/bcchip/tests/bcchip_fuzz_test \
		-- sh -c 'modprobe bcchip && sleep 1 && \
			BCCHIP_FUZZ_SECONDS=$(FUZZ_SECONDS) BCCHIP_FUZZ_WORKERS=$(FUZZ_WORKERS) \
			$(if $(FUZZ_SEED),BCCHIP_FUZZ_SEED=$(FUZZ_SEED)) \
			/usr/libexec/bcchip/tests/bcchip_fuzz_test'
