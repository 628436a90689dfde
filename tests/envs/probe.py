# What an interpreter is, as the running process sees it (Python 2.7 and
# later, CPython and PyPy; glibc and musl):
#   IMPLEMENTATION VERSION LIBC LIBC-VERSION BITS
# VERSION is the implementation's own (PyPy's for PyPy); the C library is
# the one loaded in this process: glibc says its version itself
# (confstr _CS_GNU_LIBC_VERSION, or gnu_get_libc_version() through ctypes
# where os.confstr lacks that name, as in 2.7); musl has neither: the
# process's program interpreter (PT_INTERP of /proc/self/exe, the loader
# the kernel started it with) is musl's when its name is ld-musl-*, and is
# run and asked (without arguments it prints "Version N").
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


def program_interpreter():
    """The PT_INTERP path of this process's executable, or None."""
    f = open("/proc/self/exe", "rb")
    try:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            return None
        wide = head[4:5] == b"\x02"  # ELFCLASS64
        end = "<" if head[5:6] == b"\x01" else ">"
        if wide:
            phoff, = struct.unpack(end + "Q", head[32:40])
            phentsize, phnum = struct.unpack(end + "HH", head[54:58])
        else:
            phoff, = struct.unpack(end + "I", head[28:32])
            phentsize, phnum = struct.unpack(end + "HH", head[42:46])
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ph = f.read(phentsize)
            if struct.unpack(end + "I", ph[:4])[0] != 3:  # PT_INTERP
                continue
            if wide:
                offset, = struct.unpack(end + "Q", ph[8:16])
                size, = struct.unpack(end + "Q", ph[32:40])
            else:
                offset, = struct.unpack(end + "I", ph[4:8])
                size, = struct.unpack(end + "I", ph[16:20])
            f.seek(offset)
            return f.read(size).rstrip(b"\0").decode("ascii", "replace")
    finally:
        f.close()
    return None


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
    path = program_interpreter()
    if path and os.path.basename(path).startswith("ld-musl-"):
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
