"""Precision benchmark of serialcompat-lint on real process/pool code (not a timed test).

Copies CPython 3.13's ``concurrent/`` and ``multiprocessing/`` packages and its
``test/test_concurrent_futures/`` and ``test/_test_multiprocessing.py`` into a temporary project
(same package layout, so cross-module bases and imports resolve as they do in CPython), lints it
with the default rules through the real command line, and prints the findings per rule for a
baseline revision of the linter (default: ``main``, taken from git into a temporary directory),
for the working tree's linter, and for it with ``--strict`` (no evidence required), all measured
in the same run.  Every finding of the baseline on this corpus was read by hand: none is a
hazard (the classes are never pickled, or are pickled through a hook or reducer elsewhere).

    python benchmarks/bench_lint_precision.py [--python python3.13] [--baseline main] [--show]
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = ("concurrent", "multiprocessing", "test/test_concurrent_futures", "test/_test_multiprocessing.py")


def stdlib_of(python):
    out = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
                         stdout=subprocess.PIPE, check=True, universal_newlines=True)
    return out.stdout.strip()


def build_corpus(stdlib, target):
    ignore = shutil.ignore_patterns("__pycache__")
    for relative in CORPUS:
        source = os.path.join(stdlib, *relative.split("/"))
        destination = os.path.join(target, *relative.split("/"))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, destination, ignore=ignore)
        else:
            shutil.copy(source, destination)
    open(os.path.join(target, "test", "__init__.py"), "a").close()
    with open(os.path.join(target, "pyproject.toml"), "w") as handle:
        handle.write('[project]\nname = "corpus"\nrequires-python = ">=3.8"\n')


def baseline_package(revision, target):
    """The linter package at ``revision`` as an importable ``serialcompat_lint`` under ``target``."""
    os.makedirs(target)
    archive = os.path.join(target, "lint.tar")
    with open(archive, "wb") as handle:
        subprocess.run(["git", "-C", REPO, "archive", "--format=tar", revision, "lint"], stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target)
    os.rename(os.path.join(target, "lint"), os.path.join(target, "serialcompat_lint"))
    return target


def lint(corpus, pythonpath, extra=()):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    # Not run from inside the corpus: its packages would shadow the interpreter's own.
    command = [sys.executable, "-m", "serialcompat_lint", "--format", "json", "--no-cache",
               "--config", os.path.join(corpus, "pyproject.toml")] + list(extra) + [corpus]
    done = subprocess.run(command, cwd=os.path.dirname(corpus), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stderr.decode())
        raise SystemExit("linter failed with exit status %d" % done.returncode)
    return json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="python3.13", help="interpreter whose standard library is the corpus")
    parser.add_argument("--baseline", default="main", help="git revision of the linter to compare with")
    parser.add_argument("--show", action="store_true", help="print every finding of the working tree's linter")
    args = parser.parse_args()
    stdlib = stdlib_of(args.python)
    with tempfile.TemporaryDirectory() as work:
        corpus = os.path.join(work, "corpus")
        build_corpus(stdlib, corpus)
        files = sum(1 for _d, _s, names in os.walk(corpus) for n in names if n.endswith(".py"))
        before = lint(corpus, baseline_package(args.baseline, os.path.join(work, "baseline")))
        after = lint(corpus, None)
        strict = lint(corpus, None, ["--strict"])
    old = collections.Counter(f["code"] for f in before)
    new = collections.Counter(f["code"] for f in after)
    without = collections.Counter(f["code"] for f in strict)
    print("corpus: %s (%d files): %s" % (stdlib, files, ", ".join(CORPUS)))
    print("%-7s %8s %8s %12s" % ("rule", args.baseline, "now", "now --strict"))
    for code in sorted(set(old) | set(new) | set(without)):
        print("%-7s %8d %8d %12d" % (code, old[code], new[code], without[code]))
    print("%-7s %8d %8d %12d" % ("total", len(before), len(after), len(strict)))
    print("(--strict: no evidence required; bases, reducers and hooks across modules still honoured)")
    if args.show:
        for finding in after:
            print("%(path)s:%(line)d: %(code)s %(message)s" % finding)


if __name__ == "__main__":
    main()
