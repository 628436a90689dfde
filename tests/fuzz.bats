# libFuzzer (clang, with ASan and UBSan) on the decision core: the rule
# parser, the path normaliser + cache-path classifier, and the glob matcher
# (tests/fuzz/fuzz_*.c, which also check results against reference
# implementations).  Here each target runs a few seconds from its seed corpus
# (tests/fuzz/corpus/<target>/), and every saved crash input
# (tests/fuzz/regressions/<target>/) is replayed.  The long run is
#   make fuzz FUZZ_SECONDS=300
# which builds into build/fuzz/ and keeps what it finds there.

load hardening

setup_file() {
	FUZZ_BUILD=$BATS_FILE_TMPDIR/b
	export FUZZ_BUILD
	# clang and its libFuzzer runtime (Debian clang, libclang-rt-dev)
	command -v clang >/dev/null 2>&1 || try_install clang libclang-rt-dev || true
	command -v clang >/dev/null 2>&1 || return 0   # the tests skip
	make -C "$NOPYC_TEST_ROOT" -s -j2 BUILD="$FUZZ_BUILD" \
		"$FUZZ_BUILD/fuzz/fuzz_rules" "$FUZZ_BUILD/fuzz/fuzz_path" "$FUZZ_BUILD/fuzz/fuzz_glob" \
		>"$BATS_FILE_TMPDIR/build.log" 2>&1 ||
		echo "building the fuzz targets failed: $(tail -20 "$BATS_FILE_TMPDIR/build.log")" >"$BATS_FILE_TMPDIR/FAILED"
}

setup() {
	nopyc_clean_env
	need_cmd clang clang libclang-rt-dev
	[[ ! -e $BATS_FILE_TMPDIR/FAILED ]] || fail "$(<"$BATS_FILE_TMPDIR/FAILED")"
	FUZZ_SRC=$NOPYC_TEST_ROOT/tests/fuzz
}

# fuzz_for TARGET SECONDS: run it from a copy of its seeds; a crash fails the
# test with the reproducer's location.
fuzz_for() {
	local t=$1 secs=$2 work=$BATS_TEST_TMPDIR/corpus
	mkdir -p "$work" "$BATS_TEST_TMPDIR/art"
	run "$FUZZ_BUILD/fuzz/fuzz_$t" -seed=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$BATS_TEST_TMPDIR/art/$t-" "$work" "$FUZZ_SRC/corpus/$t"
	if ((status != 0)); then
		{
			printf '%s\n' "$output" | grep -E 'check failed|ERROR|SUMMARY|runtime error|pattern|Test unit written' | head -20
			echo "reproduce: $FUZZ_BUILD/fuzz/fuzz_$t $(ls "$BATS_TEST_TMPDIR"/art/* 2>/dev/null | head -1)"
			echo "then save the input under tests/fuzz/regressions/$t/"
		} | batslib_decorate "fuzz_$t found a crash" | fail
	fi
	assert_output --partial "Done "
}

# replay TARGET: every seed and regression input, once each.
replay() {
	local t=$1
	local -a inputs
	inputs=("$FUZZ_SRC/corpus/$t"/*)
	[[ -d $FUZZ_SRC/regressions/$t ]] && inputs+=("$FUZZ_SRC/regressions/$t"/*)
	run "$FUZZ_BUILD/fuzz/fuzz_$t" "${inputs[@]}"
	if ((status != 0)); then
		printf '%s\n' "$output" | grep -E 'Running:|check failed|ERROR|SUMMARY|runtime error' | tail -8 |
			batslib_decorate "fuzz_$t fails on a saved input" | fail
	fi
	assert_equal "$(grep -c '^Executed ' <<<"$output")" "${#inputs[@]}"
}

@test "fuzz: rule parser (nopyc_rules_parse + match + decide): seeds and saved regressions run clean" {
	replay rules
}

@test "fuzz: rule parser: 5 s of libFuzzer from the seed corpus finds nothing" {
	fuzz_for rules 5
}

@test "fuzz: path normaliser + classify: seeds and saved regressions run clean" {
	replay path
}

@test "fuzz: path normaliser + classify: 5 s of libFuzzer from the seed corpus finds nothing" {
	fuzz_for path 5
}

@test "fuzz: glob matcher: seeds and saved regressions run clean" {
	replay glob
}

@test "fuzz: glob matcher: 5 s of libFuzzer from the seed corpus finds nothing" {
	fuzz_for glob 5
}

@test "fuzz: 'make fuzz' (the documented long run) works: FUZZ_SECONDS=1 FUZZ_TARGETS=glob" {
	run make -C "$NOPYC_TEST_ROOT" -s BUILD="$FUZZ_BUILD" fuzz FUZZ_SECONDS=1 FUZZ_TARGETS=glob
	assert_success
	assert_output --partial "fuzz: glob: 1 s"
	assert_dir_exist "$FUZZ_BUILD/fuzz/corpus/glob"
}
