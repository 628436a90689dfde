#!/usr/bin/env bash
# Debian sid (unstable) in a chroot: the newest glibc and CPython 3.13, 3.14
# and 3.15 (Debian's builds, with their libpython3.X-testsuite packages for
# CPython's own tests), and PyPy (pypy3).  About 3 minutes and 700 MB.
# See tests/envs/lib.sh for the commands.
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # followed by shellcheck -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# its recipe version: a change makes every cached copy be prepared again
env_version() { echo 1; }
MINORS=(13 14 15)

env_missing() {
	missing_packages debootstrap:debootstrap
}

env_prepare() {
	local root=$1 m
	local -a pkgs=(pypy3)
	for m in "${MINORS[@]}"; do
		pkgs+=("python3.$m" "libpython3.$m-testsuite")
	done
	bootstrap "$root" amd64 sid python3 && apt_install "$root" "${pkgs[@]}"
}

env_interpreters() {
	local root=$1 m admin=$1/var/lib/dpkg libc
	libc=$(package_version "$admin" libc6)
	for m in "${MINORS[@]}"; do
		printf 'sid-python3.%s\t/usr/bin/python3.%s\t%s\tnative\tCPython %s glibc %s 64\tyes\n' \
			"$m" "$m" "$root" "$(package_version "$admin" "python3.$m")" "$libc"
	done
	printf 'sid-pypy3\t/usr/bin/pypy3\t%s\tnative\tPyPy %s glibc %s 64\tno\n' \
		"$root" "$(package_version "$admin" pypy3)" "$libc"
}

env_main "$@"
