#!/usr/bin/env bats
# Redirect (issue 3) on every interpreter found: caches move to TARGET at the
# mapped path (TARGET + absolute source path), are reused on the next start,
# shipped pycs are still read, unsafe TARGETs are refused, a full TARGET is
# harmless.  Each test loops over the interpreters (for_each_python) and
# names the ones that failed; the %u test runs /usr/bin/python3 as uid 65534.

load helpers
load redirect_helpers

setup_file() {
	redirect_python_facts
}

setup() {
	nopyc_setup
}

# The four modules of make_tree: their pycs, as mapped into TARGET $1.
tree_mapped_pycs() { # TARGET SRC
	local m
	for m in a/__init__.py a/mod.py b/__init__.py b/mod.py; do
		mapped_pyc "$1" "$2/$m"
	done
}

# run_tree RULES SRC: run SRC/main.py under the shim; it must print the
# tree's output, exit 0 and say nothing on stderr.
run_tree() {
	NOPYC_RULES=$1 run --separate-stderr py_shim "$2/main.py"
	[[ $status == 0 ]] || die "main.py exited $status; stdout: $output; stderr: $stderr"
	[[ -z $stderr ]] || die "unexpected stderr: $stderr"
}

# ---------------------------------------------------------------------------

check_import_maps() {
	local src=$W/src tgt=$W/tgt before want got
	make_tree "$src"
	mkdir "$tgt"
	before=$(snapshot "$src")
	run_tree "redirect $src/** $tgt/%u; allow **" "$src"
	[[ $output == "$NOPYC_TEST_TREE_OUTPUT" ]] || die "output '$output'"
	assert_same_snapshot "$before" "$(snapshot "$src")" "the source tree"
	# exactly the four pycs, at the mapped paths, valid
	want=$(tree_mapped_pycs "$tgt/$UID_" "$src" | LC_ALL=C sort)
	got=$(find "$tgt" -type f | LC_ALL=C sort)
	[[ $got == "$want" ]] || die "files in TARGET:
$got
want:
$want"
	# shellcheck disable=SC2046
	assert_valid_pycs $(tree_mapped_pycs "$tgt/$UID_" "$src")
	[[ $(stat -c %a "$tgt/$UID_") == 700 ]] ||
		die "TARGET $tgt/$UID_ created with mode $(stat -c %a "$tgt/$UID_"), want 700"
	[[ -z $(find_temps "$W") ]] || die "temp files left: $(find_temps "$W")"
}

@test "redirect: import writes the pycs under TARGET at the mapped path, nothing in the source tree" {
	for_each_python check_import_maps
}

# ---------------------------------------------------------------------------

check_second_start_reuses() {
	local src=$W/src tgt=$W/tgt rules srcsnap stat1 snap1
	local -a pycs
	make_tree "$src"
	mkdir "$tgt"
	rules="redirect $src/** $tgt/%u; allow **"
	run_tree "$rules" "$src"
	mapfile -t pycs < <(tree_mapped_pycs "$tgt/$UID_" "$src")
	assert_valid_pycs "${pycs[@]}"
	stat1=$(stat -c '%n %i %Y' "${pycs[@]}")
	snap1=$(snapshot "$tgt")
	srcsnap=$(snapshot "$src")
	# The second start loads every module from its pyc (python -v says so)
	# and writes nothing: TARGET's pycs were found valid and read (the
	# tree has none).  (Editing a source here would make it newer than
	# TARGET's pyc, which is then never used: deploy.bats tests that.)
	local verbose
	verbose=$(NOPYC_RULES=$rules py_shim -v "$src/main.py" 2>&1) || die "second start failed: $verbose"
	grep -qxF "$NOPYC_TEST_TREE_OUTPUT" <<<"$verbose" || die "second start did not print the tree's output"
	assert_loaded_from_pyc "$verbose" "$src/a/mod.py" "$src/b/mod.py"
	[[ $(stat -c '%n %i %Y' "${pycs[@]}") == "$stat1" ]] ||
		die "mapped pycs rewritten: before $stat1; after $(stat -c '%n %i %Y' "${pycs[@]}")"
	assert_same_snapshot "$snap1" "$(snapshot "$tgt")" "TARGET on the second start"
	assert_same_snapshot "$srcsnap" "$(snapshot "$src")" "the source tree on the second start"
	[[ -z $(find_caches "$src") ]] || die "caches in the tree: $(find_caches "$src")"
}

@test "redirect: the second start reuses the pycs in TARGET and writes nothing" {
	for_each_python check_second_start_reuses
}

# ---------------------------------------------------------------------------

IMPORT_STALEMOD='import sys; sys.path.insert(0, sys.argv[1]); import stalemod; print(stalemod.X)'

check_overlay_shipped() {
	local src=$W/src tgt=$W/tgt srcsnap
	make_stale_module "$src" stalemod # shipped pyc says 1, source says 2
	mkdir "$tgt"
	srcsnap=$(snapshot "$src")
	NOPYC_RULES="redirect $src/** $tgt/%u; allow **" run --separate-stderr \
		py_shim -c "$IMPORT_STALEMOD" "$src"
	[[ $status == 0 && -z $stderr ]] || die "exit $status; stderr: $stderr"
	[[ $output == 1 ]] || die "printed '$output', want 1: the shipped pyc was not read"
	assert_same_snapshot "$srcsnap" "$(snapshot "$src")" "the source tree"
	[[ $(cksum <"$STALE_PYC") == "$STALE_SUM" ]] || die "shipped pyc changed"
	[[ -d $tgt/$UID_ ]] || die "TARGET $tgt/$UID_ not created"
	[[ -z $(find "$tgt/$UID_" -mindepth 1) ]] ||
		die "written to TARGET: $(find "$tgt/$UID_" -mindepth 1)"
}

@test "redirect: overlay: a valid pyc shipped in the source tree is read, nothing written to TARGET" {
	for_each_python check_overlay_shipped
}

# forge_target_pyc SRC TEXT RULES TARGET: a valid pyc of SRC saying TEXT
# instead (same size and mtime as SRC, so it validates), put in TARGET at
# SRC's mapped path now, after SRC's last change.  Python 3: written through
# the shim, so it records SRC as its source (a pyc in __pycache__ without
# the record is not current): SRC is rewritten in place (the same file) to
# TEXT while it compiles.  Python 2 (its pycs beside the source keep the
# ctime rule): compiled elsewhere and copied in.
forge_target_pyc() {
	local src=$1 text=$2 rules=$3 tgt=$4 orig mtime scratch=$W/forge pyc
	mtime=$(stat -c %Y "$src")
	if [[ $PYMAJOR == 2 ]]; then
		mkdir -p "$scratch"
		printf '%s\n' "$text" >"$scratch/${src##*/}"
		[[ $(stat -c %s "$scratch/${src##*/}") == $(stat -c %s "$src") ]] || die "forge: '$text' is not the size of $src"
		touch -d "@$mtime" "$scratch/${src##*/}"
		py_noshim -c 'import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)' "$scratch/${src##*/}"
		pyc=$(mapped_pyc "$tgt" "$src")
		mkdir -p "${pyc%/*}"
		cp "$(pyc_path "$scratch/${src##*/}")" "$pyc"
		rm -rf "$scratch"
		return 0
	fi
	orig=$(<"$src")
	printf '%s\n' "$text" >"$src"
	[[ $(stat -c %s "$src") == $((${#orig} + 1)) ]] || die "forge: '$text' is not the size of $src"
	touch -d "@$mtime" "$src"
	NOPYC_RULES=$rules py_shim -c 'import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)' "$src" ||
		die "forge: compiling '$text' under the shim failed"
	printf '%s\n' "$orig" >"$src"
	touch -d "@$mtime" "$src"
}

check_overlay_target_first() {
	local src=$W/src tgt=$W/tgt rules
	make_stale_module "$src" stalemod # shipped pyc: X = 1, source X = 2
	mkdir "$tgt"
	rules="redirect $src/** $tgt/%u; allow **"
	NOPYC_RULES=$rules py_shim -c 'print(1)' >/dev/null # creates TARGET, 0700
	# A pyc of `X = 3` (same size and mtime) in TARGET, newer than the source.
	forge_target_pyc "$src/stalemod.py" 'X = 3' "$rules" "$tgt/$UID_"
	NOPYC_RULES=$rules run py_shim -c "$IMPORT_STALEMOD" "$src"
	[[ $output == 3 ]] || die "printed '$output', want 3 (TARGET's pyc before the shipped one)"
	run py_noshim -B -c "$IMPORT_STALEMOD" "$src"
	[[ $output == 1 ]] || die "control without the shim printed '$output', want 1 (the shipped pyc)"
	[[ $(cksum <"$STALE_PYC") == "$STALE_SUM" ]] || die "the shipped pyc changed"
}

@test "redirect: overlay: a pyc in TARGET is read before the shipped one" {
	for_each_python check_overlay_target_first
}

check_overlay_stale_shipped() {
	local src=$W/src tgt=$W/tgt rules mapped srcsnap tgtsnap verbose
	make_stale_module "$src" stalemod
	echo 'X = 22' >"$src/stalemod.py" # new size and mtime: the shipped pyc is stale
	mkdir "$tgt"
	rules="redirect $src/** $tgt/%u; allow **"
	srcsnap=$(snapshot "$src")
	NOPYC_RULES=$rules run --separate-stderr py_shim -c "$IMPORT_STALEMOD" "$src"
	[[ $status == 0 && -z $stderr ]] || die "exit $status; stderr: $stderr"
	[[ $output == 22 ]] || die "printed '$output', want 22"
	if [[ $PYMAJOR == 2 ]]; then
		# Python 2 removes a stale pyc before it writes the new one; the
		# removal reaches the (writable) tree as any removal does
		assert_same_snapshot "$(grep -v -e '/stalemod.pyc ' -e '^d ' <<<"$srcsnap")" \
			"$(snapshot "$src" | grep -v '^d ')" "the source tree, but for the stale pyc"
	else
		assert_same_snapshot "$srcsnap" "$(snapshot "$src")" "the source tree (with its stale shipped pyc)"
	fi
	mapped=$(mapped_pyc "$tgt/$UID_" "$src/stalemod.py")
	assert_valid_pycs "$mapped"
	# From now on TARGET's fresh pyc is the one read, and nothing is written.
	tgtsnap=$(snapshot "$tgt")
	verbose=$(NOPYC_RULES=$rules py_shim -v -c "$IMPORT_STALEMOD" "$src" 2>&1) || die "second start failed: $verbose"
	grep -qx 22 <<<"$verbose" || die "second start did not print 22"
	assert_loaded_from_pyc "$verbose" "$src/stalemod.py"
	assert_same_snapshot "$tgtsnap" "$(snapshot "$tgt")" "TARGET on the second start"
}

@test "redirect: overlay: a stale shipped pyc is superseded by a fresh one in TARGET, left untouched" {
	for_each_python check_overlay_stale_shipped
}

# ---------------------------------------------------------------------------

check_compileall() {
	local src=$W/src tgt=$W/tgt rules srcsnap tgtsnap
	mkdir -p "$src/pkg" "$tgt"
	: >"$src/pkg/__init__.py"
	echo 'X = 1' >"$src/pkg/mod.py"
	touch -d "@$NOPYC_TEST_STALE_MTIME" "$src/pkg/mod.py"
	rules="redirect $src/** $tgt/%u; allow **"
	srcsnap=$(snapshot "$src")
	# relative, as users type it (compileall then passes relative paths)
	NOPYC_RULES=$rules run --separate-stderr py_shim -m compileall -q src
	[[ $status == 0 ]] || die "compileall exited $status; stdout: $output; stderr: $stderr"
	assert_same_snapshot "$srcsnap" "$(snapshot "$src")" "the source tree"
	assert_valid_pycs "$(mapped_pyc "$tgt/$UID_" "$src/pkg/__init__.py")" \
		"$(mapped_pyc "$tgt/$UID_" "$src/pkg/mod.py")"
	[[ -z $(find_temps "$W") ]] || die "temp files left: $(find_temps "$W")"
	tgtsnap=$(snapshot "$tgt")
	local verbose
	verbose=$(NOPYC_RULES=$rules py_shim -v -c 'import sys; sys.path.insert(0, sys.argv[1]); import pkg.mod; print(pkg.mod.X)' "$src" 2>&1) ||
		die "import after compileall failed: $verbose"
	grep -qx 1 <<<"$verbose" || die "import did not print 1"
	assert_loaded_from_pyc "$verbose" "$src/pkg/__init__.py" "$src/pkg/mod.py"
	assert_same_snapshot "$tgtsnap" "$(snapshot "$tgt")" "TARGET on import after compileall"
}

@test "redirect: -m compileall fills TARGET and a later import uses those pycs" {
	for_each_python check_compileall
}

# ---------------------------------------------------------------------------

teardown() {
	[[ -z ${NONROOT_DIR:-} ]] || rm -rf "$NONROOT_DIR"
}

@test "redirect: TARGET per effective uid (%u): a non-root user gets its own TARGET (0700) and reuses it" {
	local py=/usr/bin/python3 uid=65534 d src target pyc rules
	[[ $(id -u) == 0 ]] || skip "needs root to switch to uid $uid"
	command -v setpriv >/dev/null || skip "setpriv not found"
	[[ -x $py ]] || skip "$py not found (the one interpreter a non-root user can run here)"
	nobody() { setpriv --reuid=$uid --regid=$uid --clear-groups "$@"; }
	nobody test -r "$NOPYC_LIB" || skip "uid $uid cannot read $NOPYC_LIB"
	# Outside the bats tmpdir, which only root may enter.
	NONROOT_DIR=$(mktemp -d /tmp/nopyc-redirect-nonroot.XXXXXX)
	d=$NONROOT_DIR src=$NONROOT_DIR/src
	chmod 0755 "$d"
	mkdir -p "$src/pkg" "$d/tgt"
	chmod 1777 "$d/tgt" # like /tmp: anyone may make a TARGET in it
	: >"$src/pkg/__init__.py"
	echo "X = 'one'" >"$src/pkg/mod.py"
	rules="redirect $src/** $d/tgt/%u; allow **"
	run_nobody() {
		NOPYC_RULES=$rules run --separate-stderr nobody env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" \
			LD_PRELOAD="$NOPYC_LIB" "$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); import pkg.mod; print(pkg.mod.X)' "$src"
	}
	run_nobody
	assert_success
	assert_output one
	assert_equal "$stderr" ""
	target=$d/tgt/$uid
	assert_equal "$(stat -c '%u %a' "$target")" "$uid 700"
	pyc=$target$src/pkg/__pycache__/mod.$(PY=$py py_noshim -c 'import sys; print(sys.implementation.cache_tag)').pyc
	assert_file_exist "$pyc"
	assert_equal "$(stat -c %u "$pyc")" "$uid"
	assert_equal "$(find_caches "$src")" ""
	[[ ! -e $d/tgt/0 ]] || fail "a TARGET for uid 0 appeared: %u is not the euid"
	# the second start reads it and writes nothing
	local before
	before=$(stat -c '%i %Y %Z' "$pyc")
	run_nobody
	assert_output one
	assert_equal "$(stat -c '%i %Y %Z' "$pyc")" "$before"
}

# ---------------------------------------------------------------------------
# Unsafe TARGET: refused with one stderr line naming it, the rule acts as
# deny: nothing written anywhere, the program runs unchanged.

check_refused() {
	local src=$W/src target watch why srcsnap watchsnap line
	make_tree "$src"
	case $UNSAFE in
	mode0777)
		target=$W/tgt watch=$W/tgt why=writable
		mkdir "$target"
		chmod 0777 "$target"
		;;
	symlink)
		target=$W/link watch=$W/safe why=link
		mkdir -m 0700 "$watch"
		ln -s "$watch" "$target"
		;;
	owner)
		target=$W/other watch=$W/other why=own
		mkdir -m 0700 "$target"
		chown 12345 "$target"
		;;
	esac
	srcsnap=$(snapshot "$src")
	watchsnap=$(snapshot "$watch")
	NOPYC_RULES="redirect $src/** $target; allow **" run --separate-stderr py_shim "$src/main.py"
	[[ $status == 0 ]] || die "exit $status; stderr: $stderr"
	[[ $output == "$NOPYC_TEST_TREE_OUTPUT" ]] || die "output '$output'"
	[[ $stderr != *$'\n'* ]] || die "more than one line on stderr: $stderr"
	line=$stderr
	[[ $line == "nopyc: "*"$target"*refused* ]] ||
		die "stderr '$line' is not a refusal naming $target"
	[[ $line == *"$why"* ]] || die "stderr '$line' does not say why ($why)"
	assert_same_snapshot "$srcsnap" "$(snapshot "$src")" "the source tree"
	assert_same_snapshot "$watchsnap" "$(snapshot "$watch")" "the refused TARGET"
	[[ -z $(find_caches "$W") ]] || die "caches written: $(find_caches "$W")"
}

@test "redirect: a TARGET writable by others (0777) is refused, nothing written" {
	UNSAFE=mode0777 for_each_python check_refused
}

@test "redirect: a TARGET that is a symlink (to a safe dir) is refused, nothing written" {
	UNSAFE=symlink for_each_python check_refused
}

@test "redirect: a TARGET owned by another uid is refused, nothing written" {
	[[ $(id -u) == 0 ]] || skip "needs root to chown a directory to another uid"
	UNSAFE=owner for_each_python check_refused
}

# ---------------------------------------------------------------------------

ns_full_tmpfs() {
	local n rc
	mount -t tmpfs -o size=64k,mode=0755 nopyc-full "$W/tgt"
	if dd if=/dev/zero of="$W/tgt/fill" bs=4096 2>/dev/null; then
		die "filling the 64k tmpfs did not hit ENOSPC"
	fi
	if printf x 2>/dev/null >"$W/tgt/probe"; then
		die "the tmpfs is not full"
	fi
	rm -f "$W/tgt/probe"
	for n in 1 2; do
		rc=0
		NOPYC_RULES="redirect $W/src/** $W/tgt/%u; allow **" \
			py_shim "$W/src/main.py" >"$W/out/out$n" 2>"$W/out/err$n" || rc=$?
		echo "$rc" >"$W/out/rc$n"
	done
	find "$W/tgt" -printf '%y %p\n' >"$W/out/tgt-list"
	find_temps "$W/src" "$W/tgt" >"$W/out/temps"
}

check_full_tmpfs() {
	local n
	make_tree "$W/src"
	mkdir "$W/tgt" "$W/out"
	in_mount_ns ns_full_tmpfs || die "the namespace script failed"
	for n in 1 2; do
		[[ $(<"$W/out/rc$n") == 0 ]] || die "run $n exited $(<"$W/out/rc$n"): $(<"$W/out/err$n")"
		[[ $(<"$W/out/out$n") == "$NOPYC_TEST_TREE_OUTPUT" ]] || die "run $n printed '$(<"$W/out/out$n")'"
		# a full TARGET says so, once per process
		[[ $(<"$W/out/err$n") == "nopyc: redirect TARGET $W/tgt/$UID_: no space left; caches are not being saved" ]] ||
			die "run $n stderr: $(<"$W/out/err$n")"
	done
	[[ ! -s $W/out/temps ]] || die "temp files left: $(<"$W/out/temps")"
	[[ -z $(find_caches "$W/src") ]] || die "caches in the source tree: $(find_caches "$W/src")"
	# The redirect was live: TARGET accepted, and writes were attempted at
	# the mapped path (the shim made its parent directories there).
	grep -qxF "d $W/tgt/$UID_$W/src/a" "$W/out/tgt-list" ||
		die "no mapped directory $W/tgt/$UID_$W/src/a on the tmpfs: $(<"$W/out/tgt-list")"
}

@test "redirect: TARGET on a full tmpfs: the program runs correctly, says so once, no temp file left" {
	[[ $(id -u) == 0 ]] || skip "needs root for unshare -m and mount"
	can_unshare_mount || skip "cannot unshare -m and mount a tmpfs here"
	for_each_python check_full_tmpfs
}
