# bcchip.so: the OpenSSL 3 provider for keys on the chip.  docs/openssl.md.
#
#   make provider           build $(B)/lib/bcchip.so and its tests
#   make check-provider     run them against a fresh emulator
#   make install            also puts bcchip.so in OpenSSL's modules dir

PROV_DIR := $(TOP)/lib/provider
PROV_CORE := provider.c p11.c key.c keymgmt.c signature.c cipher.c
PROV_SRC := $(PROV_CORE) store.c decoder.c uri.c
PROV_OBJ := $(PROV_SRC:%.c=$(B)/lib/provider/%.o) $(B)/lib/keyref.o
PROVIDER := $(B)/lib/bcchip.so

OSSL_MODULES_DIR ?= $(shell openssl version -m 2>/dev/null | \
	sed -n 's/^MODULESDIR: "\(.*\)"/\1/p')
# LIBDIR (top Makefile) is set after this file is read: expanded late.
PROV_CFLAGS = $(CFLAGS_PIC) $(P11KIT_CFLAGS) -I$(PROV_DIR) \
	-DBCPROV_DEFAULT_MODULE='"$(LIBDIR)/pkcs11/libbc_pkcs11.so"'

PROV_TESTS := $(B)/lib/provider/tests/test_provider \
	$(B)/lib/provider/tests/uri_test

.PHONY: provider check-provider install-provider
all: provider
provider: $(PROVIDER) $(PROV_TESTS)

$(B)/lib/provider/%.o: $(PROV_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(PROV_CFLAGS) -MMD -MP -c -o $@ $<

$(PROVIDER): $(PROV_OBJ)
	$(CC) -shared -o $@ $(PROV_OBJ) $(LDFLAGS_BASE) \
		-Wl,-z,defs -Wl,-z,relro -Wl,-z,now -pthread -lcrypto -ldl

$(B)/lib/provider/tests/test_provider: $(PROV_DIR)/tests/test_provider.c \
		$(B)/lib/keyref.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(P11KIT_CFLAGS) -I$(PROV_DIR) -MMD -MP -o $@ $^ \
		$(LDFLAGS_BASE) -pthread -ldl -lssl -lcrypto

$(B)/lib/provider/tests/uri_test: $(PROV_DIR)/tests/uri_test.c \
		$(B)/lib/provider/uri.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -I$(PROV_DIR) -MMD -MP -o $@ $^ \
		$(LDFLAGS_BASE) -lcrypto

# Needs the PKCS#11 module, the emulator and pkcs11-tool.
check-provider: provider lib $(B)/emu/bcchip-emu
	$(PROV_DIR)/tests/run $(B) $(if $(SAN),san,)

install-provider: $(PROVIDER)
	@test -n "$(OSSL_MODULES_DIR)" || \
		{ echo "no OpenSSL modules directory (openssl version -m)"; exit 1; }
	install -D -m 0644 $(PROVIDER) $(DESTDIR)$(OSSL_MODULES_DIR)/bcchip.so
install-userspace: install-provider

-include $(PROV_OBJ:.o=.d) $(PROV_TESTS:=.d)
