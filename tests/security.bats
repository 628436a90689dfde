# Attacks on a redirect TARGET, run for real between two local users.
#
# Caches are code: whoever can put a pyc where an import reads it runs code
# as the importing user.  Each test here is an attack (or a program doing
# something that once opened one) and passes only when the victim imports
# the genuine module and nothing lands where another user could plant it.
# The victim is a long-running /usr/bin/python3 started as VICTIM_UID under
# `redirect APP/** PARENT/%u`; the attacker acts as ATTACKER_UID between the
# library's start-up checks and the victim's import.

load helpers
load security_helpers

setup() {
	nopyc_setup
	sec_require
	sec_setup
}

teardown() {
	sec_teardown
}

# ---- take-over of TARGET through its parent ---------------------------------

@test "security: take-over through a 0777 parent: TARGET refused at start-up (the message names the parent), the victim imports the genuine module" {
	local pub=$SEC_ROOT/pub target
	mkdir -m 0777 "$pub"
	chmod 0777 "$pub"
	target=$pub/$VICTIM_UID
	attacker_tree "$SEC_ROOT/evil" "$SEC_APP/mod.py"
	victim_start "$VICTIM_UID" "redirect $SEC_APP/** $pub/%u"
	# anyone may rename in a 0777 directory: move TARGET aside, put a
	# symlink to the attacker's tree in its place
	as_user "$ATTACKER_UID" sh -c '[ ! -e "$1" ] || mv "$1" "$1.old"; ln -s "$2" "$1"' sh "$target" "$SEC_ROOT/evil"
	victim_go
	assert_equal "$VICTIM_RC" 0
	assert_equal "$VICTIM_OUT" "X=genuine"
	assert_equal "$VICTIM_ERR" "$(ancestry_message "$target" "$pub" 0 0777 'writable by group or others' 1)"
}

@test "security: take-over through a sticky parent owned by another user: TARGET refused, the victim imports the genuine module" {
	local shared=$SEC_ROOT/shared target
	# someone else made the shared directory first (a /tmp/pycache made by
	# another user): as its owner they may rename anything in it
	mkdir "$shared"
	chown "$ATTACKER_UID:$ATTACKER_UID" "$shared"
	chmod 1777 "$shared"
	target=$shared/$VICTIM_UID
	attacker_tree "$SEC_ROOT/evil" "$SEC_APP/mod.py"
	victim_start "$VICTIM_UID" "redirect $SEC_APP/** $shared/%u"
	as_user "$ATTACKER_UID" sh -c '[ ! -e "$1" ] || mv "$1" "$1.old"; ln -s "$2" "$1"' sh "$target" "$SEC_ROOT/evil"
	victim_go
	assert_equal "$VICTIM_RC" 0
	assert_equal "$VICTIM_OUT" "X=genuine"
	assert_equal "$VICTIM_ERR" "$(ancestry_message "$target" "$shared" "$ATTACKER_UID" 1777 'owned by another user' 1)"
}

@test "security: TARGET deleted after start-up (a tmp cleaner) and re-made by another user in a root-owned sticky parent: the victim never reads it" {
	local pub=$SEC_ROOT/pub target before
	mkdir -m 1777 "$pub"
	chmod 1777 "$pub"
	target=$pub/$VICTIM_UID
	attacker_tree "$SEC_ROOT/evil" "$SEC_APP/mod.py"
	victim_start "$VICTIM_UID" "redirect $SEC_APP/** $pub/%u"
	[[ -d $target && ! -L $target ]] || fail "TARGET $target was not made at start-up"
	assert_equal "$(stat -c '%u %a' "$target")" "$VICTIM_UID 700"
	rm -rf "$target"
	# the name is free again: in a sticky directory anyone may take it
	as_user "$ATTACKER_UID" ln -s "$SEC_ROOT/evil" "$target"
	before=$(find "$SEC_ROOT/evil" -printf '%p %s %T@\n' | sort)
	victim_go
	assert_equal "$VICTIM_RC" 0
	assert_equal "$VICTIM_OUT" "X=genuine"
	assert_equal "$VICTIM_ERR" "nopyc: redirect TARGET $target has vanished; caches are not being saved"
	assert_equal "$(find "$SEC_ROOT/evil" -printf '%p %s %T@\n' | sort)" "$before"
}

@test "security: TARGET renamed aside and replaced by a symlink after start-up: the process keeps the directory it verified" {
	local pub=$SEC_ROOT/pub target before pyc
	mkdir -m 1777 "$pub"
	chmod 1777 "$pub"
	target=$pub/$VICTIM_UID
	attacker_tree "$SEC_ROOT/evil" "$SEC_APP/mod.py"
	victim_start "$VICTIM_UID" "redirect $SEC_APP/** $pub/%u"
	# only the owner (or root) can rename it in a sticky directory; the
	# attacker then owns the name
	as_user "$VICTIM_UID" mv "$target" "$target.moved"
	as_user "$ATTACKER_UID" ln -s "$SEC_ROOT/evil" "$target"
	before=$(find "$SEC_ROOT/evil" -printf '%p %s %T@\n' | sort)
	victim_go
	assert_equal "$VICTIM_RC" 0
	assert_equal "$VICTIM_OUT" "X=genuine"
	assert_equal "$VICTIM_ERR" ""
	pyc=$target.moved$SEC_APP/__pycache__/mod.$SEC_TAG.pyc
	assert_file_exist "$pyc"
	assert_equal "$(stat -c %u "$pyc")" "$VICTIM_UID"
	assert_equal "$(find "$SEC_ROOT/evil" -printf '%p %s %T@\n' | sort)" "$before"
}

# ---- descriptors the program closes ------------------------------------------

@test "security: a process that closes all its descriptors and reuses the numbers (another directory on TARGET's) still caches in TARGET and never reads the other one" {
	local pub=$SEC_ROOT/pub target before pyc extra
	mkdir -m 1777 "$pub"
	chmod 1777 "$pub"
	target=$pub/$VICTIM_UID
	attacker_tree "$SEC_ROOT/evil" "$SEC_APP/mod.py"
	# like a daemon library: close everything above 2, then open files
	# that get the freed numbers; here the attacker's tree lands on the
	# number the library held TARGET on
	extra="
target, evil = '$target', '$SEC_ROOT/evil'
held = [int(f) for f in os.listdir('/proc/self/fd')
        if os.path.realpath('/proc/self/fd/' + f) == target]
if not held:
    sys.exit('the library holds no descriptor on ' + target)
os.closerange(3, 1 << 16)
e = os.open(evil, os.O_RDONLY | os.O_DIRECTORY)
for n in held:
    os.dup2(e, n)
junk = [os.open('/dev/null', os.O_RDONLY) for _ in range(16)]
"
	victim_start "$VICTIM_UID" "redirect $SEC_APP/** $pub/%u" "$extra"
	before=$(find "$SEC_ROOT/evil" -printf '%p %s %T@\n' | sort)
	victim_go
	assert_equal "$VICTIM_ERR" ""
	assert_equal "$VICTIM_RC" 0
	assert_equal "$VICTIM_OUT" "X=genuine"
	pyc=$target$SEC_APP/__pycache__/mod.$SEC_TAG.pyc
	assert_file_exist "$pyc"
	assert_equal "$(stat -c %u "$pyc")" "$VICTIM_UID"
	assert_equal "$(find "$SEC_ROOT/evil" -printf '%p %s %T@\n' | sort)" "$before"
}

# ---- %u follows the effective uid ------------------------------------------

@test "security: a root process that forks and calls setuid caches in the new user's TARGET (0700, its own), nothing in root's, no message" {
	local pub=$SEC_ROOT/pub pyc
	mkdir -m 1777 "$pub"
	chmod 1777 "$pub"
	echo "import json" >"$SEC_APP/master.py"
	run --separate-stderr env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$SEC_LIB" \
		NOPYC_RULES="redirect $SEC_APP/** $pub/%u" "$SEC_PY" -c '
import os, sys
uid = int(sys.argv[2])
sys.path.insert(0, sys.argv[1])
import master
pid = os.fork()
if pid == 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    import mod
    print("worker X=" + mod.X)
    sys.stdout.flush()
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("master", status)
' "$SEC_APP" "$VICTIM_UID"
	assert_success
	assert_equal "$stderr" ""
	assert_output "worker X=genuine
master 0"
	assert_equal "$(stat -c '%u %a' "$pub/$VICTIM_UID")" "$VICTIM_UID 700"
	pyc=$pub/$VICTIM_UID$SEC_APP/__pycache__/mod.$SEC_TAG.pyc
	assert_file_exist "$pyc"
	assert_equal "$(stat -c %u "$pyc")" "$VICTIM_UID"
	assert_file_exist "$pub/0$SEC_APP/__pycache__/master.$SEC_TAG.pyc"
	assert_file_not_exist "$pub/0$SEC_APP/__pycache__/mod.$SEC_TAG.pyc"
	assert_equal "$(find_caches "$SEC_APP")" ""
}

@test "security: %u is the effective uid at each call: seteuid back and forth caches each module in the TARGET of the uid that imported it" {
	local pub=$SEC_ROOT/pub
	mkdir -m 1777 "$pub"
	chmod 1777 "$pub"
	echo "A = 'a'" >"$SEC_APP/mod_a.py"
	echo "B = 'b'" >"$SEC_APP/mod_b.py"
	echo "C = 'c'" >"$SEC_APP/mod_c.py"
	run --separate-stderr env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$SEC_LIB" \
		NOPYC_RULES="redirect $SEC_APP/** $pub/%u" "$SEC_PY" -c '
import os, sys
uid = int(sys.argv[2])
sys.path.insert(0, sys.argv[1])
os.setegid(uid); os.seteuid(uid)
import mod_a
os.seteuid(0); os.setegid(0)
import mod_b
os.setegid(uid); os.seteuid(uid)
import mod_c
print(mod_a.A + mod_b.B + mod_c.C)
' "$SEC_APP" "$VICTIM_UID"
	assert_success
	assert_equal "$stderr" ""
	assert_output abc
	local v=$pub/$VICTIM_UID$SEC_APP/__pycache__ r=$pub/0$SEC_APP/__pycache__
	assert_file_exist "$v/mod_a.$SEC_TAG.pyc"
	assert_file_exist "$v/mod_c.$SEC_TAG.pyc"
	assert_file_exist "$r/mod_b.$SEC_TAG.pyc"
	assert_file_not_exist "$r/mod_a.$SEC_TAG.pyc"
	assert_file_not_exist "$v/mod_b.$SEC_TAG.pyc"
	assert_equal "$(stat -c %u "$v/mod_a.$SEC_TAG.pyc")" "$VICTIM_UID"
}

# ---- what the start-up check accepts and refuses -----------------------------

# start_as UID RULES: a program that makes no call of its own, so stderr is
# only what the library says at start-up.
start_as() {
	run --separate-stderr as_user "$1" env LD_PRELOAD="$SEC_LIB" NOPYC_RULES="$2" true
}

@test "security: ancestry: a group-writable directory higher up is named, with its owner and mode" {
	mkdir -m 0775 "$SEC_ROOT/g"
	chmod 0775 "$SEC_ROOT/g"
	mkdir -m 0755 "$SEC_ROOT/g/sub"
	start_as "$VICTIM_UID" "redirect $SEC_APP/** $SEC_ROOT/g/sub/%u"
	assert_success
	assert_equal "$stderr" "$(ancestry_message "$SEC_ROOT/g/sub/$VICTIM_UID" "$SEC_ROOT/g" 0 0775 'writable by group or others' 1)"
	assert_file_not_exist "$SEC_ROOT/g/sub/$VICTIM_UID"
}

@test "security: ancestry: root-owned sticky and own sticky parents are accepted; TARGET is made 0700" {
	mkdir -m 1777 "$SEC_ROOT/rootsticky"
	chmod 1777 "$SEC_ROOT/rootsticky"
	start_as "$VICTIM_UID" "redirect $SEC_APP/** $SEC_ROOT/rootsticky/%u"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(stat -c '%u %a' "$SEC_ROOT/rootsticky/$VICTIM_UID")" "$VICTIM_UID 700"

	mkdir "$SEC_ROOT/mine"
	chown "$VICTIM_UID" "$SEC_ROOT/mine"
	chmod 1777 "$SEC_ROOT/mine"
	start_as "$VICTIM_UID" "redirect $SEC_APP/** $SEC_ROOT/mine/cache"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(stat -c '%u %a' "$SEC_ROOT/mine/cache")" "$VICTIM_UID 700"
}

@test "security: ancestry: a symlink owned by root is followed and its target checked; one owned by another user is refused" {
	mkdir -m 1777 "$SEC_ROOT/real"
	chmod 1777 "$SEC_ROOT/real"
	ln -s real "$SEC_ROOT/byroot"
	start_as "$VICTIM_UID" "redirect $SEC_APP/** $SEC_ROOT/byroot/%u"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(stat -c '%u %a' "$SEC_ROOT/real/$VICTIM_UID")" "$VICTIM_UID 700"

	ln -s real "$SEC_ROOT/byother"
	chown -h "$ATTACKER_UID" "$SEC_ROOT/byother"
	start_as "$VICTIM_UID" "redirect $SEC_APP/** $SEC_ROOT/byother/x"
	assert_success
	assert_equal "$stderr" "$(ancestry_message "$SEC_ROOT/byother/x" "$SEC_ROOT/byother" "$ATTACKER_UID" 0777 'owned by another user' 1)"

	# and through a root-owned symlink to a directory that is not safe
	mkdir -m 0777 "$SEC_ROOT/open"
	chmod 0777 "$SEC_ROOT/open"
	ln -s open "$SEC_ROOT/toopen"
	start_as "$VICTIM_UID" "redirect $SEC_APP/** $SEC_ROOT/toopen/%u"
	assert_success
	assert_equal "$stderr" "$(ancestry_message "$SEC_ROOT/toopen/$VICTIM_UID" "$SEC_ROOT/open" 0 0777 'writable by group or others' 1)"
}

@test "security: ancestry: nopyc --check and --explain give the library's refusal (exit 1)" {
	mkdir -m 0777 "$SEC_ROOT/pub"
	chmod 0777 "$SEC_ROOT/pub"
	local want
	want=$(ancestry_message "$SEC_ROOT/pub/0" "$SEC_ROOT/pub" 0 0777 'writable by group or others' 1)
	run --separate-stderr "$NOPYC_TEST_ROOT/scripts/nopyc" --redirect "$SEC_ROOT/pub/%u" --check
	assert_failure 1
	assert_equal "$stderr" "$want"
	run --separate-stderr env LD_PRELOAD="$SEC_LIB" NOPYC_RULES="redirect ** $SEC_ROOT/pub/%u" true
	assert_equal "$stderr" "$want"
}

# ---- symbolic links below TARGET ---------------------------------------------

# opener MODE: how the victim runs: "" (openat2 as the kernel has it), or
# with openat2 failing ENOSYS (a kernel before 5.6) or EPERM (an older
# container seccomp profile), through tests/c/no-openat2.c.
opener() {
	case $1 in
	openat2) OPENER=() ;;
	*)
		[[ -x $SEC_ROOT/lib/no-openat2 ]] ||
			cc -O2 -o "$SEC_ROOT/lib/no-openat2" "$NOPYC_TEST_ROOT/tests/c/no-openat2.c" ||
			fail "cannot build tests/c/no-openat2.c"
		"$SEC_ROOT/lib/no-openat2" "$1" true || skip "no seccomp filter here"
		OPENER=("$SEC_ROOT/lib/no-openat2" "$1")
		;;
	esac
}

# victim_import: VICTIM_UID imports mod from SEC_APP under redirect to
# $pub/%u, through OPENER; output in output/stderr.
victim_import() {
	run --separate-stderr as_user "$VICTIM_UID" env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" \
		LD_PRELOAD="$SEC_LIB" NOPYC_RULES="redirect $SEC_APP/** $pub/%u" \
		"${OPENER[@]}" "$SEC_PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import mod; print("X=" + mod.X)' "$SEC_APP"
}

@test "security: redirect works the same without openat2 (ENOSYS: old kernel; EPERM: old seccomp profile): cached, then reused" {
	local pub=$SEC_ROOT/pub mode mtime
	mkdir -m 1777 "$pub"
	chmod 1777 "$pub"
	mtime=$(stat -c %Y "$SEC_APP/mod.py")
	for mode in ENOSYS EPERM; do
		opener "$mode"
		rm -rf "${pub:?}/$VICTIM_UID"
		echo "X = 'genuine'" >"$SEC_APP/mod.py"
		touch -d "@$mtime" "$SEC_APP/mod.py"
		victim_import
		assert_success
		assert_output "X=genuine"
		assert_equal "$stderr" ""
		assert_file_exist "$pub/$VICTIM_UID$SEC_APP/__pycache__/mod.$SEC_TAG.pyc"
		# same size and mtime: the cached pyc is what runs
		echo "X = 'changed'" >"$SEC_APP/mod.py"
		touch -d "@$mtime" "$SEC_APP/mod.py"
		victim_import
		assert_output "X=genuine"
	done
}

@test "security: a symbolic link inside TARGET that leads out of it (pyc or __pycache__) is never followed by an open, with openat2 or without" {
	local pub=$SEC_ROOT/pub target mode before cache
	mkdir -m 1777 "$pub"
	chmod 1777 "$pub"
	target=$pub/$VICTIM_UID
	attacker_tree "$SEC_ROOT/evil" "$SEC_APP/mod.py"
	before=$(find "$SEC_ROOT/evil" -printf '%p %s %T@\n' | sort)
	for mode in openat2 ENOSYS EPERM; do
		opener "$mode"
		# only TARGET's owner (or root) can put a link there: root does
		rm -rf "$target"
		cache=$target$SEC_APP/__pycache__
		mkdir -p "$cache"
		ln -s "$ATTACKER_PYC" "$cache/mod.$SEC_TAG.pyc"
		chown -R "$VICTIM_UID:$VICTIM_UID" "$target"
		chmod 0700 "$target"
		victim_import
		assert_success
		assert_output "X=genuine"
		# the import then wrote its own pyc in the link's place
		[[ -f $cache/mod.$SEC_TAG.pyc && ! -L $cache/mod.$SEC_TAG.pyc ]] ||
			fail "$mode: the link is still there: $(ls -l "$cache")"

		# the whole __pycache__ a link to the attacker's directory
		rm -rf "$target"
		mkdir -p "${cache%/*}"
		ln -s "${ATTACKER_PYC%/*}" "$cache"
		chown -R -h "$VICTIM_UID:$VICTIM_UID" "$target"
		chmod 0700 "$target"
		victim_import
		assert_success
		assert_output "X=genuine"
		assert_equal "$(find "$SEC_ROOT/evil" -printf '%p %s %T@\n' | sort)" "$before"
	done
}
