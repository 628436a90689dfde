# The shim under AddressSanitizer + UBSan and under valgrind memcheck,
# inside a real interpreter and under hostile input.  (The decision core's C
# unit tests run under ASan and UBSan in `make unit`.)
#
# The ASan build is the documented one:
#   make BUILD=build/asan CFLAGS='-O1 -g -fsanitize=address,undefined ...'
#   LD_PRELOAD="$(gcc -print-file-name=libasan.so) build/asan/libnopyc.so" python ...
# (here into a temporary BUILD, so the test always builds the current code).

load hardening

setup_file() {
	local out=$BATS_FILE_TMPDIR/asan
	mkdir -p "$out"
	cc -std=gnu11 -Wall -Wextra -Werror -O1 -g -o "$BATS_FILE_TMPDIR/probe" \
		"$NOPYC_TEST_ROOT/tests/hardening/probe.c" >"$out.log" 2>&1 &&
		make -C "$NOPYC_TEST_ROOT" -s BUILD="$out" \
			CFLAGS='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined' \
			>>"$out.log" 2>&1 ||
		echo "ASan build failed: $(tail -5 "$out.log")" >"$BATS_FILE_TMPDIR/FAILED"
}

setup() {
	nopyc_setup
	[[ ! -e $BATS_FILE_TMPDIR/FAILED ]] || fail "$(<"$BATS_FILE_TMPDIR/FAILED")"
	SRC=$T/src
	TGT=$BATS_TEST_TMPDIR/target
	PROBE=$BATS_FILE_TMPDIR/probe
	mkdir -p "$SRC"
}

asan_setup() {
	LIBASAN=$(cc -print-file-name=libasan.so)
	[[ -f $LIBASAN ]] || skip "libasan.so not found (Debian package libasan8 / gcc)"
	ASAN_LIB=$BATS_FILE_TMPDIR/asan/libnopyc.so
	# The interpreter's own leaks are not ours; everything else aborts.
	export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=86
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
}

# asan_run CMD...: CMD with the ASan runtime and the ASan shim preloaded.
asan_run() {
	env LD_PRELOAD="$LIBASAN $ASAN_LIB" "$@"
}

refute_sanitizer_report() {
	if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|cannot be preloaded' <<<"$1"; then
		printf '%s\n' "$1" | head -60 | batslib_decorate "sanitizer report" | fail
	fi
}

@test "sanitizers: ASan+UBSan shim in an interpreter importing a 20-module tree under redirect (write, then read): no report" {
	asan_setup
	hard_python
	make_pkg "$SRC" pkg 20
	local i
	for i in 1 2; do
		NOPYC_RULES="redirect $SRC/** $TGT; deny **" run --separate-stderr asan_run \
			env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" -c "import sys; sys.path.insert(0, '$SRC'); import pkg; print(pkg.TOTAL)"
		refute_sanitizer_report "$stderr"
		assert_success
		assert_output 190
	done
	assert_no_caches "$SRC"
	assert_pycs "$TGT" 21
}

@test "sanitizers: ASan+UBSan shim in compileall under discard, deny and a bad config: no report" {
	asan_setup
	hard_python
	make_pkg "$SRC" pkg 5
	NOPYC_RULES="discard **" run --separate-stderr asan_run \
		env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" -m compileall -q "$SRC"
	refute_sanitizer_report "$stderr"
	assert_success
	NOPYC_RULES="deny **" run --separate-stderr asan_run \
		env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" -m compileall -q "$SRC"
	refute_sanitizer_report "$stderr"
	assert_failure 1
	NOPYC_RULES="deny **; bogus" run --separate-stderr asan_run \
		env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" -c "print('ran')"
	refute_sanitizer_report "$stderr"
	assert_output ran
	assert_no_caches "$SRC"
}

@test "sanitizers: ASan+UBSan shim under hostile rules, long paths and bad dirfds: no report" {
	asan_setup
	local long p fd op rules
	long=$(head -c 100000 /dev/zero | tr '\0' a)
	p=$(awk -v t="$T" 'BEGIN { d = sprintf("%250s", ""); gsub(/ /, "d", d); p = t; while (length(p) < 4300) p = p "/" d; print p "/__pycache__/m.cpython-311.pyc" }')
	echo x >"$T/file"
	for rules in "deny /$long/**; redirect $T/** $TGT" "deny /$long[" \
		"$(head -c 4000 /dev/urandom | tr -d '\0')" "redirect ** $TGT/%u/%%/x" \
		"allow **/[!a-z]*/***/\\[/**; discard **;;"; do
		for op in open-c mkdir stat unlink; do
			NOPYC_RULES=$rules run --separate-stderr asan_run "$PROBE" "$op" "$p"
			refute_sanitizer_report "$stderr"
			NOPYC_RULES=$rules run --separate-stderr asan_run "$PROBE" "$op" "${p:0:4095}"
			refute_sanitizer_report "$stderr"
			NOPYC_RULES=$rules run --separate-stderr asan_run "$PROBE" "$op" "/../..//$T/./x/../__pycache__/m.pyc"
			refute_sanitizer_report "$stderr"
		done
		for fd in closed -1 "notdir:$T/file" "dir:$T"; do
			NOPYC_RULES=$rules run --separate-stderr asan_run "$PROBE" openat-c "$fd" __pycache__/m.cpython-311.pyc.123
			refute_sanitizer_report "$stderr"
			NOPYC_RULES=$rules run --separate-stderr asan_run "$PROBE" renameat "$fd" __pycache__/a.pyc.1 __pycache__/a.pyc
			refute_sanitizer_report "$stderr"
		done
	done
	# the ASan shim was there and acted: the first rule set redirected (the
	# pyc made by open-c, then removed by unlink, in the mapped directory)
	assert_dir_exist "$TGT$T/__pycache__"
	assert_no_caches "$T"
}

# Valgrind error records (blocks between blank "==PID== " lines) that have
# a frame in the shim's sources or library.
nopyc_valgrind_errors() {
	awk '/^==[0-9]+== $/ { if (rec ~ /libnopyc|\/shim\/|nopyc\.h/) print rec; rec = ""; next }
	     { rec = rec $0 "\n" }
	     END { if (rec ~ /libnopyc|\/shim\/|nopyc\.h/) print rec }' "$1"
}

@test "sanitizers: valgrind memcheck of one interpreter importing a 10-module tree under redirect: no error with a libnopyc frame" {
	need_cmd valgrind valgrind
	hard_python
	make_pkg "$SRC" pkg 10
	# valgrind itself runs the interpreter (env would hide it from memcheck);
	# json and email.mime.text too: their paths ("_json", "__init__.py")
	# have a '_' that is no "__pycache__" in the block that ends the string,
	# whose bytes past the NUL memcheck holds undefined (a filter once
	# branched on them)
	run --separate-stderr env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" PYTHONMALLOC=malloc \
		NOPYC_RULES="redirect $SRC/** $TGT; deny **" LD_PRELOAD="$NOPYC_LIB" \
		valgrind -q --fullpath-after= --num-callers=40 --log-file="$BATS_TEST_TMPDIR/vg.log" \
		"$PY" -S -c "import sys; sys.path.insert(0, '$SRC'); import json, email.mime.text, pkg; print(pkg.TOTAL)"
	assert_success
	assert_output 45
	# the shim did its work under valgrind
	assert_pycs "$TGT" 11
	assert_no_caches "$SRC"
	local errors
	errors=$(nopyc_valgrind_errors "$BATS_TEST_TMPDIR/vg.log")
	[[ -z $errors ]] || { printf '%s\n' "$errors" | head -80 | batslib_decorate "valgrind errors in libnopyc" | fail; }
}

@test "sanitizers: valgrind memcheck of hostile calls (5000 rules, 4095-byte path, bad dirfd, redirect, discard): no error at all" {
	need_cmd valgrind valgrind
	local rules p
	rules=$(awk 'BEGIN { for (i = 0; i < 5000; i++) printf "deny /nomatch%d/**;", i }')
	p=$(awk -v t="$T" 'BEGIN { d = sprintf("%200s", ""); gsub(/ /, "d", d); p = t; while (length(p) < 4000) p = p "/" d; p = p "/__pycache__/m.pyc"; while (length(p) < 4095) p = p "c"; print substr(p, 1, 4095) }')
	echo x >"$T/file"
	vg() {
		LD_PRELOAD="$NOPYC_LIB" valgrind -q --error-exitcode=99 --fullpath-after= "$PROBE" "$@"
	}
	# valgrind before 3.20 does not know openat2 (syscall 437) and says so:
	# the library then opens through its own walk (at.c), which this
	# checks too.  Anything else valgrind says is an error.
	vg_quiet() {
		local other
		other=$(grep -v -e '^--[0-9]*-- ' <<<"$stderr" || true)
		[[ -z $other ]] || fail "valgrind: $other"
	}
	NOPYC_RULES="$rules; redirect $T/** $TGT" run --separate-stderr vg open-c "$T/__pycache__/m.cpython-311.pyc.42"
	assert_output "open-c ok"
	vg_quiet
	NOPYC_RULES="redirect $T/** $TGT" run --separate-stderr vg mkdir "$p"
	assert_success
	vg_quiet
	NOPYC_RULES="discard **" run --separate-stderr vg openat-c "notdir:$T/file" __pycache__/m.cpython-311.pyc
	assert_output "openat-c ENOTDIR"
	vg_quiet
	NOPYC_RULES="discard **" run --separate-stderr vg open-c "$T/__pycache__/m.cpython-311.pyc"
	assert_output "open-c ok"
	vg_quiet
	assert_file_exist "$TGT$T/__pycache__/m.cpython-311.pyc.42"
}
