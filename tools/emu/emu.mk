# bcchip-emu, the chip's firmware as a host process.  docs/emulator.md.

EMU := $(B)/emu/bcchip-emu
EMU_SRC := main.c server.c firmware.c sessions.c state.c
EMU_OBJ := $(EMU_SRC:%.c=$(B)/emu/%.o)
EMU_TESTS := $(B)/emu/test_emu

.PHONY: emu check-emu
all: emu
emu: $(EMU) $(EMU_TESTS)

$(B)/emu/%.o: $(TOP)/tools/emu/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -c -o $@ $<

$(EMU): $(EMU_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS_BASE) -lcrypto -pthread

$(B)/emu/test_emu: $(TOP)/tools/emu/tests/test_emu.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -o $@ $< $(LDFLAGS_BASE) -pthread

check-emu: $(EMU) $(EMU_TESTS)
	$(EMU_TESTS) $(EMU)

-include $(EMU_OBJ:.o=.d) $(EMU_TESTS:=.d)
