# Faults around the redirect TARGET and the configuration: the program's own
# output and exit status never change, nothing half-written is ever visible,
# the original tree is never written, and the shim says what happened at
# most once per process.
#
# The program: app.py imports pkg1 (10 fresh modules), runs $HOOK (the
# fault, injected while it runs, by a shell without the shim: someone else
# did it), imports pkg2 (10 more), and exits 7.

load hardening

setup() {
	nopyc_setup
	hard_python
	SRC=$T/src
	TGT=$BATS_TEST_TMPDIR/target
	AFTER=$BATS_TEST_TMPDIR/after
	mkdir -p "$SRC"
	make_pkg "$SRC" pkg1 10
	make_pkg "$SRC" pkg2 10
	cat >"$BATS_TEST_TMPDIR/app.py" <<'EOF'
import os, subprocess, sys
sys.path.insert(0, sys.argv[1])
import pkg1
print("phase1", pkg1.TOTAL)
sys.stdout.flush()
if os.environ.get("HOOK"):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    subprocess.call(os.environ["HOOK"], shell=True, env=env)
import pkg2
print("phase2", pkg2.TOTAL)
sys.exit(7)
EOF
	APP_OUTPUT="phase1 45
phase2 45"
}

# The app without the shim, on a copy of the tree: the reference.
@test "faults: reference run without the shim prints the phases and exits 7" {
	cp -a "$SRC" "$BATS_TEST_TMPDIR/copy"
	run --separate-stderr py_noshim "$BATS_TEST_TMPDIR/app.py" "$BATS_TEST_TMPDIR/copy"
	assert_equal "$status" 7
	assert_output "$APP_OUTPUT"
	assert_equal "$stderr" ""
}

# in_ns SCRIPT: run bash SCRIPT in a private mount namespace, with py_shim
# and py_noshim defined.  Mounts made there vanish with it, so SCRIPT copies
# what the test must inspect to $AFTER.
in_ns() {
	unshare -m -- bash -c "$(declare -p NOPYC_TEST_PY_ENV_CLEAR); $(declare -f py_shim py_noshim)
$1"
}

@test "faults: TARGET on a full 64k tmpfs: output and exit status unchanged, no pyc, no temp file, source tree untouched" {
	need_unshare
	mkdir -p "$TGT"
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **" TGT AFTER SRC
	run --separate-stderr in_ns '
		mount -t tmpfs -o size=64k,mode=0700 nopyc-full "$TGT" || exit 90
		dd if=/dev/zero of="$TGT/fill" bs=4k 2>/dev/null   # until ENOSPC
		[ "$(df --output=avail "$TGT" | tail -1)" -eq 0 ] || exit 91
		py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC"
		rc=$?
		rm -f "$TGT/fill"
		cp -a "$TGT" "$AFTER"
		exit $rc'
	assert_equal "$status" 7
	assert_output "$APP_OUTPUT"
	# a full TARGET says so, once
	assert_equal "$(grep '^nopyc: ' <<<"$stderr")" "nopyc: redirect TARGET $TGT: no space left; caches are not being saved"
	assert_no_caches "$SRC"
	assert_pycs "$AFTER" 0
}

# A file system with no size limit reports 0 blocks, 0 free (statfs(2)):
# ramfs, and tmpfs mounted with size=0.  It is never full.
@test "faults: TARGET on ramfs and on tmpfs size=0 (no limit): no false 'no space left', every pyc saved, then reused; discard's tree there works too" {
	need_unshare
	mkdir -p "$TGT"
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **" TGT AFTER SRC
	local fs
	for fs in "-t ramfs nopyc-ramfs" "-t tmpfs -o size=0 nopyc-unlimited"; do
		rm -rf "$AFTER"
		export FS=$fs
		run --separate-stderr in_ns '
			mount $FS "$TGT" || exit 90
			chmod 0700 "$TGT"
			[ "$(stat -f -c %b "$TGT")" -eq 0 ] || exit 91
			py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC"
			echo "first run: $?"
			find "$TGT" -name "*.pyc" -printf "%i %T@ %p\n" | sort >"$BATS_TEST_TMPDIR/before"
			py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC"
			echo "second run: $?"
			find "$TGT" -name "*.pyc" -printf "%i %T@ %p\n" | sort >"$BATS_TEST_TMPDIR/again"
			mkdir -m 0700 "$TGT/discard-tree"
			NOPYC_RULES="discard **" TMPDIR=$TGT/discard-tree py_shim -c "import os, py_compile, sys
p = py_compile.compile(sys.argv[1], doraise=True)
print(\"discard\", os.path.exists(p))" "$SRC/pkg1/m00.py"
			echo "discard run: $?"
			cp -a "$TGT" "$AFTER"'
		assert_success
		assert_output "$APP_OUTPUT
first run: 7
$APP_OUTPUT
second run: 7
discard True
discard run: 0"
		assert_equal "$stderr" ""
		assert_no_caches "$SRC"
		assert_pycs "$AFTER" 22
		assert_equal "$(cat "$BATS_TEST_TMPDIR/again")" "$(cat "$BATS_TEST_TMPDIR/before")"
	done
}

# Two pages free: the small __init__ pyc fits, the next pyc (~14 KB) gets a
# short write.  CPython does not check for one (file.write's count is
# ignored in importlib's _write_atomic, every version) and renames the
# truncated temp file into place, so the next start dies with EOFError --
# with or without the shim.  Redirecting caches to a small tmpfs makes that
# likely, so the shim must not let a truncated pyc land in TARGET.
@test "faults: TARGET on a 64k tmpfs with 8 KB left (2 runs, 20 modules): output and exit status unchanged both times, every pyc there valid, no temp file" {
	need_unshare
	mkdir -p "$TGT"
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **" TGT AFTER SRC
	run --separate-stderr in_ns '
		mount -t tmpfs -o size=64k,mode=0700 nopyc-small "$TGT" || exit 90
		dd if=/dev/zero of="$TGT/fill" bs=4k 2>/dev/null   # until ENOSPC
		truncate -s -8192 "$TGT/fill"
		[ "$(df --output=avail "$TGT" | tail -1)" -eq 8 ] || exit 91
		py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC"
		echo "first run: $?"
		py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC"
		echo "second run: $?"
		rm -f "$TGT/fill"
		cp -a "$TGT" "$AFTER"'
	assert_success
	assert_output "$APP_OUTPUT
first run: 7
$APP_OUTPUT
second run: 7"
	(($(shim_lines "$stderr") <= 2)) || fail "more than one nopyc line per process: $stderr"
	assert_no_caches "$SRC"
	assert_pycs_sound "$AFTER"
	((PYC_VALID > 0)) || fail "no pyc landed in TARGET: the test did not fill it the way it meant to"
}

# Python 2 writes its pyc through stdio, whose write(2) is libc's own: the
# library cannot see it fail (README: Limits).
need_watched_writes() {
	[[ $PYMAJOR != 2 ]] || skip "Python 2 writes its pyc through stdio: the library does not see its writes fail"
}

# failed_pycs LOG: how many temp files (pycs being written) a call failed
# on with ENOSPC, each once: a write's path=, a rename's old= (CPython
# before 3.14 renames a temp file its write left short; PyPy and 3.14 see
# the short count, or write again, and remove it).
failed_pycs() {
	grep ' result=ENOSPC' "$1" | grep -oE "( path=| old=)$SRC/[^ ]*\.pyc\.[0-9]+" |
		sed 's/^ [a-z]*=//' | LC_ALL=C sort -u | wc -l
}

# big_module FILE: a module of 3000 dict entries (a pyc of 100-150 KB), D.
big_module() {
	awk 'BEGIN { print "D = {"; for (i = 0; i < 3000; i++) printf "  %d: \"value number %d\",\n", i, i; print "}" }' >"$1"
}

# The pyc (about 150 KB) is larger than the whole 64k tmpfs: its one write
# is cut short (the temp file is never renamed into place), and before the
# watch reported into the message nothing was said.
@test "faults: a pyc larger than the room TARGET has (64k tmpfs): output unchanged, nothing published, 'no space left' said once, the failure logged" {
	need_unshare
	need_watched_writes
	big_module "$SRC/big.py"
	mkdir -p "$TGT"
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **" TGT AFTER SRC
	export NOPYC_LOG=$BATS_TEST_TMPDIR/decisions.log
	run --separate-stderr in_ns '
		mount -t tmpfs -o size=64k,mode=0700 nopyc-small "$TGT" || exit 90
		py_shim -c "import sys; sys.path.insert(0, sys.argv[1]); import big; print(len(big.D))" "$SRC"
		rc=$?
		cp -a "$TGT" "$AFTER"
		exit $rc'
	assert_success
	assert_output 3000
	assert_equal "$(grep '^nopyc: ' <<<"$stderr")" "nopyc: redirect TARGET $TGT: no space left; caches are not being saved"
	assert_no_caches "$SRC"
	assert_pycs "$AFTER" 0
	# the one pyc not saved failed (its write, and its rename if made)
	assert_equal "$(failed_pycs "$NOPYC_LOG")" 1
	grep -q "call=write path=$SRC/__pycache__/big\.[^ ]*\.pyc\.[0-9]* .* result=ENOSPC$" "$NOPYC_LOG" ||
		fail "the write cut short is not logged: $(grep ENOSPC "$NOPYC_LOG")"
}

# 22 pycs of about 14 KB into 64 KB: the first few fit; each one after is
# cut short by what room is left (the temp file the pyc before left is
# gone again).  Each pyc not saved failed in the log (what --stats sums,
# once a pyc); the message is said once.
@test "faults: TARGET fills up midway (64k tmpfs, 22 pycs of 14 KB): every pyc not saved is an ENOSPC in the log; one message" {
	need_unshare
	need_watched_writes
	mkdir -p "$TGT"
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **" TGT AFTER SRC
	export NOPYC_LOG=$BATS_TEST_TMPDIR/decisions.log
	run --separate-stderr in_ns '
		mount -t tmpfs -o size=64k,mode=0700 nopyc-small "$TGT" || exit 90
		py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC"
		rc=$?
		cp -a "$TGT" "$AFTER"
		exit $rc'
	assert_equal "$status" 7
	assert_output "$APP_OUTPUT"
	assert_equal "$(grep '^nopyc: ' <<<"$stderr")" "nopyc: redirect TARGET $TGT: no space left; caches are not being saved"
	assert_pycs_sound "$AFTER"
	((PYC_VALID > 0 && PYC_VALID < 22)) || fail "$PYC_VALID of 22 pycs saved: the tmpfs did not fill up midway"
	assert_equal "$(failed_pycs "$NOPYC_LOG")" "$((22 - PYC_VALID))"
}

# Full to the last byte before the program starts: every pyc's one write
# fails outright (Python unlinks the temp file: no rename), and each is a
# call=write line with its errno, so --stats counts it as a failure.
@test "faults: TARGET full from the start (64k tmpfs): each of the 22 writes fails and is logged as a failed write; one message" {
	need_unshare
	need_watched_writes
	mkdir -p "$TGT"
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **" TGT AFTER SRC
	export NOPYC_LOG=$BATS_TEST_TMPDIR/decisions.log
	run --separate-stderr in_ns '
		mount -t tmpfs -o size=64k,mode=0700 nopyc-full "$TGT" || exit 90
		dd if=/dev/zero of="$TGT/fill" bs=4k 2>/dev/null   # until ENOSPC
		py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC"
		rc=$?
		rm -f "$TGT/fill"
		cp -a "$TGT" "$AFTER"
		exit $rc'
	assert_equal "$status" 7
	assert_output "$APP_OUTPUT"
	assert_equal "$(grep '^nopyc: ' <<<"$stderr")" "nopyc: redirect TARGET $TGT: no space left; caches are not being saved"
	assert_pycs "$AFTER" 0
	assert_equal "$(grep -c "call=write path=$SRC/.*\.pyc\.[0-9]* rule=1 action=redirect verdict=mapped mapped=$TGT$SRC/.* result=ENOSPC$" "$NOPYC_LOG" || true)" 22
	assert_equal "$(grep -c " path=$SRC/.* result=ENOSPC" "$NOPYC_LOG" || true)" 22
}

# ulimit -f 8 (8 KiB): every 14 KB pyc is cut short at the limit (EFBIG;
# CPython and PyPy ignore SIGXFSZ), the two small __init__ pycs are saved.
@test "faults: pycs larger than the file size limit (ulimit -f 8): output unchanged, those not published, the small ones saved, 'file size limit' said once" {
	need_watched_writes
	mkdir -m 700 "$TGT"
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **"
	run --separate-stderr bash -c "$(declare -p NOPYC_TEST_PY_ENV_CLEAR); $(declare -f py_shim)
		ulimit -f 8
		py_shim \"\$@\"" _ "$BATS_TEST_TMPDIR/app.py" "$SRC"
	assert_equal "$status" 7
	assert_output "$APP_OUTPUT"
	assert_equal "$(grep '^nopyc: ' <<<"$stderr")" "nopyc: redirect TARGET $TGT: file size limit reached (ulimit -f); caches larger than it are not being saved"
	assert_no_caches "$SRC"
	assert_pycs "$TGT" 2
}

@test "faults: TARGET made read-only while running: output and exit status unchanged, phase-1 pycs valid, nothing after, one message" {
	need_unshare
	mkdir -p "$TGT"
	chmod 700 "$TGT"
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **" TGT AFTER SRC
	HOOK="mount -o remount,bind,ro '$TGT'" run --separate-stderr in_ns '
		mount --bind "$TGT" "$TGT" || exit 90
		py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC"
		rc=$?
		# it was read-only (a chroot interpreter remounts in its own mount
		# namespace: seen from here, TARGET stays writable)
		[[ -z ${NOPYC_TEST_PY_CHROOT:-} ]] && touch "$TGT/probe" 2>/dev/null && exit 92
		cp -a "$TGT" "$AFTER"
		exit $rc'
	assert_equal "$status" 7
	assert_output "$APP_OUTPUT"
	# the shim saw EROFS from TARGET: it says so, once
	assert_equal "$stderr" "nopyc: redirect TARGET $TGT: read-only file system; caches are not being saved"
	assert_no_caches "$SRC"
	assert_pycs "$AFTER" 11
	assert_dir_not_exist "$AFTER$SRC/pkg2"
}

@test "faults: TARGET deleted while running: output and exit status unchanged, TARGET not re-created, source tree untouched, one message" {
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **"
	HOOK="rm -rf '$TGT'" run --separate-stderr py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC"
	assert_equal "$status" 7
	assert_output "$APP_OUTPUT"
	assert_equal "$stderr" "nopyc: redirect TARGET $TGT has vanished; caches are not being saved"
	assert_no_caches "$SRC"
	assert_not_exist "$TGT"
}

@test "faults: TARGET deleted while 8 processes import at once: all succeed, source tree untouched, whatever TARGET holds is valid" {
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **"
	local i rc pids=()
	mkdir -p "$BATS_TEST_TMPDIR/out"
	for ((i = 0; i < 8; i++)); do
		HOOK="rm -rf '$TGT'" py_shim "$BATS_TEST_TMPDIR/app.py" "$SRC" \
			>"$BATS_TEST_TMPDIR/out/$i" 2>"$BATS_TEST_TMPDIR/out/$i.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		assert_equal "$rc" 7
		assert_equal "$(<"$BATS_TEST_TMPDIR/out/$i")" "$APP_OUTPUT"
		(($(shim_lines "$(<"$BATS_TEST_TMPDIR/out/$i.err")") <= 1)) ||
			fail "process $i: more than one nopyc line: $(<"$BATS_TEST_TMPDIR/out/$i.err")"
	done
	assert_no_caches "$SRC"
	[[ ! -e $TGT ]] || assert_pycs_sound "$TGT"
}

# The message for an unreadable NOPYC_CONFIG, and the app run with it: same
# output and status, one line, and (the built-in deny **) no cache written.
config_unreadable() { # CONFIG WHY [COMMAND-PREFIX...]
	local cfg=$1 why=$2
	shift 2
	NOPYC_CONFIG=$cfg run --separate-stderr "$@" env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" \
		LD_PRELOAD="$NOPYC_LIB" "$PY" "$BATS_TEST_TMPDIR/app.py" "$SRC"
	assert_equal "$status" 7
	assert_output "$APP_OUTPUT"
	assert_equal "$stderr" "nopyc: NOPYC_CONFIG $cfg: cannot read it: $why$NOPYC_FAILSAFE"
	assert_pycs "$SRC" 0
}

@test "faults: NOPYC_CONFIG missing: one line, output and exit status unchanged" {
	config_unreadable "$T/no-such.conf" "No such file or directory"
}

@test "faults: NOPYC_CONFIG is a directory: one line, output and exit status unchanged" {
	config_unreadable "$T" "Is a directory"
}

@test "faults: NOPYC_CONFIG mode 000 (no CAP_DAC_OVERRIDE): one line, output and exit status unchanged" {
	((EUID != 0)) || command -v setpriv >/dev/null || skip "setpriv missing (Debian package util-linux)"
	echo "deny **" >"$T/nopyc.conf"
	chmod 000 "$T/nopyc.conf"
	if ((EUID == 0)); then
		config_unreadable "$T/nopyc.conf" "Permission denied" \
			setpriv --bounding-set=-dac_override,-dac_read_search
	else
		config_unreadable "$T/nopyc.conf" "Permission denied"
	fi
}

@test "faults: NOPYC_CONFIG holding a NUL byte: one line, output and exit status unchanged" {
	printf 'deny **\0allow **\n' >"$T/nopyc.conf"
	config_unreadable "$T/nopyc.conf" "it contains a NUL byte"
}
