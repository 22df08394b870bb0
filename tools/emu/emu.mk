# bcchip-emu, the chip's firmware as a host process.  docs/emulator.md.

EMU := $(B)/emu/bcchip-emu
EMU_SRC := main.c server.c firmware.c sessions.c state.c \
	store.c token.c attrs.c objects.c keys.c mechs.c crypto.c keymgmt.c \
	keyops.c clock.c events.c factory.c certs.c attest.c keyattest.c \
	files.c
EMU_OBJ := $(EMU_SRC:%.c=$(B)/emu/%.o)
EMU_TESTS := $(B)/emu/test_emu $(B)/emu/test_keystore $(B)/emu/test_attest
# Helpers both test programs link (tests/emutest.h).
EMU_TEST_OBJ := $(B)/emu/tests/emutest.o
# p11-kit's pkcs11.h, for the CKA_/CKM_/CKR_ values the firmware speaks.
EMU_P11_CFLAGS := $(shell pkg-config --cflags p11-kit-1 2>/dev/null || echo -I/usr/include/p11-kit-1)

.PHONY: emu check-emu
all: emu
emu: $(EMU) $(EMU_TESTS)

$(B)/emu/%.o: $(TOP)/tools/emu/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(EMU_P11_CFLAGS) -MMD -MP -c -o $@ $<

$(EMU): $(EMU_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS_BASE) -lcrypto -pthread

$(EMU_TEST_OBJ): $(TOP)/tools/emu/tests/emutest.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -c -o $@ $<

$(B)/emu/test_emu: $(TOP)/tools/emu/tests/test_emu.c $(EMU_TEST_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -o $@ $< $(EMU_TEST_OBJ) $(LDFLAGS_BASE) \
		-pthread

$(B)/emu/test_keystore: $(TOP)/tools/emu/tests/test_keystore.c $(EMU_TEST_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(EMU_P11_CFLAGS) -MMD -MP -o $@ $< $(EMU_TEST_OBJ) \
		$(LDFLAGS_BASE) -lcrypto -pthread

$(B)/emu/test_attest: $(TOP)/tools/emu/tests/test_attest.c $(EMU_TEST_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(EMU_P11_CFLAGS) -MMD -MP -o $@ $< $(EMU_TEST_OBJ) \
		$(LDFLAGS_BASE) -lcrypto -pthread

# The suites run whatever the first gives; each count is shown, then the
# total as the closing line (tools/check reads only the last one).
check-emu: $(EMU) $(EMU_TESTS)
	@rc=0; tp=0; tf=0; \
	for t in test_emu test_keystore test_attest; do \
		$(B)/emu/$$t $(EMU) > $(B)/emu/$$t.out 2>&1 || rc=1; \
		sed '$$d' $(B)/emu/$$t.out; \
		last=$$(tail -n 1 $(B)/emu/$$t.out); \
		echo "$$t: $$last"; \
		p=$$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$$last"); \
		f=$$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$$last"); \
		tp=$$((tp + $${p:-0})); tf=$$((tf + $${f:-1})); \
	done; \
	echo "$$tp passed, $$tf failed"; \
	exit $$rc

-include $(EMU_OBJ:.o=.d) $(EMU_TEST_OBJ:.o=.d) $(EMU_TESTS:=.d)
