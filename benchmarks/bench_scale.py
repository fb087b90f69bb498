"""Benchmark: how record, replay, the unused-golden scan and prune grow with the store.

For each size (default 1,000, 10,000 and 50,000 goldens) a throw-away project is
built: a parametrized test whose items check 10 samples each, named
``area<NN>/shelf<NNN>/item<NNNNNN>`` (three folder levels), one pickle golden
(protocol 4) per sample, plus three samples of about 10 MB each, and a second
test file of "retired" samples (a tenth of the size) that is deleted after
recording, so that its goldens are unused.  Then, each as a fresh process:

* pytest alone: the same tests without ``--serialcompat`` (the peer: what
  pytest itself costs for that many items);
* record: ``--serialcompat-update`` into an empty store;
* replay: ``--serialcompat`` (every golden byte-identical to the current bytes);
  this run also scans for the unused goldens and reports them;
* gated replay: a second store recorded with the records' dicts in another
  insertion order, so that every golden goes through the safety gate and the
  verdict cache fills (its size on disk is printed: it must stay bounded);
* prune: ``--serialcompat-prune`` (not a terminal: the list is printed, then
  the retired goldens are deleted);
* on the 10,000 store, replay with ``-n 2`` (pytest-xdist) against ``-n 0``,
  in interleaved rounds (``--xdist-rounds``; the machine may be shared, so each
  round runs both, one right after the other): the wall-clock speed-up per round
  and of the best of each, and the CPU seconds of each (controller + workers).
  ``--xdist`` measures only that (the store is recorded once, nothing else runs).

Printed per size: CPU seconds (user + sys) and wall seconds of each run, the
child's peak resident memory, and the growth factors from one size to the next
of (run - pytest alone) per golden: 1.0 is linear, and 10x goldens may cost at
most 11x time (a factor of at most 1.1).  Times are best of ``--repeat``.

    python benchmarks/bench_scale.py [--sizes 1000,10000,50000] [--repeat 1]
    python benchmarks/bench_scale.py --xdist [--sizes 10000] [--xdist-rounds 5]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SIZES = "1000,10000,50000"
PER_ITEM = 10  # samples checked by one test item
BIG_SAMPLES = 3
BIG_BYTES = 10 * 1024 * 1024

MODELS = '''
import os

REVERSED = os.environ.get("BENCH_DICT_ORDER") == "reversed"  # an equal dict, another pickle
BLOCK = bytes(range(256))


def build(n):
    fields = [("id", n), ("sku", "sku-%06d" % n), ("price", n * 0.25), ("tags", ["a", "b", str(n % 7)]),
              ("active", n % 2 == 0), ("dims", (n % 11, n % 13, n % 17))]
    if REVERSED:
        fields.reverse()
    return dict(fields)


def build_big(n):
    return {"id": n, "payload": BLOCK * ({big} // 256)}
'''

TESTS = '''
import pytest

from scaleapp.models import build, build_big


def sample_name(n):
    return "area%02d/shelf%03d/item%06d" % (n % 50, (n // 50) % 200, n)


@pytest.mark.parametrize("item", range({items}))
def test_items(serialcompat, item):
    for n in range(item * {per_item}, (item + 1) * {per_item}):
        serialcompat.check(build(n), sample_name(n), formats=("pickle",), protocols=(4,))


@pytest.mark.parametrize("n", range({big_samples}))
def test_big(serialcompat, n):
    serialcompat.check(build_big(n), "big/%d" % n, formats=("pickle",), protocols=(4,))
'''

RETIRED = '''
import pytest

from scaleapp.models import build


@pytest.mark.parametrize("item", range({items}))
def test_retired(serialcompat, item):
    for n in range(item * {per_item}, (item + 1) * {per_item}):
        serialcompat.check(build(n), "retired/%06d" % n, formats=("pickle",), protocols=(4,))
'''

# Runs pytest in this process and reports its peak resident memory (KiB on Linux).
LAUNCH = '''
import resource
import sys

import pytest

code = pytest.main(sys.argv[1:])
print("PEAK_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, int(code))
'''


def make_project(root: Path, goldens: int) -> None:
    (root / "scaleapp").mkdir(parents=True)
    (root / "scaleapp" / "__init__.py").write_text("")
    (root / "scaleapp" / "models.py").write_text(textwrap.dedent(MODELS.replace("{big}", str(BIG_BYTES))))
    (root / "tests").mkdir()
    (root / "tests" / "test_items.py").write_text(textwrap.dedent(TESTS.format(
        items=goldens // PER_ITEM, per_item=PER_ITEM, big_samples=BIG_SAMPLES)))
    (root / "tests" / "test_retired.py").write_text(textwrap.dedent(RETIRED.format(
        items=max(1, goldens // PER_ITEM // 10), per_item=PER_ITEM)))
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (root / "launch.py").write_text(textwrap.dedent(LAUNCH))


def _child_cpu() -> float:
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(python, root, env, args, repeat=1, expect_ok=True, by_wall=False):
    """Best of ``repeat``: (CPU seconds, wall seconds, peak KiB, output) of one pytest process.

    The CPU time covers the process and its children (xdist workers).  Best is the
    least CPU, or with ``by_wall`` the shortest wall time."""
    best = None
    key = 1 if by_wall else 0
    for _ in range(repeat):
        cpu0, wall0 = _child_cpu(), time.perf_counter()
        proc = subprocess.run([python, "launch.py", "-q"] + args, cwd=str(root),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        cpu, elapsed = _child_cpu() - cpu0, time.perf_counter() - wall0
        out = proc.stdout.decode(errors="replace")
        peak_line = [line for line in out.splitlines() if line.startswith("PEAK_KIB")]
        if not peak_line or (expect_ok and peak_line[-1].split()[2] != "0"):
            sys.stdout.write(out[-3000:])
            raise SystemExit("pytest failed: %s" % " ".join(args))
        peak = int(peak_line[-1].split()[1])
        row = (cpu, elapsed, peak, out)
        if best is None or row[key] < best[key]:
            best = row
    return best


def _cache_size(root: Path):
    """(bytes, entries) of the verdict cache in pytest's cache folder."""
    total, entries = 0, 0
    cache = root / ".pytest_cache" / "v" / "serialcompat"
    for path in cache.rglob("*") if cache.exists() else ():
        if path.is_file():
            total += path.stat().st_size
            try:
                data = json.loads(path.read_text())
            except ValueError:
                continue
            if isinstance(data, dict):
                for space in data.get("spaces", [data]):  # the verdict cache: one per namespace
                    verdicts = space.get("verdicts", space) if isinstance(space, dict) else None
                    entries += len(verdicts) if isinstance(verdicts, dict) else 0
    return total, entries


def xdist_rounds(python, root, env, rounds):
    """Interleaved rounds of replay with ``-n 0`` and ``-n 2``: the best row of each (by wall
    time) and the speed-up (-n 0 wall / -n 2 wall) of every round."""
    nocache = ["-p", "no:cacheprovider"]
    best, speedups = {}, []
    for _ in range(rounds):
        walls = {}
        for workers in ("0", "2"):
            label = "replay -n %s" % workers
            row = run(python, root, env, ["--serialcompat", "-n", workers] + nocache)
            walls[workers] = row[1]
            if label not in best or row[1] < best[label][1]:
                best[label] = row
        speedups.append(walls["0"] / walls["2"])
    return best, speedups


def measure_xdist_only(python, goldens, rounds):
    env = _bench_env()
    with tempfile.TemporaryDirectory(prefix="serialcompat-scale-") as tmp:
        root = Path(tmp)
        make_project(root, goldens)
        (root / "tests" / "test_retired.py").unlink()
        run(python, root, env, ["--serialcompat-update", "-p", "no:cacheprovider"])
        rows = {"pytest alone": run(python, root, env, ["-p", "no:cacheprovider"])}
        best, speedups = xdist_rounds(python, root, env, rounds)
        rows.update(best)
    return rows, speedups


def _bench_env():
    env = dict(os.environ)
    for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "TF_BUILD", "JENKINS_URL",
                 "PYTEST_ADDOPTS"):
        env.pop(name, None)
    # Byte-code caching stays on, as in every real run: without it each process -- and
    # under xdist each worker -- compiles again (and pytest rewrites the asserts of) every
    # plugin module it imports, a second of CPU per process here that no user pays.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONHASHSEED"] = "0"
    return env


def print_xdist(rows, speedups) -> None:
    zero, two = rows["replay -n 0"], rows["replay -n 2"]
    print("  xdist speed-up (wall, -n 0 / -n 2): best %.2fx; per round %s; CPU -n 2 / -n 0: %.2fx"
          % (zero[1] / two[1], " ".join("%.2fx" % r for r in speedups), two[0] / zero[0]))


def measure(python, goldens, repeat, xdist, xdist_rounds_count=3):
    env = _bench_env()
    reversed_env = dict(env, BENCH_DICT_ORDER="reversed")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="serialcompat-scale-") as tmp:
        root = Path(tmp)
        make_project(root, goldens)
        nocache = ["-p", "no:cacheprovider"]
        # the retired goldens first, unmeasured: the measured record then runs the same tests
        # as "pytest alone", into a store that already holds them
        run(python, root, env, ["--serialcompat-update", "tests/test_retired.py"] + nocache)
        (root / "tests" / "test_retired.py").unlink()
        rows["record"] = run(python, root, env, ["--serialcompat-update"] + nocache)
        run(python, root, reversed_env, ["--serialcompat-update", "--serialcompat-dir", "gated"] + nocache)
        stored = sum(1 for _ in (root / "tests" / "__serialcompat__").rglob("*.pickle"))
        rows["pytest alone"] = run(python, root, env, nocache, repeat)
        rows["replay (+ unused scan)"] = run(python, root, env, ["--serialcompat"] + nocache, repeat)
        shutil.rmtree(str(root / ".pytest_cache"), ignore_errors=True)
        rows["gated replay (cold)"] = run(python, root, env, ["--serialcompat", "--serialcompat-dir", "gated"])
        cache = _cache_size(root)
        speedups = None
        if xdist:
            best, speedups = xdist_rounds(python, root, env, xdist_rounds_count)
            rows.update(best)
        rows["prune"] = run(python, root, env, ["--serialcompat-prune"] + nocache)
        left = sum(1 for _ in (root / "tests" / "__serialcompat__").rglob("*.pickle"))
    return rows, stored, left, cache, speedups


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=SIZES)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--xdist", action="store_true",
                        help="only replay -n 0 against -n 2 (default size 10000)")
    parser.add_argument("--xdist-rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.xdist:
        for goldens in [int(s) for s in (args.sizes if args.sizes != SIZES else "10000").split(",")]:
            rows, speedups = measure_xdist_only(args.python, goldens, args.xdist_rounds)
            print("%d goldens, replay with pytest-xdist (%d interleaved rounds):" % (goldens, args.xdist_rounds))
            for label, (cpu, elapsed, peak, _out) in rows.items():
                print("  %-24s cpu %8.2f s  wall %8.2f s  peak %7.1f MiB" % (label, cpu, elapsed, peak / 1024))
            print_xdist(rows, speedups)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for goldens in sizes:
        rows, stored, left, cache, speedups = measure(args.python, goldens, args.repeat,
                                                      goldens == 10000, args.xdist_rounds)
        results.append((goldens, rows))
        print("%d goldens asked for (+%d big of %d MB, +%d retired: %d stored, %d left after prune); "
              "verdict cache %d bytes, %d entries"
              % (goldens, BIG_SAMPLES, BIG_BYTES >> 20, max(1, goldens // PER_ITEM // 10) * PER_ITEM,
                 stored, left, cache[0], cache[1]))
        alone = rows["pytest alone"][0]
        for label, (cpu, elapsed, peak, _out) in rows.items():
            extra = "" if label == "pytest alone" else "   beyond pytest %7.2f s" % (cpu - alone)
            print("  %-24s cpu %8.2f s  wall %8.2f s  peak %7.1f MiB%s" % (label, cpu, elapsed, peak / 1024, extra))
        if speedups:
            print_xdist(rows, speedups)
        sys.stdout.flush()
    if len(results) > 1:
        print("growth per golden from one size to the next ((run - pytest alone) / goldens; 1.0 = linear, "
              "target <= 1.1):")
        for (small, a), (large, b) in zip(results, results[1:]):
            parts = []
            for label in ("record", "replay (+ unused scan)", "gated replay (cold)", "prune"):
                per_small = max(a[label][0] - a["pytest alone"][0], 1e-9) / small
                per_large = max(b[label][0] - b["pytest alone"][0], 1e-9) / large
                parts.append("%s %.2f" % (label, per_large / per_small))
            parts.append("pytest alone %.2f" % ((b["pytest alone"][0] / large) / (a["pytest alone"][0] / small)))
            parts.append("peak memory x%.2f" % (b["replay (+ unused scan)"][2] / a["replay (+ unused scan)"][2]))
            print("  %d -> %d: %s" % (small, large, ", ".join(parts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
