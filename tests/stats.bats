# shellcheck disable=SC2154 # $stderr is set by bats' run
# What `nopyc --stats` and NOPYC_STATS count of the cache files a program
# reads: served from TARGET, from the original tree (or discard's tree), or
# not found (so compiled).  Real interpreters on a tree made here, some of
# its pycs shipped beside the sources; every expected number is counted
# from that tree (its modules, its shipped pycs) plus a baseline: the same
# interpreter, rules and script, told not to import the tree's modules
# (what the interpreter reads of its own standard library).  Always with
# the variables that steer caching cleared (PYTHONDONTWRITEBYTECODE=1 here).
# Also: one count per call (a rename is one), lookups are no reads, failed
# writes are failures, and a log that lost lines (a privilege drop, ulimit
# -f) says so.

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

# The summary's failures: field ("none", or "N ERRNO, ...").
failures() {
	[[ $STATS =~ failures:\ ([^;]*) ]] || fail "no failures in: $STATS"
	FAILURES=${BASH_REMATCH[1]}
}

@test "--stats: a rename is one call: one module compiled into an empty TARGET is a mkdir, an open and a rename (3 redirected); one call=rename line, the temp file as old=" {
	local py app tgt log pyc n=0
	for py in "${PYS[@]}" /usr/bin/pypy3; do
		[[ -x $py ]] || continue
		use_python "$py"
		[[ $PYMAJOR == 3 ]] || continue   # Python 2 writes its pyc in place
		n=$((n + 1))
		app=$BATS_TEST_TMPDIR/$n/one tgt=$BATS_TEST_TMPDIR/$n/pyc log=$BATS_TEST_TMPDIR/$n/one.log
		mkdir -p "$app"
		mkdir -m 700 "$tgt"
		echo "X = 1" >"$app/a.py"
		run_stats -- --log "$log" --rule "redirect $app/** $tgt" --deny '**' \
			"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import a' "$app"
		expect "$PY, redirected" "$REDIR" 3
		pyc=$(pyc_path "$app/a.py")
		assert_file_exists "$tgt$pyc"
		expect "$PY, call=rename lines" "$(grep -c ' call=rename' "$log")" 1
		grep -qE "^nopyc: pid=[0-9]+ call=rename path=$pyc rule=1 action=redirect verdict=mapped mapped=$tgt$pyc result=ok old=$pyc\.[0-9]+$" "$log" ||
			fail "$PY: not the one rename line expected: $(grep ' call=rename' "$log")"
	done
	((n)) || skip "no Python 3 found (${PYS[*]} /usr/bin/pypy3)"
}

@test "--stats: a start that compiles nothing has 0 not found: CPython's prefix landmark (a stat of bin/lib/pythonX.Y/os.pyc) and Python 2's module search (NAME.pyc where no NAME.py is) are lookups; a module compiled is one" {
	local py app log n=0 lookups=0
	for py in "${PYENV_ROOT:-/root/.pyenv}"/versions/*/bin/python /usr/bin/python3 /usr/bin/pypy3; do
		[[ -x $py ]] || continue
		use_python "$py"
		n=$((n + 1))
		app=$BATS_TEST_TMPDIR/$n/app log=$BATS_TEST_TMPDIR/$n/pass.log
		mkdir -p "$app"
		echo "X = 1" >"$app/fresh.py"
		run_stats -- --log "$log" "$PY" -c pass
		expect "$PY -c pass, not found" "$MISS" 0
		# the lookups were made (a missing pyc, stat or open), and are no read
		lookups=$((lookups + $(grep -cE ' path=/[^ ]*\.py[co] .* result=ENOENT$' "$log" || true)))
		# one fresh module, its write denied: exactly one not found
		run_stats -- "$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import fresh' "$app"
		expect "$PY import fresh, not found" "$MISS" 1
	done
	((n)) || skip "no interpreter found"
	((lookups > 0)) || fail "no interpreter looked for a missing pyc: nothing was tested"
}

@test "--stats: TARGET full from the start (64k tmpfs): each write that fails is a failure (ENOSPC), one per module not cached" {
	((EUID == 0)) && unshare -m true 2>/dev/null || skip "needs root for unshare -m and mount"
	local py app tgt i n=0
	for py in "${PYS[@]}"; do
		use_python "$py"
		[[ $PYMAJOR == 3 ]] || continue   # Python 2's writes go through stdio: unseen
		n=$((n + 1))
		app=$BATS_TEST_TMPDIR/$n/app tgt=$BATS_TEST_TMPDIR/$n/tgt
		mkdir -p "$app/pk" "$tgt"
		: >"$app/pk/__init__.py"
		for ((i = 0; i < 12; i++)); do
			awk -v i="$i" 'BEGIN { for (j = 0; j < 120; j++) printf "V%d = %d * 3 + %d\n", j, j, i }' >"$app/pk/m$i.py"
		done
		run --separate-stderr unshare -m -- env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" bash -c '
			mount -t tmpfs -o size=64k,mode=0700 nopyc-full "$2" || exit 90
			dd if=/dev/zero of="$2/fill" bs=4k 2>/dev/null
			"$3" --stats --rule "redirect $1/** $2" --deny "**" "$4" -c "
import sys; sys.path.insert(0, sys.argv[1])
for i in range(12): __import__(\"pk.m%d\" % i)
print(\"imported\")" "$1"' _ "$app" "$tgt" "$NOPYC" "$PY"
		assert_success
		assert_output imported
		STATS=$(grep '^nopyc: stats' <<<"$stderr") || fail "no stats line in: $stderr"
		failures
		# 13 modules (pk and pk.m0..m11), none cached
		assert_equal "$FAILURES" "13 ENOSPC"
		grep -qx "nopyc: redirect TARGET $tgt: no space left; caches are not being saved" <<<"$stderr" ||
			fail "$PY: no message: $stderr"
	done
	((n)) || skip "no Python 3 among ${PYS[*]}"
}

# drop_setup: DROP, a directory (root, 0755) under /tmp that other users can
# read, with modules a and b; skip unless root with setpriv and Debian's
# python3 (the interpreter another uid can run: /root is 0700).
DROP_UID=61001
drop_setup() {
	((EUID == 0)) || skip "needs root (to drop privileges)"
	command -v setpriv >/dev/null || skip "setpriv missing (Debian package util-linux)"
	[[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 missing: the interpreter another uid can run here"
	use_python /usr/bin/python3
	DROP=$(mktemp -d /tmp/nopyc-drop.XXXXXX)
	chmod 0755 "$DROP"
	echo "X = 'a'" >"$DROP/a.py"
	echo "X = 'b'" >"$DROP/b.py"
	chmod 0644 "$DROP/a.py" "$DROP/b.py"
}

teardown() {
	[[ -z ${DROP:-} ]] || rm -rf "$DROP"
}

# A server that starts as root and drops to a worker uid: the root-owned
# private log can no longer be opened after the drop, so the log is held
# open from the first line on.
@test "--stats: a process that drops privileges (setgid, setuid) after its first import keeps logging: its second import is counted" {
	drop_setup
	local log=$BATS_TEST_TMPDIR/drop.log s_miss
	run_stats -- "$PY" -c pass
	s_miss=$MISS
	run_stats -- --log "$log" "$PY" -c "
import os, sys; sys.path.insert(0, sys.argv[1])
import a
os.setgid($DROP_UID); os.setuid($DROP_UID)
import b
print(a.X, b.X, os.getuid())" "$DROP"
	assert_output "a b $DROP_UID"
	expect "not found (a and b compiled)" "$MISS" "$((s_miss + 2))"
	grep -q " path=$DROP/__pycache__/b\.$PYTAG\.pyc .* result=ENOENT from=original$" "$log" ||
		fail "b's read is not in the log: $(grep "$DROP" "$log")"
	refute_output --partial "log incomplete"
}

# A process started as another uid (setpriv) cannot open a root-only log at
# all: it says so once, on stderr.
@test "--stats: a process started as another uid that cannot open the log says once that the log is incomplete; the program is unchanged" {
	drop_setup
	run --separate-stderr env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$NOPYC" --stats \
		setpriv --reuid="$DROP_UID" --regid="$DROP_UID" --clear-groups -- \
		"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import a, b; print(a.X, b.X)' "$DROP"
	assert_success
	assert_output "a b"
	assert_equal "$(grep -c '^nopyc: decision log .*: EACCES; log incomplete: not every decision of this process is recorded$' <<<"$stderr")" 1
}

# ulimit -f 8: the log stops below 8 KiB (no line cut in two) and says it is
# incomplete; the summary says its counts are partial.  The interpreter
# here takes SIGXFSZ back to its default (death), as a C program has it: the
# log's writes must never raise it.
@test "--stats under ulimit -f 8: the program is not killed by SIGXFSZ, the log stops whole below the limit, the summary says its counts are partial" {
	[[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 missing"
	use_python /usr/bin/python3
	local log=$BATS_TEST_TMPDIR/limited.log
	run --separate-stderr bash -c 'ulimit -f 8; exec "$@"' _ \
		env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$NOPYC" --stats --log "$log" "$PY" -c \
		'import signal; signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
import json, email.message, http.client, argparse, logging
print("imported")'
	assert_success
	assert_output imported
	STATS=$(grep '^nopyc: stats' <<<"$stderr") || fail "no stats line: $stderr"
	[[ $STATS == *"; log incomplete: 1 process could not record every decision, the counts are partial" ]] ||
		fail "no word of a partial count: $STATS"
	(($(stat -c %s "$log") <= 8192)) || fail "the log passed the limit"
	assert_equal "$(tail -n 1 "$log" | sed -E 's/pid=[0-9]+/pid=P/')" "nopyc: pid=P log=incomplete result=EFBIG"
	assert_equal "$(tail -c 1 "$log" | od -An -c | tr -d ' ')" '\n'
}
