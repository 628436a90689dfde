#!/usr/bin/env bats
# Every symbol in shim/wrappers.def, called directly by a C program
# (tests/c/symbols.c) on cache paths: under redirect each call must act on
# the mapped path (writes) or see the mapped entry first (reads); under deny
# writes fail with EROFS and reads pass; under discard writes succeed and
# leave nothing.  This proves the wrapper table itself, not just the calls
# today's Pythons happen to make.

load helpers

setup_file() {
	SYMBOLS_BIN=$BATS_FILE_TMPDIR/symbols
	${CC:-cc} -std=gnu11 -O0 -g -U_FORTIFY_SOURCE -Wall -Wextra \
		-o "$SYMBOLS_BIN" "$NOPYC_TEST_ROOT/tests/c/symbols.c"
	export SYMBOLS_BIN
	# The wrapped names, made from shim/wrappers.def by the build (the C
	# preprocessor expands the table: build/wrapped-symbols); each must be
	# a symbol the library exports.
	local exported
	WRAPPED=$(dirname "$NOPYC_LIB")/wrapped-symbols
	[[ -f $WRAPPED ]] || fail "$WRAPPED not found: run make first"
	WRAPPED_COUNT=$(wc -l <"$WRAPPED")
	exported=$(nm -D --defined-only "$NOPYC_LIB" | awk '{ print $NF }' | sed 's/@.*//' | LC_ALL=C sort -u)
	UNEXPORTED=$(LC_ALL=C comm -23 "$WRAPPED" - <<<"$exported")
	export UNEXPORTED
	export WRAPPED WRAPPED_COUNT
}

setup() {
	nopyc_clean_env
	[[ -f $NOPYC_LIB ]] || fail "$NOPYC_LIB not found: run make first"
	[[ $(id -u) == 0 ]] || skip "needs root (chown to another uid)"
	SRC=$BATS_TEST_TMPDIR/src
	TGT=$BATS_TEST_TMPDIR/tgt
	mkdir -p "$SRC" "$TGT"
	chmod 0700 "$TGT"
	SRC=$(realpath "$SRC") TGT=$(realpath "$TGT")
}

# run_symbols MODE RULES: run the program under the shim; every wrapped name
# must report ok, and the names must be exactly those of wrappers.def.
run_symbols() {
	local mode=$1 rules=$2 names fails
	NOPYC_RULES=$rules run --separate-stderr \
		shim "$SYMBOLS_BIN" "$mode" "$SRC" "$TGT"
	fails=$(grep -v '^ok ' <<<"$output" || true)
	[[ -z $fails ]] || fail "$(printf 'under "%s":\n%s\nstderr: %s' "$rules" "$fails" "$stderr")"
	assert_equal "$status" 0
	# each write name's check runs in a process of its own and cuts a
	# write short with RLIMIT_FSIZE: under redirect each says so, once
	local limit="nopyc: redirect TARGET $TGT: file size limit reached (ulimit -f); caches larger than it are not being saved"
	if [[ $mode == redirect ]]; then
		assert_equal "$(grep -cxF "$limit" <<<"$stderr" || true)" \
			"$(grep -cE '^ok (write|writev|pwrite|pwrite64)$' <<<"$output")"
		stderr=$(grep -vxF "$limit" <<<"$stderr" || true)
	fi
	[[ -z $stderr ]] || fail "unexpected stderr: $stderr"
	names=$(sed -n 's/^ok //p' <<<"$output" | LC_ALL=C sort)
	assert_equal "$(wc -l <<<"$names")" "$WRAPPED_COUNT"
	diff -u "$WRAPPED" - <<<"$names" ||
		fail "the names checked differ from the names in shim/wrappers.def (- def, + checked)"
}

@test "symbols: the build's list of wrappers.def names is whole, and the program imports every wrapped name itself" {
	# A list that lost entries would make the count checks meaningless;
	# every entry must name a symbol the library exports.
	[[ -z $UNEXPORTED ]] || fail "in wrappers.def but not exported: $UNEXPORTED"
	assert_equal "$(LC_ALL=C sort -u "$WRAPPED" | wc -l)" "$WRAPPED_COUNT"
	(( WRAPPED_COUNT >= 50 )) || fail "only $WRAPPED_COUNT entries parsed from wrappers.def"
	# Each name is an undefined dynamic symbol of the program: it is called
	# directly, not through another name (fortify, _FILE_OFFSET_BITS, ...).
	local imported missing
	imported=$(nm -D --undefined-only "$SYMBOLS_BIN" | awk '{print $2}' | sed 's/@.*//' | LC_ALL=C sort -u)
	missing=$(LC_ALL=C comm -23 "$WRAPPED" - <<<"$imported")
	[[ -z $missing ]] || fail "the program does not call: $missing"
}

@test "symbols: without the shim the redirect checks fail (the program can tell)" {
	run -1 "$SYMBOLS_BIN" redirect "$SRC" "$TGT"
	# Every check must notice that nothing was redirected.
	assert_equal "$(grep -c '^ok ' <<<"$output" || true)" 0
	assert_equal "$(grep -c '^FAIL ' <<<"$output")" "$WRAPPED_COUNT"
}

@test "symbols: redirect: every wrapped symbol acts on the mapped path, reads see it first" {
	run_symbols redirect "redirect $SRC/** $TGT"
	# The original tree got no cache file nor __pycache__ it did not have:
	# the fixtures make a few, so check the created names instead.
	run find "$SRC" -name 'm.cpython-311.pyc*' -o -name 's.pyc' -o -name 'b.pyc' -o -name 'new*'
	assert_output ''
}

@test "symbols: deny **: every write-side symbol fails as on a read-only mount, reads pass" {
	run_symbols deny 'deny **'
}

@test "symbols: discard **: every write-side symbol succeeds and leaves nothing" {
	run_symbols discard 'discard **'
}
