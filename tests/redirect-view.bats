#!/usr/bin/env bats
# Redirect seen by everyday tools (issue 10): a directory with a counterpart
# in TARGET lists the union of both trees (every libc entry point, each name
# once, the right d_type); removing a cache under redirect removes the TARGET
# copy and passes the removal to the original (the kernel decides: done on a
# writable tree, EROFS on a read-only one); renames behave as on one file
# system (renameat2 flags, EXDEV into a TARGET on another file system);
# moving or removing a directory takes its TARGET counterpart along.
#
# The trees are made with a real interpreter: pycs written without the shim
# land in the tree ("original"), pycs written under redirect in TARGET.

load helpers
load redirect_helpers

setup_file() {
	local c
	redirect_python_facts
	for c in listdir rename2; do
		${CC:-cc} -std=gnu11 -O1 -Wall -Wextra -Werror -o "$BATS_FILE_TMPDIR/$c" \
			"$NOPYC_TEST_ROOT/tests/c/$c.c" || return 1
	done
}

setup() {
	one_tree_setup
	LISTDIR=$BATS_FILE_TMPDIR/listdir
	RENAME2=$BATS_FILE_TMPDIR/rename2
}

# redir CMD...: CMD under the redirect rules.
redir() {
	NOPYC_RULES=$RULES shim "$@"
}

# The pyc of module M in directory DIR (absolute), in the tree or in TARGET.
pyc_of() { # DIR M
	pyc_path "$1/$2.py"
}
tpyc_of() { # DIR M
	printf '%s%s\n' "$TG" "$(pyc_path "$1/$2.py")"
}

# mixed_tree: $S/pkg with modules a, b and c: a's pyc only in the tree
# (written without the shim), b's only in TARGET (written under redirect),
# c's in both.  $S/pkg2 with module d: its __pycache__ only in TARGET.
mixed_tree() {
	mkdir -p "$S/pkg" "$S/pkg2"
	: >"$S/pkg/__init__.py"
	: >"$S/pkg2/__init__.py"
	local m
	for m in a b c; do echo "N = '$m'" >"$S/pkg/$m.py"; done
	echo "N = 'd'" >"$S/pkg2/d.py"
	py_noshim -m py_compile "$S/pkg/a.py" "$S/pkg/c.py"
	NOPYC_RULES=$RULES py_shim -m py_compile "$S/pkg/b.py" "$S/pkg/c.py" "$S/pkg2/d.py"
	assert_file_exists "$(pyc_of "$S/pkg" a)" "$(pyc_of "$S/pkg" c)" \
		"$(tpyc_of "$S/pkg" b)" "$(tpyc_of "$S/pkg" c)" "$(tpyc_of "$S/pkg2" d)"
	assert_not_exists "$(pyc_of "$S/pkg" b)"
	assert_not_exists "$(tpyc_of "$S/pkg" a)"
	assert_not_exists "$S/pkg2/__pycache__"
}

# TARGET's regular files, one per line, sorted.
target_files() {
	find "$TG" -type f | LC_ALL=C sort
}

# ---- the merged view ---------------------------------------------------------

@test "view: every libc listing call shows the union of tree and TARGET, each name once, with its type" {
	mixed_tree
	local want_cache want_pkg want_pkg2 mode tag=$PYTAG
	want_cache="__init__.$tag.pyc reg
a.$tag.pyc reg
b.$tag.pyc reg
c.$tag.pyc reg
count 4"
	want_pkg="__init__.py reg
__pycache__ dir
a.py reg
b.py reg
c.py reg
count 5"
	want_pkg2="__init__.py reg
__pycache__ dir
d.py reg
count 3"
	# __init__'s pyc in the tree too, from an import without the shim
	py_noshim -c 'import sys; sys.path.insert(0, sys.argv[1]); import pkg' "$S"
	assert_file_exists "$(pyc_of "$S/pkg" __init__)"
	for mode in readdir readdir64 readdir_r fdopendir scandir scandir64 twice seek; do
		run redir "$LISTDIR" "$mode" "$S/pkg/__pycache__"
		assert_success
		assert_output "$want_cache"
		run redir "$LISTDIR" "$mode" "$S/pkg"
		assert_success
		assert_output "$want_pkg"
		run redir "$LISTDIR" "$mode" "$S/pkg2"
		assert_success
		assert_output "$want_pkg2"
	done
	# The control: without a redirect rule, only the tree.
	run shim "$LISTDIR" readdir "$S/pkg/__pycache__"
	assert_success
	assert_output "__init__.$tag.pyc reg
a.$tag.pyc reg
c.$tag.pyc reg
count 3"
	run shim "$LISTDIR" readdir "$S/pkg2"
	assert_output "__init__.py reg
d.py reg
count 2"
}

@test "view: ls, find and Python's os.scandir see the merged tree; a TARGET-only __pycache__ is entered" {
	mixed_tree
	run redir ls -A "$S/pkg2"
	assert_success
	assert_output "__init__.py
__pycache__
d.py"
	run redir find "$S" -name '*.pyc' -type f
	assert_success
	assert_equal "$(LC_ALL=C sort <<<"$output")" "$(printf '%s\n' \
		"$(pyc_of "$S/pkg" a)" "$(pyc_of "$S/pkg" b)" "$(pyc_of "$S/pkg" c)" \
		"$(pyc_of "$S/pkg2" d)" | LC_ALL=C sort)"
	run redir find "$S" -name __pycache__ -type d
	assert_success
	assert_equal "$(LC_ALL=C sort <<<"$output")" "$S/pkg/__pycache__
$S/pkg2/__pycache__"
	# shellcheck disable=SC2016
	NOPYC_RULES=$RULES run py_shim -c '
import os, sys
for root in sys.argv[1:]:
    for e in sorted(os.scandir(root), key=lambda e: e.name):
        print(e.name, "dir" if e.is_dir() else "file")
print(sorted(os.listdir(sys.argv[2])))' "$S/pkg2" "$S/pkg/__pycache__"
	assert_success
	assert_output "__init__.py file
__pycache__ dir
d.py file
$(printf '%s' "a.$PYTAG.pyc file
b.$PYTAG.pyc file
c.$PYTAG.pyc file")
['a.$PYTAG.pyc', 'b.$PYTAG.pyc', 'c.$PYTAG.pyc']"
}

@test "view: a TARGET-only __pycache__ can be entered (cd, chdir, fchdir) and left by '..' (ls -la, os.stat, os.listdir)" {
	mixed_tree
	local d=$S/pkg2/__pycache__ want="d.$PYTAG.pyc"
	# cd && ls: the shell enters TARGET's copy and lists it; its own cd ..
	# follows $PWD back to the tree
	run redir bash -c 'cd "$1" && ls && cd .. && ls' _ "$d"
	assert_success
	assert_output "$want
__init__.py
__pycache__
d.py"
	# ls -la: '..' is the package directory, no "cannot access"
	run --separate-stderr redir ls -la "$d"
	assert_success
	assert_equal "$stderr" ''
	assert_line --regexp '^d[-rwxst]{9}\.? +[0-9]+ .* \.\.$'
	assert_line --regexp " $want\$"
	# shellcheck disable=SC2016
	NOPYC_RULES=$RULES run --separate-stderr py_shim -c '
import os, sys
d, pkg, tgt = sys.argv[1:]
print("isdir", os.path.isdir(d))
up = os.stat(d + "/..")
print("dotdot is pkg", (up.st_dev, up.st_ino) == (os.stat(pkg).st_dev, os.stat(pkg).st_ino))
print("dotdot lists", sorted(os.listdir(d + "/..")))
print("through", os.path.exists(d + "/../d.py"))
for missing in (pkg + "/nope/__pycache__/..", d + "/../nope"):
    try:
        os.stat(missing)
        print("found", missing)
    except FileNotFoundError:
        pass
os.chdir(d)
print("chdir lists", os.listdir("."), "cwd in TARGET", os.getcwd().startswith(tgt))
os.chdir("/")
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
os.fchdir(fd)
print("fchdir lists", os.listdir("."))
os.chdir(d + "/..")
print("chdir .. is pkg", os.getcwd() == pkg)' "$d" "$S/pkg2" "$TG"
	assert_success
	assert_equal "$stderr" ''
	assert_output "isdir True
dotdot is pkg True
dotdot lists ['__init__.py', '__pycache__', 'd.py']
through True
chdir lists ['$want'] cwd in TARGET True
fchdir lists ['$want']
chdir .. is pkg True"
	# the tree itself still has no __pycache__
	assert_not_exists "$d"
}

@test "view: only cache entries of TARGET join a listing; a directory without a counterpart is listed as it is" {
	mixed_tree
	# TARGET holds $S/pkg/sub only as the parent of a cache whose source
	# directory is gone: "sub" is not a cache name, so it is not listed
	mkdir "$S/pkg/sub"
	echo 'N = 1' >"$S/pkg/sub/m.py"
	NOPYC_RULES=$RULES py_shim -m py_compile "$S/pkg/sub/m.py"
	assert_file_exists "$(tpyc_of "$S/pkg/sub" m)"
	rm -r "$S/pkg/sub"
	echo x >"$TG$S/pkg/stray.txt" # not a cache name: never shown
	run redir "$LISTDIR" readdir "$S/pkg"
	assert_success
	assert_output "__init__.py reg
__pycache__ dir
a.py reg
b.py reg
c.py reg
count 5"
	# a directory outside the rule's pattern: as libc lists it
	mkdir -p "$T/other/__pycache__"
	run redir "$LISTDIR" readdir "$T/other"
	assert_output "__pycache__ dir
count 1"
}

# ---- removal -----------------------------------------------------------------

@test "view: find -name '*.pyc' -delete and find -name __pycache__ -exec rm -r remove both copies on a writable tree" {
	mixed_tree
	run redir find "$S" -name '*.pyc' -delete
	assert_success
	assert_output ""
	assert_equal "$(find "$S" -name '*.pyc')" ""
	assert_equal "$(target_files)" ""
	# the directories are still there (merged): now remove them
	run redir find "$S" -name __pycache__ -prune -exec rm -r {} +
	assert_success
	assert_output ""
	assert_equal "$(find_caches "$S")" ""
	assert_equal "$(find "$TG" -name __pycache__)" ""
	# the sources are untouched
	assert_equal "$(cd "$S" && find . -type f | LC_ALL=C sort)" "./pkg/__init__.py
./pkg/a.py
./pkg/b.py
./pkg/c.py
./pkg2/__init__.py
./pkg2/d.py"
}

@test "view: find ... -exec rm -r {} + in one go (no -delete first) leaves no cache anywhere" {
	mixed_tree
	run redir find "$S" -name __pycache__ -exec rm -r {} +
	assert_success
	assert_equal "$(find_caches "$S")" ""
	assert_equal "$(target_files)" ""
	assert_equal "$(find "$TG" -name __pycache__)" ""
}

ns_readonly_delete() {
	mount --bind "$S" "$S"
	mount -o remount,bind,ro "$S"
	local rc=0
	NOPYC_RULES=$RULES LD_PRELOAD=$NOPYC_LIB find "$S" -name '*.pyc' -delete \
		>"$OUT/out" 2>"$OUT/err" || rc=$?
	echo "$rc" >"$OUT/rc"
}

@test "view: on a read-only tree find -delete fails honestly (EROFS) for the tree's pycs; TARGET-only ones go" {
	[[ $(id -u) == 0 ]] || skip "needs root for unshare -m and mount"
	can_unshare_mount || skip "cannot unshare -m and mount here"
	mixed_tree
	OUT=$BATS_TEST_TMPDIR/out
	mkdir "$OUT"
	local before
	before=$(snapshot "$S")
	{
		declare -p S TG RULES NOPYC_LIB OUT
		declare -f ns_readonly_delete
		echo ns_readonly_delete
	} >"$BATS_TEST_TMPDIR/ns.sh"
	unshare -m bash -e "$BATS_TEST_TMPDIR/ns.sh"
	assert_equal "$(cat "$OUT/rc")" 1
	run cat "$OUT/err"
	assert_output --partial "$(pyc_of "$S/pkg" a)"
	assert_output --partial "Read-only file system"
	assert_equal "$(snapshot "$S")" "$before"
	# b and d were only in TARGET: removed; c's TARGET copy went too
	assert_equal "$(target_files)" ""
}

@test "view: a pathlib rglob + unlink/rmdir clean-up under redirect leaves nothing in the tree or TARGET" {
	mixed_tree
	# shellcheck disable=SC2016
	NOPYC_RULES=$RULES run --separate-stderr py_shim -c '
import pathlib, sys
root = pathlib.Path(sys.argv[1])
n = 0
for p in root.rglob("*.pyc"):
    p.unlink()
    n += 1
for d in sorted(root.rglob("__pycache__"), reverse=True):
    d.rmdir()
    n += 1
print(n)' "$S"
	assert_success
	assert_equal "$stderr" ""
	# the pycs of a, b, c and d (c's two copies seen once), 2 directories
	assert_output 6
	assert_equal "$(find_caches "$S")" ""
	assert_equal "$(target_files)" ""
}

@test "view: rm of a pyc in TARGET only, in the tree only, in both; rmdir of a non-empty merged __pycache__ is ENOTEMPTY" {
	mixed_tree
	run redir rmdir "$S/pkg2/__pycache__"
	assert_failure
	assert_output --partial "Directory not empty"
	run redir rm "$(pyc_of "$S/pkg" a)" "$(pyc_of "$S/pkg" b)" "$(pyc_of "$S/pkg" c)"
	assert_success
	assert_not_exists "$(pyc_of "$S/pkg" a)" "$(pyc_of "$S/pkg" c)" \
		"$(tpyc_of "$S/pkg" b)" "$(tpyc_of "$S/pkg" c)"
	run redir rm "$(pyc_of "$S/pkg" a)"
	assert_failure
	assert_output --partial "No such file or directory"
	run redir rm "$(pyc_of "$S/pkg2" d)"
	assert_success
	run redir rmdir "$S/pkg2/__pycache__"
	assert_success
	assert_not_exists "$TG$S/pkg2/__pycache__"
	run redir ls -A "$S/pkg2"
	assert_output "__init__.py
d.py"
}

# as_one_tree PROBE: PROBE (a function run as "PROBE INTERPRETER", on the
# directory $DIRARG) on one real tree (the tree with TARGET's copies laid
# over it, without the shim), then on the tree under redirect: the same
# output, and nothing made, removed or moved in the tree or in TARGET.
as_one_tree() {
	local one=$BATS_TEST_TMPDIR/one before_tree before_target want
	mkdir -p "$one"
	cp -a "$S/." "$one/"
	cp -a "$TG$S/." "$one/"
	DIRARG=$one run "$1" py_noshim
	assert_success
	want=$output
	before_tree=$(find "$S" | LC_ALL=C sort)
	before_target=$(find "$TG" | LC_ALL=C sort)
	DIRARG=$S NOPYC_RULES=$RULES run "$1" py_shim
	assert_success
	assert_output "$want"
	assert_equal "$(find "$S" | LC_ALL=C sort)" "$before_tree"
	assert_equal "$(find "$TG" | LC_ALL=C sort)" "$before_target"
}

# slash_probe DIR: each call Python makes on a cache name of DIR/pkg with
# "/" or "/." after it (a: in the tree only, b: TARGET only, c: both, l: a
# dangling symlink in TARGET only, n: nowhere), one line each: the name, the
# call, then ok or the errno's name.  Nothing it does may succeed.
slash_probe() {
	"$@" -c '
import errno, os, sys
d = sys.argv[1] + "/pkg/__pycache__/"
names = sorted(os.listdir(d))
for n in ("a", "b", "c", "l", "n"):
    f = [x for x in names if x.startswith(n + ".")]
    f = f[0] if f else n + ".nowhere.pyc"
    for end in ("/", "/."):
        p = d + f + end
        for what, call in (("stat", lambda: os.stat(p)), ("lstat", lambda: os.lstat(p)),
                           ("open", lambda: os.close(os.open(p, os.O_RDONLY))),
                           ("creat", lambda: os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))),
                           ("readlink", lambda: os.readlink(p)), ("unlink", lambda: os.unlink(p)),
                           ("access", lambda: os.access(p, os.R_OK) or 1 / 0)):
            try:
                call(); r = "ok"
            except ZeroDivisionError:
                r = "no access"
            except OSError as e:
                r = errno.errorcode[e.errno]
            print(n + end, what, r)
' "$DIRARG"
}

@test "view: a cache name with a trailing slash ('x.pyc/', 'x.pyc/.') names a directory in both trees: each call's errno as in one real tree, nothing changed" {
	mixed_tree
	ln -s nowhere "$TG$S/pkg/__pycache__/l.$PYTAG.pyc"
	as_one_tree slash_probe
	# nor said: a call on "x.pyc/" fails for its path, not for TARGET
	refute_output --partial "nopyc:"
	# under discard, a create of "x.pyc/" fails as without the library
	NOPYC_RULES="discard $S/**" run py_shim -c \
		'import os, sys; os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)' \
		"$S/pkg/__pycache__/new.$PYTAG.pyc/"
	assert_failure
	assert_output --partial "Is a directory"
}

# create_probe DIR: exclusive creates (mkdir, symlink, mkfifo, O_EXCL, link) of
# each cache name of DIR/pkg/__pycache__, with and without a trailing
# slash, then writes on "__pycache__/" names: one line each, the name, the
# call, then ok or the errno's name.
create_probe() {
	"$@" -c '
import errno, os, sys
def probe(label, what, call):
    try:
        call(); r = "ok"
    except OSError as e:
        r = errno.errorcode[e.errno]
    print(label, what, r)
top = sys.argv[1]
d = top + "/pkg/__pycache__/"
for n in sorted(os.listdir(d)):
    for end in ("", "/"):
        p = d + n + end
        probe(n.split(".")[0] + end, "mkdir", lambda: os.mkdir(p))
        probe(n.split(".")[0] + end, "symlink", lambda: os.symlink("x", p))
        probe(n.split(".")[0] + end, "mkfifo", lambda: os.mkfifo(p))
        probe(n.split(".")[0] + end, "excl", lambda: os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        probe(n.split(".")[0] + end, "link", lambda: os.link(top + "/pkg/a.py", p))
for q in ("/pkg/__pycache__/", "/pkg2/__pycache__/", "/pkg2/__pycache__/."):
    p = top + q
    probe(q, "creat", lambda: os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
    probe(q, "unlink", lambda: os.unlink(p))
    probe(q, "mkdir", lambda: os.mkdir(p))
' "$DIRARG"
}

@test "view: an exclusive create (mkdir, symlink, mkfifo, O_EXCL, link) of a cache name either tree has is EEXIST, as in one tree; writes on '__pycache__/' are refused as there" {
	mixed_tree
	as_one_tree create_probe
	# the case this is about: every name, each form, five calls
	[[ $(grep -c ' EEXIST$' <<<"$output") -ge 30 ]] || fail "one tree gave: $output"
}

@test "view: mv and rm -r of a package directory take its TARGET counterpart along" {
	mixed_tree
	run redir mv "$S/pkg2" "$S/pkg3"
	assert_success
	assert_not_exists "$TG$S/pkg2"
	assert_file_exists "$(tpyc_of "$S/pkg3" d)"
	NOPYC_RULES=$RULES run py_shim -v -c 'import sys; sys.path.insert(0, sys.argv[1]); import pkg3.d; print(pkg3.d.N)' "$S"
	assert_success
	assert_line d
	assert_output --partial "code object from '$(pyc_of "$S/pkg3" d)'"
	run redir rm -r "$S/pkg3"
	assert_success
	assert_not_exists "$S/pkg3"
	assert_equal "$(find "$TG" -path "*pkg3*")" ""
	# rmdir of a directory whose TARGET counterpart still holds caches: as on
	# one file system, it is not empty
	mkdir "$S/empty"
	echo 'N = 0' >"$S/empty/e.py"
	NOPYC_RULES=$RULES py_shim -m py_compile "$S/empty/e.py"
	rm "$S/empty/e.py"
	run redir rmdir "$S/empty"
	assert_failure
	assert_output --partial "Directory not empty"
	assert_file_exists "$(tpyc_of "$S/empty" e)"
}

# ---- renames -------------------------------------------------------------------

@test "view: renameat2 RENAME_NOREPLACE onto a pyc in the tree only fails with EEXIST; RENAME_EXCHANGE swaps" {
	mixed_tree
	local a b c asum bsum
	a=$(pyc_of "$S/pkg" a) b=$(pyc_of "$S/pkg" b) c=$(pyc_of "$S/pkg" c)
	asum=$(cksum <"$a")
	bsum=$(cksum <"$(tpyc_of "$S/pkg" b)")
	# b (TARGET only) onto a (tree only): a exists in the merged view
	run redir "$RENAME2" noreplace "$b" "$a"
	assert_failure
	assert_output EEXIST
	assert_equal "$(cksum <"$a")" "$asum"
	assert_equal "$(cksum <"$(tpyc_of "$S/pkg" b)")" "$bsum"
	assert_not_exists "$(tpyc_of "$S/pkg" a)"
	# onto a name that exists nowhere: done, in TARGET
	run redir "$RENAME2" noreplace "$b" "$S/pkg/__pycache__/new.$PYTAG.pyc"
	assert_success
	assert_equal "$(cksum <"$TG$S/pkg/__pycache__/new.$PYTAG.pyc")" "$bsum"
	assert_not_exists "$(tpyc_of "$S/pkg" b)"
	assert_not_exists "$S/pkg/__pycache__/new.$PYTAG.pyc"
	# exchange a TARGET-only pyc (new) with a tree-only one (a)
	run redir "$RENAME2" exchange "$S/pkg/__pycache__/new.$PYTAG.pyc" "$a"
	assert_success
	assert_equal "$(redir cat "$a" | cksum)" "$bsum"
	assert_equal "$(redir cat "$S/pkg/__pycache__/new.$PYTAG.pyc" | cksum)" "$asum"
	# exchange with a name that exists nowhere: ENOENT, as the kernel says
	run redir "$RENAME2" exchange "$c" "$S/pkg/__pycache__/none.$PYTAG.pyc"
	assert_failure
	assert_output ENOENT
}

@test "view: mv of a pyc in the tree only to another cache name under redirect: moved into TARGET, gone from the tree" {
	mixed_tree
	local a asum
	a=$(pyc_of "$S/pkg" a)
	asum=$(cksum <"$a")
	run redir mv "$a" "$S/pkg/__pycache__/moved.$PYTAG.pyc"
	assert_success
	assert_not_exists "$a"
	assert_not_exists "$S/pkg/__pycache__/moved.$PYTAG.pyc"
	assert_equal "$(cksum <"$TG$S/pkg/__pycache__/moved.$PYTAG.pyc")" "$asum"
}

ns_exdev_replace() {
	mount -t tmpfs -o mode=0700 nopyc-tgt "$TG"
	local rc=0
	# shellcheck disable=SC2016
	NOPYC_RULES=$RULES env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" "$PY" -c '
import os, sys, tempfile
src, cache = sys.argv[1], sys.argv[2]
fd, tmp = tempfile.mkstemp(dir=sys.argv[3])
os.write(fd, b"payload")
os.close(fd)
os.replace(tmp, cache)
print(os.path.exists(tmp), open(cache, "rb").read().decode())' \
		"$S/m.py" "$S/__pycache__/m.$PYTAG.pyc" "$OUT/tmp" >"$OUT/out" 2>"$OUT/err" || rc=$?
	echo "$rc" >"$OUT/rc"
	find "$TG" -printf '%y %P %s\n' | LC_ALL=C sort >"$OUT/tgt"
	stat -c %d "$TG" "$OUT/tmp" >"$OUT/devs"
}

@test "view: os.replace from a temp file outside __pycache__ into a redirected cache on another file system works (no EXDEV)" {
	[[ $(id -u) == 0 ]] || skip "needs root for unshare -m and mount"
	can_unshare_mount || skip "cannot unshare -m and mount here"
	OUT=$BATS_TEST_TMPDIR/out
	mkdir -p "$OUT/tmp"
	echo 'N = 1' >"$S/m.py"
	{
		declare -p S TG RULES NOPYC_LIB OUT PY PYTAG NOPYC_TEST_PY_ENV_CLEAR
		declare -f ns_exdev_replace
		echo ns_exdev_replace
	} >"$BATS_TEST_TMPDIR/ns.sh"
	unshare -m bash -e "$BATS_TEST_TMPDIR/ns.sh"
	[[ $(sed -n 1p "$OUT/devs") != $(sed -n 2p "$OUT/devs") ]] || fail "TARGET and the temp directory share a file system"
	assert_equal "$(cat "$OUT/err")" ""
	assert_equal "$(cat "$OUT/rc")" 0
	assert_equal "$(cat "$OUT/out")" "False payload"
	run grep -x "f ${S#/}/__pycache__/m.$PYTAG.pyc 7" "$OUT/tgt"
	assert_success
	assert_equal "$(ls -A "$OUT/tmp")" ""
	assert_equal "$(find_caches "$S")" ""
}

# ---- sourceless (legacy) pycs -----------------------------------------------------

check_legacy_sourceless() {
	local src=$W/src tgt=$W/tgt rules
	[[ $PYMAJOR == 3 ]] || return 0 # Python 2 writes legacy pycs anyway and finds them by stat
	mkdir -p "$src/pkg" "$tgt"
	chmod 0700 "$tgt"
	: >"$src/pkg/__init__.py"
	echo "N = 'legacy'" >"$src/pkg/mod.py"
	rules="redirect $src/** $tgt; allow **"
	NOPYC_RULES=$rules py_shim -m compileall -q -b "$src" || die "compileall -b failed"
	[[ -f $tgt$src/pkg/mod.pyc ]] || die "no legacy pyc in TARGET: $(find "$tgt" -type f)"
	[[ ! -e $src/pkg/mod.pyc ]] || die "legacy pyc written into the tree"
	rm "$src/pkg/mod.py"
	local out
	out=$(NOPYC_RULES=$rules py_shim -c 'import sys; sys.path.insert(0, sys.argv[1]); import pkg.mod; print(pkg.mod.N)' "$src" 2>&1) ||
		die "import of the sourceless module failed: $out"
	[[ $out == legacy ]] || die "printed '$out', want legacy"
}

@test "view: compileall -b under redirect: the legacy pyc in TARGET is importable once the source is gone" {
	for_each_python check_legacy_sourceless
}
