#!/usr/bin/env bash
# Start-up from a read-only tree: a copy of $BENCH_PY's standard library (no
# pycs, no tests or site-packages) on a read-only bind mount in a private
# mount namespace (unshare -m), run with PYTHONHOME=the copy.  The status quo
# (no shim: EROFS, every start recompiles) against redirect ** to a tmpfs,
# first start (cold TARGET) and second start (warm), and a writable copy
# with a native warm __pycache__ for reference.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "Start-up from a read-only tree"

((EUID == 0)) || bench_skip "needs root (a bind mount in a private mount namespace)"
command -v unshare >/dev/null || bench_skip "unshare not found (Debian: apt-get install util-linux)"
if ((BENCH_QUICK)); then R=2; else R=8; fi
PY=$BENCH_PY
py_lib=$(bench_probe "$PY" 'import sysconfig; print(sysconfig.get_path("stdlib"))') ||
	die "cannot ask $PY for its stdlib"
ver=${py_lib##*/}

for d in ro-src rw-warm; do
	bench_copy_tree "$py_lib" "$W/$d/lib/$ver" --exclude=./site-packages --exclude=./test \
		--exclude=./idlelib --exclude=./tkinter --exclude=./turtledemo --exclude=./ensurepip \
		--exclude='./config-*' --exclude=./lib2to3/tests
	mkdir -p "$W/$d/lib/$ver/site-packages"
done
mkdir -p "$W/ro" "$W/tmpfs"
PYTHONHOME=$W/rw-warm "$PY" -c "$BENCH_IMPORTS" || die "warming the writable copy failed"

say "$R rounds"
# the timer runs inside the namespace, after the mounts
ro=(
	nocache "PYTHONHOME=$W/ro" "$PY" -c "$BENCH_IMPORTS"
	:: first "prep=rm -rf $W/tmpfs/first" "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $W/tmpfs/first" "PYTHONHOME=$W/ro" "$PY" -c "$BENCH_IMPORTS"
	:: second "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $W/tmpfs/second" "PYTHONHOME=$W/ro" "$PY" -c "$BENCH_IMPORTS"
	:: rwwarm "PYTHONHOME=$W/rw-warm" "$PY" -c "$BENCH_IMPORTS"
)
# shellcheck disable=SC2016 # expanded by the inner bash
unshare -m --propagation private bash -c '
	set -eo pipefail
	src=$1 ro=$2 tmp=$3 check=$4; shift 4
	mount --bind "$src" "$ro"
	mount -o remount,bind,ro "$ro"
	mount -t tmpfs -o size=512m,mode=0700 tmpfs "$tmp"
	if touch "$ro/lib/probe" 2>/dev/null; then echo "tree is not read-only" >&2; exit 1; fi
	"$@"
	# proof: the second start had its pycs on the tmpfs, none in the tree
	a=$(find "$tmp/second" -name "*.pyc" | wc -l) || exit 1
	b=$(find "$ro" -name "*.pyc" | wc -l) || exit 1
	echo "$a $b" >"$check"
	' bash "$W/ro-src" "$W/ro" "$W/tmpfs" "$W/ro.check" \
	"$BENCH_TIMER" -r "$R" -w 1 -s 13 -o "$W/ro.raw" -- "${ro[@]}" >"$W/ro.out" ||
	die "the read-only tree run failed"
read -r on_tmpfs in_tree <"$W/ro.check" || die "no check figures"

bench_timer_load "$W/ro.out"
sp='' spw='' # set by bench_calc
bench_calc sp 'r > 0 ? sprintf("%.2f", 1 / r) : "nan"' "r=${T[second.cpu_ratio]}"
bench_calc spw 'r > 0 ? sprintf("%.2f", 1 / r) : "nan"' "r=${T[second.ratio]}"
bench_value "$BENCH_NAME.second-speedup" "$sp"
bench_value "$BENCH_NAME.second-speedup-wall" "$spw"
bench_value "$BENCH_NAME.first.cpu_ratio" "${T[first.cpu_ratio]}"

bench_note "copy of $py_lib (no pycs) on a ro bind mount (unshare -m), PYTHONHOME=copy,"
bench_note "redirect ** to a tmpfs; baseline = the same tree without the shim (EROFS, recompiles every start)"
bench_note "median of $R rounds"
bench_columns scenario "wall ms" "wall ratio" "cpu ms" "cpu ratio"
for s in "nocache|ro tree, no shim (status quo, baseline)" "first|ro tree, redirect to tmpfs, first start" \
	"second|ro tree, redirect to tmpfs, second start" "rwwarm|rw copy, native warm __pycache__ (reference)"; do
	bench_time_cells "${s%%|*}"
	bench_row "${s#*|}" "${CELLS[@]}"
done
bench_row "ro tree: second start speed-up vs status quo" "" "${spw}x" "" "${sp}x"
w2=$(bench_pair_ratio "$W/ro.raw" second rwwarm 1) || die "cannot pair second and rwwarm"
c2=$(bench_pair_ratio "$W/ro.raw" second rwwarm 2) || die "cannot pair second and rwwarm"
bench_fmt w2 %.3f "$w2"
bench_fmt c2 %.3f "$c2"
bench_row "ro second start / rw native warm (same round)" "" "$w2" "" "$c2"
bench_note "check: $on_tmpfs pycs on the tmpfs after the runs, $in_tree in the read-only tree"
((in_tree == 0)) || die "$in_tree pycs were written into the read-only tree"
