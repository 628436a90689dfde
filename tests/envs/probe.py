# What an interpreter is, as the running process sees it (Python 2.7 and
# later, CPython and PyPy; glibc and musl):
#   IMPLEMENTATION VERSION LIBC LIBC-VERSION BITS
# VERSION is the implementation's own (PyPy's for PyPy); the C library is
# the one loaded in this process: glibc says its version itself
# (confstr _CS_GNU_LIBC_VERSION, or gnu_get_libc_version() through ctypes
# where os.confstr lacks that name, as in 2.7); musl has neither
# such call, so its loader, found mapped in /proc/self/maps, is run and
# asked (it prints "Version N" when run without arguments).
# Then one line "preloaded PATH" per libnopyc* file mapped in the process.
import os
import platform
import struct
import sys


def mapped():
    f = open("/proc/self/maps")
    try:
        return [line.split()[-1] for line in f if "/" in line]
    finally:
        f.close()


def libc():
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):
        found = None
    if found:
        return found
    try:
        import ctypes
        get = ctypes.CDLL(None).gnu_get_libc_version
        get.restype = ctypes.c_char_p
        return "glibc " + get().decode("ascii")
    except (ImportError, OSError, AttributeError):
        pass
    for path in mapped():
        if "/ld-musl-" in path:
            import subprocess
            err = subprocess.Popen([path], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE).communicate()[1]
            for line in err.decode("ascii", "replace").splitlines():
                if line.startswith("Version "):
                    return "musl " + line.split()[1]
            return "musl ?"
    return "unknown ?"


version = getattr(sys, "pypy_version_info", None) or sys.version_info
sys.stdout.write("%s %d.%d.%d %s %d\n" % (
    platform.python_implementation(), version[0], version[1], version[2],
    libc(), struct.calcsize("P") * 8))
for path in sorted(set(mapped())):
    if os.path.basename(path).startswith("libnopyc"):
        sys.stdout.write("preloaded %s\n" % path)
