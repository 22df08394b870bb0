# TLS with real servers and clients, keys generated on the chip
# (tests/tls/run): nginx with the provider and a key reference file, and
# with libp11's engine; HAProxy with the provider; curl, openssl s_client,
# req, cms and dgst; a handshake load generator (tlsload).
# docs/openssl.md "Tests".
#
#   make check-tls                     on the host, over an emulator socket
#   make check-vm-tls KERNEL=6.1|6.12  through the kernel driver in a VM
#
# Always the rel build: the servers and clients are not sanitized, and the
# provider and module are loaded into them.

TLSLOAD := $(B)/tests/tls/tlsload
TLS_REL := $(TOP)/build/rel
TLS_ENGINES := $(shell openssl version -e 2>/dev/null | \
	sed -n 's/^ENGINESDIR: "\(.*\)"/\1/p')
TLS_MODULES := $(shell openssl version -m 2>/dev/null | \
	sed -n 's/^MODULESDIR: "\(.*\)"/\1/p')

.PHONY: tls check-tls check-vm-tls
all: tls
tls: $(TLSLOAD)

$(TLSLOAD): $(TOP)/tests/tls/tlsload.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -o $@ $< $(LDFLAGS_BASE) -pthread \
		-lssl -lcrypto
-include $(TLSLOAD).d

check-tls:
	$(MAKE) -s SAN= tls lib provider emu bcctl
	$(TOP)/tests/tls/run --host $(TLS_REL)

# The guest gets the servers, curl, libp11's engine, the provider and the
# test (tools/vm/run copies each binary's shared libraries too).  Fewer
# handshakes than on the host: the guest CPU is emulated.
TLS_GUEST := /usr/libexec/bcchip/tls
check-vm-tls:
	$(MAKE) -s SAN= all module KVER=$(VM_KVER)
	tools/vm/run --no-build --kernel $(KERNEL) --chips 2 --timeout 600 \
		--add tests/tls/run:$(TLS_GUEST)/run \
		--add tests/tls/lib.sh:$(TLS_GUEST)/lib.sh \
		--add $(TLS_REL)/tests/tls/tlsload:$(TLS_GUEST)/tlsload \
		--add $(TLS_REL)/lib/bcchip.so:$(TLS_MODULES)/bcchip.so \
		--add $(TLS_ENGINES)/pkcs11.so:$(TLS_ENGINES)/pkcs11.so \
		--add /usr/sbin/nginx:/usr/sbin/nginx \
		--add /usr/sbin/haproxy:/usr/sbin/haproxy \
		--add /usr/bin/curl:/usr/bin/curl \
		-- bash $(TLS_GUEST)/run --vm

# `make demo` (tools/vm/vm.mk demo-vm) ends with tests/tls/demo-guest: a
# handshake to nginx whose key is on chip 0.
TLS_DEMO_ADD = \
	--add tests/tls/demo-guest:$(TLS_GUEST)/demo-guest \
	--add tests/tls/lib.sh:$(TLS_GUEST)/lib.sh \
	--add $(TLS_REL)/lib/bcchip.so:$(TLS_MODULES)/bcchip.so \
	--add /usr/sbin/nginx:/usr/sbin/nginx \
	--add /usr/bin/curl:/usr/bin/curl
