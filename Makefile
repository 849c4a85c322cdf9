# ipstor: plain GNU make, non-recursive. `make V=1` shows commands,
# `make SANITIZE=1` builds with ASan+UBSan into its own build dir.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := blkid libudev json-c popt libcrypto fuse3 liburing libnbd

ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build/default
SAN :=
endif

OPT ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wno-format-nonliteral \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla
DEPS_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null | sed 's/-D_XOPEN_SOURCE=[0-9]*//')
DEPS_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -pthread \
	-Ilib $(DEPS_CFLAGS) -MMD -MP $(CFLAGS)
ALL_LDFLAGS = $(SAN) -pthread $(LDFLAGS)
LIBS = $(DEPS_LIBS) $(shell $(PKG_CONFIG) --libs readline 2>/dev/null || echo -lreadline) -lm

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(sort $(wildcard lib/*.c lib/*/*.c lib/*/*/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
HELPER_BIN := $(HELPER_SRC:%.c=$(BUILD)/%)

LIBIPSTOR := $(BUILD)/libipstor.a
IPSTOR := $(BUILD)/ipstor
MAN_SRC := $(sort $(wildcard man/*.scd))
MAN_OUT := $(MAN_SRC:man/%.scd=$(BUILD)/man/%)

.PHONY: all deps check demo install clean man unit fuzz
all: $(IPSTOR) $(UNIT_BIN) $(HELPER_BIN)

deps:
	$(Q)packaging/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBIPSTOR): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(IPSTOR): $(CMD_OBJ) $(LIBIPSTOR)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(LIBIPSTOR) $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBIPSTOR)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBIPSTOR) $(LIBS)

$(BUILD)/tests/helpers/%: $(BUILD)/tests/helpers/%.o $(LIBIPSTOR)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBIPSTOR) $(LIBS) $(if $(filter nbd%,$(notdir $@)),$(NBD_LIBS))

# test helpers that speak NBD as a client link libnbd
NBD_LIBS = $(shell $(PKG_CONFIG) --libs libnbd 2>/dev/null)

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SCDOC   $<")
	$(Q)scdoc < $< > $@

man: $(MAN_OUT)

# The README's test command: dependencies, build, every test, one summary
# line. Runs as root on a fresh Debian 12 machine.
check:
	$(Q)packaging/install-deps
	$(Q)$(MAKE) --no-print-directory all man
	$(Q)BUILD=$(BUILD) tests/run

demo:
	$(Q)packaging/install-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/demo.sh

install: $(IPSTOR) man
	install -D -m 0755 $(IPSTOR) $(DESTDIR)$(BINDIR)/ipstor
	for m in $(MAN_OUT); do \
		s=$${m##*.}; install -D -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; \
	done
	install -D -m 0644 completions/ipstor.bash $(DESTDIR)$(BASHCOMPDIR)/ipstor
	install -D -m 0644 completions/_ipstor $(DESTDIR)$(ZSHCOMPDIR)/_ipstor

clean:
	rm -rf build demo

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/%.d) $(HELPER_SRC:%.c=$(BUILD)/%.d)
-include tests/fuzz/Makefile.inc
