# Runs CPython's own test modules with unittest and writes a machine-readable
# record of the outcome (used by tests/cpython-suites.bats):
#
#   python suites.py RECORD MODULE...
#
# RECORD gets:
#   counts run=N failures=N errors=N skipped=N xfail=N xpass=N
#   env preloaded=yes|no dont_write_bytecode=0|1
#   FAIL <test id>        one line per failure, error and unexpected success
#   ERROR <test id>
#   XPASS <test id>
# The usual unittest report goes to stderr (the run's log).  Works on
# Python 3.6 and later.
import os
import sys
import unittest


def preloaded():
    try:
        with open("/proc/self/maps") as f:
            return any("libnopyc" in line for line in f)
    except OSError:
        return False


def main():
    record, names = sys.argv[1], sys.argv[2:]
    env_line = "env preloaded=%s dont_write_bytecode=%d\n" % (
        "yes" if preloaded() else "no", sys.flags.dont_write_bytecode)
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2)
    result = runner.run(suite)
    lines = [
        "counts run=%d failures=%d errors=%d skipped=%d xfail=%d xpass=%d\n" % (
            result.testsRun, len(result.failures), len(result.errors),
            len(result.skipped), len(result.expectedFailures),
            len(result.unexpectedSuccesses)),
        env_line,
    ]
    lines += ["FAIL %s\n" % t.id() for t, _ in result.failures]
    lines += ["ERROR %s\n" % t.id() for t, _ in result.errors]
    lines += ["XPASS %s\n" % t.id() for t in result.unexpectedSuccesses]
    tmp = record + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
    os.rename(tmp, record)
    sys.stdout.flush()
    sys.stderr.flush()
    # Tests leave threads and children behind now and then: do not wait.
    os._exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
