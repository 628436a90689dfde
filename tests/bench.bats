# The benchmark's smoke run (`make bench BENCH_QUICK=1`, scripts/bench/run):
# every measurement runs or is skipped with a reason, and the report judges
# every line of scripts/bench/targets.tsv.  No figure is checked here: speed
# is judged by `make bench`, never by a timed test.

load helpers

setup_file() {
	export NOPYC_BENCH=$NOPYC_TEST_ROOT/scripts/bench
}

@test "bench: BENCH_QUICK=1 runs every measurement and reports every target" {
	command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
		skip "valgrind not found (Debian: apt-get install valgrind): the smoke run's instruction counts need callgrind"
	local out=$BATS_TEST_TMPDIR
	run env BENCH_QUICK=1 NOPYC_LIB="$NOPYC_LIB" TMPDIR="$out" \
		BENCH_RESULTS="$out/results" BENCH_REPORT="$out/report.txt" "$NOPYC_BENCH/run"
	assert_success
	assert_file_exists "$out/report.txt"

	# every measurement file ran, each has its numbered section
	local f name n=0
	for f in "$NOPYC_BENCH"/p[0-9]*.sh; do
		name=${f##*/} name=${name#p[0-9]*-} name=${name%.sh}
		n=$((n + 1))
		assert_file_exists "$out/results/$name.result"
		grep -Eq "^$n\. " "$out/report.txt" || fail "no section $n ($name) in the report"
	done

	# every target, with a verdict; a missing figure says why
	local key what line count=0
	while IFS=$'\t' read -r key _ _ _ what; do
		[[ -z $key || $key == '#'* ]] && continue
		count=$((count + 1))
		line=$(grep -F "   $what  " "$out/report.txt") || fail "target missing from the report: $what"
		[[ $line =~ \ (ok|ok\ \(Ir\)|MISSED|n/a:\ .+)$ ]] || fail "no verdict (or no reason) for $what: $line"
		# with valgrind here, the per-call instruction counts are always measured
		[[ $key != percall-instructions.* || $line != *n/a:* ]] || fail "not measured: $line"
	done <"$NOPYC_BENCH/targets.tsv"
	((count > 0)) || fail "no targets in targets.tsv"
}
