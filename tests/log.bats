#!/usr/bin/env bats
# shellcheck disable=SC2154 # $stderr is set by bats' run
# NOPYC_LOG (issue 6): one complete line per decision on a cache path, for
# real imports, with 8 interpreter processes appending to one file at once;
# the same lines on stderr; one decision = one line whatever a path holds;
# nothing for paths that are not caches; the file held open whatever the
# program does with its descriptors; never SIGXFSZ under ulimit -f.
#
# The reference for "what one process logs" is the same import run alone,
# under the same rules, in a tree whose path differs only in one character:
# after normalising that character, the temp-file digits and the pid, each
# concurrent process's lines must be exactly the reference's, in order.

load helpers

# Debian's python3 (fortified: __open64_2), else pyenv 3.11; NOPYC_TEST_LOG_PY
# (an interpreter path, Python 3) overrides.
setup_file() {
	PY=${NOPYC_TEST_LOG_PY:-}
	[[ -n $PY || ! -x /usr/bin/python3 ]] || PY=/usr/bin/python3
	[[ -n $PY ]] || PY=$(nopyc_find_python '/root/.pyenv/versions/3.11.*/bin/python')
	export PY
}

setup() {
	nopyc_setup
	[[ -n $PY ]] || skip "neither /usr/bin/python3 nor pyenv 3.11 (/root/.pyenv/versions/3.11.*/bin/python) found"
	T=$(realpath "$T")
	TGT=$T/tgt
	# Long package names make long lines (~600 bytes): more room to tear.
	P1=pkg_$(printf 'a%.0s' {1..90})
	P2=pkg_$(printf 'b%.0s' {1..90})
	cat >"$T/imp.py" <<EOF
import os, sys, time
root, ready, go = sys.argv[1:4]
sys.path.insert(0, root)
sys.stdout.write("%d\n" % os.getpid())
sys.stdout.flush()
open(ready, "w").close()
deadline = time.time() + 60
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.002)
for p in ("$P1", "$P2"):
    for m in ("m1", "m2", "m3"):
        __import__(p + "." + m)
        if m == "m2" and os.environ.get("SAY"):
            sys.stderr.write("program: imported %s.%s\n" % (p, m))
            sys.stderr.flush()
EOF
}

# make_mods ROOT: two fresh packages of three modules each.
make_mods() {
	local p m
	for p in "$P1" "$P2"; do
		mkdir -p "$1/$p"
		: >"$1/$p/__init__.py"
		for m in m1 m2 m3; do
			echo "X = '$m'" >"$1/$p/$m.py"
		done
	done
}

# The import script under the shim: run_imp ROOT READY GO [ENV...]
run_imp() {
	local root=$1 ready=$2 go=$3
	shift 3
	env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" "$@" "$PY" "$T/imp.py" "$root" "$ready" "$go"
}

# normalise FILE: the lines with $T, the tree letter (c0..c9 -> cX), the
# temp-file digits and the pid made uniform.
normalise() {
	local s
	s=$(<"$1")
	s=${s//"$T"/@T}
	sed -E 's#@T/(red|den)/c[0-9]#@T/\1/cX#g; s#(\.py[co])\.[0-9]+#\1.N#g; s#^nopyc: pid=[0-9]+ #nopyc: pid=P #' <<<"$s"
}

# Every line of FILE is a complete, well-formed log line (a rename or a
# link: one line, its other path as old= or new=).
LINE_RE='^nopyc: pid=[1-9][0-9]* call=[a-z_][a-z0-9_]* path=/[^[:space:][:cntrl:]]* rule=([1-9][0-9]* action=(allow|deny|discard|redirect)(\(refused-target\))?|none action=allow) verdict=(pass|fail|succeed|sink|mapped|overlay)(\(dry-run\))? mapped=(-|/[^[:space:][:cntrl:]]*) result=(ok|E[A-Z0-9]+|errno[0-9]+)( from=(target|discarded|original))?( (old|new)=[^[:space:][:cntrl:]]+)?$'

assert_well_formed() { # FILE
	local bad
	[[ -s $1 ]] || fail "$1 is empty"
	[[ $(tail -c 1 "$1" | od -An -c | tr -d ' ') == '\n' ]] || fail "$1 does not end with a newline"
	bad=$(LC_ALL=C grep -nvE "$LINE_RE" "$1" | head -5)
	[[ -z $bad ]] || fail "malformed or torn log lines in $1:"$'\n'"$bad"
}

# Every path= and mapped= of FILE is a cache path: a __pycache__ component,
# or a last component ending in .pyc/.pyo (optionally .DIGITS).
assert_only_cache_paths() { # FILE
	local bad
	bad=$(LC_ALL=C awk '{
		for (i = 1; i <= NF; i++) {
			if ($i !~ /^(path|mapped)=/ || $i == "mapped=-") continue
			p = substr($i, index($i, "=") + 1)
			if (p ~ /\/__pycache__(\/|$)/ || p ~ /\.py[co](\.[0-9]+)?$/) continue
			print; break
		}
	}' "$1" | head -5)
	[[ -z $bad ]] || fail "logged a path that is not a cache path:"$'\n'"$bad"
	run grep -cE '\.py( |$)' "$1"
	assert_output 0
}

@test "NOPYC_LOG=FILE, 8 concurrent interpreters under redirect and deny: whole lines, each process's lines exactly what it logs alone, only cache paths" {
	local rules="redirect $T/red/** $TGT; deny **" kind i pid n total=0
	# references: the same import, alone
	for kind in red den; do
		make_mods "$T/$kind/c0"
		touch "$T/go"
		run run_imp "$T/$kind/c0" "$T/ready-ref" "$T/go" NOPYC_RULES="$rules" NOPYC_LOG="$T/ref-$kind.log"
		assert_success
		assert_well_formed "$T/ref-$kind.log"
		normalise "$T/ref-$kind.log" >"$T/want-$kind"
		rm "$T/go"
	done
	# the references hold the decisions one expects
	assert_file_contains "$T/ref-red.log" "call=mkdir path=$T/red/c0/$P1/__pycache__ rule=1 action=redirect verdict=mapped mapped=$TGT$T/red/c0/$P1/__pycache__ result=ok"
	assert_file_contains "$T/ref-red.log" "call=rename path=$T/red/c0/$P2/__pycache__/m3\\..*\\.pyc rule=1 action=redirect verdict=mapped"
	assert_file_contains "$T/ref-den.log" "call=mkdir path=$T/den/c0/$P2/__pycache__ rule=2 action=deny verdict=fail mapped=- result=EROFS"
	# one open of each module's pyc at least
	run grep -c "/__pycache__/m[123]\.[^ ]*\.pyc rule=1 action=redirect verdict=overlay" "$T/ref-red.log"
	((output >= 6)) || fail "expected an overlay read of each of the 6 modules: $output"

	# 8 at once: c1..c4 redirected, c5..c8 denied, all into one log file
	local -a pids=()
	for i in 1 2 3 4 5 6 7 8; do
		kind=red
		((i > 4)) && kind=den
		make_mods "$T/$kind/c$i"
		run_imp "$T/$kind/c$i" "$T/ready$i" "$T/go" NOPYC_RULES="$rules" NOPYC_LOG="$T/all.log" \
			>"$T/out$i" 2>"$T/err$i" &
		pids+=($!)
	done
	# a barrier, so the imports overlap (correctness never depends on it)
	for ((n = 0; n < 3000; n++)); do
		[[ $(compgen -G "$T/ready[1-8]" | wc -l) == 8 ]] && break
		sleep 0.01
	done
	touch "$T/go"
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "process $((i + 1)) exited $?: $(<"$T/err$((i + 1))")"
	done

	assert_well_formed "$T/all.log"
	assert_only_cache_paths "$T/all.log"
	assert_only_cache_paths "$T/ref-red.log"
	# the pids in the log are exactly the 8 processes
	local logged want_pids
	logged=$(sed -E 's/^nopyc: pid=([0-9]+) .*/\1/' "$T/all.log" | sort -u)
	want_pids=$(cat "$T"/out[1-8] | sort -u)
	assert_equal "$logged" "$want_pids"
	for i in 1 2 3 4 5 6 7 8; do
		kind=red
		((i > 4)) && kind=den
		pid=$(<"$T/out$i")
		[[ ! -s $T/err$i ]] || fail "process $i stderr: $(<"$T/err$i")"
		grep "^nopyc: pid=$pid " "$T/all.log" >"$T/got$i.log" || true
		n=$(wc -l <"$T/got$i.log")
		total=$((total + n))
		# no decision about another process's tree
		assert_equal "$(grep -oE '/(red|den)/c[0-9]/' "$T/got$i.log" | sort -u)" "/$kind/c$i/"
		normalise "$T/got$i.log" >"$T/norm$i"
		if ! cmp -s "$T/want-$kind" "$T/norm$i"; then
			fail "process $i ($kind, pid $pid): $n lines; alone it logs $(wc -l <"$T/want-$kind"):
$(diff "$T/want-$kind" "$T/norm$i" | head -20)"
		fi
	done
	assert_equal "$(wc -l <"$T/all.log")" "$total"
	# and the imports did what the rules say
	assert_file_exist "$TGT$T/red/c3/$P2/__pycache__/m3.$(pyc_tag).pyc"
	assert_no_caches "$T/red"
	assert_no_caches "$T/den"
}

# The running interpreter's cache tag (cpython-311).
pyc_tag() {
	env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" -c 'import sys; print(sys.implementation.cache_tag)'
}

@test "NOPYC_LOG=stderr and NOPYC_LOG=-: the same lines as a log file, whole, between the program's own stderr lines; no file named stderr or -" {
	local rules="redirect $T/red/** $TGT; deny **" dest i=0 logl
	make_mods "$T/red/c0"
	touch "$T/go"
	run_imp "$T/red/c0" "$T/r" "$T/go" NOPYC_RULES="$rules" NOPYC_LOG="$T/ref.log" >/dev/null
	normalise "$T/ref.log" >"$T/want"
	cd "$T"
	for dest in stderr -; do
		i=$((i + 1))
		make_mods "$T/red/c$i"
		run --separate-stderr run_imp "$T/red/c$i" "$T/r" "$T/go" NOPYC_RULES="$rules" NOPYC_LOG="$dest" SAY=1
		assert_success
		# the program's own lines are intact
		assert_equal "$(grep -c '^program: ' <<<"$stderr")" 2
		assert_regex "$stderr" "(^|"$'\n'")program: imported $P1\\.m2"$'\n'
		assert_regex "$stderr" "(^|"$'\n'")program: imported $P2\\.m2("$'\n'"|$)"
		# everything else is log lines: exactly the file's
		grep -v '^program: ' <<<"$stderr" >"$T/stderr$i.log"
		assert_well_formed "$T/stderr$i.log"
		normalise "$T/stderr$i.log" >"$T/norm$i"
		cmp -s "$T/want" "$T/norm$i" ||
			fail "NOPYC_LOG=$dest differs from the log file: $(diff "$T/want" "$T/norm$i" | head -10)"
		logl=$(grep -c . "$T/stderr$i.log")
		((logl > 20)) || fail "only $logl lines logged on stderr"
		assert_not_exist "$T/stderr"
		assert_not_exist "$T/-"
	done
}

@test "NOPYC_LOG: a newline, a tab, a blank or a backslash in a path is escaped: one decision is one line of fields, as with a plain name" {
	local rules="redirect $T/** $TGT; deny **" d
	# the odd names, and plain ones of the same length
	for d in $'n\nl' $'t\tb' 'b\s' 's p' n_l t_b b_s s_p; do
		mkdir -p "$T/$d/pk"
		: >"$T/$d/pk/__init__.py"
		echo "X = 1" >"$T/$d/pk/mod.py"
	done
	imp_dirs() { # LOG DIR...
		local log=$1
		shift
		env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" NOPYC_RULES="$rules" NOPYC_LOG="$log" \
			"$PY" -c '
import sys, importlib
for d in sys.argv[1:]:
    sys.path.insert(0, d)
    importlib.import_module("pk.mod")
    for m in ("pk.mod", "pk"):
        del sys.modules[m]
    sys.path.remove(d)
print("ok")' "$@"
	}
	run imp_dirs "$T/odd.log" "$T/"$'n\nl' "$T/"$'t\tb' "$T/b\\s" "$T/s p"
	assert_success
	assert_output ok
	run imp_dirs "$T/plain.log" "$T/n_l" "$T/t_b" "$T/b_s" "$T/s_p"
	assert_success
	# the caches did land at the byte-exact mapped paths
	assert_file_exist "$TGT$T/"$'n\nl'"/pk/__pycache__/mod.$(pyc_tag).pyc"
	assert_file_exist "$TGT$T/b\\s/pk/__pycache__/mod.$(pyc_tag).pyc"
	assert_well_formed "$T/odd.log"
	assert_file_contains "$T/odd.log" "path=$T/n\\\\x0al/pk/__pycache__/mod\\."
	assert_file_contains "$T/odd.log" "mapped=$TGT$T/t\\\\x09b/pk/__pycache__ "
	assert_file_contains "$T/odd.log" "path=$T/b\\\\x5cs/pk/__pycache__ "
	# a blank too: each field stays one blank-separated word
	assert_file_contains "$T/odd.log" "path=$T/s\\\\x20p/pk/__pycache__ "
	assert_file_exist "$TGT$T/s p/pk/__pycache__/mod.$(pyc_tag).pyc"
	# with the escapes folded back, exactly the plain run's lines
	sed -e 's/\\x0a/_/g; s/\\x09/_/g; s/\\x5c/_/g; s/\\x20/_/g' "$T/odd.log" | normalise /dev/stdin >"$T/odd.norm"
	normalise "$T/plain.log" >"$T/plain.norm"
	cmp -s "$T/plain.norm" "$T/odd.norm" ||
		fail "escaped log differs from the plain-name log: $(diff "$T/plain.norm" "$T/odd.norm" | head -10)"
	grep -q 'pk/__pycache__' "$T/plain.log" || fail "the plain run logged nothing for pk"
}

@test "NOPYC_LOG: programs that touch only non-cache paths log nothing (the file is never created); one cache call, one line" {
	mkdir "$T/d"
	cd "$T/d"
	run env LD_PRELOAD="$NOPYC_LIB" NOPYC_RULES='deny **' NOPYC_LOG="$T/log" sh -c '
		mkdir sub && touch sub/a.py sub/x.txt pycache.txt a.pyc.txt __pycache__x &&
		cat sub/a.py && ls -la sub >/dev/null && mv sub/a.py sub/b.py && rm sub/x.txt &&
		cp sub/b.py sub/c.py && chmod 600 sub/c.py && ln -s b.py sub/l.py && readlink sub/l.py'
	assert_success
	assert_output b.py
	assert_not_exist "$T/log"
	run env LD_PRELOAD="$NOPYC_LIB" NOPYC_RULES='deny **' NOPYC_LOG="$T/log" mkdir "$T/d/sub/__pycache__"
	assert_failure
	assert_output --partial "Read-only file system"
	run cat "$T/log"
	assert_output --regexp "^nopyc: pid=[0-9]+ call=mkdir path=$T/d/sub/__pycache__ rule=1 action=deny verdict=fail mapped=- result=EROFS\$"
}

@test "NOPYC_LOG naming a file that is itself a cache path: the program runs as without it and the line is written" {
	mkdir -p "$T/logs/__pycache__"
	run env LD_PRELOAD="$NOPYC_LIB" NOPYC_RULES='deny **' NOPYC_LOG="$T/logs/__pycache__/nopyc.log" \
		mkdir "$T/x.pyc"
	# without the shim's log this is: mkdir fails with EROFS, exit status 1
	assert_equal "$status" 1
	assert_output --partial "Read-only file system"
	assert_file_contains "$T/logs/__pycache__/nopyc.log" "call=mkdir path=$T/x.pyc rule=1 action=deny verdict=fail"
}

# The log file is opened once per process and held (a process that drops
# privileges keeps it): a program that closes every descriptor, or puts
# another file on the log's number, must neither lose lines nor get ours.
@test "NOPYC_LOG=FILE is held open on a number above 2: a program that dup2s another file over it or closes every descriptor keeps logging, its file gets no line, a closed stdin is where it expects it" {
	local m
	mkdir -p "$T/app"
	for m in a b c; do echo "X = '$m'" >"$T/app/$m.py"; done
	run --separate-stderr env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" \
		NOPYC_RULES='deny **' NOPYC_LOG="$T/held.log" "$PY" -c '
import os, sys; sys.path.insert(0, sys.argv[1])
import a
held = [int(fd) for fd in os.listdir("/proc/self/fd")
        if os.path.realpath("/proc/self/fd/" + fd) == sys.argv[2]]
print("held", len(held), min(held) > 2)
other = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.dup2(other, held[0])
import b
os.closerange(3, 65536)
import c
print(a.X, b.X, c.X)' "$T/app" "$T/held.log" "$T/other.txt"
	assert_success
	assert_output "held 1 True
a b c"
	for m in a b c; do
		grep -q " path=$T/app/__pycache__/$m\.[^ ]*\.pyc .* result=ENOENT from=original$" "$T/held.log" ||
			fail "no line for $m: $(grep "$T/app" "$T/held.log")"
	done
	assert_equal "$(wc -c <"$T/other.txt")" 0
	assert_well_formed "$T/held.log"
	# stdin closed: the log takes no number the program counts on (the
	# lowest free one, 0, as without the library)
	local lowest='import os, json; print(os.open("/dev/null", os.O_RDONLY))'
	run bash -c 'exec 0<&-; exec "$@"' _ env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" "$PY" -c "$lowest"
	assert_success
	assert_output 0
	run bash -c 'exec 0<&-; exec "$@"' _ env "${NOPYC_TEST_PY_ENV_CLEAR[@]}" LD_PRELOAD="$NOPYC_LIB" \
		NOPYC_RULES='deny **' NOPYC_LOG="$T/stdin.log" "$PY" -c "$lowest"
	assert_success
	assert_output 0
	assert_file_contains "$T/stdin.log" "/json/__pycache__/"
}

# The kernel raises SIGXFSZ on a write that starts at the file size limit:
# cat (coreutils) leaves it at its default, death.  Its reads of two pycs are
# logged into a log already at the limit: no line fits, so none is written,
# cat runs as without the library and one line says the log is incomplete.
@test "NOPYC_LOG under ulimit -f, the log at the limit: a C program that does not ignore SIGXFSZ runs on, the log is unchanged, one line says it is incomplete" {
	mkdir -p "$T/__pycache__"
	printf 'one\n' >"$T/__pycache__/a.cpython-311.pyc"
	printf 'two\n' >"$T/__pycache__/b.cpython-311.pyc"
	head -c 8192 /dev/zero | tr '\0' '#' >"$T/full.log"
	run --separate-stderr bash -c 'ulimit -f 8; exec "$@"' _ \
		env LD_PRELOAD="$NOPYC_LIB" NOPYC_RULES='deny **' NOPYC_LOG="$T/full.log" \
		cat "$T/__pycache__/a.cpython-311.pyc" "$T/__pycache__/b.cpython-311.pyc"
	assert_success
	assert_output "one
two"
	assert_equal "$stderr" "nopyc: decision log $T/full.log: EFBIG; log incomplete: not every decision of this process is recorded"
	assert_equal "$(tr -d '#' <"$T/full.log" | wc -c) $(wc -c <"$T/full.log")" "0 8192"
}
