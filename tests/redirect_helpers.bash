# Helpers for the redirect tests (redirect.bats, rofs.bats): `load helpers`
# first, then `load redirect_helpers`.
#
# Each Python test runs once per interpreter found, inside one bats test:
# for_each_python FUNC runs FUNC for every interpreter in its own subshell
# (with `set -e`), in a fresh directory, and fails the test naming every
# interpreter whose run failed, with that run's output.
# Each Python runs in a subshell on purpose (its variables die with it).
# shellcheck disable=SC2030,SC2031

# The interpreters to test, one "PATH LIBRARY" per line (LIBRARY: the build
# of the library that interpreter loads): every line of the table
# tests/run has tests/envs/prepare write (NOPYC_TEST_INTERPRETERS; see
# `make interpreters`), a skipped one named with its reason.  Without the
# table (bats run directly): every pyenv version, Debian's python3, PyPy.
# NOPYC_TEST_PYTHONS (space-separated paths, run with NOPYC_LIB) overrides.
redirect_interpreters() {
	local p slot lib skip
	if [[ -z ${NOPYC_TEST_PYTHONS:-} && -f ${NOPYC_TEST_INTERPRETERS:-} ]]; then
		while IFS=$'\t' read -r slot p lib _ _ _ _ skip _; do
			if [[ $skip == - ]]; then
				printf '%s %s\n' "$p" "$lib"
			else
				printf '# %s not tested: %s\n' "$slot" "$skip" >&3
			fi
		done <"$NOPYC_TEST_INTERPRETERS"
		return 0
	fi
	# shellcheck disable=SC2206
	local -a cands=(${NOPYC_TEST_PYTHONS:-/root/.pyenv/versions/*/bin/python /usr/bin/python3 /usr/bin/pypy3})
	for p in "${cands[@]}"; do
		if [[ -x $p && ! -d $p ]]; then
			printf '%s %s\n' "$p" "$NOPYC_LIB"
		elif [[ $p != *'*'* ]]; then
			printf '# %s not found: not tested\n' "$p" >&3
		fi
	done
	return 0
}

# redirect_python_facts: once per file (setup_file), for every interpreter,
# one line "PATH LIBRARY MAJOR TAG MAGIC" (TAG "-" for Python 2, MAGIC in
# hex) into $BATS_FILE_TMPDIR/pythons; "PATH LIBRARY ERROR" if it does not run.
redirect_python_facts() {
	local py lib facts
	: >"$BATS_FILE_TMPDIR/pythons"
	while read -r py lib; do
		# shellcheck disable=SC2016
		facts=$(PY=$py py_noshim -c 'import sys, binascii
try:
    from importlib.util import MAGIC_NUMBER as magic
except ImportError:
    import imp
    magic = imp.get_magic()
tag = getattr(getattr(sys, "implementation", None), "cache_tag", None)
sys.stdout.write("%d %s %s\n" % (sys.version_info[0], tag or "-",
                 binascii.hexlify(magic).decode("ascii")))' 2>&1) || facts="ERROR $facts"
		printf '%s %s %s\n' "$py" "$lib" "${facts//$'\n'/ }" >>"$BATS_FILE_TMPDIR/pythons"
	done < <(redirect_interpreters)
}

# for_each_python FUNC: in a subshell per interpreter, with
#   PY (its path), NOPYC_LIB (its build of the library), PYTAG ("" for
#   Python 2), PYMAJOR, PYMAGIC (hex),
#   W  (a fresh, empty, absolute working directory; also the cwd),
#   UID_ (the effective uid, what %u expands to),
# run FUNC.  FUNC fails by any failing command (set -e) or by `die`.
# Needs redirect_python_facts in setup_file.
for_each_python() {
	local fn=$1 py lib facts i=0 rc log n=0 report=
	local -a failed=()
	[[ -s $BATS_FILE_TMPDIR/pythons ]] ||
		skip "no Python interpreter found (/root/.pyenv/versions/*/bin/python, /usr/bin/python3, /usr/bin/pypy3)"
	while read -r py lib facts; do
		i=$((i + 1)) n=$((n + 1))
		log=$BATS_TEST_TMPDIR/py$i.log
		set +e
		(
			# bats' tracing traps only slow the loop down: the log says it all
			trap - DEBUG ERR
			set +ET
			set -e
			PY=$py NOPYC_LIB=$lib
			read -r PYMAJOR PYTAG PYMAGIC <<<"$facts"
			[[ $PYMAJOR != ERROR ]] || die "cannot run: $facts"
			[[ $PYTAG != - ]] || PYTAG=
			export PYMAJOR PYTAG PYMAGIC NOPYC_LIB
			W=$BATS_TEST_TMPDIR/py$i
			mkdir -p "$W"
			W=$(realpath "$W")
			UID_=$(id -u)
			cd "$W"
			"$fn"
		) >"$log" 2>&1
		rc=$?
		set -e
		if ((rc != 0)); then
			failed+=("$py")
			report+=$(printf '\n--- %s: FAILED (exit %d) ---\n' "$py" "$rc")
			report+=$'\n'$(sed 's/^/  /' "$log")
		fi
	done <"$BATS_FILE_TMPDIR/pythons"
	if ((${#failed[@]})); then
		printf 'failed for %d of %d interpreters: %s\n%s\n' \
			"${#failed[@]}" "$n" "${failed[*]}" "$report" |
			fail
		return 1
	fi
}

# die MESSAGE: fail the current interpreter's run with MESSAGE.
die() {
	printf '%s: %s\n' "$PY" "$*" >&2
	exit 1
}

# The cache file of SOURCE (absolute) as redirected into TARGET (expanded).
mapped_pyc() { # TARGET SOURCE
	printf '%s%s\n' "$1" "$(pyc_path "$2")"
}

# Everything about a tree that a write would change: type, path, size, inode,
# mtime, ctime (nanoseconds), mode, owner.  A directory's mtime changes when
# an entry is created, renamed or removed in it.
snapshot() { # DIR
	find "$1" -printf '%y %p %s %i %T@ %C@ %m %U\n' | LC_ALL=C sort
}

# assert_same_snapshot BEFORE AFTER WHAT
assert_same_snapshot() {
	[[ $1 == "$2" ]] ||
		die "$3 changed:$(diff <(echo "$1") <(echo "$2") | sed 's/^/    /')"
}

# assert_valid_pycs FILE...: each starts with this interpreter's magic number.
assert_valid_pycs() {
	local f head
	for f in "$@"; do
		[[ -f $f ]] || die "missing pyc: $f (files there: $(find "${f%/*}" 2>/dev/null | tr '\n' ' '))"
		head=$(od -An -tx1 -N4 "$f" | tr -d ' \n')
		[[ $head == "$PYMAGIC" ]] || die "$f starts with $head, not the magic number $PYMAGIC"
	done
}

# edit_keep_stat FILE OLD NEW: replace OLD by NEW (same length) in FILE and
# restore its mtime, so a pyc of the old text still validates.
edit_keep_stat() {
	local f=$1 old=$2 new=$3 mtime size
	((${#old} == ${#new})) || die "edit_keep_stat: '$old' and '$new' differ in length"
	mtime=$(stat -c %Y "$f")
	size=$(stat -c %s "$f")
	sed -i "s/$old/$new/" "$f"
	touch -d "@$mtime" "$f"
	grep -q "$new" "$f" || die "edit_keep_stat: $f has no '$new'"
	[[ $(stat -c '%s %Y' "$f") == "$size $mtime" ]] || die "edit_keep_stat: $f changed size or mtime"
}

# assert_loaded_from_pyc VERBOSE SRC...: the output of `python -v` says each
# source's module was loaded from its pyc (at the path Python knows; under
# redirect the library hands it TARGET's copy).
assert_loaded_from_pyc() {
	local out=$1 src pyc
	shift
	for src in "$@"; do
		pyc=$(pyc_path "$src")
		if [[ $PYMAJOR == 2 ]]; then
			grep -qF "# $pyc matches $src" <<<"$out" ||
				die "python -v does not say $pyc was used: $(grep -F "$src" <<<"$out")"
		else
			grep -qF "code object from '$pyc'" <<<"$out" ||
				die "python -v does not say $pyc was used: $(grep -F "${src%.py}" <<<"$out")"
		fi
	done
}

# find_temps DIR...: CPython's temp files (NAME.pyc.DIGITS) under DIR.
find_temps() {
	find "$@" \( -name '*.py[co].[0-9]*' \) -print 2>/dev/null | LC_ALL=C sort
}

# Can this process make mount namespaces and mounts?
can_unshare_mount() {
	local d rc
	command -v unshare >/dev/null || return 1
	d=$(mktemp -d) || return 1
	unshare -m mount -t tmpfs -o size=64k nopyc-probe "$d" 2>/dev/null
	rc=$?
	rmdir "$d"
	return "$rc"
}

# in_mount_ns FUNC [HELPER...]: run FUNC in a fresh bash inside a new mount namespace
# (`unshare -m`: mounts made there vanish with it), with the helper functions
# and the per-interpreter variables it may use.  FUNC leaves its results in
# files under $W (the namespace shares every existing mount).
in_mount_ns() {
	local script=$W/ns-$1.sh
	{
		echo 'set -euo pipefail'
		declare -p NOPYC_TEST_PY_ENV_CLEAR PY PYTAG PYMAJOR PYMAGIC W UID_ NOPYC_LIB NOPYC_TEST_TREE_OUTPUT
		declare -f py_shim py_noshim die snapshot find_temps find_caches pyc_path mapped_pyc assert_valid_pycs edit_keep_stat "$@"
		echo "$1"
	} >"$script"
	unshare -m bash "$script"
}

# one_tree_setup: the set-up of the tests that compare redirect with one
# real tree: PY (a Python 3.10+, else the test is skipped), S (the tree),
# TG (TARGET, 0700) and RULES (redirect S/** to TG).
# shellcheck disable=SC2034 # set for the calling test file
one_tree_setup() {
	nopyc_setup
	PY=$(nopyc_find_python "/root/.pyenv/versions/3.1[0-3].*/bin/python")
	[[ -n $PY ]] || PY=$(nopyc_find_python /usr/bin/python3)
	[[ -n $PY ]] || skip "no Python 3.10+ found (pyenv 3.10-3.13 or /usr/bin/python3)"
	nopyc_python_facts
	S=$(realpath "$T")/src
	TG=$(realpath "$BATS_TEST_TMPDIR")/tgt
	mkdir -p "$S"
	mkdir -m 0700 "$TG"
	RULES="redirect $S/** $TG; allow **"
}
