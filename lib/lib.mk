# libbcchip.a: frames and transports, shared by the PKCS#11 module and bcctl.
# libbc_pkcs11.so: the PKCS#11 module.  docs/pkcs11.md.

P11KIT_CFLAGS := $(shell pkg-config --cflags p11-kit-1)

LIBBCCHIP_SRC := frame.c transport.c transport_dev.c transport_unix.c keyref.c
LIBP11_SRC := pkcs11.c slots.c session.c pool.c chip.c codec.c token.c \
	mechanisms.c objects.c crypto.c keys.c errors.c unsupported.c vendor.c

LIBBCCHIP_OBJ := $(LIBBCCHIP_SRC:%.c=$(B)/lib/%.o)
LIBP11_OBJ := $(LIBP11_SRC:%.c=$(B)/lib/%.o)
LIBBCCHIP := $(B)/lib/libbcchip.a
LIBP11 := $(B)/lib/libbc_pkcs11.so

LIB_TESTS := $(B)/lib/tests/test_libbcchip $(B)/lib/tests/test_pkcs11 \
	$(B)/lib/tests/test_transport_dev

.PHONY: lib check-lib
all: lib
lib: $(LIBBCCHIP) $(LIBP11) $(LIB_TESTS)

$(B)/lib/%.o: $(TOP)/lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_PIC) $(P11KIT_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBBCCHIP): $(LIBBCCHIP_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(LIBP11): $(LIBP11_OBJ) $(LIBBCCHIP) $(TOP)/lib/pkcs11.map
	$(CC) -shared -o $@ $(LIBP11_OBJ) $(LIBBCCHIP) $(LDFLAGS_BASE) \
		-Wl,--version-script=$(TOP)/lib/pkcs11.map \
		-Wl,-z,defs -Wl,-z,relro -Wl,-z,now -pthread

$(B)/lib/tests/test_libbcchip: $(TOP)/lib/tests/test_libbcchip.c $(LIBBCCHIP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -o $@ $< $(LIBBCCHIP) $(LDFLAGS_BASE) \
		-pthread

$(B)/lib/tests/test_transport_dev: $(TOP)/lib/tests/test_transport_dev.c \
		$(LIBBCCHIP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -o $@ $< $(LIBBCCHIP) $(LDFLAGS_BASE) \
		-pthread

# One program, one file per area; OpenSSL checks what the chip produced.
P11_TEST_SRC := test_pkcs11.c p11_token.c p11_objects.c p11_crypto.c \
	p11_wrap.c p11_pool.c p11_attest.c
$(B)/lib/tests/test_pkcs11: $(P11_TEST_SRC:%=$(TOP)/lib/tests/%) \
		$(TOP)/lib/tests/p11test.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(P11KIT_CFLAGS) -MMD -MP -o $@ \
		$(P11_TEST_SRC:%=$(TOP)/lib/tests/%) \
		$(LDFLAGS_BASE) -pthread -ldl -lcrypto

# Needs the emulator (tools/emu/emu.mk) and bcctl too; lib/tests/run prints
# the totals.
check-lib: lib bcctl $(B)/emu/bcchip-emu
	$(TOP)/lib/tests/run $(B) $(if $(SAN),san,)

-include $(LIBBCCHIP_OBJ:.o=.d) $(LIBP11_OBJ:.o=.d) \
	$(LIB_TESTS:=.d)

# The signing benchmark (not a test): tools/bench/run-p11bench runs it
# beside SoftHSM2.
P11BENCH := $(B)/bench/p11bench
lib: $(P11BENCH)
$(P11BENCH): $(TOP)/tools/bench/p11bench.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(P11KIT_CFLAGS) -MMD -MP -o $@ $< \
		$(LDFLAGS_BASE) -pthread -ldl
-include $(P11BENCH).d

# Figures for our module (fresh emulator, unix transport) beside SoftHSM2.
.PHONY: bench-p11
bench-p11: lib $(B)/emu/bcchip-emu
	$(TOP)/tools/bench/run-p11bench $(B)
