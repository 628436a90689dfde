#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2153 # each test sets its own scenario variables
# The README's recipes (issue 6), read from the README itself so that it
# cannot rot: a fenced block whose first line is `# recipe: NAME` (or that
# follows a line `<!-- recipe: NAME -->`) is extracted and run with the
# README's example paths replaced by test paths:
#
#   /srv/app /opt/app /app       an app tree under $W
#   /run/pycache /tmp/pycache    a tmpfs under $W
#   /usr/local                   a `make install DESTDIR=...` tree
#   /src/nopyc /out              the source tree and DESTDIR of the Dockerfile's build stage
#   python3, nopyc (commands)    the interpreter under test, the installed wrapper
#
# Shell recipes run as written; Docker, Kubernetes and systemd cannot run
# here, so their files are parsed and the exact environment they set is
# applied to the app in a mount namespace that mimics them (root file system
# read-only, TARGET's parent on a tmpfs, the configured user).
#
# RECIPES_DOC=FILE reads the recipes from FILE instead of README.md.
# NOPYC_TEST_RECIPES_PY=PATH picks the interpreter (default: Debian's
# /usr/bin/python3, which an unprivileged user can run; else pyenv 3.11).

load helpers

# What the mimicked containers and services run as (the recipes' USER,
# runAsUser; systemd's User=app has no uid, this one stands in for it).
APP_UID=10001

setup_file() {
	RECIPES_DOC=${RECIPES_DOC:-$NOPYC_TEST_ROOT/README.md}
	PY=${NOPYC_TEST_RECIPES_PY:-}
	[[ -n $PY || ! -x /usr/bin/python3 ]] || PY=/usr/bin/python3
	[[ -n $PY ]] || PY=$(nopyc_find_python '/root/.pyenv/versions/3.11.*/bin/python')
	# Unprivileged runs need every directory on the way readable: not under
	# bats' 0700 temp directory.
	WF=$(mktemp -d /tmp/nopyc-recipes.XXXXXX)
	chmod 0755 "$WF"
	D=$WF/dest
	make -s -C "$NOPYC_TEST_ROOT" install DESTDIR="$D" PREFIX=/usr/local >"$WF/install.log" 2>&1 ||
		{ cat "$WF/install.log" >&2; return 1; }
	export RECIPES_DOC PY WF D
}

teardown_file() {
	[[ -n ${WF:-} && $WF == /tmp/nopyc-recipes.* ]] && rm -rf "$WF"
	return 0
}

setup() {
	nopyc_clean_env
	[[ -f $RECIPES_DOC ]] || fail "$RECIPES_DOC not found"
	[[ -n $PY ]] || skip "no interpreter: neither /usr/bin/python3 nor /root/.pyenv/versions/3.11.*/bin/python"
	nopyc_python_facts
	umask 022
	W=$WF/t$BATS_TEST_NUMBER
	rm -rf "$W"
	mkdir -p "$W/bin" "$W/out"
	ln -s "$PY" "$W/bin/python3"
	# the paths the recipes name, as this test sees them
	export S_USRLOCAL=$D/usr/local S_SRVAPP=$W/srv/app S_OPTAPP=$W/opt/app S_APP=$W/app
	export S_RUNPC=$W/run/pycache S_TMPPC=$W/tmp/pycache S_SRC=$NOPYC_TEST_ROOT S_OUT=$W/dest
	# the recipes' commands: python3 is $PY, nopyc is the installed wrapper
	RPATH=$W/bin:$D/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	cd "$W" || return 1
}

# ---- extraction and substitution ----------------------------------------------

# recipe NAME: the block's lines (without the tag line).  Fails unless the
# document holds exactly one block of that name.
recipe() {
	local out rc=0
	out=$(awk -v tag="# recipe: $1" -v htag="<!-- recipe: $1 -->" '
		/^```/ {
			if (inblk) { if (take) n++; inblk = 0; take = 0; next }
			inblk = 1; first = 1; take = pending; pending = 0; next
		}
		inblk {
			if (first) { first = 0; if ($0 == tag) { take = 1; next } }
			if (take) print
			next
		}
		{ if ($0 == htag) pending = 1; else if ($0 !~ /^[ \t]*$/) pending = 0 }
		END { exit n == 1 ? 0 : (n == 0 ? 3 : 4) }' "$RECIPES_DOC") || rc=$?
	case $rc in
	0) printf '%s\n' "$out" ;;
	3) fail "$RECIPES_DOC has no block tagged '# recipe: $1' (RECIPES_DOC=/tmp/readme-recipes.md to use the draft)" ;;
	*) fail "$RECIPES_DOC has more than one block tagged '# recipe: $1'" ;;
	esac
}

# subst < TEXT: the README's example paths replaced, in one pass, by the
# S_* paths of this test (a path is a whole token: /app but not /srv/app).
subst() {
	perl -pe '
		BEGIN {
			%m = ("/usr/local" => "S_USRLOCAL", "/srv/app" => "S_SRVAPP", "/opt/app" => "S_OPTAPP",
			      "/app" => "S_APP", "/run/pycache" => "S_RUNPC", "/tmp/pycache" => "S_TMPPC",
			      "/src/nopyc" => "S_SRC", "/out" => "S_OUT");
			$re = join "|", map quotemeta, sort { length $b <=> length $a } keys %m;
		}
		s{(?<![\w.\-/])($re)(?![\w.\-])}{
			my $v = $ENV{$m{$1}};
			defined $v or die "no substitute for $1\n";
			$v
		}ge'
}

# The mount/mkdir lines of a shell recipe act on test paths only (never on
# the host's /srv, /run, ...).
assert_paths_under_w() { # SCRIPT
	local line word
	while IFS= read -r line; do
		[[ $line =~ ^[[:space:]]*(mount|mkdir|umount)[[:space:]] ]] || continue
		for word in $line; do
			[[ $word != /* || $word == "$W"/* ]] ||
				fail "recipe line acts on a host path after substitution: $line"
		done
	done <"$1"
}

# The env(1) arguments every app run starts from.
base_env() {
	printf '%s\n' "${NOPYC_TEST_PY_ENV_CLEAR[@]}" -u LD_PRELOAD "PATH=$RPATH"
}

# benv CMD...: CMD in that environment.
benv() {
	local -a e
	mapfile -t e < <(base_env)
	env "${e[@]}" "$@"
}

# ---- the mount namespace --------------------------------------------------------

snapshot() { # DIR: everything a write would change
	find "$1" -printf '%y %p %s %i %T@ %C@ %m %U\n' | LC_ALL=C sort
}

# run_as UID CMD...: as root, or as UID with no supplementary groups.
run_as() {
	local u=$1
	shift
	if [[ $u == 0 ]]; then
		"$@"
	else
		setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"
	fi
}

# start_app N: run CMD_ with ENVV as RUNAS; results in $W/out/{out,err,rc,snap}N.
start_app() {
	local rc=0
	run_as "$RUNAS" env "${ENVV[@]}" "${CMD_[@]}" >"$W/out/out$1" 2>"$W/out/err$1" || rc=$?
	echo "$rc" >"$W/out/rc$1"
	snapshot "$SNAPDIR" >"$W/out/snap$1"
}

# in_ns FUNC: run FUNC in a fresh bash in a new mount namespace, with the
# variables and functions it needs.
in_ns() {
	local script=$W/ns-$1.sh rc=0
	{
		echo 'set -euo pipefail'
		declare -p W APP IMAGE TMPFS TMPFS_MODE SNAPDIR RUNAS ENVV CMD_ RTDIR RTMODE 2>/dev/null || true
		declare -f snapshot run_as start_app "$1"
		echo "$1"
	} >"$script"
	unshare -m bash "$script" >"$W/ns.log" 2>&1 || rc=$?
	((rc == 0)) || fail "the namespace script $1 failed ($rc): $(cat "$W/ns.log")"
}

need_ns() {
	[[ $(id -u) == 0 ]] || skip "needs root (unshare -m, mount)"
	command -v unshare >/dev/null || skip "unshare not installed"
	mkdir -p "$W/probe"
	unshare -m mount -t tmpfs -o size=64k nopyc-probe "$W/probe" 2>/dev/null ||
		skip "cannot unshare -m and mount a tmpfs here"
}

# The uid the app runs as: APP_UID when $PY is usable by others (and
# setpriv exists), else root, said on fd 3.
app_uid() {
	if command -v setpriv >/dev/null && setpriv --reuid="$APP_UID" --regid="$APP_UID" --clear-groups -- "$PY" -c pass 2>/dev/null; then
		echo "$APP_UID"
	else
		echo "# $PY cannot run as uid $APP_UID (or no setpriv): running as root" >&3
		echo 0
	fi
}

# check_start N: start N exited 0, printed the tree's line, said nothing.
check_start() {
	[[ $(<"$W/out/rc$1") == 0 ]] || fail "start $1 exited $(<"$W/out/rc$1"): $(<"$W/out/err$1")"
	[[ ! -s $W/out/err$1 ]] || fail "start $1 stderr: $(<"$W/out/err$1")"
	assert_equal "$(<"$W/out/out$1")" "$NOPYC_TEST_TREE_OUTPUT"
}

# The pycs of make_tree's four modules under SRC, mapped into TARGET.
tree_pycs() { # TARGET SRC
	local m
	for m in a/__init__.py a/mod.py b/__init__.py b/mod.py; do
		printf '%s%s\n' "$1" "$(pyc_path "$2/$m")"
	done
}

# The regular files of a snapshot.
snap_files() { # FILE
	awk '$1 == "f" { print $2 }' "$1"
}

# TARGET of the first redirect rule of RULES, and the directory that must
# exist (be mounted) before the program starts: TARGET, or its parent for
# TARGET/%u.
redirect_target() { # RULES
	local r
	IFS=';' read -ra rr <<<"$1"
	for r in "${rr[@]}"; do
		read -ra w <<<"$r"
		[[ ${w[0]:-} == redirect ]] && { echo "${w[2]}"; return 0; }
	done
	return 1
}
target_mount_point() { # TARGET
	if [[ $1 == */%u ]]; then echo "${1%/%u}"; else echo "$1"; fi
}

# ---- read-only bind mount -------------------------------------------------------

ns_ro_bind() {
	cd "$W" || return 1
	export PATH=$RPATH
	unset "${PYUNSET[@]}"
	{
		# shellcheck disable=SC1091
		. "$W/recipe.sh"
	} >"$W/out/out1" 2>"$W/out/err1"
	echo 0 >"$W/out/rc1"   # set -e: a failing recipe line ends the script
	if (: >"$W/srv/app/probe") 2>/dev/null; then echo writable >"$W/out/app-writable"; fi
	(unset LD_PRELOAD && snapshot "$W/run/pycache" >"$W/out/snap1")
	{
		eval "$LASTLINE"
	} >"$W/out/out2" 2>"$W/out/err2"
	echo 0 >"$W/out/rc2"
	(unset LD_PRELOAD && snapshot "$W/run/pycache" >"$W/out/snap2")
}

@test "recipe ro-bind-mount: as written: the app runs from a read-only bind mount, caches land on the tmpfs, the second start writes nothing" {
	need_ns
	recipe ro-bind-mount >"$W/recipe.orig"
	grep -q '/srv/app' "$W/recipe.orig" && grep -q '/run/pycache' "$W/recipe.orig" ||
		fail "the recipe no longer uses /srv/app and /run/pycache: update this test"
	subst <"$W/recipe.orig" >"$W/recipe.sh"
	assert_paths_under_w "$W/recipe.sh"
	make_tree "$W/srv/app"
	local before
	before=$(snapshot "$W/srv/app")
	LASTLINE=$(grep -v '^[[:space:]]*\(#\|$\)' "$W/recipe.sh" | tail -n 1)
	[[ $LASTLINE == *python3* ]] || fail "the recipe's last line does not start the app: $LASTLINE"
	PYUNSET=()
	local v
	for v in "${NOPYC_TEST_PY_ENV_CLEAR[@]}"; do [[ $v == -u ]] || PYUNSET+=("$v"); done
	{
		echo 'set -euo pipefail'
		declare -p W RPATH LASTLINE PYUNSET
		declare -f snapshot ns_ro_bind
		echo ns_ro_bind
	} >"$W/ns.sh"
	run unshare -m bash "$W/ns.sh"
	[[ $status == 0 ]] || fail "the recipe failed ($status): $output $(cat "$W/out/err1" 2>/dev/null)"
	check_start 1
	check_start 2
	assert_not_exist "$W/out/app-writable"
	# the caches are on the tmpfs, at the mapped paths, and only there
	assert_equal "$(snap_files "$W/out/snap1" | LC_ALL=C sort)" \
		"$(tree_pycs "$W/run/pycache/$(id -u)" "$W/srv/app" | LC_ALL=C sort)"
	assert_equal "$(snapshot "$W/srv/app")" "$before"
	# second start: nothing new, nothing rewritten
	assert_equal "$(<"$W/out/snap2")" "$(<"$W/out/snap1")"
}

# ---- CI -----------------------------------------------------------------------

# A git checkout with a package, a unit test and the usual .gitignore.
make_checkout() { # DIR
	local d=$1
	mkdir -p "$d/mypkg" "$d/tests"
	: >"$d/mypkg/__init__.py"
	printf 'def add(a, b):\n    return a + b\n' >"$d/mypkg/calc.py"
	cat >"$d/tests/test_calc.py" <<'EOF'
import unittest
import mypkg.calc

class T(unittest.TestCase):
    def test_add(self):
        self.assertEqual(mypkg.calc.add(2, 3), 5)
EOF
	printf '__pycache__/\n*.py[co]\n' >"$d/.gitignore"
	git -C "$d" init -q
	git -C "$d" add -A
	git -C "$d" -c user.name=t -c user.email=t@example.invalid commit -qm init
}

# Run a shell recipe in the checkout: recipe_in DIR FILE
recipe_in() {
	(cd "$1" && benv bash -e "$2")
}

@test "recipe ci-clean-checkout: tests run under nopyc, git status --porcelain --ignored stays empty; without nopyc it would not" {
	command -v git >/dev/null || skip "git not installed"
	recipe ci-clean-checkout >"$W/ci.sh"
	grep -q '^nopyc ' "$W/ci.sh" || fail "the recipe does not run its command under nopyc"
	make_checkout "$W/co"
	# control: the same first command without nopyc writes caches that
	# .gitignore hides from a plain `git status --porcelain`
	sed -n '1s/^nopyc //p' "$W/ci.sh" >"$W/ci-plain.sh"
	run recipe_in "$W/co" "$W/ci-plain.sh"
	assert_success
	[[ -n $(find_caches "$W/co") ]] || fail "the control run wrote no cache: the recipe would prove nothing"
	run git -C "$W/co" status --porcelain
	assert_output ''
	run git -C "$W/co" status --porcelain --ignored
	assert_output --partial '!! mypkg/__pycache__/'
	git -C "$W/co" clean -qfdx
	# the recipe, whole: its own `test -z` line passes
	run recipe_in "$W/co" "$W/ci.sh"
	assert_success
	assert_output --partial 'Ran 1 test'
	assert_output --partial 'OK'
	assert_no_caches "$W/co"
	run git -C "$W/co" status --porcelain --ignored
	assert_output ''
}

@test "recipe ci-compileall: compileall under --discard exits 0 and writes nothing; a syntax error still fails it; with deny it would always fail" {
	command -v git >/dev/null || skip "git not installed"
	recipe ci-compileall >"$W/ca.sh"
	grep -q -- "--discard '\*\*'" "$W/ca.sh" || fail "the recipe does not use --discard '**'"
	make_checkout "$W/co"
	run recipe_in "$W/co" "$W/ca.sh"
	assert_success
	assert_no_caches "$W/co"
	run git -C "$W/co" status --porcelain --ignored
	assert_output ''
	# with deny instead of discard every write fails: compileall exits 1
	sed -n "1s/ --discard '\*\*'//p" "$W/ca.sh" >"$W/ca-deny.sh"
	run recipe_in "$W/co" "$W/ca-deny.sh"
	assert_failure
	assert_no_caches "$W/co"
	# it still compiles: a syntax error fails the first line
	printf 'def broken(:\n' >"$W/co/mypkg/bad.py"
	head -n 1 "$W/ca.sh" >"$W/ca-first.sh"
	run recipe_in "$W/co" "$W/ca-first.sh"
	assert_failure
	assert_no_caches "$W/co"
}

# ---- Docker ------------------------------------------------------------------------

# parse_dockerfile < FILE: bash assignments for the final stage: DENV (K=V
# from ENV), DUSER, DCMD (argv), DRUN (RUN lines), and DMAKE (the build
# stage's RUN line that runs make).
parse_dockerfile() {
	env -u PYTHONDONTWRITEBYTECODE PYTHONDONTWRITEBYTECODE=1 "$PY" -B -c '
import json, shlex, sys
text = sys.stdin.read().replace("\\\n", " ")
stages = []
for line in text.splitlines():
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    instr, _, rest = s.partition(" ")
    instr = instr.upper()
    rest = rest.strip()
    if instr == "FROM":
        stages.append([])
    stages[-1].append((instr, rest))
final = stages[-1]
env, run, user, cmd = [], [], "", []
for instr, rest in final:
    if instr == "ENV":
        for tok in shlex.split(rest):
            k, eq, v = tok.partition("=")
            assert eq, "ENV without =: %s" % rest
            env.append(k + "=" + v)
    elif instr == "RUN":
        run.append(rest)
    elif instr == "USER":
        user = rest
    elif instr == "CMD":
        cmd = json.loads(rest)
make = [rest for st in stages[:-1] for instr, rest in st if instr == "RUN" and "make" in rest.split()]
q = shlex.quote
print("DENV=(%s)" % " ".join(q(x) for x in env))
print("DRUN=(%s)" % " ".join(q(x) for x in run))
print("DCMD=(%s)" % " ".join(q(x) for x in cmd))
print("DUSER=%s" % q(user))
print("DMAKE=%s" % q(make[0] if make else ""))
'
}

# The env(1) arguments of a recipe's environment, paths substituted.
subst_env() { # K=V...
	local kv
	for kv; do
		printf '%s\n' "$kv" | subst
	done
}

# The app as an image: make_tree in $W/image, then the final stage's RUN
# lines (build time: /app is the image tree), without nopyc.
build_image() {
	local r
	make_tree "$W/image"
	for r in "${DRUN[@]}"; do
		(cd "$W" && benv bash -ec "$(printf '%s\n' "$r" | S_APP=$W/image subst)") ||
			fail "RUN $r failed"
	done
	find_caches "$W/image" >"$W/shipped"
	# the build shipped the modules' pycs
	local p
	for p in $(tree_pycs "" "$W/image"); do
		grep -qxF "$p" "$W/shipped" || fail "the image has no $p after the RUN lines"
	done
}

ns_container() {
	mount --bind "$W/out" "$W/out"
	mount --bind "$W/image" "$W/image-rw"           # the host's writable view
	mount --bind "$W/image" "$APP"                  # COPY app/ /app/
	mount -o remount,bind,ro "$APP"
	mount -t tmpfs -o "mode=$TMPFS_MODE,size=16m" nopyc-test "$TMPFS"
	mount -o remount,bind,ro /                      # --read-only
	start_app 1
	# a module changes after the image was built: its shipped pyc is stale
	echo '# changed after the build' >>"$W/image-rw/b/mod.py"
	start_app 2
	start_app 3
}

# container_checks: the three starts of ns_container, as uid RUNAS.
container_checks() {
	local tgt
	check_start 1
	check_start 2
	check_start 3
	tgt=$TMPFS/$RUNAS
	# start 1 read the shipped pycs: nothing written, only TARGET made (0700)
	assert_equal "$(snap_files "$W/out/snap1")" ''
	assert_equal "$(awk -v p="$tgt" '$2 == p { print $1, $7, $8 }' "$W/out/snap1")" "d 700 $RUNAS"
	# start 2 compiled the changed module into the tmpfs, and only that
	assert_equal "$(snap_files "$W/out/snap2")" "$tgt$(pyc_path "$APP/b/mod.py")"
	# start 3 wrote nothing
	assert_equal "$(<"$W/out/snap3")" "$(<"$W/out/snap2")"
	# the image holds exactly the pycs the build put there
	assert_equal "$(find_caches "$W/image")" "$(<"$W/shipped")"
}

@test "recipe dockerfile: the make line installs the library; its exact ENV on a read-only root with a tmpfs at TARGET's parent, as USER: shipped pycs read, a stale one compiled into the tmpfs once" {
	need_ns
	recipe dockerfile >"$W/Dockerfile"
	local defs
	defs=$(parse_dockerfile <"$W/Dockerfile") || fail "cannot parse the Dockerfile"
	eval "$defs"
	# ENV: exactly LD_PRELOAD (the installed library) and NOPYC_RULES
	assert_equal "${#DENV[@]}" 2
	assert_equal "${DENV[0]}" "LD_PRELOAD=/usr/local/lib/libnopyc.so"
	[[ ${DENV[1]} == NOPYC_RULES=* ]] || fail "second ENV is not NOPYC_RULES: ${DENV[1]}"
	local rules=${DENV[1]#NOPYC_RULES=} target mp
	target=$(redirect_target "$rules") || fail "no redirect rule in $rules"
	mp=$(target_mount_point "$target")
	# `docker run` mounts the tmpfs there
	run recipe_docker_run
	assert_output --regexp "docker run .*--read-only"
	assert_output --regexp "--tmpfs $mp( |:|\$)"
	# the build stage's make line, as written (PREFIX stays the image's
	# /usr/local), installs what ENV names; the runtime stage copies
	# DESTDIR's /usr/local to /usr/local
	[[ -n $DMAKE ]] || fail "no make line in the build stage"
	run bash -ec "$(printf '%s\n' "$DMAKE" | S_USRLOCAL=/usr/local subst) >/dev/null"
	assert_success
	grep -q -- '--from=nopyc /out/usr/local/ /usr/local/' "$W/Dockerfile" ||
		fail "the runtime stage no longer copies /out/usr/local/ to /usr/local/: update this test"
	export S_USRLOCAL=$S_OUT/usr/local
	assert_file_exist "$(printf '%s\n' "${DENV[0]#LD_PRELOAD=}" | subst)"
	[[ $DUSER =~ ^[0-9]+$ ]] || fail "USER $DUSER: this test needs a numeric uid"
	build_image
	APP=$S_APP IMAGE=$W/image TMPFS=$(printf '%s\n' "$mp" | subst) TMPFS_MODE=1777 SNAPDIR=$TMPFS
	RUNAS=$(APP_UID=$DUSER app_uid)
	mapfile -t ENVV < <(base_env; subst_env "${DENV[@]}")
	mapfile -t CMD_ < <(subst_env "${DCMD[@]}")
	mkdir -p "$APP" "$W/image-rw" "$TMPFS"
	in_ns ns_container
	container_checks
}

recipe_docker_run() {
	# the sh block right after the Dockerfile: its docker run line
	awk '/^# recipe: dockerfile$/ { f = 1 } f && /^docker run / { print; exit }' "$RECIPES_DOC"
}

# ---- Kubernetes --------------------------------------------------------------------

@test "recipe kubernetes: the YAML's env is the Dockerfile's, an emptyDir (medium Memory) is mounted at TARGET's parent; that env as runAsUser on a read-only root with a tmpfs as kubelet mounts it (1777)" {
	need_ns
	local yamlpy=
	for yamlpy in /usr/bin/python3 "$PY"; do
		"$yamlpy" -B -c 'import yaml' 2>/dev/null && break
		yamlpy=
	done
	[[ -n $yamlpy ]] || skip "PyYAML not installed (python3-yaml)"
	recipe kubernetes >"$W/k8s.yaml"
	recipe dockerfile >"$W/Dockerfile"
	eval "$(parse_dockerfile <"$W/Dockerfile")"
	local defs
	defs=$(env PYTHONDONTWRITEBYTECODE=1 "$yamlpy" -B -c '
import shlex, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
spec = docs[0]["spec"]["template"]["spec"]
c = spec["containers"][0]
vols = {v["name"]: v for v in spec.get("volumes", [])}
mem = [m["mountPath"] for m in c.get("volumeMounts", [])
       if (vols.get(m["name"], {}).get("emptyDir") or {}).get("medium") == "Memory"]
sc = c.get("securityContext", {})
q = shlex.quote
print("KENV=(%s)" % " ".join(q("%s=%s" % (e["name"], e["value"])) for e in c.get("env", [])))
print("KMEM=(%s)" % " ".join(q(m) for m in mem))
print("KUID=%s" % q(str(sc.get("runAsUser", ""))))
print("KRO=%s" % q(str(sc.get("readOnlyRootFilesystem", False))))
' "$W/k8s.yaml") || fail "cannot parse the Kubernetes YAML"
	eval "$defs"
	assert_equal "$(printf '%s\n' "${KENV[@]}")" "$(printf '%s\n' "${DENV[@]}")"
	assert_equal "$KRO" True
	local rules=${KENV[1]#NOPYC_RULES=} mp
	mp=$(target_mount_point "$(redirect_target "$rules")")
	[[ " ${KMEM[*]} " == *" $mp "* ]] || fail "no emptyDir with medium Memory at $mp (memory volumes: ${KMEM[*]:-none})"
	[[ $KUID =~ ^[0-9]+$ ]] || fail "runAsUser is not a uid: $KUID"
	build_image
	APP=$S_APP IMAGE=$W/image TMPFS=$(printf '%s\n' "$mp" | subst) TMPFS_MODE=1777 SNAPDIR=$TMPFS
	RUNAS=$(APP_UID=$KUID app_uid)
	mapfile -t ENVV < <(base_env; subst_env "${KENV[@]}")
	mapfile -t CMD_ < <(subst_env "${DCMD[@]}")
	mkdir -p "$APP" "$W/image-rw" "$TMPFS"
	in_ns ns_container
	container_checks
}

# ---- systemd -------------------------------------------------------------------------

# parse_unit < FILE: bash assignments: UENV (K=V after systemd's unquoting
# and %% -> %), UEXEC (argv), and the directives UPROTECT, URTDIR, URTMODE.
# Any other % specifier fails: systemd would expand it.
parse_unit() {
	env PYTHONDONTWRITEBYTECODE=1 "$PY" -B -c '
import re, shlex, sys
env, d = [], {}
for line in sys.stdin.read().splitlines():
    s = line.strip()
    if not s or s[0] in "#;[" or "=" not in s:
        continue
    k, v = s.split("=", 1)
    k, v = k.strip(), v.strip()
    bad = re.findall(r"%[^%]", re.sub("%%", "", v))
    if bad:
        sys.exit("specifier %s in %s=%s: systemd would expand it (write %%%% for a literal %%)" % (bad[0], k, v))
    v = v.replace("%%", "%")
    if k == "Environment":
        env += shlex.split(v)
    else:
        d[k] = v
q = shlex.quote
print("UENV=(%s)" % " ".join(q(x) for x in env))
print("UEXEC=(%s)" % " ".join(q(x) for x in shlex.split(d.get("ExecStart", ""))))
for k, n in (("ProtectSystem", "UPROTECT"), ("RuntimeDirectory", "URTDIR"),
             ("RuntimeDirectoryMode", "URTMODE")):
    print("%s=%s" % (n, q(d.get(k, ""))))
'
}

ns_systemd() {
	mount --bind "$W/out" "$W/out"
	mount -t tmpfs -o mode=0755,size=16m nopyc-run "$W/run"         # /run
	install -d -m "$RTMODE" -o "$RUNAS" -g "$RUNAS" "$W/run/$RTDIR"  # RuntimeDirectory=
	mount -o remount,bind,ro /                                      # ProtectSystem=strict
	start_app 1
	start_app 2
}

@test "recipe systemd: the unit verifies; Environment= (%% unescaped) with ExecStart as an unprivileged user, / read-only, RuntimeDirectory on a tmpfs: caches there, second start writes nothing" {
	need_ns
	recipe systemd >"$W/myapp.service"
	# %% in the unit: nopyc must receive %u, not systemd's expansion
	grep -q '/run/pycache/%%u' "$W/myapp.service" || fail "the unit does not write %%u"
	if command -v systemd-analyze >/dev/null; then
		run --separate-stderr timeout 60 systemd-analyze verify --man=no "$W/myapp.service"
		assert_success
		assert_equal "$stderr" ''
	else
		echo "# systemd-analyze not installed: the unit is not verified" >&3
	fi
	local defs
	defs=$(parse_unit <"$W/myapp.service") || fail "cannot parse the unit: $defs"
	eval "$defs"
	assert_equal "$UPROTECT" strict
	[[ -n $URTDIR && $URTMODE =~ ^0?[0-7]{3}$ ]] || fail "RuntimeDirectory=$URTDIR RuntimeDirectoryMode=$URTMODE"
	assert_equal "$(printf '%s\n' "${UENV[@]}")" "LD_PRELOAD=/usr/local/lib/libnopyc.so
NOPYC_RULES=redirect /opt/app/** /run/pycache/%u; allow **"
	local rules=${UENV[1]#NOPYC_RULES=} target
	target=$(redirect_target "$rules")
	assert_equal "$(target_mount_point "$target")" "/run/$URTDIR"
	# nopyc reads the unescaped rules as intended (%u left for the library)
	run env NOPYC_RULES="$(printf '%s\n' "$rules" | subst)" "$D/usr/local/bin/nopyc" --check
	assert_line --index 0 "1 redirect $S_OPTAPP/** $S_RUNPC/%u  # NOPYC_RULES rule 1"
	[[ ${UEXEC[0]} == /usr/bin/python3 && -x /usr/bin/python3 ]] || skip "ExecStart=${UEXEC[0]}: not runnable here"
	make_tree "$W/opt/app"
	APP=$S_OPTAPP RTDIR=$URTDIR RTMODE=$URTMODE SNAPDIR=$W/run/$URTDIR
	RUNAS=$(PY=/usr/bin/python3 app_uid)
	mapfile -t ENVV < <(base_env; subst_env "${UENV[@]}")
	mapfile -t CMD_ < <(subst_env "${UEXEC[@]}")
	mkdir -p "$W/run"
	in_ns ns_systemd
	PY=/usr/bin/python3 nopyc_python_facts
	check_start 1
	check_start 2
	assert_equal "$(snap_files "$W/out/snap1" | LC_ALL=C sort)" \
		"$(tree_pycs "$SNAPDIR/$RUNAS" "$APP" | LC_ALL=C sort)"
	assert_equal "$(<"$W/out/snap2")" "$(<"$W/out/snap1")"
	assert_no_caches "$W/opt/app"
}

# ---- troubleshooting transcripts ----------------------------------------------------

# run_transcript NAME: each `$ ` line of the console block runs (paths
# substituted, in $W, with the recipes' PATH); its stdout and stderr must
# be the lines that follow it.
run_transcript() {
	local line cmd='' want='' got n=0
	recipe "$1" >"$W/transcript.orig"
	subst <"$W/transcript.orig" >"$W/transcript"
	check_one() {
		[[ -n $cmd ]] || return 0
		n=$((n + 1))
		# trailing blank lines are not compared ($(...) drops them too)
		while [[ $want == *$'\n' ]]; do want=${want%$'\n'}; done
		got=$(cd "$W" && benv bash -c "$cmd" 2>&1) || true
		[[ $got == "$want" ]] ||
			fail "transcript $1, command $n: $cmd
--- README shows:
$want
--- got:
$got"
	}
	while IFS= read -r line; do
		if [[ $line == '$ '* ]]; then
			check_one "$1"
			cmd=${line#\$ } want=
		else
			want+=${want:+$'\n'}$line
		fi
	done <"$W/transcript"
	check_one "$1"
	((n > 0)) || fail "transcript $1 has no command"
}

@test "troubleshooting: the --explain transcript is what nopyc prints" {
	run_transcript explain-transcript
}

@test "troubleshooting: the TARGET refused transcript is what nopyc prints, and its fix works" {
	run_transcript target-refused-transcript
	assert_dir_exist "$W/tmp/pycache/$(id -u)"
	assert_equal "$(stat -c %a "$W/tmp/pycache/$(id -u)")" 700
}

LINE_RE='^nopyc: pid=[1-9][0-9]* call=[a-z_][a-z0-9_]* path=/[^[:space:][:cntrl:]]* rule=([1-9][0-9]* action=(allow|deny|discard|redirect)(\(refused-target\))?|none action=allow) verdict=(pass|fail|succeed|sink|mapped|overlay)(\(dry-run\))? mapped=(-|/[^[:space:][:cntrl:]]*) result=(ok|E[A-Z0-9]+|errno[0-9]+)( from=(target|discarded|original))?( (old|new)=[^[:space:][:cntrl:]]+)?$'

@test "troubleshooting: the NOPYC_LOG excerpt has the format the library writes" {
	recipe log-excerpt >"$W/excerpt"
	[[ -s $W/excerpt ]] || fail "empty excerpt"
	run grep -cvE "$LINE_RE" "$W/excerpt"
	assert_output 0
	# and a real run prints lines of the same shape for the same decisions
	make_tree "$W/srv/app"
	mkdir -p "$W/run/pycache"
	chmod 0755 "$W/run/pycache"
	local all=''
	for _ in 1 2; do # a first start, then one that only reads
		run --separate-stderr benv "$D/usr/local/bin/nopyc" --log - \
			--rule "redirect $W/srv/app/** $W/run/pycache/%u" --allow '**' python3 "$W/srv/app/main.py"
		assert_success
		all+=$stderr$'\n'
	done
	stderr=$all
	shape() { sed -E 's/ (path|mapped|old|new)=[^ ]*//g; s/pid=[0-9]+/pid=P/' | LC_ALL=C sort -u; }
	local missing
	missing=$(LC_ALL=C comm -23 <(shape <"$W/excerpt") <(shape <<<"$stderr"))
	[[ -z $missing ]] || fail "excerpt lines a real run does not produce: $missing"
}

# ---- the comparison table ------------------------------------------------------------

@test "comparison: -I ignores PYTHONDONTWRITEBYTECODE and PYTHONPYCACHEPREFIX but not nopyc; compileall writes under -B; PYTHONPYCACHEPREFIX ignores shipped pycs, redirect reads them" {
	[[ $PYMAJOR == 3 ]] || skip "$PY is not Python 3"
	local imp='import sys; sys.path.insert(0, sys.argv[1]); import m; print(m.X)'
	mkdir -p "$W/s"
	echo 'X = 1' >"$W/s/m.py"
	# -I: both variables ignored, the pyc lands beside the source
	run benv PYTHONDONTWRITEBYTECODE=1 PYTHONPYCACHEPREFIX="$W/prefix" python3 -I -c "$imp" "$W/s"
	assert_success
	assert_file_exist "$(pyc_path "$W/s/m.py")"
	rm -rf "$W/s/__pycache__" "$W/prefix"
	run benv nopyc python3 -I -c "$imp" "$W/s"
	assert_success
	assert_no_caches "$W/s"
	# compileall under -B writes; under nopyc deny it fails and writes nothing;
	# under discard it succeeds and writes nothing
	run benv PYTHONDONTWRITEBYTECODE=1 python3 -m compileall -q "$W/s"
	assert_success
	assert_file_exist "$(pyc_path "$W/s/m.py")"
	rm -rf "$W/s/__pycache__"
	run benv nopyc python3 -m compileall -q "$W/s"
	assert_failure
	run benv nopyc --discard '**' python3 -m compileall -q "$W/s"
	assert_success
	assert_no_caches "$W/s"
	# a shipped pyc that says X = 1 beside a source that says X = 2
	benv python3 -c 'import sys; sys.version_info >= (3, 8) or sys.exit(1)' ||
		skip "PYTHONPYCACHEPREFIX needs Python 3.8+"
	make_stale_module "$W/st" m
	run benv PYTHONPYCACHEPREFIX="$W/prefix" python3 -c "$imp" "$W/st"
	assert_success
	assert_output 2
	[[ -n $(find "$W/prefix" -name '*.pyc' -path "*/lib/*") ]] ||
		fail "PYTHONPYCACHEPREFIX did not recompile the standard library into the prefix"
	run benv nopyc --redirect "$W/tgt" python3 -c "$imp" "$W/st"
	assert_success
	assert_output 1
	assert_equal "$(cksum <"$STALE_PYC")" "$STALE_SUM"
}
