# shellcheck disable=SC2154 # $stderr and $stderr_lines are set by bats' run
# The `nopyc` command (scripts/nopyc), its helper build/nopyc-explain
# (--check, --explain), its man page and `make install`.
#
# Programs run through the wrapper; Python is Debian's /usr/bin/python3
# (tests needing it skip when it is missing), always with the variables that
# steer caching cleared (this machine exports PYTHONDONTWRITEBYTECODE=1).

load helpers

setup_file() {
	PY=
	[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
	export PY
	nopyc_python_facts
	# Another LD_PRELOAD library: every process it is loaded into appends
	# its executable's path to the file $OTHER_SO_MARK names.
	OTHER_SO=$BATS_FILE_TMPDIR/libother.so
	cc -shared -fPIC -o "$OTHER_SO" -x c - 2>/dev/null <<'EOF' || OTHER_SO=
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void)
{
	const char *f = getenv("OTHER_SO_MARK");
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (!f || n < 0)
		return;
	exe[n] = '\0';
	FILE *fp = fopen(f, "a");
	if (fp) {
		fprintf(fp, "%s\n", exe);
		fclose(fp);
	}
}
EOF
	export OTHER_SO
}

setup() {
	nopyc_setup
	NOPYC=$NOPYC_TEST_ROOT/scripts/nopyc
	EXPLAIN=$NOPYC_TEST_ROOT/build/nopyc-explain
	# The library the wrapper uses: the build tree's, physical path.
	WLIB=$(cd -P "$NOPYC_TEST_ROOT/build" && pwd -P)/libnopyc.so
	[[ -x $EXPLAIN ]] || fail "$EXPLAIN not found: run make first"
	make_tree "$T"
	A=$T/a/mod.py B=$T/b/mod.py
}

need_python() {
	[[ -n $PY ]] || skip "/usr/bin/python3 not found"
}

# nopyc_py ARGS...: the wrapper, with Python's cache variables cleared.
nopyc_py() {
	env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$NOPYC" "$@"
}

# What a pyc of SOURCE is called under TARGET (redirect).
mapped_pyc() { # TARGET SOURCE
	printf '%s%s\n' "$1" "$(pyc_path "$2")"
}

# ---- help, version, usage errors -----------------------------------------

@test "--help lists every option and exits 0" {
	run "$NOPYC" --help
	assert_success
	assert_line --index 0 --partial 'usage: nopyc [OPTIONS] [--] COMMAND'
	local o
	for o in --rule --config --redirect --deny --allow --discard --strict \
		--log --dry-run --stats --check --explain --help --version \
		'warm [--python PY]... [--jobs N] PATH...' 'prune [--dry-run] TARGET...'; do
		assert_output --partial -- "$o"
	done
	run "$NOPYC" -h
	assert_success
	assert_line --index 0 --partial 'usage: nopyc'
}

@test "--version prints the version the man page carries, and the library's" {
	run "$NOPYC" --version
	assert_success
	assert_line --index 0 --regexp '^nopyc [0-9]+\.[0-9]+\.[0-9]+$'
	grep -q "^\.TH NOPYC 1 .* \"${lines[0]}\" " "$NOPYC_TEST_ROOT/scripts/nopyc.1" ||
		fail "man page .TH does not say \"${lines[0]}\""
	# The library nopyc would load records the command's version in its
	# file as a what(1) string, "@(#)libnopyc VERSION" (Makefile VERSION,
	# taken from scripts/nopyc), and so does nopyc-explain.
	local v=${lines[0]#nopyc }
	assert_line --index 1 "libnopyc $v ($WLIB)"
	local explain=${WLIB%/libnopyc.so}/nopyc-explain
	[[ -x $explain ]] || explain=$NOPYC_TEST_ROOT/build/nopyc-explain
	run bash -c "LC_ALL=C tr -c '[:print:]' '\n' <'$explain' | grep -x '@(#)libnopyc .*'"
	assert_output "@(#)libnopyc $v"
	# A copy of the library that records one: its version is the one shown.
	local x=$BATS_TEST_TMPDIR/copy
	mkdir -p "$x/scripts" "$x/build"
	cp "$NOPYC" "$x/scripts/nopyc"
	# (the marker rewritten in place: a string of the same length)
	local nine=${v//[0-9]/9}
	LC_ALL=C perl -0777 -pe "s/\@\(#\)libnopyc \Q$v\E\0/\@(#)libnopyc $nine\0/" \
		<"$WLIB" >"$x/build/libnopyc.so"
	run "$x/scripts/nopyc" --version
	assert_line --index 1 "libnopyc $nine ($x/build/libnopyc.so)"
}

@test "usage errors exit 2 (as configuration errors) with one clear line, nothing run" {
	run --separate-stderr "$NOPYC"
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: no command given (see nopyc --help)'
	run --separate-stderr "$NOPYC" --bogus touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: unknown option --bogus (see nopyc --help)'
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	run --separate-stderr "$NOPYC" --deny
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: --deny needs an argument (see nopyc --help)'
	run --separate-stderr "$NOPYC" --check true
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: --check takes no command (see nopyc --help)'
	run --separate-stderr "$NOPYC" --explain
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: --explain needs at least one PATH'
}

@test "values the rule language cannot hold are refused (2), not mangled" {
	local v
	for v in '/a;b/**' '/a#b/**' $'/a\nb/**' ''; do
		run --separate-stderr "$NOPYC" --deny "$v" true
		assert_equal "$status" 2
		assert_equal "${stderr:0:13}" 'nopyc: --deny'
	done
	run --separate-stderr "$NOPYC" --redirect "$BATS_TEST_TMPDIR/a b" true
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --redirect '$BATS_TEST_TMPDIR/a b': a TARGET directory cannot contain blanks"
}

# ---- running the command --------------------------------------------------

@test "the command's arguments arrive unchanged; -- ends the options" {
	run "$NOPYC" printf '[%s]' 'a b' '' --deny '*' '--'
	assert_success
	assert_output '[a b][][--deny][*][--]'
	run -127 --separate-stderr "$NOPYC" --allow '**' -- --version
	assert_equal "$status" 127
	assert_equal "$stderr" 'nopyc: --version: command not found'
}

@test "exit status passes through unchanged, signals included" {
	run "$NOPYC" sh -c 'exit 42'
	assert_equal "$status" 42
	run "$NOPYC" false
	assert_equal "$status" 1
	run "$NOPYC" sh -c 'kill -TERM $$'
	assert_equal "$status" 143
	# exec: no nopyc process stays between the caller and the command.
	run "$NOPYC" sh -c 'cat /proc/$PPID/comm'
	assert_success
	refute_output nopyc
	assert_equal "$(cat /proc/$$/comm)" "$output"
}

@test "command not found: 127; not executable or a directory: 126" {
	run -127 --separate-stderr "$NOPYC" no-such-command-nopyc
	assert_equal "$status" 127
	assert_equal "$stderr" 'nopyc: no-such-command-nopyc: command not found'
	run -127 --separate-stderr "$NOPYC" "$BATS_TEST_TMPDIR/missing"
	assert_equal "$status" 127
	assert_equal "$stderr" "nopyc: $BATS_TEST_TMPDIR/missing: No such file or directory"
	printf '#!/bin/sh\necho ran\n' >"$BATS_TEST_TMPDIR/script"
	chmod 644 "$BATS_TEST_TMPDIR/script"
	run --separate-stderr "$NOPYC" "$BATS_TEST_TMPDIR/script"
	assert_equal "$status" 126
	assert_equal "$stderr" "nopyc: $BATS_TEST_TMPDIR/script: Permission denied"
	run --separate-stderr "$NOPYC" "$BATS_TEST_TMPDIR"
	assert_equal "$status" 126
	assert_equal "$stderr" "nopyc: $BATS_TEST_TMPDIR: Is a directory"
	# In PATH: a non-executable match is skipped for a later executable one
	# (as execvp does); with none, 126.
	mkdir "$BATS_TEST_TMPDIR/p1" "$BATS_TEST_TMPDIR/p2"
	cp "$BATS_TEST_TMPDIR/script" "$BATS_TEST_TMPDIR/p1/tool"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/p1:/usr/bin:/bin" "$NOPYC" tool
	assert_equal "$status" 126
	assert_equal "$stderr" 'nopyc: tool: Permission denied'
	cp "$BATS_TEST_TMPDIR/script" "$BATS_TEST_TMPDIR/p2/tool"
	chmod 755 "$BATS_TEST_TMPDIR/p2/tool"
	run env PATH="$BATS_TEST_TMPDIR/p1:$BATS_TEST_TMPDIR/p2:/usr/bin:/bin" "$NOPYC" tool
	assert_success
	assert_output ran
}

@test "the library is loaded in the command" {
	run "$NOPYC" cat /proc/self/maps
	assert_success
	assert_output --partial "$WLIB"
	run "$NOPYC" printenv LD_PRELOAD
	assert_output "$WLIB"
}

@test "LD_PRELOAD: existing entries are kept, the library goes first" {
	[[ -n $OTHER_SO ]] || skip "cc cannot build a test library"
	run env LD_PRELOAD="$OTHER_SO" "$NOPYC" printenv LD_PRELOAD
	assert_success
	assert_output "$WLIB:$OTHER_SO"
	run env LD_PRELOAD="$OTHER_SO" "$NOPYC" cat /proc/self/maps
	assert_output --partial "$WLIB"
	assert_output --partial "$OTHER_SO"
	# ... and the other library still runs in the command.
	run env OTHER_SO_MARK="$BATS_TEST_TMPDIR/mark" LD_PRELOAD="$OTHER_SO" "$NOPYC" /bin/true
	assert_success
	assert_file_contains "$BATS_TEST_TMPDIR/mark" '/true$'
	# Blank-separated lists (ld.so accepts both) are kept as they are.
	run env LD_PRELOAD="$OTHER_SO $OTHER_SO" "$NOPYC" printenv LD_PRELOAD
	assert_output "$WLIB:$OTHER_SO $OTHER_SO"
}

@test "LD_PRELOAD: the library is never added twice" {
	[[ -n $OTHER_SO ]] || skip "cc cannot build a test library"
	run env LD_PRELOAD="$OTHER_SO:$WLIB" "$NOPYC" printenv LD_PRELOAD
	assert_output "$OTHER_SO:$WLIB"
	# Nested wrappers.
	run "$NOPYC" "$NOPYC" --allow '**' "$NOPYC" printenv LD_PRELOAD
	assert_output "$WLIB"
	# The same file under another name.
	ln -s "$WLIB" "$BATS_TEST_TMPDIR/alias.so"
	run env LD_PRELOAD="$BATS_TEST_TMPDIR/alias.so" "$NOPYC" printenv LD_PRELOAD
	assert_output "$BATS_TEST_TMPDIR/alias.so"
}

@test "missing library: 'nopyc: cannot find libnopyc.so', exit 125, command not run" {
	local x=$BATS_TEST_TMPDIR/copy
	mkdir -p "$x/scripts"
	cp "$NOPYC" "$x/scripts/nopyc"
	run --separate-stderr "$x/scripts/nopyc" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 125
	assert_equal "$stderr" "nopyc: cannot find libnopyc.so (looked in $x/scripts/../build; run make first)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	# --check needs the helper instead.
	run --separate-stderr "$x/scripts/nopyc" --check
	assert_equal "$status" 125
	assert_equal "$stderr" "nopyc: cannot find nopyc-explain (looked in $x/scripts/../build; run make first)"
	# An installed copy whose LIBDIR is gone, too.
	sed -e "s|^nopyc_libdir=\$|nopyc_libdir='$x/gone'|" "$NOPYC" >"$x/scripts/nopyc"
	run --separate-stderr "$x/scripts/nopyc" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 125
	assert_equal "$stderr" "nopyc: cannot find libnopyc.so (looked in $x/scripts/../lib, $x/gone)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
}

@test "a symlink to the wrapper still finds the library" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	ln -s "$NOPYC" "$BATS_TEST_TMPDIR/bin/nopyc"
	run "$BATS_TEST_TMPDIR/bin/nopyc" printenv LD_PRELOAD
	assert_success
	assert_output "$WLIB"
}

# ---- rules on a real Python ---------------------------------------------

@test "no rule: deny ** - no cache anywhere, output unchanged" {
	need_python
	run nopyc_py "$PY" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_no_caches "$T"
}

@test "--allow '**': caches are written" {
	need_python
	run nopyc_py --allow '**' "$PY" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_cached "$A" "$B"
}

@test "--deny PATTERN then --allow '**': per path" {
	need_python
	run nopyc_py --deny "$T/a/**" --allow '**' "$PY" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_not_cached "$A"
	assert_cached "$B"
}

@test "--rule, in order: the first matching rule wins" {
	need_python
	run nopyc_py --rule "allow $T/a/**" --rule 'deny **' --rule 'allow **' "$PY" "$T/main.py"
	assert_success
	assert_cached "$A"
	assert_not_cached "$B"
	remove_caches "$T"
	run nopyc_py --rule=deny\ "$T/a/**" --allow="**" "$PY" "$T/main.py"
	assert_success
	assert_not_cached "$A"
	assert_cached "$B"
}

@test "--discard: compileall exits 0 and leaves nothing (under --deny it exits 1)" {
	need_python
	run nopyc_py --discard '**' "$PY" -m compileall -q "$T"
	assert_success
	assert_no_caches "$T"
	run nopyc_py --deny '**' "$PY" -m compileall -q "$T"
	assert_equal "$status" 1
	assert_no_caches "$T"
}

@test "a rule with no match lets the call through (options replace the default deny)" {
	need_python
	run nopyc_py --deny '/nonexistent/**' "$PY" "$T/main.py"
	assert_success
	assert_cached "$A" "$B"
}

@test "--deny PATTERN with a blank: the blank is part of the pattern" {
	need_python
	local d="$T/my dir"
	make_tree "$d"
	run nopyc_py --deny "$d/**" --allow '**' --check
	assert_success
	assert_line --index 0 "1 deny $T/my\\ dir/**  # --deny '$d/**'"
	# Already escaped: not escaped twice.
	run nopyc_py --deny "$T/my\\ dir/**" --check
	assert_output "1 deny $T/my\\ dir/**  # --deny '$T/my\\ dir/**'"
	run nopyc_py --deny "$d/**" --allow '**' "$PY" "$d/main.py"
	assert_success
	assert_not_cached "$d/a/mod.py" "$d/b/mod.py"
	run nopyc_py --deny "$d/**" --allow '**' "$PY" "$T/main.py"
	assert_cached "$A" "$B"
}

@test "--redirect DIR: caches land in DIR, the tree stays clean; relative DIR and %u" {
	need_python
	mkdir -m 700 "$BATS_TEST_TMPDIR/pyc"
	cd "$BATS_TEST_TMPDIR"
	run nopyc_py --redirect pyc "$PY" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_no_caches "$T"
	assert_file_exists "$(mapped_pyc "$BATS_TEST_TMPDIR/pyc" "$A")"
	assert_file_exists "$(mapped_pyc "$BATS_TEST_TMPDIR/pyc" "$B")"
	# %u is the effective uid; a missing TARGET is created.
	run nopyc_py --redirect "$BATS_TEST_TMPDIR/pyc-%u" "$PY" "$T/main.py"
	assert_success
	assert_no_caches "$T"
	assert_file_exists "$(mapped_pyc "$BATS_TEST_TMPDIR/pyc-$(id -u)" "$A")"
}

@test "--config FILE: read even after the program changes directory" {
	need_python
	printf '# mine\nallow %s/b/**\ndeny **\n' "$T" >"$BATS_TEST_TMPDIR/rules.conf"
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr nopyc_py --config rules.conf sh -c "cd / && exec '$PY' '$T/main.py'"
	assert_success
	assert_equal "$stderr" ''
	assert_not_cached "$A"
	assert_cached "$B"
	run nopyc_py --config rules.conf printenv NOPYC_CONFIG
	assert_output "$BATS_TEST_TMPDIR/rules.conf"
}

@test "--config with NOPYC_CONFIG already set, or twice: refused (2: a usage error)" {
	: >"$BATS_TEST_TMPDIR/one.conf"
	run --separate-stderr env NOPYC_CONFIG=/etc/other.conf "$NOPYC" --config "$BATS_TEST_TMPDIR/one.conf" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	[[ $stderr == "nopyc: --config $BATS_TEST_TMPDIR/one.conf: NOPYC_CONFIG is already set (to '/etc/other.conf');"* ]] ||
		fail "unexpected message: $stderr"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	run --separate-stderr "$NOPYC" --config a.conf --config b.conf true
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: --config given twice: nopyc reads one rules file (use --rule for more)'
}

@test "order: option rules, then NOPYC_RULES, then the NOPYC_CONFIG file" {
	need_python
	printf 'allow **\n' >"$BATS_TEST_TMPDIR/rules.conf"
	export NOPYC_RULES="deny $T/**" NOPYC_CONFIG=$BATS_TEST_TMPDIR/rules.conf
	run nopyc_py --allow "$T/a/**" --check
	assert_success
	assert_output "1 allow $T/a/**  # --allow '$T/a/**'
2 deny $T/**  # NOPYC_RULES rule 1
3 allow **  # $BATS_TEST_TMPDIR/rules.conf:1"
	run nopyc_py --allow "$T/a/**" "$PY" "$T/main.py"
	assert_success
	assert_cached "$A"
	assert_not_cached "$B"
	# Without options the environment alone decides.
	remove_caches "$T"
	run nopyc_py "$PY" "$T/main.py"
	assert_no_caches "$T"
}

@test "a set but empty NOPYC_RULES stays an empty list under option rules" {
	export NOPYC_RULES=
	run nopyc_py --deny '/x/**' --check
	assert_success
	assert_output "1 deny /x/**  # --deny '/x/**'"
	run nopyc_py --check
	assert_output '# no rules: every call on a cache path goes through'
}

# The library's message for the configuration error in NOPYC_RULES and
# NOPYC_CONFIG, without its "nopyc: " prefix and the suffix saying what the
# process does about it (from --check under --strict, whose suffix is fixed).
library_message() { # NOPYC-ARGS...
	local m
	m=$("$NOPYC" --strict "$@" --check 2>&1 >/dev/null)
	m=${m#nopyc: }
	printf '%s\n' "${m%; exiting because NOPYC_STRICT=1}"
}

@test "a bad rule: the command is not run (exit 2), with the library's message naming the option" {
	need_python
	local msg
	msg=$(library_message --rule 'deyn /x')
	[[ $msg == 'NOPYC_RULES rule 1: unknown action "deyn" '* ]] || fail "unexpected library message: $msg"
	run --separate-stderr nopyc_py --rule 'deyn /x' "$PY" "$T/main.py"
	assert_equal "$status" 2
	assert_equal "$output" ''
	assert_equal "$stderr" "nopyc: --rule 'deyn /x':${msg#NOPYC_RULES rule 1:}
nopyc: $PY not run: configuration error (nopyc --check shows the rules)"
	assert_no_caches "$T"
	# --strict: the same
	run --separate-stderr nopyc_py --strict --rule 'deyn /x' "$PY" "$T/main.py"
	assert_equal "$status" 2
	assert_equal "$output" ''
	assert_no_caches "$T"
	# A rule of the environment keeps its own place in NOPYC_RULES.
	run --separate-stderr env NOPYC_RULES='allow /y/**; deyn /x' "$NOPYC" --deny '/z/**' touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "nopyc: NOPYC_RULES rule 2:${msg#NOPYC_RULES rule 1:}"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	# Several rules in one --rule: the one at fault is named by its option.
	run --separate-stderr "$NOPYC" --deny '/z/**' --rule 'allow /a/**; deyn /x' touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "nopyc: --rule 'allow /a/**; deyn /x':${msg#NOPYC_RULES rule 1:}"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
}

# ---- --log, --dry-run, --stats -------------------------------------------

@test "--log -: one line per decision on a cache path, none for other paths" {
	need_python
	run --separate-stderr nopyc_py --log - "$PY" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_no_caches "$T"
	[[ -n $stderr ]] || fail "nothing logged"
	output=$stderr
	lines=("${stderr_lines[@]}")
	local line path n=0
	while IFS= read -r line; do
		n=$((n + 1))
		[[ $line =~ ^nopyc:\ pid=[0-9]+\ call=[a-z0-9_]+\ path=([^ ]+)\ rule= ]] ||
			fail "not a log line: $line"
		path=${BASH_REMATCH[1]}
		[[ $path == *__pycache__* || $path =~ \.py[co](\.[0-9]+)?$ ]] ||
			fail "logged a path that is not a cache path: $line"
	done <<<"$stderr"
	assert_line --partial "call=mkdir path=$T/a/__pycache__ rule=1 action=deny verdict=fail mapped=- result=EROFS"
	assert_regex "$stderr" "path=$T/b/__pycache__ rule=1 action=deny"
	refute_regex "$stderr" "path=$T/main.py|path=$T/a/mod.py"
}

@test "--log FILE: a relative FILE still collects lines after a chdir" {
	need_python
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr nopyc_py --log nopyc.log sh -c "cd / && exec '$PY' '$T/main.py'"
	assert_success
	assert_equal "$stderr" ''
	assert_file_exists "$BATS_TEST_TMPDIR/nopyc.log"
	assert_file_contains "$BATS_TEST_TMPDIR/nopyc.log" "call=mkdir path=$T/a/__pycache__ rule=1 action=deny verdict=fail"
	run nopyc_py --log nopyc.log printenv NOPYC_LOG
	assert_output "$BATS_TEST_TMPDIR/nopyc.log"
}

@test "--dry-run writes exactly what a run without nopyc writes, and logs the decisions" {
	need_python
	local plain=$BATS_TEST_TMPDIR/plain
	make_tree "$plain"
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" "$plain/main.py"
	assert_success
	local want
	want=$(find_caches "$plain" | sed "s|^$plain||")
	[[ -n $want ]] || fail "Python wrote no cache even without nopyc"
	run --separate-stderr nopyc_py --dry-run --log - "$PY" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_equal "$(find_caches "$T" | sed "s|^$T||")" "$want"
	assert_regex "$stderr" "call=mkdir path=$T/a/__pycache__ rule=1 action=deny verdict=fail\\(dry-run\\)"
}

# The summary line of --stats, or fail.
stats_line() {
	local l
	l=$(printf '%s\n' "$stderr" | grep '^nopyc: stats') || fail "no stats line in: $stderr"
	[[ $(printf '%s\n' "$l" | wc -l) == 1 ]] || fail "more than one stats line: $l"
	printf '%s\n' "$l"
}

# stat_of FIELD: a number from the stats line in $stats ("processes",
# "TARGET", "original", "not found", "redirected", "denied", "discarded",
# "allowed").
stat_of() {
	case $1 in
	processes) [[ $stats =~ stats:\ ([0-9]+)\ process ]] ;;
	TARGET) [[ $stats =~ read:\ ([0-9]+)\ from\ TARGET, ]] ;;
	original) [[ $stats =~ ([0-9]+)\ from\ the\ original\ tree, ]] ;;
	'not found') [[ $stats =~ ([0-9]+)\ not\ found\ \(compiled\)\; ]] ;;
	allowed) [[ $stats =~ allowed:\ ([0-9]+) ]] ;;
	*) [[ $stats =~ ([0-9]+)\ $1 ]] ;;
	esac || fail "no $1 in: $stats"
	echo "${BASH_REMATCH[1]}"
}

@test "--stats: one summary for the whole command, every process counted once" {
	need_python
	local tgt=$BATS_TEST_TMPDIR/pyc three
	mkdir -m 700 "$tgt"
	three="'$PY' '$T/main.py'; '$PY' '$T/main.py'; '$PY' -c 'import sys; sys.path.insert(0, \"$T\"); import a.mod'"
	# First run: 3 Python processes (and the shell), caches redirected.
	run --separate-stderr nopyc_py --stats --rule "redirect $T/** $tgt" sh -c "$three"
	assert_success
	assert_equal "$output" "$NOPYC_TEST_TREE_OUTPUT
$NOPYC_TEST_TREE_OUTPUT"
	local stats
	stats=$(stats_line)
	assert_equal "$(stat_of processes)" 3
	(($(stat_of redirected) > 0)) || fail "nothing redirected: $stats"
	(($(stat_of 'not found') >= 4)) || fail "the first run found caches it had not written: $stats"
	assert_equal "$(stat_of denied)" 0
	assert_no_caches "$T"
	assert_file_exists "$(mapped_pyc "$tgt" "$A")"
	# No per-process line: the library's own NOPYC_STATS is not set.
	refute_regex "$stderr" 'stats pid='
	# Second run: the caches are read from TARGET, nothing is written.
	run --separate-stderr nopyc_py --stats --rule "redirect $T/** $tgt" sh -c "$three"
	assert_success
	stats=$(stats_line)
	assert_equal "$(stat_of redirected)" 0
	assert_equal "$(stat_of 'not found')" 0
	# main.py's run reads 4 caches (a, a.mod, b, b.mod), the -c one 2
	(($(stat_of TARGET) == 4 + 4 + 2)) || fail "the modules' caches were not read from TARGET: $stats"
}

@test "--stats: reads under deny are not counted as denials; writes are" {
	need_python
	# Caches beside the sources, written without nopyc.
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" "$T/main.py"
	assert_success
	assert_cached "$A" "$B"
	run --separate-stderr nopyc_py --stats "$PY" "$T/main.py"
	assert_success
	local stats
	stats=$(stats_line)
	assert_equal "$(stat_of denied)" 0
	(($(stat_of original) >= 4)) || fail "the caches read are not counted: $stats"
	assert_equal "$(stat_of TARGET)" 0
	# Without caches every write is denied, and counted.
	remove_caches "$T"
	run --separate-stderr nopyc_py --stats "$PY" "$T/main.py"
	assert_success
	stats=$(stats_line)
	(($(stat_of denied) > 0)) || fail "no denial counted: $stats"
	assert_no_caches "$T"
	# discard and allow
	run --separate-stderr nopyc_py --stats --discard '**' "$PY" -m compileall -q "$T"
	assert_success
	stats=$(stats_line)
	(($(stat_of discarded) > 0)) || fail "no discard counted: $stats"
	assert_no_caches "$T"
	run --separate-stderr nopyc_py --stats --allow '**' "$PY" "$T/main.py"
	assert_success
	stats=$(stats_line)
	(($(stat_of allowed) > 0)) || fail "nothing allowed: $stats"
	assert_equal "$(stat_of redirected)/$(stat_of denied)/$(stat_of discarded)" 0/0/0
	assert_cached "$A" "$B"
}

@test "--stats: paths with blanks (even ones spelling a log field) are counted as plain ones" {
	need_python
	local odd="$BATS_TEST_TMPDIR/x rule=1 action=deny verdict=fail mapped=- result=EROFS" plain=$BATS_TEST_TMPDIR/plain
	local tgt=$BATS_TEST_TMPDIR/pyc d summary=()
	mkdir -m 700 "$tgt"
	for d in "$odd" "$plain"; do
		make_tree "$d"
		run --separate-stderr nopyc_py --stats --rule "redirect ${d// /\\ }/** $tgt" "$PY" "$d/main.py"
		assert_success
		assert_output "$NOPYC_TEST_TREE_OUTPUT"
		summary+=("$(stats_line)")
	done
	assert_equal "${summary[0]}" "${summary[1]}"
	local stats=${summary[0]}
	(($(stat_of redirected) > 0)) || fail "nothing redirected: $stats"
	assert_equal "$(stat_of denied)" 0
	assert_file_exists "$(mapped_pyc "$tgt" "$odd/a/mod.py")"
}

@test "--stats: waits for the command, passes its status, signals and standard input through" {
	need_python
	run --separate-stderr "$NOPYC" --stats sh -c 'exit 42'
	assert_equal "$status" 42
	stats_line >/dev/null
	run "$NOPYC" --stats sh -c 'read -r line; echo "got $line"' <<<hello
	assert_line 'got hello'
	# The command dies of a signal: so does nopyc, after the summary.
	run "$PY" -c 'import subprocess, sys
r = subprocess.run([sys.argv[1], "--stats", "sh", "-c", "kill -TERM $$"], stderr=subprocess.PIPE)
print(r.returncode, r.stderr.decode().count("nopyc: stats"), "Terminated" in r.stderr.decode())' "$NOPYC"
	assert_output '-15 1 False'
	# SIGTERM sent to nopyc reaches the command, which ends on its own.
	# (The commands nap in short sleeps: a signal that comes just before
	# CPython enters a sleep runs its handler only when the sleep ends.)
	run "$PY" -c 'import signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "--stats", sys.executable, "-c", """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: (print("command got TERM", flush=True), sys.exit(7)))
print("ready", flush=True)
for _ in range(600):
    time.sleep(0.05)
"""], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
assert p.stdout.readline() == b"ready\n"
p.send_signal(signal.SIGTERM)
out, err = p.communicate(timeout=20)
print(p.returncode, out.decode().strip(), err.decode().count("nopyc: stats"))' "$NOPYC"
	assert_output '7 command got TERM 1'
	# SIGINT to the process group (a terminal's Ctrl-C): the command gets
	# it once, not ignored (as sh would have it for a background job).
	run "$PY" -c 'import os, signal, subprocess, sys
p = subprocess.Popen([sys.argv[1], "--stats", sys.executable, "-c", """
import sys, time
try:
    print("ready", flush=True)
    for _ in range(600):
        time.sleep(0.05)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(5)
"""], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
assert p.stdout.readline() == b"ready\n"
os.killpg(p.pid, signal.SIGINT)
out, err = p.communicate(timeout=20)
print(p.returncode, out.decode().strip(), err.decode().count("nopyc: stats"))' "$NOPYC"
	assert_output '5 KeyboardInterrupt 1'
}

@test "--stats: a TERM at any moment of the start ends the command and nopyc, never lost" {
	need_python
	# Two windows lost a TERM (the command ran on, nopyc waited for it):
	# the trap ran after the fork but before nopyc knew the child's pid,
	# or sent it to the child before the shell there had reset the copy of
	# nopyc's traps.  TERM at growing delays from the start; the command,
	# once started, writes its pid and sleeps: when nopyc ends, of the
	# same signal, the command must be gone too.
	run "$PY" -c 'import os, signal, subprocess, sys, time
mark = sys.argv[2]
for i in range(40):
    if os.path.exists(mark):
        os.unlink(mark)
    p = subprocess.Popen([sys.argv[1], "--stats", "sh", "-c", "echo $$ >\"$0\"; exec sleep 30", mark],
                         stderr=subprocess.DEVNULL)
    time.sleep(i * 0.005)
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.system("ps -o pid,ppid,stat,args --ppid %d -p %d" % (p.pid, p.pid))
        os.system("pkill -KILL -P %d" % p.pid)
        p.kill()
        sys.exit("TERM after %.3f s was lost: nopyc still waits" % (i * 0.005))
    if rc != -signal.SIGTERM:
        sys.exit("TERM after %.3f s: nopyc ended with %d" % (i * 0.005, rc))
    if os.path.exists(mark):
        pid = int(open(mark).read() or 0)
        try:
            state = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
        except (IOError, OSError, ValueError):
            state = "gone"
        if state not in ("gone", "Z"):
            sys.exit("TERM after %.3f s: the command still runs" % (i * 0.005))
print("ok")' "$NOPYC" "$BATS_TEST_TMPDIR/started"
	assert_output ok
}

@test "--stats with --log FILE: the log is kept, the summary counts this command only" {
	need_python
	local log=$BATS_TEST_TMPDIR/decisions.log
	echo 'nopyc: pid=1 call=mkdir path=/old/__pycache__ rule=1 action=deny verdict=fail mapped=- result=EROFS' >"$log"
	run --separate-stderr nopyc_py --stats --log "$log" --allow '**' "$PY" "$T/main.py"
	assert_success
	local stats
	stats=$(stats_line)
	assert_equal "$(stat_of denied)" 0
	assert_equal "$(stat_of processes)" 1
	assert_file_contains "$log" "path=$T/a/__pycache__ rule=1 action=allow"
	assert_equal "$(head -1 "$log")" 'nopyc: pid=1 call=mkdir path=/old/__pycache__ rule=1 action=deny verdict=fail mapped=- result=EROFS'
	# --log - sends the lines to the terminal: --stats cannot read them.
	run --separate-stderr "$NOPYC" --stats --log - touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: --stats reads the decision log, which --log - (NOPYC_LOG=stderr) sends to the terminal: use --log FILE with --stats'
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
}

@test "--dry-run without --log or --stats says the decisions are not recorded" {
	run --separate-stderr "$NOPYC" --dry-run true
	assert_success
	assert_equal "$stderr" 'nopyc: dry run: every call goes through and no decision is recorded: add --log FILE (or --log -) to see each one, or --stats for a summary'
	run --separate-stderr "$NOPYC" --dry-run --log "$BATS_TEST_TMPDIR/l" true
	assert_equal "$stderr" ''
	need_python
	run --separate-stderr nopyc_py --dry-run --stats "$PY" "$T/main.py"
	assert_success
	local stats
	stats=$(stats_line)
	[[ $stats == 'nopyc: stats (dry run: what the rules decided; every call went through): '* ]] || fail "$stats"
	(($(stat_of denied) > 0)) || fail "$stats"
	assert_cached "$A" "$B"
}

# ---- the usual slips ----------------------------------------------------------

@test "a relative pattern is taken from the current directory (physical), as a relative DIR or FILE is" {
	need_python
	local here
	cd "$T"
	here=$(pwd -P)
	run --separate-stderr "$NOPYC" --deny 'a/**' --rule 'allow ./b/**' --rule 'deny ../t/x/**; discard **/v/**' --check
	assert_success
	assert_output "1 deny $here/a/**  # --deny 'a/**'
2 allow $here/b/**  # --rule 'allow ./b/**'
3 deny $here/x/**  # --rule 'deny ../t/x/**; discard **/v/**'
4 discard **/v/**  # --rule 'deny ../t/x/**; discard **/v/**'"
	run nopyc_py --deny 'a/**' --allow '**' "$PY" main.py
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_not_cached "$A"
	assert_cached "$B"
	# Reached through a symbolic link: still the path Python sees.
	ln -s "$T" "$BATS_TEST_TMPDIR/link"
	cd "$BATS_TEST_TMPDIR/link"
	run "$NOPYC" --deny 'a/**' --check
	assert_output "1 deny $here/a/**  # --deny 'a/**'"
	# A directory whose name holds glob characters or blanks: escaped.
	mkdir -p "$BATS_TEST_TMPDIR/we [i]rd*"
	cd "$BATS_TEST_TMPDIR/we [i]rd*"
	run "$NOPYC" --deny 'a/**' --rule 'redirect b/** pyc' --check
	assert_success
	assert_output "1 deny $(pwd -P | sed 's/[][ *]/\\&/g')/a/**  # --deny 'a/**'
2 redirect $(pwd -P | sed 's/[][ *]/\\&/g')/b/** $(pwd | sed 's/ /\\ /g')/pyc  # --rule 'redirect b/** pyc'"
}

@test "a forgotten argument: the program is taken for the pattern; refused (exit 2), with the fix" {
	need_python
	cd "$T"
	run --separate-stderr "$NOPYC" --deny "$PY" main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --deny '$PY': '$PY' is a program, not a pattern: did the option lose its argument? Write e.g. nopyc --deny '/srv/app/**' $PY ..."
	run --separate-stderr "$NOPYC" --allow sh -c true
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --allow 'sh': 'sh' is a program, not a pattern: did the option lose its argument? Write e.g. nopyc --allow '/srv/app/**' sh ..."
	run --separate-stderr "$NOPYC" --log "$PY" main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --log '$PY': that is a program: did --log lose its argument?"
	run --separate-stderr "$NOPYC" --redirect "$PY" main.py
	assert_equal "$status" 2
	run --separate-stderr "$NOPYC" --config "$PY" main.py
	assert_equal "$status" 2
	# an unquoted rule: --rule took only its first word
	run --separate-stderr "$NOPYC" --rule deny "$T/**" "$PY" main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --rule 'deny': the rule has lost a word: quote the whole rule, e.g. --rule 'deny /srv/app/**' or --rule 'redirect /srv/app/** /run/pycache'"
	assert_no_caches "$T"
}

@test "an unquoted ** that the shell expanded: refused (exit 2), with the fix" {
	need_python
	cd "$T"
	# what `nopyc --deny a/** python3 main.py` becomes without quotes
	local expanded=(a/*)
	[[ ${#expanded[@]} -ge 2 ]] || fail "the test tree has too few files"
	run --separate-stderr nopyc_py --deny "${expanded[@]}" "$PY" main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --deny '${expanded[0]}' is followed by '${expanded[1]}': did the shell expand an unquoted pattern? Quote it: --deny 'a/**'"
	assert_no_caches "$T"
	# bash's globstar: the directory itself comes first
	run --separate-stderr nopyc_py --deny a/ "${expanded[@]}" "$PY" main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --deny 'a/' is followed by '${expanded[0]}': did the shell expand an unquoted pattern? Quote it: --deny 'a/**'"
	assert_no_caches "$T"
}

@test "an expanded pattern whose first match is a cache directory or a file: refused (exit 2), nothing run" {
	need_python
	# The shell's expansion of "$d/*" (C locale order): __pycache__ first.
	# It is a cache path, so it was once taken as the pattern, and main.py
	# (executable) ran with the rest as its arguments, writing caches.
	local d=$BATS_TEST_TMPDIR/srv
	mkdir -p "$d/__pycache__"
	printf '#!%s\nimport sys; sys.path.insert(0, "%s"); import zmod\nopen("%s/ran", "w").close()\n' \
		"$PY" "$d" "$BATS_TEST_TMPDIR" >"$d/main.py"
	chmod +x "$d/main.py"
	echo 'L = 1' >"$d/zmod.py"
	run --separate-stderr nopyc_py --deny "$d/__pycache__" "$d/main.py" "$d/zmod.py" python3 main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --deny '$d/__pycache__' is followed by '$d/main.py': did the shell expand an unquoted pattern? Quote it: --deny '$d/**' (if you meant the path '$d/__pycache__' itself, put -- before the command)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	assert_equal "$(find "$d" -name '*.pyc')" ''
	# the next match not executable (once: "Permission denied", 126)
	chmod -x "$d/main.py"
	run --separate-stderr nopyc_py --allow "$d/main.py" "$d/zmod.py" "$PY" "$d/main.py"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --allow '$d/main.py' is followed by '$d/zmod.py': did the shell expand an unquoted pattern? Quote it: --allow '$d/**'"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	# the same name in other directories (*/__pycache__), relative paths
	mkdir -p "$T/a/__pycache__" "$T/b/__pycache__"
	cd "$T"
	run --separate-stderr nopyc_py --discard a/__pycache__ b/__pycache__ "$PY" main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --discard 'a/__pycache__' is followed by 'b/__pycache__': did the shell expand an unquoted pattern? Quote it: --discard './**' (if you meant the path 'a/__pycache__' itself, put -- before the command)"
	run --separate-stderr nopyc_py --deny "$T/a/__pycache__" "$T/b/__pycache__" "$PY" main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --deny '$T/a/__pycache__' is followed by '$T/b/__pycache__': did the shell expand an unquoted pattern? Quote it: --deny '$T/**' (if you meant the path '$T/a/__pycache__' itself, put -- before the command)"
	assert_equal "$(find "$T" -name '*.pyc')" ''
	# One match, a file: no pattern below a file; quote the pattern.
	mkdir "$BATS_TEST_TMPDIR/one"
	echo 'x = 1' >"$BATS_TEST_TMPDIR/one/only.py"
	run --separate-stderr nopyc_py --deny "$BATS_TEST_TMPDIR/one/only.py" "$PY" main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --deny '$BATS_TEST_TMPDIR/one/only.py': '$BATS_TEST_TMPDIR/one/only.py' is a file, not a pattern: a pattern is matched against cache paths (.../__pycache__/NAME.pyc), so it never matches; did the shell expand an unquoted pattern? Quote it: --deny '$BATS_TEST_TMPDIR/one/**'"
	run --separate-stderr nopyc_py --rule "deny $BATS_TEST_TMPDIR/one/only.py" "$PY" main.py
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --rule 'deny $BATS_TEST_TMPDIR/one/only.py': '$BATS_TEST_TMPDIR/one/only.py' is a file, not a pattern: a pattern is matched against cache paths (.../__pycache__/NAME.pyc), so it never matches; for every cache beside it write '$BATS_TEST_TMPDIR/one/**'"
	assert_equal "$(find "$T" "$BATS_TEST_TMPDIR/one" -name '*.pyc')" ''
	# A cache path meant as it is: -- before the command, or --deny=PATH.
	run nopyc_py --deny "$T/a/__pycache__" -- "$PY" -c 'print("ran")'
	assert_success
	assert_output ran
	chmod +x "$d/main.py"
	run nopyc_py --deny="$d/__pycache__" --allow '**' "$d/main.py"
	assert_success
	assert_file_exists "$BATS_TEST_TMPDIR/ran"
}

@test "a pattern that can never match, or with '~': refused (exit 2), with the fix" {
	run --separate-stderr "$NOPYC" --deny /srv/nowhere touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --deny '/srv/nowhere': '/srv/nowhere' has no wildcard and is not a cache path, so it never matches; for everything below it write '/srv/nowhere/**'"
	run --separate-stderr "$NOPYC" --rule "allow $T" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --rule 'allow $T': '$T' is a directory: a pattern is matched against cache paths (.../__pycache__/NAME.pyc), so it never matches; for everything below it write '$T/**'"
	# shellcheck disable=SC2088 # the quoted ~ is the slip
	run --separate-stderr "$NOPYC" --deny '~/proj/**' touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --deny '~/proj/**': '~' is not expanded in a pattern: write the directory out, e.g. \"\$HOME/proj/**\" (the shell expands \$HOME inside double quotes)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	# A cache path needs no wildcard.
	run "$NOPYC" --deny "$T/a/__pycache__" --deny "$T/m.pyc" --check
	assert_success
	# --redirect takes a directory, not a pattern
	run --separate-stderr "$NOPYC" --redirect '/run/pyc/**' true
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --redirect '/run/pyc/**': --redirect takes a directory (every cache goes there); for some paths only write --rule 'redirect PATTERN DIR'"
}

@test "a TARGET starting with ~ that the library does not take: not run, with the fix" {
	# shellcheck disable=SC2088 # a quoted ~ is the slip tested
	local msg tilde='~/cache'
	msg=$(library_message --rule "redirect ** $tilde")
	if [[ -z $msg ]]; then
		# the library expands ~: the command runs
		run "$NOPYC" --redirect "$tilde" true
		assert_success
		return
	fi
	run --separate-stderr "$NOPYC" --redirect "$tilde" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: --redirect '~/cache':${msg#NOPYC_RULES rule 1:}
nopyc: a TARGET starting with ~ is not expanded here: write the directory out, e.g. --redirect \"\$HOME/.cache/pycache\"
nopyc: touch not run: configuration error (nopyc --check shows the rules)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
}

@test "a TARGET with \$NAME (no braces): not run, the hint gives \${NAME}, the form that is expanded" {
	need_python
	local v=$BATS_TEST_TMPDIR/v
	mkdir -m 700 "$v"
	# shellcheck disable=SC2016 # the library is to expand them
	local bare='$V/c' mid="$v/\$V"
	run --separate-stderr env V="$v" "$NOPYC" --rule "redirect $T/** $bare" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	# shellcheck disable=SC2016
	assert_equal "$stderr" "nopyc: --rule 'redirect $T/** \$V/c': \$V is not expanded in a TARGET, \${V} is: write \${V}/c (and \\\$ for a literal \$)"
	# anywhere in TARGET (the library would take it literally), --redirect too
	run --separate-stderr env V=x "$NOPYC" --redirect "$mid/\$HOME_X" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	# shellcheck disable=SC2016
	assert_equal "$stderr" "nopyc: --redirect '$mid/\$HOME_X': \$V is not expanded in a TARGET, \${V} is: write $v/\${V}/\${HOME_X} (and \\\$ for a literal \$)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	# from NOPYC_RULES or a rules file: the library's message, then the hint
	run --separate-stderr env V="$v" NOPYC_RULES="redirect $T/** $bare" "$NOPYC" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	# shellcheck disable=SC2016
	assert_equal "$stderr" "nopyc: NOPYC_RULES rule 1: TARGET must be an absolute directory in \"redirect $T/** \$V/c\"
nopyc: \$V is not expanded in a TARGET, \${V} is: write \${V}/c
nopyc: touch not run: configuration error (nopyc --check shows the rules)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	# The hint is right: \${V} is expanded, \\$ is a literal $.
	cd "$T"
	# shellcheck disable=SC2016
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" V="$v" "$NOPYC" --rule "redirect $T/** \${V}/c" "$PY" main.py
	assert_success
	assert_file_exists "$(mapped_pyc "$v/c" "$A")"
	mkdir -m 700 "$mid"
	# shellcheck disable=SC2016
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" V=x "$NOPYC" --redirect "$v/\\\$V" "$PY" main.py
	assert_success
	assert_file_exists "$(mapped_pyc "$mid" "$A")"
	assert_no_caches "$T"
}

# ---- --check ---------------------------------------------------------------

@test "--check: the default rule" {
	run --separate-stderr "$NOPYC" --check
	assert_success
	assert_output '1 deny **  # built-in default (no configuration)'
	assert_equal "$stderr" ''
}

@test "--check: every rule option, numbered, in order, as written" {
	run --separate-stderr "$NOPYC" --rule 'discard **/vendor/**   # third-party' \
		--deny '/srv/app/**' --allow '/srv/app/tests/**' --discard '/tmp/**' \
		--redirect /run/pyc --check
	assert_success
	assert_equal "$stderr" ''
	assert_output "1 discard **/vendor/**  # --rule 'discard **/vendor/**   # third-party'
2 deny /srv/app/**  # --deny '/srv/app/**'
3 allow /srv/app/tests/**  # --allow '/srv/app/tests/**'
4 discard /tmp/**  # --discard '/tmp/**'
5 redirect ** /run/pyc  # --redirect '/run/pyc'"
}

@test "--check: a bad rule prints exactly the shim's message and exits 2" {
	run --separate-stderr "$NOPYC" --deny '/a/**' --rule 'deyn /b/**' --check
	assert_equal "$status" 2
	assert_equal "$output" ''
	assert_equal "$stderr" "$(unknown_action_message 'NOPYC_RULES rule 2' deyn)"
	# Under --strict the library's wording changes; so does --check's.
	run --separate-stderr "$NOPYC" --strict --rule 'deny /a/[b' --check
	assert_equal "$status" 2
	[[ $stderr == 'nopyc: NOPYC_RULES rule 1: '*'"deny /a/[b"; exiting because NOPYC_STRICT=1' ]] ||
		fail "unexpected message: $stderr"
	# Running a command, the same message, without the suffix: nothing ran.
	local check=$stderr
	run --separate-stderr "$NOPYC" --strict --rule 'deny /a/[b' touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	check=${check#nopyc: NOPYC_RULES rule 1:}
	assert_equal "${stderr_lines[0]}" "nopyc: --rule 'deny /a/[b':${check%; exiting because NOPYC_STRICT=1}"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
}

@test "--check: a bad or unreadable config file names the file" {
	printf 'allow /x/**\n\n  discard\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run --separate-stderr "$NOPYC" --config "$BATS_TEST_TMPDIR/bad.conf" --check
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: $BATS_TEST_TMPDIR/bad.conf line 3: missing PATTERN (write: ACTION PATTERN, e.g. deny /srv/app/**) in \"discard\"$NOPYC_FAILSAFE"
	run --separate-stderr "$NOPYC" --config "$BATS_TEST_TMPDIR/none.conf" --check
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: NOPYC_CONFIG $BATS_TEST_TMPDIR/none.conf: cannot read it: No such file or directory$NOPYC_FAILSAFE"
	# Running a command: not run, exit 2, the same message.
	run --separate-stderr "$NOPYC" --config "$BATS_TEST_TMPDIR/none.conf" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: NOPYC_CONFIG $BATS_TEST_TMPDIR/none.conf: cannot read it: No such file or directory
nopyc: touch not run: configuration error (nopyc --check shows the rules)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	run --separate-stderr "$NOPYC" --config "$BATS_TEST_TMPDIR/bad.conf" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "nopyc: $BATS_TEST_TMPDIR/bad.conf line 3: missing PATTERN (write: ACTION PATTERN, e.g. deny /srv/app/**) in \"discard\""
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
}

@test "--check: a refused redirect TARGET gives the shim's line and exit 1 (2 with --strict)" {
	local r=$BATS_TEST_TMPDIR/open
	mkdir -m 777 "$r"
	chmod 777 "$r"
	run --separate-stderr "$NOPYC" --redirect "$r" --check
	assert_equal "$status" 1
	assert_output "1 redirect ** $r  # --redirect '$r'"
	assert_equal "$stderr" "nopyc: redirect TARGET $r refused: it is writable by group or others (chmod go-w it); rule 1 acts as deny"
	local check=$stderr
	run --separate-stderr "$NOPYC" --strict --redirect "$r" --check
	assert_equal "$status" 2
	assert_equal "$stderr" "$check; exiting because NOPYC_STRICT=1"
	# Running a command: not run (exit 2); the option that gave the rule
	# is named instead of what the rule would do.
	run --separate-stderr "$NOPYC" --redirect "$r" touch "$BATS_TEST_TMPDIR/ran"
	assert_equal "$status" 2
	assert_equal "$stderr" "${check%; rule 1 acts as deny} (--redirect '$r')
nopyc: touch not run: configuration error (nopyc --check shows the rules)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
	assert_file_not_exists "$r/ran"
}

@test "--check: a missing TARGET is acceptable and left as it was" {
	run --separate-stderr "$NOPYC" --redirect "$BATS_TEST_TMPDIR/new" --check
	assert_success
	assert_equal "$stderr" ''
	assert_not_exists "$BATS_TEST_TMPDIR/new"
	# Its parent missing: refused, as the library refuses it.
	run --separate-stderr "$NOPYC" --redirect "$BATS_TEST_TMPDIR/no/new" --check
	assert_equal "$status" 1
	assert_equal "$stderr" "nopyc: redirect TARGET $BATS_TEST_TMPDIR/no/new refused: its parent directory does not exist; rule 1 acts as deny"
}

@test "--check and --explain run the helper with no LD_PRELOAD at all" {
	[[ -n $OTHER_SO ]] || skip "cc cannot build a test library"
	local mark=$BATS_TEST_TMPDIR/mark
	run env OTHER_SO_MARK="$mark" LD_PRELOAD="$OTHER_SO" "$NOPYC" --check
	assert_success
	run env OTHER_SO_MARK="$mark" LD_PRELOAD="$OTHER_SO" "$NOPYC" --explain /x.pyc
	assert_success
	# The wrapper's own shell had it; the helper did not.
	assert_file_not_empty "$mark"
	run grep -c nopyc-explain "$mark"
	assert_output 0
	# A preloaded libnopyc.so with a bad rule: its line once (the wrapper's
	# shell), then the helper's identical line; no other process ran.
	run --separate-stderr env LD_PRELOAD="$WLIB" NOPYC_RULES='deyn /x' "$NOPYC" --check
	assert_equal "$status" 2
	local msg
	msg=$(unknown_action_message 'NOPYC_RULES rule 1' deyn)
	assert_equal "$stderr" "$msg"$'\n'"$msg"
}

# ---- --explain -------------------------------------------------------------

@test "--explain deny: rule, action, write fails, read goes through; Python agrees" {
	need_python
	local pyc
	pyc=$(pyc_path "$A")
	run --separate-stderr "$NOPYC" --deny "$T/a/**" --allow '**' --explain "$pyc"
	assert_success
	assert_output "path: $pyc
cache: yes, a bytecode file
rule: 1 deny $T/a/**
action: deny
write: fails as on a read-only file system: EROFS (Read-only file system), or the kernel's earlier answer (EEXIST, ENOENT, ...)
read: goes through"
	run nopyc_py --deny "$T/a/**" --allow '**' "$PY" "$T/main.py"
	assert_not_cached "$A"
	assert_cached "$B"
}

@test "--explain allow, and a cache path that no rule matches" {
	need_python
	local pyc
	pyc=$(pyc_path "$A")
	run "$NOPYC" --allow "$T/**" --explain "$pyc"
	assert_success
	assert_line 'rule: 1 allow '"$T"'/**'
	assert_line 'action: allow'
	assert_line 'write: goes through'
	run "$NOPYC" --deny '/nonexistent/**' --explain "$pyc"
	assert_success
	assert_line 'rule: none matches'
	assert_line 'action: allow (no rule matches)'
	assert_line 'write: goes through (no rule matches)'
	assert_line 'read: goes through (no rule matches)'
	run nopyc_py --deny '/nonexistent/**' "$PY" "$T/main.py"
	assert_cached "$A"
}

@test "--explain discard: success without writing; compileall agrees" {
	need_python
	local pyc
	pyc=$(pyc_path "$A")
	run "$NOPYC" --discard "$T/**" --explain "$pyc" "$T/a/__pycache__"
	assert_success
	assert_output "path: $pyc
cache: yes, a bytecode file
rule: 1 discard $T/**
action: discard
write: reports success, done in a throw-away directory the process and its children read back, removed at exit
read: the throw-away directory first (what this process tree discarded), else the original

path: $T/a/__pycache__
cache: yes, a __pycache__ directory
rule: 1 discard $T/**
action: discard
mkdir: reports success, done in a throw-away directory the process and its children read back, removed at exit
read: the throw-away directory first (what this process tree discarded), else the original"
	run nopyc_py --discard "$T/**" "$PY" -m compileall -q "$T"
	assert_success
	assert_no_caches "$T"
}

@test "--explain redirect: mapped path and an acceptable TARGET; Python agrees" {
	need_python
	local r=$BATS_TEST_TMPDIR/pyc pyc
	mkdir -m 700 "$r"
	pyc=$(pyc_path "$A")
	run "$NOPYC" --rule "redirect $T/** $r" --explain "$pyc" "$r$pyc"
	assert_success
	assert_output "path: $pyc
cache: yes, a bytecode file
rule: 1 redirect $T/** $r
action: redirect
mapped: $r$pyc
target: $r acceptable
write: goes to the mapped path (parents made, mode 0700)
read: the mapped path while it is current, else the original

path: $r$pyc
cache: yes, a bytecode file
rule: 1 redirect $T/** $r
action: redirect
mapped: - (the path is already inside TARGET)
target: $r acceptable
write: goes through (the path is already inside TARGET)
read: goes through"
	# a __pycache__ directory: the original's, TARGET's entries merged in;
	# a temp file: TARGET's copy first
	run "$NOPYC" --rule "redirect $T/** $r" --explain "${pyc%/*}" "$pyc.123"
	assert_success
	assert_line "read: the original if it exists (the mapped path's entries join its listing), else the mapped path"
	assert_line "read: the mapped path if it exists, else the original"
	run nopyc_py --rule "redirect $T/** $r" "$PY" "$T/main.py"
	assert_success
	assert_no_caches "$T"
	assert_file_exists "$r$pyc"
	# A path already inside TARGET is left alone.
	run "$NOPYC" --redirect "$r" --explain "$r$pyc"
	assert_line "mapped: - (the path is already inside TARGET)"
	assert_line "write: goes through (the path is already inside TARGET)"
}

@test "--explain redirect: a refused TARGET acts as deny; a missing one is created at start" {
	need_python
	local r=$BATS_TEST_TMPDIR/open pyc
	mkdir -m 777 "$r"
	chmod 777 "$r"
	pyc=$(pyc_path "$A")
	run --separate-stderr "$NOPYC" --redirect "$r" --explain "$pyc"
	assert_equal "$status" 1
	assert_equal "$stderr" "nopyc: redirect TARGET $r refused: it is writable by group or others (chmod go-w it); rule 1 acts as deny"
	assert_output "path: $pyc
cache: yes, a bytecode file
rule: 1 redirect ** $r
action: redirect, acting as deny (TARGET refused)
mapped: $r$pyc
target: $r refused: it is writable by group or others (chmod go-w it)
write: fails as on a read-only file system: EROFS (Read-only file system), or the kernel's earlier answer (EEXIST, ENOENT, ...)
read: goes through"
	# The library alone (nopyc would not run it): the rule acts as deny.
	NOPYC_RULES="redirect ** $r" run py_shim "$T/main.py"
	assert_success
	assert_no_caches "$T"
	assert_no_caches "$r"
	run --separate-stderr "$NOPYC" --redirect "$BATS_TEST_TMPDIR/new" --explain "$pyc"
	assert_success
	assert_line "target: $BATS_TEST_TMPDIR/new acceptable (does not exist yet: created 0700 at start)"
	assert_not_exists "$BATS_TEST_TMPDIR/new"
}

@test "--explain: CPython's temp file is decided by its final name" {
	need_python
	local pyc
	pyc=$(pyc_path "$A")
	run "$NOPYC" --deny "$pyc" --allow '**' --explain "$pyc.140323247063200"
	assert_success
	assert_line "cache: yes, CPython's temp file (decided as its final name)"
	assert_line "rule: 1 deny $pyc"
	assert_line "write: fails as on a read-only file system: EROFS (Read-only file system), or the kernel's earlier answer (EEXIST, ENOENT, ...)"
	# CPython writes the temp file, then renames it: both denied.
	run nopyc_py --deny "$pyc" --allow '**' "$PY" "$T/main.py"
	assert_not_cached "$A"
	assert_cached "$B"
}

@test "--explain: a path that is not a cache path, and relative paths" {
	run "$NOPYC" --deny '**' --explain -- "$A" a/__pycache__ -m.pyc
	assert_success
	assert_output "path: $A
cache: no
rule: -
action: none (nopyc only acts on cache paths)
write: goes through (not a cache path)
read: goes through (not a cache path)

path: $BATS_TEST_TMPDIR/a/__pycache__ (as given: a/__pycache__)
cache: yes, a __pycache__ directory
rule: 1 deny **
action: deny
mkdir: fails as on a read-only file system: EROFS (Read-only file system), or the kernel's earlier answer (EEXIST, ENOENT, ...)
read: goes through

path: $BATS_TEST_TMPDIR/-m.pyc (as given: -m.pyc)
cache: yes, a bytecode file
rule: 1 deny **
action: deny
write: fails as on a read-only file system: EROFS (Read-only file system), or the kernel's earlier answer (EEXIST, ENOENT, ...)
read: goes through"
	run "$NOPYC" --explain "$T/a/__pycache__/notes.txt" "$T/a/../a/./__pycache__//x.pyc"
	assert_line 'cache: yes, inside a __pycache__ directory'
	assert_line "path: $T/a/__pycache__/x.pyc (as given: $T/a/../a/./__pycache__//x.pyc)"
}

@test "--explain with a bad configuration: the built-in deny ** (exit 2); Python agrees" {
	need_python
	local pyc
	pyc=$(pyc_path "$A")
	run --separate-stderr "$NOPYC" --rule 'deyn **' --explain "$pyc"
	assert_equal "$status" 2
	assert_equal "$stderr" "$(unknown_action_message 'NOPYC_RULES rule 1' deyn)"
	assert_line 'rule: 1 deny ** (built-in: configuration error)'
	assert_line 'action: deny'
	assert_line "write: fails as on a read-only file system: EROFS (Read-only file system), or the kernel's earlier answer (EEXIST, ENOENT, ...)"
	assert_line 'read: goes through'
	run nopyc_py --rule 'deyn **' "$PY" "$T/main.py"
	assert_equal "$status" 2
	assert_output --partial "nopyc: $PY not run: configuration error"
	assert_no_caches "$T"
}

# ---- man page -----------------------------------------------------------------

@test "the man page renders cleanly and documents every option and variable" {
	command -v groff >/dev/null || skip "groff not installed"
	local page=$NOPYC_TEST_ROOT/scripts/nopyc.1
	run groff -man -ww -z "$page"
	assert_success
	assert_output ''
	command -v man >/dev/null || skip "man not installed"
	run --separate-stderr env MANWIDTH=80 man -l "$page"
	assert_success
	assert_equal "$stderr" ''
	assert_line --index 0 --regexp '^NOPYC\(1\) +User Commands +NOPYC\(1\)$'
	local o
	for o in --rule --config --redirect --deny --allow --discard --strict \
		--log --dry-run --stats --check --explain --help --version \
		NOPYC_RULES NOPYC_CONFIG NOPYC_STRICT NOPYC_LOG NOPYC_DRYRUN \
		NOPYC_STATS LD_PRELOAD 'EXIT STATUS' 'cannot find libnopyc.so' \
		'warm [--python PY]... [--jobs N] PATH...' 'prune [--dry-run] TARGET...' \
		'memfd_create(2)' 'not run: configuration error'; do
		assert_output --partial -- "$o"
	done
	# No line wider than the terminal.
	refute_regex "$output" $'(^|\n)[^\n]{81,}'
}

# ---- make install ---------------------------------------------------------------

@test "make install DESTDIR PREFIX=/usr: the installed nopyc runs Python with the installed library" {
	need_python
	local root=$BATS_TEST_TMPDIR/root
	run make -s -C "$NOPYC_TEST_ROOT" install DESTDIR="$root" PREFIX=/usr
	assert_success
	assert_file_executable "$root/usr/bin/nopyc"
	assert_file_exists "$root/usr/lib/libnopyc.so"
	assert_file_executable "$root/usr/libexec/nopyc/nopyc-explain"
	assert_file_exists "$root/usr/libexec/nopyc/nopyc-warm.py"
	assert_file_exists "$root/usr/libexec/nopyc/nopyc-prune.py"
	assert_file_exists "$root/usr/share/man/man1/nopyc.1"
	grep -qx "nopyc_libdir='/usr/lib'" "$root/usr/bin/nopyc" ||
		fail "LIBDIR not baked into the installed wrapper"
	# stripped: no symbol table, no debug information (the build has both)
	local f
	for f in "$NOPYC_TEST_ROOT/build/libnopyc.so" "$NOPYC_TEST_ROOT/build/nopyc-explain"; do
		readelf -S "$f" | grep -q ' \.symtab ' || fail "$f has no symbol table to strip"
	done
	for f in "$root/usr/lib/libnopyc.so" "$root/usr/libexec/nopyc/nopyc-explain"; do
		run readelf -S "$f"
		assert_success
		refute_output --partial ' .symtab '
		refute_output --partial ' .debug_info '
	done

	local inst=$root/usr/bin/nopyc
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$inst" "$PY" -c 'import os; print(os.environ["LD_PRELOAD"])'
	assert_success
	# a multiarch install (where the loader expands $LIB) is preloaded
	# through $LIB, so each ABI loads its own build (tests/host.bats)
	if grep -q "^nopyc_native_lib='..*'" "$inst"; then
		# shellcheck disable=SC2016
		assert_output "$root/usr/\$LIB/libnopyc.so"
	else
		assert_output "$root/usr/lib/libnopyc.so"
	fi
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$inst" "$PY" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_no_caches "$T"
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$inst" --allow '**' "$PY" "$T/main.py"
	assert_success
	assert_cached "$A" "$B"
	run "$inst" --deny '/srv/**' --check
	assert_success
	assert_output "1 deny /srv/**  # --deny '/srv/**'"
	# warm and prune find their scripts
	remove_caches "$T"
	local tgt=$BATS_TEST_TMPDIR/pyc
	mkdir -m 700 "$tgt"
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$inst" --redirect "$tgt" warm --python "$PY" "$T"
	assert_success
	assert_file_exists "$(mapped_pyc "$tgt" "$A")"
	rm "$A"
	run "$inst" prune "$tgt"
	assert_success
	assert_line "removed $(mapped_pyc "$tgt" "$A") (its source $A no longer exists)"

	run --separate-stderr env MANWIDTH=80 man -l "$root/usr/share/man/man1/nopyc.1"
	assert_success
	assert_equal "$stderr" ''
	assert_line --index 0 --regexp '^NOPYC\(1\)'

	run make -s -C "$NOPYC_TEST_ROOT" uninstall DESTDIR="$root" PREFIX=/usr
	assert_success
	assert_equal "$(find "$root" -type f)" ''

	# STRIP= keeps the symbols
	run make -s -C "$NOPYC_TEST_ROOT" install DESTDIR="$root" PREFIX=/usr STRIP=
	assert_success
	run readelf -S "$root/usr/lib/libnopyc.so"
	assert_output --partial ' .symtab '
	assert_output --partial ' .debug_info '
	cmp "$NOPYC_TEST_ROOT/build/libnopyc.so" "$root/usr/lib/libnopyc.so" || fail "STRIP= changed the library"
}

@test "make install honours BINDIR, LIBDIR, LIBEXECDIR and MANDIR" {
	local root=$BATS_TEST_TMPDIR/root
	run make -s -C "$NOPYC_TEST_ROOT" install DESTDIR="$root" PREFIX=/opt/np \
		BINDIR=/opt/np/sbin LIBDIR=/opt/np/lib64 LIBEXECDIR=/opt/np/helpers \
		MANDIR=/opt/np/man
	assert_success
	assert_file_executable "$root/opt/np/sbin/nopyc"
	assert_file_exists "$root/opt/np/lib64/libnopyc.so"
	assert_file_executable "$root/opt/np/helpers/nopyc-explain"
	assert_file_exists "$root/opt/np/man/man1/nopyc.1"
	# Not beside it (../lib), so the wrapper uses the LIBDIR it was given:
	# here, with DESTDIR in the way, it reports where it looked.
	run --separate-stderr "$root/opt/np/sbin/nopyc" true
	assert_equal "$status" 125
	assert_equal "$stderr" "nopyc: cannot find libnopyc.so (looked in $root/opt/np/sbin/../lib, /opt/np/lib64)"
	run make -s -C "$NOPYC_TEST_ROOT" uninstall DESTDIR="$root" PREFIX=/opt/np \
		BINDIR=/opt/np/sbin LIBDIR=/opt/np/lib64 LIBEXECDIR=/opt/np/helpers \
		MANDIR=/opt/np/man
	assert_success
	assert_equal "$(find "$root" -type f)" ''
}
