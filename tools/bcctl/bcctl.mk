# bcctl, the operator CLI; links libbcchip.a from lib/lib.mk, libnl-genl-3
# (the driver's netlink family), libcrypto (certificate checks) and libdl
# (the PKCS#11 module).  docs/bcctl.md.

BCCTL := $(B)/bcctl/bcctl
BCCTL_SRC := main.c json.c list.c status.c netlink.c attest.c der.c p11.c pin.c \
	keyattest.c token.c bench.c check.c monitor.c
BCCTL_OBJ := $(BCCTL_SRC:%.c=$(B)/bcctl/%.o)
NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0)
NL_LIBS := $(shell pkg-config --libs libnl-genl-3.0)
# Test helpers: the chip clock (TEST_CLOCK) and a session kept across a
# refresh.
BCCTL_TESTS := $(B)/bcctl/tests/bc-test-clock $(B)/bcctl/tests/bc-p11-hold

.PHONY: bcctl check-bcctl check-vm-bcctl
all: bcctl
bcctl: $(BCCTL) $(BCCTL_TESTS)

$(B)/bcctl/%.o: $(TOP)/tools/bcctl/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(P11KIT_CFLAGS) $(NL_CFLAGS) \
		-DBCCTL_MODULE_DEFAULT='"$(LIBDIR)/pkcs11/libbc_pkcs11.so"' \
		-MMD -MP -c -o $@ $<

$(BCCTL): $(BCCTL_OBJ) $(LIBBCCHIP)
	@mkdir -p $(@D)
	$(CC) -o $@ $(BCCTL_OBJ) $(LIBBCCHIP) $(LDFLAGS_BASE) $(NL_LIBS) \
		-lcrypto -ldl -pthread

$(B)/bcctl/tests/bc-test-clock: $(TOP)/tools/bcctl/tests/bc-test-clock.c \
		$(LIBBCCHIP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -o $@ $< $(LIBBCCHIP) $(LDFLAGS_BASE) \
		-pthread

$(B)/bcctl/tests/bc-p11-hold: $(TOP)/tools/bcctl/tests/bc-p11-hold.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(P11KIT_CFLAGS) -MMD -MP -o $@ $< \
		$(LDFLAGS_BASE) -ldl -pthread

# Host tests over emulator sockets (also run by check-lib's suite).
check-bcctl: bcctl lib $(B)/emu/bcchip-emu
	$(TOP)/tools/bcctl/tests/run-host $(B)

# Through the driver: a VM with two chips whose clocks tests may set.
check-vm-bcctl: all
	@$(MAKE) -s all module KVER=$(VM_KVER)
	tools/vm/run --no-build --kernel $(KERNEL) --chips 2 \
		--emu-arg=--test-clock \
		--add tools/bcctl/tests/guest-bcctl:/usr/libexec/bcchip/guest-bcctl \
		--add $(TOP)/build/rel/bcctl/tests/bc-test-clock:/usr/bin/bc-test-clock \
		--add $(TOP)/build/rel/bcctl/tests/bc-p11-hold:/usr/bin/bc-p11-hold \
		-- bash /usr/libexec/bcchip/guest-bcctl

-include $(BCCTL_OBJ:.o=.d) $(BCCTL_TESTS:=.d)
