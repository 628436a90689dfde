"""nopyc prune: remove from a redirect TARGET the caches that no run will use.

    python3 nopyc-prune.py [--dry-run] TARGET...      (run by `nopyc prune`)

A redirect rule maps the cache of /abs/dir/mod.py to
TARGET/abs/dir/__pycache__/mod.TAG[.opt-N].pyc (Python 2 and `compileall -b`:
TARGET/abs/dir/mod.pyc).  PYTHONPYCACHEPREFIX's layout, PREFIX/abs/dir/
mod.TAG.pyc, is understood too.  A cache is removed when its source no longer
exists, or no longer matches it: for a timestamp pyc, the source's mtime and
size recorded in the header (what CPython's import compares); for a
checked-hash pyc (PEP 552), the SipHash of the source keyed with the pyc's
magic number.  An unchecked-hash pyc is kept while its source exists (Python
never compares it).  A CPython temp file (NAME.pyc.DIGITS) older than an hour
is a leftover of a killed writer and goes too.  Then every directory left
empty below TARGET is removed (TARGET itself stays).

Nothing else is touched: files that are not caches, caches this tool cannot
read, symbolic links (never followed: the walk and every removal go through
directory file descriptors, so a TARGET someone else can write cannot steer a
removal outside it).  Prints one line per removed file and a summary; exit
status 0, 1 if something could not be removed, 2 on a usage error or a
directory that is not a TARGET.

A directory is taken for a TARGET only when nothing says otherwise and
something says so, since every cache below it is read as TARGET/abs/path:
given the parent of TARGETs (/run/pycache for /run/pycache/%u), a directory
inside a TARGET, or a source tree, every cache there would look orphaned.
Refused: a directory holding a Python source (a TARGET holds caches only;
the cache beside a source is that source's), and one inside the TARGET of a
rule in force.  Taken: the TARGET of a rule in force (%u: any uid), or a
directory where some cache is the cache of a source that exists (the
absolute-path layout holds), or one where there is nothing to remove.  The
rules in force are what `nopyc --check` prints (the options given before
prune, NOPYC_RULES, NOPYC_CONFIG, else /etc/nopyc.conf), handed over by
`nopyc prune` as --rules-in-force TEXT.
"""
import os
import re
import stat
import struct
import sys
import time

TEMP_AGE = 3600  # seconds before a temp file counts as left behind


def usage(msg):
    sys.stderr.write("nopyc: prune: %s\n" % msg)
    sys.exit(2)


def refuse(lines):
    """Not a TARGET: each line said, nothing removed anywhere, exit 2."""
    for line in lines:
        sys.stderr.write("nopyc: prune: %s\n" % line)
    sys.exit(2)


# ---- source hashes (CPython's _imp.source_hash) ---------------------------

MASK = 0xFFFFFFFFFFFFFFFF


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & MASK


def siphash(k0, k1, data, c_rounds, d_rounds):
    """SipHash-c-d of data with the 128-bit key (k0, k1), as 8 little-endian
    bytes.  CPython's _Py_KeyedHash is SipHash-2-4 up to 3.10 (PyPy too) and
    SipHash-1-3 from 3.11, with k0 = the pyc's magic number read as a
    little-endian integer and k1 = 0 (Python/pyhash.c, Python/import.c)."""
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rounds(n):
        v0, v1, v2, v3 = v
        for _ in range(n):
            v0 = (v0 + v1) & MASK
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & MASK
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & MASK
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & MASK
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)
        v[:] = [v0, v1, v2, v3]

    n = len(data)
    end = n - n % 8
    for i in range(0, end, 8):
        m = struct.unpack_from("<Q", data, i)[0]
        v[3] ^= m
        rounds(c_rounds)
        v[0] ^= m
    b = (n & 0xFF) << 56
    for i, ch in enumerate(bytearray(data[end:])):
        b |= ch << (8 * i)
    v[3] ^= b
    rounds(c_rounds)
    v[0] ^= b
    v[2] ^= 0xFF
    rounds(d_rounds)
    return struct.pack("<Q", v[0] ^ v[1] ^ v[2] ^ v[3])


def hash_matches(magic, source, recorded):
    key = struct.unpack("<I", magic)[0]
    # Either function: which one wrote it depends on the version; a false
    # match of 64 bits is not a concern.
    return recorded in (siphash(key, 0, source, 2, 4), siphash(key, 0, source, 1, 3))


# ---- what a cache file stands for ----------------------------------------------

TAG = re.compile(r"^(cpython-[0-9]+|pypy[0-9]*|[a-z]+-[0-9]+)$")  # sys.implementation.cache_tag


def source_of(rel_dir, name):
    """(source path, kind) for the cache file `name` in TARGET's rel_dir
    ('' or 'abs/dir...'), kind 'pycache', 'legacy' or 'temp'; None if the
    name is not a cache this tool knows."""
    parts = name.split(".")
    in_pycache = rel_dir.split("/")[-1] == "__pycache__"
    if len(parts) >= 3 and parts[-2] in ("pyc", "pyo") and parts[-1].isdigit():
        return None, "temp"
    if parts[-1] not in ("pyc", "pyo") or len(parts) < 2:
        return None, None
    if in_pycache:
        # NAME.TAG[.opt-N].pyc: the source is NAME.py one level up
        stem = parts[:-1]
        if stem and stem[-1].startswith("opt-"):
            stem = stem[:-1]
        if len(stem) < 2:
            return None, None
        src_dir = "/" + rel_dir[: -len("__pycache__")].rstrip("/")
        return os.path.join(src_dir, ".".join(stem[:-1]) + ".py"), "pycache"
    stem = parts[:-1]
    if len(stem) >= 2 and stem[-1].startswith("opt-"):
        stem = stem[:-1]
    if len(stem) >= 2 and TAG.match(stem[-1]):
        # PYTHONPYCACHEPREFIX's layout: PREFIX/abs/dir/NAME.TAG.pyc
        return os.path.join("/" + rel_dir, ".".join(stem[:-1]) + ".py"), "pycache"
    return os.path.join("/" + rel_dir, ".".join(parts[:-1]) + ".py"), "legacy"


def header_layout(magic, kind, name):
    """Bytes of header, and whether it has the PEP 552 flags word, for a
    pyc whose first two bytes are `magic` (CPython's numbering:
    Lib/importlib/_bootstrap_external.py), or None if unknown."""
    number = struct.unpack("<H", magic[:2])[0]
    parts = name.split(".")
    tag = parts[-2] if not parts[-2].startswith("opt-") else parts[-3]
    tag = tag if kind == "pycache" else ""
    if tag.startswith("pypy"):
        # PyPy numbers its own magic; its tags follow the Python version
        digits = tag[4:]
        minor = int(digits[1:]) if digits[:1] == "3" and digits[1:].isdigit() else 0
        return (16, True) if minor >= 7 else (12, False)
    if 3390 <= number < 20000:     # 3.7 and later: flags, then mtime+size or hash
        return 16, True
    if 3190 <= number < 3390:      # 3.3 - 3.6: mtime, size
        return 12, False
    if 3000 <= number < 3190:      # 3.0 - 3.2: mtime
        return 8, False
    if number >= 20000:            # Python 2 (and 1.x): mtime
        return 8, False
    return None


def verdict(dirfd, name, src, kind, st):
    """Why the cache must go ('gone', 'stale', 'temp', 'corrupt'), or None."""
    if kind == "temp":
        return "temp" if time.time() - st.st_mtime > TEMP_AGE else None
    try:
        src_st = os.stat(src)
    except (FileNotFoundError, NotADirectoryError):
        return "gone"
    except OSError:
        return None  # cannot tell: keep it
    if not stat.S_ISREG(src_st.st_mode):
        return "gone"
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dirfd)
    except OSError:
        return None
    try:
        header = os.read(fd, 16)
    finally:
        os.close(fd)
    if len(header) < 4 or header[2:4] != b"\r\n":
        return "corrupt"
    layout = header_layout(header[:4], kind, name)
    if layout is None:
        return None
    size, flagged = layout
    if len(header) < size:
        return "corrupt"
    if flagged:
        flags = struct.unpack_from("<I", header, 4)[0]
        if flags & 1:  # hash-based
            if not flags & 2:
                return None  # unchecked: Python never compares it
            try:
                with open(src, "rb") as f:
                    data = f.read()
            except OSError:
                return None
            return None if hash_matches(header[:4], data, header[8:16]) else "stale"
        mtime, srcsize = struct.unpack_from("<II", header, 8)
    elif size == 12:
        mtime, srcsize = struct.unpack_from("<II", header, 4)
    else:
        mtime, srcsize = struct.unpack_from("<I", header, 4)[0], None
    if int(src_st.st_mtime) & 0xFFFFFFFF != mtime:
        return "stale"
    if srcsize is not None and src_st.st_size & 0xFFFFFFFF != srcsize:
        return "stale"
    return None


REASON = {
    "gone": "its source %s no longer exists",
    "stale": "its source %s has changed since",
    "corrupt": "not a valid cache of %s",
    "temp": "a temp file left by a writer that did not finish",
}


# ---- is it a TARGET? -------------------------------------------------------

SOURCE_SUFFIXES = (".py", ".pyw")
UID = "\0"  # stands for %u while a rule's TARGET is put together


def rule_words(text):
    """The words of a rule as `nopyc --check` prints it (blanks end a word
    unless escaped; escapes kept)."""
    words, word, i = [], "", 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            word += text[i:i + 2]
            i += 2
            continue
        if c in " \t":
            if word:
                words.append(word)
            word = ""
        else:
            word += c
        i += 1
    if word:
        words.append(word)
    return words


def expand_target(t):
    """A rule's TARGET as the library reads it (rules.c, expand.c): ~/ is
    HOME, ${NAME} the variable, \\c the character c, %% a %, %u any uid
    (UID); None when the library would refuse it (an unset variable)."""
    out = ""
    if t == "~" or t.startswith("~/"):
        home = os.environ.get("HOME")
        if not home:
            return None
        out, t = home, t[1:]
    i = 0
    while i < len(t):
        c = t[i]
        if c == "\\" and i + 1 < len(t):
            out += t[i + 1]
            i += 2
        elif t.startswith("${", i):
            end = t.find("}", i)
            value = os.environ.get(t[i + 2:end]) if end > 0 else None
            if not value:
                return None
            out += value
            i = end + 1
        elif t.startswith("%u", i):
            out += UID
            i += 2
        elif t.startswith("%%", i):
            out += "%"
            i += 2
        else:
            out += c
            i += 1
    if not out.startswith("/"):
        return None
    # the directories above the first %u as the kernel resolves them
    cut = out.find(UID)
    head = out if cut < 0 else out[:out.rfind("/", 0, cut) + 1]
    rest = "" if cut < 0 else out[len(head):]
    head = os.path.realpath(head) if os.path.isdir(head) else os.path.normpath(head)
    return os.path.normpath(os.path.join(head, rest)) if rest else head


def rule_targets(in_force):
    """[(rule number, TARGET as written, TARGET as a regex)] of the redirect
    rules in `in_force` (`nopyc --check`'s output: "N redirect PATTERN
    TARGET  # origin"); a rule the library would refuse is left out."""
    found = []
    for line in in_force.splitlines():
        m = re.match(r"^([0-9]+) redirect (.*)$", line)
        if not m:
            continue
        body = m.group(2).split("  # ")[0]
        words = rule_words(body)
        if len(words) != 2:
            continue
        t = expand_target(words[1])
        if t is None:
            continue
        rx = re.escape(t).replace(re.escape(UID), "[0-9]+")
        found.append((m.group(1), words[1], rx))
    return found


def numeric_dirs(target):
    try:
        return sorted((n for n in os.listdir(target) if n.isdigit()), key=int)
    except OSError:
        return []


def looks(target):
    """Walk `target` (no link followed): (first Python source found or None,
    some cache is the cache of a source that exists, something to remove:
    a cache file or an empty directory)."""
    evidence = removable = False
    for dirpath, dirnames, filenames, dirfd in os.fwalk(target, follow_symlinks=False):
        rel_dir = os.path.relpath(dirpath, target)
        rel_dir = "" if rel_dir == "." else rel_dir
        if not dirnames and not filenames and rel_dir:
            removable = True
        for name in filenames:
            if name.endswith(SOURCE_SUFFIXES):
                return os.path.join(dirpath, name), evidence, removable
            src, kind = source_of(rel_dir, name)
            if not kind:
                continue
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            removable = True
            if src and not evidence:
                try:
                    evidence = stat.S_ISREG(os.stat(src).st_mode)
                except OSError:
                    pass
    return None, evidence, removable


def check_target(t, rules):
    """Refuse (exit 2) a directory that is not a redirect TARGET."""
    names = {t, os.path.realpath(t)}
    named = any(re.match(rx + "$", n) for _, _, rx in rules for n in names)
    for number, written, rx in rules if not named else ():
        for n in names:
            m = re.match("(" + rx + ")/", n)
            if m:
                refuse(["%s is inside the redirect TARGET %s (rule %s: redirect ... %s): the"
                        " caches below it are laid out from there: prune %s"
                        % (t, m.group(1), number, written, m.group(1))])
    source, evidence, removable = looks(t)
    if source:
        refuse(["%s is not a redirect TARGET: it holds Python sources (%s), and a TARGET"
                " holds caches only: the caches beside them would be taken for orphans" % (t, source)])
    if named or evidence or not removable:
        return
    lines = ["%s does not look like a redirect TARGET: no rule in force names it, and none"
             " of its caches is the cache of a source that exists (the cache of"
             " /abs/dir/mod.py is TARGET/abs/dir/__pycache__/mod.TAG.pyc)" % t]
    uids = numeric_dirs(t)
    if uids:
        # the parent of per-user TARGETs (a rule's TARGET/%u, typed short)
        which = "directory %s looks" % uids[0] if len(uids) == 1 else \
            "directories %s look" % (", ".join(uids[:5]) + (", ..." if len(uids) > 5 else ""))
        of = ["rule %s (redirect ... %s)" % (number, written) for number, written, rx in rules
              if any(re.match(rx + "$", os.path.join(n, uids[0])) for n in names)]
        lines.append("its %s like the uid of a TARGET ending in %%u%s: prune %s/%%u (or %s/UID)"
                     % (which, ", as in " + of[0] if of else "", t, t))
    else:
        lines.append("if it is a TARGET whose sources are all gone, name it:"
                     " nopyc --redirect %s prune %s (or give the rule it comes from)" % (t, t))
    refuse(lines)


def human(n):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "bytes" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def prune(target, dry_run):
    removed = kept = dirs = freed = errors = 0
    verb = "would remove" if dry_run else "removed"
    empty = {}  # dry run: directories that would be left empty
    for dirpath, dirnames, filenames, dirfd in os.fwalk(target, topdown=False,
                                                         follow_symlinks=False):
        rel_dir = os.path.relpath(dirpath, target)
        rel_dir = "" if rel_dir == "." else rel_dir
        left = 0
        for name in sorted(filenames):
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                continue
            src, kind = source_of(rel_dir, name)
            regular = stat.S_ISREG(st.st_mode)
            why = verdict(dirfd, name, src, kind, st) if kind and regular else None
            if why is None:
                kept += bool(kind and regular)
                left += 1
                continue
            path = os.path.join(dirpath, name)
            if not dry_run:
                try:
                    os.unlink(name, dir_fd=dirfd)
                except OSError as e:
                    sys.stderr.write("nopyc: prune: cannot remove %s: %s\n" % (path, e.strerror))
                    errors += 1
                    left += 1
                    continue
            print("%s %s (%s)" % (verb, path, REASON[why] % src if "%s" in REASON[why] else REASON[why]))
            removed += 1
            freed += st.st_blocks * 512
        for name in sorted(dirnames):
            child = os.path.join(dirpath, name)
            if dry_run:
                if empty.get(child):
                    dirs += 1
                else:
                    left += 1
                continue
            try:
                os.rmdir(name, dir_fd=dirfd)
                dirs += 1
            except OSError:
                left += 1  # not empty, or a symbolic link: stays
        empty[dirpath] = left == 0
    print("nopyc prune: %s: %s %d cache file%s (%s), %d director%s; kept %d cache file%s"
          % (target, verb, removed, "" if removed == 1 else "s", human(freed),
             dirs, "y" if dirs == 1 else "ies", kept, "" if kept == 1 else "s"))
    return errors


def main(argv):
    dry_run = False
    targets = []
    in_force = ""
    if argv[:1] == ["--rules-in-force"] and len(argv) >= 2:
        in_force = argv[1]
        argv = argv[2:]
    args = iter(argv)
    for a in args:
        if a == "--dry-run":
            dry_run = True
        elif a in ("-h", "--help"):
            print("usage: nopyc prune [--dry-run] TARGET...  (see nopyc prune --help)")
            return 0
        elif a == "--":
            targets.extend(args)
        elif a.startswith("-"):
            usage("unknown option %s (usage: nopyc prune [--dry-run] TARGET...)" % a)
        else:
            targets.append(a)
    if not targets:
        usage("no TARGET given (usage: nopyc prune [--dry-run] TARGET...)")
    checked = []
    for t in targets:
        # %u and %% as in a rule's TARGET, so a TARGET can be copied from it
        t = t.replace("%%", "\0").replace("%u", str(os.geteuid())).replace("\0", "%")
        t = os.path.abspath(t)
        if t == "/":
            usage("TARGET / would take every cache on the system for a redirected one")
        st = None
        try:
            st = os.lstat(t)
        except OSError as e:
            usage("%s: %s" % (t, e.strerror))
        if not stat.S_ISDIR(st.st_mode):
            usage("%s is not a directory" % t)
        checked.append(t)
    rules = rule_targets(in_force)
    for t in checked:
        check_target(t, rules)
    errors = 0
    for t in checked:
        errors += prune(t, dry_run)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
