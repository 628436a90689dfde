# ~/ and ${NAME} in a redirect TARGET, with a real Python: expanded once per
# process from HOME and the environment; an unset or empty one refuses the
# rule (one message, the rule acts as deny, the program runs).

load helpers

setup() {
	nopyc_setup
	PY=
	local p
	for p in /usr/bin/python3 "${PYENV_ROOT:-/root/.pyenv}"/versions/3.*/bin/python; do
		[[ -x $p ]] && { PY=$p; break; }
	done
	[[ -n $PY ]] || skip "no Python 3 found"
	make_tree "$T"
}

# assert_cached_under DIR: the tree's caches are in DIR$T, none in $T.
assert_cached_under() {
	[[ -z $(find_caches "$T") ]] || fail "caches in the tree: $(find_caches "$T")"
	compgen -G "$1$T/a/__pycache__/mod.*pyc" >/dev/null ||
		fail "no cache of a/mod.py under $1$T: $(find "$1" 2>&1 | head)"
}

@test "target-env: redirect to ~/cache lands in HOME's cache, and the second run reads it" {
	local home=$BATS_TEST_TMPDIR/home
	mkdir -m 700 "$home"
	HOME=$home NOPYC_RULES="redirect $T/** ~/cache" run --separate-stderr py_shim "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_equal "$stderr" ""
	assert_cached_under "$home/cache"
	# the second process reads from there (logged as served from TARGET)
	HOME=$home NOPYC_RULES="redirect $T/** ~/cache" NOPYC_LOG=$BATS_TEST_TMPDIR/log \
		run --separate-stderr py_shim "$T/main.py"
	assert_success
	grep -q "$home/cache$T/a/__pycache__/mod" "$BATS_TEST_TMPDIR/log" ||
		fail "second run did not use ~/cache: $(cat "$BATS_TEST_TMPDIR/log")"
	[[ -z $(find_caches "$T") ]] || fail "caches in the tree"
}

@test "target-env: redirect to \${XDG_CACHE_HOME}/nopyc; a value's % is literal, not the uid" {
	local xdg=$BATS_TEST_TMPDIR/xdg%u
	mkdir -m 700 "$xdg"
	# shellcheck disable=SC2016 # the library expands it
	XDG_CACHE_HOME=$xdg NOPYC_RULES="redirect $T/** \${XDG_CACHE_HOME}/nopyc" \
		run --separate-stderr py_shim "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_equal "$stderr" ""
	assert_cached_under "$xdg/nopyc"
	assert_not_exists "$BATS_TEST_TMPDIR/xdg$(id -u)"
}

@test "target-env: an unset or empty variable, or no HOME: one message, the rule acts as deny, the program runs" {
	local rule want
	# shellcheck disable=SC2016 # the library expands them
	for rule in '${NOPYC_TEST_UNSET}/nopyc' '${NOPYC_TEST_EMPTY}/nopyc' '~/cache'; do
		case $rule in
		'~'*) want='~ needs HOME, which is unset or empty' ;;
		*) want=${rule%/nopyc}' is unset or empty' ;;
		esac
		run --separate-stderr env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" -u HOME -u NOPYC_TEST_UNSET \
			NOPYC_TEST_EMPTY= NOPYC_RULES="redirect $T/** $rule" \
			LD_PRELOAD="$NOPYC_LIB" "$PY" "$T/main.py"
		assert_success
		assert_output "$NOPYC_TEST_TREE_OUTPUT"
		assert_equal "$stderr" "nopyc: redirect TARGET $rule refused: $want; rule 1 acts as deny"
		[[ -z $(find_caches "$T") ]] || fail "$rule: caches written: $(find_caches "$T")"
		assert_not_exists "$BATS_TEST_TMPDIR/nopyc"
		# the nopyc command does not run the program at all
		run --separate-stderr env -u HOME -u NOPYC_TEST_UNSET NOPYC_TEST_EMPTY= \
			"$NOPYC_TEST_ROOT/scripts/nopyc" --rule "redirect $T/** $rule" touch "$BATS_TEST_TMPDIR/ran"
		assert_equal "$status" 2
		assert_file_not_exists "$BATS_TEST_TMPDIR/ran"
		[[ $stderr == *"refused: $want"* ]] || fail "$rule: nopyc said: $stderr"
	done
}
