# The provider's pkcs11: store and key reference decoders, end to end
# (lib/provider/tests/store_run), and the key reference format's unit
# test.  docs/openssl.md "Key references and pkcs11: URIs".
#
#   make check-provider-store   against a fresh emulator

STORE_TESTS := $(B)/lib/tests/test_keyref $(B)/lib/provider/tests/store_pemread

.PHONY: check-provider-store
provider: $(STORE_TESTS)

# Links libcrypto only to judge what keyref.c (libcrypto-free) produces.
$(B)/lib/tests/test_keyref: $(TOP)/lib/tests/test_keyref.c $(LIBBCCHIP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -o $@ $< $(LIBBCCHIP) $(LDFLAGS_BASE) \
		-lcrypto

$(B)/lib/provider/tests/store_pemread: \
		$(TOP)/lib/provider/tests/store_pemread.c $(LIBBCCHIP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -o $@ $< $(LIBBCCHIP) $(LDFLAGS_BASE) \
		-lssl -lcrypto

# Needs the PKCS#11 module, the emulator and pkcs11-tool; nginx and
# HAProxy are used when installed.
check-provider-store: $(PROVIDER) $(STORE_TESTS) lib $(B)/emu/bcchip-emu
	$(TOP)/lib/provider/tests/store_run $(B) $(if $(SAN),san,)

-include $(STORE_TESTS:=.d)
