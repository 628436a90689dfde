#!/usr/bin/env bash
# tests/cpython/run-interp.sh OUTDIR NAME PY LIB [ROOT]
#
# Runs CPython's own test_importlib, test_import, test_py_compile and
# test_compileall (through suites.py) with interpreter PY three times: without
# the shim ("base"), with LD_PRELOAD=LIB and NOPYC_RULES='allow **' ("shim"),
# and with NOPYC_RULES='redirect ** TARGET' ("redir"; TARGET a fresh 0700
# directory of its own: every cache goes there, nothing into the tree).
# ROOT (default /) is where the interpreter's file system is seen from here:
# a chroot test environment's tree when PY is its launcher (tests/envs).
# Each run gets a fresh HOME, TMPDIR and cwd and a minimal environment
# without PYTHONDONTWRITEBYTECODE.
#
# The suites write into the interpreter's own tree (3.6-3.8 test_compileall
# recompiles the top of the stdlib with -f; test modules get their pycs).
# So each run sees the interpreter's installation (sys.prefix) through an
# overlay in a private mount namespace (unshare -m): both runs start from
# the same pristine tree, and the real one is never written.  Where that is
# impossible (no mount privilege), the runs use the real tree and "overlay"
# says why.
#
# Results go to OUTDIR/NAME/:
#   MODE.rec            suites.py records (counts, failing test ids), MODE
#                       one of base, shim, redir
#   MODE.log            the unittest report
#   MODE.time           "WALL-SECONDS CPU-SECONDS EXIT-STATUS"
#   MODE.tree           what the run wrote into the interpreter's tree (the
#                       overlay's upper layer): "TYPE PATH" (find's %y)
#   redir.target        the files the redir run left in its TARGET: "TYPE PATH"
#   trees.diff          how the two differ (compare-trees.py), and
#   trees.status        its exit status
#   overlay             "yes PREFIX" or "no REASON"
#   skip                why nothing ran (interpreter or test package missing)
#   done                written last, when everything above is final
# NOPYC_TEST_SUITE_TIMEOUT (seconds, default 400) bounds each run.
set -u
OUTDIR=$1 NAME=$2 PY=$3 LIB=$(realpath -m -- "$4") # LIB absolute: the runs cd
FSROOT=${5:-/}
FSROOT=${FSROOT%/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULES=(test.test_importlib test.test_import test.test_py_compile test.test_compileall)
TIMEOUT=${NOPYC_TEST_SUITE_TIMEOUT:-400}
dir=$OUTDIR/$NAME
mkdir -p "$dir" || exit 1
trap 'touch "$dir/done"' EXIT

if [[ ! -x $PY || -d $PY ]]; then
	echo "$NAME not found${PY:+ ($PY)}" >"$dir/skip"
	exit 0
fi
paths=$(env -i "$PY" -S -B -c 'import sys, sysconfig
print(sysconfig.get_paths()["stdlib"]); print(sys.prefix)') || {
	echo "cannot run $PY" >"$dir/skip"
	exit 0
}
{ read -r stdlib && read -r prefix; } <<<"$paths"
# as seen from here
stdlib=$FSROOT$stdlib prefix=$FSROOT$prefix
for m in test_importlib test_import test_py_compile test_compileall; do
	# a package directory or a module, depending on the version
	if [[ ! -e $stdlib/test/$m/__init__.py && ! -e $stdlib/test/$m.py ]]; then
		echo "$PY has no test package ($stdlib/test/$m missing)" >"$dir/skip"
		exit 0
	fi
done

# Can we lay an overlay over the prefix?  (Root with CAP_SYS_ADMIN, a kernel
# with overlayfs, a prefix that is a directory we can name.)
probe=$(mktemp -d "$dir/probe.XXXXXX") || exit 1
mkdir "$probe/upper" "$probe/work"
# shellcheck disable=SC2016 # $1... expand in sh -c
if why=$(unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$1"' \
	sh "$prefix" "$probe/upper" "$probe/work" 2>&1); then
	echo "yes $prefix" >"$dir/overlay"
	overlay=1
else
	echo "no ${why:-unshare -m or mount -t overlay failed}" >"$dir/overlay"
	overlay=
fi
rm -rf "$probe"

for mode in base shim redir; do
	work=$(mktemp -d "$dir/$mode.XXXXXX") || exit 1
	mkdir "$work/home" "$work/tmp" "$work/cwd" "$work/upper" "$work/ovwork" || exit 1
	# TARGET inside TMPDIR: a chroot environment binds TMPDIR (tests/envs)
	target=$work/tmp/nopyc-target
	mkdir -m 0700 "$target" || exit 1
	preload=()
	[[ $mode == shim ]] && preload=("LD_PRELOAD=$LIB" "NOPYC_RULES=allow **")
	[[ $mode == redir ]] && preload=("LD_PRELOAD=$LIB" "NOPYC_RULES=redirect ** $target")
	run=(env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8
		HOME="$work/home" TMPDIR="$work/tmp" "${preload[@]}"
		"$PY" "$HERE/suites.py" "$dir/$mode.rec" "${MODULES[@]}")
	if [[ -n $overlay ]]; then
		# shellcheck disable=SC2016
		run=(unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$1" || exit 125
shift 3; exec "$@"' sh "$prefix" "$work/upper" "$work/ovwork" "${run[@]}")
	fi
	# wall and CPU time (wall time depends on what else the machine does;
	# CPU time much less).  No exec in the timed subshell: bash would lose
	# the timing.  timeout --foreground: stay in the caller's process group,
	# which the bats file's teardown kills as a whole.
	TIMEFORMAT='%R %U %S'
	{ time (cd "$work/cwd" && timeout --foreground -k 10 "$TIMEOUT" "${run[@]}" \
		>"$dir/$mode.log" 2>&1 </dev/null); } 2>"$work/time"
	status=$?
	read -r wall user sys <"$work/time"
	awk -v w="$wall" -v u="$user" -v s="$sys" -v st="$status" \
		'BEGIN { printf "%.1f %.1f %d\n", w, u + s, st }' >"$dir/$mode.time"
	if [[ -n $overlay ]]; then
		(cd "$work/upper" && find . -mindepth 1 -printf '%y %p\n' | LC_ALL=C sort -k2) >"$dir/$mode.tree"
		[[ $mode == redir ]] || mv "$work/upper" "$dir/$mode.upper"
	fi
	[[ $mode == redir ]] &&
		(cd "$target" && find . -mindepth 1 -printf '%y %p\n' | LC_ALL=C sort -k2) >"$dir/redir.target"
	rm -rf "$work"
done

# The two runs must have written the same things into the interpreter's tree.
if [[ -n $overlay ]]; then
	env -i "$PY" -S -E -B "$HERE/compare-trees.py" "$dir/base.upper" "$dir/shim.upper" \
		>"$dir/trees.diff" 2>&1
	echo $? >"$dir/trees.status"
	rm -rf "$dir/base.upper" "$dir/shim.upper"
fi
