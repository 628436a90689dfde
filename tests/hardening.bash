# Shared by the hardening bats files (concurrency, faults, hostile,
# sanitizers, builds, fuzz, apps): `load hardening`.  Builds on helpers.bash
# (py_shim, py_noshim, shim, find_caches, assert_no_caches ...).

load "${BASH_SOURCE[0]%/*}/helpers" # also from the copies tests/run makes in build/tests

# One interpreter is enough for most hardening tests (the per-interpreter
# matrix lives in the generated files): pyenv 3.11 if present, else Debian's.
# tests/run also runs the interpreter tests of concurrency.bats and
# faults.bats on each interpreter of the test environments (tests/envs), in
# copies that set NOPYC_TEST_HARD_SLOT: then that slot's interpreter, with
# its build of the library (NOPYC_LIB), from the table of interpreters;
# NOPYC_TEST_PY_CHROOT=1 when it runs in a chroot (in its own mount
# namespace: a mount it makes is not seen outside).
hard_python() {
	if [[ -n ${NOPYC_TEST_HARD_SLOT:-} ]]; then
		local slot py lib how skip found=
		[[ -f ${NOPYC_TEST_INTERPRETERS:-} ]] ||
			skip "no table of interpreters (NOPYC_TEST_INTERPRETERS): run through tests/run"
		while IFS=$'\t' read -r slot py lib _ _ _ how skip _; do
			[[ $slot == "$NOPYC_TEST_HARD_SLOT" ]] && found=1 && break
		done <"$NOPYC_TEST_INTERPRETERS"
		[[ -n $found ]] || skip "no slot $NOPYC_TEST_HARD_SLOT in $NOPYC_TEST_INTERPRETERS"
		[[ $skip == - ]] || skip "$skip"
		PY=$py NOPYC_LIB=$lib NOPYC_TEST_PY_CHROOT=
		[[ $how == chroot* ]] && NOPYC_TEST_PY_CHROOT=1
		export NOPYC_LIB NOPYC_TEST_PY_CHROOT
	else
		PY=$(nopyc_find_python "${PYENV_ROOT:-/root/.pyenv}/versions/3.11.*/bin/python")
		[[ -n $PY ]] || PY=$(nopyc_find_python /usr/bin/python3)
		[[ -n $PY ]] || skip "no Python 3.11 (pyenv 3.11.* or /usr/bin/python3) found"
	fi
	nopyc_python_facts || fail "cannot run $PY"
	export PY
}

# Module text: 40 small functions (a 14 KB pyc), so concurrent imports
# overlap; it defines VALUE.  awk, not a bash loop: bats traces every shell
# command, which makes shell loops slow.
NOPYC_HARD_MODULE_AWK='
function module(file, v,   i) {
	print "\"\"\"generated for the nopyc hardening tests\"\"\"" >file
	for (i = 0; i < 40; i++)
		printf "def f%d(x, y=%d):\n    if x > y:\n        return [x * k for k in range(y)]\n    return {\"x\": x, \"y\": y, \"k\": %d}\n\n", i, i, i >file
	printf "VALUE = %d\n", v >file
	close(file)
}'

# make_module FILE VALUE: one such module.
make_module() {
	awk -v f="$1" -v v="$2" "$NOPYC_HARD_MODULE_AWK"' BEGIN { module(f, v) }'
}

# make_pkg DIR PKG N: package DIR/PKG with modules m00..m(N-1); importing
# it sets PKG.TOTAL = 0 + 1 + ... + (N-1).
make_pkg() {
	local d=$1/$2
	mkdir -p "$d"
	awk -v d="$d" -v n="$3" "$NOPYC_HARD_MODULE_AWK"' BEGIN {
		init = d "/__init__.py"
		for (i = 0; i < n; i++) {
			module(sprintf("%s/m%02d.py", d, i), i)
			printf "from . import m%02d\n", i >init
		}
		printf "TOTAL = 0" >init
		for (i = 0; i < n; i++) printf " + m%02d.VALUE", i >init
		print "" >init
	}'
}

# pyc_report DIR: every *.pyc/*.pyo under DIR checked by $PY without the
# shim: the magic number is this interpreter's and the code object loads with
# marshal after the 16-byte header.  Prints one line per bad file or temp file
# (*.pyc.DIGITS) and ends with "valid=N bad=N temp=N".
pyc_report() {
	py_noshim - "$1" <<'EOF'
import importlib.util, marshal, os, re, sys
valid = bad = temp = 0
for d, dirs, files in os.walk(sys.argv[1]):
    for f in sorted(files):
        p = os.path.join(d, f)
        if re.search(r"\.py[co]\.[0-9]+$", f):
            temp += 1
            print("temp file left: %s" % p)
        elif f.endswith((".pyc", ".pyo")):
            with open(p, "rb") as fh:
                data = fh.read()
            try:
                if data[:4] != importlib.util.MAGIC_NUMBER:
                    raise ValueError("bad magic %r" % data[:4])
                code = marshal.loads(data[16:])
                if type(code).__name__ != "code":
                    raise ValueError("not a code object: %r" % type(code))
                valid += 1
            except Exception as e:
                bad += 1
                print("invalid pyc: %s (%d bytes): %s" % (p, len(data), e))
print("valid=%d bad=%d temp=%d" % (valid, bad, temp))
EOF
}

# assert_pycs DIR N: exactly N valid pycs under DIR, none bad, no temp file.
assert_pycs() {
	run pyc_report "$1"
	assert_success
	assert_output "valid=$2 bad=0 temp=0"
}

# assert_pycs_sound DIR: whatever pycs are under DIR are valid; no temp file.
# Sets PYC_VALID to their number.
assert_pycs_sound() {
	run pyc_report "$1"
	assert_success
	assert_output --regexp '^valid=[0-9]+ bad=0 temp=0$'
	# shellcheck disable=SC2154  # output: set by bats' run
	PYC_VALID=${output#valid=}
	PYC_VALID=${PYC_VALID%% *}
}

# snapshot DIR: inode, mtime, size and path of everything under DIR.
snapshot() {
	find "$1" -printf '%i %T@ %s %p\n' | LC_ALL=C sort -k4
}

# need_cmd CMD PACKAGE...: the command, installing the Debian packages when
# root, else skip naming them.
need_cmd() {
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null 2>&1 && return 0
	((EUID == 0)) || skip "$cmd missing (apt-get install $*)"
	try_install "$@"
	command -v "$cmd" >/dev/null 2>&1 || skip "$cmd missing and could not install Debian packages: $*"
}

# need_pkg PACKAGE...: Debian packages, installed when missing (root), else
# skip naming them.
need_pkg() {
	local missing=() p
	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	((EUID == 0)) || skip "Debian packages missing: apt-get install ${missing[*]}"
	try_install "${missing[@]}" || skip "could not install Debian packages: ${missing[*]}"
}

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

# try_install PACKAGE...: apt-get install as root (updating the lists once if
# the first try fails); status only, never skips (usable in setup_file).
try_install() {
	((EUID == 0)) || return 1
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
	apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1
}

# need_unshare: a private mount namespace works here (root, unshare -m).
need_unshare() {
	((EUID == 0)) || skip "needs root for unshare -m and mount"
	unshare -m true 2>/dev/null || skip "unshare -m does not work here"
}

# The stderr lines the shim wrote ("nopyc: ..."), one per line.
shim_lines() {
	grep -c '^nopyc: ' <<<"$1" || true
}
