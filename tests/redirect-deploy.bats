#!/usr/bin/env bats
# Redirect in real deployments (issue 10): a release reached through a
# symlink (`current -> releases/v1`) on a read-only bind mount; a TARGET kept
# across releases (never shadowing newer code, compiling a stale shipped pyc
# once); a pyc write cut short by `ulimit -f`; pip upgrading and uninstalling
# in a venv whose pycs were written before the shim; PYTHONPYCACHEPREFIX and
# -X pycache_prefix with a per-path rule.

load helpers
load redirect_helpers

setup_file() {
	redirect_python_facts
}

setup() {
	nopyc_setup
}

# ---- a release through a symlink -------------------------------------------------

ns_symlinked_release() {
	mount --bind "$W/srv/releases" "$W/srv/releases"
	mount -o remount,bind,ro "$W/srv/releases"
	if : 2>/dev/null >"$W/srv/releases/v1/probe"; then
		die "the releases are writable after the read-only remount"
	fi
	mount -t tmpfs -o mode=0755 nopyc-run "$W/run"
	local n rc
	for n in 1 2; do
		rc=0
		NOPYC_RULES="redirect $W/srv/current/** $W/run/%u; allow **" \
			py_shim "$W/srv/current/main.py" >"$W/out/out$n" 2>"$W/out/err$n" || rc=$?
		echo "$rc" >"$W/out/rc$n"
		snapshot "$W/run" >"$W/out/snap$n"
	done
}

check_symlinked_release() {
	mkdir -p "$W/srv/releases" "$W/run" "$W/out"
	make_tree "$W/srv/releases/v1"
	ln -s releases/v1 "$W/srv/current"
	in_mount_ns ns_symlinked_release || die "the namespace script failed"
	local n m
	for n in 1 2; do
		[[ $(<"$W/out/rc$n") == 0 ]] || die "start $n exited $(<"$W/out/rc$n"): $(<"$W/out/err$n")"
		[[ ! -s $W/out/err$n ]] || die "start $n stderr: $(<"$W/out/err$n")"
		[[ $(<"$W/out/out$n") == "$NOPYC_TEST_TREE_OUTPUT" ]] || die "start $n printed '$(<"$W/out/out$n")'"
	done
	# CPython imports through the resolved path (sys.path[0] is the real
	# directory of the script), PyPy through the symlink: the caches are
	# at the path the interpreter used
	for m in a/__init__.py a/mod.py b/__init__.py b/mod.py; do
		grep -q -e "^f $(mapped_pyc "$W/run/$UID_" "$W/srv/releases/v1/$m") " \
			-e "^f $(mapped_pyc "$W/run/$UID_" "$W/srv/current/$m") " "$W/out/snap1" ||
			die "no cache for $m in TARGET: $(<"$W/out/snap1")"
	done
	assert_same_snapshot "$(<"$W/out/snap1")" "$(<"$W/out/snap2")" "TARGET on the second start"
	[[ -z $(find_caches "$W/srv") ]] || die "caches in the release: $(find_caches "$W/srv")"
}

@test "deploy: a rule for current/** matches a release reached through current -> releases/v1 on a read-only bind mount" {
	[[ $(id -u) == 0 ]] || skip "needs root for unshare -m and mount"
	can_unshare_mount || skip "cannot unshare -m and mount here"
	for_each_python check_symlinked_release
}

@test "deploy: nopyc --check and --explain show a symlinked pattern prefix and the path it resolves to" {
	local root tgt
	root=$(realpath "$T")
	tgt=$root/tgt
	mkdir -p "$root/srv/releases/v1/pkg" "$tgt"
	chmod 0700 "$tgt"
	ln -s releases/v1 "$root/srv/current"
	export NOPYC_RULES="redirect $root/srv/current/** $tgt; deny **"
	run "$NOPYC_TEST_ROOT/scripts/nopyc" --check
	assert_success
	assert_line "1 redirect $root/srv/current/** $tgt  # NOPYC_RULES rule 1"
	assert_output --partial "$root/srv/releases/v1/**"
	run "$NOPYC_TEST_ROOT/scripts/nopyc" --explain "$root/srv/releases/v1/pkg/__pycache__/m.cpython-311.pyc"
	assert_success
	assert_line "rule: 1 redirect $root/srv/current/** $tgt"
	assert_output --partial "$root/srv/current resolves to $root/srv/releases/v1"
	assert_line "action: redirect"
	assert_line "mapped: $tgt$root/srv/releases/v1/pkg/__pycache__/m.cpython-311.pyc"
	# a sibling release is not matched
	mkdir -p "$root/srv/releases/v2"
	run "$NOPYC_TEST_ROOT/scripts/nopyc" --explain "$root/srv/releases/v2/pkg/__pycache__/m.cpython-311.pyc"
	assert_line "rule: 2 deny **"
}

# ---- a TARGET kept across releases ----------------------------------------------------

# run_mod RULES DIR: import DIR/mod.py under the shim, print mod.X.
run_mod() {
	NOPYC_RULES=$1 py_shim -c 'import sys; sys.path.insert(0, sys.argv[1]); import mod; print(mod.X)' "$2"
}

# release DIR TEXT [MTIME]: deploy a new mod.py saying X = 'TEXT', replacing
# the old file, with the mtime every release gets (a reproducible build), or
# MTIME.
release() {
	rm -f "$1/mod.py"
	echo "X = '$2'" >"$1/mod.py"
	touch -d "@${3:-$NOPYC_TEST_STALE_MTIME}" "$1/mod.py"
}

check_releases() {
	local app=$W/app tgt=$W/tgt rules out mapped snap shipped
	mkdir -p "$app" "$tgt"
	chmod 0700 "$tgt"
	rules="redirect $app/** $tgt; allow **"
	mapped=$tgt$(pyc_path "$app/mod.py")
	shipped=$(pyc_path "$app/mod.py")
	# release 1, two starts: compiled into TARGET once, then reused
	release "$app" one
	out=$(run_mod "$rules" "$app") && [[ $out == one ]] || die "release 1 printed '$out'"
	assert_valid_pycs "$mapped"
	snap=$(snapshot "$tgt")
	out=$(run_mod "$rules" "$app") && [[ $out == one ]] || die "release 1, second start printed '$out'"
	assert_same_snapshot "$snap" "$(snapshot "$tgt")" "TARGET on the second start of release 1"
	# release 2: same size, same mtime, new code; TARGET's pyc of release 1
	# would pass CPython's check (mtime and size), but it is older than the
	# source now: never run
	sleep 0.01
	release "$app" two
	out=$(run_mod "$rules" "$app") && [[ $out == two ]] || die "release 2 printed '$out': TARGET shadowed a newer release"
	snap=$(snapshot "$tgt")
	out=$(run_mod "$rules" "$app") && [[ $out == two ]] || die "release 2, second start printed '$out'"
	assert_same_snapshot "$snap" "$(snapshot "$tgt")" "TARGET on the second start of release 2 (compiled once)"
	# release 3 ships its own fresh pyc (compiled at build time): it is
	# newer than TARGET's, so it is the one read and nothing is written
	sleep 0.01
	release "$app" tri
	py_noshim -c 'import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)' "$app/mod.py"
	[[ -f $shipped ]] || die "no shipped pyc $shipped"
	snap=$(snapshot "$tgt")
	out=$(run_mod "$rules" "$app") && [[ $out == tri ]] || die "release 3 printed '$out'"
	assert_same_snapshot "$snap" "$(snapshot "$tgt")" "TARGET under release 3 (its shipped pyc is read)"
	# release 4 keeps release 3's pyc, now stale (a new mtime: Python 2
	# checks nothing else): compiled into TARGET once
	sleep 0.01
	release "$app" four $((NOPYC_TEST_STALE_MTIME + 100))
	out=$(run_mod "$rules" "$app") && [[ $out == four ]] || die "release 4 printed '$out'"
	snap=$(snapshot "$tgt")
	out=$(run_mod "$rules" "$app") && [[ $out == four ]] || die "release 4, second start printed '$out'"
	assert_same_snapshot "$snap" "$(snapshot "$tgt")" "TARGET on the second start of release 4 (compiled once)"
	assert_valid_pycs "$mapped"
}

@test "deploy: a TARGET kept across releases never runs older code; a stale shipped pyc is compiled into TARGET once" {
	for_each_python check_releases
}

check_unchecked_hash_release() {
	local app=$W/app tgt=$W/tgt rules out
	[[ $PYMAJOR == 3 ]] || return 0
	py_noshim -c 'import py_compile; py_compile.PycInvalidationMode' 2>/dev/null || return 0 # 3.7+
	mkdir -p "$app" "$tgt"
	chmod 0700 "$tgt"
	rules="redirect $app/** $tgt; allow **"
	release "$app" one
	NOPYC_RULES=$rules py_shim -m compileall -q --invalidation-mode unchecked-hash "$app" ||
		die "compileall --invalidation-mode unchecked-hash failed"
	out=$(run_mod "$rules" "$app") && [[ $out == one ]] || die "release 1 printed '$out'"
	sleep 0.01
	release "$app" "new text, other size"
	out=$(run_mod "$rules" "$app") && [[ $out == "new text, other size" ]] ||
		die "release 2 printed '$out': an unchecked-hash pyc in TARGET shadowed the new source"
}

@test "deploy: an unchecked-hash pyc in TARGET does not outlive its source's release" {
	for_each_python check_unchecked_hash_release
}

# ---- a TARGET without user xattrs (ramfs; tmpfs before Linux 6.6) ---------------------

# stage_release DIR TEXT: a release DIR/app (package app; app/core.py says
# V = 'TEXT'), its sources the same size and mtime in every release (a
# reproducible build).
stage_release() {
	mkdir -p "$1/app"
	: >"$1/app/__init__.py"
	echo "V = '$2'" >"$1/app/core.py"
	touch -d @1600000000 "$1/app/__init__.py" "$1/app/core.py"
}

# run_app RULES DIR LOG: import app.core from DIR under the shim (NOPYC_LOG
# to LOG), print app.core.V.
run_app() {
	NOPYC_LOG=$3 NOPYC_RULES=$1 py_shim -c 'import sys; sys.path.insert(0, sys.argv[1]); import app.core; print(app.core.V)' "$2"
}

# writes LOG: how many redirected writes (verdict=mapped) LOG shows.
writes() {
	grep -c 'verdict=mapped' "$1" || true
}

# switch_check RULES DIR TEXT LOG WHAT: a start after a switch prints TEXT
# and compiles (the old release's caches are not current); the next start
# prints TEXT and compiles nothing.
switch_check() {
	local out
	out=$(run_app "$1" "$2" "$4.1") || die "$5: the first start failed: $out"
	[[ $out == "$3" ]] || die "$5: the first start printed '$out', not '$3': TARGET's caches of the old release ran"
	[[ $(writes "$4.1") -gt 0 ]] || die "$5: the first start compiled nothing"
	out=$(run_app "$1" "$2" "$4.2") || die "$5: the second start failed: $out"
	[[ $out == "$3" ]] || die "$5: the second start printed '$out', not '$3'"
	[[ $(writes "$4.2") == 0 ]] ||
		die "$5: the second start compiled again: $(grep 'verdict=mapped' "$4.2")"
}

ns_release_switch() {
	local srv=$W/srv pc=$W/pc rules out
	mount -t ramfs -o mode=0755 nopyc-ramfs "$pc"
	if py_noshim -c 'import os, sys; os.setxattr(sys.argv[1], "user.probe", b"1")' "$pc" 2>/dev/null; then
		die "this ramfs keeps user xattrs: the test needs a file system without"
	fi
	# a symlink switch: release 2 was staged before release 1's caches
	# were written (its ctime is older than theirs)
	stage_release "$srv/releases/v1" v1
	stage_release "$srv/releases/v2" v2
	ln -s releases/v1 "$srv/current"
	rules="redirect $srv/current/** $pc/%u; allow **"
	out=$(run_app "$rules" "$srv/current" "$W/log-v1") && [[ $out == v1 ]] ||
		die "release 1 printed '$out'"
	ln -sfn releases/v2 "$srv/current"
	switch_check "$rules" "$srv/current" v2 "$W/log-link" "current -> releases/v2"
	# a directory switch: mv app.new app, app.new staged first
	stage_release "$srv/site" v1
	stage_release "$srv/next" v2
	rules="redirect $srv/site/** $pc/%u; allow **"
	out=$(run_app "$rules" "$srv/site" "$W/log-mv1") && [[ $out == v1 ]] ||
		die "the site's release 1 printed '$out'"
	mv "$srv/site/app" "$srv/site/app.old"
	mv "$srv/next/app" "$srv/site/app"
	switch_check "$rules" "$srv/site" v2 "$W/log-mv" "mv app.new app"
}

check_release_switch_without_xattrs() {
	# Python 2 writes its pyc in place after the open: no record survives
	# there, its caches keep the ctime rule (README: limits)
	[[ $PYMAJOR == 3 ]] || return 0
	mkdir -p "$W/srv/releases" "$W/pc"
	in_mount_ns ns_release_switch stage_release run_app writes switch_check
}

@test "deploy: on a TARGET without user xattrs (ramfs) a release switch (symlink, mv) runs the new code and compiles it once" {
	[[ $(id -u) == 0 ]] || skip "needs root for unshare -m and mount"
	can_unshare_mount || skip "cannot unshare -m and mount here"
	for_each_python check_release_switch_without_xattrs
}

# old_pyc_in TARGET DIR: release 2 in DIR; TARGET holds a pyc of
# DIR/app/core.py put there after it without the shim (no record, newer than
# the source): compiled from release 1, which has release 2's size and mtime.
old_pyc_in() {
	local mapped
	stage_release "$2" v2
	stage_release "$W/old" v1
	py_noshim -c 'import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)' "$W/old/app/core.py"
	mapped=$(mapped_pyc "$1/$UID_" "$2/app/core.py")
	mkdir -p "${mapped%/*}"
	cp "$(pyc_path "$W/old/app/core.py")" "$mapped"
}

ns_unrecorded_pyc() {
	mount -t ramfs -o mode=0755 nopyc-ramfs "$W/pc"
	old_pyc_in "$W/pc" "$W/ram"
	switch_check "redirect $W/ram/** $W/pc/%u; allow **" "$W/ram" v2 "$W/log-ram" "ramfs TARGET"
}

check_unrecorded_pyc() {
	[[ $PYMAJOR == 3 ]] || return 0 # Python 2: the ctime rule (README: limits)
	# a TARGET with user xattrs (the test directory's file system)
	mkdir -p "$W/tgt" "$W/pc"
	chmod 0700 "$W/tgt"
	old_pyc_in "$W/tgt" "$W/disk"
	switch_check "redirect $W/disk/** $W/tgt/%u; allow **" "$W/disk" v2 "$W/log-disk" "TARGET in $W"
	# and one without (ramfs)
	if [[ $(id -u) == 0 ]] && can_unshare_mount; then
		in_mount_ns ns_unrecorded_pyc stage_release run_app writes switch_check old_pyc_in
	else
		echo "ramfs TARGET not tested: needs root and unshare -m"
	fi
}

@test "deploy: a pyc in TARGET without a source record (put there before) is compiled again once, on ramfs and on a file system with xattrs" {
	for_each_python check_unrecorded_pyc
}

# ---- a pyc write cut short ---------------------------------------------------------

# big_module FILE: a module whose pyc is about 200 KB; it defines SIZE.
big_module() {
	awk 'BEGIN {
		printf "DATA = (\n" >ARGV[1]
		for (i = 0; i < 2000; i++)
			printf "    \"%s%04d\",\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i >ARGV[1]
		printf ")\nSIZE = len(DATA)\n" >ARGV[1]
	}' "$1"
}

IMPORT_BIG='import sys; sys.path.insert(0, sys.argv[1]); import big, small; print(big.SIZE, small.X)'

check_fsize_limit() {
	local app=$W/app tgt=$W/tgt rules out rc bigpyc
	[[ $PYMAJOR == 3 ]] || return 0 # Python 2 checks its own writes (fflush) and never renames
	mkdir -p "$app" "$tgt" "$W/native"
	chmod 0700 "$tgt"
	big_module "$app/big.py"
	echo "X = 'small'" >"$app/small.py"
	rules="redirect $app/** $tgt; allow **"
	bigpyc=$tgt$(pyc_path "$app/big.py")
	# 64 KiB per file: the big pyc is cut short, the small one fits
	rc=0
	out=$(
		ulimit -f 64
		NOPYC_RULES=$rules py_shim -c "$IMPORT_BIG" "$app" 2>"$W/limited.err"
	) || rc=$?
	[[ $rc == 0 && $out == "2000 small" ]] || die "start under ulimit -f exited $rc: $out $(<"$W/limited.err")"
	# the limit is said, once
	[[ $(<"$W/limited.err") == "nopyc: redirect TARGET $tgt: file size limit reached (ulimit -f); caches larger than it are not being saved" ]] ||
		die "stderr under ulimit -f: $(<"$W/limited.err")"
	[[ ! -e $bigpyc ]] || die "a pyc cut short was published in TARGET ($(stat -c %s "$bigpyc") bytes)"
	[[ -z $(find_temps "$tgt" "$app") ]] || die "temp files left: $(find_temps "$tgt" "$app")"
	assert_valid_pycs "$tgt$(pyc_path "$app/small.py")"
	# the next start, without the limit, runs and writes the whole pyc
	out=$(NOPYC_RULES=$rules py_shim -c "$IMPORT_BIG" "$app" 2>&1) ||
		die "start after the limited one failed: $out"
	[[ $out == "2000 small" ]] || die "second start printed '$out'"
	[[ -f $bigpyc ]] || die "the big pyc was not written without the limit"
	py_noshim -c 'import marshal, sys
data = open(sys.argv[1], "rb").read()
marshal.loads(data[16 if sys.version_info >= (3, 7) else 12:])' "$bigpyc" ||
		die "the big pyc in TARGET does not load"
	# Control, without the shim on a writable copy: the same limit publishes
	# a truncated pyc that breaks the next start (what nopyc prevents).
	cp "$app/big.py" "$app/small.py" "$W/native/"
	( ulimit -f 64 && py_noshim -c "$IMPORT_BIG" "$W/native" ) >/dev/null 2>&1 || true
	if [[ -f $(pyc_path "$W/native/big.py") ]] &&
		! py_noshim -c "$IMPORT_BIG" "$W/native" >/dev/null 2>&1; then
		echo "control: without the shim the cut-short pyc breaks the next start"
	else
		echo "control: this interpreter does not publish a cut-short pyc by itself"
	fi
}

@test "deploy: ulimit -f cutting a pyc write short publishes nothing in TARGET; the next start writes the whole pyc" {
	for_each_python check_fsize_limit
}

# ---- pip in a venv whose pycs were written before the shim ----------------------------

# make_wheel DIR VERSION: a pure-Python wheel demo-VERSION in DIR: package
# demo (__init__ with VERSION, mod with a function).
make_wheel() {
	py_noshim - "$1" "$2" <<'EOF'
import base64, hashlib, os, sys, zipfile
out, version = sys.argv[1], sys.argv[2]
files = {
    "demo/__init__.py": "VERSION = %r\n" % version,
    "demo/mod.py": "def f():\n    return %r\n" % ("mod " + version),
    "demo-%s.dist-info/METADATA" % version:
        "Metadata-Version: 2.1\nName: demo\nVersion: %s\n" % version,
    "demo-%s.dist-info/WHEEL" % version:
        "Wheel-Version: 1.0\nGenerator: nopyc-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = "demo-%s.dist-info/RECORD" % version
lines = []
path = os.path.join(out, "demo-%s-py3-none-any.whl" % version)
with zipfile.ZipFile(path, "w") as z:
    for name, text in files.items():
        data = text.encode()
        z.writestr(name, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    lines.append("%s,," % record)
    z.writestr(record, "\n".join(lines) + "\n")
EOF
}

@test "deploy: pip install -U and pip uninstall under redirect in a writable venv whose pycs were written before the shim" {
	local py venv wheels tgt site rules pipcmd out
	py=$(nopyc_find_python "/root/.pyenv/versions/3.1[1-3].*/bin/python")
	[[ -n $py ]] || skip "no pyenv Python 3.11-3.13 (with its bundled pip wheel) found"
	PY=$py
	nopyc_python_facts
	venv=$(realpath "$T")/venv wheels=$T/wheels tgt=$(realpath "$BATS_TEST_TMPDIR")/tgt
	mkdir -p "$wheels"
	mkdir -m 0700 "$tgt"
	# the venv and pip from the interpreter's bundled wheel: no network
	py_noshim -m venv "$venv" || fail "python -m venv failed"
	make_wheel "$wheels" 1.0
	make_wheel "$wheels" 2.0
	PY=$venv/bin/python
	pipcmd=(-m pip --disable-pip-version-check --no-input --no-cache-dir)
	run py_noshim "${pipcmd[@]}" install --no-index --find-links "$wheels" demo==1.0
	assert_success
	site=$(py_noshim -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
	assert_file_exists "$(pyc_path "$site/demo/mod.py")"
	# a file of the user's: pip keeps the package directory and stashes
	# __pycache__ on its own
	echo local >"$site/demo/local.cfg"
	rules="redirect $venv/** $tgt; allow **"
	# upgrade under redirect: pip's own pycs and demo 1.0's are in the tree
	NOPYC_RULES=$rules run --separate-stderr py_shim "${pipcmd[@]}" install --no-index --find-links "$wheels" -U demo
	assert_success
	assert_output --partial "Successfully installed demo-2.0"
	assert_equal "$stderr" ""
	assert_equal "$(find "$site" -maxdepth 2 -name '~*')" ""
	NOPYC_RULES=$rules run py_shim -c 'import demo, demo.mod; print(demo.VERSION, demo.mod.f())'
	assert_success
	assert_output "2.0 mod 2.0"
	# no cache of demo 1.0 anywhere; demo 2.0's compiled into TARGET only
	assert_equal "$(find "$site/demo" -name '*.pyc')" ""
	assert_file_exists "$tgt$(pyc_path "$site/demo/mod.py")"
	# uninstall under redirect
	NOPYC_RULES=$rules run --separate-stderr py_shim "${pipcmd[@]}" uninstall -y demo
	assert_success
	assert_output --partial "Successfully uninstalled demo-2.0"
	assert_equal "$stderr" ""
	assert_equal "$(find "$site" -maxdepth 2 -name '~*')" ""
	assert_equal "$(find_caches "$site/demo")" ""
	assert_equal "$(find "$tgt$site" -path '*demo*' -type f)" ""
	NOPYC_RULES=$rules run py_shim -c 'import demo.mod'
	assert_failure
}

# ---- PYTHONPYCACHEPREFIX and -X pycache_prefix ---------------------------------------------

# app_and_lib: $W/app/main.py imports the app's pkg.mod and $W/lib's other.
app_and_lib() {
	mkdir -p "$W/app/pkg" "$W/lib"
	: >"$W/app/pkg/__init__.py"
	echo "X = 'app'" >"$W/app/pkg/mod.py"
	echo "Y = 'lib'" >"$W/lib/other.py"
	printf 'import sys\nsys.path.insert(0, %s)\nimport pkg.mod, other\nprint(pkg.mod.X, other.Y)\n' "'$W/lib'" >"$W/app/main.py"
}

check_pycache_prefix() {
	local prefix=$W/prefix out
	py_noshim -c 'import sys; sys.pycache_prefix' 2>/dev/null || return 0 # 3.8+
	app_and_lib
	rules="deny $W/app/**; allow **"
	# PYTHONPYCACHEPREFIX
	out=$(NOPYC_RULES=$rules env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" PYTHONPYCACHEPREFIX="$prefix" \
		LD_PRELOAD="$NOPYC_LIB" "$PY" "$W/app/main.py" 2>&1) || die "run with PYTHONPYCACHEPREFIX failed: $out"
	[[ $out == "app lib" ]] || die "printed '$out'"
	[[ -z $(find "$prefix$W/app" -type f 2>/dev/null) ]] ||
		die "deny $W/app/** did not apply under the prefix: $(find "$prefix$W/app" -type f)"
	[[ -f $prefix$W/lib/other.$PYTAG.pyc ]] || die "allow ** did not write lib's cache under the prefix: $(find "$prefix" -type f | head)"
	[[ -z $(find_caches "$W/app") ]] || die "caches in the app: $(find_caches "$W/app")"
	rm -rf "$prefix"
	# -X pycache_prefix
	out=$(NOPYC_RULES=$rules py_shim -X "pycache_prefix=$prefix" "$W/app/main.py" 2>&1) ||
		die "run with -X pycache_prefix failed: $out"
	[[ $out == "app lib" ]] || die "printed '$out'"
	[[ -z $(find "$prefix$W/app" -type f 2>/dev/null) ]] ||
		die "deny $W/app/** did not apply under -X pycache_prefix: $(find "$prefix$W/app" -type f)"
	[[ -f $prefix$W/lib/other.$PYTAG.pyc ]] || die "allow ** did not write lib's cache under -X pycache_prefix"
	rm -rf "$prefix"
	# redirect under a prefix: the app's caches go to TARGET + the prefixed path
	mkdir -m 0700 "$W/tgt"
	out=$(NOPYC_RULES="redirect $W/app/** $W/tgt; allow **" env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" \
		PYTHONPYCACHEPREFIX="$prefix" LD_PRELOAD="$NOPYC_LIB" "$PY" "$W/app/main.py" 2>&1) ||
		die "redirect under PYTHONPYCACHEPREFIX failed: $out"
	[[ -f $W/tgt$prefix$W/app/pkg/mod.$PYTAG.pyc ]] ||
		die "no redirected cache at $W/tgt$prefix$W/app/pkg/mod.$PYTAG.pyc: $(find "$W/tgt" -type f)"
	[[ -z $(find "$prefix$W/app" -type f 2>/dev/null) ]] || die "the app's cache written under the prefix"
	# What the README says of sys.pycache_prefix set by the program itself:
	# the library cannot know it, so its caches are decided by their own
	# path (the prefix's): deny $W/app/** does not stop them, deny ** does.
	rm -rf "$prefix"
	# shellcheck disable=SC2016
	local set_prefix='import sys; sys.pycache_prefix = sys.argv[1]; sys.path.insert(0, sys.argv[2]); import pkg.mod'
	NOPYC_RULES=$rules py_shim -c "$set_prefix" "$prefix" "$W/app" || die "sys.pycache_prefix run failed"
	[[ -f $prefix$W/app/pkg/mod.$PYTAG.pyc ]] || die "documented: a prefix set at run time is decided by its own path"
	rm -rf "$prefix"
	NOPYC_RULES='deny **' py_shim -c "$set_prefix" "$prefix" "$W/app" || die "sys.pycache_prefix run failed"
	[[ -z $(find "$prefix" -type f 2>/dev/null) ]] || die "deny ** did not stop caches under a run-time prefix"
}

@test "deploy: PYTHONPYCACHEPREFIX and -X pycache_prefix: a per-path rule applies to the prefixed cache of its sources" {
	for_each_python check_pycache_prefix
}

# The prefix the interpreter takes when -X pycache_prefix comes several
# times (CPython 3.8-3.13 the first, PyPy the last), without a value, beside
# PYTHONPYCACHEPREFIX, or with -E/-I: the per-path rule applies to it.
check_pycache_prefix_choice() {
	local a=$W/pa b=$W/pb e=$W/pe out pick
	py_noshim -c 'import sys; sys.pycache_prefix' 2>/dev/null || return 0 # 3.8+
	app_and_lib
	rules="deny $W/app/**; allow **"
	# given twice: the library must know the one the interpreter picks
	pick=$(py_noshim -X "pycache_prefix=$a" -X "pycache_prefix=$b" -c 'import sys; print(sys.pycache_prefix)')
	[[ $pick == "$a" || $pick == "$b" ]] || die "sys.pycache_prefix is '$pick'"
	out=$(NOPYC_RULES=$rules py_shim -X "pycache_prefix=$a" -X "pycache_prefix=$b" "$W/app/main.py" 2>&1) ||
		die "run with -X pycache_prefix twice failed: $out"
	[[ $out == "app lib" ]] || die "printed '$out'"
	[[ -z $(find "$a$W/app" "$b$W/app" -type f 2>/dev/null) ]] ||
		die "deny $W/app/** did not apply under $pick: $(find "$a$W/app" "$b$W/app" -type f 2>/dev/null)"
	[[ -f $pick$W/lib/other.$PYTAG.pyc ]] || die "allow ** did not write lib's cache under $pick"
	[[ -z $(find_caches "$W/app") ]] || die "caches in the app: $(find_caches "$W/app")"
	rm -rf "$a" "$b"
	# -X pycache_prefix without a value: no prefix, PYTHONPYCACHEPREFIX ignored
	# (caches beside the sources); -E and -I ignore the environment too
	# (-I puts no script directory on sys.path: the program does)
	local opts main="import sys, runpy; sys.path.insert(0, '$W/app'); runpy.run_path('$W/app/main.py')"
	for opts in "-X pycache_prefix" "-X pycache_prefix=" -E -I; do
		# shellcheck disable=SC2086 # the options' words
		out=$(NOPYC_RULES=$rules env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" PYTHONPYCACHEPREFIX="$e" \
			LD_PRELOAD="$NOPYC_LIB" "$PY" $opts -c "$main" 2>&1) || die "run with $opts failed: $out"
		[[ $out == "app lib" ]] || die "$opts: printed '$out'"
		[[ ! -e $e ]] || die "$opts: caches under PYTHONPYCACHEPREFIX: $(find "$e")"
		[[ -z $(find_caches "$W/app") ]] || die "$opts: caches in the app: $(find_caches "$W/app")"
		[[ -f $W/lib/__pycache__/other.$PYTAG.pyc ]] || die "$opts: lib's cache not beside its source"
		rm -rf "$W/lib/__pycache__"
	done
}

@test "deploy: -X pycache_prefix given twice, without a value, with PYTHONPYCACHEPREFIX, -E or -I: the rule applies to the prefix the interpreter takes" {
	for_each_python check_pycache_prefix_choice
}
