"""Benchmark: ``pytest --serialcompat`` over 1,000 goldens vs a raw ``pickle.loads`` + ``==`` loop.

Builds a throw-away project (an order model with dataclasses, an enum, a date,
a dict and a frozenset of labels; one parametrized test that checks 250 samples
at every pickle protocol 2-5 = 1,000 goldens), records the goldens twice with
``PYTHONHASHSEED=0``: into the default store, and into a second store while
the model builds its dict in another insertion order (an equal object whose
pickle differs).  Then it times each of these as a fresh process:

* raw loop: ``python raw_loop.py`` -- read every golden file, ``pickle.loads``,
  build the same object afresh, ``==`` (the peer);
* pytest alone: ``python -m pytest`` without ``--serialcompat`` (the test
  bodies run, ``check()`` is a no-op);
* goldens = current bytes: ``pytest --serialcompat`` where every golden is
  byte-identical to the current object's pickle (the usual case for goldens
  of the running interpreter): integrity check, load, compare;
* set order only: the same under another ``PYTHONHASHSEED``, so the frozenset
  pickles in another order (as under tox, which picks a random seed per run):
  no golden matches the fresh bytes, and each is proven to differ only in set
  order (``set_order``), then loaded and compared;
* every golden gated (cold): the second store, so no golden matches the fresh
  bytes for a reason other than set order: each one is analyzed by the
  reference analyzer, gated, loaded through the guarded unpickler,
  structure-checked and compared (``-p no:cacheprovider``);
* every golden gated (warm): the same with pytest's cache provider and a
  verdict cache filled by a previous run (the developer loop).

Printed ratios: total time against the raw loop, and per golden --
(replay - pytest alone) against (raw loop - interpreter start-up).  Target:
at most 3x.  Times are CPU seconds (user + sys) of each child, best of
``--repeat``, so that a busy machine distorts them less than wall time.

    python benchmarks/bench_plugin.py [--goldens 1000] [--repeat 3] [--python PATH]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

MODELS = '''
import dataclasses
import datetime
import enum
import os
from typing import List


class Status(enum.Enum):
    OPEN = "open"
    PAID = "paid"
    SHIPPED = "shipped"


@dataclasses.dataclass
class Customer:
    id: int
    name: str
    email: str


@dataclasses.dataclass
class Line:
    sku: str
    quantity: int
    price_cents: int


@dataclasses.dataclass
class Order:
    id: int
    customer: Customer
    lines: List[Line]
    status: Status
    created: datetime.date
    notes: str = ""
    labels: frozenset = frozenset()
    meta: dict = dataclasses.field(default_factory=dict)


def build(n):
    meta = [("channel", "web"), ("region", "eu-%d" % (n % 4)), ("priority", n % 3)]
    if os.environ.get("BENCH_DICT_ORDER") == "reversed":  # an equal dict, another pickle
        meta.reverse()
    return Order(
        id=n,
        customer=Customer(n % 97, "customer-%d" % (n % 97), "c%d@example.org" % (n % 97)),
        lines=[Line("sku-%d-%d" % (n, i), i + 1, 100 * (i + n % 5)) for i in range(1 + n % 6)],
        status=list(Status)[n % 3],
        created=datetime.date(2020, 1, 1) + datetime.timedelta(days=n),
        notes="order %d" % n,
        labels=frozenset({"priority", "gift", "fragile", "bulk"}),
        meta=dict(meta),
    )
'''

TEST = '''
import pytest

from benchapp.models import build


@pytest.mark.parametrize("n", range({samples}))
def test_order(serialcompat, n):
    serialcompat.check(build(n), "order/%04d" % n, formats=("pickle",))
'''

RAW_LOOP = '''
import os
import pickle
import sys
import time

start = time.perf_counter()
sys.path.insert(0, os.getcwd())
from benchapp.models import build

root = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "tests/__serialcompat__", "order")
count = 0
for folder in sorted(os.listdir(root)):
    n = int(folder)
    for name in sorted(os.listdir(os.path.join(root, folder))):
        if not name.endswith(".pickle"):
            continue
        with open(os.path.join(root, folder, name), "rb") as handle:
            data = handle.read()
        assert pickle.loads(data) == build(n)
        count += 1
print(count, time.perf_counter() - start)
'''

# Runs pytest in-process and adds up the time spent in the plugin's own work: check()
# (record/replay of every golden) and applying the records (what a worker hands over).
MEASURE = '''
import sys
import time

import pytest

import pytest_serialcompat.fixture as fixture
import pytest_serialcompat.session as session
# modules the plugin imports on first use: importing is start-up, not the work per golden
import pytest_serialcompat.reference.analyzer
import pytest_serialcompat.reference.tree
import pytest_serialcompat.diagnosis
import pytest_serialcompat.objdiff

spent = [0.0]


def timed(function):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start
    return wrapper


fixture.run_check = timed(fixture.run_check)
session.SessionState.consume = timed(session.SessionState.consume)
code = pytest.main(["-q"] + sys.argv[1:])
print("SPENT", spent[0], int(code))
'''

STARTUP = "import sys, os; sys.path.insert(0, os.getcwd()); import pickle, benchapp.models"


def make_project(root: Path, samples: int) -> None:
    (root / "benchapp").mkdir()
    (root / "benchapp" / "__init__.py").write_text("")
    (root / "benchapp" / "models.py").write_text(textwrap.dedent(MODELS))
    (root / "tests").mkdir()
    (root / "tests" / "test_orders.py").write_text(textwrap.dedent(TEST.format(samples=samples)))
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (root / "raw_loop.py").write_text(textwrap.dedent(RAW_LOOP))
    (root / "measure.py").write_text(textwrap.dedent(MEASURE))


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(cmd, cwd, env, repeat):
    """Best-of-``repeat`` CPU time (user + sys) of the child process, and its output.

    CPU time rather than wall time: the numbers stay comparable on a busy
    machine, and every step here is single-threaded.
    """
    best = None
    for _ in range(repeat):
        before = _child_cpu()
        proc = subprocess.run(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        elapsed = _child_cpu() - before
        if proc.returncode != 0:
            sys.stdout.write(proc.stdout.decode(errors="replace")[-3000:])
            raise SystemExit("command failed: %s" % " ".join(cmd))
        best = elapsed if best is None else min(best, elapsed)
    return best, proc.stdout.decode(errors="replace")


def _other_seed(python) -> int:
    """A PYTHONHASHSEED under which the order labels pickle differently than under seed 0."""
    code = ("import pickle, sys; sys.stdout.buffer.write("
            "pickle.dumps(frozenset({'priority', 'gift', 'fragile', 'bulk'})))")

    def dumps(seed):
        return subprocess.run([python, "-c", code], env=dict(os.environ, PYTHONHASHSEED=str(seed)),
                              check=True, stdout=subprocess.PIPE).stdout
    reference = dumps(0)
    return next(seed for seed in range(1, 100) if dumps(seed) != reference)


def _replay(python, root, env, extra, repeat) -> float:
    seconds, out = wall([python, "-m", "pytest", "-q", "--serialcompat"] + extra, root, env, repeat)
    last = out.strip().splitlines()[-1]
    if "passed" not in last or "failed" in last or "error" in last:
        sys.stdout.write(out[-2000:])
        raise SystemExit("replay did not pass")
    return seconds


def _inside(python, root, env, extra, repeat) -> float:
    """Wall seconds the plugin itself spends inside one pytest process (best of ``repeat``)."""
    best = None
    for _ in range(repeat):
        _cpu, out = wall([python, "measure.py", "--serialcompat"] + extra, root, env, 1)
        line = [l for l in out.splitlines() if l.startswith("SPENT")][-1]
        _tag, seconds, code = line.split()
        if code != "0":
            sys.stdout.write(out[-2000:])
            raise SystemExit("replay did not pass")
        best = float(seconds) if best is None else min(best, float(seconds))
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goldens", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)

    python = args.python
    highest = int(subprocess.check_output([python, "-c", "import pickle; print(pickle.HIGHEST_PROTOCOL)"]))
    protocols = highest - 1  # 2..highest
    samples = max(1, args.goldens // protocols)
    env = dict(os.environ)
    for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "TF_BUILD", "JENKINS_URL"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTEST_ADDOPTS", None)

    with tempfile.TemporaryDirectory(prefix="serialcompat-bench-") as tmp:
        root = Path(tmp)
        make_project(root, samples)
        nocache = ["-p", "no:cacheprovider"]
        same = dict(env, PYTHONHASHSEED="0")
        other = dict(env, PYTHONHASHSEED=str(_other_seed(python)))
        wall([python, "-m", "pytest", "-q", "--serialcompat-update"] + nocache, root, same, 1)
        goldens = sum(1 for _ in (root / "tests" / "__serialcompat__").rglob("*.pickle"))
        gated_store = ["--serialcompat-dir", "gated-store"]
        wall([python, "-m", "pytest", "-q", "--serialcompat-update"] + nocache + gated_store, root,
             dict(same, BENCH_DICT_ORDER="reversed"), 1)

        raw, raw_out = wall([python, "raw_loop.py"], root, same, args.repeat)
        count, raw_inner = raw_out.split()
        assert int(count) == goldens, (count, goldens)
        startup, _ = wall([python, "-c", STARTUP], root, same, args.repeat)
        plain, _ = wall([python, "-m", "pytest", "-q"] + nocache, root, same, args.repeat)
        replay = _replay(python, root, same, nocache, args.repeat)
        reordered = _replay(python, root, other, nocache, args.repeat)
        gated = _replay(python, root, same, nocache + gated_store, args.repeat)
        wall([python, "-m", "pytest", "-q", "--serialcompat"] + gated_store, root, same, 1)  # fill the cache
        warm = _replay(python, root, same, gated_store, args.repeat)
        # Interleaved rounds (raw loop, then each replay), best of each: a burst of load on
        # a shared machine then hits one round of every measurement, not one measurement.
        scenarios = {
            "goldens = current bytes": (same, nocache),
            "set order only (another hash seed)": (other, nocache),
            "every golden gated (cold)": (same, nocache + gated_store),
            "every golden gated (warm)": (same, gated_store),
        }
        inside = {label: float("inf") for label in scenarios}
        raw_loops = []
        for _ in range(args.repeat):
            raw_loops.append(float(wall([python, "raw_loop.py"], root, same, 1)[1].split()[1]))
            for label, (scenario_env, extra) in scenarios.items():
                inside[label] = min(inside[label], _inside(python, root, scenario_env, extra, 1))

    raw_work = max(raw - startup, 1e-9)
    print("pytest-serialcompat replay benchmark: %d goldens (%d samples x protocols 2-%d), %s"
          % (goldens, samples, highest, python))
    print("CPU seconds (user + sys) of each child process, best of %d:" % args.repeat)
    rows = [
        ("raw loop (pickle.loads + ==), process", raw),
        ("  of which the loop itself (wall)", float(raw_inner)),
        ("interpreter start-up + imports", startup),
        ("pytest without --serialcompat", plain),
        ("--serialcompat, goldens = current bytes", replay),
        ("--serialcompat, set order only", reordered),
        ("--serialcompat, every golden gated (cold)", gated),
        ("--serialcompat, every golden gated (warm)", warm),
    ]
    for label, seconds in rows:
        print("  %-46s %8.3f s" % (label, seconds))
    print("ratios against the raw loop (target <= 3x):")
    for label, seconds in rows[4:]:
        print("  %-46s total %6.2fx   per golden %6.2fx" % (
            label.replace("--serialcompat, ", ""), seconds / raw, (seconds - plain) / raw_work))
    print("  (per golden = (replay - pytest alone) / (raw loop - interpreter start-up))")
    loop = min(raw_loops + [float(raw_inner)])
    print("in-process wall time of the work itself (best of %d): raw loop %.3f s" % (args.repeat, loop))
    for label, seconds in inside.items():
        print("  %-46s %8.3f s  %6.2fx the raw loop" % (label, seconds, seconds / loop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
