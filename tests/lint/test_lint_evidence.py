"""Evidence that a class is pickled, across the modules of real projects in temporary directories.

Each project is written to disk and linted by the real run (``serialcompat_lint.run``, as the
command line does) or the real command line; nothing is mocked.
"""
import json
import os
import subprocess
import sys

import pytest

from serialcompat_lint.config import load_settings
from serialcompat_lint.runner import run

PYPROJECT = '[project]\nname = "shop"\nrequires-python = ">=3.8"\n'
COUNTER = "import threading\n\nclass Counter:\n    def __init__(self):\n        self.count = 0\n        self._lock = threading.Lock()\n"
JOBS = "from concurrent.futures import ProcessPoolExecutor\n\nfrom shop.counter import Counter\n\ndef work(c):\n    return c.count\n\ndef run():\n    with ProcessPoolExecutor() as ex:\n        return ex.submit(work, Counter()).result()\n"


def write(root, files):
    for relative, text in files.items():
        path = root.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def lint(root, files, paths=None, select=("SC102",), **config):
    files = dict(files)
    files.setdefault("pyproject.toml", PYPROJECT + _table(config))
    files.setdefault("shop/__init__.py", "")
    write(root, files)
    settings = load_settings(str(root / "pyproject.toml"))._replace(select=select)
    targets = [str(root / p) for p in paths] if paths else [str(root)]
    result = run(targets, settings, use_cache=False, jobs=1)
    assert result.internal_errors == 0, result.findings
    return [(os.path.relpath(f.path, str(root)).replace(os.sep, "/"), f.line, f.code, f.message) for f in result.findings]


def _table(config):
    if not config:
        return ""
    lines = ["[tool.serialcompat.lint]"]
    for key, value in config.items():
        lines.append("%s = %s" % (key.replace("_", "-"), json.dumps(value)))
    return "\n".join(lines) + "\n"


def cli(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "serialcompat_lint"] + list(args), cwd=str(cwd), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


# -- SC102: evidence, and what it says ---------------------------------------------------------------

def test_a_class_nothing_pickles_is_not_reported(tmp_path):
    assert lint(tmp_path, {"shop/counter.py": COUNTER}) == []


def test_evidence_in_another_module_names_the_place(tmp_path):
    found = lint(tmp_path, {"shop/counter.py": COUNTER, "shop/jobs.py": JOBS})
    assert [(p, line, code) for p, line, code, _m in found] == [("shop/counter.py", 6, "SC102")]
    message = found[0][3]
    assert "Counter._lock holds a threading lock" in message
    assert "pickled at shop/jobs.py:10 via ProcessPoolExecutor.submit" in message


def test_strict_mode_reports_without_evidence(tmp_path):
    assert len(lint(tmp_path, {"shop/counter.py": COUNTER}, strict=True)) == 1
    write(tmp_path, {"pyproject.toml": PYPROJECT})
    code, out, _ = cli("--no-cache", "--strict", "--select", "SC102", ".", cwd=tmp_path)
    assert code == 1 and "Counter._lock holds a threading lock, which cannot be pickled;" in out
    assert cli("--no-cache", "--select", "SC102", ".", cwd=tmp_path)[0] == 0


@pytest.mark.parametrize(
    "via, line",
    [
        ("import pickle\nfrom shop.counter import Counter\n\ndef save(f):\n    pickle.dump([Counter()], f)\n", "via pickle.dump"),
        ("import copy\nfrom shop import counter\n\nc = copy.deepcopy(counter.Counter())\n", "via copy.deepcopy"),
        ("import multiprocessing as mp\nfrom shop.counter import Counter\n\ndef run(q):\n    q = mp.Queue()\n    c = Counter()\n    q.put(c)\n", "via a multiprocessing queue"),
        ("from multiprocessing import Pool\nfrom shop.counter import Counter\n\ndef init(c):\n    pass\n\ndef run():\n    return Pool(2, init, (Counter(),))\n", "via the pool's initargs"),
        ("from multiprocessing import Pool\nfrom shop.counter import Counter\n\ndef make(i):\n    return Counter()\n\ndef run():\n    with Pool() as pool:\n        return pool.map(make, range(3))\n", "via the result of make run by Pool.map"),
        ("import shelve\nfrom shop.counter import Counter\n\ndef save(path):\n    with shelve.open(path) as db:\n        db['c'] = Counter()\n", "via shelve"),
        ("import joblib\nfrom shop.counter import Counter\n\njoblib.dump(Counter(), 'c.pkl')\n", "via joblib.dump"),
        ("from shop.counter import Counter\n\ndef test_counter(serialcompat):\n    serialcompat.check(Counter(), 'counter')\n", "via serialcompat.check"),
    ],
    ids=["pickle.dump", "deepcopy", "queue", "initargs", "result", "shelve", "joblib", "fixture"],
)
def test_every_kind_of_site_is_evidence(tmp_path, via, line):
    found = lint(tmp_path, {"shop/counter.py": COUNTER, "shop/use.py": via})
    assert len(found) == 1 and line in found[0][3], found


def test_a_bound_method_sent_to_a_process_pickles_its_instance(tmp_path):
    source = COUNTER + "\n    def start(self):\n        import multiprocessing\n        multiprocessing.Process(target=self.tick).start()\n\n    def tick(self):\n        pass\n"
    found = lint(tmp_path, {"shop/counter.py": source})
    assert len(found) == 1 and "via Process(target=...) (a bound method)" in found[0][3]
    # a classmethod target pickles the class by reference, not an instance
    by_class = source.replace("    def tick(self):", "    @classmethod\n    def tick(cls):")
    assert lint(tmp_path, {"shop/counter.py": by_class}) == []


def test_the_golden_store_is_evidence(tmp_path):
    manifest = ('{"goldens":{"cpython3.12-p4.pickle":{"globals":[["shop.counter","Counter"]]}},'
                '"kind":"pytest-serialcompat golden manifest","manifest_version":2}')
    found = lint(tmp_path, {"shop/counter.py": COUNTER,
                            "tests/__serialcompat__/counter/cpython3.12.manifest.json": manifest})
    assert len(found) == 1 and ("pickled at tests/__serialcompat__/counter/cpython3.12.manifest.json:1 "
                                "via the golden store") in found[0][3]


def test_declared_samples_are_evidence(tmp_path):
    pyproject = PYPROJECT + '[tool.serialcompat]\nsamples = ["shop.samples:SAMPLES"]\n'
    samples = "from shop.counter import Counter\n\nSAMPLES = {'counter': Counter()}\n"
    found = lint(tmp_path, {"pyproject.toml": pyproject, "shop/counter.py": COUNTER, "shop/samples.py": samples})
    assert len(found) == 1 and "via the serialcompat samples" in found[0][3]


def test_evidence_on_a_base_class_covers_its_subclasses(tmp_path):
    base = "class Base:\n    pass\n"
    counter = "import threading\nfrom shop.base import Base\n\nclass Counter(Base):\n    def __init__(self):\n        self._lock = threading.Lock()\n"
    use = "import pickle\nfrom shop.base import Base\n\ndef save(f, item: Base):\n    pickle.dump(Base(), f)\n"
    found = lint(tmp_path, {"shop/base.py": base, "shop/counter.py": counter, "shop/use.py": use})
    assert len(found) == 1 and "(as its base Base)" in found[0][3]


# -- bases and reducers in other modules -------------------------------------------------------------

BASE_WITH = "class Base:\n%s\n"
SUB = "import threading\nfrom .base import Base\n\nclass Counter(Base):\n    def __init__(self):\n        self._lock = threading.Lock()\n"
USE = "import pickle\nfrom shop.counter import Counter\n\nblob = pickle.dumps(Counter())\n"


@pytest.mark.parametrize(
    "hook, reported",
    [
        ("    def __reduce__(self):\n        return (Base, ())\n", False),
        ("    def __reduce_ex__(self, protocol):\n        return (Base, ())\n", False),
        ("    def __getstate__(self):\n        state = self.__dict__.copy()\n        state.pop('_lock', None)\n        return state\n", False),
        ("    def __getstate__(self):\n        return {'count': self.count}\n", False),
        ("    def __getstate__(self):\n        return self.__dict__.copy()\n", True),
        ("    pass\n", True),
    ],
    ids=["reduce", "reduce_ex", "getstate-drops", "getstate-picks", "getstate-copies", "no-hook"],
)
def test_hooks_on_a_base_in_another_module(tmp_path, hook, reported):
    found = lint(tmp_path, {"shop/base.py": BASE_WITH % hook, "shop/counter.py": SUB, "shop/use.py": USE})
    assert len(found) == (1 if reported else 0), found


def test_hook_two_modules_up_through_a_reexport(tmp_path):
    files = {
        "shop/core/__init__.py": "from .state import Stateful\n",
        "shop/core/state.py": "class Stateful:\n    def __reduce__(self):\n        return (Stateful, ())\n",
        "shop/base.py": "from shop import core\n\nclass Base(core.Stateful):\n    pass\n",
        "shop/counter.py": SUB,
        "shop/use.py": USE,
    }
    assert lint(tmp_path, files) == []
    files["shop/core/state.py"] = "class Stateful:\n    pass\n"
    assert len(lint(tmp_path, files)) == 1


@pytest.mark.parametrize(
    "registration",
    [
        "import copyreg\nfrom shop.counter import Counter\n\ndef reduce_counter(c):\n    return (Counter, ())\n\ncopyreg.pickle(Counter, reduce_counter)\n",
        "from multiprocessing import reduction\nfrom shop import counter\n\ndef reduce_counter(c):\n    return (counter.Counter, ())\n\nreduction.register(counter.Counter, reduce_counter)\n",
    ],
    ids=["copyreg", "multiprocessing.reduction"],
)
def test_reducer_registered_in_another_module(tmp_path, registration):
    files = {"shop/counter.py": COUNTER, "shop/jobs.py": JOBS, "shop/reducers.py": registration}
    assert lint(tmp_path, files) == []
    files["shop/reducers.py"] = "# no registration any more\n"
    assert len(lint(tmp_path, files)) == 1


def test_a_thread_subclass_is_reported_as_a_class_only_when_pickled(tmp_path):
    worker = "import threading\n\nclass Worker(threading.Thread):\n    def __init__(self):\n        super().__init__()\n        self._stop = threading.Event()\n"
    assert lint(tmp_path, {"shop/worker.py": worker}) == []
    use = "import pickle\nfrom shop.worker import Worker\n\nblob = pickle.dumps(Worker())\n"
    found = lint(tmp_path, {"shop/worker.py": worker, "shop/use.py": use})
    assert [(p, line) for p, line, _c, _m in found] == [("shop/worker.py", 3)]
    assert "derives from threading.Thread" in found[0][3] and "cannot be pickled" in found[0][3]
    assert "holds" not in found[0][3]


@pytest.mark.parametrize(
    "base",
    ["concurrent.futures.ThreadPoolExecutor", "socket.socket", "io.BufferedIOBase", "queue.Queue"],
)
def test_classes_that_never_pickle_are_not_reported_for_their_attributes(tmp_path, base):
    module, _, name = base.rpartition(".")
    source = "import threading\nimport %s\n\nclass Thing(%s):\n    def __init__(self):\n        self._lock = threading.Lock()\n" % (module, base)
    assert lint(tmp_path, {"shop/thing.py": source}) == []
    assert len(lint(tmp_path, {"shop/thing.py": source + "\nimport copy\ncopy.deepcopy(Thing())\n"})) == 1


def test_attributes_of_a_local_class_are_not_the_enclosing_class(tmp_path):
    source = (
        "import pickle, queue\n\nclass Outer:\n    def method(self):\n        class Inner:\n"
        "            def __init__(self):\n                self._queue = queue.Queue()\n        return Inner\n\n"
        "blob = pickle.dumps(Outer())\n"
    )
    assert lint(tmp_path, {"shop/outer.py": source}) == []
    found = lint(tmp_path, {"shop/outer.py": source}, strict=True)
    assert [m.split(" holds")[0] for _p, _l, _c, m in found] == ["Inner._queue"]


def test_private_attributes_are_shown_as_their_state_key(tmp_path):
    source = "import pickle, threading\n\nclass Timer:\n    def __init__(self):\n        self.__is_shutdown = threading.Event()\n\npickle.dumps(Timer())\n"
    found = lint(tmp_path, {"shop/timer.py": source})
    assert len(found) == 1 and found[0][3].startswith("Timer._Timer__is_shutdown holds")
    dropped = source.replace("\n\npickle", "\n    def __getstate__(self):\n        state = self.__dict__.copy()\n        del state['_Timer__is_shutdown']\n        return state\n\npickle")
    assert lint(tmp_path, {"shop/timer.py": dropped}) == []
    wrong_key = dropped.replace("'_Timer__is_shutdown'", "'__is_shutdown'")
    assert len(lint(tmp_path, {"shop/timer.py": wrong_key})) == 1


# -- SC105: durable records only ---------------------------------------------------------------------

RECORD = "class Settings:\n    def __getstate__(self):\n        return {'theme': self.theme}\n"


def test_getstate_is_a_record_only_when_written_durably(tmp_path):
    sent = "from multiprocessing import Pool\nfrom shop.settings import Settings\n\ndef run(f):\n    with Pool() as pool:\n        pool.map(f, [Settings()])\n"
    assert lint(tmp_path, {"shop/settings.py": RECORD, "shop/use.py": sent}, select=("SC105",)) == []
    stored = "import pickle\nfrom shop.settings import Settings\n\ndef save(path):\n    with open(path, 'wb') as f:\n        f.write(pickle.dumps(Settings()))\n"
    found = lint(tmp_path, {"shop/settings.py": RECORD, "shop/use.py": stored}, select=("SC105",))
    assert [(p, line) for p, line, _c, _m in found] == [("shop/settings.py", 3)]
    assert "written durably" in found[0][3] and "via pickle.dumps" in found[0][3]
    assert len(lint(tmp_path, {"shop/settings.py": RECORD, "shop/use.py": sent}, select=("SC105",), strict=True)) == 1


def test_test_data_in_temporary_directories_is_not_a_record(tmp_path):
    test = (
        "import json, tempfile\n\ndef test_load(tmp_path):\n    with open(tmp_path / 'f.json', 'w') as f:\n        json.dump({'a': 1}, f)\n\n"
        "def test_other(tmpdir):\n    json.dump({'a': 1}, tmpdir.join('g.json').open('w'))\n\n"
        "def test_third():\n    with tempfile.NamedTemporaryFile('w') as f:\n        json.dump({'a': 1}, f)\n\n"
        "def save(path):\n    with open(path, 'w') as f:\n        json.dump({'a': 1}, f)\n"
    )
    found = lint(tmp_path, {"tests/test_load.py": test}, select=("SC105",))
    assert [(p, line) for p, line, _c, _m in found] == [("tests/test_load.py", 16)]


# -- the project's pickler ---------------------------------------------------------------------------

LAMBDA_POOL = "from multiprocessing import Pool\n\ndef run(items):\n    with Pool() as pool:\n        return pool.map(lambda x: x, items)\n"
LOCAL_JOB = "from concurrent.futures import ProcessPoolExecutor\n\ndef work(job):\n    return job\n\ndef run():\n    class Job:\n        pass\n    with ProcessPoolExecutor() as ex:\n        ex.submit(work, Job())\n"
LOCAL_REDUCER = "class Point:\n    def __reduce__(self):\n        return (lambda: Point(), ())\n"


def test_a_by_value_pickler_silences_the_by_reference_rules(tmp_path):
    files = {"shop/pool.py": LAMBDA_POOL, "shop/job.py": LOCAL_JOB, "shop/point.py": LOCAL_REDUCER}
    codes = ("SC101", "SC103", "SC104")
    assert sorted(c for _p, _l, c, _m in lint(tmp_path, files, select=codes)) == ["SC101", "SC103", "SC104"]
    for pickler in ("cloudpickle", "dill"):
        assert lint(tmp_path, dict(files, **{"pyproject.toml": PYPROJECT + '[tool.serialcompat.lint]\npickler = "%s"\n' % pickler}), select=codes) == []
    explicit = "import pickle\n\ndef save():\n    class Job:\n        pass\n    return pickle.dumps(Job())\n"
    found = lint(tmp_path, {"shop/explicit.py": explicit, "pyproject.toml": PYPROJECT + '[tool.serialcompat.lint]\npickler = "cloudpickle"\n'}, select=("SC103",))
    assert len(found) == 1  # an explicit pickle.dumps still pickles by reference


def test_the_pickler_is_detected_from_a_files_imports(tmp_path):
    assert lint(tmp_path, {"shop/point.py": "import cloudpickle\n" + LOCAL_REDUCER}, select=("SC104",)) == []
    assert lint(tmp_path, {"shop/point.py": "from dill import dumps\n" + LOCAL_REDUCER}, select=("SC104",)) == []
    ambiguous = "import cloudpickle, dill\n" + LOCAL_REDUCER
    assert len(lint(tmp_path, {"shop/point.py": ambiguous}, select=("SC104",))) == 1
    # detection is per file: a pool elsewhere still pickles by reference
    assert len(lint(tmp_path, {"shop/pool.py": "import cloudpickle\n" + LAMBDA_POOL}, select=("SC101",))) == 1


def test_a_bad_pickler_setting_is_a_usage_error(tmp_path):
    write(tmp_path, {"pyproject.toml": PYPROJECT + '[tool.serialcompat.lint]\npickler = "marshal"\n', "a.py": "x = 1\n"})
    code, _out, err = cli("--no-cache", ".", cwd=tmp_path)
    assert code == 2 and "pickler" in err and "cloudpickle" in err and "Traceback" not in err


# -- SC101: only processes that are started ----------------------------------------------------------

def test_a_process_that_is_never_started_is_not_reported(tmp_path):
    unstarted = "import multiprocessing\n\ndef test_flush(f):\n    proc = multiprocessing.Process(target=lambda: f.flush())\n    f.flush()\n    assert proc.name\n"
    assert lint(tmp_path, {"shop/t.py": unstarted}, select=("SC101",)) == []
    assert len(lint(tmp_path, {"shop/t.py": unstarted}, select=("SC101",), strict=True)) == 1
    started = unstarted.replace("    assert proc.name\n", "    proc.start()\n")
    assert len(lint(tmp_path, {"shop/t.py": started}, select=("SC101",))) == 1
    escaped = unstarted.replace("    assert proc.name\n", "    return proc\n")
    assert len(lint(tmp_path, {"shop/t.py": escaped}, select=("SC101",))) == 1


# -- the command line: cache, explicit files (as pre-commit passes them) -----------------------------

def test_cached_facts_follow_changes_in_other_files(tmp_path):
    write(tmp_path, {"pyproject.toml": PYPROJECT, "shop/__init__.py": "", "shop/counter.py": COUNTER, "shop/jobs.py": JOBS})
    cold = cli("--format", "json", "--select", "SC102", ".", cwd=tmp_path)
    assert cold[0] == 1 and len(json.loads(cold[1])) == 1
    assert cli("--format", "json", "--select", "SC102", ".", cwd=tmp_path) == cold  # warm: from the cache
    (tmp_path / "shop" / "jobs.py").write_text(JOBS.replace("Counter()", "1"))  # counter.py unchanged
    assert cli("--format", "json", "--select", "SC102", ".", cwd=tmp_path)[:2] == (0, "[]\n")
    (tmp_path / "shop" / "jobs.py").write_text(JOBS)
    assert cli("--format", "json", "--select", "SC102", ".", cwd=tmp_path) == cold


def test_explicit_files_see_the_evidence_in_the_rest_of_the_project(tmp_path):
    write(tmp_path, {"pyproject.toml": PYPROJECT, "shop/__init__.py": "", "shop/counter.py": COUNTER, "shop/jobs.py": JOBS + "\nlambda_pool = None\n"})
    code, out, _ = cli("--no-cache", "shop/counter.py", cwd=tmp_path)
    assert code == 1 and out.startswith(os.path.join("shop", "counter.py") + ":6:") and "via ProcessPoolExecutor.submit" in out
    code, out, _ = cli("--no-cache", "shop/jobs.py", cwd=tmp_path)
    assert code == 0, out  # counter.py's finding is not reported for a run on jobs.py


# -- strict mode keeps the pre-evidence behaviour --------------------------------------------------

# The rules' INVALID examples before evidence was required (none of them pickles the class).
PRE_EVIDENCE = [
    ("SC102", "import threading\nclass Counter:\n    def __init__(self):\n        self.count = 0\n        self._lock = threading.Lock()\n", (5,)),
    ("SC102", "from threading import RLock as L\nclass Counter:\n    def __init__(self):\n        self._lock = L()\n", (4,)),
    ("SC102", "class Reader:\n    def __init__(self, path):\n        self.handle = open(path)\n        self.key = lambda item: item\n", (3, 4)),
    ("SC102", "import sqlite3\nclass Store:\n    def __init__(self, path):\n        self.conn = sqlite3.connect(path)\n        self.cur = self.conn.cursor()\n", (4, 5)),
    ("SC102", "import dataclasses, threading\n@dataclasses.dataclass\nclass Job:\n    name: str\n    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)\n", (5,)),
    ("SC102", "class Feed:\n    def __init__(self, items):\n        self.rows = (i for i in items)\n        self.pages = self._pages()\n    def _pages(self):\n        yield 1\n", (3, 4)),
    ("SC105", "class S:\n    def __getstate__(self):\n        return {'a': self.a, 'b': self.b}\n", (3,)),
    ("SC105", 'class S:\n    def __getstate__(self):\n        return {\n            "a": self.a,\n        }\n', (3,)),
]


@pytest.mark.parametrize("code, source, lines", PRE_EVIDENCE)
def test_strict_mode_reports_what_the_rules_reported_before_evidence(code, source, lines):
    from serialcompat_lint.config import Settings
    from serialcompat_lint.engine import Linter

    def findings(strict):
        settings = Settings(root=os.getcwd(), select=(code,), strict=strict)
        return Linter(settings).lint_text("example.py", "example.py", source).findings

    assert findings(False) == ()
    assert tuple(f.line for f in findings(True)) == lines


def test_a_loader_reached_through_a_project_module_attribute_is_found_with_the_shortcuts_on(tmp_path):
    """``reduction.pickle.load(f)`` where ``reduction`` is the project's own module (imported
    relatively, as multiprocessing/spawn.py does): the call's last name is a loader's, but only
    the project-wide decision can tell that it is one.  The shortcuts used to drop it."""
    files = {
        "shop/reduction.py": "import pickle\n",
        "shop/context.py": "from . import reduction\n",
        "shop/spawn.py": "from .context import reduction\n\ndef main(from_parent):\n"
                         "    return reduction.pickle.load(from_parent)\n",
    }
    found = lint(tmp_path, files, select=("SC111",))
    assert [(path, line, code) for path, line, code, _message in found] == [("shop/spawn.py", 4, "SC111")]
    assert "pickle.load (re-exported as shop.context.reduction.pickle.load)" in found[0][3]
