# Shared by every nopyc bats file: `load helpers` (or, from a generated file
# in build/tests/, `load /abs/path/tests/helpers`).
#
# Test code runs Python only through py_shim / py_noshim, which clear the
# variables that change whether and where Python writes caches (this machine
# and CI export PYTHONDONTWRITEBYTECODE=1: left alone, it would make every
# "no cache written" assertion pass without testing anything).

# shellcheck disable=SC2034 # variables used by the test files

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

NOPYC_TEST_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NOPYC_LIB=${NOPYC_LIB:-$NOPYC_TEST_ROOT/build/libnopyc.so}
NOPYC_LIB=$(realpath -m -- "$NOPYC_LIB")   # absolute: the tests cd around
export NOPYC_LIB NOPYC_TEST_ROOT

# env(1) arguments removing everything that steers Python's cache behaviour.
NOPYC_TEST_PY_ENV_CLEAR=(
	-u PYTHONDONTWRITEBYTECODE -u PYTHONPYCACHEPREFIX -u PYTHONOPTIMIZE
	-u SOURCE_DATE_EPOCH -u PYTHONPATH -u PYTHONHOME -u PYTHONSTARTUP
	-u PYTHONUSERBASE -u PYTHONSAFEPATH -u PYTHONINSPECT -u PYTHONVERBOSE
)

# Unset every NOPYC_* setting the caller's environment may carry, so each
# test starts from "no rules" (the default deny) unless it sets its own.
nopyc_clean_env() {
	local v
	for v in $(compgen -e NOPYC_); do
		case $v in
		NOPYC_LIB | NOPYC_TEST_*) ;;
		*) unset "$v" ;;
		esac
	done
	unset LD_PRELOAD
}

# py_shim ARGS...: run $PY with the shim preloaded.  NOPYC_* settings come
# from the environment: `NOPYC_RULES="deny **" run py_shim -c ...`.
py_shim() {
	env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" "$PY" "$@"
}

# py_noshim ARGS...: the same interpreter and environment, without the shim.
py_noshim() {
	env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" -u LD_PRELOAD "$PY" "$@"
}

# shim CMD ARGS...: any program with the shim preloaded.
shim() {
	env LD_PRELOAD="$NOPYC_LIB" "$@"
}

# Interpreter facts for the test file, in setup_file: PY (may be empty when
# the interpreter is missing), PYTAG ("" for Python 2), PYMAJOR.
nopyc_find_python() { # GLOB: the newest executable match, or nothing
	local m best=
	# shellcheck disable=SC2206
	local -a matches=($1)
	for m in "${matches[@]}"; do
		[[ -x $m && ! -d $m ]] && best=$m
	done
	[[ -n $best ]] && printf '%s\n' "$best"
	return 0
}

nopyc_python_facts() {
	PYTAG='' PYMAJOR=''
	[[ -n ${PY:-} ]] || return 0
	local facts
	facts=$(py_noshim -c 'import sys
tag = getattr(getattr(sys, "implementation", None), "cache_tag", None)
sys.stdout.write("%d %s\n" % (sys.version_info[0], tag or "-"))') || {
		echo "cannot run $PY" >&2
		return 1
	}
	PYMAJOR=${facts%% *}
	PYTAG=${facts#* }
	[[ $PYTAG == - ]] && PYTAG=
	export PYTAG PYMAJOR
}

# The cache file Python writes for SOURCE (an absolute *.py path).
pyc_path() {
	local src=$1 dir base
	if [[ $PYMAJOR == 2 ]]; then
		printf '%sc\n' "$src"
	else
		dir=${src%/*} base=${src##*/}
		printf '%s/__pycache__/%s.%s.pyc\n' "$dir" "${base%.py}" "$PYTAG"
	fi
}

# make_tree DIR: a fresh program: DIR/main.py importing packages a and b.
# Running it prints NOPYC_TEST_TREE_OUTPUT.
NOPYC_TEST_TREE_OUTPUT='a=alpha b=beta'
make_tree() {
	local d=$1
	mkdir -p "$d/a" "$d/b"
	: >"$d/a/__init__.py"
	: >"$d/b/__init__.py"
	echo "X = 'alpha'" >"$d/a/mod.py"
	echo "Y = 'beta'" >"$d/b/mod.py"
	cat >"$d/main.py" <<'EOF'
import a.mod
import b.mod
print("a=%s b=%s" % (a.mod.X, b.mod.Y))
EOF
}

# Every cache artefact under DIR, one per line, sorted: __pycache__
# directories, *.pyc/*.pyo and CPython's temp files (*.pyc.DIGITS).
find_caches() {
	find "$1" \( -name __pycache__ -o -name '*.py[co]' -o -name '*.py[co].[0-9]*' \) -print | LC_ALL=C sort
}

remove_caches() {
	find "$1" \( -name __pycache__ -o -name '*.py[co]' -o -name '*.py[co].[0-9]*' \) -prune -exec rm -rf {} +
}

# assert_no_caches DIR: no cache artefact anywhere under DIR.
assert_no_caches() {
	local found
	found=$(find_caches "$1")
	if [[ -n $found ]]; then
		batslib_print_kv_single_or_multi 8 \
			'directory' "$1" 'caches' "$found" |
			batslib_decorate 'cache files found where none may be' |
			fail
	fi
}

# assert_cached SRC...: the pyc of each source file exists, and no temp file
# is left beside it.
assert_cached() {
	local src pyc temps
	for src in "$@"; do
		pyc=$(pyc_path "$src")
		if [[ ! -f $pyc ]]; then
			batslib_print_kv_single_or_multi 8 \
				'source' "$src" 'expected' "$pyc" \
				'caches' "$(find_caches "${src%/*}")" |
				batslib_decorate 'cache file was not written' |
				fail
			return 1
		fi
		temps=$(find "${pyc%/*}" -maxdepth 1 -name '*.py[co].[0-9]*')
		if [[ -n $temps ]]; then
			echo "temp files left: $temps" | batslib_decorate 'temp file left behind' | fail
			return 1
		fi
	done
}

# assert_not_cached SRC...: no pyc (nor temp file) for each source file.
assert_not_cached() {
	local src pyc
	for src in "$@"; do
		pyc=$(pyc_path "$src")
		if compgen -G "$pyc*" >/dev/null; then
			batslib_print_kv_single_or_multi 8 \
				'source' "$src" 'found' "$(compgen -G "$pyc*")" |
				batslib_decorate 'cache file written where it must not be' |
				fail
			return 1
		fi
	done
}

# make_stale_module DIR NAME: DIR/NAME.py says `X = 1` and has a valid pyc
# (written without the shim); then the source is rewritten to `X = 2` with
# the same size and mtime, so the pyc still validates.  Importing NAME then
# prints 1 only if the pyc was read, 2 if the source was compiled.
# Sets STALE_PYC (the pyc's path) and STALE_SUM (its checksum).
NOPYC_TEST_STALE_MTIME=1600000000
make_stale_module() {
	local d=$1 name=$2 src
	src=$d/$name.py
	mkdir -p "$d"
	echo 'X = 1' >"$src"
	touch -d "@$NOPYC_TEST_STALE_MTIME" "$src"
	py_noshim -c 'import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)' "$src" ||
		fail "could not compile $src without the shim"
	STALE_PYC=$(pyc_path "$src")
	[[ -f $STALE_PYC ]] || fail "compiling $src did not write $STALE_PYC"
	echo 'X = 2' >"$src"
	touch -d "@$NOPYC_TEST_STALE_MTIME" "$src"
	STALE_SUM=$(cksum <"$STALE_PYC")
}

# What every configuration error's line ends with: the process then runs
# under the built-in deny ** (the shim's documented format).
NOPYC_FAILSAFE='; falling back to deny ** (no cache written) in this process'

# The exact message for an unknown action.
unknown_action_message() { # SOURCE-AND-POSITION ACTION
	printf 'nopyc: %s: unknown action "%s" (expected allow, deny, discard or redirect)%s' "$1" "$2" "$NOPYC_FAILSAFE"
}

# Common per-test setup: clean environment, a tree in $T, cwd there.
nopyc_setup() {
	nopyc_clean_env
	[[ -f $NOPYC_LIB ]] || fail "$NOPYC_LIB not found: run make first"
	T=$BATS_TEST_TMPDIR/t
	mkdir -p "$T"
	cd "$BATS_TEST_TMPDIR" || return 1
}
