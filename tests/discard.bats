#!/usr/bin/env bats
# Discard keeps programs that look at what they just wrote working (issue
# 11): pip byte-compiles what it installs, then checks each pyc exists and
# hashes it; `python -m venv` runs ensurepip, which does the same.  Under
# `nopyc --discard '**'` the writes go to a private throw-away tree that the
# process (and its children) read back from, removed when the process that
# made it exits: they succeed, and leave no pyc anywhere.  Nothing here
# downloads: the wheel installed is made by the test, pip and ensurepip use
# the wheels their Python ships.

load helpers

setup_file() {
	# A Python with pip (and ensurepip's bundled wheels): a pyenv one.
	PY=
	local p
	for p in "${PYENV_ROOT:-/root/.pyenv}"/versions/3.11.*/bin/python \
		"${PYENV_ROOT:-/root/.pyenv}"/versions/3.1[0-9]*/bin/python; do
		[[ -x $p ]] || continue
		if env -u PYTHONPATH "$p" -m pip --version >/dev/null 2>&1 &&
			compgen -G "$(dirname "$p")/../lib/python3*/ensurepip/_bundled/pip-*.whl" >/dev/null; then
			PY=$p
			break
		fi
	done
	export PY
}

setup() {
	nopyc_setup
	NOPYC=$NOPYC_TEST_ROOT/scripts/nopyc
	# a private TMPDIR: the tree lives there, and must be gone after
	TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$TMPDIR"
	export TMPDIR
}

# pyrun ARGS...: $PY (or PYTHON=...) under nopyc --discard '**', caching on,
# pip quiet and offline.
pyrun() {
	env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" -u PIP_FIND_LINKS -u PIP_INDEX_URL \
		PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1 PIP_NO_CACHE_DIR=1 \
		PIP_ROOT_USER_ACTION=ignore HOME="$BATS_TEST_TMPDIR" \
		"$NOPYC" --discard '**' "${PYTHON:-$PY}" "$@"
}

need_pip() {
	[[ -n $PY ]] || skip "no Python with pip and ensurepip's wheels (pyenv 3.10+)"
}

# Nothing left: no pyc or __pycache__ under DIR..., no tree in TMPDIR.
assert_nothing_left() {
	local d
	for d; do
		assert_no_caches "$d"
	done
	run ls -A "$TMPDIR"
	assert_output ''
}

# make_wheel DIR: a pure-Python wheel (package nopycdemo, three modules) in
# DIR; its path in $WHEEL.
make_wheel() {
	WHEEL=$1/nopycdemo-1.0-py3-none-any.whl
	env -u PYTHONPATH "$PY" - "$WHEEL" <<'EOF'
import base64, hashlib, sys, zipfile
files = {
    "nopycdemo/__init__.py": "from . import a, b\nVALUE = a.X + b.Y\n",
    "nopycdemo/a.py": "X = 40\n",
    "nopycdemo/b.py": "Y = 2\n",
    "nopycdemo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: nopycdemo\nVersion: 1.0\n",
    "nopycdemo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: nopyc-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
for name, text in files.items():
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
record.append("nopycdemo-1.0.dist-info/RECORD,,")
files["nopycdemo-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
EOF
}

@test "discard: a program reads back the pyc it just wrote, so do its children; nothing is left" {
	need_pip
	mkdir -p "$T/pkg"
	echo 'X = 1' >"$T/pkg/m.py"
	run pyrun - "$T/pkg/m.py" <<'EOF'
import os, py_compile, subprocess, sys
pyc = py_compile.compile(sys.argv[1], doraise=True)
with open(pyc, "rb") as f:
    data = f.read()
print("exists", os.path.exists(pyc), "header", data[:4] == __import__("importlib.util").util.MAGIC_NUMBER)
print("listed", os.listdir(os.path.dirname(pyc)))
child = subprocess.run([sys.executable, "-c",
    "import os, sys; print('child', os.path.getsize(sys.argv[1]))", pyc],
    stdout=subprocess.PIPE, universal_newlines=True)
print(child.stdout.strip(), len(data))
os.remove(pyc)
print("removed", os.path.exists(pyc))
EOF
	assert_success
	assert_line 'exists True header True'
	assert_line "listed ['m.cpython-311.pyc']"
	assert_line --regexp '^child ([0-9]+) \1$'
	assert_line 'removed False'
	assert_nothing_left "$T"
}

@test "discard: pip install --target byte-compiles, records the pycs, succeeds, and leaves none" {
	need_pip
	make_wheel "$BATS_TEST_TMPDIR"
	run pyrun -m pip install --no-deps --target "$T/site" "$WHEEL"
	assert_success
	assert_output --partial 'Successfully installed nopycdemo-1.0'
	# pip checked each pyc exists (an assertion) and recorded it
	run grep -c '^nopycdemo/__pycache__/.*\.pyc,' "$T/site/nopycdemo-1.0.dist-info/RECORD"
	assert_output 3
	assert_nothing_left "$T/site"
	# the installed package works, and still writes nothing
	run pyrun -c 'import sys; sys.path.insert(0, sys.argv[1]); import nopycdemo; print(nopycdemo.VALUE)' "$T/site"
	assert_output 42
	assert_nothing_left "$T/site"
}

@test "discard: python -m venv (ensurepip), then pip install into the venv: both succeed, no pyc left" {
	need_pip
	make_wheel "$BATS_TEST_TMPDIR"
	run pyrun -m venv "$T/venv"
	assert_success
	assert_file_executable "$T/venv/bin/python"
	run env -u PYTHONPATH "$T/venv/bin/python" -m pip --version
	assert_success
	assert_nothing_left "$T/venv"
	PYTHON=$T/venv/bin/python run pyrun -m pip install --no-deps "$WHEEL"
	assert_success
	assert_output --partial 'Successfully installed nopycdemo-1.0'
	assert_nothing_left "$T/venv"
	run env -u PYTHONPATH -u PYTHONDONTWRITEBYTECODE "$T/venv/bin/python" -B -c 'import nopycdemo; print(nopycdemo.VALUE)'
	assert_output 42
}

@test "discard: TMPDIR missing: python -m venv (ensurepip, pip) still succeeds, no pyc left (the tree goes where tempfile would)" {
	need_pip
	# CPython's tempfile skips a TMPDIR it cannot use: so does the tree
	TMPDIR=/nonexistent-nopyc-tmpdir run env -u TEMP -u TMP "$NOPYC_TEST_ROOT/scripts/nopyc" \
		--discard '**' env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" -m venv "$T/venv"
	assert_success
	refute_output --partial 'nopyc:'
	assert_file_executable "$T/venv/bin/python"
	run env -u PYTHONPATH "$T/venv/bin/python" -m pip --version
	assert_success
	assert_no_caches "$T/venv"
}

@test "discard: TMPDIR missing: the tree is made in the next directory tempfile tries (TEMP), read back by a child, and removed" {
	need_pip
	local temp=$BATS_TEST_TMPDIR/temp
	mkdir -p "$T/pkg" "$temp"
	echo 'X = 1' >"$T/pkg/m.py"
	TMPDIR=$BATS_TEST_TMPDIR/no-such-dir TEMP=$temp run pyrun - "$T/pkg/m.py" <<'EOF'
import os, py_compile, subprocess, sys, tempfile
pyc = py_compile.compile(sys.argv[1], doraise=True)
print("tempfile", tempfile.gettempdir() == os.environ["TEMP"])
print("trees", [n.split(".")[0] for n in os.listdir(os.environ["TEMP"])])
child = subprocess.run([sys.executable, "-c",
    "import os, sys; print('child', os.path.exists(sys.argv[1]))", pyc],
    stdout=subprocess.PIPE, universal_newlines=True)
print(child.stdout.strip())
EOF
	assert_success
	assert_line 'tempfile True'
	assert_line "trees ['nopyc-discard']"
	assert_line 'child True'
	refute_output --partial 'nopyc:'
	assert_no_caches "$T"
	assert_not_exist "$BATS_TEST_TMPDIR/no-such-dir"
	assert_equal "$(ls -A "$temp")" ''
}

# In a mount namespace: every directory a tree may go in is missing or
# read-only; then run ARGS.
ns_no_tree() {
	local d
	for d in /tmp /var/tmp /usr/tmp; do
		[[ -d $d && ! -L $d ]] || continue
		mount --bind "$d" "$d"
		mount -o remount,bind,ro "$d"
	done
	env -u TEMP -u TMP TMPDIR=/nonexistent-nopyc-tmpdir "$@"
}

@test "discard: no directory can take the tree: writes still succeed, into nothing, and it is said once" {
	need_pip
	((EUID == 0)) || skip "needs root for unshare -m and mount"
	unshare -m true 2>/dev/null || skip "cannot unshare -m here"
	mkdir -p "$T/pkg"
	echo 'X = 1' >"$T/pkg/m.py"
	echo 'Y = 2' >"$T/pkg/n.py"
	run --separate-stderr unshare -m bash -c "$(declare -f ns_no_tree); ns_no_tree \"\$@\"" _ \
		env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" NOPYC_RULES='discard **' \
		"$PY" -c 'import py_compile, sys
for f in sys.argv[1:]:
    print(py_compile.compile(f, doraise=True) is not None)' "$T/pkg/m.py" "$T/pkg/n.py"
	assert_success
	assert_output $'True\nTrue'
	[[ ${#stderr_lines[@]} == 1 && ${stderr_lines[0]} == 'nopyc: discard: no directory takes the throw-away tree'* ]] ||
		fail "want one line about the tree on stderr, got: $stderr"
	assert_no_caches "$T"
}

# the tree a process with pid PID (and its start time) would make
tree_of() { # PID
	local start boot
	start=$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20)
	boot=$(cut -c1-8 /proc/sys/kernel/random/boot_id)
	printf '%s/nopyc-discard.%s.%s.%s.%s\n' "$TMPDIR" "$(id -u)" "$1" "$start" "$boot"
}

@test "discard: a tree planted where this process's would go (a symlink, another owner) is never used" {
	need_pip
	((EUID == 0)) || skip "needs root to chown"
	mkdir -p "$T/pkg" "$T/attacker"
	echo 'X = 1' >"$T/pkg/m.py"
	# bash execs Python: same pid, same start time, so the name is known
	run bash -c "$(declare -f tree_of); TMPDIR=$TMPDIR"'; ln -s "$1" "$(tree_of $$)" && shift && exec "$@"' _ \
		"$T/attacker" env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" \
		NOPYC_RULES='discard **' TMPDIR="$TMPDIR" "$PY" -m py_compile "$T/pkg/m.py"
	assert_success
	assert_equal "$(find "$T/attacker" -mindepth 1)" ''
	assert_no_caches "$T/pkg"
	# a directory owned by someone else
	rm -f "$TMPDIR"/nopyc-discard.*
	run bash -c "$(declare -f tree_of); TMPDIR=$TMPDIR"'; d=$(tree_of $$); mkdir -m 0700 "$d" && chown 65534 "$d" && shift && exec "$@"' _ \
		x env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" \
		NOPYC_RULES='discard **' TMPDIR="$TMPDIR" "$PY" -m py_compile "$T/pkg/m.py"
	assert_success
	assert_equal "$(find "$TMPDIR" -mindepth 2)" ''
	assert_no_caches "$T/pkg"
}

@test "discard: a tree left by a killed process is swept by the next process that makes one" {
	need_pip
	mkdir -p "$T/pkg"
	echo 'X = 1' >"$T/pkg/m.py"
	echo 'Y = 2' >"$T/pkg/n.py"
	pyrun -c 'import py_compile, sys, time
py_compile.compile(sys.argv[1], doraise=True)
print("ready", flush=True)
time.sleep(60)' "$T/pkg/m.py" >"$BATS_TEST_TMPDIR/out" &
	local job=$! i tree pid
	for ((i = 0; i < 100; i++)); do
		[[ -s $BATS_TEST_TMPDIR/out ]] && break
		sleep 0.1
	done
	run ls "$TMPDIR"
	assert_output --regexp '^nopyc-discard\.'
	# the process that made it: the pid in its name
	tree=$output
	pid=$(cut -d. -f3 <<<"$tree")
	[[ $(readlink "/proc/$pid/exe") == */python* ]] || fail "$pid (from $tree) is not the Python"
	kill -9 "$pid"
	wait "$job" 2>/dev/null || true
	# still there: nobody ran its exit
	run ls "$TMPDIR"
	assert_output --regexp '^nopyc-discard\.'
	run pyrun -m py_compile "$T/pkg/n.py"
	assert_success
	assert_nothing_left "$T"
}
