#!/usr/bin/env bats
# shellcheck disable=SC2154 # $stderr is set by bats' run
# Removal under redirect, as a user trial met it: an entry only TARGET has
# is removed without an error even on a read-only tree (the kernel refuses
# a removal there with EROFS before it looks the name up, so the library
# asks the original whether the entry exists); one the tree has fails
# honestly (EROFS); unlink, unlinkat, rmdir, unlinkat(AT_REMOVEDIR) and
# remove(3) alike.  The "redirect TARGET ..." message is said only when
# TARGET itself failed: not for the caller's mistakes (EISDIR), not for
# the original tree's EROFS.  Removing a directory of the tree takes its
# empty counterpart in TARGET along.
#
# The trees are made with a real interpreter: pycs written without the shim
# land in the tree ("original"), pycs written under redirect in TARGET.

load helpers
load redirect_helpers

setup() {
	one_tree_setup
	OUT=$BATS_TEST_TMPDIR/out
	mkdir -p "$OUT"
}

# redir CMD...: CMD under the redirect rules.
redir() {
	NOPYC_RULES=$RULES shim "$@"
}

pyc_of() { # DIR M: the pyc of module M of directory DIR, as the program names it
	pyc_path "$1/$2.py"
}
tpyc_of() { # DIR M: its copy in TARGET
	printf '%s%s\n' "$TG" "$(pyc_path "$1/$2.py")"
}

# mixed_tree: $S/pkg with modules a, b and c: a's pyc only in the tree,
# b's only in TARGET, c's in both; $S/pkg/sub with module d: its
# __pycache__ only in TARGET.
mixed_tree() {
	mkdir -p "$S/pkg/sub"
	: >"$S/pkg/__init__.py"
	: >"$S/pkg/sub/__init__.py"
	local m
	for m in a b c; do echo "N = '$m'" >"$S/pkg/$m.py"; done
	echo "N = 'd'" >"$S/pkg/sub/d.py"
	py_noshim -m py_compile "$S/pkg/a.py" "$S/pkg/c.py"
	NOPYC_RULES=$RULES py_shim -m py_compile "$S/pkg/b.py" "$S/pkg/c.py" "$S/pkg/sub/d.py"
	assert_file_exists "$(pyc_of "$S/pkg" a)" "$(pyc_of "$S/pkg" c)" \
		"$(tpyc_of "$S/pkg" b)" "$(tpyc_of "$S/pkg" c)" "$(tpyc_of "$S/pkg/sub" d)"
	assert_not_exists "$(pyc_of "$S/pkg" b)"
	assert_not_exists "$S/pkg/sub/__pycache__"
}

# TARGET's regular files, one per line, sorted.
target_files() {
	find "$TG" -type f | LC_ALL=C sort
}

# in_readonly_tree CMD...: CMD (under the redirect rules, cwd $S) with $S
# on a read-only bind mount, in its own mount namespace; its output in
# $OUT/out and $OUT/err, its exit status in $OUT/rc.
# shellcheck disable=SC2016 # the script's own expansions
in_readonly_tree() {
	[[ $(id -u) == 0 ]] || skip "needs root for unshare -m and mount"
	can_unshare_mount || skip "cannot unshare -m and mount here"
	{
		declare -p S RULES NOPYC_LIB OUT NOPYC_TEST_PY_ENV_CLEAR
		echo 'mount --bind "$S" "$S" && mount -o remount,bind,ro "$S"'
		echo 'if : 2>/dev/null >"$S/probe"; then echo "writable after the remount" >&2; exit 99; fi'
		echo 'cd "$S"; rc=0'
		printf '%q ' env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" NOPYC_RULES="$RULES" LD_PRELOAD="$NOPYC_LIB" "$@"
		echo '>"$OUT/out" 2>"$OUT/err" || rc=$?'
		echo 'echo "$rc" >"$OUT/rc"'
	} >"$BATS_TEST_TMPDIR/ns.sh"
	unshare -m bash "$BATS_TEST_TMPDIR/ns.sh"
}

# A Python program that makes each removal call and prints its result.
REMOVALS='import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def c_remove(path):
    if libc.remove(path.encode()) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
def t(name, f):
    try:
        f()
        print(name, "ok")
    except OSError as e:
        print(name, os.strerror(e.errno))
tag = sys.implementation.cache_tag
t("unlink b", lambda: os.unlink("pkg/__pycache__/b.%s.pyc" % tag))
fd = os.open("pkg/sub/__pycache__", os.O_RDONLY | os.O_DIRECTORY)
t("unlinkat d", lambda: os.unlink("d.%s.pyc" % tag, dir_fd=fd))
t("remove sub init", lambda: c_remove("pkg/sub/__pycache__/__init__.%s.pyc" % tag))
os.close(fd)
fd = os.open("pkg/sub", os.O_RDONLY | os.O_DIRECTORY)
t("unlinkat AT_REMOVEDIR sub/__pycache__", lambda: os.rmdir("__pycache__", dir_fd=fd))
t("stat sub/__pycache__", lambda: os.stat("pkg/sub/__pycache__"))
t("unlink c", lambda: os.unlink("pkg/__pycache__/c.%s.pyc" % tag))
t("unlink a", lambda: os.unlink("pkg/__pycache__/a.%s.pyc" % tag))
t("unlink missing", lambda: os.unlink("pkg/__pycache__/zz.%s.pyc" % tag))
t("rmdir pkg/__pycache__", lambda: os.rmdir("pkg/__pycache__"))
'

@test "remove: on a read-only tree an entry only TARGET has is removed (unlink, unlinkat, remove, rmdir), one the tree has fails with EROFS" {
	mixed_tree
	# the sub package's __init__ only in TARGET too
	NOPYC_RULES=$RULES py_shim -m py_compile "$S/pkg/sub/__init__.py"
	local before
	before=$(snapshot "$S")
	in_readonly_tree "$PY" -c "$REMOVALS"
	assert_equal "$(cat "$OUT/rc")" 0
	assert_equal "$(cat "$OUT/err")" ""
	assert_equal "$(cat "$OUT/out")" "unlink b ok
unlinkat d ok
remove sub init ok
unlinkat AT_REMOVEDIR sub/__pycache__ ok
stat sub/__pycache__ No such file or directory
unlink c Read-only file system
unlink a Read-only file system
unlink missing Read-only file system
rmdir pkg/__pycache__ Read-only file system"
	# the tree is untouched; TARGET's copies are gone (c's too: what the
	# view showed from TARGET goes even when the tree refuses)
	assert_equal "$(snapshot "$S")" "$before"
	assert_equal "$(target_files)" ""
	assert_not_exists "$TG$S/pkg/sub/__pycache__"
}

@test "remove: remove(3) of a __pycache__ only TARGET has removes it, as rmdir would" {
	mixed_tree
	rm "$(tpyc_of "$S/pkg/sub" d)"
	# shellcheck disable=SC2016
	run --separate-stderr redir "$PY" -c 'import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.remove(sys.argv[1].encode())
print(rc, os.strerror(ctypes.get_errno()) if rc else "")
print(os.path.exists(sys.argv[1]))' "$S/pkg/sub/__pycache__"
	assert_success
	assert_equal "$stderr" ""
	assert_output "0 
False"
	assert_not_exists "$TG$S/pkg/sub/__pycache__"
}

@test "remove: find -delete on a read-only tree reports only the tree's pycs; rm -r and shutil.rmtree of a TARGET-only __pycache__ succeed" {
	mixed_tree
	local before
	before=$(snapshot "$S")
	in_readonly_tree find . -name '*.pyc' -delete
	assert_equal "$(cat "$OUT/rc")" 1
	# a and c are in the tree: refused, honestly; b and d went silently
	assert_equal "$(LC_ALL=C sort "$OUT/err")" "find: cannot delete ‘./pkg/__pycache__/a.$PYTAG.pyc’: Read-only file system
find: cannot delete ‘./pkg/__pycache__/c.$PYTAG.pyc’: Read-only file system"
	assert_equal "$(snapshot "$S")" "$before"
	assert_equal "$(target_files)" ""
	# rm -r of the TARGET-only __pycache__ (made again)
	NOPYC_RULES=$RULES py_shim -m py_compile "$S/pkg/sub/d.py"
	in_readonly_tree rm -r pkg/sub/__pycache__
	assert_equal "$(cat "$OUT/rc")" 0
	assert_equal "$(cat "$OUT/err")" ""
	assert_not_exists "$TG$S/pkg/sub/__pycache__"
	# shutil.rmtree
	NOPYC_RULES=$RULES py_shim -m py_compile "$S/pkg/sub/d.py"
	in_readonly_tree "$PY" -c 'import os, shutil; shutil.rmtree("pkg/sub/__pycache__"); print(os.path.exists("pkg/sub/__pycache__"))'
	assert_equal "$(cat "$OUT/rc")" 0
	assert_equal "$(cat "$OUT/err")" ""
	assert_equal "$(cat "$OUT/out")" False
	assert_not_exists "$TG$S/pkg/sub/__pycache__"
	assert_equal "$(snapshot "$S")" "$before"
}

# ---- what is said of TARGET ---------------------------------------------------

@test "remove: unlink of a __pycache__ or a shell redirection onto it fails with EISDIR and says nothing of TARGET" {
	mixed_tree
	cd "$S"
	run --separate-stderr redir "$PY" -c 'import os
for p in ("pkg/__pycache__", "pkg/sub/__pycache__"):
    try:
        os.unlink(p)
    except OSError as e:
        print(p, e.strerror)'
	assert_success
	assert_equal "$stderr" ""
	assert_output "pkg/__pycache__ Is a directory
pkg/sub/__pycache__ Is a directory"
	run --separate-stderr redir sh -c 'echo hi > pkg/sub/__pycache__'
	assert_failure
	assert_equal "$stderr" "sh: 1: cannot create pkg/sub/__pycache__: Is a directory"
	# TARGET is fine: an import afterwards saves its caches there
	echo "N = 'e'" >"$S/pkg/e.py"
	NOPYC_RULES=$RULES run --separate-stderr py_shim -c 'import pkg.e'
	assert_success
	assert_equal "$stderr" ""
	assert_file_exists "$(tpyc_of "$S/pkg" e)"
}

@test "remove: a rename refused by a read-only tree fails with EROFS and says nothing of a writable TARGET" {
	mixed_tree
	local before
	before=$(snapshot "$S")
	# shellcheck disable=SC2016
	in_readonly_tree "$PY" -c 'import os, sys
tag = sys.implementation.cache_tag
try:
    os.rename("pkg/__pycache__/a.%s.pyc" % tag, "pkg/__pycache__/a2.%s.pyc" % tag)
except OSError as e:
    print(e.strerror)
import pkg.sub.d'
	assert_equal "$(cat "$OUT/rc")" 0
	assert_equal "$(cat "$OUT/out")" "Read-only file system"
	assert_equal "$(cat "$OUT/err")" ""
	assert_equal "$(snapshot "$S")" "$before"
	assert_not_exists "$TG$S/pkg/__pycache__/a2.$PYTAG.pyc"
	# TARGET was writable all along: the import after it saved there
	assert_file_exists "$(tpyc_of "$S/pkg/sub" __init__)"
}

# ---- clean-up on a writable tree ----------------------------------------------

@test "remove: rm -r pkg/ and shutil.rmtree on a writable tree leave no directory of it in TARGET" {
	local tool
	for tool in rm rmtree; do
		rm -rf "${S:?}/pkg" "${TG:?}"/*
		mixed_tree
		if [[ $tool == rm ]]; then
			run --separate-stderr redir rm -r "$S/pkg/"
		else
			run --separate-stderr redir "$PY" -c 'import shutil, sys; shutil.rmtree(sys.argv[1])' "$S/pkg/"
		fi
		assert_success
		assert_equal "$stderr" ""
		assert_not_exists "$S/pkg"
		# nothing of the tree below TARGET: no file, no empty directory
		assert_equal "$(find "$TG$S" -mindepth 1)" ""
	done
}
