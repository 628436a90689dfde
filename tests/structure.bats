#!/usr/bin/env bats
# The structure rules (scripts/check-structure), on this tree and, to show
# each check can fail, on a small tree or library that breaks the rule:
# no circle between modules, the library never binds to itself, no library
# file over 450 lines, shellcheck clean; `make tags` leads from a wrapped
# name to its table line and from there to the code that runs; and the
# code layout (shim/layout.ld) names what exists and is the library's.

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

# addr_of NAME: the address of function NAME in the library (hex, no 0x).
addr_of() {
	nm "$NOPYC_LIB" | awk -v n="$1" '$3 == n && ($2 == "t" || $2 == "T") { print $1; exit }'
}

@test "structure: shim/layout.ld names wrapped symbols and source files that exist, and the library's code follows its order" {
	local layout=$NOPYC_TEST_ROOT/shim/layout.ld names bad name file
	names=$(dirname "$NOPYC_LIB")/wrapped-symbols
	[[ -s $names ]] || fail "$names missing: run make first"
	# the wrapper sections: .text.NAME, .text.unlikely.NAME, .text.unlikely.NAME_slow
	bad=''
	while read -r name; do
		grep -qxF -- "$name" "$names" || bad+=" $name"
	done < <(grep -o '\.text\.\(unlikely\.\)\{0,1\}[A-Za-z_0-9]*' "$layout" |
		sed -e 's/^\.text\.//' -e 's/^unlikely\.//' -e 's/_slow$//' |
		grep -vx -e "" -e unlikely -e startup -e exit | sort -u)
	[[ -z $bad ]] || fail "shim/layout.ld names sections of no wrapped symbol:$bad"
	bad=''
	while read -r file; do
		[[ -f $NOPYC_TEST_ROOT/shim/$file.c ]] || bad+=" $file.o"
	done < <(grep -o '\*[a-z_0-9]\+\.o(' "$layout" | sed -e 's/^\*//' -e 's/\.o($//' | sort -u)
	[[ -z $bad ]] || fail "shim/layout.ld names objects of no shim/*.c:$bad"
	# in the library: the constants, then part 1 (the start-up, stat64),
	# part 2 (the one-path plan, stat64's slow part), part 3 (rename)
	local ro start plan slow rest
	ro=$(readelf -SW "$NOPYC_LIB" | awk '$2 == ".rodata" { print $4 }')
	start=$(addr_of shim_config) plan=$(addr_of plan_path1_begin)
	slow=$(addr_of stat64_slow) rest=$(addr_of redirect_rename)
	[[ -n $ro && -n $start && -n $plan && -n $slow && -n $rest ]] || fail "symbols not found"
	((0x$ro < 0x$start && 0x$start < 0x$(addr_of stat64) && 0x$(addr_of stat64) < 0x$plan &&
		0x$plan < 0x$slow && 0x$slow < 0x$rest)) ||
		fail "out of order: .rodata $ro, shim_config $start, stat64 $(addr_of stat64), plan_path1_begin $plan, stat64_slow $slow, redirect_rename $rest"
}
