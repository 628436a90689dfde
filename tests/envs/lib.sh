# shellcheck shell=bash
# Shared by the environment scripts in tests/envs/ (sourced, not run).
#
# An environment script is run as
#   ENV.sh version              its recipe version: a cached tree made by
#                               another version is prepared again
#   ENV.sh missing              the Debian packages preparing it needs and
#                               this machine lacks, one per line
#   ENV.sh prepare DIR          make the environment in DIR (which does not
#                               exist yet); progress on stdout/stderr
#   ENV.sh slots                the names of its interpreter slots
#   ENV.sh interpreters DIR     the interpreters DIR holds, one per line:
#     SLOT<TAB>PROGRAM<TAB>CHROOT<TAB>LIBRARY<TAB>EXPECT<TAB>SUITES
#       SLOT     the test slot's name (sid-python3.14)
#       PROGRAM  the interpreter's path (inside CHROOT when there is one)
#       CHROOT   the directory it runs chrooted in, or -
#       LIBRARY  which build of the library it loads: native, i386 or musl
#       EXPECT   "IMPLEMENTATION VERSION LIBC LIBC-VERSION BITS", read from
#                the package databases, never from running the interpreter:
#                the slot's first test checks the running one against it
#                (VERSION: the implementation's own, PyPy's for PyPy)
#       SUITES   yes: CPython's own test package is there (cpython-suites)
# tests/envs/prepare is the driver.

# The mirror every environment comes from (Debian's archive).
NOPYC_TEST_MIRROR=${NOPYC_TEST_MIRROR:-http://deb.debian.org/debian}

env_say() { printf '%s: %s\n' "${0##*/}" "$*"; }

# missing_packages PKG:COMMAND...: each PKG whose COMMAND (a name on PATH
# or an absolute path) is not there.
missing_packages() {
	local pc
	for pc in "$@"; do
		if [[ ${pc#*:} == /* ]]; then
			[[ -e ${pc#*:} ]] || echo "${pc%%:*}"
		else
			command -v "${pc#*:}" >/dev/null 2>&1 || echo "${pc%%:*}"
		fi
	done
	return 0
}

# in_chroot ROOT CMD...: CMD chrooted in ROOT, with /proc and /dev of the
# host mounted there in a private mount namespace (package scripts want
# them; nothing stays mounted afterwards).
in_chroot() {
	local root=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" || exit 125
		exec chroot "$root" "$@"' sh "$root" "$@"
}

# bootstrap ROOT ARCH SUITE PACKAGES: a minbase Debian tree with PACKAGES
# (comma-separated) and apt ready to install more.
bootstrap() {
	local root=$1 arch=$2 suite=$3 include=$4
	debootstrap --arch="$arch" --variant=minbase --include="$include" \
		"$suite" "$root" "$NOPYC_TEST_MIRROR" || return 1
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
	# no service starts inside the tree (package scripts ask this first)
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" &&
		chmod 755 "$root/usr/sbin/policy-rc.d"
}

# apt_install ROOT PACKAGE...: install in the tree, then drop the downloads.
# Debian's sid Release file can be past its Valid-Until on a machine with an
# old clock or a stale mirror: not checked (the signature still is).
apt_install() {
	local root=$1
	shift
	in_chroot "$root" apt-get -q -o Acquire::Check-Valid-Until=false update &&
		in_chroot "$root" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends "$@" &&
		in_chroot "$root" apt-get clean
}

# package_version [ADMINDIR] PACKAGE: the upstream version of an installed
# Debian package (no epoch, no Debian revision), from the dpkg database of
# the host or of a tree (ADMINDIR = TREE/var/lib/dpkg).
package_version() {
	local v opts=()
	(($# == 2)) && opts=(--admindir="$1") && shift
	v=$(dpkg-query "${opts[@]}" -W -f='${Version}' "$1" 2>/dev/null) || return 1
	v=${v#*:}
	v=${v%%[-+~]*}
	[[ -n $v ]] && echo "$v"
}

env_main() { # the ENV.sh command line, with env_prepare and env_interpreters
	case ${1:-} in
	version) env_version ;;
	missing) env_missing ;;
	prepare) [[ -n ${2:-} ]] && env_prepare "$2" ;;
	interpreters) [[ -n ${2:-} ]] && env_interpreters "$2" ;;
	slots) env_interpreters /nonexistent 2>/dev/null | cut -f 1 ;;
	*)
		echo "usage: $0 version|missing|prepare DIR|slots|interpreters DIR" >&2
		return 2
		;;
	esac
}
