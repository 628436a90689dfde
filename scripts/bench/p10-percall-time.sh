#!/usr/bin/env bash
# Per call, time: the C loop (percall.c) calling stat64 / open64+close /
# access on a non-cache and a cache path, with and without the shim (the
# cases are in lib.sh, bench_percall_setup).  Two measurements a case:
#   ns none/shim: CPU ns per call of separate processes, with and without the
#       shim, all processes interleaved (direction alternating every round);
#   A/B: one process with the shim alternating batches of calls between the
#       shim and libc's own symbol: added ns per call and ratio (the precise
#       time measurement: one process, one cache state, one moment of load).
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "Per call, time: C loop (scripts/bench/percall.c)"

if ((BENCH_QUICK)); then R=3 N=20000 AB_N=10000; else R=15 N=50000 AB_N=40000; fi
bench_percall_setup
mkdir -p "$BENCH_SHM/percall"

# The processes: one per (op, path, rules) without the shim and with it, and
# one A/B process per case; an id names each one's file of figures.
declare -A procs=()
for c in "${PC_CASES[@]}"; do
	IFS='|' read -r _ _ op path rules <<<"$c"
	procs["pc|$op|$path|none"]=1
	procs["pc|$op|$path|$rules"]=1
	procs["ab|$op|$path|$rules"]=1
done
declare -A pid_of=()
keys=()
i=0
for k in "${!procs[@]}"; do
	keys+=("$k")
	pid_of[$k]=p$((i++))
done
sorted=$(printf '%s\n' "${keys[@]}" | sort) || die "sort failed"
mapfile -t keys <<<"$sorted"

declare -A K=()
kv_load() { # LINE: its KEY=VALUE words into K
	local w
	local -a words
	read -ra words <<<"$1"
	K=()
	for w in "${words[@]}"; do K[${w%%=*}]=${w#*=}; done
}

say "$R rounds x $N calls, A/B $AB_N calls"
for ((round = 0; round < R; round++)); do
	# alternate direction each round so no process always runs first
	order=("${keys[@]}")
	if ((round % 2)); then
		order=()
		for ((j = ${#keys[@]} - 1; j >= 0; j--)); do order+=("${keys[j]}"); done
	fi
	for k in "${order[@]}"; do
		IFS='|' read -r kind op path rules <<<"$k"
		bench_percall_env "$rules"
		f=$W/${pid_of[$k]}
		if [[ $kind == ab ]]; then
			res=$(env "${PC_ENV[@]}" "$BENCH_PERCALL" "$op" "$path" "$AB_N" ab) || die "A/B run failed: $k"
			kv_load "$res"
			echo "$round ${K[a_ns]} ${K[b_ns]} ${K[added_ns]} ${K[ratio]}" >>"$f"
		else
			res=$(env "${PC_ENV[@]}" "$BENCH_PERCALL" "$op" "$path" "$N") || die "per-call run failed: $k"
			kv_load "$res"
			echo "$round ${K[cpu_ns_per_call]} ${K[maxrss_kb]} ${K[ns_per_call]}" >>"$f"
		fi
	done
done

bench_note "median of $R rounds"
bench_note "ns none/shim: cpu ns per call of separate processes ($N calls) with and without the shim, interleaved"
bench_note "A/B: one process with the shim, $AB_N calls alternating in batches of 500 between the shim and"
bench_note "     libc's own symbol: added ns per call and ratio (the precise time measurement)"
bench_note "non-cache path: $PC_NC; long: $PC_LONG"
bench_note "cache path: $PC_CP (deny ** passes reads; redirect ** to a tmpfs overlays: target first, then the original)"
bench_columns "call, path, rules" "ns none" "ns shim" "ratio [p25-p75]" "A/B +ns" "A/B"
for c in "${PC_CASES[@]}"; do
	IFS='|' read -r id label op path rules <<<"$c"
	fb=$W/${pid_of["pc|$op|$path|none"]}
	fs=$W/${pid_of["pc|$op|$path|$rules"]}
	fa=$W/${pid_of["ab|$op|$path|$rules"]}
	nb=$(awk '{print $2}' "$fb" | median) || die "no figures in $fb"
	ns=$(awk '{print $2}' "$fs" | median) || die "no figures in $fs"
	# ratio of the two processes of the same round
	sort -k1,1 "$fs" >"$fs.sorted"
	sort -k1,1 "$fb" >"$fb.sorted"
	ratios=$(join "$fs.sorted" "$fb.sorted" | awk '{print $2 / $5}') || die "cannot pair rounds"
	rm_=$(median <<<"$ratios") || die "median failed"
	r25=$(bench_quantile 0.25 <<<"$ratios") || die "quantile failed"
	r75=$(bench_quantile 0.75 <<<"$ratios") || die "quantile failed"
	abadd=$(awk '{print $4}' "$fa" | median) || die "no figures in $fa"
	abr=$(awk '{print $5}' "$fa" | median) || die "no figures in $fa"
	bench_value "$BENCH_NAME.$id.ab_added_ns" "$abadd"
	bench_value "$BENCH_NAME.$id.ab_ratio" "$abr"
	bench_value "$BENCH_NAME.$id.ratio" "$rm_"
	bench_fmt nb %.0f "$nb"
	bench_fmt ns %.0f "$ns"
	bench_fmt rm_ %.3f "$rm_"
	bench_fmt r25 %.2f "$r25"
	bench_fmt r75 %.2f "$r75"
	bench_fmt abadd %+.1f "$abadd"
	bench_fmt abr %.3f "$abr"
	bench_row "$label" "$nb" "$ns" "$rm_ [$r25-$r75]" "$abadd" "$abr"
done
