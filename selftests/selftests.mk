# kselftest-harness programs for the driver, run inside the VM
# (tools/vm/run).  kselftest_harness.h and kselftest.h come from Debian's
# linux-source-6.1, extracted once into /var/cache/bcchip (not committed).

SELFTEST_KSRC := /var/cache/bcchip/linux-source-6.1
SELFTEST_HDR := $(SELFTEST_KSRC)/tools/testing/selftests/kselftest_harness.h
SELFTEST_PROGS := $(B)/selftests/bcchip_abi_test $(B)/selftests/bcchip_deademu_test \
	$(B)/selftests/bcchip_remove_test $(B)/selftests/bcchip_reset_test \
	$(B)/selftests/bcchip_clients_test $(B)/selftests/bcchip_vectors_test \
	$(B)/selftests/bcchip_events_test $(B)/selftests/bcchip_hotplug_test \
	$(B)/selftests/bcchip_close_test $(B)/selftests/bcchip_pm_test \
	$(B)/selftests/bcchip_isolation_test $(B)/selftests/bcchip_faults_test \
	$(B)/selftests/bcchip_fuzz_test
# The harness relies on GNU extensions; it also has unused helpers.
SELFTEST_CFLAGS := $(filter-out -std=c11 -Wmissing-prototypes,$(CFLAGS_BASE)) \
	-std=gnu11 -Wno-unused-function \
	-isystem $(SELFTEST_KSRC)/tools/testing/selftests -I$(TOP)/selftests

# The isolation test's victim signs through the PKCS#11 library (dlopen).
$(B)/selftests/bcchip_isolation_test: SELFTEST_CFLAGS += $(shell pkg-config --cflags p11-kit-1)
$(B)/selftests/bcchip_isolation_test: LDFLAGS_BASE += -ldl

.PHONY: selftests
all: selftests
selftests: $(SELFTEST_PROGS)

$(SELFTEST_HDR):
	mkdir -p /var/cache/bcchip
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C /var/cache/bcchip \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	touch $@

$(B)/selftests/%: $(TOP)/selftests/%.c $(TOP)/selftests/bcchip_test_util.h \
		$(TOP)/selftests/bcchip_chip_util.h \
		$(TOP)/uapi/linux/bcchip.h | $(SELFTEST_HDR)
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_CFLAGS) -o $@ $< $(LDFLAGS_BASE) -pthread
