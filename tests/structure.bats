#!/usr/bin/env bats
# The structure rules (scripts/check-structure), on this tree and, to show
# each check can fail, on a small tree or library that breaks the rule:
# no circle between modules, the library never binds to itself, no library
# file over 450 lines, shellcheck clean; and `make tags` leads from a
# wrapped name to its table line and from there to the code that runs.

load helpers

setup() {
	nopyc_clean_env
	CHECK=$NOPYC_TEST_ROOT/scripts/check-structure
	[[ -f $NOPYC_LIB ]] || fail "$NOPYC_LIB not found: run make first"
}

# fake_module ROOT NAME INCLUDES...: shim/NAME.c and shim/NAME.h, the .c
# including its own header and the headers named.
fake_module() {
	local root=$1 name=$2 inc
	shift 2
	mkdir -p "$root/shim" "$root/include"
	{
		printf '#include "%s.h"\n' "$name"
		for inc; do printf '#include "%s.h"\n' "$inc"; done
		printf 'int %s_fn(void) { return 0; }\n' "$name"
	} >"$root/shim/$name.c"
	printf 'int %s_fn(void);\n' "$name" >"$root/shim/$name.h"
}

@test "structure: no circle between modules (#includes of shim/ and include/, symbols between the library's objects)" {
	run "$CHECK" cycles "$NOPYC_TEST_ROOT" "$(dirname "$NOPYC_LIB")/obj"
	assert_success
	assert_output ''
	# the graph is real: the wrappers use the plans, the plans the core
	run "$CHECK" graph "$NOPYC_TEST_ROOT" "$(dirname "$NOPYC_LIB")/obj"
	assert_line 'wrappers act'
	assert_line 'act call'
	assert_line 'call decide'
	assert_line 'wrappers merge'
	refute_line --regexp '^(glob|path|rules|target|decide|config|alias|source) (act|call|diag|fresh|merge|parents|real|remove|rename|start|stream|view|watch|wrappers)$'
}

@test "structure: the cycle check fails on a circle of #includes, and on one of calls" {
	local t=$BATS_TEST_TMPDIR/tree
	fake_module "$t" a b
	fake_module "$t" b c
	fake_module "$t" c a
	run "$CHECK" cycles "$t" "$t/none"
	assert_failure 1
	assert_output --partial 'a circle between modules (#include)'
	# no include circle, but a.o and b.o call each other
	t=$BATS_TEST_TMPDIR/calls
	fake_module "$t" a
	fake_module "$t" b
	printf 'int b_fn(void);\nint a_calls(void) { return b_fn(); }\n' >>"$t/shim/a.c"
	printf 'int a_fn(void);\nint b_calls(void) { return a_fn(); }\n' >>"$t/shim/b.c"
	mkdir "$t/obj"
	cc -c -I"$t/shim" -o "$t/obj/a.o" "$t/shim/a.c"
	cc -c -I"$t/shim" -o "$t/obj/b.o" "$t/shim/b.c"
	run "$CHECK" cycles "$t" "$t/obj"
	assert_failure 1
	assert_output --partial 'a circle between modules (symbols used)'
}

@test "structure: the library never binds to itself (LD_DEBUG=bindings, every symbol bound at start, configuration loaded)" {
	run "$CHECK" bindings "$NOPYC_LIB"
	assert_success
	assert_output ''
}

@test "structure: the binding check fails on a library that calls its own mkdir" {
	local src=$BATS_TEST_TMPDIR/self.c
	cat >"$src" <<-'EOF'
	#define _GNU_SOURCE
	#include <fcntl.h>
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include <sys/stat.h>
	#include <sys/syscall.h>
	#include <unistd.h>
	int mkdir(const char *path, mode_t mode)
	{
		return (int)syscall(SYS_mkdirat, AT_FDCWD, path, mode);
	}
	/* makes the TARGET the check's configuration names, through mkdir */
	__attribute__((constructor)) static void start(void)
	{
		const char *config = getenv("NOPYC_CONFIG");
		char dir[4096];
		if (!config || !strrchr(config, '/'))
			return;
		snprintf(dir, sizeof dir, "%.*s/target", (int)(strrchr(config, '/') - config), config);
		mkdir(dir, 0700);
	}
	EOF
	cc -shared -fPIC -o "$BATS_TEST_TMPDIR/libself.so" "$src"
	run "$CHECK" bindings "$BATS_TEST_TMPDIR/libself.so"
	assert_failure 1
	assert_output --partial "binds to itself"
	assert_output --partial "mkdir"
}

@test "structure: no library source file over 450 lines, and the check counts" {
	run "$CHECK" lines "$NOPYC_TEST_ROOT"
	assert_success
	assert_output ''
	local t=$BATS_TEST_TMPDIR/long
	fake_module "$t" a
	seq 451 | sed 's|^|// |' >"$t/shim/long.c"
	run "$CHECK" lines "$t"
	assert_failure 1
	assert_output "check-structure: shim/long.c has 451 lines (at most 450)"
}

@test "structure: shellcheck passes on every shell script (scripts/, tests/run, tests/*.bash, .ci/run)" {
	command -v shellcheck >/dev/null || skip "shellcheck missing (apt-get install shellcheck)"
	run "$CHECK" shellcheck "$NOPYC_TEST_ROOT"
	assert_success
	assert_output ''
	# a script with a fault is found and failed
	local t=$BATS_TEST_TMPDIR/tree
	mkdir -p "$t/scripts" "$t/tests"
	printf '#!/usr/bin/env bash\nrm -rf $1/tmp\n' >"$t/scripts/bad"
	printf 'ok() { :; }\n' >"$t/tests/fine.bash"
	run "$CHECK" shellcheck "$t"
	assert_failure
	assert_output --partial 'SC2086'
}

@test "structure: make tags leads from a wrapped name to its wrappers.def line and to the plan it names" {
	command -v ctags >/dev/null && ctags --version 2>/dev/null | grep -q 'Universal Ctags' ||
		skip "Universal Ctags missing (apt-get install universal-ctags)"
	cp -r "$NOPYC_TEST_ROOT/Makefile" "$NOPYC_TEST_ROOT/shim" "$NOPYC_TEST_ROOT/include" \
		"$NOPYC_TEST_ROOT/scripts" "$BATS_TEST_TMPDIR/"
	run make -C "$BATS_TEST_TMPDIR" tags
	assert_success
	run grep -P '^link\tshim/wrappers\.def\t/\^PATH2\(link,' "$BATS_TEST_TMPDIR/tags"
	assert_success
	run grep -P '^readdir\tshim/wrappers\.def\t/\^DIRS\(struct dirent \*, readdir,' "$BATS_TEST_TMPDIR/tags"
	assert_success
	run grep -P '^rename\tshim/wrappers\.def\t/\^RENAME\(rename,' "$BATS_TEST_TMPDIR/tags"
	assert_success
	run grep -P '^PATH2\tshim/wrappers\.c\t' "$BATS_TEST_TMPDIR/tags"
	assert_success
	run grep -P '^plan_path2_begin\tshim/act\.c\t' "$BATS_TEST_TMPDIR/tags"
	assert_success
	# the macro the table line uses names that plan
	run grep -A1 '^/\* PATH2:' "$NOPYC_TEST_ROOT/shim/wrappers.c"
	assert_output --partial 'plan_path2_begin'
}
