"""Benchmark serialcompat-lint on the CPython 3.13 standard library (not a timed test).

Lints ``lib/python3.13`` without ``test/`` and ``site-packages/`` through the real command line,
cold (empty cache) and warm (same cache), and compares with single-process ``libcst.parse_module``
over the same files, measured in the same run.  Targets (see the linter issue): cold at most
1.5x the parse time on 2 cores, warm under 2 s, and no SC000/SC001 on any file.

    python benchmarks/bench_lint.py [--stdlib DIR] [--jobs 2]
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

DEFAULT_STDLIB = "/root/.pyenv/versions/3.13.0/lib/python3.13"


def stdlib_files(root):
    files = []
    for directory, dirs, names in os.walk(root):
        relative = os.path.relpath(directory, root)
        if relative.split(os.sep)[0] in ("test", "site-packages"):
            dirs[:] = []
            continue
        dirs.sort()
        files.extend(os.path.join(directory, n) for n in sorted(names) if n.endswith(".py"))
    return files


def parse_time(files):
    import libcst

    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            libcst.parse_module(data)
        except Exception:
            pass
    return time.perf_counter() - start


def lint(files, cache_dir, jobs, workdir):
    command = [sys.executable, "-m", "serialcompat_lint", "--format", "json", "--cache-dir", cache_dir, "--jobs", str(jobs)] + files
    start = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stderr.decode())
        raise SystemExit("linter failed with exit status %d" % done.returncode)
    return elapsed, json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdlib", default=DEFAULT_STDLIB)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    files = stdlib_files(args.stdlib)
    lines = 0
    for path in files:
        with open(path, "rb") as handle:
            lines += handle.read().count(b"\n")
    with tempfile.TemporaryDirectory() as workdir:
        cache_dir = os.path.join(workdir, "cache")
        cold, findings = lint(files, cache_dir, args.jobs, workdir)
        warm, warm_findings = lint(files, cache_dir, args.jobs, workdir)
    parse = parse_time(files)
    codes = collections.Counter(f["code"] for f in findings)
    print("files:            %d" % len(files))
    print("lines:            %d" % lines)
    print("libcst parse:     %.2f s (single process)" % parse)
    print("lint cold:        %.2f s (--jobs %d)  ratio to parse %.2fx  (target <= 1.5x)" % (cold, args.jobs, cold / parse))
    print("lint warm:        %.2f s  (target < 2 s)" % warm)
    print("findings:         %d  %s" % (len(findings), dict(sorted(codes.items()))))
    print("warm == cold:     %s" % (warm_findings == findings))
    unanalysable = [f for f in findings if f["code"] in ("SC000", "SC001")]
    for finding in unanalysable:
        print("  not analysed: %(path)s:%(line)d %(code)s %(message)s" % finding)
    print("internal errors or unanalysable files: %d" % len(unanalysable))


if __name__ == "__main__":
    main()
