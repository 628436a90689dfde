#!/usr/bin/env bash
# A 32-bit (i386) Debian bookworm in a chroot with its python3 (CPython
# 3.11), run with the -m32 build of the library (build/i386/libnopyc.so).
# About a minute and 150 MB.  See tests/envs/lib.sh for the commands.
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # followed by shellcheck -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# its recipe version: a change makes every cached copy be prepared again
env_version() { echo 1; }

env_missing() {
	missing_packages debootstrap:debootstrap
}

env_prepare() {
	bootstrap "$1" i386 bookworm python3
}

env_interpreters() {
	local root=$1 admin=$1/var/lib/dpkg
	printf 'i386-python3\t/usr/bin/python3\t%s\ti386\tCPython %s glibc %s 32\tno\n' "$root" \
		"$(package_version "$admin" python3-minimal)" "$(package_version "$admin" libc6)"
}

env_main "$@"
