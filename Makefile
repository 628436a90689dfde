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

CORE_SRC = shim/glob.c shim/path.c shim/rules.c shim/target.c shim/decide.c
SHIM_SRC = $(CORE_SRC) shim/config.c shim/diag.c shim/interpose.c
HEADERS  = include/nopyc.h shim/shim.h shim/wrappers.def

SHIM_OBJ = $(SHIM_SRC:shim/%.c=$(BUILD)/obj/%.o)

UNIT_SRC = $(wildcard tests/unit/*.c)
SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: all test unit clean
all: $(BUILD)/libnopyc.so

$(BUILD)/obj/%.o: shim/%.c $(HEADERS) | $(BUILD)/obj
	$(CC) $(SHIMFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libnopyc.so: $(SHIM_OBJ)
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -o $@ $(SHIM_OBJ) -ldl

$(BUILD)/obj:
	mkdir -p $@

# The decision core, unit-tested directly under ASan and UBSan.
$(BUILD)/unit-tests: $(UNIT_SRC) $(CORE_SRC) $(HEADERS) | $(BUILD)/obj
	$(CC) -std=gnu11 -D_GNU_SOURCE -Iinclude -g -O1 $(WARN) $(SANITIZE) \
	    -o $@ $(UNIT_SRC) $(CORE_SRC)

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

test: all unit
	tests/run

clean:
	rm -rf $(BUILD)
