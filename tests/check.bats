# nopyc --check: where each rule came from, patterns that can never match
# a cache path; --check and --explain leave a missing TARGET missing.

load helpers

setup() {
	nopyc_setup
	NOPYC=$NOPYC_TEST_ROOT/scripts/nopyc
}

@test "check: each rule's origin: option, NOPYC_RULES position, file:line, built-in default" {
	printf '# rules\nallow /x/**\n\ndeny /y/**\n' >"$BATS_TEST_TMPDIR/r.conf"
	NOPYC_RULES='deny /a/**; discard /b/**' run --separate-stderr "$NOPYC" --deny '/o/**' \
		--rule 'allow /p/**' --config "$BATS_TEST_TMPDIR/r.conf" --check
	assert_success
	assert_equal "$stderr" ''
	assert_output "1 deny /o/**  # --deny '/o/**'
2 allow /p/**  # --rule 'allow /p/**'
3 deny /a/**  # NOPYC_RULES rule 1
4 discard /b/**  # NOPYC_RULES rule 2
5 allow /x/**  # $BATS_TEST_TMPDIR/r.conf:2
6 deny /y/**  # $BATS_TEST_TMPDIR/r.conf:4"
	run --separate-stderr "$NOPYC" --check
	assert_output '1 deny **  # built-in default (no configuration)'
}

@test "check: a pattern that can never match a cache path is warned about, with the fix; the rules still hold" {
	run --separate-stderr "$NOPYC" --rule 'deny **/mypkg' --rule 'deny /srv/*.py' \
		--deny '/srv/**' --deny '/x/*.pyc' --deny '/x/__pycache__/m*' --deny '/y/*' --check
	assert_success
	assert_equal "$stderr" "nopyc: warning: rule 1 (--rule 'deny **/mypkg'): **/mypkg never matches a cache path: its last name can be neither __pycache__ nor a .pyc or .pyo file (for everything below it: **/mypkg/**)
nopyc: warning: rule 2 (--rule 'deny /srv/*.py'): /srv/*.py never matches a cache path: its last name can be neither __pycache__ nor a .pyc or .pyo file (for everything below it: /srv/*.py/**)"
	assert_line --index 0 "1 deny **/mypkg  # --rule 'deny **/mypkg'"
	# and it is true: a Python run writes its caches under **/mypkg
	local py
	py=$(nopyc_find_python "/usr/bin/python3") || true
	[[ -n $py ]] || return 0
	mkdir -p "$T/mypkg"
	echo 'X = 1' >"$T/mypkg/__init__.py"
	NOPYC_RULES='deny **/mypkg; allow **' run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" \
		LD_PRELOAD="$NOPYC_LIB" "$py" -c "import sys; sys.path.insert(0, '$T'); import mypkg"
	assert_success
	compgen -G "$T/mypkg/__pycache__/__init__.*.pyc" >/dev/null || fail "the rule matched after all"
}

@test "check: --check and --explain never make a missing TARGET (nor touch its parent)" {
	local parent=$BATS_TEST_TMPDIR/p before
	mkdir -m 700 "$parent"
	before=$(stat -c %.9Y "$parent")
	sleep 0.01
	run --separate-stderr "$NOPYC" --redirect "$parent/new" --check
	assert_success
	assert_equal "$stderr" ''
	run --separate-stderr "$NOPYC" --redirect "$parent/new" --explain /srv/__pycache__/m.cpython-311.pyc
	assert_success
	assert_line "target: $parent/new acceptable (does not exist yet: created 0700 at start)"
	assert_not_exists "$parent/new"
	assert_equal "$(stat -c %.9Y "$parent")" "$before"
	# ~/ from HOME, the same
	HOME=$parent run --separate-stderr "$NOPYC" --redirect '~/new' --check
	assert_success
	assert_not_exists "$parent/new"
	assert_equal "$(stat -c %.9Y "$parent")" "$before"
}
