# nopyc warm: compile every module under the given paths with the running
# interpreter, in parallel.  `nopyc [RULES] warm PATH...` runs it under
# libnopyc.so and the rules, so each cache lands where a later run under the
# same rules reads it (TARGET for a redirected path); it is never run alone.
#
#   PYTHON nopyc-warm.py JOBS REPORT PATH...     (JOBS 0: one per CPU)
#
# Runs on Python 2.7 and 3.x.  A file whose cache is up to date, as import
# would judge it (the cache read through the library: under redirect, TARGET
# first, then the original), is left as it is; every other file goes through
# compileall.compile_file.  Prints one line; exit status 1 if a file did not
# compile.  REPORT, a file, gets "started" as soon as this runs, then that
# line and "done": nopyc tells from it that PYTHON ran this script (a
# program that is not a Python leaves no REPORT, whatever its exit status).
import compileall
import os
import struct
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


def cache_of(path):
    try:
        import importlib.util
        return importlib.util.cache_from_source(path)
    except ImportError:  # Python 2: beside the source
        return path + ("c" if __debug__ else "o")


def up_to_date(path):
    """Would import use the cache of `path` as it is?  The checks of
    importlib._bootstrap_external (SourceLoader.get_code): magic number,
    then the source's mtime and size, or for a checked-hash pyc its hash;
    Python 2 and 3.0-3.2: magic and mtime."""
    try:
        st = os.stat(path)
        with open(cache_of(path), "rb") as f:
            head = f.read(16)
    except (IOError, OSError, NotImplementedError, ValueError):
        return False
    mtime = int(st.st_mtime) & 0xFFFFFFFF
    size = st.st_size & 0xFFFFFFFF
    try:
        import importlib.util
        magic = importlib.util.MAGIC_NUMBER
    except (ImportError, AttributeError):
        import imp
        magic = imp.get_magic()
        return len(head) >= 8 and head[:4] == magic and \
            struct.unpack("<I", head[4:8])[0] == mtime
    if head[:4] != magic:
        return False
    if sys.version_info < (3, 7):
        return len(head) >= 12 and struct.unpack("<II", head[4:12]) == (mtime, size)
    if len(head) < 16:
        return False
    flags = struct.unpack("<I", head[4:8])[0]
    if flags & 1:
        if not flags & 2:
            return True  # unchecked hash: import never compares it
        with open(path, "rb") as f:
            return importlib.util.source_hash(f.read()) == head[8:16]
    return struct.unpack("<II", head[8:16]) == (mtime, size)


def compile_one(path):
    """'fresh', 'compiled' or 'failed'."""
    if up_to_date(path):
        return "fresh"
    # quiet=1: only errors are printed; force: compile_file's own check
    # compares the mtime only
    ok = compileall.compile_file(path, None, True, None, 1)
    return "compiled" if ok else "failed"


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
    report = open(sys.argv[2], "w")
    report.write("started\n")
    report.flush()
    if jobs == 0:
        try:
            import multiprocessing
            jobs = multiprocessing.cpu_count()
        except (ImportError, NotImplementedError):
            jobs = 1
    files = list(sources(sys.argv[3:]))
    results = compile_all(files, jobs)
    failed = results.count("failed")
    impl = getattr(sys, "implementation", None)
    tag = getattr(impl, "cache_tag", None) or "python%d.%d" % sys.version_info[:2]
    line = ("nopyc warm: %s (%s): %d source file%s: %d compiled, %d up to date, %d failed"
            % (sys.executable, tag, len(files), "" if len(files) == 1 else "s",
               results.count("compiled"), results.count("fresh"), failed))
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    report.write(line + "\ndone")
    report.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
