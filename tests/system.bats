# A system-wide install: the library named in /etc/ld.so.preload, with and
# without /etc/nopyc.conf, and setuid programs (secure execution).  Each test
# runs in a private mount namespace over a tmpfs copy of /etc (in_system),
# so every process started there, of any user, loads the library, while the
# host's /etc is never touched.
#
# What must hold (README, "Safety"):
# - ld.so.preload with no configuration anywhere changes nothing: bash,
#   coreutils, git, setuid programs, Python as several users and Debian's
#   py3compile behave exactly as without the library;
# - a plain LD_PRELOAD with no configuration still means deny **;
# - /etc/nopyc.conf (root's, not writable by others) applies to every
#   process whose environment gives no rules, and always to setuid ones;
# - a setuid/setgid program honours no NOPYC_* variable: nothing quoted from
#   a file the caller names, nothing created where the caller says.

load helpers
load redirect_helpers
load security_helpers

setup() {
	nopyc_setup
	sec_require
	can_unshare_mount || skip "cannot make a mount namespace here (unshare -m)"
	sec_setup
	unset SYS_CONF SYS_CONF_OWNER SYS_CONF_MODE
	SYS_FUNCS=()
	# a secret only root may read, and a directory only root may write
	mkdir -m 0700 "$SEC_ROOT/rootonly"
	printf 'TOPSECRET-first-line **\n' >"$SEC_ROOT/rootonly/secret.conf"
	chmod 0600 "$SEC_ROOT/rootonly/secret.conf"
	# everything a caller of a setuid program could set
	HOSTILE_ENV=(NOPYC_RULES='deny **' NOPYC_CONFIG="$SEC_ROOT/rootonly/secret.conf"
		NOPYC_LOG="$SEC_ROOT/rootonly/created-by-setuid.log" NOPYC_STATS=1
		NOPYC_STRICT=1 NOPYC_DRYRUN=1)
}

teardown() {
	sec_teardown
}

# secure_probe: tests/c/secure-probe.c built setuid root into SEC_ROOT/bin
# (PROBE); skips when the setuid bit has no effect here (a nosuid mount).
secure_probe() {
	mkdir -m 0755 "$SEC_ROOT/bin"
	PROBE=$SEC_ROOT/bin/secure-probe
	cc -O2 -o "$PROBE" "$NOPYC_TEST_ROOT/tests/c/secure-probe.c" || fail "cannot build secure-probe"
	chmod 4755 "$PROBE"
	local out
	out=$(as_user "$VICTIM_UID" "$PROBE")
	[[ $out == 'secure=1 euid=0' ]] || skip "a setuid program does not run in secure-execution mode here ($out)"
}

# ---- no configuration anywhere: nothing changes ------------------------------

# everyday W OUT: everyday programs in W (which must not exist yet), each one's
# output, status and stderr appended to OUT.  Run once on the host without
# the library and once under ld.so.preload: the two OUTs must be equal.
everyday() {
	local w=$1 out=$2 u d
	mkdir -p -m 0755 "$w"
	step() { # NAME CMD...: run CMD, record its output, stderr and status
		local rc=0
		printf '== %s\n' "$1" >>"$out"
		shift
		"$@" >>"$out" 2>"$w/.err" || rc=$?
		sed 's/^/stderr: /' "$w/.err" >>"$out"
		printf 'status %d\n' "$rc" >>"$out"
	}
	step bash bash -c 'echo $((6 * 7)); type cd; printf "%s\n" "${BASH_VERSINFO[0]}" >/dev/null'
	step coreutils sh -c 'mkdir -p "$1/t/a/__pycache__" && touch "$1/t/a/__pycache__/x.pyc" "$1/t/a/y.pyc" &&
		cp -r "$1/t/a" "$1/t/b" && mv "$1/t/b/y.pyc" "$1/t/b/z.pyc" && ln -s x.pyc "$1/t/b/__pycache__/l.pyc" &&
		chmod 600 "$1/t/b/__pycache__/x.pyc" && ls -lR "$1/t" | sed "s/ [A-Z][a-z][a-z] .* / /" &&
		rm -r "$1/t/a" && find "$1/t" | sort' sh "$w"
	step git sh -c 'git init -q "$1/repo" && cd "$1/repo" && echo "print(1)" >m.py && mkdir __pycache__ &&
		echo x >__pycache__/m.pyc && git add -A && git -c user.name=t -c user.email=t@t commit -qm one &&
		git log --format=%s && git ls-files && git status --porcelain --ignored' sh "$w"
	for u in 0 "$VICTIM_UID" 65534; do
		d=$w/py-$u
		mkdir -p "$d/pkg"
		echo "V = 'v$u'" >"$d/pkg/mod.py"
		: >"$d/pkg/__init__.py"
		chown -R "$u" "$d"
		step "python as uid $u" as_user "$u" env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$SEC_PY" -c \
			'import sys; sys.path.insert(0, sys.argv[1]); import pkg.mod; print(pkg.mod.V)' "$d"
		step "compileall as uid $u" as_user "$u" env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$SEC_PY" -m compileall -q "$d"
		step "caches of uid $u" sh -c 'cd "$1" && find . -name "*.pyc" | sort' sh "$d"
	done
	mkdir -p "$w/py3c/pkg"
	echo 'x = 1' >"$w/py3c/a.py"
	: >"$w/py3c/pkg/__init__.py"
	echo 'y = 2' >"$w/py3c/pkg/b.py"
	if command -v py3compile >/dev/null; then
		step py3compile env -u PYTHONDONTWRITEBYTECODE py3compile "$w/py3c"
		step "py3compile caches" sh -c 'cd "$1" && find . -name "*.pyc" | sort' sh "$w/py3c"
	fi
	mkdir -m 0777 "$w/suid"
	if [[ -n ${PROBE:-} ]]; then
		step "setuid probe" as_user "$VICTIM_UID" env "${HOSTILE_ENV[@]}" "$PROBE" "$w/suid/__pycache__"
	fi
	step "chage" as_user "$VICTIM_UID" env "${HOSTILE_ENV[@]}" chage -l nobody
	step "passwd" as_user "$VICTIM_UID" env "${HOSTILE_ENV[@]}" passwd -S nobody
}

@test "system: ld.so.preload with no configuration anywhere changes nothing: bash, coreutils, git, setuid programs, Python as three users, py3compile as root" {
	local w=$SEC_ROOT/w
	secure_probe
	command -v git >/dev/null || skip "git missing"
	command -v py3compile >/dev/null || echo "# py3compile missing (Debian package python3-minimal): not compared" >&3
	everyday "$w" "$SEC_ROOT/host.out"
	rm -rf "$w"
	run_everyday() {
		grep -q libnopyc /proc/self/maps || { echo "the library is not loaded" >&2; exit 1; }
		everyday "$1" "$2"
	}
	SYS_FUNCS=(everyday run_everyday)
	in_system run_everyday "$w" "$SEC_ROOT/system.out"
	run diff "$SEC_ROOT/host.out" "$SEC_ROOT/system.out"
	assert_success
	# and it did what a machine without the library does: caches written
	grep -q "pkg/__pycache__/mod.$SEC_TAG.pyc" "$SEC_ROOT/system.out" || fail "Python wrote no cache: $(cat "$SEC_ROOT/system.out")"
	grep -q '^mkdir .*/suid/__pycache__: ok$' "$SEC_ROOT/system.out" || fail "setuid probe: $(cat "$SEC_ROOT/system.out")"
	assert_file_not_exist "$SEC_ROOT/rootonly/created-by-setuid.log"
	if grep -q TOPSECRET "$SEC_ROOT/system.out"; then
		fail "a root-only file was quoted: $(grep TOPSECRET "$SEC_ROOT/system.out")"
	fi
}

@test "system: ld.so.preload, no configuration: a plain LD_PRELOAD naming the library still means deny **" {
	mkdir -p -m 0755 "$SEC_ROOT/w/pkg"
	echo "V = 1" >"$SEC_ROOT/w/pkg/mod.py"
	: >"$SEC_ROOT/w/pkg/__init__.py"
	imports() { # LD_PRELOAD-VALUE
		env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$1" "$SEC_PY" -c \
			'import sys; sys.path.insert(0, sys.argv[1]); import pkg.mod' "$SEC_ROOT/w"
		find "$SEC_ROOT/w" -name '*.pyc' | sort
	}
	SYS_FUNCS=(imports)
	run --separate-stderr in_system imports "$SEC_LIB"
	assert_success
	assert_equal "$stderr" ""
	assert_output ""
	run --separate-stderr in_system imports ""
	assert_success
	assert_equal "$stderr" ""
	assert_line "$SEC_ROOT/w/pkg/__pycache__/mod.$SEC_TAG.pyc"
}

# ---- /etc/nopyc.conf ---------------------------------------------------------

@test "system: ld.so.preload + nopyc.conf: every user's Python caches in its own TARGET, the app tree stays clean; py3compile, bash and git unaffected" {
	local cache=$SEC_ROOT/cache
	mkdir -m 1777 "$cache"
	chmod 1777 "$cache"
	SYS_CONF="# system rules
redirect $SEC_APP/** $cache/%u"
	mkdir -p "$SEC_ROOT/py3c/pkg"
	echo 'x = 1' >"$SEC_ROOT/py3c/a.py"
	: >"$SEC_ROOT/py3c/pkg/__init__.py"
	users() {
		local u
		for u in 0 "$VICTIM_UID" 65534; do
			as_user "$u" env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$SEC_PY" -c \
				'import sys; sys.path.insert(0, sys.argv[1]); import mod; print(mod.X)' "$SEC_APP"
		done
		if command -v py3compile >/dev/null; then
			env -u PYTHONDONTWRITEBYTECODE py3compile "$SEC_ROOT/py3c"
		fi
		bash -c 'echo bash-ok'
		git --version >/dev/null && echo git-ok
	}
	SYS_FUNCS=(users)
	run --separate-stderr in_system users
	assert_success
	assert_equal "$stderr" ""
	assert_output "genuine
genuine
genuine
bash-ok
git-ok"
	local u
	for u in 0 "$VICTIM_UID" 65534; do
		assert_equal "$(stat -c '%u %a' "$cache/$u")" "$u 700"
		assert_file_exist "$cache/$u$SEC_APP/__pycache__/mod.$SEC_TAG.pyc"
	done
	assert_equal "$(find_caches "$SEC_APP")" ""
	if command -v py3compile >/dev/null; then
		assert_file_exist "$SEC_ROOT/py3c/__pycache__/a.$SEC_TAG.pyc"
	fi
}

@test "system: nopyc.conf must be root's and not writable by group or others: else one line and deny **" {
	mkdir -p -m 0777 "$SEC_ROOT/w"
	echo "V = 1" >"$SEC_ROOT/w/m.py"
	chmod 0644 "$SEC_ROOT/w/m.py"
	imports() {
		run_as "$VICTIM_UID" "$SEC_PY" -c \
			'import sys; sys.path.insert(0, sys.argv[1]); import m; print(m.V)' "$SEC_ROOT/w"
	}
	SYS_FUNCS=(imports)
	SYS_CONF='allow **'
	SYS_CONF_OWNER=$VICTIM_UID run --separate-stderr in_system imports
	assert_success
	assert_output 1
	assert_equal "$stderr" "nopyc: /etc/nopyc.conf refused: it is owned by uid $VICTIM_UID, not root; falling back to deny ** (no cache written) in this process"
	assert_equal "$(find_caches "$SEC_ROOT/w")" ""

	SYS_CONF_MODE=0666 run --separate-stderr in_system imports
	assert_success
	assert_output 1
	assert_equal "$stderr" "nopyc: /etc/nopyc.conf refused: it is writable by group or others (chmod go-w it); falling back to deny ** (no cache written) in this process"
	assert_equal "$(find_caches "$SEC_ROOT/w")" ""

	# the same file, root's and 0644: taken
	run --separate-stderr in_system imports
	assert_success
	assert_equal "$stderr" ""
	assert_file_exist "$SEC_ROOT/w/__pycache__/m.$SEC_TAG.pyc"
}

@test "system: the environment's rules, when given, replace nopyc.conf for an ordinary program" {
	mkdir -p -m 0755 "$SEC_ROOT/w"
	probe() {
		env "$@" sh -c 'mkdir "$1/__pycache__" 2>/dev/null && echo made || echo refused' sh "$SEC_ROOT/w"
		rmdir "$SEC_ROOT/w/__pycache__" 2>/dev/null || true
	}
	SYS_FUNCS=(probe)
	SYS_CONF='deny **'
	run --separate-stderr in_system probe NOPYC_RULES='allow **'
	assert_success
	assert_output made
	run --separate-stderr in_system probe X=1
	assert_success
	assert_output refused
	assert_equal "$stderr" ""
}

# ---- secure execution ----------------------------------------------------------

@test "system: a setuid program honours no NOPYC_* variable: no sysconf -> nothing changes; nothing quoted, no log created" {
	secure_probe
	mkdir -m 0777 "$SEC_ROOT/w"
	suid() {
		local -a vars=("$@")
		# the caller's environment, set by the shell (no program between)
		export "${vars[@]}"
		run_as "$VICTIM_UID" "$PROBE" "$SEC_ROOT/w/__pycache__"
	}
	SYS_FUNCS=(suid)
	run --separate-stderr in_system suid "${HOSTILE_ENV[@]}"
	assert_success
	assert_output "secure=1 euid=0
mkdir $SEC_ROOT/w/__pycache__: ok"
	assert_equal "$stderr" ""
	assert_file_not_exist "$SEC_ROOT/rootonly/created-by-setuid.log"
}

@test "system: a setuid program follows nopyc.conf whatever its caller's environment says" {
	secure_probe
	mkdir -m 0777 "$SEC_ROOT/w"
	suid() {
		local -a vars=("$@")
		# the caller's environment, set by the shell (no program between)
		export "${vars[@]}"
		run_as "$VICTIM_UID" "$PROBE" "$SEC_ROOT/w/__pycache__"
	}
	SYS_FUNCS=(suid)
	SYS_CONF='deny **'
	run --separate-stderr in_system suid NOPYC_RULES='allow **' NOPYC_DRYRUN=1 \
		NOPYC_LOG="$SEC_ROOT/rootonly/created-by-setuid.log"
	assert_success
	assert_output "secure=1 euid=0
mkdir $SEC_ROOT/w/__pycache__: EROFS"
	assert_equal "$stderr" ""
	assert_file_not_exist "$SEC_ROOT/rootonly/created-by-setuid.log"
	assert_file_not_exist "$SEC_ROOT/w/__pycache__"
}

@test "system: a setuid program with a broken nopyc.conf: one line that quotes nothing, deny **, NOPYC_STRICT from the caller ignored" {
	secure_probe
	mkdir -m 0777 "$SEC_ROOT/w"
	suid() {
		local -a vars=("$@")
		# the caller's environment, set by the shell (no program between)
		export "${vars[@]}"
		run_as "$VICTIM_UID" "$PROBE" "$SEC_ROOT/w/__pycache__"
	}
	SYS_FUNCS=(suid)
	SYS_CONF='TOPSECRET-rule **'
	run --separate-stderr in_system suid "${HOSTILE_ENV[@]}"
	assert_success
	assert_output "secure=1 euid=0
mkdir $SEC_ROOT/w/__pycache__: EROFS"
	assert_equal "$stderr" "nopyc: /etc/nopyc.conf line 1: invalid (details are not shown in a setuid or setgid program: run nopyc --check)$NOPYC_FAILSAFE"
	assert_file_not_exist "$SEC_ROOT/rootonly/created-by-setuid.log"
}

@test "system: real setuid/setgid programs (passwd, chage) as a user naming a root-only NOPYC_CONFIG and NOPYC_LOG: same result as without the library, nothing quoted, nothing created" {
	local prog want_line
	local -a cmds=()
	command -v passwd >/dev/null && cmds+=("passwd -S nobody")
	command -v chage >/dev/null && cmds+=("chage -l nobody")
	((${#cmds[@]})) || skip "neither passwd nor chage is installed"
	reals() {
		local c
		for c in "$@"; do
			# shellcheck disable=SC2086 # the command's words
			(export "${HOSTILE_ENV[@]}"; run_as "$VICTIM_UID" $c 2>&1) || echo "status $?"
		done
	}
	SYS_FUNCS=(reals)
	local want
	want=$(reals "${cmds[@]}")
	run in_system reals "${cmds[@]}"
	assert_success
	assert_output "$want"
	assert_file_not_exist "$SEC_ROOT/rootonly/created-by-setuid.log"
	# the library was loaded into them: a broken nopyc.conf shows up (its
	# first line, before the program's own), quoting nothing, and still
	# nothing of the caller's file
	SYS_CONF='TOPSECRET-rule **'
	want_line="nopyc: /etc/nopyc.conf line 1: invalid (details are not shown in a setuid or setgid program: run nopyc --check)$NOPYC_FAILSAFE"
	for prog in "${cmds[@]}"; do
		run in_system reals "$prog"
		assert_line --index 0 "$want_line"
		refute_output --partial TOPSECRET
	done
	assert_file_not_exist "$SEC_ROOT/rootonly/created-by-setuid.log"
}
