#!/usr/bin/env bash
# Memory: the peak RSS (from wait4's rusage, median of the rounds) the shim
# adds to the import-heavy start-up under allow **, deny ** and redirect **,
# and to the per-call C loop under the default rules; and what the library's
# own mappings keep resident (smaps; file pages come in by fault-around, so
# about the mapped size), the deterministic part.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "Memory: peak RSS (median of the rounds, from wait4/getrusage)"

if ((BENCH_QUICK)); then R=3; else R=10; fi
PY=$BENCH_PY
bench_warm_python
bench_percall_setup

say "$R rounds"
bench_time st 16 "$R" 1 -- \
	base "$PY" -c "$BENCH_IMPORTS" \
	:: allow "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=allow **" "$PY" -c "$BENCH_IMPORTS" \
	:: deny "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=deny **" "$PY" -c "$BENCH_IMPORTS" \
	:: redirect "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $BENCH_SHM/redirect" "$PY" -c "$BENCH_IMPORTS"
bench_time loop 17 "$R" 1 -- \
	base "$BENCH_PERCALL" stat "$PC_NC" 50000 \
	:: default "LD_PRELOAD=$BENCH_LIB" "$BENCH_PERCALL" stat "$PC_NC" 50000

bench_columns "process" "peak RSS KiB" "added KiB"
bench_timer_load "$W/st.out"
rb=${T[base.maxrss_kb]}
for n in allow deny redirect; do
	rs=${T[$n.maxrss_kb]}
	bench_value "$BENCH_NAME.$n.added_kib" $((rs - rb))
	printf -v add '%+d' $((rs - rb))
	bench_row "python start-up, shim $n" "$rs" "$add"
done
bench_row "python start-up, no shim" "$rb" ""
T=()
bench_timer_load "$W/loop.out"
rb=${T[base.maxrss_kb]}
rs=${T[default.maxrss_kb]}
printf -v add '%+d' $((rs - rb))
bench_row "C loop (stat64), shim default rules" "$rs" "$add"
bench_row "C loop (stat64), no shim" "$rb" ""

sm=$(env "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $BENCH_SHM/redirect" "$PY" -c \
	"$BENCH_IMPORTS; import sys; sys.stdout.write(open('/proc/self/smaps').read())" |
	awk -v lib="$BENCH_LIB" '/^[0-9a-f]+-[0-9a-f]+ / {cur = ($6 == lib)}
	    cur && /^Rss:/ {r += $2} cur && /^Private_Dirty:/ {d += $2} END {printf "%d %d", r, d}') ||
	die "cannot read the smaps of a python start-up"
bench_value "$BENCH_NAME.resident_kib" "${sm% *}"
bench_note "libnopyc.so mappings resident (smaps, python start-up, redirect): ${sm% *} KiB (private dirty ${sm#* } KiB)"
