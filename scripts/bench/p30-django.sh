#!/usr/bin/env bash
# Django, time: django.setup() with 6 contrib apps, from copies of the Django
# that $BENCH_DJANGO_PY imports (so no cache of the installed one is used),
# natively against redirect ** to a tmpfs: cold (caches removed before each
# run) and warm.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "Django, time: django.setup() with 6 contrib apps"

[[ -n $BENCH_DJANGO_PY ]] || bench_skip "$BENCH_DJANGO_WHY"
if ((BENCH_QUICK)); then R=2 COLD_R=2; else R=12 COLD_R=8; fi
P3=$BENCH_DJANGO_PY
djsrc=$(bench_probe "$P3" 'import django, os; print(os.path.dirname(django.__file__))') ||
	die "cannot locate django with $P3"
djver=$(bench_probe "$P3" 'import django; print(django.get_version())') || die "cannot ask django its version"
for d in nat-warm nat-cold red-any; do bench_copy_tree "$djsrc" "$W/$d/django"; done
code=$(<"$BENCH_DIR/django-setup.py") || die "cannot read django-setup.py"

nmods=$(PYTHONPATH=$W/nat-warm "$P3" -c "$code" "$W/nat-warm") || die "django.setup() failed" # also warms it
say "$R rounds warm, $COLD_R cold"
bench_time warm 14 "$R" 1 -- \
	native "PYTHONPATH=$W/nat-warm" "$P3" -c "$code" "$W/nat-warm" \
	:: redirect "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $BENCH_SHM/dj-warm" "PYTHONPATH=$W/red-any" "$P3" -c "$code" "$W/red-any"
bench_time cold 15 "$COLD_R" 1 -- \
	native "prep=find $W/nat-cold -name __pycache__ -prune -exec rm -rf {} +" "PYTHONPATH=$W/nat-cold" "$P3" -c "$code" "$W/nat-cold" \
	:: redirect "prep=rm -rf $BENCH_SHM/dj-cold" "LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $BENCH_SHM/dj-cold" "PYTHONPATH=$W/red-any" "$P3" -c "$code" "$W/red-any"
written=$(find "$W/red-any" -name __pycache__ -print -quit) || die "cannot search $W/red-any"
[[ -z $written ]] || die "redirect wrote into the Django tree: $written"

bench_note "Django $djver ($djsrc) copied to a temp tree, $P3 ($nmods modules);"
bench_note "median of $R rounds warm, $COLD_R cold (caches removed before each cold run)"
bench_columns scenario "wall ms" "wall ratio" "cpu ms" "cpu ratio"
declare -A ms=()
for s in "cold|native|native, cold (baseline for cold)" "cold|redirect|redirect ** /dev/shm, cold" \
	"warm|native|native, warm __pycache__ (baseline for warm)" "warm|redirect|redirect ** /dev/shm, warm"; do
	IFS='|' read -r g n label <<<"$s"
	T=()
	bench_timer_load "$W/$g.out"
	bench_time_cells "$n"
	bench_row "$label" "${CELLS[@]}"
	bench_value "$BENCH_NAME.$g.$n.cpu_ms" "${T[$n.cpu_ms]}"
	if [[ $n == native ]]; then
		ms[$g]=${T[native.median_ms]}
	else
		bench_value "$BENCH_NAME.$g.$n.cpu_ratio" "${T[$n.cpu_ratio]}"
	fi
done
cw=''
bench_calc cw 'sprintf("%.2f", c / w)' "c=${ms[cold]}" "w=${ms[warm]}"
bench_note "native cold / native warm: ${cw}x"
