#!/usr/bin/env bats
# Renames under redirect fail as on one tree, and a rename that fails
# changes nothing in the tree or in TARGET (faults a user trial found): a
# file renamed onto a cache directory (EISDIR, ENOTDIR) keeps its source; on
# a read-only tree a pyc renamed over one only the tree holds fails EROFS
# (the tree's copy would be shadowed); a FIFO, symlink, directory or
# hard-linked file moved into TARGET across file systems gives EXDEV (never
# blocks, never breaks a link); renameat2's flags are checked first
# (EINVAL).  Each scenario runs with TARGET on the tree's file system and
# on a tmpfs of its own (the copy path), in a mount namespace.

load helpers
load redirect_helpers

setup() {
	one_tree_setup
	[[ $(id -u) == 0 ]] || skip "needs root for unshare -m and mount"
	can_unshare_mount || skip "cannot unshare -m and mount here"
	OUT=$BATS_TEST_TMPDIR/out
	mkdir -p "$OUT"
}

# ren_tree: $S/pkg with modules a, b, c: the pycs of a and __init__ only in
# the tree, b's only
# in TARGET, c's in both; $S/pkg2 (module d): its __pycache__ only in
# TARGET; $S/notes.txt, a file that is not a cache.
ren_tree() {
	local m
	mkdir -p "$S/pkg" "$S/pkg2"
	: >"$S/pkg/__init__.py"
	: >"$S/pkg2/__init__.py"
	for m in a b c; do echo "N = '$m'" >"$S/pkg/$m.py"; done
	echo "N = 'd'" >"$S/pkg2/d.py"
	py_noshim -m py_compile "$S/pkg/__init__.py" "$S/pkg/a.py" "$S/pkg/c.py"
	NOPYC_RULES=$RULES py_shim -m py_compile "$S/pkg/b.py" "$S/pkg/c.py" "$S/pkg2/d.py"
	[[ -f $TG$(pyc_path "$S/pkg/b.py") && ! -e $(pyc_path "$S/pkg/b.py") ]]
	[[ -d $TG$S/pkg2/__pycache__ && ! -e $S/pkg2/__pycache__ ]]
	echo 'important data' >"$S/notes.txt"
}

# The Python that renames: each "OP SRC DST" argument is one call (OP
# rename, replace, or renameat2:FLAGS through ctypes); prints per call
# "SRC DST ok" or the errno's name.
# shellcheck disable=SC2089 # Python source, passed as one argument
RENAMER='
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for arg in sys.argv[1:]:
    op, src, dst = arg.split(" ")
    try:
        if op.startswith("renameat2:"):
            if libc.renameat2(-100, src.encode(), -100, dst.encode(), int(op[10:])) != 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
        else:
            getattr(os, op)(src, dst)
        r = "ok"
    except OSError as e:
        r = errno.errorcode[e.errno]
    print(op, src, dst, r)
'

# TARGET's entries: type, path, size, inode (a copy made and dropped again
# there changes a directory's times, never its entries).
tgt_entries() {
	find "$TG" -printf '%y %p %s %i\n' | LC_ALL=C sort
}

# in_ns FUNC FS [ro]: run FUNC (cwd $S) in a new mount namespace, TARGET
# on the tree's file system (FS "same") or on a tmpfs of its own ("tmpfs");
# "ro": the tree made read-only after ren_tree.  FUNC writes into $OUT;
# snapshots of the tree and TARGET before and after go to $OUT too.
# shellcheck disable=SC2016,SC2028 # the lines are the script's own
in_ns() {
	{
		# shellcheck disable=SC2090
		declare -p S TG OUT RULES RENAMER PY PYTAG PYMAJOR NOPYC_LIB NOPYC_TEST_PY_ENV_CLEAR
		declare -f py_shim py_noshim pyc_path snapshot tgt_entries ren_tree "$1"
		echo 'set -euo pipefail'
		[[ $2 == tmpfs ]] && echo 'mount -t tmpfs -o mode=0700 nopyc-tgt "$TG"'
		echo 'ren_tree'
		[[ ${3:-} == ro ]] && echo 'mount --bind "$S" "$S"; mount -o remount,bind,ro "$S"'
		echo 'snapshot "$S" >"$OUT/tree.before"; tgt_entries >"$OUT/tgt.before"'
		echo "cd \"\$S\"; $1"
		echo 'snapshot "$S" >"$OUT/tree.after"; tgt_entries >"$OUT/tgt.after"'
		echo 'find "$TG" -printf "%y %P\n" | LC_ALL=C sort >"$OUT/tgt.list"'
	} >"$BATS_TEST_TMPDIR/ns.sh"
	unshare -m bash "$BATS_TEST_TMPDIR/ns.sh"
}

# assert_unchanged: neither the tree nor TARGET's entries changed.
assert_unchanged() {
	assert_equal "$(diff "$OUT/tree.before" "$OUT/tree.after")" ""
	assert_equal "$(diff "$OUT/tgt.before" "$OUT/tgt.after")" ""
}

# ---- a failed rename changes nothing -------------------------------------------

ns_onto_cache_dir() {
	NOPYC_RULES=$RULES py_shim -c "$RENAMER" "rename notes.txt pkg/__pycache__" \
		"rename notes.txt pkg/__pycache__/" "rename notes.txt pkg2/__pycache__" \
		"rename notes.txt pkg2/__pycache__/" "replace notes.txt pkg/x.pyc/" \
		"rename notes.txt pkg/a.py/__pycache__/x.pyc" >"$OUT/out"
	# the same calls in one real tree: the tree with TARGET's copy in it
	cp -a "$S" "$OUT/one"
	cp -a "$TG$S/." "$OUT/one/"
	(cd "$OUT/one" && py_noshim -c "$RENAMER" "rename notes.txt pkg/__pycache__" \
		"rename notes.txt pkg/__pycache__/" "rename notes.txt pkg2/__pycache__" \
		"rename notes.txt pkg2/__pycache__/" "replace notes.txt pkg/x.pyc/" \
		"rename notes.txt pkg/a.py/__pycache__/x.pyc" >"$OUT/one.out")
}

@test "rename: a file renamed onto a cache directory, or below a file, fails as in one tree (EISDIR, ENOTDIR); the file is kept, nothing changes" {
	local fs
	for fs in tmpfs same; do
		rm -rf "${S:?}"/* "${OUT:?}"/*
		in_ns ns_onto_cache_dir "$fs"
		run cat "$OUT/out"
		assert_output "$(cat "$OUT/one.out")"
		assert_line "rename notes.txt pkg/__pycache__ EISDIR"
		assert_line "rename notes.txt pkg2/__pycache__ EISDIR"
		assert_line "rename notes.txt pkg2/__pycache__/ ENOTDIR"
		# below a file: no TARGET directory is made where the tree has one
		assert_line "rename notes.txt pkg/a.py/__pycache__/x.pyc ENOTDIR"
		assert_unchanged
		assert_equal "$(cat "$S/notes.txt")" "important data"
	done
}

ns_readonly() {
	local a b
	a=$(pyc_path pkg/a.py) b=$(pyc_path pkg/b.py)
	NOPYC_RULES=$RULES py_shim -c "$RENAMER" "rename $b ${a%a.*}__init__.${a#*a.}" \
		"rename $b $a" "rename $a ${a%a.*}a2.${a#*a.}" \
		"rename notes.txt pkg/__pycache__" >"$OUT/out"
}

@test "rename: on a read-only tree a pyc renamed over one only the tree holds fails EROFS and changes nothing" {
	local fs a b
	a=$(pyc_path pkg/a.py) b=$(pyc_path pkg/b.py)
	for fs in tmpfs same; do
		rm -rf "${S:?}"/* "${OUT:?}"/*
		in_ns ns_readonly "$fs" ro
		run cat "$OUT/out"
		assert_output "rename $b ${a%a.*}__init__.${a#*a.} EROFS
rename $b $a EROFS
rename $a ${a%a.*}a2.${a#*a.} EROFS
rename notes.txt pkg/__pycache__ EISDIR"
		assert_unchanged
	done
}

ns_writable_over_tree() {
	local a b
	a=$(pyc_path pkg/a.py) b=$(pyc_path pkg/b.py)
	cksum <"$TG$S/$b" >"$OUT/bsum"
	NOPYC_RULES=$RULES py_shim -c "$RENAMER" "rename $b $a" >"$OUT/out"
}

@test "rename: a pyc in TARGET renamed over one only the tree holds replaces it: the tree's copy is removed" {
	local fs a b
	a=$(pyc_path pkg/a.py) b=$(pyc_path pkg/b.py)
	for fs in tmpfs same; do
		rm -rf "${S:?}"/* "${OUT:?}"/*
		in_ns ns_writable_over_tree "$fs"
		run cat "$OUT/out"
		assert_output "rename $b $a ok"
		assert_not_exists "$S/$a"
		assert_equal "$(grep -c "pkg/__pycache__/[ab]\." "$OUT/tgt.list")" 1
		run grep -F "f ${S#/}/$a" "$OUT/tgt.list"
		assert_success
	done
}

# ---- what cannot be copied across file systems: EXDEV ------------------------------

ns_not_copied() {
	local d=$OUT/src p
	mkdir "$d"
	mkfifo "$d/fifo"
	ln -s /etc/hostname "$d/link"
	mkdir "$d/dir"
	echo one >"$d/hard"
	ln "$d/hard" "$d/hard2"
	echo payload >"$d/file"
	p=$(pyc_path pkg/x.py)
	NOPYC_RULES=$RULES timeout 60 env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" \
		"$PY" -c "$RENAMER" "replace $d/fifo ${p%x.*}f.${p#*x.}" "replace $d/link ${p%x.*}l.${p#*x.}" \
		"replace $d/dir ${p%x.*}d.${p#*x.}" "replace $d/hard ${p%x.*}h.${p#*x.}" \
		"replace $d/file ${p%x.*}r.${p#*x.}" >"$OUT/out"
	ls -A "$d" >"$OUT/left"
	stat -c %h "$d/hard" >"$OUT/links"
	cat "$TG$S/${p%x.*}r.${p#*x.}" >"$OUT/r"
}

@test "rename: a FIFO, symlink, directory or hard-linked file moved into TARGET on another file system gives EXDEV (no hang); a plain file is copied" {
	local p d=$OUT/src
	p=$(pyc_path pkg/x.py)
	in_ns ns_not_copied tmpfs
	run cat "$OUT/out"
	assert_output "replace $d/fifo ${p%x.*}f.${p#*x.} EXDEV
replace $d/link ${p%x.*}l.${p#*x.} EXDEV
replace $d/dir ${p%x.*}d.${p#*x.} EXDEV
replace $d/hard ${p%x.*}h.${p#*x.} EXDEV
replace $d/file ${p%x.*}r.${p#*x.} ok"
	assert_equal "$(cat "$OUT/left")" "dir
fifo
hard
hard2
link"
	assert_equal "$(cat "$OUT/links")" 2
	assert_equal "$(cat "$OUT/r")" payload
	assert_equal "$(grep -c "${p%x.*}[fldh]\." "$OUT/tgt.list")" 0
	assert_equal "$(diff "$OUT/tree.before" "$OUT/tree.after")" ""
}

# ---- renameat2's flags ----------------------------------------------------------

ns_flags() {
	local a b
	a=$(pyc_path pkg/a.py) b=$(pyc_path pkg/b.py)
	NOPYC_RULES=$RULES py_shim -c "$RENAMER" "renameat2:3 $b $a" "renameat2:3 $b nowhere.pyc" \
		"renameat2:6 $b $a" "renameat2:5 $b $a" "renameat2:4 $b $a" "renameat2:8 $b $a" \
		"renameat2:2 notes.txt $a" "renameat2:2 notes.txt $b" >"$OUT/out"
}

@test "rename: renameat2 flags the kernel rejects give EINVAL first; RENAME_EXCHANGE of a file that is not a cache with a pyc gives EXDEV" {
	local fs a b
	a=$(pyc_path pkg/a.py) b=$(pyc_path pkg/b.py)
	for fs in tmpfs same; do
		rm -rf "${S:?}"/* "${OUT:?}"/*
		in_ns ns_flags "$fs"
		run cat "$OUT/out"
		assert_output "renameat2:3 $b $a EINVAL
renameat2:3 $b nowhere.pyc EINVAL
renameat2:6 $b $a EINVAL
renameat2:5 $b $a EINVAL
renameat2:4 $b $a EINVAL
renameat2:8 $b $a EINVAL
renameat2:2 notes.txt $a EXDEV
renameat2:2 notes.txt $b EXDEV"
		assert_unchanged
	done
}
