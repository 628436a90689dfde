#!/usr/bin/env bash
# Django, instructions: the warm django.setup() of p30-django.sh under
# callgrind, natively against redirect ** to a tmpfs (full run only: about a
# minute of valgrind).  The native run gets environment entries of the same
# sizes (XX_PRELOAD), so Python's own work is the same.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "Django, instructions: warm django.setup() under callgrind"

((BENCH_QUICK)) && bench_skip "full run only (about a minute of valgrind)"
bench_need_valgrind
[[ -n $BENCH_DJANGO_PY ]] || bench_skip "$BENCH_DJANGO_WHY"
P3=$BENCH_DJANGO_PY
djsrc=$(bench_probe "$P3" 'import django, os; print(os.path.dirname(django.__file__))') ||
	die "cannot locate django with $P3"
for d in nat-warm red-any; do bench_copy_tree "$djsrc" "$W/$d/django"; done
code=$(<"$BENCH_DIR/django-setup.py") || die "cannot read django-setup.py"

native=("XX_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $BENCH_SHM/dj-warm" "PYTHONPATH=$W/nat-warm")
redirect=("LD_PRELOAD=$BENCH_LIB" "NOPYC_RULES=redirect ** $BENCH_SHM/dj-warm" "PYTHONPATH=$W/red-any")
# warm both: the tree's own __pycache__, and the TARGET on the tmpfs
env "${native[@]}" "$P3" -c "$code" "$W/nat-warm" >/dev/null || die "django.setup() failed"
env "${redirect[@]}" "$P3" -c "$code" "$W/red-any" >/dev/null || die "django.setup() under the shim failed"

say "callgrind: native, redirect"
bench_spawn bench_callgrind "$W/native" "${native[@]}" "$P3" -c "$code" "$W/nat-warm"
bench_spawn bench_callgrind "$W/redirect" "${redirect[@]}" "$P3" -c "$code" "$W/red-any"
bench_wait_all
a='' b='' m='' added='' pct='' ratio='' # set by bench_ir and bench_calc
bench_ir a "$W/native"
bench_ir b "$W/redirect"
bench_calc m 'sprintf("%.1fM", a / 1e6)' "a=$a"
bench_calc added 'sprintf("%+.2fM", (b - a) / 1e6)' "a=$a" "b=$b"
bench_calc pct 'sprintf("%+.2f%%", (b - a) * 100 / a)' "a=$a" "b=$b"
bench_calc ratio 'sprintf("%.6f", b / a)' "a=$a" "b=$b"
bench_value "$BENCH_NAME.native.ir" "$a"
bench_value "$BENCH_NAME.redirect.ir" "$b"
bench_value "$BENCH_NAME.redirect.ratio" "$ratio"

bench_note "Ir = instructions of one whole run, $P3"
bench_columns scenario "Ir" "added"
bench_row "native, warm __pycache__ (baseline)" "$m" ""
bench_row "redirect ** /dev/shm, warm" "" "$added $pct"
