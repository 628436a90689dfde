# One configuration message per command, not per process: a pyenv-shim
# style chain (bash exec'ing python, which starts children that start
# Python again) says a bad rule or a refused TARGET once.  A runtime
# message (a full TARGET) is said at most once per process: see
# redirect.bats and faults.bats.

load helpers

setup() {
	nopyc_setup
	PY=
	local p
	for p in /usr/bin/python3 "${PYENV_ROOT:-/root/.pyenv}"/versions/3.*/bin/python; do
		[[ -x $p ]] && { PY=$p; break; }
	done
	[[ -n $PY ]] || skip "no Python 3 found"
	make_tree "$T"
	# the shim: bash, as pyenv's, exec'ing the interpreter; the program
	# runs four more Pythons (two levels deep), each importing the tree
	CHAIN=$BATS_TEST_TMPDIR/python3
	cat >"$CHAIN" <<-EOF
	#!/bin/bash
	unset APPCACHE
	exec env -u PYTHONDONTWRITEBYTECODE "$PY" "\$@"
	EOF
	chmod +x "$CHAIN"
	cat >"$T/tree.py" <<-'EOF'
	import os, subprocess, sys
	depth = int(sys.argv[1])
	exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "main.py")).read())
	if depth:
	    for i in range(2):
	        subprocess.check_call([os.environ["CHAIN"], __file__, str(depth - 1)])
	EOF
	export CHAIN
}

# the expected output: 7 processes, each printing the tree's line
seven() {
	local i
	for i in 1 2 3 4 5 6 7; do echo "$NOPYC_TEST_TREE_OUTPUT"; done
}

@test "said: a bad rule under the raw library: one line for seven processes, nothing written" {
	run --separate-stderr env NOPYC_RULES="allow **; deyn **" LD_PRELOAD="$NOPYC_LIB" "$CHAIN" "$T/tree.py" 2
	assert_success
	assert_output "$(seven)"
	assert_equal "$stderr" 'nopyc: NOPYC_RULES rule 2: unknown action "deyn" (expected allow, deny, discard or redirect)'"$NOPYC_FAILSAFE"
	[[ -z $(find_caches "$T") ]] || fail "caches written: $(find_caches "$T")"
}

@test "said: a TARGET refused in the program's processes, under the nopyc command: one line" {
	# APPCACHE is there for nopyc's check, and unset by the shim (bash)
	mkdir -m 700 "$BATS_TEST_TMPDIR/app"
	# shellcheck disable=SC2016 # the library expands it
	APPCACHE=$BATS_TEST_TMPDIR/app run --separate-stderr \
		"$NOPYC_TEST_ROOT/scripts/nopyc" --rule "redirect $T/** \${APPCACHE}" "$CHAIN" "$T/tree.py" 2
	assert_success
	assert_output "$(seven)"
	# shellcheck disable=SC2016
	assert_equal "$stderr" 'nopyc: redirect TARGET ${APPCACHE} refused: ${APPCACHE} is unset or empty; rule 1 acts as deny'
	[[ -z $(find_caches "$T") ]] || fail "caches written: $(find_caches "$T")"
	[[ -z $(find_caches "$BATS_TEST_TMPDIR/app") ]] || fail "caches in TARGET"
}

@test "said: under the nopyc command the program's environment gains no variable from the library" {
	# with a message said (the mark written in place) and without
	local good bad
	good=$("$NOPYC_TEST_ROOT/scripts/nopyc" --deny "$T/**" "$CHAIN" -c 'import os; print(sorted(os.environ))')
	# shellcheck disable=SC2016
	bad=$(APPCACHE=$BATS_TEST_TMPDIR "$NOPYC_TEST_ROOT/scripts/nopyc" --rule "redirect $T/** \${APPCACHE}" \
		"$CHAIN" -c 'import os; print(sorted(os.environ))' 2>/dev/null)
	assert_equal "$bad" "$good"
}

@test "said: a different message in a descendant is still said" {
	cat >"$T/two.py" <<-'EOF'
	import os, subprocess, sys
	env = dict(os.environ, NOPYC_RULES="deny **; alow **")
	subprocess.check_call([sys.executable, "-c", "print('child')"], env=env)
	EOF
	run --separate-stderr env NOPYC_RULES="deyn **" LD_PRELOAD="$NOPYC_LIB" "$CHAIN" "$T/two.py"
	assert_success
	assert_output child
	assert_equal "$stderr" 'nopyc: NOPYC_RULES rule 1: unknown action "deyn" (expected allow, deny, discard or redirect)'"$NOPYC_FAILSAFE"'
nopyc: NOPYC_RULES rule 2: unknown action "alow" (expected allow, deny, discard or redirect)'"$NOPYC_FAILSAFE"
}
