"""Benchmark the pure-Python marshal reader and the cross-version .pyc reader.

1. marshal_loads against the C marshal.loads on one large data value
   (ratio = ours / C, lower is better).
2. Reading every .pyc of another interpreter's standard library (compiled
   first with that interpreter's compileall into a temp dir): files per
   second for read_pyc (header + full CodeInfo tree + line tables), and the
   same files through the C marshal.loads when the magic matches ours.

Usage:  python benchmarks/bench_marshal.py [--other 3.13] [--limit N]
"""

import argparse
import importlib.util
import marshal
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from pytest_serialcompat.reference.marshal_codec import marshal_dumps, marshal_loads  # noqa: E402
from pytest_serialcompat.reference.pyc import read_pyc  # noqa: E402


def best_of(func, repeat=3):
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def large_value():
    rows = []
    for i in range(20000):
        rows.append({
            "id": i, "name": "row-%d" % i, "score": i / 7.0, "big": 3 ** (i % 90),
            "tags": ("a", "b", str(i % 13)), "blob": bytes(range(i % 40)), "flags": {i % 5, i % 7},
        })
    return {"rows": rows, "meta": ["x" * 300, 1.5j, None, True, frozenset(range(50))]}


def bench_values():
    value = large_value()
    data = marshal.dumps(value, 4)
    c_time = best_of(lambda: marshal.loads(data))
    ours_time = best_of(lambda: marshal_loads(data), repeat=2)
    print("marshal_loads on %.1f MB: C %.3f s, ours %.3f s, ratio %.1fx" % (
        len(data) / 1e6, c_time, ours_time, ours_time / c_time))
    c_dump = best_of(lambda: marshal.dumps(value, 4))
    ours_dump = best_of(lambda: marshal_dumps(value, 4), repeat=2)
    print("marshal_dumps of the same value: C %.3f s, ours %.3f s, ratio %.1fx" % (
        c_dump, ours_dump, ours_dump / c_dump))


def other_stdlib_pycs(version, workdir, limit):
    """Every .pyc of another interpreter's stdlib (its __pycache__ files, not
    site-packages); compiled with that interpreter's compileall into a temp
    dir when the stdlib has none."""
    exe = shutil.which("python%s" % version)
    if exe is None:
        return None, "python%s not found (set PYENV_VERSION as in CI)" % version
    out = subprocess.run([exe, "-c", "import sys, sysconfig; print(sysconfig.get_paths()['stdlib']);"
                                     "print(sys.implementation.cache_tag)"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip()
    stdlib, tag = out.stdout.split()
    suffix = ".%s.pyc" % tag

    def collect(root):
        found = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in ("site-packages", "test", "tests", "idle_test")]
            if os.path.basename(dirpath) == "__pycache__":
                found.extend(os.path.join(dirpath, n) for n in filenames if n.endswith(suffix))
        return sorted(found)

    files = collect(stdlib)
    if not files:
        copy = os.path.join(workdir, "stdlib")
        shutil.copytree(stdlib, copy, ignore=shutil.ignore_patterns("site-packages", "test", "tests", "__pycache__"))
        subprocess.run([exe, "-m", "compileall", "-q", copy], check=False)
        files = collect(copy)
    if limit:
        files = files[:limit]
    blobs = []
    for name in files:
        with open(name, "rb") as f:
            blobs.append(f.read())
    return blobs, None


def bench_pycs(version, limit):
    with tempfile.TemporaryDirectory() as workdir:
        blobs, problem = other_stdlib_pycs(version, workdir, limit)
    if blobs is None:
        print("pyc reading: skipped (%s)" % problem)
        return
    total = sum(len(b) for b in blobs)
    codes = [0]

    def read_all():
        codes[0] = 0
        for blob in blobs:
            info = read_pyc(blob)
            for code in info.code.walk():
                code.lines
                codes[0] += 1

    elapsed = best_of(read_all, repeat=2)
    print("read_pyc of %d CPython %s stdlib .pyc files (%.1f MB, %d code objects) on %d.%d: "
          "%.2f s, %.0f files/s" % (len(blobs), version, total / 1e6, codes[0],
                                     sys.version_info[0], sys.version_info[1], elapsed, len(blobs) / elapsed))
    if blobs and blobs[0][:4] == importlib.util.MAGIC_NUMBER:
        c_time = best_of(lambda: [marshal.loads(b[16:]) for b in blobs])
        print("  same files through C marshal.loads: %.3f s, ratio %.1fx" % (c_time, elapsed / c_time))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_other = "3.13" if sys.version_info[:2] != (3, 13) else "3.11"
    parser.add_argument("--other", default=default_other, help="interpreter whose stdlib .pyc files to read")
    parser.add_argument("--limit", type=int, default=0, help="at most this many .pyc files (0: all)")
    args = parser.parse_args()
    print("Python %s" % sys.version.split()[0])
    bench_values()
    bench_pycs(args.other, args.limit)


if __name__ == "__main__":
    main()
