#!/usr/bin/env bash
# Start-up, time: the import-heavy command ($BENCH_PY -c "$BENCH_IMPORTS")
# without the shim (the baseline, warm __pycache__), under allow **, deny **
# and redirect ** to a tmpfs, and with PYTHONPYCACHEPREFIX on the tmpfs, all
# interleaved by the timer; then the status quo the shim replaces (no cache
# at all) in its own pairing with the baseline.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "Start-up, time: $BENCH_PY -c \"$BENCH_IMPORTS\""

if ((BENCH_QUICK)); then R=4 NC_R=2; else R=30 NC_R=8; fi
PY=$BENCH_PY
bench_warm_python
mkdir -m 700 "$W/empty"

say "$R rounds warm, $NC_R no cache"
bench_time st 11 "$R" 2 -- \
	base "$PY" -c "$BENCH_IMPORTS" \
	:: allow "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=allow **" "$PY" -c "$BENCH_IMPORTS" \
	:: deny "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=deny **" "$PY" -c "$BENCH_IMPORTS" \
	:: redirect "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $BENCH_SHM/redirect" "$PY" -c "$BENCH_IMPORTS" \
	:: prefix "PYTHONPYCACHEPREFIX=$BENCH_SHM/prefix" "$PY" -c "$BENCH_IMPORTS"
bench_time nc 12 "$NC_R" 1 -- \
	base "$PY" -c "$BENCH_IMPORTS" \
	:: nocache PYTHONDONTWRITEBYTECODE=1 "PYTHONPYCACHEPREFIX=$W/empty" "$PY" -c "$BENCH_IMPORTS"
written=$(find "$W/empty" -mindepth 1 -print -quit) || die "cannot read $W/empty"
[[ -z $written ]] || die "no-cache prefix $W/empty was written to"

bench_note "median of $R rounds (warm), $NC_R (no cache)"
bench_columns scenario "wall ms" "wall ratio" "cpu ms" "cpu ratio"
bench_timer_load "$W/st.out"
for s in "base|no shim, warm __pycache__ (baseline)" "allow|shim, allow **" \
	"deny|shim, deny ** (default), warm" "redirect|shim, redirect ** /dev/shm/..., warm" \
	"prefix|PYTHONPYCACHEPREFIX=/dev/shm/..., warm"; do
	n=${s%%|*}
	bench_time_cells "$n"
	bench_row "${s#*|}" "${CELLS[@]}"
	if [[ $n != base ]]; then
		bench_value "$BENCH_NAME.$n.cpu_ratio" "${T[$n.cpu_ratio]}"
		bench_value "$BENCH_NAME.$n.cpu_ratio_p25" "${T[$n.cpu_ratio_p25]}"
	fi
	bench_value "$BENCH_NAME.$n.cpu_ms" "${T[$n.cpu_ms]}"
done

# redirect against PYTHONPYCACHEPREFIX, paired in the same round (f: 1 wall, 2 cpu)
declare -A rp=()
for f in 1 2; do
	for q in 0.5 0.25 0.75; do
		r=$(bench_pair_ratio "$W/st.raw" redirect prefix "$f" "$q") || die "cannot pair redirect and prefix"
		rp[$f$q]=$r
	done
done
bench_value "$BENCH_NAME.redirect-prefix.cpu_ratio" "${rp[20.5]}"
bench_value "$BENCH_NAME.redirect-prefix.cpu_ratio_p25" "${rp[20.25]}"
for k in "${!rp[@]}"; do
	if [[ $k == ?0.5 ]]; then bench_fmt "rp[$k]" %.3f "${rp[$k]}"; else bench_fmt "rp[$k]" %.2f "${rp[$k]}"; fi
done
bench_row "redirect / PYTHONPYCACHEPREFIX (same round)" "" "${rp[10.5]} [${rp[10.25]}-${rp[10.75]}]" \
	"" "${rp[20.5]} [${rp[20.25]}-${rp[20.75]}]"

T=()
bench_timer_load "$W/nc.out"
bench_time_cells nocache
bench_row "no cache at all (status quo; own pairing)*" "${CELLS[@]}"
bench_value "$BENCH_NAME.nocache.cpu_ratio" "${T[nocache.cpu_ratio]}"
bench_note "* PYTHONDONTWRITEBYTECODE=1 and PYTHONPYCACHEPREFIX=<empty dir>: no pyc is read or written,"
bench_note "  every module compiles from source on every start (frozen start-up modules excepted, as always)"
