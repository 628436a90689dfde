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

@test "config: unknown action: one exact line, the program runs, the shim is off" {
	NOPYC_RULES="deny **; deyn **" run --separate-stderr prog
	assert_success
	assert_output "ran
made"
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
made"
	assert_equal "$stderr" "$(unknown_action_message 'NOPYC_RULES rule 1' deyn)"
}

@test "config: missing pattern is reported with its rule number" {
	NOPYC_RULES="allow $T/**; deny" run --separate-stderr prog
	assert_success
	assert_output "ran
made"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^nopyc: NOPYC_RULES rule 2: '
}

@test "config: a relative pattern (not starting with / or **) is refused" {
	NOPYC_RULES="deny $T/**; deny foo/**" run --separate-stderr prog
	assert_success
	assert_output "ran
made"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^nopyc: NOPYC_RULES rule 2: '
}

@test "config: an unreadable NOPYC_CONFIG is reported with its name" {
	NOPYC_CONFIG=$BATS_TEST_TMPDIR/no-such.conf run --separate-stderr prog
	assert_success
	assert_output "ran
made"
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
made"
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
