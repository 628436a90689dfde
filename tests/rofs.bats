#!/usr/bin/env bats
# A read-only deployment for real (issue 3): in a private mount namespace the
# app sits on a read-only bind mount and caches go to a tmpfs mounted there,
# with `redirect ** TMPFS/%u` (what `nopyc --redirect DIR` means).  The app
# runs, its caches land in the tmpfs, the second start reuses them and
# writes nothing.  Every interpreter found, one namespace each.

load helpers
load redirect_helpers

setup_file() {
	redirect_python_facts
}

setup() {
	nopyc_setup
	[[ $(id -u) == 0 ]] || skip "needs root for unshare -m and mount"
	can_unshare_mount || skip "cannot unshare -m and mount a tmpfs here"
}

# The four modules of make_tree, their pycs as mapped into TARGET $1.
tree_mapped_pycs() { # TARGET SRC
	local m
	for m in a/__init__.py a/mod.py b/__init__.py b/mod.py; do
		mapped_pyc "$1" "$2/$m"
	done
}

# Runs inside the namespace (see in_mount_ns): results go to $W/out.
ns_readonly_app() {
	local rules
	mount --bind "$W/image" "$W/app"
	mount -o remount,bind,ro "$W/app"
	if : 2>/dev/null >"$W/app/probe"; then
		die "$W/app is writable after the read-only remount"
	fi
	mount -t tmpfs -o mode=0755 nopyc-run "$W/run"
	rules="redirect ** $W/run/%u"
	start() { # N
		local rc=0
		NOPYC_RULES=$rules py_shim "$W/app/main.py" >"$W/out/out$1" 2>"$W/out/err$1" || rc=$?
		echo "$rc" >"$W/out/rc$1"
		snapshot "$W/run" >"$W/out/snap$1"
	}
	start 1
	# shellcheck disable=SC2046
	assert_valid_pycs $(tree_mapped_pycs "$W/run/$UID_" "$W/app")
	start 2
	# a third start, verbose: every module comes from its pyc
	NOPYC_RULES=$rules py_shim -v "$W/app/main.py" >"$W/out/verbose" 2>&1 || true
	find_caches "$W/image" >"$W/out/image-caches"
}

check_readonly_app() {
	make_tree "$W/image"
	mkdir "$W/app" "$W/run" "$W/out"
	local imgsnap n
	imgsnap=$(snapshot "$W/image")
	in_mount_ns ns_readonly_app tree_mapped_pycs || die "the namespace script failed"
	for n in 1 2; do
		[[ $(<"$W/out/rc$n") == 0 ]] || die "start $n exited $(<"$W/out/rc$n"): $(<"$W/out/err$n")"
		[[ ! -s $W/out/err$n ]] || die "start $n stderr: $(<"$W/out/err$n")"
	done
	[[ $(<"$W/out/out1") == "$NOPYC_TEST_TREE_OUTPUT" ]] || die "first start printed '$(<"$W/out/out1")'"
	[[ $(<"$W/out/out2") == "$NOPYC_TEST_TREE_OUTPUT" ]] || die "second start printed '$(<"$W/out/out2")'"
	assert_loaded_from_pyc "$(<"$W/out/verbose")" "$W/app/a/mod.py" "$W/app/b/mod.py"
	# caches landed in the tmpfs at the mapped paths, and only there
	local p
	for p in $(tree_mapped_pycs "$W/run/$UID_" "$W/app"); do
		awk -v p="$p" '$1 == "f" && $2 == p { found = 1 } END { exit !found }' "$W/out/snap1" ||
			die "no $p on the tmpfs"
	done
	[[ ! -s $W/out/image-caches ]] || die "caches in the image: $(<"$W/out/image-caches")"
	# second start: nothing new, nothing rewritten (inode, size, mtime, ctime)
	assert_same_snapshot "$(<"$W/out/snap1")" "$(<"$W/out/snap2")" "the tmpfs on the second start"
	# the image is as it was
	assert_same_snapshot "$imgsnap" "$(snapshot "$W/image")" "the image"
}

@test "rofs: app on a read-only bind mount, redirect ** to a tmpfs: runs, caches on the tmpfs, reused" {
	for_each_python check_readonly_app
}
