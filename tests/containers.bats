#!/usr/bin/env bats
# shellcheck disable=SC2154 # $stderr is set by bats' run
# The README's container recipes in a real container runtime (podman):
#
# - the Dockerfile is built with `podman build` (FROM lines pointing at a
#   local Debian image: no registry is reachable) and run as the README's
#   `docker run` line says, read-only with a tmpfs for the caches, as its
#   USER: the app runs, the image's shipped pycs are read; the same image
#   without shipped pycs fills the tmpfs on the first start and writes
#   nothing on the second; the image and the container stay unchanged;
# - the Kubernetes YAML is run with `podman kube play`: read-only root file
#   system, runAsUser, a memory-backed emptyDir at TARGET's parent.
#
# The base image is a debootstrap'd Debian bookworm (python3, make, gcc),
# built once and kept as a tar under $NOPYC_TEST_ENVS/podman-rootfs (default
# /var/cache/nopyc-test-envs, outside the clone), then `podman import`ed.
# Every test skips, saying why, where podman cannot run.

load helpers

BASE_IMAGE=localhost/nopyc-test-base:bookworm
APP_IMAGE=localhost/nopyc-test-app
KUBE_VOLUME=nopyc-test-pycache

setup_file() {
	CONTAINERS_SKIP=
	prepare_podman || CONTAINERS_SKIP=${CONTAINERS_SKIP:-podman cannot run here}
	export CONTAINERS_SKIP CONTAINERS_CONF
}

teardown_file() {
	[[ -n $CONTAINERS_SKIP ]] && return 0
	# images built from the base carry its label: drop the ones a rebuild
	# left untagged, so runs do not pile them up
	podman image prune -f --filter label=nopyc-rootfs >/dev/null 2>&1 || true
}

teardown() {
	[[ -n $CONTAINERS_SKIP ]] && return 0
	podman rm -f nopyc-test-shipped >/dev/null 2>&1 || true
	if [[ -n ${KUBE_YAML:-} ]]; then
		podman kube down "$KUBE_YAML" >/dev/null 2>&1 || true
		podman volume rm -f "$KUBE_VOLUME" >/dev/null 2>&1 || true
	fi
}

setup() {
	nopyc_clean_env
	[[ -z $CONTAINERS_SKIP ]] || skip "$CONTAINERS_SKIP"
	W=$BATS_TEST_TMPDIR/w
	mkdir -p "$W"
	cd "$W" || return 1
}

# ---- the runtime and the base image ---------------------------------------------

# The settings podman needs on this machine kind (../shared/test-
# environments.md): runc with cgroupfs, explicit ulimits; in a file, since
# `podman kube play` takes no --ulimit.
write_containers_conf() {
	CONTAINERS_CONF=$BATS_FILE_TMPDIR/containers.conf
	cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
	export CONTAINERS_CONF
}

# The base root file system as a tar, built once (about 2 minutes) and kept.
ensure_rootfs_tar() {
	local envs=${NOPYC_TEST_ENVS:-/var/cache/nopyc-test-envs}
	local dir=$envs/podman-rootfs
	ROOTFS_TAR=$dir/bookworm-python3-gcc.tar
	[[ -s $ROOTFS_TAR ]] && return 0
	command -v debootstrap >/dev/null || {
		CONTAINERS_SKIP="no base image and no debootstrap to make one (apt-get install debootstrap)"
		return 1
	}
	mkdir -p "$dir" || { CONTAINERS_SKIP="cannot create $dir"; return 1; }
	local tmp rc=0
	(
		flock 9
		[[ -s $ROOTFS_TAR ]] && exit 0
		tmp=$(mktemp -d "$dir/build.XXXXXX") || exit 1
		trap 'rm -rf "$tmp"' EXIT
		debootstrap --variant=minbase --include=python3,make,gcc,libc6-dev \
			bookworm "$tmp/root" http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1 || exit 2
		rm -rf "$tmp"/root/var/cache/apt/archives/*.deb "$tmp"/root/var/lib/apt/lists/* \
			"$tmp"/root/usr/share/doc "$tmp"/root/usr/share/man "$tmp"/root/usr/share/locale
		tar -C "$tmp/root" -cf "$tmp/rootfs.tar" . || exit 1
		mv "$tmp/rootfs.tar" "$ROOTFS_TAR"
	) 9>"$dir/.lock" || rc=$?
	case $rc in
	0) return 0 ;;
	2) CONTAINERS_SKIP="debootstrap of Debian bookworm failed (see $dir/debootstrap.log; network?)" ;;
	*) CONTAINERS_SKIP="cannot build the base root file system in $dir" ;;
	esac
	return 1
}

prepare_podman() {
	[[ $(id -u) == 0 ]] || { CONTAINERS_SKIP="needs root (podman with runc, as on CI)"; return 1; }
	local p
	for p in podman runc; do
		command -v "$p" >/dev/null || [[ -x /usr/sbin/$p ]] || {
			CONTAINERS_SKIP="$p not installed (apt-get install podman runc uidmap slirp4netns fuse-overlayfs conmon catatonit; .ci/run does)"
			return 1
		}
	done
	write_containers_conf
	ensure_rootfs_tar || return 1
	# the image, imported again when the tar is not the one it came from
	local id have
	id=$(stat -c '%s-%Y' "$ROOTFS_TAR")-path
	have=$(podman image inspect --format '{{index .Config.Labels "nopyc-rootfs"}}' "$BASE_IMAGE" 2>/dev/null) || have=
	if [[ $have != "$id" ]]; then
		# PATH: podman run has a default, kube play and the images built
		# FROM it take the image's
		podman import --change "LABEL=nopyc-rootfs=$id" \
			--change "ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
			"$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null 2>"$BATS_FILE_TMPDIR/import.err" || {
			CONTAINERS_SKIP="podman import failed: $(head -c 300 "$BATS_FILE_TMPDIR/import.err")"
			return 1
		}
	fi
	local out
	out=$(podman run --rm --network=none "$BASE_IMAGE" python3 -c 'print("container ok")' 2>&1) || true
	[[ $out == "container ok" ]] || {
		CONTAINERS_SKIP="podman cannot run a container here: ${out:0:300}"
		return 1
	}
}


# ---- the README's recipes -------------------------------------------------------

# recipe NAME: the lines of the README block tagged `# recipe: NAME` (tag
# line dropped); as tests/recipes.bats reads them.
recipe() {
	awk -v tag="# recipe: $1" '
		/^```/ { if (inblk) { inblk = 0; take = 0 } else { inblk = 1; first = 1 } next }
		inblk && first { first = 0; if ($0 == tag) { take = 1; n++; next } }
		inblk && take { print }
		END { exit n == 1 ? 0 : 1 }' "$NOPYC_TEST_ROOT/README.md" ||
		fail "README.md has not exactly one block tagged '# recipe: $1'"
}

# The `docker run` line of the sh block after the Dockerfile, split into
# words; RUN_OPTS: the options between `run` and the image.
docker_run_options() {
	local line
	line=$(awk '/^# recipe: dockerfile$/ { f = 1 } f && /^docker run / { print; exit }' "$NOPYC_TEST_ROOT/README.md")
	[[ -n $line ]] || fail "no docker run line after the Dockerfile"
	read -ra words <<<"$line"
	RUN_OPTS=("${words[@]:2:${#words[@]}-3}")
}

# The build context: the Dockerfile (FROM the local base image), nopyc's
# sources as nopyc/ (what `git ls-files` holds, without the tests), the
# test app as app/.
make_context() { # DOCKERFILE-FILTER (a sed script applied to the Dockerfile)
	local ctx=$W/ctx
	mkdir -p "$ctx/nopyc" "$ctx/app"
	recipe dockerfile >"$ctx/Dockerfile.readme"
	if ! grep -q '^FROM python:3.12-bookworm AS nopyc$' "$ctx/Dockerfile.readme" ||
		! grep -q '^FROM python:3.12-slim-bookworm$' "$ctx/Dockerfile.readme"; then
		fail "the Dockerfile's FROM lines changed: update this test"
	fi
	sed -e "s|^FROM python:3.12-bookworm AS|FROM $BASE_IMAGE AS|" \
		-e "s|^FROM python:3.12-slim-bookworm\$|FROM $BASE_IMAGE|" \
		-e "$1" "$ctx/Dockerfile.readme" >"$ctx/Dockerfile"
	(cd "$NOPYC_TEST_ROOT" && { git ls-files 2>/dev/null || find . -path ./build -prune -o -path ./.git -prune -o -type f -print; } |
		grep -v '^\(\./\)\?tests/' | tar -cf - -T -) | tar -C "$ctx/nopyc" -xf - ||
		fail "cannot copy the sources into the build context"
	make_tree "$ctx/app"
}

# build TAG DOCKERFILE-FILTER: podman build of the context; the image in $IMAGE.
build() {
	make_context "$2"
	IMAGE=$APP_IMAGE:$1
	run podman build --network=none -q -t "$IMAGE" "$W/ctx"
	assert_success
}

# The script a container runs for two starts in one container (a --tmpfs
# is new in every container): each start with its own NOPYC_LOG in the
# tmpfs, then what the tmpfs holds and what each start wrote.
# shellcheck disable=SC2016 # run by the container's sh
TWO_STARTS='set -e
cd /tmp/pycache
NOPYC_LOG=/tmp/pycache/start1.log python3 /app/main.py
find /tmp/pycache ! -name "*.log" ! -name "tree?" -printf "%p %m %u\n" | LC_ALL=C sort >/tmp/pycache/tree1
NOPYC_LOG=/tmp/pycache/start2.log python3 /app/main.py
find /tmp/pycache ! -name "*.log" ! -name "tree?" -printf "%p %m %u\n" | LC_ALL=C sort >/tmp/pycache/tree2
echo "== tree after start 1"; cat tree1
echo "== tree after start 2"; cat tree2
for n in 1 2; do
	echo "== writes in start $n"
	grep -E "verdict=(mapped|fail|succeed|sink)" start$n.log | sed "s/^nopyc: pid=[0-9]* //" || true
done
echo "== app reads in start 2"
grep " path=/app/.* verdict=overlay " start2.log | sed "s/^nopyc: pid=[0-9]* //"
echo "== end"'

# section NAME: the lines of $output between "== NAME" and the next "== ".
section() {
	awk -v h="== $1" '$0 == h { f = 1; next } /^== / { f = 0 } f' <<<"$output"
}

# The four modules' caches as nopyc maps them into TARGET (cpython-311: the
# base image's Python).
target_pycs() { # TARGET
	local m
	for m in a/__init__ a/mod b/__init__ b/mod; do
		echo "$1/app/${m%/*}/__pycache__/${m#*/}.cpython-311.pyc"
	done
}

@test "recipe dockerfile, for real: podman build; the docker run line (read-only, tmpfs, USER): shipped pycs read, nothing written; image and container unchanged" {
	build shipped ''
	local id
	id=$(podman image inspect --format '{{.Id}}' "$IMAGE")
	# the build stage's make installed the library the ENV names, and the
	# final stage shipped the app's pycs (compileall before ENV LD_PRELOAD)
	# (looked at without the library: no tmpfs here)
	run podman run --rm --network=none -e LD_PRELOAD= "$IMAGE" sh -c 'ls /usr/local/lib/libnopyc.so /usr/local/bin/nopyc; find /app -name "*.pyc" | LC_ALL=C sort'
	assert_success
	assert_output "/usr/local/bin/nopyc
/usr/local/lib/libnopyc.so
$(printf '%s\n' /app/__pycache__/main /app/a/__pycache__/__init__ /app/a/__pycache__/mod /app/b/__pycache__/__init__ /app/b/__pycache__/mod | sed 's/$/.cpython-311.pyc/' | LC_ALL=C sort)"

	# The README's run line, as written (podman for docker; no network here).
	docker_run_options
	[[ " ${RUN_OPTS[*]} " == *" --read-only "* ]] || fail "the docker run line is not --read-only: ${RUN_OPTS[*]}"
	run podman run --rm --network=none "${RUN_OPTS[@]}" "$IMAGE"
	assert_success
	assert_output "$NOPYC_TEST_TREE_OUTPUT"

	# Two starts in one container, logged.
	podman rm -f nopyc-test-shipped >/dev/null 2>&1 || true
	run podman run --name nopyc-test-shipped --network=none "${RUN_OPTS[@]}" "$IMAGE" sh -c "$TWO_STARTS"
	assert_success
	assert_line --index 0 "$NOPYC_TEST_TREE_OUTPUT"
	assert_line --index 1 "$NOPYC_TEST_TREE_OUTPUT"
	# TARGET made by nopyc (0700, the USER's), nothing written in it
	assert_equal "$(section 'tree after start 1')" "/tmp/pycache 1777 root
/tmp/pycache/10001 700 10001"
	assert_equal "$(section 'tree after start 2')" "$(section 'tree after start 1')"
	assert_equal "$(section 'writes in start 1')" ''
	assert_equal "$(section 'writes in start 2')" ''
	# the shipped pycs were read (redirect reads TARGET, then the image)
	local pyc
	for pyc in $(target_pycs ""); do
		assert_equal "$(section 'app reads in start 2' | grep -c "path=$pyc rule=1 action=redirect verdict=overlay mapped=/tmp/pycache/10001$pyc result=ok")" 1
	done
	# the container's own file system holds no more changes than one
	# that ran `true` (podman's own /etc entries); the image is the same
	local changed control
	changed=$(podman diff nopyc-test-shipped) || fail "podman diff failed"
	podman rm nopyc-test-shipped >/dev/null
	podman run --name nopyc-test-shipped --network=none "${RUN_OPTS[@]}" "$IMAGE" true
	control=$(podman diff nopyc-test-shipped) || fail "podman diff failed"
	podman rm nopyc-test-shipped >/dev/null
	assert_equal "$changed" "$control"
	assert_equal "$(podman image inspect --format '{{.Id}}' "$IMAGE")" "$id"
}

@test "recipe dockerfile without the compileall line, for real: the first start fills the tmpfs (0700, as USER), the second writes nothing" {
	build no-pycs '/^RUN python3 -m compileall -q \/app$/d'
	grep -q compileall "$W/ctx/Dockerfile" && fail "the compileall line is still there"
	run podman run --rm --network=none -e LD_PRELOAD= "$IMAGE" sh -c 'find /app -name "*.pyc" | wc -l'
	assert_output 0
	docker_run_options
	run podman run --rm --network=none "${RUN_OPTS[@]}" "$IMAGE" sh -c "$TWO_STARTS"
	assert_success
	assert_line --index 0 "$NOPYC_TEST_TREE_OUTPUT"
	assert_line --index 1 "$NOPYC_TEST_TREE_OUTPUT"
	local pyc dirs
	# start 1: every module compiled into TARGET, owned by the USER
	for pyc in $(target_pycs /tmp/pycache/10001); do
		section 'tree after start 1' | grep -qxF "$pyc 644 10001" || fail "no $pyc after start 1: $(section 'tree after start 1')"
	done
	# TARGET is the USER's, 0700; all below it is the USER's
	section 'tree after start 1' | grep -qxF "/tmp/pycache/10001 700 10001" || fail "TARGET is not 0700"
	dirs=$(section 'tree after start 1' | grep '^/tmp/pycache/10001' | grep -vc ' 10001$' || true)
	assert_equal "$dirs" 0
	section 'writes in start 1' | grep -q 'verdict=mapped' || fail "start 1 wrote nothing"
	# start 2: nothing new
	assert_equal "$(section 'tree after start 2')" "$(section 'tree after start 1')"
	assert_equal "$(section 'writes in start 2')" ''
	for pyc in $(target_pycs ""); do
		assert_equal "$(section 'app reads in start 2' | grep -c "path=$pyc .* mapped=/tmp/pycache/10001$pyc result=ok")" 1
	done
	# nothing outside the tmpfs: the image still has no pyc
	run podman run --rm --network=none -e LD_PRELOAD= "$IMAGE" sh -c 'find /app -name "*.pyc" | wc -l'
	assert_output 0
}

@test "recipe kubernetes, for real: podman kube play; read-only root, runAsUser, the emptyDir at TARGET's parent: the first start fills it, restarts write nothing" {
	# the emptyDir becomes a podman volume of its name: one of the test's own
	podman volume rm -f "$KUBE_VOLUME" >/dev/null 2>&1 || true
	# the image without shipped pycs, so the first start has to compile
	build no-pycs '/^RUN python3 -m compileall -q \/app$/d'
	recipe kubernetes >"$W/readme.yaml"
	grep -q 'image: registry.example.com/myapp:1.0$' "$W/readme.yaml" || fail "the YAML's image changed: update this test"
	grep -q 'medium: Memory$' "$W/readme.yaml" || fail "the emptyDir is not memory-backed"
	# The YAML as written, with the image built here, the volume named as
	# the test's own and, for the test to see each start's decisions,
	# NOPYC_LOG in the emptyDir.
	KUBE_YAML=$W/kube.yaml
	grep -c -- '- name: pycache$' "$W/readme.yaml" | grep -qx 2 || fail "the YAML's volume is no longer called pycache: update this test"
	awk -v image="$IMAGE" -v vol="$KUBE_VOLUME" '
		{ sub(/image: registry\.example\.com\/myapp:1\.0$/, "image: " image) }
		{ sub(/- name: pycache$/, "- name: " vol) }
		{ print }
		/^ *env:$/ { ind = $0; sub(/env:$/, "", ind)
			print ind "  - name: NOPYC_LOG"; print ind "    value: /tmp/pycache/nopyc.log" }' \
		"$W/readme.yaml" >"$KUBE_YAML"
	run podman kube play --network none "$KUBE_YAML"
	assert_success
	local c=myapp-pod-0-myapp restarts=0
	# the Deployment restarts the container each time the app exits
	for _ in $(seq 1 120); do
		restarts=$(podman inspect --format '{{.RestartCount}}' "$c" 2>/dev/null) || restarts=0
		((restarts >= 2)) && break
		sleep 0.5
	done
	((restarts >= 2)) || fail "the container was not restarted twice in 60 s: $(podman logs "$c" 2>&1 | tail -5)"
	podman pod stop -t 2 myapp-pod-0 >/dev/null
	run podman inspect --format '{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}' "$c"
	assert_output 'true 10001'
	run podman inspect --format '{{range .Mounts}}{{.Destination}} {{end}}' "$c"
	assert_output --partial '/tmp/pycache '
	# (podman 4.3 keeps an emptyDir on disk even with medium: Memory;
	# Kubernetes gives a tmpfs.  What this podman did, for the record:)
	echo "# emptyDir at /tmp/pycache: $(podman inspect --format '{{range .Mounts}}{{if eq .Destination "/tmp/pycache"}}{{.Type}}{{end}}{{end}}' "$c")" >&3
	# every start printed the app's output, and nothing else
	run podman logs "$c"
	assert_success
	(( ${#lines[@]} >= 3 )) || fail "fewer than 3 starts logged: $output"
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort -u)" "$NOPYC_TEST_TREE_OUTPUT"
	# the emptyDir: TARGET made 0700 by the USER, the four caches in it
	local vol tgt pyc
	vol=$(podman volume inspect --format '{{.Mountpoint}}' "$KUBE_VOLUME")
	tgt=$vol/10001
	assert_equal "$(stat -c '%a %u' "$tgt")" "700 10001"
	for pyc in $(target_pycs "$tgt"); do
		assert_file_exists "$pyc"
	done
	# The first start wrote them; every later one wrote nothing and read
	# them.  (Each start's Python may get the same pid in a fresh pid
	# namespace: a start is told by its one read of a/__init__'s cache.)
	local log=$vol/nopyc.log first=/app/a/__pycache__/__init__.cpython-311.pyc starts second last_write
	starts=$(grep -n " path=$first rule=1 action=redirect verdict=overlay " "$log") || fail "no read of $first"
	(($(wc -l <<<"$starts") >= 3)) || fail "fewer than 3 starts in the log: $starts"
	[[ $(sed -n 1p <<<"$starts") == *" result=ENOENT from=original" ]] || fail "the first start found a cache: $starts"
	assert_equal "$(sed 1d <<<"$starts" | grep -vc ' result=ok from=target$')" 0
	second=$(sed -n '2s/:.*//p' <<<"$starts")
	last_write=$(grep -nE 'verdict=(mapped|fail|succeed|sink)' "$log" | tail -1 | sed 's/:.*//')
	[[ -n $last_write ]] || fail "the first start wrote nothing"
	((last_write < second)) || fail "a start after the first wrote: line $last_write of $log"
	for pyc in $(target_pycs ""); do
		(($(grep -c " path=$pyc rule=1 action=redirect verdict=overlay mapped=/tmp/pycache/10001$pyc result=ok" "$log") >= $(wc -l <<<"$starts") - 1)) ||
			fail "a later start did not read $pyc from the emptyDir"
	done
	# (podman 4.3 can find a restarting container's shm still busy: again)
	for _ in 1 2 3 4 5; do
		run podman kube down "$KUBE_YAML"
		((status == 0)) && break
		sleep 1
	done
	assert_success
	KUBE_YAML=
	# (the emptyDir goes with the pod; a down racing a restart can leave it)
	podman volume rm -f "$KUBE_VOLUME" >/dev/null 2>&1 || true
}
