"""Reference pickle vs CPython's pure-Python pickle.py classes and the C pickle, same run.

Workload: the pyperformance ``bm_pickle`` data (DICT, TUPLE, DICT_GROUP, LIST,
MICRO_DICT), pickled at protocols 0-5.  Prints, per protocol, the time per
round for each implementation and the ratios that matter:

* ``ref vs pickle.py``: how many times faster the reference dumps/loads are
  than ``pickle._Pickler``/``pickle._Unpickler`` (target: at least 3x);
* ``ref vs C``: how many times slower than ``_pickle`` (for scale only).

Times are CPU seconds (``time.process_time``), best of interleaved batches.

Usage: python benchmarks/bench_pickle.py [--seconds S] [--protocols 0,1,2,3,4,5]

For instruction counts, which a loaded machine cannot disturb, run one
implementation a fixed number of untimed rounds under callgrind, once with N
rounds and once with 0 (the difference over N is the cost of a round; a fixed
hash seed keeps the dict work, and so the count, the same from run to run):

    PYTHONHASHSEED=0 valgrind --tool=callgrind python benchmarks/bench_pickle.py \\
        --rounds N --impl ref --op loads --protocols 4
"""

import argparse
import io
import os
import pickle
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bm_pickle_data import WORKLOAD  # noqa: E402

from pytest_serialcompat import reference  # noqa: E402


def py_dumps(obj, protocol):
    buf = io.BytesIO()
    pickle._Pickler(buf, protocol).dump(obj)
    return buf.getvalue()


def py_loads(data):
    return pickle._Unpickler(io.BytesIO(data)).load()


DUMPERS = {"ref": reference.dumps, "pickle.py": py_dumps, "C": pickle.dumps}
LOADERS = {"ref": reference.loads, "pickle.py": py_loads, "C": pickle.loads}


def _per_round(func, args_list, seconds):
    """Best of several timed batches: seconds per pass over args_list."""
    best = float("inf")
    deadline = time.process_time() + seconds
    while True:
        start = time.process_time()
        for args in args_list:
            func(*args)
        best = min(best, time.process_time() - start)
        if time.process_time() > deadline:
            return best


def _measure(table, args_list, seconds):
    # Interleave implementations so machine load affects all of them alike.
    times = {name: float("inf") for name in table}
    for _ in range(3):
        for name, func in table.items():
            times[name] = min(times[name], _per_round(func, args_list, seconds / 3))
    return times


def _run_rounds(rounds, impl, op_name, protocols):
    """Two warm-up rounds, then ``rounds`` more: the same work whatever ``rounds``."""
    if op_name == "dumps":
        func, args_list = DUMPERS[impl], [(obj, p) for p in protocols for _, obj in WORKLOAD]
    else:
        func, args_list = LOADERS[impl], [(pickle.dumps(obj, p),) for p in protocols for _, obj in WORKLOAD]
    for _ in range(2 + rounds):
        for args in args_list:
            func(*args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="time budget per implementation")
    parser.add_argument("--protocols", default="0,1,2,3,4,5")
    parser.add_argument("--rounds", type=int, help="untimed rounds of one --impl and --op (for callgrind)")
    parser.add_argument("--impl", choices=sorted(DUMPERS), default="ref")
    parser.add_argument("--op", choices=("dumps", "loads"), default="loads")
    args = parser.parse_args(argv)
    protocols = [int(p) for p in args.protocols.split(",")]
    if args.rounds is not None:
        _run_rounds(args.rounds, args.impl, args.op, protocols)
        return
    print("Python %s, workload: %s" % (sys.version.split()[0], ", ".join(name for name, _ in WORKLOAD)))
    print("%-8s %-6s %12s %12s %12s %14s %10s" % ("protocol", "op", "ref", "pickle.py", "C", "ref vs py", "ref vs C"))
    worst = {"dumps": float("inf"), "loads": float("inf")}
    for protocol in protocols:
        dump_args = [(obj, protocol) for _, obj in WORKLOAD]
        load_args = [(pickle.dumps(obj, protocol),) for _, obj in WORKLOAD]
        for op_name, table, op_args in (("dumps", DUMPERS, dump_args), ("loads", LOADERS, load_args)):
            t = _measure(table, op_args, args.seconds)
            speedup = t["pickle.py"] / t["ref"]
            worst[op_name] = min(worst[op_name], speedup)
            print(
                "%-8d %-6s %10.1fus %10.1fus %10.1fus %13.2fx %9.1fx"
                % (protocol, op_name, t["ref"] * 1e6, t["pickle.py"] * 1e6, t["C"] * 1e6, speedup, t["ref"] / t["C"])
            )
    print(
        "lowest speedup over pickle.py: dumps %.2fx, loads %.2fx (target >= 3x)"
        % (worst["dumps"], worst["loads"])
    )


if __name__ == "__main__":
    main()
