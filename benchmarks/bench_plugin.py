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
  order (``set_order``): the same graph as pickle sees it, so it passes unloaded;
* set order only (warm): the same with pytest's cache provider, whose verdict
  cache remembers each proof from a previous run under that seed;
* every golden gated (cold): the second store, so no golden matches the fresh
  bytes for a reason other than set order: each one is analyzed by the
  reference analyzer (a protocol 5 golden holding the protocol 4 one's bytes takes
  its analysis), gated, loaded through the guarded unpickler,
  structure-checked and compared (``-p no:cacheprovider``);
* every golden gated (warm): the same with pytest's cache provider and a
  verdict cache filled by a previous run (the developer loop).

A second workload, "plain classes": 1,000 goldens of accounts made of plain classes
without ``__eq__`` (an owner, entries that point back at their account, a branch
that points back too, a dict of settings), the gated store built with every
attribute assigned in another order (the same graph, other bytes).  Its peer is
``pickle.loads`` plus a straightforward recursive comparison of ``vars()`` (with a
set of visited pairs for the back-pointers); the replays measured are "goldens =
current bytes" and "every golden gated" (cold and warm).

Printed ratios: total time against the raw loop, and per golden --
(replay - pytest alone) against (raw loop - interpreter start-up) -- and the
plugin's own work inside one pytest process (every ``check()`` call) against
the raw loop's own loop.  Target: at most 3x (the cold gate: 5x).  Times are
CPU seconds (user + sys of each child; ``time.process_time`` in-process), best
of ``--repeat``, so that a busy machine distorts them less than wall time.

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

# The raw peer: read every golden of one sample family, load it, compare it with a fresh
# build.  {module}, {folder} and {compare} pick the workload; {helpers} define the comparison.
RAW_LOOP = '''
import os
import pickle
import sys
import time

start = time.process_time()
sys.path.insert(0, os.getcwd())
from benchapp.{module} import build
{helpers}

root = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "tests/__serialcompat__", "{folder}")
count = 0
for folder in sorted(os.listdir(root)):
    n = int(folder)
    for name in sorted(os.listdir(os.path.join(root, folder))):
        if not name.endswith(".pickle"):
            continue
        with open(os.path.join(root, folder, name), "rb") as handle:
            data = handle.read()
        assert {compare}
        count += 1
print(count, time.process_time() - start)
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
import pytest_serialcompat.diagnosis.messages
import pytest_serialcompat.diagnosis.values
import pytest_serialcompat.check.graph_compare
import pytest_serialcompat.check.set_order

spent = [0.0]


def timed(function):
    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start
    return wrapper


fixture.run_check = timed(fixture.run_check)
session.SessionState.consume = timed(session.SessionState.consume)
code = pytest.main(["-q"] + sys.argv[1:])
print("SPENT", spent[0], int(code))
'''

PLAIN_MODELS = '''
import os

REVERSED = os.environ.get("BENCH_DICT_ORDER") == "reversed"  # the same graph, other bytes


class Person:
    def __init__(self, n):
        if REVERSED:
            self.name = "person-%d" % (n % 97)
            self.id = n % 97
        else:
            self.id = n % 97
            self.name = "person-%d" % (n % 97)


class Entry:
    def __init__(self, account, index, amount):
        if REVERSED:
            self.memo, self.amount, self.index, self.account = "entry %d" % index, amount, index, account
        else:
            self.account, self.index, self.amount, self.memo = account, index, amount, "entry %d" % index


class Branch:
    def __init__(self, account, city):
        if REVERSED:
            self.city, self.account = city, account
        else:
            self.account, self.city = account, city


class Account:
    def __init__(self, n):
        settings = [("currency", "EUR"), ("limit", 1000 + n), ("alerts", n % 2 == 0)]
        if REVERSED:
            settings.reverse()
            self.settings = dict(settings)
            self.branch = Branch(self, "city-%d" % (n % 7))
            self.entries = [Entry(self, i, 100 * i + n) for i in range(1 + n % 6)]
            self.owner = Person(n)
            self.id = n
        else:
            self.id = n
            self.owner = Person(n)
            self.entries = [Entry(self, i, 100 * i + n) for i in range(1 + n % 6)]
            self.branch = Branch(self, "city-%d" % (n % 7))
            self.settings = dict(settings)


def build(n):
    return Account(n)
'''

PLAIN_TEST = '''
import pytest

from benchapp.plain import build


@pytest.mark.parametrize("n", range({samples}))
def test_account(serialcompat, n):
    serialcompat.check(build(n), "account/%04d" % n, formats=("pickle",))
'''

# The plain-class peer's comparison: recursive, vars() for instances, visited pairs for cycles.
SAME = '''

def same(a, b, seen):
    """The straightforward peer: recursive, vars() for instances, visited pairs for cycles."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, seen) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], seen) for k in a)
    if hasattr(a, "__dict__"):
        if (id(a), id(b)) in seen:
            return True
        seen.add((id(a), id(b)))
        return same(vars(a), vars(b), seen)
    return a == b
'''

STARTUP = "import sys, os; sys.path.insert(0, os.getcwd()); import pickle, benchapp.models"


def make_project(root: Path, samples: int) -> None:
    (root / "benchapp").mkdir()
    (root / "benchapp" / "__init__.py").write_text("")
    (root / "benchapp" / "models.py").write_text(textwrap.dedent(MODELS))
    (root / "tests").mkdir()
    (root / "tests" / "test_orders.py").write_text(textwrap.dedent(TEST.format(samples=samples)))
    (root / "benchapp" / "plain.py").write_text(textwrap.dedent(PLAIN_MODELS))
    (root / "tests" / "test_plain.py").write_text(textwrap.dedent(PLAIN_TEST.format(samples=samples)))
    (root / "raw_plain.py").write_text(textwrap.dedent(RAW_LOOP).format(
        module="plain", folder="account", helpers=SAME, compare="same(pickle.loads(data), build(n), set())"))
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (root / "raw_loop.py").write_text(textwrap.dedent(RAW_LOOP).format(
        module="models", folder="order", helpers="", compare="pickle.loads(data) == build(n)"))
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
    """CPU seconds the plugin itself spends inside one pytest process (best of ``repeat``)."""
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
        orders = ["tests/test_orders.py"]
        nocache = ["-p", "no:cacheprovider"] + orders
        same = dict(env, PYTHONHASHSEED="0")
        other = dict(env, PYTHONHASHSEED=str(_other_seed(python)))
        wall([python, "-m", "pytest", "-q", "--serialcompat-update"] + nocache, root, same, 1)
        goldens = sum(1 for _ in (root / "tests" / "__serialcompat__" / "order").rglob("*.pickle"))
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
        wall([python, "-m", "pytest", "-q", "--serialcompat"] + gated_store + orders, root, same,
             1)  # fill the cache
        warm = _replay(python, root, same, gated_store + orders, args.repeat)
        wall([python, "-m", "pytest", "-q", "--serialcompat"] + orders, root, other,
             1)  # remember the set-order proofs
        reordered_warm = _replay(python, root, other, orders, args.repeat)
        # Interleaved rounds (raw loop, then each replay), best of each: a burst of load on
        # a shared machine then hits one round of every measurement, not one measurement.
        scenarios = {
            "goldens = current bytes": (same, nocache),
            "set order only (another hash seed)": (other, nocache),
            "set order only (warm)": (other, orders),
            "every golden gated (cold)": (same, nocache + gated_store),
            "every golden gated (warm)": (same, gated_store + orders),
        }
        inside = {label: float("inf") for label in scenarios}
        raw_loops = []
        for _ in range(args.repeat):
            raw_loops.append(float(wall([python, "raw_loop.py"], root, same, 1)[1].split()[1]))
            for label, (scenario_env, extra) in scenarios.items():
                inside[label] = min(inside[label], _inside(python, root, scenario_env, extra, 1))
        plain_rows, plain_inside, plain_loop = _plain_workload(python, root, same, gated_store,
                                                               args.repeat)

    raw_work = max(raw - startup, 1e-9)
    print("pytest-serialcompat replay benchmark: %d goldens (%d samples x protocols 2-%d), %s"
          % (goldens, samples, highest, python))
    print("CPU seconds (user + sys) of each child process, best of %d:" % args.repeat)
    rows = [
        ("raw loop (pickle.loads + ==), process", raw),
        ("  of which the loop itself (CPU)", float(raw_inner)),
        ("interpreter start-up + imports", startup),
        ("pytest without --serialcompat", plain),
        ("--serialcompat, goldens = current bytes", replay),
        ("--serialcompat, set order only", reordered),
        ("--serialcompat, set order only (warm)", reordered_warm),
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
    print("in-process CPU time of the work itself (best of %d): raw loop %.3f s" % (args.repeat, loop))
    for label, seconds in inside.items():
        print("  %-46s %8.3f s  %6.2fx the raw loop" % (label, seconds, seconds / loop))
    print()
    print("plain classes without __eq__ (back-pointers), %d goldens; peer: pickle.loads + a "
          "recursive vars() comparison" % goldens)
    raw_plain, plain_alone = plain_rows[0][1], plain_rows[2][1]
    for label, seconds in plain_rows:
        print("  %-46s %8.3f s" % (label, seconds))
    print("ratios against the raw loop (target <= 3x):")
    for label, seconds in plain_rows[3:]:
        print("  %-46s total %6.2fx   per golden %6.2fx" % (
            label.replace("--serialcompat, ", ""), seconds / raw_plain,
            (seconds - plain_alone) / max(raw_plain - startup, 1e-9)))
    print("in-process CPU time of the work itself (best of %d): raw loop %.3f s"
          % (args.repeat, plain_loop))
    for label, seconds in plain_inside.items():
        print("  %-46s %8.3f s  %6.2fx the raw loop" % (label, seconds, seconds / plain_loop))
    return 0


def _plain_workload(python, root, env, gated_store, repeat):
    """The plain-class workload: (rows of CPU seconds, in-process seconds, raw loop seconds)."""
    tests = ["tests/test_plain.py"]
    nocache = ["-p", "no:cacheprovider"] + tests
    wall([python, "-m", "pytest", "-q", "--serialcompat-update"] + nocache, root, env, 1)
    wall([python, "-m", "pytest", "-q", "--serialcompat-update"] + nocache + gated_store, root,
         dict(env, BENCH_DICT_ORDER="reversed"), 1)
    raw, raw_out = wall([python, "raw_plain.py"], root, env, repeat)
    alone, _ = wall([python, "-m", "pytest", "-q"] + nocache, root, env, repeat)
    replay = _replay(python, root, env, nocache, repeat)
    gated = _replay(python, root, env, nocache + gated_store, repeat)
    wall([python, "-m", "pytest", "-q", "--serialcompat"] + gated_store + tests, root, env, 1)
    warm = _replay(python, root, env, gated_store + tests, repeat)
    scenarios = {
        "goldens = current bytes": nocache,
        "every golden gated (cold)": nocache + gated_store,
        "every golden gated (warm)": gated_store + tests,
    }
    inside = {label: float("inf") for label in scenarios}
    loops = [float(raw_out.split()[1])]
    for _ in range(repeat):
        loops.append(float(wall([python, "raw_plain.py"], root, env, 1)[1].split()[1]))
        for label, extra in scenarios.items():
            inside[label] = min(inside[label], _inside(python, root, env, extra, 1))
    rows = [
        ("raw loop (pickle.loads + vars() compare), process", raw),
        ("  of which the loop itself (CPU)", float(raw_out.split()[1])),
        ("pytest without --serialcompat", alone),
        ("--serialcompat, goldens = current bytes", replay),
        ("--serialcompat, every golden gated (cold)", gated),
        ("--serialcompat, every golden gated (warm)", warm),
    ]
    return rows, inside, min(loops)


if __name__ == "__main__":
    sys.exit(main())
