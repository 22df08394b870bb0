# Kernel module bcchip.ko (included by the top-level Makefile).
#
#   make module KVER=<version>   build/module/<version>/bcchip.ko
#   make module-check            W=1, sparse (C=2) for $(K61) and $(K612),
#                                checkpatch --strict; PASS/FAIL per check
#   make install-module          module into /lib/modules/$(KVER)/updates,
#                                udev rule, depmod (part of `make install`)
#
# Each kernel gets its own copy of the sources under build/module/<version>/
# so that two kernels never share objects.

KMOD_SRCS := $(TOP)/Kbuild $(wildcard $(TOP)/kernel/*.c $(TOP)/kernel/*.h) \
	$(TOP)/uapi/linux/bcchip.h
KMOD_CACHE := /var/cache/bcchip/linux-source-6.1
KMOD_CHECKPATCH := $(KMOD_CACHE)/scripts/checkpatch.pl
KMOD_LINUX_SRC := /usr/src/linux-source-6.1.tar.xz
DESTDIR ?=

# Copy the module sources into $(1)/src.
define kmod_stage
	mkdir -p $(1)/src/kernel $(1)/src/uapi/linux
	cp -p $(TOP)/Kbuild $(1)/src/
	cp -p $(TOP)/kernel/*.c $(TOP)/kernel/*.h $(1)/src/kernel/
	cp -p $(TOP)/uapi/linux/bcchip.h $(1)/src/uapi/linux/
endef

.PHONY: module module-check install install-module
module: $(TOP)/build/module/$(KVER)/bcchip.ko

$(TOP)/build/module/%/bcchip.ko: $(KMOD_SRCS)
	$(call kmod_stage,$(@D))
	$(MAKE) -C /lib/modules/$*/build M=$(@D)/src modules
	cp $(@D)/src/bcchip.ko $@

# checkpatch and its data files come from Debian's linux-source-6.1,
# extracted once outside the work tree.
$(KMOD_CHECKPATCH):
	mkdir -p /var/cache/bcchip
	tar -xJf $(KMOD_LINUX_SRC) -C /var/cache/bcchip \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch $@

module-check: $(KMOD_CHECKPATCH)
	@pass=0; fail=0; \
	for kv in $(K61) $(K612); do \
		d=$(TOP)/build/module-check/$$kv; rm -rf $$d; \
		mkdir -p $$d/src/kernel $$d/src/uapi/linux; \
		cp -p $(TOP)/Kbuild $$d/src/; \
		cp -p $(TOP)/kernel/*.c $(TOP)/kernel/*.h $$d/src/kernel/; \
		cp -p $(TOP)/uapi/linux/bcchip.h $$d/src/uapi/linux/; \
		if $(MAKE) -s -C /lib/modules/$$kv/build M=$$d/src W=1 C=2 \
			modules > $$d/build.log 2>&1 && \
		   ! grep -E -q 'warning:|error:' $$d/build.log; then \
			echo "PASS: build $$kv W=1 C=2"; pass=$$((pass + 1)); \
		else \
			cat $$d/build.log; \
			echo "FAIL: build $$kv W=1 C=2"; fail=$$((fail + 1)); \
		fi; \
	done; \
	for f in $(TOP)/kernel/*.[ch] $(TOP)/uapi/linux/bcchip.h; \
	do \
		out=$$(perl $(KMOD_CHECKPATCH) --strict --no-tree \
			--show-types -f $$f 2>&1); \
		if echo "$$out" | grep -q 'total: 0 errors, 0 warnings, 0 checks'; then \
			echo "PASS: checkpatch $${f#$(TOP)/}"; pass=$$((pass + 1)); \
		else \
			echo "$$out"; \
			echo "FAIL: checkpatch $${f#$(TOP)/}"; fail=$$((fail + 1)); \
		fi; \
	done; \
	echo "$$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

install: install-module
install-module: module
	install -D -m 0644 $(TOP)/build/module/$(KVER)/bcchip.ko \
		$(DESTDIR)/lib/modules/$(KVER)/updates/bcchip.ko
	install -D -m 0644 $(TOP)/udev/60-bcchip.rules \
		$(DESTDIR)/lib/udev/rules.d/60-bcchip.rules
	if [ -z "$(DESTDIR)" ]; then \
		getent group bcchip >/dev/null || groupadd --system bcchip; \
		depmod -a $(KVER); \
	fi
