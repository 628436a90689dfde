# Helpers for the security tests (security.bats, system.bats): `load helpers`
# first, then `load security_helpers`.
#
# The attacks need several users.  They are plain uids with no passwd entry
# (setpriv needs none), so nothing on the machine is changed:
#   VICTIM_UID    runs the Python program whose caches are attacked
#   ATTACKER_UID  another local user, who controls a directory or plants pycs
# Their files live under SEC_ROOT, a directory every user can enter (the
# bats temp directory is root's alone).  Python for them is /usr/bin/python3
# (/root, where pyenv lives, is 0700).

# shellcheck disable=SC2034 # variables used by the test files

VICTIM_UID=61001
ATTACKER_UID=61002
SEC_PY=/usr/bin/python3

# as_user UID CMD...: run CMD as UID (real and effective), no groups.
as_user() {
	local uid=$1
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}

# run_as UID CMD...: run CMD as UID through tests/c/run-as.c, built static
# (SEC_RUN_AS, by sec_setup): unlike setpriv and env, it loads no library
# itself, so under /etc/ld.so.preload only CMD says anything.  Python's
# cache variables are unset first (in a subshell: no program runs for it).
run_as() {
	local uid=$1
	shift
	(
		unset PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX PYTHONOPTIMIZE \
			SOURCE_DATE_EPOCH PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONUSERBASE \
			PYTHONSAFEPATH PYTHONINSPECT PYTHONVERBOSE
		exec "$SEC_RUN_AS" "$uid" "$@"
	)
}

# sec_require: skip unless root with setpriv and a Python every user can run.
sec_require() {
	((EUID == 0)) || skip "needs root (to act as several users)"
	command -v setpriv >/dev/null || skip "setpriv missing (Debian package util-linux)"
	[[ -x $SEC_PY ]] || skip "$SEC_PY missing: the one interpreter other users can run here"
	as_user "$VICTIM_UID" "$SEC_PY" -c pass 2>/dev/null ||
		skip "uid $VICTIM_UID cannot run $SEC_PY"
}

# sec_setup: SEC_ROOT, a fresh directory (root, 0755) under /tmp (root,
# sticky) for this test; a copy of the library every user can read in it
# (SEC_LIB); an app tree SEC_APP (root, 0755: no other user can write
# there) whose module `mod` says X = 'genuine'; SEC_TAG, the cache tag.
sec_setup() {
	SEC_ROOT=$(mktemp -d /tmp/nopyc-sec.XXXXXX)
	chmod 0755 "$SEC_ROOT"
	mkdir -m 0755 "$SEC_ROOT/lib"
	cp "$NOPYC_LIB" "$SEC_ROOT/lib/libnopyc.so"
	chmod 0644 "$SEC_ROOT/lib/libnopyc.so"
	SEC_LIB=$SEC_ROOT/lib/libnopyc.so
	SEC_APP=$SEC_ROOT/app
	mkdir -m 0755 "$SEC_APP"
	echo "X = 'genuine'" >"$SEC_APP/mod.py"
	chmod 0644 "$SEC_APP/mod.py"
	SEC_SYNC=$SEC_ROOT/sync
	mkdir -m 0777 "$SEC_SYNC"
	SEC_TAG=$(env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$SEC_PY" -c 'import sys; print(sys.implementation.cache_tag)')
	SEC_RUN_AS=$SEC_ROOT/lib/run-as
	cc -static -O2 -o "$SEC_RUN_AS" "$NOPYC_TEST_ROOT/tests/c/run-as.c" 2>/dev/null ||
		cc -O2 -o "$SEC_RUN_AS" "$NOPYC_TEST_ROOT/tests/c/run-as.c" ||
		fail "cannot build tests/c/run-as.c"
}

sec_teardown() {
	[[ -z ${SEC_PID:-} ]] || kill "$SEC_PID" 2>/dev/null || true
	[[ -z ${SEC_ROOT:-} ]] || rm -rf "$SEC_ROOT"
}

# attacker_tree DIR SRC: DIR (owned by the attacker) holds, at the place a
# redirect TARGET maps SRC's cache to, an unchecked-hash pyc (CPython loads
# it without looking at the source) of a module saying X = 'pwned'.
attacker_tree() {
	local dir=$1 src=$2 evil pyc
	evil=$SEC_ROOT/evil-src/${src##*/}
	mkdir -p "${evil%/*}"
	echo "X = 'pwned'" >"$evil"
	pyc=$dir${src%/*}/__pycache__/$(basename "$src" .py).$SEC_TAG.pyc
	mkdir -p "${pyc%/*}"
	env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$SEC_PY" -c '
import py_compile, sys
py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True,
                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)' "$evil" "$pyc"
	chown -R "$ATTACKER_UID:$ATTACKER_UID" "$dir"
	# the planted pyc really is taken when found: check it without the shim
	local got
	got=$(env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$SEC_PY" -c '
import importlib.machinery, importlib.util, sys
spec = importlib.util.spec_from_file_location("mod", sys.argv[1],
    loader=importlib.machinery.SourcelessFileLoader("mod", sys.argv[1]))
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); print(m.X)' "$pyc")
	[[ $got == pwned ]] || fail "the planted pyc $pyc does not load (got: $got)"
	ATTACKER_PYC=$pyc
}

# The victim: a long-running Python process (a server, a worker).  It starts
# (the library checks its configuration and TARGET), says it is ready, waits
# for the go, then imports `mod` from SEC_APP and prints X.
#   victim_start UID RULES [EXTRA-PYTHON-BEFORE-IMPORT]
# leaves its pid in SEC_PID, its output in SEC_ROOT/victim.out/.err.
# victim_go: let it import; wait for it; VICTIM_OUT, VICTIM_ERR, VICTIM_RC.
victim_start() {
	local uid=$1 rules=$2 extra=${3:-}
	rm -f "$SEC_SYNC/ready" "$SEC_SYNC/go"
	# shellcheck disable=SC2016
	as_user "$uid" env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$SEC_LIB" NOPYC_RULES="$rules" \
		"$SEC_PY" -c '
import os, sys, time
sync, app = sys.argv[1], sys.argv[2]
open(sync + "/ready", "w").close()
while not os.path.exists(sync + "/go"):
    time.sleep(0.01)
'"$extra"'
sys.path.insert(0, app)
import mod
print("X=" + mod.X)
' "$SEC_SYNC" "$SEC_APP" >"$SEC_ROOT/victim.out" 2>"$SEC_ROOT/victim.err" &
	SEC_PID=$!
	local i
	for ((i = 0; i < 1000; i++)); do
		[[ -e $SEC_SYNC/ready ]] && return 0
		kill -0 "$SEC_PID" 2>/dev/null || break
		sleep 0.01
	done
	fail "the victim did not start: $(cat "$SEC_ROOT/victim.err")"
}

victim_go() {
	touch "$SEC_SYNC/go"
	VICTIM_RC=0
	wait "$SEC_PID" || VICTIM_RC=$?
	SEC_PID=
	VICTIM_OUT=$(<"$SEC_ROOT/victim.out")
	VICTIM_ERR=$(<"$SEC_ROOT/victim.err")
}

# The fix every ancestry refusal suggests.
ANCESTRY_FIX='use a directory you own, or %u under a root-owned sticky directory such as /tmp'

# ancestry_message TARGET ANCESTOR UID MODE WHAT RULE: the library's line
# for a TARGET refused because of one of its ancestors.  WHAT: "owned by
# another user" or "writable by group or others".
ancestry_message() {
	printf 'nopyc: redirect TARGET %s refused: its ancestor %s (owner uid %s, mode %s) is %s, who could replace TARGET: %s; rule %s acts as deny' \
		"$1" "$2" "$3" "$4" "$5" "$ANCESTRY_FIX" "$6"
}

# ---- a system-wide install in a private mount namespace --------------------
#
# in_system CMD [ARG...]: run CMD as root in a new mount namespace in which
# /etc is a tmpfs copy of the real /etc whose ld.so.preload names SEC_LIB;
# with SYS_CONF set, its text becomes /etc/nopyc.conf (root, 0644, unless
# SYS_CONF_OWNER / SYS_CONF_MODE say otherwise).  CMD may be a function named
# in SYS_FUNCS (with the helpers it uses).  Every process started inside, of
# any user, setuid or not, loads the library, as after a real install; the
# host is not touched.
in_system() {
	local script
	script=$(mktemp "$SEC_ROOT/system.XXXXXX")
	{
		echo 'set -euo pipefail'
		declare -p NOPYC_TEST_PY_ENV_CLEAR SEC_ROOT SEC_LIB SEC_APP SEC_PY SEC_TAG \
			VICTIM_UID ATTACKER_UID SEC_RUN_AS
		local v
		for v in SYS_CONF HOSTILE_ENV PROBE; do
			[[ -z ${!v+x} ]] || declare -p "$v"
		done
		declare -f as_user run_as "${SYS_FUNCS[@]}"
		cat <<'EOF'
etc=$(mktemp -d "$SEC_ROOT/etc.XXXXXX")
mount -t tmpfs -o mode=0755 nopyc-etc "$etc"
cp -a /etc/. "$etc/"
printf '%s\n' "$SEC_LIB" >"$etc/ld.so.preload"
if [[ -n ${SYS_CONF+x} ]]; then
	printf '%s\n' "$SYS_CONF" >"$etc/nopyc.conf"
	chown "$SYS_CONF_OWNER" "$etc/nopyc.conf"
	chmod "$SYS_CONF_MODE" "$etc/nopyc.conf"
fi
mount --bind "$etc" /etc
EOF
		printf '%q ' "$@"
		echo
	} >"$script"
	SYS_CONF_OWNER=${SYS_CONF_OWNER:-0} SYS_CONF_MODE=${SYS_CONF_MODE:-0644} \
		unshare -m --propagation private bash "$script"
}
