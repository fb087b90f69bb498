"""Recall benchmark of serialcompat-lint on small cases written in the style of real code.

The cases (``benchmarks/recall_cases/``, one small project) reproduce the hazards of issue 20 as
they appear in real projects (executors set up by mixins in another module, unpickling through
``ForkingPickler.loads`` and re-exports, bytes from RPC messages, sockets, pipes, HTTP bodies and
user-named files, durable records written with ``f.write(json.dumps(...))``, multiprocessing
context primitives stored on objects) plus the true positives every version reports.  Each line
that must be reported ends with ``# expect: SCxxx``; any other finding is a false positive.

The cases are linted through the real command line (default rules plus SC111, as the cases'
pyproject.toml selects) by a baseline revision of the linter (default: ``main``, taken from git)
and by the working tree's linter, in the same run; recall and precision are printed per rule.

    python benchmarks/bench_lint_recall.py [--baseline main] [--show]
"""
import argparse
import collections
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_lint_precision import baseline_package, lint  # noqa: E402  (same run, same command line)

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recall_cases")
EXPECT = re.compile(r"#\s*expect:\s*(SC\d{3}(?:\s*,\s*SC\d{3})*)")


def expectations(root):
    """{(relpath, line, code)} of every ``# expect:`` marker under ``root``."""
    wanted = set()
    for directory, _subdirs, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            relpath = os.path.relpath(path, root).replace(os.sep, "/")
            with open(path, encoding="utf-8") as handle:
                for number, text in enumerate(handle, 1):
                    match = EXPECT.search(text)
                    if match:
                        for code in match.group(1).split(","):
                            wanted.add((relpath, number, code.strip()))
    return wanted


def found(findings, root):
    """{(relpath, line, code)} of the findings (paths are relative to the linter's directory)."""
    where = os.path.dirname(root)
    return {(os.path.relpath(os.path.join(where, f["path"]), root).replace(os.sep, "/"), f["line"], f["code"])
            for f in findings}


def score(wanted, got):
    """Per rule: (expected, true positives, false positives)."""
    table = collections.defaultdict(lambda: [0, 0, 0])
    for _path, _line, code in wanted:
        table[code][0] += 1
    for item in got:
        table[item[2]][1 if item in wanted else 2] += 1
    return table


def ratio(part, whole):
    return "%5.0f%%" % (100.0 * part / whole) if whole else "    -"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git revision of the linter to compare with")
    parser.add_argument("--show", action="store_true", help="list the misses and false positives of the working tree's linter")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        corpus = os.path.join(work, "cases")
        shutil.copytree(CASES, corpus)
        wanted = expectations(corpus)
        before = found(lint(corpus, baseline_package(args.baseline, os.path.join(work, "baseline"))), corpus)
        after = found(lint(corpus, None), corpus)
    old, new = score(wanted, before), score(wanted, after)
    print("cases: %s (%d expected findings)" % (os.path.relpath(CASES), len(wanted)))
    print("%-7s %8s | %-26s | %-26s" % ("", "", "%s" % args.baseline, "now"))
    print("%-7s %8s | %5s %5s %7s %7s | %5s %5s %7s %7s" % (
        "rule", "expected", "tp", "fp", "recall", "prec.", "tp", "fp", "recall", "prec."))
    totals = [0, 0, 0, 0, 0]
    for code in sorted(set(old) | set(new)):
        expected, tp0, fp0 = old[code]
        _e, tp1, fp1 = new[code]
        print("%-7s %8d | %5d %5d %7s %7s | %5d %5d %7s %7s" % (
            code, expected, tp0, fp0, ratio(tp0, expected), ratio(tp0, tp0 + fp0),
            tp1, fp1, ratio(tp1, expected), ratio(tp1, tp1 + fp1)))
        for index, value in enumerate((expected, tp0, fp0, tp1, fp1)):
            totals[index] += value
    expected, tp0, fp0, tp1, fp1 = totals
    print("%-7s %8d | %5d %5d %7s %7s | %5d %5d %7s %7s" % (
        "total", expected, tp0, fp0, ratio(tp0, expected), ratio(tp0, tp0 + fp0),
        tp1, fp1, ratio(tp1, expected), ratio(tp1, tp1 + fp1)))
    if args.show:
        for item in sorted(wanted - after):
            print("missed:         %s:%d: %s" % item)
        for item in sorted(after - wanted):
            print("false positive: %s:%d: %s" % item)


if __name__ == "__main__":
    main()
