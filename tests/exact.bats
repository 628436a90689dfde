#!/usr/bin/env bats
# Deny is a read-only file system, exactly (issue 11): one probe program
# (tests/c/rofs-probe.c) makes every write-type call on cache entries that
# exist and that do not (mkdir of an existing __pycache__, O_CREAT|O_EXCL of
# an existing pyc, chmod of a missing one, rename, link, mknod, xattrs,
# mkstemp ...), one line per call with its result and errno.  It runs on a
# real read-only bind mount without the shim, and under `deny **` on a
# writable copy of the same tree: the two outputs must be equal line by
# line, and the writable copy must come out unchanged.  Each build of the
# library at hand runs it: the native one, the 32-bit one (with and without
# _TIME_BITS=64, whose calls have other symbol names) and the musl one.

load helpers

setup_file() {
	PROBE_SRC=$NOPYC_TEST_ROOT/tests/c/rofs-probe.c
	export PROBE_SRC
}

setup() {
	nopyc_setup
	((EUID == 0)) || skip "needs root (unshare -m, bind mounts, chown)"
	unshare -m true 2>/dev/null || skip "cannot unshare -m here"
}

# build_lib CC...: the library built with CC into $LIB (once per file).
build_lib() {
	local b
	b=$BATS_FILE_TMPDIR/build-$(tr -c 'a-zA-Z0-9\n' _ <<<"$*")
	run make -C "$NOPYC_TEST_ROOT" BUILD="$b" CC="$*" "$b/libnopyc.so"
	assert_success
	LIB=$b/libnopyc.so
}

# build_probe OUT CC...: the probe, without fortify and at -O0, so each call
# goes through the name the source writes.
build_probe() {
	local out=$1
	shift
	run "$@" -std=gnu11 -O0 -g -U_FORTIFY_SOURCE -Wall -Wextra -o "$out" "$PROBE_SRC"
	assert_success
	refute_output --partial warning:
}

# Everything under DIR a write would change (the probe's state mode, made
# without the shim): type and mode, owner, size, times, link, xattrs.
tree_state() { # PROBE DIR
	"$1" state "$2"
}

# differential PROBE LIB: the probe on a read-only bind mount (no shim) and
# under deny ** on a writable copy; equal outputs, unchanged copy.
differential() {
	local probe=$1 lib=$2 ro=$BATS_TEST_TMPDIR/ro rw=$BATS_TEST_TMPDIR/rw before after
	mkdir -p "$ro" "$rw"
	run "$probe" setup "$ro"
	assert_success
	run "$probe" setup "$rw"
	assert_success
	# shellcheck disable=SC2016 # expanded by the inner shell
	run unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
		! touch "$1/probe" 2>/dev/null && exec "$2" run "$1"' sh "$ro" "$probe"
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/readonly.out"
	before=$(tree_state "$probe" "$rw")
	NOPYC_RULES='deny **' run --separate-stderr env LD_PRELOAD="$lib" "$probe" run "$rw"
	assert_success
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/deny.out"
	after=$(tree_state "$probe" "$rw")
	[[ $before == *user.nopyc=1* ]] || fail "the tree state shows no xattr: $before"
	(($(wc -l <"$BATS_TEST_TMPDIR/readonly.out") > 1500)) ||
		fail "the probe made only $(wc -l <"$BATS_TEST_TMPDIR/readonly.out") calls"
	diff -u "$BATS_TEST_TMPDIR/readonly.out" "$BATS_TEST_TMPDIR/deny.out" >"$BATS_TEST_TMPDIR/diff" ||
		fail "deny ** differs from a read-only mount in $(grep -c '^-[^-]' "$BATS_TEST_TMPDIR/diff") calls (- read-only, + deny):
$(grep '^[-+][^-+]' "$BATS_TEST_TMPDIR/diff" | head -60)"
	[[ $before == "$after" ]] ||
		fail "deny ** changed the tree:
$(diff <(echo "$before") <(echo "$after") | head -40)"
}

@test "exact: the probe tells a read-only mount from a writable tree" {
	# Without the shim, on a writable tree, the same calls succeed and
	# create things: the comparison below can fail.
	build_probe "$BATS_TEST_TMPDIR/probe" cc
	local ro=$BATS_TEST_TMPDIR/ro rw=$BATS_TEST_TMPDIR/rw
	mkdir -p "$ro" "$rw"
	"$BATS_TEST_TMPDIR/probe" setup "$ro"
	"$BATS_TEST_TMPDIR/probe" setup "$rw"
	# shellcheck disable=SC2016
	run unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" run "$1"' \
		sh "$ro" "$BATS_TEST_TMPDIR/probe"
	assert_success
	local ro_out=$output
	run "$BATS_TEST_TMPDIR/probe" run "$rw"
	assert_success
	[[ $output != "$ro_out" ]] || fail "the probe printed the same on a writable tree"
	# the first call that creates: O_CREAT of a missing pyc
	assert_line "open O_RDONLY|O_CREAT pkg/__pycache__/x.cpython-311.pyc -> fd -"
	grep -qx 'open O_RDONLY|O_CREAT pkg/__pycache__/x.cpython-311.pyc -> -1 EROFS' <<<"$ro_out"
	[[ $("$BATS_TEST_TMPDIR/probe" state "$rw") != "$("$BATS_TEST_TMPDIR/probe" state "$ro")" ]] ||
		fail "the calls left the writable tree as it was"
}

@test "exact: deny ** equals a read-only mount, call by call (native build)" {
	[[ -f $NOPYC_LIB ]] || fail "$NOPYC_LIB not built"
	build_probe "$BATS_TEST_TMPDIR/probe" cc
	differential "$BATS_TEST_TMPDIR/probe" "$NOPYC_LIB"
}

@test "exact: deny ** equals a read-only mount (32-bit build, plain and _TIME_BITS=64)" {
	printf 'int main(void){return 0;}\n' | cc -m32 -x c -o "$BATS_TEST_TMPDIR/m32" - 2>/dev/null ||
		skip "no 32-bit toolchain (apt-get install gcc-multilib)"
	build_lib cc -m32
	build_probe "$BATS_TEST_TMPDIR/probe32" cc -m32
	differential "$BATS_TEST_TMPDIR/probe32" "$LIB"
	rm -rf "$BATS_TEST_TMPDIR/ro" "$BATS_TEST_TMPDIR/rw"
	build_probe "$BATS_TEST_TMPDIR/probe32t" cc -m32 -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64
	# the 64-bit time names are what this probe calls
	run nm -D --undefined-only "$BATS_TEST_TMPDIR/probe32t"
	assert_output --partial __utimensat64
	assert_output --partial __stat64_time64
	differential "$BATS_TEST_TMPDIR/probe32t" "$LIB"
}

@test "exact: deny ** equals a read-only mount (musl build)" {
	command -v musl-gcc >/dev/null || skip "no musl-gcc (apt-get install musl-tools)"
	build_lib musl-gcc
	build_probe "$BATS_TEST_TMPDIR/probe-musl" musl-gcc
	differential "$BATS_TEST_TMPDIR/probe-musl" "$LIB"
}
