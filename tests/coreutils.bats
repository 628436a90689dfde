# deny / discard / allow seen through ordinary programs: coreutils call
# names Python does not (openat with a directory fd from fts, renameat2,
# fchmodat, symlinkat, linkat, ...), so this checks the wrapper set beyond
# what today's interpreters happen to use.  No Python here: fast.

load helpers

setup() {
	nopyc_setup
	mkdir -p "$T/tree/__pycache__" "$T/plain"
	echo old >"$T/old.pyc"
	echo shipped >"$T/tree/__pycache__/m.cpython-311.pyc"
	echo src >"$T/src.txt"
}

EROFS_TEXT='Read-only file system'

# denied CMD...: under the rules in the environment, CMD fails with EROFS.
denied() {
	run --separate-stderr shim "$@"
	if [[ $status -eq 0 || $stderr != *"$EROFS_TEXT"* ]]; then
		batslib_print_kv_single_or_multi 8 \
			'command' "$*" 'status' "$status" 'stderr' "$stderr" |
			batslib_decorate "expected to fail with EROFS ($EROFS_TEXT)" |
			fail
	fi
}

# state: a listing of $T that shows what exists (names, types, contents).
state() {
	(cd "$T" && find . -print | LC_ALL=C sort | while read -r f; do
		if [[ -L $f ]]; then echo "$f -> $(readlink "$f")"
		elif [[ -f $f ]]; then echo "$f: $(cat "$f")"
		else echo "$f/"; fi
	done)
}

@test "coreutils: with no rules every call that would change a cache path fails with EROFS" {
	before=$(state)
	denied mkdir "$T/__pycache__"
	denied mkdir -p "$T/plain/sub/__pycache__"
	denied touch "$T/new.pyc"
	denied touch "$T/old.pyc"
	denied cp "$T/src.txt" "$T/new.pyc"
	denied cp "$T/src.txt" "$T/tree/__pycache__/n.cpython-311.pyc.12345"
	denied sh -c 'echo x >"$1"' sh "$T/old.pyc"
	denied sh -c 'echo x >>"$1"' sh "$T/old.pyc"
	denied truncate -s 0 "$T/old.pyc"
	denied rm "$T/old.pyc"
	denied rm -rf "$T/tree"
	denied rmdir "$T/tree/__pycache__"
	denied mv "$T/old.pyc" "$T/moved.txt"
	denied mv "$T/src.txt" "$T/old.pyc"
	denied mv "$T/src.txt" "$T/tree/__pycache__/src.pyc"
	denied chmod 600 "$T/old.pyc"
	denied ln -s "$T/src.txt" "$T/link.pyc"
	denied ln "$T/src.txt" "$T/hard.pyc"
	# dir-fd relative calls: rm -r removes entries with unlinkat(dirfd, name)
	denied rm -r "$T/tree/__pycache__"
	# mkdir -p made the ordinary directory on the way: not a cache path
	assert_dir_exists "$T/plain/sub"
	rmdir "$T/plain/sub"
	assert_equal "$(state)" "$before"
}

@test "coreutils: reads of cache paths go through under deny, with libc's errno" {
	run shim cat "$T/old.pyc"
	assert_success
	assert_output old
	run shim ls "$T/tree/__pycache__"
	assert_success
	assert_output m.cpython-311.pyc
	run shim stat -c %s "$T/old.pyc"
	assert_output 4
	run shim cat "$T/missing.pyc"
	assert_failure
	assert_output --partial 'No such file or directory'
	run shim ls "$T/nodir/__pycache__"
	assert_failure
	assert_output --partial 'No such file or directory'
}

@test "coreutils: ordinary paths are untouched under deny, errors included" {
	run shim mkdir "$T/plain/new"
	assert_success
	run shim mkdir "$T/plain/new"
	assert_failure
	assert_output --partial 'File exists'
	run shim cp "$T/src.txt" "$T/plain/copy.py"
	assert_success
	run shim mv "$T/plain/copy.py" "$T/plain/moved.py"
	assert_success
	run shim rm -r "$T/plain"
	assert_success
	assert_not_exists "$T/plain"
	run shim rm "$T/missing.txt"
	assert_failure
	assert_output --partial 'No such file or directory'
	# names that only look similar are not cache paths
	run shim touch "$T/x.pycx" "$T/x.pyc.txt" "$T/__pycache__x"
	assert_success
	assert_file_exists "$T/x.pyc.txt"
}

@test "coreutils: discard reports success and leaves nothing" {
	before=$(state)
	export NOPYC_RULES="discard $T/**"
	run shim mkdir "$T/__pycache__"
	assert_success
	run shim cp "$T/src.txt" "$T/__pycache__/m.cpython-311.pyc"
	assert_success
	run shim sh -c 'echo x >"$1"' sh "$T/new.pyc"
	assert_success
	assert_equal "$(state)" "$before"
}

@test "coreutils: allow passes calls through; first matching rule wins" {
	export NOPYC_RULES="allow $T/tree/**; deny **"
	run shim touch "$T/tree/__pycache__/new.cpython-311.pyc"
	assert_success
	assert_file_exists "$T/tree/__pycache__/new.cpython-311.pyc"
	denied touch "$T/new.pyc"
	run shim rm -r "$T/tree/__pycache__"
	assert_success
	assert_not_exists "$T/tree/__pycache__"
}

@test "coreutils: relative paths are resolved against the cwd before matching" {
	mkdir "$T/ok" "$T/no"
	cd "$T"
	export NOPYC_RULES="allow $T/ok/**; deny **"
	run shim mkdir ok/__pycache__
	assert_success
	assert_dir_exists "$T/ok/__pycache__"
	denied mkdir no/__pycache__
	cd "$T/no"
	run shim mkdir ../ok/__pycache__/sub
	assert_success
	assert_dir_exists "$T/ok/__pycache__/sub"
	denied mkdir ./__pycache__
	assert_not_exists "$T/no/__pycache__"
}
