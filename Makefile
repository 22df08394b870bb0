# Bastionchip Linux stack.  `make help` lists the targets.
#
# Userspace is built into $(B) (build/rel, or build/san with SAN=1, which
# adds AddressSanitizer and UBSan); the kernel module into
# build/module/<kernel version>/.  Nothing is built in the source tree.

SHELL := /bin/bash
TOP := $(CURDIR)
SAN ?=
B := $(TOP)/build/$(if $(SAN),san,rel)

CC ?= cc
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
	-Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-fstack-protector-strong -fno-strict-aliasing \
	-I$(TOP)/uapi -I$(TOP)/lib
ifneq ($(SAN),)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS_BASE += -fsanitize=address,undefined
endif
CFLAGS_PIC := $(CFLAGS_BASE) -fPIC -fvisibility=hidden

# Kernels we build and test against: newest Debian 6.1 and 6.12
# (tools/setup installs their headers and records them here).
-include /var/cache/bcchip/kernels.env
KVER ?= $(K61)

.PHONY: all help setup clean check demo
all:

help:
	@echo "make setup        install build and test dependencies (root)"
	@echo "make              build userspace (library, emulator, bcctl, tests)"
	@echo "make module KVER=<version>   build bcchip.ko against that kernel"
	@echo "make module-check run W=1, sparse C=2 and checkpatch on the module"
	@echo "make qemu         build (or reuse) our QEMU with the bcchip device"
	@echo "make check        set up, build, and run every test"
	@echo "make demo         boot a VM with two emulated chips and show them"
	@echo "make install      install module, udev rule, library, bcctl"

setup:
	./tools/setup

include kernel/kernel.mk
include lib/lib.mk
include lib/provider/provider.mk
include lib/provider/store.mk
include tools/emu/emu.mk
include tools/bcctl/bcctl.mk
include tools/qemu/qemu.mk
include selftests/selftests.mk
include tools/vm/vm.mk
include tests/tls/tls.mk

# `make install` also installs the module (kernel/kernel.mk).
PREFIX ?= /usr
MULTIARCH := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR ?= $(PREFIX)/lib/$(MULTIARCH)
.PHONY: install-userspace
install: install-userspace
install-userspace: lib bcctl emu
	install -D -m 0644 $(LIBP11) $(DESTDIR)$(LIBDIR)/pkcs11/libbc_pkcs11.so
	install -D -m 0644 $(TOP)/lib/bcchip.module \
		$(DESTDIR)$(PREFIX)/share/p11-kit/modules/bcchip.module
	install -D -m 0755 $(BCCTL) $(DESTDIR)$(PREFIX)/bin/bcctl
	install -D -m 0644 $(TOP)/docs/bcctl.1 \
		$(DESTDIR)$(PREFIX)/share/man/man1/bcctl.1
	install -D -m 0755 $(EMU) $(DESTDIR)$(PREFIX)/sbin/bcchip-emu
	install -D -m 0644 $(TOP)/lib/bc_pkcs11_ext.h \
		$(DESTDIR)$(PREFIX)/include/bc_pkcs11_ext.h

clean:
	rm -rf build

# Every suite prints a closing line `N passed, N failed`; tools/check runs
# them all, whatever fails, and prints the totals.
check:
	./tools/setup
	./tools/check
