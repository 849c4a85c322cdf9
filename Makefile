# ipstor: plain GNU make, non-recursive. `make V=1` shows commands,
# `make SANITIZE=1` builds with ASan+UBSan into its own build dir.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
# where the worker keeps its state: what the unit and logrotate name
STATEDIR := $(shell sed -n 's/^\#define IPSTOR_DEFAULT_STATE_DIR "\(.*\)"/\1/p' lib/ipstor.h)
VERSION := $(shell sed -n 's/^\#define IPSTOR_VERSION "\(.*\)"/\1/p' lib/ipstor.h)

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := blkid libudev devmapper json-c popt libcrypto fuse3 liburing libnbd

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
	-Ilib $(DEPS_CFLAGS) -MMD -MP $(CPPFLAGS) $(CFLAGS)
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

.PHONY: all bin deps check demo install clean man unit fuzz deb rpm
all: $(IPSTOR) $(UNIT_BIN) $(HELPER_BIN)

# what the packages ship, without the tests' helpers
bin: $(IPSTOR) man

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
	mkdir -p $(DESTDIR)$(UNITDIR) $(DESTDIR)$(LOGROTATEDIR)
	sed 's|@BINDIR@|$(BINDIR)|g; s|@STATEDIR@|$(STATEDIR)|g' \
		packaging/systemd/ipstor.service.in >$(DESTDIR)$(UNITDIR)/ipstor.service
	sed 's|@STATEDIR@|$(STATEDIR)|g' \
		packaging/logrotate/ipstor.in >$(DESTDIR)$(LOGROTATEDIR)/ipstor
	chmod 0644 $(DESTDIR)$(UNITDIR)/ipstor.service $(DESTDIR)$(LOGROTATEDIR)/ipstor

# Packages, built from a copy of the sources under $(PKGDIR) (no network:
# every build dependency is a Debian package install-deps installs).
# make deb: $(PKGDIR)/deb/ipstor_VERSION_ARCH.deb, with dpkg-buildpackage.
# make rpm: $(PKGDIR)/rpm/RPMS/ARCH/ipstor-VERSION-1.ARCH.rpm, with
# rpmbuild (which cannot check BuildRequires on Debian, where there is no
# rpm database: RPMBUILD_FLAGS=--nodeps there).
PKGDIR ?= $(CURDIR)/build
PKG_SRC := Makefile README.md cmd lib man completions packaging
deb:
	$(Q)packaging/install-deps
	$(Q)test "$$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)" = "$(VERSION)" || \
		{ echo "packaging/debian/changelog is not at version $(VERSION)" >&2; exit 1; }
	$(Q)rm -rf $(PKGDIR)/deb && mkdir -p $(PKGDIR)/deb/ipstor-$(VERSION)
	$(Q)tar -c $(PKG_SRC) | tar -x -C $(PKGDIR)/deb/ipstor-$(VERSION)
	$(Q)cp -r packaging/debian $(PKGDIR)/deb/ipstor-$(VERSION)/debian
	$(Q)cd $(PKGDIR)/deb/ipstor-$(VERSION) && dpkg-buildpackage -us -uc -b
	$(Q)ls $(PKGDIR)/deb/*.deb

RPMBUILD_FLAGS ?=
rpm:
	$(Q)packaging/install-deps
	$(Q)test "$$(sed -n 's/^Version: *//p' packaging/rpm/ipstor.spec)" = "$(VERSION)" || \
		{ echo "packaging/rpm/ipstor.spec is not at version $(VERSION)" >&2; exit 1; }
	$(Q)rm -rf $(PKGDIR)/rpm && mkdir -p $(PKGDIR)/rpm/SOURCES $(PKGDIR)/rpm/ipstor-$(VERSION)
	$(Q)tar -c $(PKG_SRC) | tar -x -C $(PKGDIR)/rpm/ipstor-$(VERSION)
	$(Q)tar -C $(PKGDIR)/rpm -czf $(PKGDIR)/rpm/SOURCES/ipstor-$(VERSION).tar.gz ipstor-$(VERSION)
	$(Q)rpmbuild -bb $(RPMBUILD_FLAGS) --define "_topdir $(PKGDIR)/rpm" packaging/rpm/ipstor.spec
	$(Q)ls $(PKGDIR)/rpm/RPMS/*/*.rpm

clean:
	rm -rf build demo

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/%.d) $(HELPER_SRC:%.c=$(BUILD)/%.d)
-include tests/fuzz/Makefile.inc
