#!/usr/bin/env bash
# Start-up, instructions: one whole run of the import-heavy command under
# callgrind, for the scenarios of startup-time (a smoke run: the baseline and
# deny ** only).  Noise-free: the cross-check of the start-up time targets.
# The baseline gets environment entries of the same sizes as deny **
# (XX_PRELOAD instead of LD_PRELOAD), so Python's own work (os.environ) is
# the same in every run; redirect and prefix run once natively first, so
# their caches on the tmpfs are warm.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "Start-up, instructions: the command of startup-time under callgrind"
bench_need_valgrind

if ((BENCH_QUICK)); then S=(base deny); else S=(base allow deny redirect prefix); fi
PY=$BENCH_PY
bench_warm_python

envs_of() { # SCENARIO: sets E
	case $1 in
	base) E=("XX_PRELOAD=$BENCH_LIB" "NOPYC_RULES=deny **") ;;
	allow) E=("LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=allow **") ;;
	deny) E=("LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=deny **") ;;
	redirect) E=("LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $BENCH_SHM/redirect") ;;
	prefix) E=("PYTHONPYCACHEPREFIX=$BENCH_SHM/prefix") ;;
	esac
}
for s in redirect prefix; do
	envs_of "$s"
	env "${E[@]}" "$PY" -c "$BENCH_IMPORTS" || die "warming $s failed"
done

say "callgrind: ${S[*]}"
for s in "${S[@]}"; do
	envs_of "$s"
	bench_spawn bench_callgrind "$W/$s" "${E[@]}" "$PY" -c "$BENCH_IMPORTS"
done
bench_wait_all

declare -A ir=()
for s in "${S[@]}"; do bench_ir "ir[$s]" "$W/$s"; done

bench_note "Ir = instructions of one whole run; added = against the baseline"
bench_columns scenario "Ir" "added"
m='' added='' pct='' ratio='' # set by bench_calc
for s in "base|no shim, warm __pycache__ (baseline)" "allow|shim, allow **" \
	"deny|shim, deny ** (default), warm" "redirect|shim, redirect ** /dev/shm/..., warm" \
	"prefix|PYTHONPYCACHEPREFIX=/dev/shm/..., warm"; do
	n=${s%%|*}
	if [[ -z ${ir[$n]:-} ]]; then
		bench_na "$BENCH_NAME.$n.ratio" "full run only"
		continue
	fi
	bench_value "$BENCH_NAME.$n.ir" "${ir[$n]}"
	if [[ $n == base ]]; then
		bench_calc m 'sprintf("%.1fM", a / 1e6)' "a=${ir[$n]}"
		bench_row "${s#*|}" "$m" ""
		continue
	fi
	bench_calc ratio 'sprintf("%.6f", a / b)' "a=${ir[$n]}" "b=${ir[base]}"
	bench_calc added 'sprintf("%+.2fM", (a - b) / 1e6)' "a=${ir[$n]}" "b=${ir[base]}"
	bench_calc pct 'sprintf("%+.2f%%", (a - b) * 100 / b)' "a=${ir[$n]}" "b=${ir[base]}"
	bench_value "$BENCH_NAME.$n.ratio" "$ratio"
	bench_row "${s#*|}" "" "$added $pct"
done
if [[ -n ${ir[redirect]:-} && -n ${ir[prefix]:-} ]]; then
	bench_calc added 'sprintf("%+.2fM", (a - b) / 1e6)' "a=${ir[redirect]}" "b=${ir[prefix]}"
	bench_calc pct 'sprintf("%+.2f%%", (a - b) * 100 / b)' "a=${ir[redirect]}" "b=${ir[prefix]}"
	bench_calc ratio 'sprintf("%.6f", a / b)' "a=${ir[redirect]}" "b=${ir[prefix]}"
	bench_value "$BENCH_NAME.redirect-prefix.ratio" "$ratio"
	# "not slower": equal within 0.1% of instructions counts as not slower
	bench_calc ratio 'sprintf("%.6f", a / b - 0.001)' "a=${ir[redirect]}" "b=${ir[prefix]}"
	bench_value "$BENCH_NAME.redirect-prefix.ratio_within_0.1pct" "$ratio"
	bench_row "redirect / PYTHONPYCACHEPREFIX" "" "$added $pct"
else
	bench_na "$BENCH_NAME.redirect-prefix.ratio_within_0.1pct" "full run only"
fi
