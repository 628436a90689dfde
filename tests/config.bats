# The configuration surface (NOPYC_RULES, NOPYC_CONFIG, NOPYC_STRICT) seen
# from outside: messages, positions, strictness.  The shim reads its
# configuration in every process it is preloaded into, so a plain shell
# program is enough here; the per-interpreter files check the same with
# Python.  Cache effects are checked with coreutils mkdir (one call: mkdir).

load helpers

setup() {
	nopyc_setup
}

# assert_output_names TEXT STRING: TEXT contains STRING (no regex).
assert_output_names() {
	[[ $1 == *"$2"* ]] || fail "message does not name $2: $1"
}

# prog: prints "ran" and tries to create $T/__pycache__; says whether it could.
prog() {
	shim sh -c 'echo ran; if mkdir "$1/__pycache__" 2>/dev/null; then echo made; rmdir "$1/__pycache__" 2>/dev/null; else echo refused; fi' sh "$T"
}

@test "config: without NOPYC_RULES or NOPYC_CONFIG the shim denies, silently" {
	run --separate-stderr prog
	assert_success
	assert_output "ran
refused"
	assert_equal "$stderr" ""
}

@test "config: a good NOPYC_RULES says nothing" {
	NOPYC_RULES="allow $T/**; deny **" run --separate-stderr prog
	assert_success
	assert_output "ran
made"
	assert_equal "$stderr" ""
}

@test "config: unknown action: one exact line, the program runs under the built-in deny **" {
	NOPYC_RULES="allow **; deyn **" run --separate-stderr prog
	assert_success
	assert_output "ran
refused"
	assert_equal "$stderr" "$(unknown_action_message 'NOPYC_RULES rule 2' deyn)"
}

@test "config: NOPYC_RULES positions count rules only (comments, blank entries, newlines)" {
	NOPYC_RULES=$'# leading comment\n\ndeny /x/**;  ;allow /y/** # trailing\n  ;\nbogus /z/**' \
		run --separate-stderr prog
	assert_success
	assert_equal "$stderr" "$(unknown_action_message 'NOPYC_RULES rule 3' bogus)"
}

@test "config: a comment ends at the next ';'" {
	NOPYC_RULES="# note; deyn **" run --separate-stderr prog
	assert_success
	assert_output "ran
refused"
	assert_equal "$stderr" "$(unknown_action_message 'NOPYC_RULES rule 1' deyn)"
}

@test "config: missing pattern is reported with its rule number" {
	NOPYC_RULES="allow $T/**; deny" run --separate-stderr prog
	assert_success
	assert_output "ran
refused"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^nopyc: NOPYC_RULES rule 2: '
}

@test "config: a relative pattern (not starting with / or **) is refused" {
	NOPYC_RULES="allow $T/**; deny foo/**" run --separate-stderr prog
	assert_success
	assert_output "ran
refused"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^nopyc: NOPYC_RULES rule 2: '
}

@test "config: an unreadable NOPYC_CONFIG is reported with its name" {
	NOPYC_CONFIG=$BATS_TEST_TMPDIR/no-such.conf run --separate-stderr prog
	assert_success
	assert_output "ran
refused"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^nopyc: '
	assert_output_names "$stderr" "$BATS_TEST_TMPDIR/no-such.conf"
}

@test "config: NOPYC_CONFIG counts lines, comments and blank lines included" {
	conf=$BATS_TEST_TMPDIR/rules.conf
	printf '# first\n\nallow %s/**  # ok\ndeny /x/**; bogus /y/**\n' "$T" >"$conf"
	NOPYC_CONFIG=$conf run --separate-stderr prog
	assert_success
	assert_output "ran
refused"
	assert_equal "$stderr" "$(unknown_action_message "$conf line 4" bogus)"
}

@test "config: NOPYC_CONFIG is evaluated after NOPYC_RULES" {
	conf=$BATS_TEST_TMPDIR/rules.conf
	printf 'deny **\n' >"$conf"
	NOPYC_RULES="allow $T/**" NOPYC_CONFIG=$conf run --separate-stderr prog
	assert_output "ran
made"
	assert_equal "$stderr" ""

	printf 'allow %s/**\n' "$T" >"$conf"
	NOPYC_RULES="deny $T/**" NOPYC_CONFIG=$conf run --separate-stderr prog
	assert_output "ran
refused"
	assert_equal "$stderr" ""
}

@test "config: NOPYC_STRICT=1 makes any configuration error fatal before the program runs" {
	NOPYC_STRICT=1 NOPYC_RULES="deny **; deyn **" run --separate-stderr prog
	assert_failure 2
	assert_output ""
	assert_regex "$stderr" '^nopyc: NOPYC_RULES rule 2: unknown action "deyn"'

	NOPYC_STRICT=1 NOPYC_CONFIG=$BATS_TEST_TMPDIR/no-such.conf run --separate-stderr prog
	assert_failure 2
	assert_output ""
	assert_regex "$stderr" '^nopyc: '
	assert_output_names "$stderr" "$BATS_TEST_TMPDIR/no-such.conf"
}

@test "config: NOPYC_STRICT=1 with a good configuration runs normally" {
	NOPYC_STRICT=1 NOPYC_RULES="allow $T/**" run --separate-stderr prog
	assert_success
	assert_output "ran
made"
	assert_equal "$stderr" ""
}

# ---- every configuration error fails safe -----------------------------------

# The errors, one per line: "NAME|ENV-ASSIGNMENTS|MESSAGE" (after "nopyc: ",
# before the fail-safe ending); @T@ is the test tree, @D@ the test's temp
# directory.  Each turns the rules off and puts the built-in deny ** in
# their place: nothing is written, imports still work.
CONFIG_ERRORS='unknown action|NOPYC_RULES=allow **; deyn **|NOPYC_RULES rule 2: unknown action "deyn" (expected allow, deny, discard or redirect)
relative pattern|NOPYC_RULES=deny src/**; allow **|NOPYC_RULES rule 1: pattern must be absolute or start with **/ (e.g. /srv/app/** or **/vendor/**) in "deny src/**"
relative TARGET|NOPYC_RULES=redirect ** cache|NOPYC_RULES rule 1: TARGET must be an absolute directory in "redirect ** cache"
~ in a pattern|NOPYC_RULES=allow ~/src/**|NOPYC_RULES rule 1: ~ is not expanded in a pattern (write the absolute path) in "allow ~/src/**"
~USER in a TARGET|NOPYC_RULES=redirect ** ~root/pyc|NOPYC_RULES rule 1: ~USER is not expanded in a TARGET (write ~/ for HOME, or the absolute path) in "redirect ** ~root/pyc"
${ without a name in a TARGET|NOPYC_RULES=redirect ** ${HOME/pyc|NOPYC_RULES rule 1: ${ in TARGET must be followed by a variable name and } (write \$ for a literal $) in "redirect ** ${HOME/pyc"
unknown %-escape|NOPYC_RULES=redirect ** /tmp/%x|NOPYC_RULES rule 1: unknown %-escape in TARGET (only %u, the effective uid, and %% are known) in "redirect ** /tmp/%x"
missing TARGET|NOPYC_RULES=redirect **|NOPYC_RULES rule 1: missing TARGET (write: redirect PATTERN TARGET) in "redirect **"
missing NOPYC_CONFIG|NOPYC_CONFIG=@D@/none.conf|NOPYC_CONFIG @D@/none.conf: cannot read it: No such file or directory
relative NOPYC_CONFIG|NOPYC_CONFIG=rules.conf|NOPYC_CONFIG rules.conf: must be an absolute path (a process that changes directory would read another file)
relative NOPYC_LOG|NOPYC_LOG=nopyc.log|NOPYC_LOG nopyc.log: must be an absolute path, stderr or - (a process that changes directory would write elsewhere)'

# a Python every user of this suite has (any version)
config_python() {
	local p
	for p in /usr/bin/python3 "${PYENV_ROOT:-/root/.pyenv}"/versions/3.*/bin/python; do
		[[ -x $p ]] && { PY=$p; return 0; }
	done
	skip "no Python 3 found"
}

@test "config: every configuration error: one line, nothing written (mkdir, a Python import), the program's output unchanged" {
	config_python
	make_tree "$T"
	# the relative NOPYC_CONFIG exists where the process starts, with a rule
	# that would allow everything
	echo 'allow **' >"$BATS_TEST_TMPDIR/rules.conf"
	local name assign want
	while IFS='|' read -r name assign want; do
		assign=${assign//@D@/$BATS_TEST_TMPDIR}
		want=${want//@D@/$BATS_TEST_TMPDIR}
		run --separate-stderr shim env "$assign" sh -c 'mkdir "$1/__pycache__" 2>/dev/null && echo made || echo refused' sh "$T"
		[[ $output == refused ]] || fail "$name: mkdir of a __pycache__: $output"
		[[ $stderr == "nopyc: $want$NOPYC_FAILSAFE" ]] ||
			fail "$name: message$(printf '\n  want: %s\n  got:  %s' "nopyc: $want$NOPYC_FAILSAFE" "$stderr")"
		run --separate-stderr env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$assign" LD_PRELOAD="$NOPYC_LIB" "$PY" "$T/main.py"
		[[ $status == 0 && $output == "$NOPYC_TEST_TREE_OUTPUT" ]] || fail "$name: python: status $status, output $output"
		[[ $stderr == "nopyc: $want$NOPYC_FAILSAFE" ]] || fail "$name: python said: $stderr"
		[[ -z $(find_caches "$T") ]] || fail "$name: caches written: $(find_caches "$T")"
		# and NOPYC_STRICT=1 makes it fatal, before the program runs
		run --separate-stderr env NOPYC_STRICT=1 "$assign" LD_PRELOAD="$NOPYC_LIB" sh -c 'echo ran'
		[[ $status == 2 && -z $output && $stderr == "nopyc: $want; exiting because NOPYC_STRICT=1" ]] ||
			fail "$name: strict: status $status, output '$output', stderr '$stderr'"
	done <<<"$CONFIG_ERRORS"
}
