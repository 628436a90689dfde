#!/usr/bin/env bats
# shellcheck disable=SC2154 # $stderr and $stderr_lines are set by bats' run
# The life of a cache in a redirect TARGET: `nopyc warm` fills it ahead of
# the first start, `nopyc prune` takes out what no run will use again.
#
# Python is Debian's /usr/bin/python3 (tests skip when it is missing); other
# interpreters are used where found, always with the variables that steer
# caching cleared (this machine exports PYTHONDONTWRITEBYTECODE=1).

load helpers
load redirect_helpers

setup_file() {
	PY=
	[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
	export PY
	nopyc_python_facts
}

setup() {
	nopyc_setup
	[[ -n $PY ]] || skip "/usr/bin/python3 not found"
	NOPYC=$NOPYC_TEST_ROOT/scripts/nopyc
	make_tree "$T"
	A=$T/a/mod.py B=$T/b/mod.py
	TGT=$BATS_TEST_TMPDIR/pyc
	mkdir -m 700 "$TGT"
	RULES=(--rule "redirect $T/** $TGT" --deny '**')
}

# nopyc_py ARGS...: the command, with Python's cache variables cleared.
nopyc_py() {
	env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$NOPYC" "$@"
}

# A package 12 levels deep (compileall's command line used to stop at 10).
make_deep() {
	local d=$T/deep i
	for i in $(seq 1 12); do
		d=$d/l$i
	done
	mkdir -p "$d"
	echo "DEEP = 12" >"$d/bottom.py"
}

# Every .py under DIR, one per line, sorted.
sources_under() {
	find "$1" -name '*.py' | LC_ALL=C sort
}

# ro_start LOG ARGS...: run `nopyc ARGS...` with $T bound read-only onto
# itself in a private mount namespace, NOPYC_LOG=LOG; output to $out.
ro_start() {
	local log=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	run unshare -m bash -c 'set -e
		mount --bind "$1" "$1"
		mount -o remount,bind,ro "$1" "$1"
		if : 2>/dev/null >"$1/probe"; then echo "$1 is writable"; exit 99; fi
		shift
		exec env "$@"' ro "$T" "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$NOPYC" --log "$log" "$@"
}

need_ro() {
	[[ $(id -u) == 0 ]] || skip "needs root for unshare -m and mount"
	can_unshare_mount || skip "cannot unshare -m and mount here"
}

# Lines of LOG where a cache was written or a write was attempted: CPython
# tries to write every module it had to compile.
write_lines() {
	grep -E 'verdict=(mapped|fail|succeed|sink)' "$1" || true
}

# ---- warm ------------------------------------------------------------------

@test "warm, then a read-only start writes nothing and compiles nothing (NOPYC_LOG); without warm it compiles" {
	need_ro
	make_deep
	run nopyc_py "${RULES[@]}" warm --python "$PY" "$T"
	assert_success
	local n
	n=$(sources_under "$T" | wc -l)
	assert_output "nopyc warm: $PY ($PYTAG): $n source files: $n compiled, 0 up to date, 0 failed"
	# every module's cache is in TARGET, none in the tree
	local src
	while IFS= read -r src; do
		assert_file_exists "$(mapped_pyc "$TGT" "$src")"
	done < <(sources_under "$T")
	assert_no_caches "$T"
	local before
	before=$(snapshot "$TGT")

	ro_start "$BATS_TEST_TMPDIR/warm.log" "${RULES[@]}" "$PY" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_equal "$(write_lines "$BATS_TEST_TMPDIR/warm.log")" ''
	# each module's cache was read from TARGET
	for src in "$A" "$B" "$T/a/__init__.py" "$T/b/__init__.py"; do
		grep -qF "path=$(pyc_path "$src") rule=1 action=redirect verdict=overlay mapped=$(mapped_pyc "$TGT" "$src") result=ok" \
			"$BATS_TEST_TMPDIR/warm.log" || fail "the cache of $src was not read from TARGET"
	done
	assert_equal "$(snapshot "$TGT")" "$before"
	assert_no_caches "$T"

	# The same read-only start into an empty TARGET compiles and writes.
	local tgt2=$BATS_TEST_TMPDIR/pyc2
	mkdir -m 700 "$tgt2"
	ro_start "$BATS_TEST_TMPDIR/cold.log" --rule "redirect $T/** $tgt2" --deny '**' "$PY" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	[[ -n $(write_lines "$BATS_TEST_TMPDIR/cold.log") ]] || fail "a cold start wrote nothing: the check above proves nothing"
	assert_file_exists "$(mapped_pyc "$tgt2" "$A")"
}

@test "warm: python3 from PATH by default; several --python; --jobs compiles in parallel workers" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir "$bin"
	ln -s "$PY" "$bin/python3"
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" PATH="$bin:/usr/bin:/bin" "$NOPYC" "${RULES[@]}" warm "$T"
	assert_success
	assert_output "nopyc warm: $bin/python3 ($PYTAG): 5 source files: 5 compiled, 0 up to date, 0 failed"
	assert_file_exists "$(mapped_pyc "$TGT" "$A")"

	# a second interpreter, where there is one: its own caches beside
	local other
	other=$(nopyc_find_python "${PYENV_ROOT:-/root/.pyenv}/versions/3.1[2-9].*/bin/python")
	if [[ -n $other ]]; then
		local tag
		tag=$("$other" -c 'import sys; print(sys.implementation.cache_tag)')
		run nopyc_py "${RULES[@]}" warm --python "$PY" --python "$other" "$T"
		assert_success
		assert_line --index 0 "nopyc warm: $PY ($PYTAG): 5 source files: 0 compiled, 5 up to date, 0 failed"
		assert_line --index 1 "nopyc warm: $other ($tag): 5 source files: 5 compiled, 0 up to date, 0 failed"
		assert_file_exists "$TGT$T/a/__pycache__/mod.$tag.pyc"
	fi

	# parallel: more than one process makes cache writes with --jobs 3,
	# exactly one with --jobs 1
	local i
	for i in $(seq 1 24); do
		echo "X$i = $i" >"$T/m$i.py"
	done
	rm -rf "${TGT:?}"/*
	run nopyc_py "${RULES[@]}" --log "$BATS_TEST_TMPDIR/j3.log" warm --python "$PY" --jobs 3 "$T"
	assert_success
	local pids
	pids=$(grep 'verdict=mapped' "$BATS_TEST_TMPDIR/j3.log" | sed 's/^nopyc: pid=\([0-9]*\) .*/\1/' | sort -u | wc -l)
	((pids >= 2)) || fail "--jobs 3: caches written by $pids process"
	rm -rf "${TGT:?}"/*
	run nopyc_py "${RULES[@]}" --log "$BATS_TEST_TMPDIR/j1.log" warm --python "$PY" --jobs 1 "$T"
	assert_success
	pids=$(grep 'verdict=mapped' "$BATS_TEST_TMPDIR/j1.log" | sed 's/^nopyc: pid=\([0-9]*\) .*/\1/' | sort -u | wc -l)
	assert_equal "$pids" 1
	assert_file_exists "$(mapped_pyc "$TGT" "$T/m24.py")"
	assert_no_caches "$T"
}

@test "warm: a cache that is already up to date is left as it is" {
	run nopyc_py "${RULES[@]}" warm --python "$PY" "$T"
	assert_success
	local before
	before=$(snapshot "$TGT")
	run nopyc_py "${RULES[@]}" --log "$BATS_TEST_TMPDIR/again.log" warm --python "$PY" "$T"
	assert_success
	assert_output "nopyc warm: $PY ($PYTAG): 5 source files: 0 compiled, 5 up to date, 0 failed"
	assert_equal "$(snapshot "$TGT")" "$before"
	assert_equal "$(write_lines "$BATS_TEST_TMPDIR/again.log")" ''
	# a changed module is compiled again, and only that one, even within
	# the second its cache was written (import compares the size too)
	touch -r "$A" "$BATS_TEST_TMPDIR/mtime"
	echo "X = 'alpha'  # changed" >"$A"
	touch -r "$BATS_TEST_TMPDIR/mtime" "$A"    # same mtime, new size
	run nopyc_py "${RULES[@]}" --log "$BATS_TEST_TMPDIR/changed.log" warm --python "$PY" "$T"
	assert_success
	assert_output "nopyc warm: $PY ($PYTAG): 5 source files: 1 compiled, 4 up to date, 0 failed"
	assert_equal "$(grep 'call=rename' "$BATS_TEST_TMPDIR/changed.log" | sed 's/.* path=\([^ ]*\) .*/\1/')" "$(pyc_path "$A")"
}

@test "warm: rules that deny or discard under PATH, --dry-run, usage errors: refused, nothing compiled" {
	run --separate-stderr nopyc_py warm --python "$PY" "$T"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: warm: the rules deny the caches under '$T', so warm would write nothing: give the rules the program runs with (e.g. --redirect DIR, or --allow '**' to write beside the sources)"
	run --separate-stderr nopyc_py --discard '**' warm --python "$PY" "$T/main.py"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: warm: the rules discard the caches under '$T/main.py', so warm would write nothing: give the rules the program runs with (e.g. --redirect DIR, or --allow '**' to write beside the sources)"
	run --separate-stderr nopyc_py --dry-run "${RULES[@]}" warm "$T"
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: warm: --dry-run lets every call through, so the caches would be written beside the sources: drop --dry-run'
	# usage errors: exit 2, as the README says (not 125, nopyc's own failure)
	run --separate-stderr nopyc_py "${RULES[@]}" warm
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: warm needs at least one PATH (see nopyc --help)'
	run --separate-stderr nopyc_py "${RULES[@]}" warm "$T/missing"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: warm: $T/missing: No such file or directory"
	run --separate-stderr nopyc_py warm --redirect "$TGT" "$T"
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: warm: unknown option --redirect (rule options go before warm: nopyc --redirect DIR warm PATH...)'
	run --separate-stderr nopyc_py "${RULES[@]}" warm --jobs abc "$T"
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: warm: --jobs takes a number (0: one per CPU)'
	run -127 --separate-stderr nopyc_py "${RULES[@]}" warm --python no-such-python "$T"
	assert_equal "$status" 127
	assert_equal "$stderr" 'nopyc: no-such-python: command not found'
	# a bad rule: not run, as for any command
	run --separate-stderr nopyc_py --rule 'deyn **' warm "$T"
	assert_equal "$status" 2
	assert_equal "${stderr_lines[1]}" 'nopyc: warm not run: configuration error (nopyc --check shows the rules)'
	assert_no_caches "$T"
	assert_equal "$(find "$TGT" -mindepth 1)" ''
	# `--` runs a program called warm
	run -127 --separate-stderr nopyc_py -- warm
	assert_equal "$status" 127
	assert_equal "$stderr" 'nopyc: warm: command not found'
}

@test "warm --help and prune --help: their usage on stdout, exit 0, nothing compiled or removed" {
	local orphan
	orphan=$(mapped_pyc "$TGT" "$T/gone.py")
	mkdir -p "${orphan%/*}"
	echo x >"$orphan"
	# the default rules (deny **) would refuse warm: --help comes first
	run --separate-stderr nopyc_py warm --help
	assert_success
	assert_equal "${lines[0]}" 'usage: nopyc [OPTIONS] warm [--python PY]... [--jobs N] PATH...'
	assert_output --partial '--jobs N'
	assert_equal "$stderr" ''
	run --separate-stderr nopyc_py "${RULES[@]}" warm --python "$PY" -h "$T"
	assert_success
	assert_equal "${lines[0]}" 'usage: nopyc [OPTIONS] warm [--python PY]... [--jobs N] PATH...'
	assert_no_caches "$T"
	assert_equal "$(find "$TGT" -name '*.pyc')" "$orphan"
	run --separate-stderr nopyc_py prune --help
	assert_success
	assert_equal "${lines[0]}" 'usage: nopyc [OPTIONS] prune [--dry-run] TARGET...'
	assert_output --partial '--dry-run'
	assert_equal "$stderr" ''
	run --separate-stderr nopyc_py prune "$TGT" -h
	assert_success
	assert_equal "${lines[0]}" 'usage: nopyc [OPTIONS] prune [--dry-run] TARGET...'
	assert_file_exists "$orphan"
	# after --, a TARGET called --help
	run --separate-stderr nopyc_py prune -- --help
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: prune: $PWD/--help: No such file or directory"
}

@test "warm: a file that does not compile: exit 1, every other file compiled" {
	echo 'def broken(:' >"$T/a/broken.py"
	run nopyc_py "${RULES[@]}" warm --python "$PY" "$T"
	assert_equal "$status" 1
	assert_line "nopyc warm: $PY ($PYTAG): 6 source files: 5 compiled, 0 up to date, 1 failed"
	assert_output --partial 'broken.py'
	assert_file_exists "$(mapped_pyc "$TGT" "$A")"
	assert_file_exists "$(mapped_pyc "$TGT" "$B")"
	assert_file_not_exists "$(mapped_pyc "$TGT" "$T/a/broken.py")"
}

@test "warm: an interpreter that is not a Python: one line for it, exit 2; the other interpreters still compile" {
	local t f sh
	t=$(command -v true) f=$(command -v false) sh=$(command -v sh)
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir "$TMPDIR"
	# /bin/true exits 0 and says nothing (once: exit 0, nothing said)
	run --separate-stderr nopyc_py "${RULES[@]}" warm --python "$t" "$T"
	assert_equal "$status" 2
	assert_output ''
	assert_equal "$stderr" "nopyc warm: $t: not a Python (2.7, 3.x, PyPy): it did not run nopyc-warm.py (exit status 0); nothing compiled with it"
	run --separate-stderr nopyc_py "${RULES[@]}" warm --python "$f" "$T"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc warm: $f: not a Python (2.7, 3.x, PyPy): it did not run nopyc-warm.py (exit status 1); nothing compiled with it"
	# sh reads the script as shell commands, complains and fails
	run --separate-stderr nopyc_py "${RULES[@]}" warm --python "$sh" "$T"
	assert_equal "$status" 2
	assert_regex "${stderr_lines[-1]}" "^nopyc warm: $sh: not a Python \\(2\\.7, 3\\.x, PyPy\\): it did not run nopyc-warm\\.py \\(exit status [1-9][0-9]*\\); nothing compiled with it\$"
	assert_equal "$(find "$TGT" -name '*.pyc')" ''
	# with a real Python around it: each says its line, the Python compiles
	run --separate-stderr nopyc_py "${RULES[@]}" warm --python "$t" --python "$PY" --python "$f" "$T"
	assert_equal "$status" 2
	assert_output "nopyc warm: $PY ($PYTAG): 5 source files: 5 compiled, 0 up to date, 0 failed"
	assert_equal "${#stderr_lines[@]}" 2
	assert_file_exists "$(mapped_pyc "$TGT" "$A")"
	assert_no_caches "$T"
	# no temporary directory left behind
	assert_equal "$(find "$TMPDIR" -mindepth 1)" ''
}

@test "warm with Python 2.7: its pycs (beside the source) land in TARGET" {
	local py2
	py2=$(nopyc_find_python "${PYENV_ROOT:-/root/.pyenv}/versions/2.7.*/bin/python")
	[[ -n $py2 ]] || skip "no Python 2.7 under ${PYENV_ROOT:-/root/.pyenv}"
	run nopyc_py "${RULES[@]}" warm --python "$py2" "$T"
	assert_success
	assert_output "nopyc warm: $py2 (python2.7): 5 source files: 5 compiled, 0 up to date, 0 failed"
	assert_file_exists "$TGT$T/a/mod.pyc"
	assert_no_caches "$T"
	# and a start under the same rules uses them: nothing written
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$NOPYC" "${RULES[@]}" --log "$BATS_TEST_TMPDIR/py2.log" "$py2" "$T/main.py"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"
	assert_equal "$(write_lines "$BATS_TEST_TMPDIR/py2.log")" ''
}

# ---- prune -------------------------------------------------------------------

# BYTES as prune prints a size: "N bytes" below 1 KiB, else KiB/MiB/GiB
# with one decimal.
human_size() {
	awk -v n="$1" 'BEGIN { u = "bytes"; split("KiB MiB GiB", us, " ")
		for (i = 1; n >= 1024 && i <= 3; i++) { n /= 1024; u = us[i] }
		if (u == "bytes") printf "%d bytes\n", n; else printf "%.1f %s\n", n, u }'
}

# blocks of FILE... in bytes, summed
blocks_of() {
	stat -c '%b %B' "$@" | awk '{ n += $1 * $2 } END { print n + 0 }'
}

@test "prune: an orphan goes, a live cache stays, a stale one goes; then empty directories; --dry-run changes nothing" {
	mkdir "$T/c"
	echo 'C = 1' >"$T/c/__init__.py"
	run nopyc_py "${RULES[@]}" warm --python "$PY" "$T"
	assert_success
	local live=("$(mapped_pyc "$TGT" "$T/a/__init__.py")" "$(mapped_pyc "$TGT" "$T/b/__init__.py")" "$(mapped_pyc "$TGT" "$T/main.py")")
	local orphan stale gone_pkg old_temp new_temp notes
	orphan=$(mapped_pyc "$TGT" "$B")
	stale=$(mapped_pyc "$TGT" "$A")
	gone_pkg=$(mapped_pyc "$TGT" "$T/c/__init__.py")
	old_temp=$orphan.140474367233920
	new_temp=${live[0]}.140474367233921
	notes=$TGT$T/notes.txt
	: >"$old_temp"
	touch -d '2 hours ago' "$old_temp"
	: >"$new_temp"
	echo 'not a cache' >"$notes"
	rm "$B"                                  # orphan
	rm -r "$T/c"                             # orphan, and its directories empty
	echo "X = 'alpha, longer now'" >"$A"     # stale: another size and mtime
	local sums freed
	sums=$(cksum "${live[@]}")
	freed=$(blocks_of "$orphan" "$stale" "$gone_pkg" "$old_temp")

	local before want
	before=$(snapshot "$TGT")
	want="$(printf '%s\n' \
		"$old_temp (a temp file left by a writer that did not finish)" \
		"$orphan (its source $B no longer exists)" \
		"$stale (its source $A has changed since)" \
		"$gone_pkg (its source $T/c/__init__.py no longer exists)" | LC_ALL=C sort)"
	run nopyc_py prune --dry-run "$TGT"
	assert_success
	assert_equal "$(grep '^would remove ' <<<"$output" | sed 's/^would remove //' | LC_ALL=C sort)" "$want"
	assert_line "nopyc prune: $TGT: would remove 4 cache files ($(human_size "$freed")), 2 directories; kept 4 cache files"
	assert_equal "$(snapshot "$TGT")" "$before"

	run nopyc_py prune "$TGT"
	assert_success
	assert_equal "$(grep '^removed ' <<<"$output" | sed 's/^removed //' | LC_ALL=C sort)" "$want"
	assert_line --regexp "^nopyc prune: $TGT: removed 4 cache files \\([0-9.]+ [KMG]iB\\), 2 directories; kept 4 cache files$"
	assert_file_not_exists "$orphan"
	assert_file_not_exists "$stale"
	assert_file_not_exists "$old_temp"
	assert_not_exists "$TGT$T/c"                    # empty directories gone
	assert_equal "$(cksum "${live[@]}")" "$sums"    # live caches untouched
	assert_file_exists "$new_temp"                  # a writer may still be at it
	assert_file_exists "$notes"                     # not a cache: not ours
	assert_dir_exists "$TGT"

	# What stays is what a run reads: no module compiled but the stale one.
	rm "$new_temp"
	run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$NOPYC" "${RULES[@]}" --log "$BATS_TEST_TMPDIR/after.log" \
		"$PY" -c "import sys; sys.path.insert(0, '$T'); import a.mod; print(a.mod.X)"
	assert_success
	assert_output 'alpha, longer now'
	assert_equal "$(grep 'call=rename' "$BATS_TEST_TMPDIR/after.log" | sed 's/.* path=\([^ ]*\) .*/\1/')" "$(pyc_path "$A")"
}

@test "prune: checked-hash pycs are kept while the source text is the same, removed when it changed (every Python found)" {
	local py tried=0 n
	local pythons=("$PY" /usr/bin/pypy3)
	for py in "${PYENV_ROOT:-/root/.pyenv}"/versions/3.{7,8,9,10,11,12,13}.*/bin/python; do
		[[ -x $py ]] && pythons+=("$py")
	done
	mkdir "$T/h"
	for n in same changed unchecked; do
		echo "V = '$n'" >"$T/h/$n.py"
	done
	local tag tags=" " used=()
	for py in "${pythons[@]}"; do
		[[ -x $py ]] || continue
		tag=$("$py" -c 'import py_compile, sys; py_compile.PycInvalidationMode; print(sys.implementation.cache_tag)' 2>/dev/null) ||
			continue
		[[ $tags == *" $tag "* ]] && continue   # one Python per cache tag
		tags+="$tag "
		used+=("$py")
		tried=$((tried + 1))
		# compiled through the library, into TARGET
		run nopyc_py "${RULES[@]}" "$py" -c '
import py_compile, sys
M = py_compile.PycInvalidationMode
for name, mode in (("same", M.CHECKED_HASH), ("changed", M.CHECKED_HASH), ("unchecked", M.UNCHECKED_HASH)):
    py_compile.compile(sys.argv[1] + "/" + name + ".py", invalidation_mode=mode, doraise=True)
' "$T/h"
		assert_success
	done
	((tried > 0)) || skip "no Python 3.7+ with hash-based pycs"
	local before
	before=$(find "$TGT" -name '*.pyc' | wc -l)
	assert_equal "$before" $((3 * tried))
	touch -d '2001-01-01' "$T/h/same.py"            # text the same, mtime not
	echo "V = 'CHANGED'" >"$T/h/changed.py"
	echo "V = 'UNCHECKED'" >"$T/h/unchecked.py"
	run nopyc_py prune "$TGT"
	assert_success
	assert_line --regexp "^nopyc prune: $TGT: removed $tried cache files \\(.*\\), 0 directories; kept $((2 * tried)) cache files$"
	assert_equal "$(grep -c '^removed .*/changed\.' <<<"$output")" "$tried"
	assert_equal "$(find "$TGT" -name 'same.*.pyc' | wc -l)" "$tried"
	assert_equal "$(find "$TGT" -name 'unchecked.*.pyc' | wc -l)" "$tried"
	assert_equal "$(find "$TGT" -name 'changed.*.pyc' | wc -l)" 0
	# Each Python accepts the kept one: importing `same` compiles nothing.
	for py in "${used[@]}"; do
		rm -f "$BATS_TEST_TMPDIR/h.log"
		run env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$NOPYC" "${RULES[@]}" --log "$BATS_TEST_TMPDIR/h.log" \
			"$py" -c "import sys; sys.path.insert(0, '$T/h'); import same; print(same.V)"
		assert_success
		assert_output same
		grep -q "path=$T/h/__pycache__/same\\..* verdict=overlay .* result=ok" "$BATS_TEST_TMPDIR/h.log" ||
			fail "$py did not read the kept cache"
		assert_equal "$(write_lines "$BATS_TEST_TMPDIR/h.log" | grep '/same\.' || true)" ''
	done
}

@test "prune: symbolic links in TARGET are not followed; nothing outside TARGET is removed" {
	local outside=$BATS_TEST_TMPDIR/outside
	mkdir -p "$outside$T/gone/__pycache__"
	echo x >"$outside$T/gone/__pycache__/mod.$PYTAG.pyc"
	mkdir -p "$TGT$T"
	ln -s "$outside$T/gone" "$TGT$T/gone"                          # a directory
	ln -s "$outside$T/gone/__pycache__/mod.$PYTAG.pyc" "$TGT$T/x.pyc"  # a file
	local before
	before=$(snapshot "$outside")
	run nopyc_py prune "$TGT"
	assert_success
	assert_output "nopyc prune: $TGT: removed 0 cache files (0 bytes), 0 directories; kept 0 cache files"
	assert_equal "$(snapshot "$outside")" "$before"
	assert_link_exists "$TGT$T/gone"
	assert_link_exists "$TGT$T/x.pyc"
	# a TARGET that is itself a symbolic link is refused
	ln -s "$outside" "$BATS_TEST_TMPDIR/link"
	run --separate-stderr nopyc_py prune "$BATS_TEST_TMPDIR/link"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: prune: $BATS_TEST_TMPDIR/link is not a directory"
	assert_equal "$(snapshot "$outside")" "$before"
}

@test "prune: %u as in a rule's TARGET; usage errors (2)" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/run-$(id -u)"
	run nopyc_py prune "$BATS_TEST_TMPDIR/run-%u"
	assert_success
	assert_output "nopyc prune: $BATS_TEST_TMPDIR/run-$(id -u): removed 0 cache files (0 bytes), 0 directories; kept 0 cache files"
	run --separate-stderr nopyc_py prune
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: prune: no TARGET given (usage: nopyc prune [--dry-run] TARGET...)'
	run --separate-stderr nopyc_py prune /
	assert_equal "$status" 2
	assert_equal "$stderr" 'nopyc: prune: TARGET / would take every cache on the system for a redirected one'
	run --separate-stderr nopyc_py prune "$T/main.py"
	assert_equal "$status" 2
	run --separate-stderr nopyc_py prune "$BATS_TEST_TMPDIR/missing"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: prune: $BATS_TEST_TMPDIR/missing: No such file or directory"
	run --separate-stderr nopyc_py prune --bogus "$TGT"
	assert_equal "$status" 2
}

@test "prune: a source tree, the parent of %u TARGETs or a directory inside a TARGET is refused (exit 2); nothing removed" {
	local uid per live n
	uid=$(id -u)
	per=$BATS_TEST_TMPDIR/per
	mkdir -m 700 "$per"
	# A source tree with its caches beside the sources (the native layout):
	# each cache's source sits beside it, read as TARGET/abs/path they all
	# looked orphaned and went.
	env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" -m compileall -q "$T" >/dev/null
	n=$(find "$T" -name '*.pyc' | wc -l)
	((n >= 4)) || fail "compileall wrote $n caches"
	local before
	before=$(snapshot "$T")
	run --separate-stderr nopyc_py prune "$T"
	assert_equal "$status" 2
	assert_regex "$stderr" "^nopyc: prune: $T is not a redirect TARGET: it holds Python sources \\($T/.*\\.py\\), and a TARGET holds caches only: the caches beside them would be taken for orphans\$"
	assert_equal "$output" ''
	# also when a rule names it
	run --separate-stderr nopyc_py --rule "redirect /nowhere/** $T" prune --dry-run "$T"
	assert_equal "$status" 2
	assert_equal "$(snapshot "$T")" "$before"
	remove_caches "$T"

	# The parent of per-user TARGETs (the rule's TARGET is $per/%u)
	local rule="redirect $T/** $per/%u"
	run nopyc_py --rule "$rule" --deny '**' warm --python "$PY" "$T"
	assert_success
	live=$(mapped_pyc "$per/$uid" "$A")
	assert_file_exists "$live"
	mkdir -m 700 "$per/4242"                 # another user's, say
	before=$(snapshot "$per")
	run --separate-stderr nopyc_py prune "$per"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: prune: $per does not look like a redirect TARGET: no rule in force names it, and none of its caches is the cache of a source that exists (the cache of /abs/dir/mod.py is TARGET/abs/dir/__pycache__/mod.TAG.pyc)
nopyc: prune: its directories $uid, 4242 look like the uid of a TARGET ending in %u: prune $per/%u (or $per/UID)"
	# the rule in force: named in the hint
	run --separate-stderr nopyc_py --rule "$rule" prune --dry-run "$per"
	assert_equal "$status" 2
	assert_equal "${stderr_lines[1]}" "nopyc: prune: its directories $uid, 4242 look like the uid of a TARGET ending in %u, as in rule 1 (redirect ... $per/%u): prune $per/%u (or $per/UID)"
	# A directory inside the TARGET: its caches read from the wrong root
	run --separate-stderr nopyc_py --rule "$rule" prune "$per/$uid$T"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: prune: $per/$uid$T is inside the redirect TARGET $per/$uid (rule 1: redirect ... $per/%u): the caches below it are laid out from there: prune $per/$uid"
	run --separate-stderr nopyc_py prune "$per/$uid${T%/*}"
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "nopyc: prune: $per/$uid${T%/*} does not look like a redirect TARGET: no rule in force names it, and none of its caches is the cache of a source that exists (the cache of /abs/dir/mod.py is TARGET/abs/dir/__pycache__/mod.TAG.pyc)"
	# several TARGETs, one refused: none is touched
	rm "$B"
	run --separate-stderr nopyc_py prune "$per/$uid" "$per"
	assert_equal "$status" 2
	assert_file_exists "$(mapped_pyc "$per/$uid" "$B")"
	assert_equal "$(snapshot "$per")" "$before"

	# The TARGET itself: taken (its caches are those of sources that exist),
	# with or without the rule; the orphan goes, the live cache stays.
	run nopyc_py --rule "$rule" prune --dry-run "$per/%u"
	assert_success
	assert_line "would remove $(mapped_pyc "$per/$uid" "$B") (its source $B no longer exists)"
	run nopyc_py prune "$per/$uid"
	assert_success
	assert_line "removed $(mapped_pyc "$per/$uid" "$B") (its source $B no longer exists)"
	assert_file_exists "$live"
}

@test "prune: a TARGET whose sources are all gone is taken when a rule in force names it (option or rules file)" {
	run nopyc_py "${RULES[@]}" warm --python "$PY" "$T"
	assert_success
	local caches
	caches=$(find "$TGT" -name '*.pyc' | wc -l)
	((caches >= 4)) || fail "warm wrote $caches caches"
	rm -r "$T"
	local before
	before=$(snapshot "$TGT")
	run --separate-stderr nopyc_py prune "$TGT"
	assert_equal "$status" 2
	assert_equal "$stderr" "nopyc: prune: $TGT does not look like a redirect TARGET: no rule in force names it, and none of its caches is the cache of a source that exists (the cache of /abs/dir/mod.py is TARGET/abs/dir/__pycache__/mod.TAG.pyc)
nopyc: prune: if it is a TARGET whose sources are all gone, name it: nopyc --redirect $TGT prune $TGT (or give the rule it comes from)"
	assert_equal "$(snapshot "$TGT")" "$before"
	# the rules file the programs run with names it (through ${NAME} too)
	# shellcheck disable=SC2016 # the rule's own ${NAME}
	printf 'redirect %s/** ${PRUNE_TEST_DIR}/pyc\n' "$T" >"$BATS_TEST_TMPDIR/rules.conf"
	PRUNE_TEST_DIR=$BATS_TEST_TMPDIR NOPYC_CONFIG=$BATS_TEST_TMPDIR/rules.conf \
		run nopyc_py prune --dry-run "$TGT"
	assert_success
	assert_line "nopyc prune: $TGT: would remove $caches cache files ($(human_size "$(find "$TGT" -name '*.pyc' -exec stat -c '%b %B' {} + | awk '{ n += $1 * $2 } END { print n + 0 }')")), $(find "$TGT" -mindepth 1 -type d | wc -l) directories; kept 0 cache files"
	assert_equal "$(snapshot "$TGT")" "$before"
	run nopyc_py --redirect "$TGT" prune "$TGT"
	assert_success
	assert_equal "$(find "$TGT" -mindepth 1)" ''
	assert_dir_exists "$TGT"
}
