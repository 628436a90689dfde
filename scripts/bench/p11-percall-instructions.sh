#!/usr/bin/env bash
# Per call, instructions: the C loop (percall.c) of every per-call case under
# callgrind, counting only the loop (--toggle-collect=bench_loop), with N and
# 2N iterations: (Ir(2N) - Ir(N)) / N is the cost of one call, the one-off
# costs (lazy binding, the shim's first-use set-up) cancel.  Noise-free: the
# cross-check of the time figures, and the per-call target.  Also which
# functions the added instructions go to, for four cases.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "Per call, instructions: C loop under callgrind"
bench_need_valgrind

if ((BENCH_QUICK)); then N=2000; else N=20000; fi
bench_percall_setup
mkdir -p "$BENCH_SHM/percall"

# One process per (op, path, rules): a case's baseline and its shim run.
declare -A procs=()
for c in "${PC_CASES[@]}"; do
	IFS='|' read -r _ _ op path rules <<<"$c"
	procs["$op|$path|none"]=1
	procs["$op|$path|$rules"]=1
done
declare -A pid_of=()
i=0
for k in "${!procs[@]}"; do pid_of[$k]=p$((i++)); done

run_one() { # KEY N
	local op path rules
	IFS='|' read -r op path rules <<<"$1"
	bench_percall_env "$rules"
	bench_callgrind "$W/${pid_of[$1]}.$2" "${PC_ENV[@]}" --toggle-collect=bench_loop \
		"$BENCH_PERCALL" "$op" "$path" "$2"
}
say "callgrind, N=$N and 2N, ${#procs[@]} processes"
for k in "${!procs[@]}"; do
	bench_spawn run_one "$k" "$N"
	bench_spawn run_one "$k" $((2 * N))
done
bench_wait_all

declare -A ir=()
a='' b='' added='' # set by bench_ir and bench_calc
for k in "${!procs[@]}"; do
	bench_ir a "$W/${pid_of[$k]}.$N"
	bench_ir b "$W/${pid_of[$k]}.$((2 * N))"
	bench_calc "ir[${pid_of[$k]}]" '(b - a) / n' "a=$a" "b=$b" "n=$N"
done

# cg_funcs KEY: per-call instructions by function, (2N - N) / N, as
# "function<TAB>count" lines
cg_funcs() {
	local f=$W/${pid_of[$1]} n
	for n in "$N" $((2 * N)); do
		callgrind_annotate --threshold=100 --show-percs=no --auto=no "$f.$n" |
			awk -v n="$n" '/file:function/ {on = 1; next} on && /^-/ {if (seen) exit; next}
			    on && $1 ~ /^[0-9,]+$/ {seen = 1; c = $1; gsub(",", "", c); $1 = ""; sub(/^ +/, ""); sub(/ \[.*\]$/, "")
			    m = split($0, p, "/"); print n "\t" c "\t" p[m]}'
	done | awk -F'\t' -v N="$N" '{if ($1 == N) a[$3] += $2; else b[$3] += $2; k[$3] = 1}
	    END {for (f in k) printf "%s\t%.1f\n", f, (b[f] - a[f]) / N}' | sort -t $'\t' -k1,1
}
# added_by_function CASE: shim minus baseline, per function, largest first,
# the first eight as one line
added_by_function() {
	local op path rules shim base
	IFS='|' read -r _ _ op path rules <<<"$1"
	shim=$(cg_funcs "$op|$path|$rules") || die "callgrind_annotate failed"
	base=$(cg_funcs "$op|$path|none") || die "callgrind_annotate failed"
	printf '%s\n' "$shim" >"$W/funcs.shim"
	printf '%s\n' "$base" >"$W/funcs.base"
	join -t $'\t' -a1 -a2 -e 0 -o 0,1.2,2.2 "$W/funcs.shim" "$W/funcs.base" |
		awk -F'\t' '{d = $2 - $3; if (d >= 0.5 || d <= -0.5) printf "%.0f\t%s\n", d, $1}' |
		sort -t $'\t' -k1,1nr | head -8 |
		awk -F'\t' '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1} END {print ""}'
}

bench_note "instructions per call in user space, (2N - N)/N with N=$N"
bench_note "default rules (deny **): a read cannot be changed, so it skips even the path filter; under a"
bench_note "redirect rule (or NOPYC_LOG/NOPYC_STATS) every read, and under any rules every write, runs it"
bench_note "non-cache path: $PC_NC; long: $PC_LONG; cache path: $PC_CP"
bench_columns "call, path, rules" "Ir none" "Ir shim" "Ir +"
for c in "${PC_CASES[@]}"; do
	IFS='|' read -r id label op path rules <<<"$c"
	ib=${ir[${pid_of["$op|$path|none"]}]}
	is=${ir[${pid_of["$op|$path|$rules"]}]}
	bench_calc added 'a - b' "a=$is" "b=$ib"
	bench_value "$BENCH_NAME.$id.none" "$ib"
	bench_value "$BENCH_NAME.$id.shim" "$is"
	bench_value "$BENCH_NAME.$id.added" "$added"
	bench_fmt ib %.0f "$ib"
	bench_fmt is %.0f "$is"
	bench_fmt added %+.0f "$added"
	bench_row "$label" "$ib" "$is" "$added"
done
# The filter reads a string in aligned 32-byte blocks, so its cost depends
# on where the string starts: the long path under redirect at each of the
# 32 offsets from a block's start (PERCALL_OFFSET, percall.c), with and
# without the shim; the worst offset is the one the target judges.
sweep_one() { # RULES OFFSET N
	bench_percall_env "$1"
	bench_callgrind "$W/sweep.$1.$2.$3" "${PC_ENV[@]}" "PERCALL_OFFSET=$2" \
		--toggle-collect=bench_loop "$BENCH_PERCALL" stat "$PC_LONG" "$3"
}
say "callgrind, the long path at 32 offsets"
for k in {0..31}; do
	for r in none redirect; do
		bench_spawn sweep_one "$r" "$k" "$N"
		bench_spawn sweep_one "$r" "$k" $((2 * N))
	done
done
bench_wait_all
worst='' best='' worst_at=0
for k in {0..31}; do
	for r in none redirect; do
		bench_ir a "$W/sweep.$r.$k.$N"
		bench_ir b "$W/sweep.$r.$k.$((2 * N))"
		bench_calc "per_$r" '(b - a) / n' "a=$a" "b=$b" "n=$N"
	done
	bench_calc added 'a - b' "a=$per_redirect" "b=$per_none"
	bench_calc more 'a > w' "a=$added" "w=${worst:--1e9}"
	bench_calc less 'a < w' "a=$added" "w=${best:-1e9}"
	[[ $more == 1 ]] && worst=$added worst_at=$k
	[[ $less == 1 ]] && best=$added
done
bench_value "$BENCH_NAME.stat-long-redirect.worst" "$worst"
bench_value "$BENCH_NAME.stat-long-redirect.best" "$best"
bench_fmt worst %.0f "$worst"
bench_fmt best %.0f "$best"
bench_note "stat64, long non-cache path, redirect, at each of the 32 offsets from a 32-byte boundary: +$best to +$worst (worst at offset $worst_at)"

for c in "${PC_CASES[@]}"; do
	IFS='|' read -r id label _ <<<"$c"
	case $id in
	stat-nc | stat-nc-redirect | stat-cache-deny | stat-cache-redirect)
		line=$(added_by_function "$c") || die "cannot break down $id"
		bench_note "added instructions per call by function ($label): $line"
		;;
	esac
done
