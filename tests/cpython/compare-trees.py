# compare-trees.py BASE SHIM: what two runs wrote into the interpreter's tree
# (the upper layers of their overlays), compared.  Prints one line per
# difference, nothing when they match; exit status 0 either way, 2 on error.
#
# Names, types, modes and file contents must match, except that a pyc may differ
# in its bytes if its header is the same and its code object compares
# equal: marshal output depends on reference counts, so two runs without
# the shim already write different bytes for the same module.
import marshal
import os
import stat
import sys


def walk(root):
    found = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            found[os.path.relpath(p, root)] = p
    return found


def kind(st):
    return stat.S_IFMT(st.st_mode)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def pyc_problem(a, b):
    header = 16 if sys.version_info >= (3, 7) else 12
    if a[:header] != b[:header]:
        return "pyc header differs"
    try:
        ca, cb = marshal.loads(a[header:]), marshal.loads(b[header:])
    except Exception as e:
        return "pyc does not load (%s)" % e
    return None if ca == cb else "pyc code differs"


def main():
    base, shim = walk(sys.argv[1]), walk(sys.argv[2])
    out = []
    for rel in sorted(set(base) | set(shim)):
        if rel not in shim:
            out.append("written only without the shim: %s" % rel)
            continue
        if rel not in base:
            out.append("written only with the shim: %s" % rel)
            continue
        sa, sb = os.lstat(base[rel]), os.lstat(shim[rel])
        if kind(sa) != kind(sb):
            out.append("type differs: %s" % rel)
            continue
        if sa.st_mode != sb.st_mode:
            out.append("mode differs (%o, %o): %s" % (sa.st_mode, sb.st_mode, rel))
        if stat.S_ISDIR(sa.st_mode):
            pass
        elif stat.S_ISLNK(sa.st_mode):
            if os.readlink(base[rel]) != os.readlink(shim[rel]):
                out.append("symlink target differs: %s" % rel)
        elif stat.S_ISCHR(sa.st_mode):  # overlay whiteout: a deletion
            if sa.st_rdev != sb.st_rdev:
                out.append("device differs: %s" % rel)
        elif stat.S_ISREG(sa.st_mode):
            a, b = read(base[rel]), read(shim[rel])
            if a != b:
                problem = (pyc_problem(a, b) if rel.endswith(".pyc")
                           else "content differs")
                if problem:
                    out.append("%s: %s" % (problem, rel))
    for line in out:
        print(line)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print("compare-trees.py: %s" % e, file=sys.stderr)
        sys.exit(2)
