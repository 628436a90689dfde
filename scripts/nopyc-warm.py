# nopyc warm: compile every module under the given paths with the running
# interpreter, in parallel.  `nopyc [RULES] warm PATH...` runs it under
# libnopyc.so and the rules, so each cache lands where a later run under the
# same rules reads it (TARGET for a redirected path); it is never run alone.
#
#   PYTHON nopyc-warm.py JOBS PATH...     (JOBS 0: one per CPU)
#
# Runs on Python 2.7 and 3.x.  Each file goes through compileall.compile_file,
# which leaves a cache that is already up to date as it is (it reads it
# through the library: under redirect, TARGET first, then the original).
# Prints one line; exit status 1 if a file did not compile.
import compileall
import os
import sys


def sources(paths):
    """Every *.py file under each path (a file path is taken as it is).
    Symbolic links to directories are not followed (as compileall)."""
    for top in paths:
        if not os.path.isdir(top):
            yield top
            continue
        for d, dirs, files in os.walk(top):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            for f in sorted(files):
                if f.endswith(".py"):
                    yield os.path.join(d, f)


def compile_one(path):
    # quiet=1: only errors are printed
    return bool(compileall.compile_file(path, None, False, None, 1))


def compile_all(files, jobs):
    if jobs > 1 and len(files) > 1:
        try:
            import multiprocessing
            pool = multiprocessing.Pool(min(jobs, len(files)))
        except (ImportError, OSError, NotImplementedError):
            pool = None  # no working semaphores (some sandboxes): one by one
        if pool is not None:
            try:
                chunk = max(1, len(files) // (jobs * 4))
                return pool.map(compile_one, files, chunk)
            finally:
                pool.close()
                pool.join()
    return [compile_one(f) for f in files]


def main():
    jobs = int(sys.argv[1])
    if jobs == 0:
        try:
            import multiprocessing
            jobs = multiprocessing.cpu_count()
        except (ImportError, NotImplementedError):
            jobs = 1
    files = list(sources(sys.argv[2:]))
    results = compile_all(files, jobs)
    failed = results.count(False)
    impl = getattr(sys, "implementation", None)
    tag = getattr(impl, "cache_tag", None) or "python%d.%d" % sys.version_info[:2]
    sys.stdout.write("nopyc warm: %s (%s): %d source file%s, %d failed to compile\n"
                     % (sys.executable, tag, len(files),
                        "" if len(files) == 1 else "s", failed))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
