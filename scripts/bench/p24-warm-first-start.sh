#!/usr/bin/env bash
# First start from a read-only tree, with and without `nopyc warm`: a copy
# of $BENCH_PY's standard library (no pycs, as p22) on a read-only bind
# mount in a private mount namespace, PYTHONHOME=the copy, redirect ** to a
# tmpfs.  In the same rounds: the first start into an empty TARGET (it
# compiles what it imports), the first start after `nopyc --redirect TARGET
# warm TREE` filled a fresh TARGET (the image build step or init container
# of the README), and a second start (TARGET warm from the start before).
# Then one warmed start more with NOPYC_LOG: it must have written nothing
# and compiled nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "First start from a read-only tree, with and without nopyc warm"

((EUID == 0)) || bench_skip "needs root (a bind mount in a private mount namespace)"
command -v unshare >/dev/null || bench_skip "unshare not found (Debian: apt-get install util-linux)"
# shellcheck disable=SC2153 # exported by the driver
NOPYC=$BENCH_ROOT/scripts/nopyc
[[ -x $NOPYC ]] || die "$NOPYC not found"
if ((BENCH_QUICK)); then R=2; else R=8; fi
PY=$BENCH_PY
py_lib=$(bench_probe "$PY" 'import sysconfig; print(sysconfig.get_path("stdlib"))') ||
	die "cannot ask $PY for its stdlib"
ver=${py_lib##*/}

bench_copy_tree "$py_lib" "$W/src/lib/$ver" --exclude=./site-packages --exclude=./test \
	--exclude=./idlelib --exclude=./tkinter --exclude=./turtledemo --exclude=./ensurepip \
	--exclude='./config-*' --exclude=./lib2to3/tests
mkdir -p "$W/src/lib/$ver/site-packages" "$W/ro" "$W/tmpfs"
sources=$(find "$W/src" -name '*.py' | wc -l) || die "cannot count the sources"

say "$R rounds (each warmed round first compiles the $sources sources of the tree: untimed)"
start=("PYTHONHOME=$W/ro" "$PY" -c "$BENCH_IMPORTS")
# nopyc warm as the README's image build step runs it: the command, its
# rules, the interpreter with the tree as its home (exit 1: some file of
# the tree does not compile, the rest is warm)
warm="PYTHONHOME=$W/ro '$NOPYC' --redirect '$W/tmpfs/warmed' warm --python '$PY' '$W/ro' >/dev/null || [ \$? -eq 1 ]"
runs=(
	first "prep=rm -rf $W/tmpfs/first" "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $W/tmpfs/first" "${start[@]}"
	:: warmed "prep=rm -rf $W/tmpfs/warmed && $warm" "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $W/tmpfs/warmed" "${start[@]}"
	:: second "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $W/tmpfs/second" "${start[@]}"
)
# shellcheck disable=SC2016 # expanded by the inner bash
unshare -m --propagation private bash -c '
	set -eo pipefail
	src=$1 ro=$2 tmp=$3 lib=$4 warm=$5 w=$6 py=$7 imports=$8; shift 8
	mount --bind "$src" "$ro"
	mount -o remount,bind,ro "$ro"
	mount -t tmpfs -o size=512m,mode=0700 tmpfs "$tmp"
	if touch "$ro/lib/probe" 2>/dev/null; then echo "tree is not read-only" >&2; exit 1; fi
	"$@"
	# proof, one warmed start more with its decisions logged
	rm -rf "$tmp/warmed"
	sh -c "$warm"
	env LD_PRELOAD="$lib" NOPYC_RULES="redirect ** $tmp/warmed" NOPYC_LOG="$w/warmed.log" \
		PYTHONHOME="$ro" "$py" -c "$imports" >/dev/null
	rm -rf "$tmp/first"
	env LD_PRELOAD="$lib" NOPYC_RULES="redirect ** $tmp/first" NOPYC_LOG="$w/first.log" \
		PYTHONHOME="$ro" "$py" -c "$imports" >/dev/null
	a=$(find "$ro" -name "*.pyc" | wc -l) || exit 1
	b=$(find "$tmp/warmed" -name "*.pyc" | wc -l) || exit 1
	echo "$a $b" >"$w/check"
	' bash "$W/src" "$W/ro" "$W/tmpfs" "$BENCH_LIB" "$warm" "$W" "$PY" "$BENCH_IMPORTS" \
	"$BENCH_TIMER" -r "$R" -w 1 -s 31 -o "$W/w.raw" -- "${runs[@]}" >"$W/w.out" ||
	die "the read-only tree run failed"
read -r in_tree warmed_pycs <"$W/check" || die "no check figures"

# What the logged starts did: writes (verdict=mapped), pycs compiled (an
# open of a pyc that found none), pycs read from TARGET.
log_counts() { # LOG: prints WRITES COMPILED FROM_TARGET
	awk '{ p = ""; for (i = 1; i <= NF; i++) if ($i ~ /^path=/) p = $i }
	     / verdict=mapped / { w++ }
	     / from=/ && p ~ /\.py[co]$/ { if (/ result=ENOENT /) c++; else if (/ result=ok from=target$/) t++ }
	     END { print w + 0, c + 0, t + 0 }' "$1"
}
counts=$(log_counts "$W/warmed.log") || die "cannot read $W/warmed.log"
read -r w_writes w_compiled w_target <<<"$counts"
counts=$(log_counts "$W/first.log") || die "cannot read $W/first.log"
read -r f_writes f_compiled _ <<<"$counts"

bench_timer_load "$W/w.out"
ws=$(bench_pair_ratio "$W/w.raw" warmed second 2) || die "cannot pair warmed and second"
bench_value "$BENCH_NAME.warmed.cpu_ratio" "${T[warmed.cpu_ratio]}"
bench_value "$BENCH_NAME.warmed-vs-second.cpu_ratio" "$ws"

bench_note "copy of $py_lib ($sources sources, no pycs) on a ro bind mount (unshare -m), PYTHONHOME=copy,"
bench_note "redirect ** to a tmpfs (the library as nopyc --redirect TARGET sets it up); baseline = first start, empty TARGET;"
bench_note "warmed: nopyc --redirect TARGET warm TREE into a fresh TARGET before each run (untimed); median of $R rounds"
bench_columns scenario "wall ms" "wall ratio" "cpu ms" "cpu ratio"
for s in "first|first start, empty TARGET (compiles, baseline)" "warmed|first start after nopyc warm" \
	"second|second start (TARGET from the start before)"; do
	bench_time_cells "${s%%|*}"
	bench_row "${s#*|}" "${CELLS[@]}"
done
ww=$(bench_pair_ratio "$W/w.raw" warmed second 1) || die "cannot pair warmed and second"
bench_fmt ww %.3f "$ww"
bench_fmt ws %.3f "$ws"
bench_row "first start after warm / second start (same round)" "" "$ww" "" "$ws"
bench_note "check (NOPYC_LOG): first start without warm: $f_writes writes, $f_compiled pycs compiled;" \
	"after warm: $w_writes writes, $w_compiled compiled, $w_target pycs read from TARGET ($warmed_pycs there); $in_tree pycs in the tree"
((in_tree == 0)) || die "$in_tree pycs were written into the read-only tree"
((f_compiled > 0 && f_writes > 0)) || die "the first start without warm compiled nothing: the comparison is void"
((w_writes == 0)) || die "the start after warm wrote $w_writes times"
((w_compiled == 0)) || die "the start after warm compiled $w_compiled modules"
((w_target > 0)) || die "the start after warm read no pyc from TARGET"
