# nopyc: `make` builds build/libnopyc.so, `make test` runs every test.
CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
BUILD   ?= build

WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
# The null checks stay even where libc headers declare a path nonnull: a
# caller's NULL must reach libc and come back EFAULT, not crash in the shim.
SHIMFLAGS = -std=gnu11 -fPIC -fvisibility=hidden -fno-delete-null-pointer-checks \
            -D_GNU_SOURCE -Iinclude -Ishim $(WARN)

CORE_SRC = shim/glob.c shim/path.c shim/rules.c shim/target.c shim/decide.c \
           shim/config.c shim/alias.c shim/source.c
SHIM_SRC = $(CORE_SRC) shim/real.c shim/start.c shim/diag.c shim/act.c \
           shim/parents.c shim/wrappers.c shim/call.c shim/fresh.c shim/merge.c \
           shim/stream.c shim/remove.c shim/rename.c shim/watch.c shim/view.c
HEADERS  = include/nopyc.h $(wildcard shim/*.h) shim/wrappers.def

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
OBJFLAGS_path   = $(SMALL) $(NOUNWIND)
OBJFLAGS_decide = $(SMALL) $(NOUNWIND)
OBJFLAGS_target = $(SMALL) $(NOUNWIND)
OBJFLAGS_config = $(SMALL) $(NOUNWIND)
OBJFLAGS_alias  = $(SMALL) $(NOUNWIND)
OBJFLAGS_source = $(SMALL) $(NOUNWIND)
OBJFLAGS_view   = $(SMALL)
OBJFLAGS_call   = $(SMALL)
OBJFLAGS_fresh  = $(SMALL)
OBJFLAGS_merge  = $(SMALL)
OBJFLAGS_stream = $(SMALL)
OBJFLAGS_remove = $(SMALL)
OBJFLAGS_rename = $(SMALL)
OBJFLAGS_watch  = $(SMALL)
OBJFLAGS_rules  = $(SMALL)
OBJFLAGS_start  = $(SMALL)
OBJFLAGS_diag   = $(SMALL)

$(BUILD)/obj/%.o: shim/%.c $(HEADERS) | $(BUILD)/obj
	$(CC) $(SHIMFLAGS) $(CFLAGS) $(OBJFLAGS_$*) -c -o $@ $<

# One read-only segment and one executable one, not three: no page of
# padding between them in the file.
$(BUILD)/libnopyc.so: $(SHIM_OBJ)
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,-z,noseparate-code -o $@ $(SHIM_OBJ) -ldl

$(BUILD)/obj:
	mkdir -p $@

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
	    '--regex-C=/^[ \t]*(GLIBC\()?(PATH1|DIRS)\([^,]+, *([A-Za-z_0-9]+),/\3/w,wrapped/' \
	    '--regex-C=/^[ \t]*(GLIBC\()?(OPEN2?|CREAT|FOPEN|FREOPEN|PATH2|RENAME|DIROPEN|DIRS_VOID|SCAN|WRITEFD)\(([A-Za-z_0-9]+),/\3/w,wrapped/' \
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

$(BUILD)/obj/nopyc-explain.o: scripts/nopyc-explain.c include/nopyc.h | $(BUILD)/obj
	$(CC) $(SHIMFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/nopyc-explain: $(EXPLAIN_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(EXPLAIN_OBJ)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec/nopyc
MANDIR     ?= $(PREFIX)/share/man
INSTALL    ?= install

# The installed wrapper knows LIBDIR and LIBEXECDIR (and still looks beside
# itself first, so a DESTDIR tree works before it is moved into place).
.PHONY: install uninstall
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 644 $(BUILD)/libnopyc.so $(DESTDIR)$(LIBDIR)/libnopyc.so
	$(INSTALL) -m 755 $(BUILD)/nopyc-explain $(DESTDIR)$(LIBEXECDIR)/nopyc-explain
	sed -e "s|^nopyc_libdir=$$|nopyc_libdir='$(LIBDIR)'|" \
	    -e "s|^nopyc_libexecdir=$$|nopyc_libexecdir='$(LIBEXECDIR)'|" \
	    scripts/nopyc >$(BUILD)/nopyc.installed
	$(INSTALL) -m 755 $(BUILD)/nopyc.installed $(DESTDIR)$(BINDIR)/nopyc
	$(INSTALL) -m 644 scripts/nopyc.1 $(DESTDIR)$(MANDIR)/man1/nopyc.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nopyc $(DESTDIR)$(LIBDIR)/libnopyc.so \
	    $(DESTDIR)$(LIBEXECDIR)/nopyc-explain $(DESTDIR)$(MANDIR)/man1/nopyc.1
	rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true

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

# Benchmark (never part of `make test`): per-call cost, start-up, Django,
# memory; prints a table of ratios.  `make bench BENCH_QUICK=1` for a smoke run.
.PHONY: bench
bench: $(BUILD)/libnopyc.so
	BENCH_QUICK=$(BENCH_QUICK) NOPYC_LIB=$(abspath $(BUILD)/libnopyc.so) scripts/bench
