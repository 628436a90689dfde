# Many processes, many threads, fork/exec/spawn children, and a library that
# calls us before our constructor ran.  Real interpreters, real files; the
# starts are lined up with a gate (a FIFO every process blocks on, opened once
# all are ready) or a threading.Barrier, never with sleeps, so the tests hold
# however slow the machine is.

load hardening

setup_file() {
	# The early-constructor libraries and their program (tests/early/).
	local d=$BATS_FILE_TMPDIR/early
	mkdir -p "$d"
	cc -std=gnu11 -Wall -Wextra -Werror -O1 -shared -fPIC \
		-o "$d/libnopyc-early.so" "$NOPYC_TEST_ROOT/tests/early/early.c" &&
		cc -std=gnu11 -Wall -Wextra -Werror -O1 -shared -fPIC \
			-o "$d/early.so" "$NOPYC_TEST_ROOT/tests/early/preload.c" \
			-Wl,--no-as-needed -L"$d" -lnopyc-early -Wl,-rpath,"$d" &&
		cc -std=gnu11 -Wall -Wextra -Werror -O1 \
			-o "$d/early-main" "$NOPYC_TEST_ROOT/tests/early/main.c" \
			-Wl,--no-as-needed -L"$d" -lnopyc-early -Wl,-rpath,"$d" ||
		echo "building tests/early failed" >"$d/FAILED"
}

setup() {
	nopyc_setup
	hard_python
	SRC=$T/src
	TGT=$BATS_TEST_TMPDIR/target
	mkdir -p "$SRC"
}

# stampede N WANT: start N interpreters that each import package `pkg` from
# $SRC once all N are ready; wait for them all.  Each prints pkg.TOTAL.
# Fails the test unless every one exits 0 printing WANT.  The gate is a FIFO:
# each process blocks opening it for reading until the test opens it for
# writing (which it does once all N have said they are ready), so no process
# spins while the others start.
stampede() {
	local n=$1 want=$2 i gate=$BATS_TEST_TMPDIR/gate
	local -a pids ready
	mkdir -p "$gate" "$BATS_TEST_TMPDIR/out"
	mkfifo "$gate/go"
	cat >"$BATS_TEST_TMPDIR/driver.py" <<'EOF'
import os, sys
gate, src = sys.argv[1], sys.argv[2]
open(os.path.join(gate, "ready.%d" % os.getpid()), "w").close()
open(os.path.join(gate, "go")).close()
sys.path.insert(0, src)
import pkg
print(pkg.TOTAL)
EOF
	for ((i = 0; i < n; i++)); do
		py_shim "$BATS_TEST_TMPDIR/driver.py" "$gate" "$SRC" \
			>"$BATS_TEST_TMPDIR/out/$i" 2>&1 &
		pids+=($!)
	done
	# Wait (bounded: 120 s) until every process is at the gate, then open it.
	for ((i = 0; i < 2400; i++)); do
		ready=("$gate"/ready.*)
		((${#ready[@]} >= n)) && break
		sleep 0.05
	done
	exec {go}<>"$gate/go"
	local failed=0
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || failed=$((failed + 1))
	done
	exec {go}>&-
	for ((i = 0; i < n; i++)); do
		if [[ $(<"$BATS_TEST_TMPDIR/out/$i") != "$want" ]]; then
			echo "process $i printed: $(<"$BATS_TEST_TMPDIR/out/$i")"
			failed=$((failed + 1))
		fi
	done
	((failed == 0)) || fail "$failed of $n processes failed"
}

@test "concurrency: 32 processes import one fresh 20-module package under one redirect TARGET: all pycs valid, no temp file" {
	make_pkg "$SRC" pkg 20
	export NOPYC_RULES="redirect $SRC/** $TGT; deny **"
	stampede 32 190
	assert_no_caches "$SRC"
	assert_pycs "$TGT" 21
	assert_file_exist "$TGT$SRC/pkg/__pycache__/m19.$PYTAG.pyc"
	# and the next start reads them: nothing in TARGET changes
	local before
	before=$(snapshot "$TGT")
	run py_shim -c "import sys; sys.path.insert(0, '$SRC'); import pkg; print(pkg.TOTAL)"
	assert_success
	assert_output 190
	assert_equal "$(snapshot "$TGT")" "$before"
}

@test "concurrency: 32 processes import one fresh 20-module package under allow ** on an ordinary tree: all pycs valid, no temp file" {
	make_pkg "$SRC" pkg 20
	export NOPYC_RULES="allow **"
	stampede 32 190
	assert_pycs "$SRC" 21
	assert_file_exist "$SRC/pkg/__pycache__/m00.$PYTAG.pyc"
}

@test "concurrency: 1 interpreter, 16 threads import 16 different fresh modules at once under redirect: all succeed, all pycs valid" {
	local i
	for ((i = 0; i < 16; i++)); do
		make_module "$(printf '%s/t%02d.py' "$SRC" "$i")" "$i"
	done
	NOPYC_RULES="redirect $SRC/** $TGT; deny **" run py_shim - "$SRC" <<'EOF'
import importlib, sys, threading
sys.path.insert(0, sys.argv[1])
n = 16
barrier = threading.Barrier(n)
results = [None] * n
def work(i):
    barrier.wait()
    try:
        results[i] = importlib.import_module("t%02d" % i).VALUE
    except BaseException as e:
        results[i] = repr(e)
threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(results)
EOF
	assert_success
	assert_output "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]"
	assert_no_caches "$SRC"
	assert_pycs "$TGT" 16
}

# The driver for the children tests: each way of starting a child imports
# its own fresh module (VALUE differs), and a child started with an empty
# environment says whether libnopyc is mapped in it.
write_children_driver() {
	local m
	for m in viafork viaforkserver viaspawn viasubprocess viaposixspawn viaempty; do
		make_module "$SRC/$m.py" "${#m}"
	done
	cat >"$BATS_TEST_TMPDIR/children.py" <<'EOF'
import importlib, multiprocessing as mp, os, subprocess, sys

def load(name, q):
    q.put(importlib.import_module(name).VALUE)

if __name__ == "__main__":
    src = sys.argv[1]
    sys.path.insert(0, src)
    for method in ("fork", "forkserver", "spawn"):
        ctx = mp.get_context(method)
        q = ctx.Queue()
        p = ctx.Process(target=load, args=("via" + method, q))
        p.start()
        value = q.get()
        p.join()
        print(method, value, p.exitcode)
    env = dict(os.environ, PYTHONPATH=src)
    code = "import %s as m; print(m.VALUE)"
    r = subprocess.run([sys.executable, "-c", code % "viasubprocess"], env=env,
                       stdout=subprocess.PIPE, universal_newlines=True)
    print("subprocess", r.stdout.strip(), r.returncode)
    sys.stdout.flush()
    if hasattr(os, "posix_spawn"):
        pid = os.posix_spawn(sys.executable, [sys.executable, "-c", code % "viaposixspawn"], env)
        print("posix_spawn", os.waitpid(pid, 0)[1])
    else:  # PyPy has none
        print("posix_spawn missing")
    sys.stdout.flush()
    r = subprocess.run([sys.executable, "-c",
                        code % "viaempty" + "; print('libnopyc' in open('/proc/self/maps').read())"],
                       env={}, cwd=src, stdout=subprocess.PIPE, universal_newlines=True)
    print("empty-env", r.stdout.split(), r.returncode)
EOF
}

# children_expect: CHILDREN_OUTPUT, what children.py prints, and
# CHILDREN_VIA, the modules the children that inherit the environment
# import (without posix_spawn where the interpreter has no os.posix_spawn).
children_expect() {
	CHILDREN_VIA=(viafork viaforkserver viaspawn viasubprocess)
	CHILDREN_OUTPUT="fork 7 0
forkserver 13 0
spawn 8 0
subprocess 13 0"
	if [[ $(py_noshim -c 'import os; print(hasattr(os, "posix_spawn"))') == True ]]; then
		CHILDREN_VIA+=(viaposixspawn)
		CHILDREN_OUTPUT+="
13
posix_spawn 0"
	else
		CHILDREN_OUTPUT+="
posix_spawn missing"
	fi
	CHILDREN_OUTPUT+="
empty-env ['8', 'False'] 0"
}

@test "concurrency: fork, forkserver, spawn, subprocess and posix_spawn (where os has it) children get the rules (redirect); an empty-environment child runs without the shim" {
	write_children_driver
	children_expect
	NOPYC_RULES="redirect $SRC/** $TGT; deny **" run py_shim "$BATS_TEST_TMPDIR/children.py" "$SRC"
	assert_success
	assert_output "$CHILDREN_OUTPUT"
	# Every child that inherited the environment wrote its pyc in TARGET...
	local m
	for m in "${CHILDREN_VIA[@]}"; do
		assert_file_exist "$TGT$SRC/__pycache__/$m.$PYTAG.pyc"
	done
	assert_pycs "$TGT" "${#CHILDREN_VIA[@]}"
	# ...and only the one without the shim wrote beside its source.
	assert_equal "$(find_caches "$SRC")" "$SRC/__pycache__
$SRC/__pycache__/viaempty.$PYTAG.pyc"
}

@test "concurrency: under the default deny, fork/forkserver/spawn/subprocess/posix_spawn children write nothing; the empty-environment child writes its own cache" {
	write_children_driver
	children_expect
	run py_shim "$BATS_TEST_TMPDIR/children.py" "$SRC"
	assert_success
	assert_output "$CHILDREN_OUTPUT"
	assert_equal "$(find_caches "$SRC")" "$SRC/__pycache__
$SRC/__pycache__/viaempty.$PYTAG.pyc"
	assert_pycs "$SRC" 1
}

# ---- called before our constructor (tests/early/) ----

early_built() {
	[[ ! -e $BATS_FILE_TMPDIR/early/FAILED ]] || fail "building tests/early failed (see setup_file)"
	EARLY=$BATS_FILE_TMPDIR/early
}

# The order the dynamic loader ran the constructors in (LD_DEBUG=files),
# as a list of base names.
init_order() {
	grep -o 'calling init: .*' <<<"$1" | sed 's|.*/||'
}

@test "early: LD_PRELOAD='early.so libnopyc.so': early's constructor runs first and its deny calls get a read-only mount's errno, nothing created" {
	early_built
	LD_DEBUG=files EARLY_DIR=$T NOPYC_RULES="deny $T/**" \
		LD_PRELOAD="$EARLY/early.so $NOPYC_LIB" run --separate-stderr /bin/echo main-ran
	assert_success
	assert_output main-ran
	# libnopyc-early.so (early.so's DT_NEEDED) is initialised before libnopyc.so
	order=$(init_order "$stderr")
	[[ $order == *libnopyc-early.so*libnopyc.so* ]] || fail "constructor order was: $order"
	run grep '^early:' <<<"$stderr"
	# the __pycache__ was not made: creating in it is ENOENT, as on a
	# read-only mount
	assert_output "early: mkdir __pycache__ EROFS
early: open O_CREAT pyc ENOENT
early: fopen w pyc ENOENT
early: creat py2 pyc EROFS
early: rename into cache ENOENT
early: stat source ok
early: stat64 renamed pyc ENOENT"
	assert_no_caches "$T"
}

@test "early: a program linked with a library whose constructor writes a cache path gets redirect before libnopyc's constructor runs" {
	early_built
	LD_DEBUG=files EARLY_DIR=$T NOPYC_RULES="redirect $T/** $TGT" \
		LD_PRELOAD="$NOPYC_LIB" run --separate-stderr "$EARLY/early-main"
	assert_success
	assert_output "early-main ran"
	order=$(init_order "$stderr")
	[[ $order == *libnopyc-early.so*libnopyc.so* ]] || fail "constructor order was: $order"
	run grep '^early:' <<<"$stderr"
	assert_output "early: mkdir __pycache__ ok
early: open O_CREAT pyc ok
early: fopen w pyc ok
early: creat py2 pyc ok
early: rename into cache ok
early: stat source ok
early: stat64 renamed pyc ok"
	assert_no_caches "$T"
	assert_file_exist "$TGT$T/__pycache__/early.cpython-311.pyc"
	assert_file_exist "$TGT$T/__pycache__/early2.cpython-311.pyc"
	assert_file_exist "$TGT$T/early.pyc"
	assert_file_exist "$TGT$T/__pycache__/renamed.cpython-311.pyc"
}

@test "early: discard before the constructor: calls succeed, nothing is created" {
	early_built
	EARLY_DIR=$T NOPYC_RULES="discard $T/**" \
		LD_PRELOAD="$EARLY/early.so $NOPYC_LIB" run --separate-stderr /bin/echo main-ran
	assert_success
	run grep '^early:' <<<"$stderr"
	assert_output "early: mkdir __pycache__ ok
early: open O_CREAT pyc ok
early: fopen w pyc ok
early: creat py2 pyc ok
early: rename into cache ok
early: stat source ok
early: stat64 renamed pyc ok"
	assert_no_caches "$T"
}
