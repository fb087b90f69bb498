"""Benchmark: what the safety gate's bounded-cost family costs, against a legitimate golden.

Each hostile golden of issue 21's cost family is built at (or just inside) the
gate's default limits and run through what replay does with a golden it has
never seen: the reference analyzer under the gate's limits (bounds.Bounds, the ini limits),
the verdict, and -- when the verdict is safe -- ``pickle.loads``.  Each case
runs in a fresh child process, which reports its CPU time and peak RSS.

The peer, measured in the same run: a legitimate golden of a realistic object
(a list of records: dicts of ints, strs, floats, tuples) about as big as the
biggest hostile one, through the same steps.  Printed: every case's time and
memory, each as a ratio to the peer, and whether the worst case stays within
the default ``serialcompat_load_timeout`` (the documented budget).

Run: ``python benchmarks/bench_gate_cost.py``.
"""

import argparse
import json
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent('''
    import json, pickle, resource, sys, time
    from pytest_serialcompat.bounds import Bounds
    from pytest_serialcompat.check import safety
    from pytest_serialcompat.reference import opcodes as op
    from pytest_serialcompat.reference.errors import MalformedPickle
    from pytest_serialcompat.renames import Renames

    def u(text):
        raw = text.encode()
        return op.BINUNICODE + len(raw).to_bytes(4, "little") + raw

    def sg(module, name):
        return u(module) + u(name) + op.STACK_GLOBAL

    def p4(*parts):
        return op.PROTO + b"\\x04" + b"".join(parts) + op.STOP

    bounds = Bounds()
    limits = bounds.limits()
    case = sys.argv[1]
    modulus = (1 << 61) - 1
    if case == "peer":
        records = [{"id": i, "name": "item-%d" % i, "price": i * 0.25, "tags": ("a", "b", i % 7),
                    "stock": [i, i + 1, i + 2]} for i in range(SIZE_RECORDS)]
        data = pickle.dumps(records, protocol=4)
    elif case == "empty dicts, max golden size":
        data = op.PROTO + b"\\x04" + op.EMPTY_DICT * (limits.max_bytes - 3) + op.STOP
    elif case == "empty dicts, just inside the object limit":
        data = p4(op.EMPTY_LIST + op.MARK + op.EMPTY_DICT * (limits.max_nodes - 10) + op.APPENDS)
    elif case == "nested TUPLE1, a million deep":
        data = op.PROTO + b"\\x04" + op.NONE + op.TUPLE1 * 1_000_000 + op.STOP
    elif case == "set of 100,000 colliding ints":
        data = p4(op.EMPTY_SET + op.MARK + b"".join(
            op.LONG1 + bytes([12]) + (k * modulus + 7).to_bytes(12, "little", signed=True)
            for k in range(1, 100_001)) + op.ADDITEMS)
    elif case == "Fraction('1e50000000')":
        data = p4(sg("fractions", "Fraction") + u("1e50000000") + op.TUPLE1 + op.REDUCE)
    elif case == "int of 10 MB of digits":
        data = p4(sg("builtins", "int") + u("9" * 10_000_000) + op.TUPLE1 + op.REDUCE)
    elif case == "bytearray(int('...'))":
        data = p4(sg("builtins", "bytearray") + sg("builtins", "int") + u("9" * 18) + op.TUPLE1 + op.REDUCE
                  + op.TUPLE1 + op.REDUCE)
    elif case == "64 MiB of BINBYTES":
        data = p4(op.BINBYTES8 + (limits.max_bytes - 30).to_bytes(8, "little") + b"x" * (limits.max_bytes - 30))
    else:
        raise SystemExit("unknown case %r" % case)
    base = resource.getrusage(resource.RUSAGE_SELF)
    start_rss = base.ru_maxrss
    t0 = time.process_time()
    outcome = "loaded"
    try:
        analysis = safety.analyze(data, ("myapp",), tree=False, limits=limits)
        verdict = safety.decide(analysis, ("myapp",), Renames.from_lines([]))
        if verdict.safe:
            pickle.loads(data)
        else:
            outcome = "refused: " + verdict.refused[0].reason[:70]
    except MalformedPickle as exc:
        outcome = "refused: " + str(exc)[:70]
    seconds = time.process_time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"case": case, "bytes": len(data), "seconds": seconds,
                      "peak_mib": peak / 1024.0, "grown_mib": (peak - start_rss) / 1024.0,
                      "outcome": outcome, "timeout": bounds.load_timeout}))
''')

CASES = (
    "empty dicts, max golden size",
    "empty dicts, just inside the object limit",
    "nested TUPLE1, a million deep",
    "set of 100,000 colliding ints",
    "Fraction('1e50000000')",
    "int of 10 MB of digits",
    "bytearray(int('...'))",
    "64 MiB of BINBYTES",
)


def measure(python: str, case: str, records: int) -> dict:
    code = CHILD.replace("SIZE_RECORDS", str(records))
    out = subprocess.run([python, "-c", code, case], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--records", type=int, default=100_000,
                        help="records in the peer golden (default 100,000: about 10 MB)")
    args = parser.parse_args()
    peer = measure(args.python, "peer", args.records)
    print("peer: a legitimate golden of %d records, %.1f MB: analyzed, verdict, pickle.loads"
          % (args.records, peer["bytes"] / 1e6))
    print("  %.3f s CPU, %.0f MiB peak RSS (%.0f MiB grown)" % (peer["seconds"], peer["peak_mib"], peer["grown_mib"]))
    print()
    print("%-44s %9s %9s %7s %9s %7s  %s" % ("hostile golden (gate defaults)", "bytes", "CPU s", "x peer",
                                            "grown MiB", "x peer", "outcome"))
    rows = [measure(args.python, case, args.records) for case in CASES]
    for row in rows:
        print("%-44s %9d %9.3f %7.2f %9.0f %7.2f  %s" % (
            row["case"], row["bytes"], row["seconds"], row["seconds"] / peer["seconds"], row["grown_mib"],
            row["grown_mib"] / max(peer["grown_mib"], 1.0), row["outcome"]))
    worst = max(rows, key=lambda r: r["seconds"])
    heaviest = max(rows, key=lambda r: r["grown_mib"])
    print()
    print("worst time:   %s: %.3f s = %.2fx the peer; budget serialcompat_load_timeout = %g s: %s"
          % (worst["case"], worst["seconds"], worst["seconds"] / peer["seconds"], worst["timeout"],
             "within" if worst["seconds"] <= worst["timeout"] else "EXCEEDED"))
    print("worst memory: %s: %.0f MiB grown = %.2fx the peer"
          % (heaviest["case"], heaviest["grown_mib"], heaviest["grown_mib"] / max(peer["grown_mib"], 1.0)))


if __name__ == "__main__":
    main()
