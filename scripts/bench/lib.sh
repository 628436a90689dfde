# shellcheck shell=bash disable=SC2034 # sets variables for the files that source it
# scripts/bench/lib.sh: the helper library of the nopyc benchmark, sourced
# by the driver (run), the report (report) and every measurement (p*.sh).
#
# A measurement is a bash file pNN-NAME.sh run by the driver, in the order of
# NN.  It starts with
#     . "$BENCH_DIR/lib.sh"
#     bench_begin "title of its section of the report"
# and records what it found (in $BENCH_RESULTS/NAME.result, one record a line,
# fields separated by tabs; the report lays them out):
#     bench_note TEXT         a line of explanation under the title
#     bench_columns H1 H2 ..  the headings of its table
#     bench_row C1 C2 ..      one row of that table
#     bench_value KEY NUMBER  a figure targets.tsv can judge; KEY is NAME.SOMETHING
#     bench_na KEY REASON     a figure that cannot be had here, and why
#     bench_skip REASON       the whole measurement cannot run here (exits 0)
# A measurement that exits non-zero is reported as failed (its log is in the
# report's results directory); a missing tool or program is a skip with a
# stated reason, never a failure.  It runs in an empty directory (Python
# lists the current one) that it must leave empty; W is its scratch space.
# The targets are judged by the report alone (targets.tsv).
#
# Helpers below: numbers (median, bench_quantile, bench_fmt, bench_calc);
# the timer (bench_time, bench_timer_load, bench_time_cells,
# bench_pair_ratio); callgrind (bench_callgrind, bench_ir, bench_spawn,
# bench_wait_all, bench_need_valgrind); finding interpreters and tools
# (bench_find_python, bench_find_django, bench_find_valgrind, bench_probe);
# shared set-ups (bench_warm_python, bench_copy_tree, bench_percall_setup,
# bench_percall_env).
#
# The driver exports, before any measurement runs:
#   BENCH_ROOT      the source tree          BENCH_DIR      scripts/bench
#   BENCH_QUICK     1 for a smoke run, else 0
#   BENCH_LIB       the snapshot of libnopyc.so under test
#   BENCH_WORK      a private work directory (removed at the end)
#   BENCH_SHM       a private directory on a tmpfs (redirect TARGETs)
#   BENCH_RESULTS   where the .result files go
#   BENCH_PERCALL   the per-call loop (percall.c)
#   BENCH_TIMER     the interleaving timer (timer.c)
#   BENCH_PY        the interpreter of the start-up and memory measurements,
#                   found by bench_find_python; BENCH_PY_DESC its version
#   BENCH_IMPORTS   the import-heavy start-up command's code
#   BENCH_DJANGO_PY an interpreter that imports django, or empty, and then
#                   BENCH_DJANGO_WHY says why
#   BENCH_VALGRIND  1 when valgrind and callgrind_annotate are there, else 0,
#                   and then BENCH_VALGRIND_WHY says why
#
# Rule for every file here: no command substitution whose failure set -e
# cannot see.  Assign it on its own, var=$(cmd) || die "...", never inside
# another command's arguments, `local x=$(..)` or `< <(..)`.

set -euo pipefail
shopt -s inherit_errexit

BENCH_JOBS=2 # callgrind runs at a time (the machine of the README has 2 cores)

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "${BENCH_NAME:+$BENCH_NAME: }$*"
	exit 1
}

# ---- recording results ---------------------------------------------------

# bench_begin TITLE: the measurement's name comes from its file name
# (p20-startup-time.sh -> startup-time); sets BENCH_NAME, W (its own scratch
# directory under BENCH_WORK) and starts its result file.
bench_begin() {
	local file=${0##*/}
	BENCH_NAME=${file#p[0-9]*-}
	BENCH_NAME=${BENCH_NAME%.sh}
	# shellcheck disable=SC2153 # exported by the driver
	BENCH_RESULT=$BENCH_RESULTS/$BENCH_NAME.result
	W=$BENCH_WORK/$BENCH_NAME
	mkdir -p "$W"
	: >"$BENCH_RESULT"
	bench_record title "$1"
}

# bench_record KIND FIELD...: one record; a tab or newline inside a field
# would break the format, so they become spaces.
bench_record() {
	local line='' f
	for f in "$@"; do
		f=${f//$'\t'/ }
		line+=${line:+$'\t'}${f//$'\n'/ }
	done
	printf '%s\n' "$line" >>"$BENCH_RESULT"
}

bench_note() { bench_record note "$*"; }
bench_columns() { bench_record columns "$@"; }
bench_row() { bench_record row "$@"; }

bench_value() { # KEY NUMBER
	[[ $1 == "$BENCH_NAME".* ]] || die "value key $1 does not start with $BENCH_NAME."
	[[ -n $2 && $2 != nan ]] || die "no number for $1"
	bench_record value "$1" "$2"
}

bench_na() { # KEY REASON
	bench_record na "$1" "$2"
}

bench_skip() { # REASON: record why and end the measurement
	bench_record skip "$*"
	say "$BENCH_NAME: skipped: $*"
	exit 0
}

# ---- numbers -------------------------------------------------------------

# median / bench_quantile Q: of the numbers on stdin, one a line ("nan" for none)
median() { bench_quantile 0.5; }
bench_quantile() {
	sort -g | awk -v q="$1" '{a[NR] = $1}
	    END {if (!NR) {print "nan"; exit}
	         p = q * (NR - 1); i = int(p)
	         if (i + 1 >= NR) print a[NR]; else print a[i + 1] + (p - i) * (a[i + 2] - a[i + 1])}'
}

# bench_fmt VAR FORMAT VALUE: printf -v VAR FORMAT VALUE, or "n/a" for an
# empty value or nan
bench_fmt() {
	if [[ -z $3 || $3 == nan ]]; then
		printf -v "$1" 'n/a'
	else
		# shellcheck disable=SC2059 # the format is the argument
		printf -v "$1" "$2" "$3"
	fi
}

# bench_calc VAR AWK-EXPRESSION [NAME=VALUE]...: VAR = the expression, by awk
bench_calc() {
	local var=$1 expr=$2 r
	shift 2
	local -a vars=()
	local a
	for a in "$@"; do vars+=(-v "$a"); done
	r=$(awk "${vars[@]}" "BEGIN {print ($expr)}") || die "cannot compute $expr"
	printf -v "$var" '%s' "$r"
}

# ---- the interleaving timer (timer.c) -----------------------------------

# bench_time NAME SEED ROUNDS WARMUP -- SCENARIO [:: SCENARIO]...: runs the
# timer; its summary goes to $W/NAME.out, its per-round figures to $W/NAME.raw
bench_time() {
	local name=$1 seed=$2 rounds=$3 warmup=$4
	shift 5
	"$BENCH_TIMER" -r "$rounds" -w "$warmup" -s "$seed" -o "$W/$name.raw" -- "$@" >"$W/$name.out" ||
		die "timer run $name failed"
}

# bench_timer_load FILE: every KEY=VALUE of the timer's summary FILE into
# the associative array T, as T[scenario.KEY]
declare -gA T=()
bench_timer_load() {
	local name kv
	local -a kvs
	while read -r name rest; do
		read -ra kvs <<<"$rest"
		for kv in "${kvs[@]}"; do
			T[$name.${kv%%=*}]=${kv#*=}
		done
	done <"$1"
}

# bench_time_cells NAME: sets CELLS to the report's four timing cells of
# scenario NAME (loaded by bench_timer_load): wall ms, wall ratio [p25-p75],
# cpu ms, cpu ratio [p25-p75]
bench_time_cells() {
	local n=$1 ms r r25 r75 cms c c25 c75
	bench_fmt ms %.1f "${T[$n.median_ms]:-}"
	bench_fmt r %.3f "${T[$n.ratio]:-}"
	bench_fmt r25 %.2f "${T[$n.ratio_p25]:-}"
	bench_fmt r75 %.2f "${T[$n.ratio_p75]:-}"
	bench_fmt cms %.1f "${T[$n.cpu_ms]:-}"
	bench_fmt c %.3f "${T[$n.cpu_ratio]:-}"
	bench_fmt c25 %.2f "${T[$n.cpu_ratio_p25]:-}"
	bench_fmt c75 %.2f "${T[$n.cpu_ratio_p75]:-}"
	CELLS=("$ms" "$r [$r25-$r75]" "$cms" "$c [$c25-$c75]")
}

# bench_pair_ratio RAW A B FIELD [Q]: quantile Q (default the median) over
# rounds of scenario A / scenario B in the same round, from the timer's raw
# file; FIELD 1 = wall, 2 = cpu
bench_pair_ratio() {
	awk -v a="$2" -v b="$3" -v f="$4" '
	    $1 == a {for (i = 2; i <= NF; i++) {split($i, x, "/"); ta[i] = x[f]}; na = NF}
	    $1 == b {for (i = 2; i <= NF; i++) {split($i, x, "/"); tb[i] = x[f]}}
	    END {for (i = 2; i <= na; i++) print ta[i] / tb[i]}' "$1" | bench_quantile "${5:-0.5}"
}

# ---- callgrind -----------------------------------------------------------

# bench_callgrind OUT [VAR=VALUE]... [--VALGRIND-OPTION]... COMMAND...: runs
# COMMAND under callgrind with those variables set and options given, counts
# to OUT, valgrind's messages to OUT.log
bench_callgrind() {
	local out=$1
	shift
	local -a envs=() opts=()
	while [[ ${1:-} == [A-Za-z_]*=* ]]; do
		envs+=("$1")
		shift
	done
	while [[ ${1:-} == --* ]]; do
		opts+=("$1")
		shift
	done
	env "${envs[@]}" valgrind --tool=callgrind "${opts[@]}" --callgrind-out-file="$out" "$@" \
		>/dev/null 2>"$out.log" || {
		cat "$out.log" >&2
		die "callgrind failed: $*"
	}
}

# bench_ir VAR FILE: VAR = the total instruction count of a callgrind file
bench_ir() {
	local r
	r=$(awk '/^totals:/ {print $2}' "$2") || die "cannot read $2"
	[[ -n $r ]] || die "no totals in $2"
	printf -v "$1" '%s' "$r"
}

# bench_spawn COMMAND...: COMMAND in the background, at most BENCH_JOBS at a
# time; bench_wait_all waits for the rest.  A failed job fails the measurement.
BENCH_POOL=()
bench_spawn() {
	while ((${#BENCH_POOL[@]} >= BENCH_JOBS)); do bench_reap; done
	"$@" &
	BENCH_POOL+=("$!")
}
bench_reap() {
	local pid='' p
	local -a rest=()
	wait -n -p pid "${BENCH_POOL[@]}" || die "a background job failed"
	for p in "${BENCH_POOL[@]}"; do
		[[ $p == "$pid" ]] || rest+=("$p")
	done
	BENCH_POOL=("${rest[@]}")
}
bench_wait_all() {
	while ((${#BENCH_POOL[@]})); do bench_reap; done
}

# ---- finding interpreters and tools (the driver runs these once) --------

# Probes never write caches (PYTHONDONTWRITEBYTECODE=1): finding an
# interpreter must not change what the benchmark then measures.
bench_probe() { # PYTHON CODE: run CODE, stdout only
	PYTHONDONTWRITEBYTECODE=1 "$1" -c "$2" 2>/dev/null
}

# bench_pyenv_pythons: every pyenv interpreter, one a line.  The versions
# directory comes from PYENV_ROOT, else `pyenv root`, else ~/.pyenv.
bench_pyenv_pythons() {
	local root=${PYENV_ROOT:-} p
	if [[ -z $root ]] && command -v pyenv >/dev/null; then
		root=$(pyenv root) || root=''
	fi
	[[ -n $root ]] || root=${HOME:-/root}/.pyenv
	for p in "$root"/versions/*/bin/python; do
		[[ -x $p ]] && printf '%s\n' "$p"
	done
	return 0
}

# bench_find_python: sets BENCH_PY and BENCH_PY_DESC.  BENCH_PYTHON when
# set; else the newest pyenv CPython of version BENCH_PYTHON_VERSION (default
# 3.11: the version of the README's figures); else the newest pyenv CPython
# 3; else /usr/bin/python3; else python3 on PATH.
bench_find_python() {
	local want=${BENCH_PYTHON_VERSION:-3.11} p facts impl ver best='' best_ver='' any='' any_ver=''
	local -a pys=()
	local code='import sys, platform; print(platform.python_implementation(), "%d.%d.%d" % sys.version_info[:3])'
	if [[ -n ${BENCH_PYTHON:-} ]]; then
		facts=$(bench_probe "$BENCH_PYTHON" "$code") || die "BENCH_PYTHON=$BENCH_PYTHON does not run"
		BENCH_PY=$BENCH_PYTHON BENCH_PY_DESC="$facts, from BENCH_PYTHON"
		return 0
	fi
	facts=$(bench_pyenv_pythons) || die "cannot list pyenv versions"
	[[ -n $facts ]] && mapfile -t pys <<<"$facts"
	for p in "${pys[@]}"; do
		facts=$(bench_probe "$p" "$code") || continue
		read -r impl ver <<<"$facts"
		[[ $impl == CPython && $ver == 3.* ]] || continue
		if [[ -z $any_ver ]] || bench_version_gt "$ver" "$any_ver"; then any=$p any_ver=$ver; fi
		if [[ $ver == "$want".* ]] && { [[ -z $best_ver ]] || bench_version_gt "$ver" "$best_ver"; }; then
			best=$p best_ver=$ver
		fi
	done
	if [[ -n $best ]]; then
		BENCH_PY=$best BENCH_PY_DESC="CPython $best_ver, pyenv, the newest $want"
	elif [[ -n $any ]]; then
		BENCH_PY=$any BENCH_PY_DESC="CPython $any_ver, pyenv, the newest (no $want found)"
	else
		for p in /usr/bin/python3 python3; do
			p=$(command -v "$p") || continue
			facts=$(bench_probe "$p" "$code") || continue
			BENCH_PY=$p BENCH_PY_DESC="$facts (no pyenv CPython 3 found)"
			return 0
		done
		die "no Python 3 interpreter found (pyenv, /usr/bin/python3, python3 on PATH); set BENCH_PYTHON"
	fi
}

bench_version_gt() { # A B: version A > version B
	local top
	top=$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1) || die "sort -V failed"
	[[ $1 != "$2" && $top == "$1" ]]
}

# bench_find_django: sets BENCH_DJANGO_PY to the first interpreter that
# imports django (BENCH_DJANGO_PYTHON when set; else /usr/bin/python3,
# python3 on PATH, BENCH_PY, the pyenv interpreters), else empty with
# BENCH_DJANGO_WHY saying why.
bench_find_django() {
	local p list tried=()
	local -a cands=()
	BENCH_DJANGO_PY='' BENCH_DJANGO_WHY=''
	if [[ -n ${BENCH_DJANGO_PYTHON:-} ]]; then
		cands=("$BENCH_DJANGO_PYTHON")
	else
		cands=(/usr/bin/python3)
		p=$(command -v python3) && cands+=("$p")
		cands+=("$BENCH_PY")
		list=$(bench_pyenv_pythons) || die "cannot list pyenv versions"
		[[ -n $list ]] && mapfile -t -O "${#cands[@]}" cands <<<"$list"
	fi
	for p in "${cands[@]}"; do
		[[ -x $p ]] || continue
		[[ " ${tried[*]} " == *" $p "* ]] && continue
		tried+=("$p")
		if bench_probe "$p" 'import django' >/dev/null; then
			BENCH_DJANGO_PY=$p
			return 0
		fi
	done
	BENCH_DJANGO_WHY="no interpreter imports django (tried ${tried[*]:-none}; Debian: apt-get install python3-django)"
}

# bench_find_valgrind: sets BENCH_VALGRIND (1 or 0) and BENCH_VALGRIND_WHY
bench_find_valgrind() {
	BENCH_VALGRIND=1 BENCH_VALGRIND_WHY=''
	if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
		BENCH_VALGRIND=0
		BENCH_VALGRIND_WHY="valgrind or callgrind_annotate not found (Debian: apt-get install valgrind)"
	fi
}

bench_need_valgrind() { # skip the measurement without valgrind
	((BENCH_VALGRIND)) || bench_skip "$BENCH_VALGRIND_WHY"
}

# ---- shared by measurements ----------------------------------------------

# bench_warm_python: one native run of the start-up command, so the
# interpreter's own __pycache__ is warm (it normally is already: then this
# writes nothing)
bench_warm_python() {
	"$BENCH_PY" -c "$BENCH_IMPORTS" || die "$BENCH_PY -c \"\$BENCH_IMPORTS\" failed"
}

# bench_copy_tree SRC DST [TAR-EXCLUDE]...: a copy of SRC without caches
bench_copy_tree() {
	local src=$1 dst=$2
	shift 2
	mkdir -p "$dst"
	tar -C "$src" -cf - --exclude=__pycache__ "$@" . | tar -C "$dst" -xf - || die "cannot copy $src"
}

# Per-call cases (p10 and p11): bench_percall_setup sets the paths and
# PC_CASES, one "id|label|op|path|rules" a case.  Every case compares the
# call with the shim under RULES against the same call without it.  Paths:
# os.py of the system's python3 (Debian's stdlib, short and typical) and its
# cache, and a long path (Django's admin_list.py when django is there);
# and write(2) of one byte to /dev/null (wrapped in every process for the
# short-write watch).
# RULES: default = no rules set (deny **), or deny / redirect.
bench_percall_setup() {
	local py='' p out
	for p in /usr/bin/python3 "$BENCH_PY"; do
		[[ -x $p ]] || continue
		out=$(bench_probe "$p" 'import os, importlib.util as u
print(os.__file__); print(u.cache_from_source(os.__file__))') || continue
		{ read -r PC_NC && read -r PC_CP; } <<<"$out"
		[[ -f $PC_NC && -f $PC_CP ]] && { py=$p; break; }
	done
	[[ -n $py ]] || bench_skip "no interpreter whose os.py has a compiled cache (tried /usr/bin/python3, $BENCH_PY)"
	PC_LONG=''
	if [[ -n $BENCH_DJANGO_PY ]]; then
		out=$(bench_probe "$BENCH_DJANGO_PY" 'import django, os
print(os.path.join(os.path.dirname(django.__file__), "contrib", "admin", "templatetags", "admin_list.py"))') ||
			die "cannot locate django with $BENCH_DJANGO_PY"
		[[ -f $out ]] && PC_LONG=$out
	fi
	if [[ -z $PC_LONG ]]; then
		PC_LONG=$(bench_probe "$py" 'import email.mime.multipart as m; print(m.__file__)') ||
			die "cannot locate email.mime.multipart with $py"
	fi
	PC_CASES=(
		"stat-nc|stat64, non-cache|stat|$PC_NC|default"
		"open-nc|open64+close, non-cache|open|$PC_NC|default"
		"access-nc|access, non-cache|access|$PC_NC|default"
		"stat-long|stat64, long non-cache|stat|$PC_LONG|default"
		"stat-nc-redirect|stat64, non-cache, redirect **|stat|$PC_NC|redirect"
		"stat-long-redirect|stat64, long non-cache, redirect|stat|$PC_LONG|redirect"
		"stat-cache-deny|stat64, cache, deny **|stat|$PC_CP|deny"
		"open-cache-deny|open64+close, cache, deny **|open|$PC_CP|deny"
		"access-cache-deny|access, cache, deny **|access|$PC_CP|deny"
		"stat-cache-redirect|stat64, cache, redirect|stat|$PC_CP|redirect"
		"open-cache-redirect|open64+close, cache, redirect|open|$PC_CP|redirect"
		"access-cache-redirect|access, cache, redirect|access|$PC_CP|redirect"
		"write|write 1 byte to /dev/null, default rules|write|/dev/null|default"
	)
}

# bench_percall_env RULES: sets PC_ENV to the environment of the per-call
# loop under RULES (none = without the shim)
bench_percall_env() {
	case $1 in
	none) PC_ENV=() ;;
	default) PC_ENV=("LD_PRELOAD=$BENCH_LIB") ;;
	deny) PC_ENV=("LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=deny **") ;;
	redirect) PC_ENV=("LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $BENCH_SHM/percall") ;;
	*) die "unknown per-call rules $1" ;;
	esac
}
