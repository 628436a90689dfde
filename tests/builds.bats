# Other builds: the shim builds without a warning with gcc and clang, as a
# 32-bit library (gcc -m32, Debian gcc-multilib) and against musl (Debian
# musl-tools, musl-gcc), and works there: a 32-bit and a musl-linked program
# (tests/hardening/probe.c) get their cache calls decided, and the
# symbol-coverage program (tests/c/symbols.c) passes under each build.
# Each build goes to a temporary BUILD through the Makefile, which honours
# CC, CFLAGS and BUILD.

load hardening

setup() {
	nopyc_setup
	TGT=$BATS_TEST_TMPDIR/target
}

# build_shim CC...: make the library with that compiler into $B (one per
# compiler for the whole file: make only rebuilds what changed); no warning.
build_shim() {
	B=$BATS_FILE_TMPDIR/build-$(tr -c 'a-zA-Z0-9\n' _ <<<"$*")
	run make -C "$NOPYC_TEST_ROOT" -j2 BUILD="$B" CC="$*" "$B/libnopyc.so" "$B/wrapped-symbols"
	assert_success
	refute_output --partial "warning:"
	assert_file_exist "$B/libnopyc.so"
}

# probe_checks LIB PROBE: the probe program under LIB: deny, redirect and
# discard act, a bad dirfd keeps libc's errno, other paths go through.
probe_checks() {
	local lib=$1 probe=$2
	mkdir -p "$T/src" && echo x >"$T/file"
	NOPYC_RULES="deny **" run env LD_PRELOAD="$lib" "$probe" mkdir "$T/src/__pycache__"
	assert_output "mkdir EROFS"
	NOPYC_RULES="deny **" run env LD_PRELOAD="$lib" "$probe" open-c "$T/src/m.pyc"
	assert_output "open-c EROFS"
	NOPYC_RULES="deny **" run env LD_PRELOAD="$lib" "$probe" mkdir "$T/src/plain"
	assert_output "mkdir ok"
	NOPYC_RULES="redirect $T/src/** $TGT" run env LD_PRELOAD="$lib" "$probe" open-c "$T/src/__pycache__/m.cpython-311.pyc.77"
	assert_output "open-c ok"
	assert_file_exist "$TGT$T/src/__pycache__/m.cpython-311.pyc.77"
	NOPYC_RULES="redirect $T/src/** $TGT" run env LD_PRELOAD="$lib" "$probe" rename \
		"$T/src/__pycache__/m.cpython-311.pyc.77" "$T/src/__pycache__/m.cpython-311.pyc"
	assert_output "rename ok"
	assert_file_exist "$TGT$T/src/__pycache__/m.cpython-311.pyc"
	NOPYC_RULES="redirect $T/src/** $TGT" run env LD_PRELOAD="$lib" "$probe" stat "$T/src/__pycache__/m.cpython-311.pyc"
	assert_output "stat ok"
	NOPYC_RULES="discard **" run env LD_PRELOAD="$lib" "$probe" fopen-w "$T/src/x.pyc"
	assert_output "fopen-w ok"
	NOPYC_RULES="deny **" run env LD_PRELOAD="$lib" "$probe" openat-c "notdir:$T/file" __pycache__/m.pyc
	assert_output "openat-c ENOTDIR"
	NOPYC_RULES="deny **" run env LD_PRELOAD="$lib" "$probe" mkdirat closed __pycache__
	assert_output "mkdirat EBADF"
	assert_no_caches "$T/src"
	NOPYC_RULES="allow **; bogus" run --separate-stderr env LD_PRELOAD="$lib" "$probe" mkdir "$T/src/__pycache__"
	assert_output "mkdir EROFS"
	assert_equal "$stderr" "$(unknown_action_message 'NOPYC_RULES rule 2' bogus)"
}

# symbols_checks LIB CC...: tests/c/symbols.c built with CC, run under LIB in
# the three modes tests/symbols.bats uses; every line "ok", one per wrapped
# name the library exports.
symbols_checks() {
	local lib=$1 mode rules names expected src tgt
	shift
	local sym=$NOPYC_TEST_ROOT/tests/c/symbols.c
	[[ -f $sym ]] || skip "tests/c/symbols.c not written yet"
	((EUID == 0)) || skip "symbols.c needs root (chown to another uid)"
	run "$@" -std=gnu11 -O0 -g -U_FORTIFY_SOURCE -Wall -Wextra -o "$BATS_TEST_TMPDIR/symbols" "$sym"
	assert_success
	refute_output --partial "warning:"
	# the wrapped names of this build (made from wrappers.def by make), each
	# one exported
	expected=$(<"$(dirname "$lib")/wrapped-symbols")
	[[ -n $expected ]] || fail "$(dirname "$lib")/wrapped-symbols is empty"
	assert_equal "$(LC_ALL=C comm -23 <(echo "$expected") \
		<(nm -D --defined-only "$lib" | awk '{ print $NF }' | sed 's/@.*//' | LC_ALL=C sort -u))" ""
	for mode in redirect deny discard; do
		src=$BATS_TEST_TMPDIR/$mode/src tgt=$BATS_TEST_TMPDIR/$mode/tgt
		mkdir -p "$src" "$tgt"
		chmod 700 "$tgt"
		case $mode in
		redirect) rules="redirect $src/** $tgt" ;;
		deny) rules="deny **" ;;
		discard) rules="discard **" ;;
		esac
		NOPYC_RULES=$rules run --separate-stderr env LD_PRELOAD="$lib" "$BATS_TEST_TMPDIR/symbols" "$mode" "$src" "$tgt"
		[[ -z $(grep -v '^ok ' <<<"$output") ]] || fail "$mode: $(grep -v '^ok ' <<<"$output")"
		assert_success
		names=$(sed -n 's/^ok //p' <<<"$output" | LC_ALL=C sort -u)
		assert_equal "$names" "$expected"
	done
}

@test "builds: gcc with the Makefile's warnings (-Wall -Wextra ...): no warning" {
	build_shim gcc
}

@test "builds: clang with the Makefile's warnings: no warning" {
	need_cmd clang clang
	build_shim clang
}

m32_setup() {
	need_pkg gcc-multilib
	echo 'int main(void){return 0;}' >"$BATS_TEST_TMPDIR/m32check.c"
	gcc -m32 -o "$BATS_TEST_TMPDIR/m32check" "$BATS_TEST_TMPDIR/m32check.c" 2>/dev/null ||
		skip "gcc -m32 cannot link (Debian package gcc-multilib)"
}

@test "builds: -m32 (gcc-multilib): no warning, and a 32-bit program's cache calls are decided" {
	m32_setup
	build_shim gcc -m32
	run file -L "$B/libnopyc.so"
	assert_output --partial "ELF 32-bit"
	gcc -m32 -std=gnu11 -Wall -Wextra -Werror -o "$BATS_TEST_TMPDIR/probe" "$NOPYC_TEST_ROOT/tests/hardening/probe.c"
	probe_checks "$B/libnopyc.so" "$BATS_TEST_TMPDIR/probe"
}

@test "builds: -m32: the symbol-coverage program (tests/c/symbols.c) passes under redirect, deny and discard" {
	m32_setup
	build_shim gcc -m32
	symbols_checks "$B/libnopyc.so" gcc -m32
}

musl_setup() {
	need_cmd musl-gcc musl-tools
	[[ -e /lib/ld-musl-x86_64.so.1 || $(uname -m) != x86_64 ]] ||
		skip "musl's dynamic loader /lib/ld-musl-x86_64.so.1 is missing (Debian package musl)"
}

@test "builds: musl (musl-gcc): no warning, and a musl-linked program's cache calls are decided" {
	musl_setup
	build_shim musl-gcc
	musl-gcc -std=gnu11 -Wall -Wextra -Werror -o "$BATS_TEST_TMPDIR/probe" "$NOPYC_TEST_ROOT/tests/hardening/probe.c"
	# really musl: its loader runs it, and the library needs no glibc
	run readelf -l "$BATS_TEST_TMPDIR/probe"
	assert_output --partial "ld-musl"
	run readelf -d "$B/libnopyc.so"
	refute_output --partial "libc.so.6"
	probe_checks "$B/libnopyc.so" "$BATS_TEST_TMPDIR/probe"
}

@test "builds: musl: the symbol-coverage program (tests/c/symbols.c) passes under redirect, deny and discard" {
	musl_setup
	build_shim musl-gcc
	symbols_checks "$B/libnopyc.so" musl-gcc
}
