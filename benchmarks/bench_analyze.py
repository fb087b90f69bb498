"""The safe analyzer vs ``pickletools.dis`` on the pyperformance bm_pickle data, same run.

Both walk every opcode of a pickle without loading it; ``dis`` writes its
listing to an ``io.StringIO``.  For each dataset (DICT, TUPLE, DICT_GROUP,
LIST, MICRO_DICT) pickled at protocols 0-5 this prints the time per call of
``analyze`` (the tree and the verdict), of ``analyze(tree=False)`` (the
verdict only, as the plugin's gate runs it) and of ``pickletools.dis``, and
the ratios dis/analyze (how many times faster the analyzer is), then the
geometric mean and the worst ratio of each protocol.  "verdict" is what
``analyze(tree=False)`` does, which for these small pure-data pickles is the
C-speed path of :mod:`.reference.analyzer_fast`; "walk" is the full Python
analyzer in verdict mode on the same bytes (what ``tree=False`` does for
every other pickle: the peer of that fast path, measured in the same run).  ``pickle.loads`` (C) is
shown for scale.

Usage: python benchmarks/bench_analyze.py [--seconds S] [--protocols 0,1,2,3,4,5] [--callgrind] [--deep]
       [--classes]

``--classes`` times verdict mode on class-bearing pickles shaped like the plugin
benchmark's goldens (dataclasses with an Enum, a date, a frozenset and a dict;
plain classes with back-pointers), with the allow word that names their module
(a golden) and without (the trust analysis of the current object's pickle), by
the analyzer's machine and by the same machine without its fast lanes for class
instances (``_build_machine(lanes=False)``, the peer, measured in the same run).

``--deep`` times the refusal of a million nested ``TUPLE1`` (about 1 MB) at
``PROTO`` 0-5 in verdict mode, against a flat list of the same size (a million
``NONE`` and one ``APPENDS``) measured in the same run: the depth limit is
checked while the graph is built, so the deep stream stops at its 10,002nd level.

``--callgrind`` counts instructions instead of timing (a shared machine cannot
disturb them): the script reruns itself under ``valgrind --tool=callgrind``,
collecting only inside ``exec`` and dumping after each one, so every
measurement (one contender, ``--reps`` calls on one pickle, after ten warm-up
calls) is one dump; the ratios are those of the instruction counts.
"""

import argparse
import glob
import io
import os
import pickle
import pickletools
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bm_pickle_data import WORKLOAD  # noqa: E402

from pytest_serialcompat.reference.analyzer import DEFAULT_LIMITS, MalformedPickle, _run, analyze  # noqa: E402


def run_dis(data):
    pickletools.dis(data, out=io.StringIO())


def run_verdict(data):
    analyze(data, tree=False)


def run_walk(data):
    """The full analyzer in verdict mode (no fast path)."""
    _run(data, (), DEFAULT_LIMITS, False, False)


CONTENDERS = {"analyze": analyze, "verdict": run_verdict, "walk": run_walk, "dis": run_dis,
              "C loads": pickle.loads}
MEASURED = ("analyze", "verdict", "walk", "dis")  # under callgrind


def per_call(func, data, seconds):
    """Best time of one call, from batches sized to take ~10 ms each."""
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            func(data)
        elapsed = time.perf_counter() - start
        if elapsed >= 0.01:
            break
        batch *= 2
    best = elapsed / batch
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(batch):
            func(data)
        best = min(best, (time.perf_counter() - start) / batch)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.2, help="timing per measurement (default 0.2)")
    parser.add_argument("--protocols", default="0,1,2,3,4,5")
    parser.add_argument("--callgrind", action="store_true", help="count instructions under callgrind")
    parser.add_argument("--reps", type=int, default=5, help="calls per callgrind measurement (default 5)")
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--deep", action="store_true", help="time the refusal of a million nested tuples")
    parser.add_argument("--classes", action="store_true", help="class-bearing goldens: fast lanes vs none")
    args = parser.parse_args(argv)
    protocols = [int(x) for x in args.protocols.split(",")]
    if args.deep:
        return deep(protocols)
    if args.classes:
        return classes(protocols, args.seconds)
    if args.under_callgrind:
        return measure_in_exec(protocols, args.reps)
    if args.callgrind:
        return callgrind(protocols, args.reps)
    print("Python %s" % sys.version.split()[0])
    print("%-11s %5s %7s %11s %11s %11s %11s %11s %9s %9s %9s" % (
        "dataset", "proto", "bytes", "analyze us", "verdict us", "walk us", "dis us", "C loads us", "dis/anlz",
        "dis/verd", "dis/walk"))
    ratios = {"analyze": {}, "verdict": {}, "walk": {}}
    for name, obj in WORKLOAD:
        for protocol in protocols:
            data = pickle.dumps(obj, protocol)
            result = analyze(data)
            assert result.safe, (name, protocol, result.unsafe)
            # Interleaved rounds, best of each: a burst of load on a shared machine then
            # hits one round of every contender, not all rounds of one.
            t = {label: float("inf") for label in CONTENDERS}
            for _ in range(3):
                for label, func in CONTENDERS.items():
                    t[label] = min(t[label], per_call(func, data, args.seconds / 3))
            for label in ratios:
                ratios[label].setdefault(protocol, []).append(t["dis"] / t[label])
            print("%-11s %5d %7d %11.1f %11.1f %11.1f %11.1f %11.1f %8.1fx %8.1fx %8.1fx" % (
                name, protocol, len(data), t["analyze"] * 1e6, t["verdict"] * 1e6, t["walk"] * 1e6,
                t["dis"] * 1e6, t["C loads"] * 1e6, t["dis"] / t["analyze"], t["dis"] / t["verdict"],
                t["dis"] / t["walk"]))
    summary(ratios)


def cpu(func, data):
    """Best CPU time of three calls (an exception is the expected refusal)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        try:
            func(data)
        except MalformedPickle:
            pass
        best = min(best, time.process_time() - start)
    return best


def deep(protocols):
    print("Python %s: analyze(tree=False) of ~1 MB, CPU ms (best of 3)" % sys.version.split()[0])
    print("%5s %16s %12s %8s" % ("proto", "deep (refused)", "flat list", "ratio"))
    for protocol in protocols:
        header = b"\x80" + bytes([protocol])
        nested = header + b")" + b"\x85" * 1_000_000 + b"."
        flat = header + b"](" + b"N" * 1_000_000 + b"e."
        t_deep, t_flat = cpu(run_verdict, nested), cpu(run_verdict, flat)
        print("%5d %16.1f %12.1f %7.2fx" % (protocol, t_deep * 1e3, t_flat * 1e3, t_deep / t_flat))


def classes(protocols, seconds):
    """Verdict mode on class-bearing goldens: the machine with its fast lanes against one without."""
    from bm_classes import WORDS, goldens
    from pytest_serialcompat.reference import analyzer, allowlist

    machines = {"lanes": analyzer._build_machine(), "no lanes": analyzer._build_machine(lanes=False)}
    print("Python %s: verdict mode (tree=False) per golden, us (best of 3 rounds)" % sys.version.split()[0])
    print("%-7s %5s %-8s %10s %10s %8s" % ("values", "proto", "allow", "lanes", "no lanes", "ratio"))
    for name in ("models", "plain"):
        for protocol in protocols:
            streams = goldens(name, protocol)
            for label, words in (("golden", WORDS), ("trust", ())):
                prefixes = allowlist.check_prefixes(words)
                t = {}
                for _ in range(3):
                    for which, machine in machines.items():
                        def run(_, machine=machine):
                            for data in streams:
                                machine(data, prefixes, DEFAULT_LIMITS, False, False)
                        t[which] = min(t.get(which, float("inf")), per_call(run, None, seconds / 3) / len(streams))
                print("%-7s %5d %-8s %10.1f %10.1f %7.2fx" % (name, protocol, label, t["lanes"] * 1e6,
                                                              t["no lanes"] * 1e6, t["no lanes"] / t["lanes"]))


def measure_in_exec(protocols, reps):
    """Under callgrind: each measurement is one ``exec`` (collected, then dumped)."""
    for name, obj in WORKLOAD:
        for protocol in protocols:
            data = pickle.dumps(obj, protocol)
            for label in MEASURED:
                func = CONTENDERS[label]
                for _ in range(10):  # warm-up: the pooled machine, 3.11+'s specialised bytecode
                    func(data)
                exec("for _ in range(%d): func(data)" % reps, {"func": func, "data": data})


def callgrind(protocols, reps):
    """Run :func:`measure_in_exec` under callgrind and print the instruction ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=builtin_exec",
                        "--dump-after=builtin_exec", "--callgrind-out-file=" + out, sys.executable,
                        os.path.abspath(__file__), "--under-callgrind", "--reps", str(reps),
                        "--protocols", ",".join(map(str, protocols))],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dumps = sorted(glob.glob(out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1]))
        # the last dumps are the measurements (imports before them exec too: namedtuple)
        counts = [instructions(path) for path in dumps[-len(MEASURED) * len(WORKLOAD) * len(protocols):]]
    print("Python %s, callgrind instructions per call (%d calls each)" % (sys.version.split()[0], reps))
    print("%-11s %5s %12s %12s %12s %12s %9s %9s %9s" % ("dataset", "proto", "analyze", "verdict", "walk", "dis",
                                                          "dis/anlz", "dis/verd", "dis/walk"))
    ratios = {"analyze": {}, "verdict": {}, "walk": {}}
    it = iter(counts)
    for name, _ in WORKLOAD:
        for protocol in protocols:
            t = {label: next(it) / reps for label in MEASURED}
            for label in ratios:
                ratios[label].setdefault(protocol, []).append(t["dis"] / t[label])
            print("%-11s %5d %12d %12d %12d %12d %8.1fx %8.1fx %8.1fx" % (
                name, protocol, t["analyze"], t["verdict"], t["walk"], t["dis"], t["dis"] / t["analyze"],
                t["dis"] / t["verdict"], t["dis"] / t["walk"]))
    summary(ratios)


def instructions(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise ValueError("no instruction total in %s" % path)


def summary(ratios):
    print("times faster than pickletools.dis, per protocol (geometric mean / worst dataset; target: worst >= 10x):")
    for label in ratios:
        cells = ["p%d %.1f/%.1f" % (p, geomean(r), min(r)) for p, r in sorted(ratios[label].items())]
        every = [x for r in ratios[label].values() for x in r]
        print("  %-8s %s | all %.1f/%.1f" % (label, "  ".join(cells), geomean(every), min(every)))


def geomean(values):
    product = 1.0
    for v in values:
        product *= v
    return product ** (1.0 / len(values))


if __name__ == "__main__":
    main()
