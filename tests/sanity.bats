# Runs last (tests/run puts it there): the suite must leave nothing outside
# $BATS_TEST_TMPDIR.  Tests run Python without the shim, with "allow" rules
# and with a broken configuration (shim off), so a test that imported the
# wrong thing could write caches into an interpreter's own tree, the source
# tree or /tmp.  tests/run touches $NOPYC_TEST_MARKER before the run; here
# we look for cache files written since then.  (Another process writing
# caches at the same time would also show up: the message lists them.)

load helpers

setup() {
	[[ -n ${NOPYC_TEST_MARKER:-} && -f $NOPYC_TEST_MARKER ]] ||
		skip "needs the marker tests/run sets (NOPYC_TEST_MARKER): run through tests/run"
}

CACHE_NAMES=(\( -name __pycache__ -o -name '*.py[co]' -o -name '*.py[co].[0-9]*' \))

# Where a stray write would land: beside the sources an interpreter imports
# (its own tree), the source tree and $HOME (searched in depth), and the top
# of /, /tmp and /var/tmp (a test with an empty variable, or one that lost
# its cwd).  Deep in /tmp other sessions' work would show up, so not there.
# The test environments' interpreters (tests/envs) have their own trees, and
# a chroot its own /root and /tmp.
deep_dirs() {
	local d e envs=()
	for e in "$NOPYC_TEST_ROOT"/tests/envs/*.sh; do
		[[ ${e##*/} == lib.sh ]] || envs+=("${NOPYC_TEST_ENVS:-/var/cache/nopyc-test-envs}/$(basename "$e" .sh)")
	done
	for d in "${PYENV_ROOT:-/root/.pyenv}/versions" /usr/lib/python[23]* \
		/usr/local/lib/python[23]* /usr/lib/pypy* /usr/local/lib/pypy* \
		/usr/share/pyshared "$NOPYC_TEST_ROOT" "$HOME"; do
		[[ -d $d ]] && realpath -- "$d"
	done
	for e in "${envs[@]}"; do
		for d in "$e"/usr/lib/python[23]* "$e"/usr/lib/pypy* "$e"/lib/python[23]* "$e"/root "$e"/tmp; do
			[[ -d $d ]] && realpath -- "$d"
		done
	done | LC_ALL=C sort -u # a merged-/usr chroot's lib is usr/lib
	return 0
}

@test "sanity: the suite wrote no cache file outside its test directories" {
	local -a dirs
	mapfile -t dirs < <(deep_dirs)
	found=$({
		find "${dirs[@]}" -xdev \
			\( -path "$NOPYC_TEST_ROOT/.git" -o -path "$NOPYC_TEST_ROOT/build" \) -prune -o \
			"${CACHE_NAMES[@]}" -newer "$NOPYC_TEST_MARKER" -print
		find / /tmp /var/tmp -maxdepth 2 -xdev "${CACHE_NAMES[@]}" -newer "$NOPYC_TEST_MARKER" -print
	} 2>/dev/null | LC_ALL=C sort -u)
	if [[ -n $found ]]; then
		printf '%s\n' "$found" | head -50 |
			batslib_decorate "cache files written during the run, outside the tests' directories" |
			fail
	fi
}
