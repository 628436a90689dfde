# Hostile input: rules and paths nobody should write, and directory fds that
# are not directories.  Each gets a clear message, or the errno libc would
# give without the shim; nothing crashes.  The calls are made by
# tests/hardening/probe (one libc call, prints "OP ok" or "OP ERRNO"), with
# and without the shim, and compared.

load hardening

setup_file() {
	cc -std=gnu11 -Wall -Wextra -Werror -O1 -o "$BATS_FILE_TMPDIR/probe" \
		"$NOPYC_TEST_ROOT/tests/hardening/probe.c" ||
		echo "building tests/hardening/probe.c failed" >"$BATS_FILE_TMPDIR/FAILED"
}

setup() {
	nopyc_setup
	[[ ! -e $BATS_FILE_TMPDIR/FAILED ]] || fail "$(<"$BATS_FILE_TMPDIR/FAILED")"
	PROBE=$BATS_FILE_TMPDIR/probe
	TGT=$BATS_TEST_TMPDIR/target
}

probe_shim() { shim "$PROBE" "$@"; }
probe_noshim() { env -u LD_PRELOAD "$PROBE" "$@"; }

# libc_same OP ARGS...: the probe gives the same answer with the shim (and
# the NOPYC_RULES in force) as without it.  The caller arranges for a call
# that changes nothing (it fails either way).
libc_same() {
	local want got
	want=$(probe_noshim "$@" 2>&1)
	got=$(probe_shim "$@" 2>&1)
	[[ $got == "$want" ]] || fail "probe $*: without the shim: '$want', with it: '$got' (NOPYC_RULES=${NOPYC_RULES:0:200})"
}

# ---- rules ----

@test "hostile rules: a 100 KB pattern is accepted and matches nothing; the next rule still decides" {
	local long
	long=$(head -c 100000 /dev/zero | tr '\0' a)
	NOPYC_RULES="deny /$long/**; redirect $T/** $TGT" run --separate-stderr probe_shim mkdir "$T/__pycache__"
	assert_output "mkdir ok"
	assert_equal "$stderr" ""
	assert_dir_exist "$TGT$T/__pycache__"
	assert_not_exist "$T/__pycache__"
}

@test "hostile rules: a faulty 100 KB rule gets one message of bounded length, and the program runs" {
	local long
	long=$(head -c 100000 /dev/zero | tr '\0' a)
	NOPYC_RULES="deny /$long[/**" run --separate-stderr probe_shim mkdir "$T/__pycache__"
	assert_output "mkdir EROFS"
	assert_equal "$(wc -l <<<"$stderr")" 1
	assert_regex "$stderr" "^nopyc: NOPYC_RULES rule 1: unbalanced '\[' .*; falling back to deny \*\* \(no cache written\) in this process$"
	((${#stderr} < 400)) || fail "message is ${#stderr} bytes long"
}

@test "hostile rules: 5000 rules in NOPYC_RULES and 20000 lines in NOPYC_CONFIG: the last rule still decides, for a real import" {
	hard_python
	local rules
	rules=$(awk 'BEGIN { for (i = 0; i < 5000; i++) printf "deny /nomatch%d/**;", i }')
	awk 'BEGIN { for (i = 0; i < 20000; i++) printf "deny /other%d/** # line %d\n", i, i }' >"$T/nopyc.conf"
	echo "redirect $T/** $TGT" >>"$T/nopyc.conf"
	echo "X = 'big'" >"$T/bigmod.py"
	NOPYC_RULES=$rules NOPYC_CONFIG=$T/nopyc.conf run --separate-stderr \
		py_shim -c "import sys; sys.path.insert(0, '$T'); import bigmod; print(bigmod.X)"
	assert_success
	assert_output big
	assert_equal "$stderr" ""
	assert_no_caches "$T"
	assert_file_exist "$TGT$T/__pycache__/bigmod.$PYTAG.pyc"
}

# Deterministic NUL-free junk: bytes 1..255 from a seeded generator.
junk() { # SEED BYTES
	python3_any - "$1" "$2" <<'EOF'
import random, sys
r = random.Random(int(sys.argv[1]))
sys.stdout.buffer.write(bytes(r.randrange(1, 256) for _ in range(int(sys.argv[2]))))
EOF
}
python3_any() {
	local p
	for p in /usr/bin/python3 "${PYENV_ROOT:-/root/.pyenv}"/versions/3.*/bin/python; do
		[[ -x $p ]] && { "$p" "$@"; return; }
	done
	skip "no Python to generate junk with"
}

@test "hostile rules: NUL-free binary junk (3 seeds x 4 KB, env and file): at most one message line, the program runs" {
	local seed text LC_ALL=C
	for seed in 1 2 3; do
		junk "$seed" 4096 >"$T/junk"
		text=$(<"$T/junk")
		NOPYC_RULES=$text run --separate-stderr probe_shim stat /
		assert_output "stat ok"
		assert_regex "$stderr" '^nopyc: NOPYC_RULES rule [0-9]+: [^'$'\n'']*; falling back to deny \*\* \(no cache written\) in this process$'
		NOPYC_CONFIG=$T/junk run --separate-stderr probe_shim stat /
		assert_output "stat ok"
		assert_regex "$stderr" "^nopyc: $T/junk line [0-9]+: [^"$'\n'"]*; falling back to deny \\*\\* \\(no cache written\\) in this process$"
	done
}

@test "hostile rules: unbalanced '[' is refused with its message; the built-in deny ** applies" {
	NOPYC_RULES="allow $T/[ab/**" run --separate-stderr probe_shim mkdir "$T/__pycache__"
	assert_output "mkdir EROFS"
	assert_equal "$stderr" "nopyc: NOPYC_RULES rule 1: unbalanced '[' (write \\[ for a literal bracket) in \"allow $T/[ab/**\"$NOPYC_FAILSAFE"
}

@test "hostile rules: a '***' component is a one-component '*', not '**'" {
	mkdir -p "$T/a/b"
	NOPYC_RULES="deny $T/***" run --separate-stderr probe_shim mkdir "$T/__pycache__"
	assert_output "mkdir EROFS"
	assert_equal "$stderr" ""
	NOPYC_RULES="deny $T/***/__pycache__; allow **" run probe_shim mkdir "$T/a/__pycache__"
	assert_output "mkdir EROFS"
	NOPYC_RULES="deny $T/***/__pycache__; allow **" run probe_shim mkdir "$T/a/b/__pycache__"
	assert_output "mkdir ok"
}

@test "hostile rules: trailing and repeated ';' are blank entries; NOPYC_RULES=';' is an empty rule list (allow)" {
	NOPYC_RULES="deny **;" run --separate-stderr probe_shim mkdir "$T/__pycache__"
	assert_output "mkdir EROFS"
	assert_equal "$stderr" ""
	NOPYC_RULES=";;deny **;; ;" run --separate-stderr probe_shim mkdir "$T/__pycache__"
	assert_output "mkdir EROFS"
	assert_equal "$stderr" ""
	NOPYC_RULES=";" run --separate-stderr probe_shim mkdir "$T/__pycache__"
	assert_output "mkdir ok"
	assert_equal "$stderr" ""
}

# ---- paths ----

# A path of exactly LEN bytes ending in /__pycache__/m.cpython-311.pyc, its
# directories 200-byte components and one shorter one.
long_path() { # PREFIX LEN
	awk -v p="$1" -v len="$2" 'BEGIN {
		tail = "/__pycache__/m.cpython-311.pyc"
		d = sprintf("%200s", ""); gsub(/ /, "d", d)
		while (length(p) + 201 + 2 + length(tail) <= len) p = p "/" d
		x = sprintf("%" (len - length(p) - 1 - length(tail)) "s", ""); gsub(/ /, "x", x)
		printf "%s/%s%s", p, x, tail
	}'
}

@test "hostile paths: a NULL path gives EFAULT as without the shim (open, creat, fopen, mkdir, stat, *at, rename)" {
	local op
	for NOPYC_RULES in "deny **" "redirect ** $TGT" "discard **"; do
		export NOPYC_RULES
		for op in open-r open-c creat fopen-r fopen-w mkdir unlink stat access; do
			libc_same "$op" NULL
		done
		for op in openat-c mkdirat unlinkat fstatat; do
			libc_same "$op" cwd NULL
		done
		libc_same rename NULL "$T/__pycache__/m.cpython-311.pyc"
	done
}

@test "hostile paths: longer than PATH_MAX (4096 and 5000 bytes): same errno as without the shim, for writes and reads" {
	local len p op
	for len in 4096 5000; do
		p=$(long_path "$T" "$len")
		for NOPYC_RULES in "deny **" "redirect ** $TGT" "discard **"; do
			export NOPYC_RULES
			for op in open-c open-r creat mkdir unlink stat access; do
				libc_same "$op" "$p"
			done
			libc_same rename "$T/x" "$p"
		done
	done
	assert_not_exist "$TGT$T"
}

@test "hostile paths: exactly 4095 bytes (the longest the kernel takes): deny answers as a read-only mount, reads are libc's" {
	local p
	p=$(long_path "$T" 4095)
	assert_equal "${#p}" 4095
	export NOPYC_RULES="deny **"
	# the directories on the way do not exist: ENOENT, as on a read-only mount
	run probe_shim open-c "$p"
	assert_output "open-c ENOENT"
	mkdir -p "${p%/*/*}"
	run probe_shim mkdir "${p%/*}"
	assert_output "mkdir EROFS"
	mkdir "${p%/*}"
	run probe_shim open-c "$p"
	assert_output "open-c EROFS"
	run probe_shim mkdir "${p%/*}"
	assert_output "mkdir EEXIST"
	libc_same stat "$p"
	libc_same open-r "$p"
}

@test "hostile paths: reading an existing pyc near PATH_MAX under redirect to a long TARGET falls back to the original (mapped path too long)" {
	local p tgt
	p=$(long_path "$T/src" 4000)
	mkdir -p "${p%/*}"
	echo data >"$p"
	tgt=$BATS_TEST_TMPDIR/$(printf 't%.0s' {1..150})
	export NOPYC_RULES="redirect $T/** $tgt"
	run probe_shim stat "$p"
	assert_output "stat ok"
	run probe_shim open-r "$p"
	assert_output "open-r ok"
	run probe_shim access "$p"
	assert_output "access ok"
	run probe_shim fopen-r "$p"
	assert_output "fopen-r ok"
}

@test "hostile paths: '..' above '/' and '//' fold as the kernel does: deny refuses, redirect maps to the folded path" {
	mkdir -p "$T/x"
	local p="/../../..$T//x/./__pycache__//"
	NOPYC_RULES="deny $T/**; allow **" run probe_shim mkdir "$p"
	assert_output "mkdir EROFS"
	NOPYC_RULES="redirect $T/** $TGT" run probe_shim mkdir "$p"
	assert_output "mkdir ok"
	assert_dir_exist "$TGT$T/x/__pycache__"
	assert_no_caches "$T"
}

@test "hostile paths: non-UTF-8 bytes and a newline in directory names: a real import under redirect maps them byte for byte" {
	hard_python
	mkdir -p "$T/"$'\xff\xfe'"/pkg" "$T/"$'a\nb'
	echo "X = 1" >"$T/"$'\xff\xfe'"/pkg/__init__.py"
	echo "Y = 2" >"$T/"$'a\nb'"/nlmod.py"
	NOPYC_RULES="redirect $T/** $TGT; deny **" NOPYC_LOG=stderr run --separate-stderr py_shim -c "
import os, sys
sys.path.insert(0, os.fsdecode(os.fsencode(sys.argv[1]) + b'/\\xff\\xfe'))
sys.path.insert(0, sys.argv[1] + '/a\\nb')
import pkg, nlmod
print(pkg.X, nlmod.Y)" "$T"
	assert_success
	assert_output "1 2"
	assert_no_caches "$T"
	assert_file_exist "$TGT$T/"$'\xff\xfe'"/pkg/__pycache__/__init__.$PYTAG.pyc"
	assert_file_exist "$TGT$T/"$'a\nb'"/__pycache__/nlmod.$PYTAG.pyc"
	# NOPYC_LOG keeps one decision on one line: the newline is escaped
	run grep -c "nlmod" <<<"$stderr"
	((output > 0))
	run grep -c "^b/__pycache__" <<<"$stderr"
	assert_output 0
	assert_regex "$stderr" 'a\\x0ab/__pycache__/nlmod'
}

# ---- directory fds ----

@test "hostile dirfd: closed, -1, huge, or not a directory: openat/mkdirat/unlinkat/fstatat/faccessat/renameat give libc's EBADF/ENOTDIR (deny, discard, redirect)" {
	echo x >"$T/file"
	local fd op
	for NOPYC_RULES in "deny **" "discard **" "redirect $T/** $TGT"; do
		export NOPYC_RULES
		for fd in closed -1 -5 987654 "notdir:$T/file"; do
			for op in openat-c openat-r openat-w mkdirat unlinkat fstatat faccessat; do
				libc_same "$op" "$fd" __pycache__/m.cpython-311.pyc
			done
			libc_same mkdirat "$fd" __pycache__
			libc_same renameat "$fd" m.cpython-311.pyc.123 m.cpython-311.pyc
		done
	done
	assert_no_caches "$T"
	assert_not_exist "$TGT$T"
}

@test "hostile dirfd: a directory fd whose directory was deleted: writes fail (ENOENT as without the shim) and nothing lands in TARGET" {
	local op want
	for op in openat-c mkdirat; do
		mkdir "$T/gone"
		want=$(probe_noshim "$op" "deleted:$T/gone" __pycache__/m.cpython-311.pyc)
		assert_equal "$want" "$op ENOENT"
		mkdir "$T/gone"
		NOPYC_RULES="redirect $T/** $TGT" run probe_shim "$op" "deleted:$T/gone" __pycache__/m.cpython-311.pyc
		assert_output "$op ENOENT"
	done
	assert_not_exist "$TGT$T"
}

@test "hostile cwd: a cwd deeper than PATH_MAX: deny still refuses to create a relative cache path" {
	local i d
	d=$T/deep
	mkdir -p "$d"
	cd "$d"
	for ((i = 0; i < 24; i++)); do
		d=$(printf 'd%.0s' {1..200})
		mkdir "$d"
		cd "$d"
	done
	NOPYC_RULES="deny **" run probe_shim mkdir __pycache__
	refute_output "mkdir ok"
	NOPYC_RULES="deny **" run probe_shim open-c m.cpython-311.pyc
	refute_output "open-c ok"
	assert_no_caches "$T"
}
