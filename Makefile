# nopyc: `make` builds build/libnopyc.so, `make test` runs every test.
CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
BUILD   ?= build
# The system configuration file is $(SYSCONFDIR)/nopyc.conf.
SYSCONFDIR ?= /etc

WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
# The null checks stay even where libc headers declare a path nonnull: a
# caller's NULL must reach libc and come back EFAULT, not crash in the shim.
SHIMFLAGS = -std=gnu11 -fPIC -fvisibility=hidden -fno-delete-null-pointer-checks \
            -ffunction-sections -fdata-sections -D_GNU_SOURCE -DNOPYC_SONAME='"libnopyc.so"' -Iinclude -Ishim $(WARN) $(SYSCONF)
SYSCONF   = -DNOPYC_SYSCONF='"$(SYSCONFDIR)/nopyc.conf"'
# The one version string: scripts/nopyc's; the library and nopyc-explain
# record it as a what(1) string, "@(#)libnopyc VERSION".
VERSION  := $(shell sed -n 's/^nopyc_version=//p' scripts/nopyc)
VERSIONFLAGS = -DNOPYC_VERSION='"$(VERSION)"'

CORE_SRC = shim/glob.c shim/path.c shim/action.c shim/rules.c shim/target.c shim/decide.c \
           shim/config.c shim/expand.c shim/alias.c shim/source.c
SHIM_SRC = $(CORE_SRC) shim/real.c shim/sys.c shim/start.c shim/diag.c \
           shim/targets.c shim/act.c shim/at.c shim/rofs.c shim/discard.c \
           shim/parents.c shim/wrappers.c shim/said.c shim/version.c \
           shim/call.c shim/fresh.c shim/merge.c \
           shim/stream.c shim/remove.c shim/rename.c shim/watch.c shim/view.c \
           shim/cpu.c shim/dirents.c shim/updir.c shim/emit.c shim/init.c
HEADERS  = $(wildcard include/*.h) $(wildcard shim/*.h) shim/wrappers.def

SHIM_OBJ = $(SHIM_SRC:shim/%.c=$(BUILD)/obj/%.o)

UNIT_SRC = $(wildcard tests/unit/*.c)
SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: all test unit clean tags
all: $(BUILD)/libnopyc.so $(BUILD)/wrapped-symbols

# Size: everything but the wrappers runs once per process or once per cache
# path, so it is built for size; code that never reaches a cancellation
# point needs no unwind tables (the interposition files, rules and diag keep
# theirs, so pthread_cancel can unwind through them).
SMALL    = -Os
NOUNWIND = -fno-asynchronous-unwind-tables -fno-unwind-tables
OBJFLAGS_glob   = $(SMALL) $(NOUNWIND)
OBJFLAGS_action = $(SMALL) $(NOUNWIND)
OBJFLAGS_path   = $(SMALL) $(NOUNWIND)
OBJFLAGS_decide = $(SMALL) $(NOUNWIND)
OBJFLAGS_target = $(SMALL) $(NOUNWIND)
OBJFLAGS_config = $(SMALL) $(NOUNWIND)
OBJFLAGS_expand = $(SMALL) $(NOUNWIND)
OBJFLAGS_alias  = $(SMALL) $(NOUNWIND)
OBJFLAGS_source = $(SMALL) $(NOUNWIND)
OBJFLAGS_view   = $(SMALL)
OBJFLAGS_call   = $(SMALL)
OBJFLAGS_fresh  = $(SMALL)
OBJFLAGS_merge  = $(SMALL)
OBJFLAGS_stream = $(SMALL)
OBJFLAGS_remove = $(SMALL)
OBJFLAGS_dirents = $(SMALL)
OBJFLAGS_rename = $(SMALL)
OBJFLAGS_watch  = $(SMALL)
OBJFLAGS_rules  = $(SMALL)
OBJFLAGS_start  = $(SMALL)
OBJFLAGS_diag   = $(SMALL)
OBJFLAGS_emit   = $(SMALL)
OBJFLAGS_targets = $(SMALL)
OBJFLAGS_at     = $(SMALL)
OBJFLAGS_sys    = $(SMALL)
OBJFLAGS_said   = $(SMALL)
OBJFLAGS_version = $(VERSIONFLAGS)
OBJFLAGS_rofs   = $(SMALL)
OBJFLAGS_discard = $(SMALL)
OBJFLAGS_updir  = $(SMALL)

$(BUILD)/obj/%.o: shim/%.c $(HEADERS) | $(BUILD)/obj
	$(CC) $(SHIMFLAGS) $(CFLAGS) $(OBJFLAGS_$*) -c -o $@ $<

# One read-only segment and one executable one, not three: no page of
# padding between them in the file.  shim/layout.ld orders the code (each
# function in its own section) so that a process touches few pages of it.
# The SONAME tells a second copy of the library that it is one (start.c).
$(BUILD)/libnopyc.so: $(SHIM_OBJ) shim/layout.ld
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,-z,noseparate-code -Wl,-T,shim/layout.ld \
	    -Wl,-soname,libnopyc.so -o $@ $(SHIM_OBJ) -ldl

$(BUILD)/obj:
	mkdir -p $@

# A new version is a new marker.
$(BUILD)/obj/version.o: scripts/nopyc

# The wrapped names, one a line, from the table itself (the preprocessor
# expands wrappers.def as the library's build does): what the tests check.
$(BUILD)/wrapped-symbols: tests/c/wrapped-names.c shim/wrappers.def | $(BUILD)/obj
	$(CC) -E -P -D_GNU_SOURCE -Ishim tests/c/wrapped-names.c | \
	    awk '{ for (i = 1; i < NF; i++) if ($$i == "NOPYC_WRAPPED") print $$(i + 1) }' | \
	    LC_ALL=C sort >$@.tmp
	mv $@.tmp $@

# The decision core, unit-tested directly under ASan and UBSan.
$(BUILD)/unit-tests: $(UNIT_SRC) $(CORE_SRC) $(HEADERS) | $(BUILD)/obj
	$(CC) -std=gnu11 -D_GNU_SOURCE -Iinclude -g -O1 $(WARN) $(SANITIZE) \
	    -o $@ $(UNIT_SRC) $(CORE_SRC)

# An editor's tags file (Universal Ctags): every function and macro, and
# each wrapped symbol at its line of wrappers.def, from where the family
# macro (PATH1, OPEN, ...) leads to wrappers.c and the plan it names.
CTAGS ?= ctags
tags:
	$(CTAGS) -f $@ --langmap=C:+.def --kinds-C=+p \
	    '--regex-C=/^[ \t]*((GLIBC|TIME64)\()?(PATH1|DIRS)\([^,]+, *([A-Za-z_0-9]+),/\4/w,wrapped/' \
	    '--regex-C=/^[ \t]*((GLIBC|TIME64)\()?(OPEN2?|CREAT|FOPEN|FREOPEN|PATH2|MKSTEMP|MKDTEMP|RENAME|DIROPEN|DIRS_VOID|SCAN|WRITEFD)\(([A-Za-z_0-9]+),/\4/w,wrapped/' \
	    shim/*.c shim/*.h shim/wrappers.def include/*.h scripts/*.c

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

test: all unit
	tests/run

clean:
	rm -rf $(BUILD)

# ---- the nopyc command: nopyc-explain, install, uninstall ----
# nopyc-explain (scripts/nopyc-explain.c) runs `nopyc --check` and `nopyc
# --explain`: the decision core (the shim's own parser, configuration reader
# and decision code) without the LD_PRELOAD layer.
EXPLAIN_OBJ = $(CORE_SRC:shim/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/nopyc-explain.o
all: $(BUILD)/nopyc-explain

$(BUILD)/obj/nopyc-explain.o: scripts/nopyc-explain.c include/nopyc.h include/nopyc-libc.h scripts/nopyc | $(BUILD)/obj
	$(CC) $(SHIMFLAGS) $(CFLAGS) $(VERSIONFLAGS) -c -o $@ $<

$(BUILD)/nopyc-explain: $(EXPLAIN_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(EXPLAIN_OBJ)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec/nopyc
MANDIR     ?= $(PREFIX)/share/man
INSTALL    ?= install
# Installed programs are stripped of symbols and debug information;
# `make install STRIP=` keeps them (e.g. for a -debug package).
STRIP      ?= strip

# The installed wrapper knows LIBDIR and LIBEXECDIR (and still looks beside
# itself first, so a DESTDIR tree works before it is moved into place).
#
# Multiarch (when LIBDIR is the default PREFIX/lib): the library also goes
# to PREFIX/$LIB for every ABI the compiler builds for (the native one, and
# -m32 where it works), $LIB being what the dynamic loader makes of it
# (scripts/ld-lib-dir); the wrapper then preloads 'PREFIX/$LIB/libnopyc.so',
# so a 32-bit child of a 64-bit program loads the 32-bit build; LIBDIR's
# libnopyc.so is then a symlink to the native one (one file, any spelling).
MULTIARCH ?= $(if $(filter $(PREFIX)/lib,$(LIBDIR)),yes,no)

.PHONY: install uninstall
# Only what is installed: a source tree without tests/ (a container build
# context) has no tests/c/wrapped-names.c for `all`.
install: $(BUILD)/libnopyc.so $(BUILD)/nopyc-explain
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 644 $(BUILD)/libnopyc.so $(DESTDIR)$(LIBDIR)/libnopyc.so
	$(INSTALL) -m 755 $(BUILD)/nopyc-explain $(DESTDIR)$(LIBEXECDIR)/nopyc-explain
	$(if $(STRIP),$(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/libnopyc.so \
	    $(DESTDIR)$(LIBEXECDIR)/nopyc-explain)
	$(INSTALL) -m 644 scripts/nopyc-warm.py scripts/nopyc-prune.py $(DESTDIR)$(LIBEXECDIR)/
	@set -e; native=; \
	if [ "$(MULTIARCH)" = yes ] && native=$$(scripts/ld-lib-dir $(CC)); then \
	    echo "install: native build to $(PREFIX)/$$native (\$$LIB)"; \
	    $(INSTALL) -d $(DESTDIR)$(PREFIX)/$$native; \
	    $(INSTALL) -m 644 $(DESTDIR)$(LIBDIR)/libnopyc.so $(DESTDIR)$(PREFIX)/$$native/libnopyc.so; \
	    if [ "$$native" != lib ]; then \
	        ln -sf "../$$native/libnopyc.so" $(DESTDIR)$(LIBDIR)/libnopyc.so; \
	    fi; \
	    if lib32=$$(scripts/ld-lib-dir $(CC) -m32) && [ "$$lib32" != "$$native" ]; then \
	        echo "install: -m32 build to $(PREFIX)/$$lib32 (\$$LIB)"; \
	        $(MAKE) -s BUILD=$(BUILD)/m32 CC="$(CC) -m32" $(BUILD)/m32/libnopyc.so; \
	        $(INSTALL) -d $(DESTDIR)$(PREFIX)/$$lib32; \
	        $(INSTALL) -m 644 $(BUILD)/m32/libnopyc.so $(DESTDIR)$(PREFIX)/$$lib32/libnopyc.so; \
	        $(if $(STRIP),$(STRIP) --strip-unneeded $(DESTDIR)$(PREFIX)/$$lib32/libnopyc.so;) \
	    fi; \
	fi; \
	sed -e "s|^nopyc_libdir=$$|nopyc_libdir='$(LIBDIR)'|" \
	    -e "s|^nopyc_libexecdir=$$|nopyc_libexecdir='$(LIBEXECDIR)'|" \
	    -e "s|^nopyc_root=$$|nopyc_root='$${native:+$(PREFIX)}'|" \
	    -e "s|^nopyc_native_lib=$$|nopyc_native_lib='$$native'|" \
	    scripts/nopyc >$(BUILD)/nopyc.installed
	$(INSTALL) -m 755 $(BUILD)/nopyc.installed $(DESTDIR)$(BINDIR)/nopyc
	$(INSTALL) -m 644 scripts/nopyc.1 $(DESTDIR)$(MANDIR)/man1/nopyc.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nopyc $(DESTDIR)$(LIBDIR)/libnopyc.so \
	    $(DESTDIR)$(LIBEXECDIR)/nopyc-explain $(DESTDIR)$(MANDIR)/man1/nopyc.1 \
	    $(DESTDIR)$(LIBEXECDIR)/nopyc-warm.py $(DESTDIR)$(LIBEXECDIR)/nopyc-prune.py
	rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true
	@if [ "$(MULTIARCH)" = yes ]; then \
	    for d in $$(scripts/ld-lib-dir $(CC) || :) $$(scripts/ld-lib-dir $(CC) -m32 || :); do \
	        rm -f $(DESTDIR)$(PREFIX)/$$d/libnopyc.so; \
	    done; \
	fi

# Fuzzing the decision core with libFuzzer (clang): `make fuzz` first replays
# tests/fuzz/regressions/<target>/ (inputs that once crashed), then runs each
# target FUZZ_SECONDS seconds from its seeds in tests/fuzz/corpus/<target>/.
# New inputs go to $(BUILD)/fuzz/corpus/<target>/, crashes to
# $(BUILD)/fuzz/<target>-crash-*: copy one into tests/fuzz/regressions/.
#   make fuzz FUZZ_SECONDS=300            all targets, 5 minutes each
#   make fuzz FUZZ_TARGETS=glob           one target
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= rules path glob
FUZZ_FLAGS    = -std=gnu11 -D_GNU_SOURCE -Iinclude -g -O1 $(WARN) \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_SRC) include/nopyc.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(CORE_SRC)

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    if [ -n "$$(ls tests/fuzz/regressions/$$t 2>/dev/null)" ]; then \
	        echo "fuzz: $$t: replaying tests/fuzz/regressions/$$t"; \
	        $(BUILD)/fuzz/fuzz_$$t tests/fuzz/regressions/$$t/*; \
	    fi; \
	    mkdir -p $(BUILD)/fuzz/corpus/$$t; \
	    echo "fuzz: $$t: $(FUZZ_SECONDS) s"; \
	    $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -artifact_prefix=$(BUILD)/fuzz/$$t- \
	        $(BUILD)/fuzz/corpus/$$t tests/fuzz/corpus/$$t; \
	done

# Benchmark (never part of `make test`): scripts/bench/run runs each
# measurement scripts/bench/p*.sh, then the report judges scripts/bench/targets.tsv.
# `make bench BENCH_QUICK=1` for a smoke run.
.PHONY: bench
bench: $(BUILD)/libnopyc.so
	BENCH_QUICK=$(BENCH_QUICK) NOPYC_LIB=$(abspath $(BUILD)/libnopyc.so) scripts/bench/run

# ---- test environments (tests/envs; issue 12) ----
# The library for the other C libraries and word sizes the suite runs on,
# from the same sources, each in its own BUILD: $(BUILD)/i386/libnopyc.so
# (gcc -m32, Debian gcc-multilib) for the i386 chroot's python3,
# $(BUILD)/musl/libnopyc.so (musl-gcc, Debian musl-tools) for the musl-linked
# CPython.  tests/envs/prepare makes them when an interpreter needs them.
# `make interpreters` prepares the test environments that are missing
# (cached in NOPYC_TEST_ENVS, default /var/cache/nopyc-test-envs) and prints
# one line per interpreter the suite runs on.
I386_CC ?= gcc -m32
MUSL_CC ?= musl-gcc
.PHONY: interpreters $(BUILD)/i386/libnopyc.so $(BUILD)/musl/libnopyc.so
$(BUILD)/i386/libnopyc.so:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/i386 CC='$(I386_CC)' $@
$(BUILD)/musl/libnopyc.so:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/musl CC='$(MUSL_CC)' $@

interpreters:
	tests/envs/prepare --list
