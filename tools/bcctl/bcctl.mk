# bcctl, the operator CLI; links libbcchip.a from lib/lib.mk.  docs/bcctl.md.

BCCTL := $(B)/bcctl/bcctl

.PHONY: bcctl
all: bcctl
bcctl: $(BCCTL)

$(BCCTL): $(TOP)/tools/bcctl/bcctl.c $(LIBBCCHIP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) -MMD -MP -o $@ $< $(LIBBCCHIP) $(LDFLAGS_BASE) \
		-pthread

-include $(BCCTL).d
