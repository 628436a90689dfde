# shellcheck disable=SC2154 # $stderr is set by bats' run
# What `nopyc --stats` and NOPYC_STATS count of the cache files a program
# reads: served from TARGET, from the original tree (or discard's tree), or
# not found (so compiled).  Real interpreters on a tree made here, some of
# its pycs shipped beside the sources; every expected number is counted
# from that tree (its modules, its shipped pycs) plus a baseline: the same
# interpreter, rules and script, told not to import the tree's modules
# (what the interpreter reads of its own standard library).  Always with
# the variables that steer caching cleared (PYTHONDONTWRITEBYTECODE=1 here).

load helpers

setup_file() {
	# Debian's python3, and a Python 2 (fopen, pycs beside the sources)
	# where pyenv has one
	PYS=()
	[[ -x /usr/bin/python3 ]] && PYS+=(/usr/bin/python3)
	local py2
	py2=$(nopyc_find_python "${PYENV_ROOT:-/root/.pyenv}/versions/2.7*/bin/python")
	[[ -n $py2 ]] && PYS+=("$py2")
	export PYS_LIST="${PYS[*]}"
}

setup() {
	nopyc_setup
	NOPYC=$NOPYC_TEST_ROOT/scripts/nopyc
	[[ -n $PYS_LIST ]] || skip "neither /usr/bin/python3 nor a pyenv Python 2.7 found"
	read -r -a PYS <<<"$PYS_LIST"
}

# use_python PY: PY and its facts (pyc_path) for what follows.
use_python() {
	PY=$1
	nopyc_python_facts
}

# make_app DIR: packages p1 and p2 and a module solo; DIR/main.py imports
# them all (and prints solo's X), unless STATS_SKIP=1.  The pycs of p1 are
# shipped: written by the interpreter itself, without nopyc.
make_app() {
	local d=$1 f
	mkdir -p "$d/p1" "$d/p2"
	for f in p1/__init__ p1/m1 p1/m2 p2/__init__ p2/m3 solo; do
		echo "X = '$f'" >"$d/$f.py"
	done
	cat >"$d/main.py" <<'EOF'
import os
if os.environ.get("STATS_SKIP") != "1":
    import p1.m1, p1.m2, p2.m3, solo
    print(solo.X)
EOF
	py_noshim -m compileall -q "$d/p1" >/dev/null || fail "could not ship the pycs of $d/p1"
}

# count_modules DIR: MODULES (the sources main.py imports) and SHIPPED (the
# pycs beside them), counted.
count_modules() {
	MODULES=$(find "$1" -name '*.py' ! -name main.py | wc -l)
	SHIPPED=$(find "$1" -name '*.pyc' | wc -l)
	((MODULES > SHIPPED && SHIPPED > 0)) || fail "the tree has $MODULES modules, $SHIPPED shipped pycs"
}

# run_stats [VAR=VALUE...] -- NOPYC-ARGS...: nopyc --stats with them, the
# cache variables cleared; then the numbers of its one summary line:
# TGT (from TARGET), DISC (from discard's tree), ORIG (from the original
# tree), MISS (not found), REDIR, DENIED, DISCARDED (write calls).
run_stats() {
	local -a vars=()
	while [[ $1 != -- ]]; do
		vars+=("$1")
		shift
	done
	shift
	run --separate-stderr env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "${vars[@]}" "$NOPYC" --stats "$@"
	assert_success
	local l re='cache files read: ([0-9]+) from TARGET, (([0-9]+) from discard.s tree, )?([0-9]+) from the original tree, ([0-9]+) not found \(compiled\); write calls: ([0-9]+) redirected, ([0-9]+) denied, ([0-9]+) discarded;'
	l=$(grep '^nopyc: stats' <<<"$stderr") || fail "no stats line in: $stderr"
	[[ $(wc -l <<<"$l") == 1 ]] || fail "more than one stats line: $l"
	[[ $l =~ $re ]] || fail "not a summary: $l"
	STATS=$l
	TGT=${BASH_REMATCH[1]} DISC=${BASH_REMATCH[3]:-0} ORIG=${BASH_REMATCH[4]}
	MISS=${BASH_REMATCH[5]} REDIR=${BASH_REMATCH[6]} DENIED=${BASH_REMATCH[7]}
	DISCARDED=${BASH_REMATCH[8]}
}

# expect WHAT GOT WANT
expect() {
	(($2 == $3)) || fail "$1: $2, expected $3 in: $STATS"
}

@test "--stats under redirect: a first start reads the shipped pycs from the original tree and compiles the rest into TARGET; the second reads those from TARGET" {
	local py app tgt s_orig s_miss n
	for py in "${PYS[@]}"; do
		use_python "$py"
		app=$BATS_TEST_TMPDIR/$PYMAJOR/app tgt=$BATS_TEST_TMPDIR/$PYMAJOR/pyc
		make_app "$app"
		count_modules "$app"
		mkdir -m 700 "$tgt"
		local -a rules=(--rule "redirect $app/** $tgt" --deny '**')
		# the baseline: the interpreter's own reads (standard library)
		run_stats STATS_SKIP=1 -- "${rules[@]}" "$PY" "$app/main.py"
		expect "$PY baseline, from TARGET" "$TGT" 0
		s_orig=$ORIG s_miss=$MISS
		((s_orig > 0)) || fail "$PY read no pyc of its own: $STATS"
		# first start: TARGET empty
		run_stats -- "${rules[@]}" --log "$BATS_TEST_TMPDIR/$PYMAJOR/1.log" "$PY" "$app/main.py"
		assert_output solo
		expect "$PY first start, from TARGET" "$TGT" 0
		expect "$PY first start, from the original tree" "$ORIG" "$((s_orig + SHIPPED))"
		expect "$PY first start, not found" "$MISS" "$((s_miss + MODULES - SHIPPED))"
		((REDIR > 0)) || fail "$PY: nothing redirected: $STATS"
		expect "$PY first start, pycs in TARGET" "$(find "$tgt" -name '*.pyc' | wc -l)" "$((MODULES - SHIPPED))"
		expect "$PY first start, pycs in the tree" "$(find "$app" -name '*.pyc' | wc -l)" "$SHIPPED"
		# the log says the same, line by line: the shipped ones
		n=$(grep -c " path=$app/p1/.* from=original$" "$BATS_TEST_TMPDIR/$PYMAJOR/1.log")
		expect "$PY first start, logged from=original under p1" "$n" "$SHIPPED"
		# second start: the compiled ones from TARGET, nothing written
		run_stats -- "${rules[@]}" --log "$BATS_TEST_TMPDIR/$PYMAJOR/2.log" "$PY" "$app/main.py"
		expect "$PY second start, from TARGET" "$TGT" "$((MODULES - SHIPPED))"
		expect "$PY second start, from the original tree" "$ORIG" "$((s_orig + SHIPPED))"
		expect "$PY second start, not found" "$MISS" "$s_miss"
		expect "$PY second start, redirected" "$REDIR" 0
		n=$(grep -c " path=$app/.* result=ok from=target$" "$BATS_TEST_TMPDIR/$PYMAJOR/2.log")
		expect "$PY second start, logged from=target" "$n" "$((MODULES - SHIPPED))"
	done
}

@test "--stats under deny: the pycs are read from the original tree, and a read is no denial" {
	local py app s_orig s_miss s_denied
	for py in "${PYS[@]}"; do
		use_python "$py"
		app=$BATS_TEST_TMPDIR/$PYMAJOR/app
		make_app "$app"
		count_modules "$app"
		# the built-in deny **
		run_stats STATS_SKIP=1 -- "$PY" "$app/main.py"
		s_orig=$ORIG s_miss=$MISS s_denied=$DENIED
		run_stats -- "$PY" "$app/main.py"
		assert_output solo
		expect "$PY, from TARGET" "$TGT" 0
		expect "$PY, from the original tree" "$ORIG" "$((s_orig + SHIPPED))"
		expect "$PY, not found" "$MISS" "$((s_miss + MODULES - SHIPPED))"
		((DENIED > s_denied)) || fail "$PY: the writes of the compiled modules were not denied: $STATS"
		expect "$PY, pycs in the tree" "$(find "$app" -name '*.pyc' | wc -l)" "$SHIPPED"
		# every module's pyc shipped: all read, nothing denied
		py_noshim -m compileall -q "$app" >/dev/null || fail "could not ship the pycs of $app"
		SHIPPED=$(find "$app" -name '*.pyc' ! -name 'main.*' | wc -l)
		expect "$PY, pycs shipped" "$SHIPPED" "$MODULES"
		run_stats -- "$PY" "$app/main.py"
		expect "$PY all shipped, from the original tree" "$ORIG" "$((s_orig + MODULES))"
		expect "$PY all shipped, not found" "$MISS" "$s_miss"
		expect "$PY all shipped, denied" "$DENIED" "$s_denied"
	done
}

@test "--stats under discard: what a process compiled is read back from discard's tree, the shipped pycs from the original" {
	local py app s_orig s_miss s_disc
	for py in "${PYS[@]}"; do
		use_python "$py"
		app=$BATS_TEST_TMPDIR/$PYMAJOR/app
		make_app "$app"
		count_modules "$app"
		# one process compiles the tree (into discard's tree), then imports it
		local script="import compileall, os, sys
compileall.compile_dir(sys.argv[1], quiet=1)
sys.path.insert(0, sys.argv[1])
exec(open(os.path.join(sys.argv[1], 'main.py')).read())"
		run_stats STATS_SKIP=1 -- --discard '**' "$PY" -c "$script" "$app"
		s_orig=$ORIG s_miss=$MISS s_disc=$DISC
		expect "$PY baseline, from discard's tree" "$s_disc" 0
		((DISCARDED > 0)) || fail "$PY: compileall discarded nothing: $STATS"
		run_stats -- --discard '**' "$PY" -c "$script" "$app"
		assert_output solo
		expect "$PY, from discard's tree" "$DISC" "$((MODULES - SHIPPED))"
		expect "$PY, from the original tree" "$ORIG" "$((s_orig + SHIPPED))"
		expect "$PY, not found" "$MISS" "$s_miss"
		expect "$PY, from TARGET" "$TGT" 0
		expect "$PY, pycs in the tree" "$(find "$app" -name '*.pyc' | wc -l)" "$SHIPPED"
	done
}

# raw_stats [VAR=VALUE...]: the interpreter on the app under the raw library
# with NOPYC_STATS=1; its one per-process line's fields in RAW[name].
raw_stats() {
	declare -gA RAW
	run --separate-stderr env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" NOPYC_STATS=1 \
		LD_PRELOAD="$NOPYC_LIB" "$@" "$PY" "$APP/main.py"
	assert_success
	local l field
	l=$(grep '^nopyc: stats pid=' <<<"$stderr") || fail "no stats line in: $stderr"
	[[ $(wc -l <<<"$l") == 1 ]] || fail "more than one stats line: $l"
	STATS=$l
	RAW=()
	for field in ${l#nopyc: stats }; do
		RAW[${field%%=*}]=${field#*=}
	done
	for field in allow deny discard redirect no-rule refused-targets read-target \
		read-discarded read-original read-missing read-failed; do
		[[ ${RAW[$field]-} =~ ^[0-9]+$ ]] || fail "no $field in: $l"
	done
}

@test "NOPYC_STATS=1: the per-process line counts the reads as --stats does (TARGET, original, missing), and a read under deny is no denial" {
	local py tgt s_orig s_miss s_deny
	for py in "${PYS[@]}"; do
		use_python "$py"
		APP=$BATS_TEST_TMPDIR/$PYMAJOR/app tgt=$BATS_TEST_TMPDIR/$PYMAJOR/pyc
		make_app "$APP"
		count_modules "$APP"
		mkdir -m 700 "$tgt"
		local rules="redirect $APP/** $tgt; deny **"
		raw_stats NOPYC_RULES="$rules" STATS_SKIP=1
		s_orig=${RAW[read-original]} s_miss=${RAW[read-missing]} s_deny=${RAW[deny]}
		raw_stats NOPYC_RULES="$rules"
		expect "$PY first start, read-target" "${RAW[read-target]}" 0
		expect "$PY first start, read-original" "${RAW[read-original]}" "$((s_orig + SHIPPED))"
		expect "$PY first start, read-missing" "${RAW[read-missing]}" "$((s_miss + MODULES - SHIPPED))"
		((RAW[redirect] > 0)) || fail "$PY: nothing redirected: $STATS"
		raw_stats NOPYC_RULES="$rules"
		expect "$PY second start, read-target" "${RAW[read-target]}" "$((MODULES - SHIPPED))"
		expect "$PY second start, read-original" "${RAW[read-original]}" "$((s_orig + SHIPPED))"
		expect "$PY second start, read-missing" "${RAW[read-missing]}" "$s_miss"
		expect "$PY second start, read-discarded" "${RAW[read-discarded]}" 0
		# deny: the shipped pycs read, no denial counted for them
		raw_stats NOPYC_RULES='deny **'
		expect "$PY deny, read-original" "${RAW[read-original]}" "$((s_orig + SHIPPED))"
		expect "$PY deny, read-missing" "${RAW[read-missing]}" "$((s_miss + MODULES - SHIPPED))"
		raw_stats NOPYC_RULES='deny **' STATS_SKIP=1
		s_deny=${RAW[deny]}
		rm -rf "$APP/p2" "$APP/solo.py"
		sed -i 's/, p2.m3, solo/; solo = p1.m1/' "$APP/main.py"
		raw_stats NOPYC_RULES='deny **'
		expect "$PY deny, only shipped modules: read-original" "${RAW[read-original]}" "$((s_orig + SHIPPED))"
		expect "$PY deny, only shipped modules: deny" "${RAW[deny]}" "$s_deny"
	done
}
