# CPython's own test_importlib, test_import, test_py_compile and
# test_compileall, run by each CPython 3 with its test package (pyenv 3.6 to
# 3.13; Debian sid's 3.13, 3.14 and 3.15 in their chroot, from the table of
# interpreters: tests/envs) without the shim, with it under
# NOPYC_RULES='allow **' and under NOPYC_RULES='redirect ** TARGET': the shim
# must be invisible when it allows, and redirect must be too (its caches
# live elsewhere, nothing else may show), so each with-shim run must have
# the same counts (run, failures, errors, skipped, expected failures,
# unexpected successes) and no failing test the baseline lacks.  Under allow
# what they write into the interpreter's own tree (through an overlay: the
# real tree is never written) must be the same; under redirect no cache may
# land in that tree.
#
# The runs are long (about 4-30 s each, 33 of them), so setup_file starts
# them all in the background, NOPYC_TEST_SUITE_JOBS at a time (default: the
# number of CPUs, at most 4), newest interpreter first (the slowest); each
# interpreter's three runs go one after the other, and each test waits
# for its own interpreter.  See tests/cpython/run-interp.sh for how one
# interpreter is run.  Counts and timings are printed as "# ..." lines.
# The whole file takes about 600 s of CPU (5 to 6 minutes on 2 idle cores);
# NOPYC_TEST_SKIP_CPYTHON_SUITES=1 skips it (each test says so).
load helpers

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
# slowest first: the runs start in this order
SUITE_SLOTS=(sid-python3.15 sid-python3.14 sid-python3.13 py3.13 py3.12 py3.11 py3.10 py3.9 py3.8 py3.7 py3.6)

# slot_row SLOT: "PY LIB ROOT SKIP" from the table of interpreters
# (NOPYC_TEST_INTERPRETERS, written by tests/run); without it (bats run
# directly) pyenv's python3.X with NOPYC_LIB, and the sid slots skip.
slot_row() {
	local slot py lib suites skip
	if [[ -f ${NOPYC_TEST_INTERPRETERS:-} ]]; then
		while IFS=$'\t' read -r slot py lib _ suites _ _ skip _; do
			[[ $slot == "$1" ]] || continue
			[[ $skip == - && $suites == - ]] && skip="no test package for CPython's own suites"
			printf '%s\t%s\t%s\t%s\n' "$py" "$lib" "$suites" "$skip"
			return 0
		done <"$NOPYC_TEST_INTERPRETERS"
		printf -- '-\t-\t-\tslot %s not in %s\n' "$1" "$NOPYC_TEST_INTERPRETERS"
	elif [[ $1 == py3.* ]]; then
		py=$(nopyc_find_python "$PYENV_VERSIONS/${1#py}.*/bin/python")
		printf '%s\t%s\t/\t-\n' "${py:-$PYENV_VERSIONS/${1#py}.*/bin/python}" "$NOPYC_LIB"
	else
		printf -- '-\t-\t-\tno table of interpreters (NOPYC_TEST_INTERPRETERS): run through tests/run\n'
	fi
}

setup_file() {
	nopyc_clean_env
	SUITES_OUT=$BATS_FILE_TMPDIR/cpython
	export SUITES_OUT
	mkdir -p "$SUITES_OUT"
	[[ -f $NOPYC_LIB ]] || return 0 # each test fails and says so
	[[ ${NOPYC_TEST_SKIP_CPYTHON_SUITES:-} == 1 ]] && return 0
	local slot py lib root skip jobs
	local -a queue=()
	for slot in "${SUITE_SLOTS[@]}"; do
		IFS=$'\t' read -r py lib root skip < <(slot_row "$slot")
		if [[ $skip != - ]]; then
			mkdir -p "$SUITES_OUT/$slot"
			echo "$skip" >"$SUITES_OUT/$slot/skip"
			touch "$SUITES_OUT/$slot/done"
			continue
		fi
		queue+=("$slot" "$py" "$lib" "$root")
	done
	jobs=${NOPYC_TEST_SUITE_JOBS:-$(nproc 2>/dev/null || echo 2)}
	((jobs > 4)) && jobs=4
	((jobs < 1)) && jobs=1
	# Its own session, so that teardown_file can stop exactly this tree;
	# fd 3 closed, or bats would wait for it.
	printf '%s\n' "${queue[@]}" |
		setsid xargs -r -d '\n' -n 4 -P "$jobs" \
			"$NOPYC_TEST_ROOT/tests/cpython/run-interp.sh" "$SUITES_OUT" \
			>"$SUITES_OUT/scheduler.log" 2>&1 3>&- &
	echo $! >"$SUITES_OUT/scheduler.pid"
}

teardown_file() {
	local pid
	pid=$(cat "$SUITES_OUT/scheduler.pid" 2>/dev/null) || return 0
	kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null
	return 0
}

# Everything suites.py recorded as a failure, error or unexpected success.
bad_tests() { # RECORD
	grep -E '^(FAIL|ERROR|XPASS) ' "$1" | LC_ALL=C sort -u
}

# The unittest report's failure sections (tracebacks), at most 200 lines.
failure_report() { # LOG
	sed -n '/^======================================================================$/,$p' "$1" | head -n 200
}

# wait_for_slot SLOT: until run-interp.sh has finished SLOT's runs.
wait_for_slot() {
	local d=$SUITES_OUT/$1 pid waited=0 limit=${NOPYC_TEST_SUITE_WAIT:-1800}
	pid=$(cat "$SUITES_OUT/scheduler.pid")
	until [[ -e $d/done ]]; do
		if ! kill -0 "$pid" 2>/dev/null && [[ ! -e $d/done ]]; then
			cat "$SUITES_OUT/scheduler.log"
			fail "the background runs stopped before $1 was done"
		fi
		((waited++ < limit)) || fail "$1: no result after ${limit} s"
		sleep 1
	done
}

cpython_suites() { # SLOT
	local name=$1 d counts_base counts_shim env_base env_shim new
	local wall_base cpu_base st_base wall_shim cpu_shim st_shim
	[[ -f $NOPYC_LIB ]] || fail "$NOPYC_LIB not found: run make first"
	[[ ${NOPYC_TEST_SKIP_CPYTHON_SUITES:-} == 1 ]] &&
		skip "CPython's own suites not run: NOPYC_TEST_SKIP_CPYTHON_SUITES=1"
	d=$SUITES_OUT/$name
	wait_for_slot "$name"
	[[ -e $d/skip ]] && skip "$(cat "$d/skip")"

	read -r wall_base cpu_base st_base <"$d/base.time"
	read -r wall_shim cpu_shim st_shim <"$d/shim.time"
	if [[ ! -f $d/base.rec ]]; then
		tail -n 60 "$d/base.log"
		fail "$name without the shim produced no result (exit status $st_base after $wall_base s)"
	fi
	counts_base=$(sed -n 's/^counts //p' "$d/base.rec")
	env_base=$(sed -n 's/^env //p' "$d/base.rec")
	echo "# $name without shim: $counts_base (${wall_base} s, cpu ${cpu_base} s)" >&3
	if [[ ! -f $d/shim.rec ]]; then
		tail -n 60 "$d/shim.log"
		fail "$name with the shim produced no result: crash or timeout (exit status $st_shim after $wall_shim s)"
	fi
	counts_shim=$(sed -n 's/^counts //p' "$d/shim.rec")
	env_shim=$(sed -n 's/^env //p' "$d/shim.rec")
	echo "# $name with shim:    $counts_shim (${wall_shim} s, cpu ${cpu_shim} s)" >&3
	echo "without shim: $counts_base ($env_base; exit $st_base)"
	echo "with shim:    $counts_shim ($env_shim; exit $st_shim)"

	# Both runs really wrote caches (PYTHONDONTWRITEBYTECODE was cleared),
	# and the second really ran with the shim loaded and its rules accepted.
	[[ $env_base == "preloaded=no dont_write_bytecode=0" ]] ||
		fail "baseline run environment wrong: $env_base"
	[[ $env_shim == "preloaded=yes dont_write_bytecode=0" ]] ||
		fail "with-shim run environment wrong (shim not loaded?): $env_shim"
	if grep -q 'nopyc: ' "$d/shim.log"; then
		grep 'nopyc: ' "$d/shim.log" | sort | uniq -c | head -n 20
		fail "the shim complained during the with-shim run"
	fi

	new=$(LC_ALL=C comm -13 <(bad_tests "$d/base.rec") <(bad_tests "$d/shim.rec"))
	if [[ -n $new ]]; then
		echo "failing only with the shim:"
		echo "$new"
		failure_report "$d/shim.log"
		fail "$name: tests fail with the shim that pass without it"
	fi
	[[ $counts_shim == "$counts_base" ]] || {
		echo "not failing with the shim but different:"
		LC_ALL=C comm -3 <(bad_tests "$d/base.rec") <(bad_tests "$d/shim.rec")
		fail "$name: counts differ with the shim"
	}

	# What the suites wrote into the interpreter's own tree (seen through an
	# overlay, so the real tree stays untouched) is the same with the shim:
	# same names, types, modes, contents (pycs: same header and code).
	read -r overlay why <"$d/overlay"
	if [[ $overlay != yes ]]; then
		echo "# $name: no overlay over the interpreter's tree ($why): the runs wrote into it; tree not compared" >&3
		return 0
	fi
	echo "# $name: both runs wrote $(wc -l <"$d/base.tree") / $(wc -l <"$d/shim.tree") entries into the interpreter's tree" >&3
	if [[ $(cat "$d/trees.status") != 0 || -s $d/trees.diff ]]; then
		head -n 50 "$d/trees.diff"
		fail "$name: the with-shim run wrote something different into the interpreter's tree"
	fi
}

# The same suites under redirect ** TARGET against the baseline.
cpython_suites_redirect() { # SLOT
	local name=$1 d counts_base counts_redir env_redir new caches
	local wall cpu st
	[[ -f $NOPYC_LIB ]] || fail "$NOPYC_LIB not found: run make first"
	[[ ${NOPYC_TEST_SKIP_CPYTHON_SUITES:-} == 1 ]] &&
		skip "CPython's own suites not run: NOPYC_TEST_SKIP_CPYTHON_SUITES=1"
	d=$SUITES_OUT/$name
	wait_for_slot "$name"
	[[ -e $d/skip ]] && skip "$(cat "$d/skip")"
	[[ -f $d/base.rec ]] || fail "$name without the shim produced no result"
	read -r wall cpu st <"$d/redir.time"
	if [[ ! -f $d/redir.rec ]]; then
		tail -n 60 "$d/redir.log"
		fail "$name under redirect produced no result: crash or timeout (exit status $st after $wall s)"
	fi
	counts_base=$(sed -n 's/^counts //p' "$d/base.rec")
	counts_redir=$(sed -n 's/^counts //p' "$d/redir.rec")
	env_redir=$(sed -n 's/^env //p' "$d/redir.rec")
	echo "# $name under redirect: $counts_redir (${wall} s, cpu ${cpu} s)" >&3
	echo "without shim:    $counts_base"
	echo "under redirect:  $counts_redir ($env_redir; exit $st)"
	[[ $env_redir == "preloaded=yes dont_write_bytecode=0" ]] ||
		fail "redirect run environment wrong (shim not loaded?): $env_redir"
	if grep -q 'nopyc: ' "$d/redir.log"; then
		grep 'nopyc: ' "$d/redir.log" | sort | uniq -c | head -n 20
		fail "the shim complained during the redirect run"
	fi
	new=$(LC_ALL=C comm -13 <(bad_tests "$d/base.rec") <(bad_tests "$d/redir.rec"))
	if [[ -n $new ]]; then
		echo "failing only under redirect:"
		echo "$new"
		failure_report "$d/redir.log"
		fail "$name: tests fail under redirect that pass without the shim"
	fi
	[[ $counts_redir == "$counts_base" ]] || {
		echo "not failing under redirect but different:"
		LC_ALL=C comm -3 <(bad_tests "$d/base.rec") <(bad_tests "$d/redir.rec")
		fail "$name: counts differ under redirect"
	}
	# Every cache went to TARGET: none in the interpreter's tree.
	echo "# $name: the redirect run left $(grep -c '^f ' "$d/redir.target") files in TARGET" >&3
	if [[ -f $d/redir.tree ]]; then
		caches=$(grep -E '(/__pycache__(/|$)|\.py[co]$)' "$d/redir.tree" || true)
		[[ -z $caches ]] || fail "$name: the redirect run wrote caches into the interpreter's tree: $(head -n 20 <<<"$caches")"
	fi
}

@test "Debian sid CPython 3.15 (chroot) test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites sid-python3.15
}

@test "Debian sid CPython 3.15 (chroot) test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect sid-python3.15
}

@test "Debian sid CPython 3.14 (chroot) test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites sid-python3.14
}

@test "Debian sid CPython 3.14 (chroot) test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect sid-python3.14
}

@test "Debian sid CPython 3.13 (chroot) test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites sid-python3.13
}

@test "Debian sid CPython 3.13 (chroot) test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect sid-python3.13
}

@test "CPython 3.13 test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites py3.13
}

@test "CPython 3.13 test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect py3.13
}

@test "CPython 3.12 test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites py3.12
}

@test "CPython 3.12 test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect py3.12
}

@test "CPython 3.11 test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites py3.11
}

@test "CPython 3.11 test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect py3.11
}

@test "CPython 3.10 test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites py3.10
}

@test "CPython 3.10 test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect py3.10
}

@test "CPython 3.9 test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites py3.9
}

@test "CPython 3.9 test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect py3.9
}

@test "CPython 3.8 test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites py3.8
}

@test "CPython 3.8 test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect py3.8
}

@test "CPython 3.7 test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites py3.7
}

@test "CPython 3.7 test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect py3.7
}

@test "CPython 3.6 test_importlib/test_import/test_py_compile/test_compileall: same counts under allow ** as without the shim" {
	cpython_suites py3.6
}

@test "CPython 3.6 test_importlib/test_import/test_py_compile/test_compileall: same counts under redirect ** TARGET as without the shim" {
	cpython_suites_redirect py3.6
}
