#!/usr/bin/env bash
# A musl-linked CPython (what Alpine images run): Debian has none, so it is
# built from Debian's CPython source package (bookworm's python3.11, fetched
# with apt-get source through a private apt configuration: the host's apt
# sources stay as they are) with musl-gcc.  The extension modules that need
# no third-party library are built into the interpreter (Modules/Setup.local
# *static*): setup.py would build them with the host's glibc headers on the
# include path, and they would fail.  Nothing third-party (no zlib, ssl,
# ffi, expat, mpdec).
# Run with the musl build of the library (build/musl/libnopyc.so).  About 5
# minutes on 2 cores and 150 MB.  See tests/envs/lib.sh for the commands.
set -u -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # followed by shellcheck -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# its recipe version: a change makes every cached copy be prepared again
env_version() { echo 1; }
SOURCE=python3.11
SUITE=bookworm
LOADER=/lib/ld-musl-x86_64.so.1

env_missing() {
	missing_packages musl-tools:musl-gcc "musl:$LOADER" make:make
}

env_prepare() {
	local dir=$1 work=$1/.build src orig
	local -a apt
	mkdir -p "$work/apt/parts" "$work/apt/lists/partial" "$work/apt/cache/archives/partial" || return 1
	: >"$work/apt/empty.list"
	printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$NOPYC_TEST_MIRROR" "$SUITE" >"$work/apt/parts/src.sources"
	apt=(-q -o "Dir::Etc::SourceList=$work/apt/empty.list" -o "Dir::Etc::SourceParts=$work/apt/parts"
		-o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o APT::Sandbox::User=root)
	apt-get "${apt[@]}" --error-on=any update || return 1
	(cd "$work" && apt-get "${apt[@]}" source --download-only "$SOURCE") || return 1
	orig=$(compgen -G "$work/${SOURCE}_*.orig.tar.*" | head -n 1)
	[[ -n $orig ]] || { env_say "no upstream tarball in $SOURCE's source package"; return 1; }
	env_say "building $(basename "$orig") with musl-gcc"
	mkdir "$work/src" && tar -C "$work/src" --strip-components=1 -xf "$orig" || return 1
	src=$work/src
	orig=${orig##*/} orig=${orig#*_}
	echo "${orig%%.orig.*}" >"$dir/.nopyc-source-version" || return 1
	# configure asks the compiler for its multiarch triplet to name the
	# platform; musl-gcc (gcc's specs) answers the glibc one and configure
	# stops ("internal configure error for the platform triplet").
	printf '#!/bin/sh\ncase " $* " in *" --print-multiarch "*) echo x86_64-linux-musl; exit 0 ;; esac\nexec musl-gcc "$@"\n' \
		>"$work/cc" && chmod 755 "$work/cc" || return 1
	# Every module of Setup.stdlib.in's built-in part but those needing a
	# library (or kernel headers: ossaudiodev) or only testing CPython.
	sed -n '/^\*@MODULE_BUILDTYPE@\*/,/^\*shared\*/s/^@MODULE_[A-Z0-9_]*_TRUE@//p' \
		"$src/Modules/Setup.stdlib.in" |
		grep -Ev '^(_bz2|_lzma|zlib|_gdbm|_crypt|nis|ossaudiodev|_sqlite3|_ssl|_hashlib|_uuid|_tkinter|_scproxy|_decimal|pyexpat|_elementtree|_xxtestfuzz|_test[a-z]*) ' |
		{ echo '*static*'; cat; } >"$src/Modules/Setup.local" || return 1
	(
		cd "$src" &&
			PKG_CONFIG=false ./configure -q --prefix="$dir" \
				--without-ensurepip --disable-test-modules CC="$work/cc" &&
			make -s -j"$(nproc)" &&
			make -s install
	) || return 1
	rm -rf "$work"
	# really musl: the interpreter names musl's loader
	readelf -l "$dir/bin/python3.11" | grep -q "$LOADER" || {
		env_say "$dir/bin/python3.11 is not linked with musl"
		return 1
	}
}

env_interpreters() {
	# the upstream version of the source package, recorded at preparation
	printf 'musl-python3.11\t%s/bin/python3.11\t-\tmusl\tCPython %s musl %s 64\tno\n' \
		"$1" "$(cat "$1/.nopyc-source-version")" "$(package_version musl)"
}

env_main "$@"
