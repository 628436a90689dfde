#!/usr/bin/env bats
# Coverage of the C library, checked (issue 11): scripts/libc-coverage lists
# every exported function of the C library at hand that takes a path (from
# its dynamic symbol table and its headers' prototypes) and fails when one
# is neither wrapped by the library built for it nor listed, with a reason,
# in scripts/libc-coverage.list.  Run for the native glibc, the 32-bit glibc
# and musl, each against its own build of the library.

load helpers

setup_file() {
	COVERAGE=$NOPYC_TEST_ROOT/scripts/libc-coverage
	export COVERAGE
	# the headers are read once per C library for the whole file
	LIBC_COVERAGE_CACHE=$BATS_FILE_TMPDIR/protos
	export LIBC_COVERAGE_CACHE
}

setup() {
	nopyc_clean_env
	[[ -f $NOPYC_LIB ]] || fail "$NOPYC_LIB not found: run make first"
	command -v clang >/dev/null || skip "clang is not installed (apt-get install clang): the headers are read with it"
}

# build_lib CC...: the library built with CC, into $LIB.
build_lib() {
	local b
	b=$BATS_FILE_TMPDIR/build-$(tr -c 'a-zA-Z0-9\n' _ <<<"$*")
	run make -C "$NOPYC_TEST_ROOT" BUILD="$b" CC="$*" "$b/libnopyc.so"
	assert_success
	LIB=$b/libnopyc.so
}

# coverage KIND LIB: the check passes, and its summary counts something real.
coverage() {
	run "$COVERAGE" "$1" "$2"
	((status != 77)) || skip "$output"
	assert_success
	assert_line --regexp "^libc-coverage: $1 \\(.*\\): [0-9]+ exported functions, [0-9]+ take a path: [0-9]+ wrapped, [0-9]+ left alone, [0-9]+ not really a path"
	local path wrapped
	read -r path wrapped < <(sed -nE 's/.* ([0-9]+) take a path: ([0-9]+) wrapped.*/\1 \2/p' <<<"$output")
	((path > 100 && wrapped > 50)) || fail "implausible counts: $path take a path, $wrapped wrapped"
}

@test "coverage: every path-taking function of the native glibc is wrapped or left alone for a reason" {
	coverage glibc "$NOPYC_LIB"
	# the names issue 11 found missing are among the wrapped
	run "$COVERAGE" --table glibc "$NOPYC_LIB"
	local name
	for name in remove mkfifo mkfifoat mknod mknodat __xmknod __xmknodat mkstemp mkostemp \
		mkstemps mkostemps mkstemp64 mkdtemp setxattr lsetxattr removexattr lremovexattr \
		__readlink_chk __readlinkat_chk; do
		assert_line "$name wrapped"
	done
	assert_line --regexp '^execve leave .+'
}

@test "coverage: the 32-bit glibc, with its _TIME_BITS=64 names" {
	printf 'int main(void){return 0;}\n' | cc -m32 -x c -o "$BATS_TEST_TMPDIR/m32" - 2>/dev/null ||
		skip "no 32-bit toolchain (apt-get install gcc-multilib)"
	build_lib cc -m32
	coverage glibc-i386 "$LIB"
	run "$COVERAGE" --table glibc-i386 "$LIB"
	local name
	for name in __utimes64 __utimensat64 __stat64_time64 __fstatat64_time64 __lstat64_time64 \
		__utime64 __lutimes64 __futimesat64; do
		assert_line "$name wrapped"
	done
}

@test "coverage: musl" {
	command -v musl-gcc >/dev/null || skip "no musl-gcc (apt-get install musl-tools)"
	build_lib musl-gcc
	coverage musl "$LIB"
}

@test "coverage: the check fails on a path-taking function nothing covers, and names it" {
	# a library that wraps nothing: every path function not listed is missing
	printf 'int nopyc_nothing(void) { return 0; }\n' >"$BATS_TEST_TMPDIR/none.c"
	cc -shared -fPIC -o "$BATS_TEST_TMPDIR/libnone.so" "$BATS_TEST_TMPDIR/none.c"
	run "$COVERAGE" glibc "$BATS_TEST_TMPDIR/libnone.so"
	((status != 77)) || skip "$output"
	assert_failure 1
	assert_output --regexp 'path-taking functions neither wrapped nor listed in .*libc-coverage.list:.* mkdir .*'
	assert_output --regexp ' open .*'
	assert_output --regexp ' rename .*'
}

@test "coverage: the reviewed list gives a reason on every line" {
	run awk '!/^[[:space:]]*(#|$)/ && (NF < 3 || $2 !~ /^(leave|notpath|undeclared)$/)' \
		"$NOPYC_TEST_ROOT/scripts/libc-coverage.list"
	assert_output ''
}
