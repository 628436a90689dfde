#!/usr/bin/env bash
# The start every new container pays: an image whose standard library ships
# its pycs, on a read-only bind mount, with an empty cache directory.  nopyc
# (redirect ** to an empty tmpfs: the shipped pycs are read, nothing is
# compiled) against PYTHONPYCACHEPREFIX set to an empty directory (CPython
# then ignores every shipped pyc and recompiles all it imports).
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "First start of a new container (shipped pycs, empty cache)"

((EUID == 0)) || bench_skip "needs root (a bind mount in a private mount namespace)"
command -v unshare >/dev/null || bench_skip "unshare not found (Debian: apt-get install util-linux)"
if ((BENCH_QUICK)); then R=2; else R=8; fi
PY=$BENCH_PY
py_lib=$(bench_probe "$PY" 'import sysconfig; print(sysconfig.get_path("stdlib"))') ||
	die "cannot ask $PY for its stdlib"
prefix_ok=$(bench_probe "$PY" 'import sys; print(int(sys.version_info >= (3, 8)))') ||
	die "cannot ask $PY for its version"
((prefix_ok)) || bench_skip "$PY has no PYTHONPYCACHEPREFIX (before 3.8)"
ver=${py_lib##*/}

bench_copy_tree "$py_lib" "$W/image/lib/$ver" --exclude=./site-packages --exclude=./test \
	--exclude=./idlelib --exclude=./tkinter --exclude=./turtledemo --exclude=./ensurepip \
	--exclude='./config-*' --exclude=./lib2to3/tests
mkdir -p "$W/image/lib/$ver/site-packages" "$W/ro" "$W/tmpfs"
# the image build step: ship the pycs of what the start imports
PYTHONHOME=$W/image PYTHONDONTWRITEBYTECODE='' "$PY" -c "$BENCH_IMPORTS" ||
	die "compiling the image's pycs failed"

say "$R rounds"
runs=(
	prefix "prep=rm -rf $W/tmpfs/prefix" "PYTHONPYCACHEPREFIX=$W/tmpfs/prefix" "PYTHONHOME=$W/ro" "$PY" -c "$BENCH_IMPORTS"
	:: nopyc "prep=rm -rf $W/tmpfs/nopyc" "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $W/tmpfs/nopyc" "PYTHONHOME=$W/ro" "$PY" -c "$BENCH_IMPORTS"
)
# shellcheck disable=SC2016 # expanded by the inner bash
unshare -m --propagation private bash -c '
	set -eo pipefail
	src=$1 ro=$2 tmp=$3 check=$4; shift 4
	mount --bind "$src" "$ro"
	mount -o remount,bind,ro "$ro"
	mount -t tmpfs -o size=512m,mode=0700 tmpfs "$tmp"
	"$@"
	# proof: the prefix run compiled into its directory; nopyc wrote nothing
	a=$(find "$tmp/prefix" -name "*.pyc" 2>/dev/null | wc -l) || exit 1
	b=$(find "$tmp/nopyc" -name "*.pyc" 2>/dev/null | wc -l) || exit 1
	echo "$a $b" >"$check"
	' bash "$W/image" "$W/ro" "$W/tmpfs" "$W/c.check" \
	"$BENCH_TIMER" -r "$R" -w 1 -s 29 -o "$W/c.raw" -- "${runs[@]}" >"$W/c.out" ||
	die "the container-start run failed"
read -r by_prefix by_nopyc <"$W/c.check" || die "no check figures"

bench_timer_load "$W/c.out"
bench_value "$BENCH_NAME.nopyc.cpu_ratio" "${T[nopyc.cpu_ratio]}"
bench_note "copy of $py_lib with the pycs of the start-up command, on a ro bind mount (unshare -m);"
bench_note "each round starts from an empty directory on a tmpfs; baseline = PYTHONPYCACHEPREFIX there"
bench_note "median of $R rounds"
bench_columns scenario "wall ms" "wall ratio" "cpu ms" "cpu ratio"
for s in "prefix|PYTHONPYCACHEPREFIX=empty dir (recompiles, baseline)" "nopyc|nopyc redirect ** to an empty TARGET"; do
	bench_time_cells "${s%%|*}"
	bench_row "${s#*|}" "${CELLS[@]}"
done
bench_note "check: the prefix run left $by_prefix pycs in its directory, nopyc $by_nopyc in TARGET"
((by_prefix > 0)) || die "PYTHONPYCACHEPREFIX compiled nothing: the comparison is void"
((by_nopyc == 0)) || die "nopyc compiled $by_nopyc modules although the image ships their pycs"
