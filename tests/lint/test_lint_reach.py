"""How far the rules see (issue 20): attributes set up by bases in other modules, loaders through
re-exports, where loaded bytes come from, records written by any path, context primitives.

Each project is written to disk and linted by the real run (``serialcompat_lint.run``) or the
real command line; nothing is mocked.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from serialcompat_lint.config import load_settings
from serialcompat_lint.runner import run

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYPROJECT = '[project]\nname = "app"\nrequires-python = ">=3.8"\n'

UTIL = '''import multiprocessing
from concurrent import futures


class ExecutorMixin:
    def setUp(self):
        self.executor = self.executor_type(max_workers=2, mp_context=self.get_context())

    def get_context(self):
        return multiprocessing.get_context(self.ctx)


class ThreadPoolMixin(ExecutorMixin):
    executor_type = futures.ThreadPoolExecutor


class SpawnMixin(ExecutorMixin):
    executor_type = futures.ProcessPoolExecutor
    ctx = "spawn"
'''

TESTS = '''from .util import SpawnMixin, ThreadPoolMixin


class SpawnTest(SpawnMixin):
    def test_nested(self):
        def acquire(lock):
            lock.acquire()

        self.executor.submit(acquire, None)

    def test_local_class(self):
        class Job:
            pass

        self.executor.submit(print, Job())


class ThreadTest(ThreadPoolMixin):
    def test_nested(self):
        def acquire(lock):
            lock.acquire()

        self.executor.submit(acquire, None)
'''


def lint(root, files, select, paths=None, use_cache=False):
    files = dict(files)
    files.setdefault("pyproject.toml", PYPROJECT)
    files.setdefault("app/__init__.py", "")
    for relative, text in files.items():
        path = root.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    settings = load_settings(str(root / "pyproject.toml"))._replace(select=tuple(select))
    targets = [str(root / p) for p in paths] if paths else [str(root)]
    result = run(targets, settings, use_cache=use_cache, jobs=1)
    assert result.internal_errors == 0, result.findings
    return [(os.path.relpath(f.path, str(root)).replace(os.sep, "/"), f.line, f.code, f.message) for f in result.findings]


# -- SC101/SC103: self.<attr> set up by a mixin in another module ---------------------------------

def test_an_executor_set_up_by_a_mixin_in_another_module_is_seen(tmp_path):
    found = lint(tmp_path, {"app/util.py": UTIL, "app/test_shutdown.py": TESTS}, ("SC101", "SC103"))
    assert [(p, line, code) for p, line, code, _m in found] == [
        ("app/test_shutdown.py", 9, "SC101"),
        ("app/test_shutdown.py", 15, "SC103"),
    ]
    assert "nested function 'acquire'" in found[0][3] and "self.executor" in found[0][3]
    assert "'Job'" in found[1][3] and "ProcessPoolExecutor.submit" in found[1][3]


def test_the_changed_file_alone_still_sees_the_mixin(tmp_path):
    """As the pre-commit hook runs: only the test module is named, the project supplies util.py."""
    found = lint(tmp_path, {"app/util.py": UTIL, "app/test_shutdown.py": TESTS}, ("SC101",), paths=["app/test_shutdown.py"])
    assert [(p, line) for p, line, _c, _m in found] == [("app/test_shutdown.py", 9)]


def test_attribute_facts_survive_the_cache(tmp_path):
    files = {"app/util.py": UTIL, "app/test_shutdown.py": TESTS}
    first = lint(tmp_path, files, ("SC101",), use_cache=True)
    second = lint(tmp_path, files, ("SC101",), use_cache=True)
    assert first == second and len(first) == 1


def test_a_mixin_that_sets_up_a_thread_pool_is_not_reported(tmp_path):
    util = UTIL.replace("executor_type = futures.ProcessPoolExecutor", "executor_type = futures.ThreadPoolExecutor")
    assert lint(tmp_path, {"app/util.py": util, "app/test_shutdown.py": TESTS}, ("SC101", "SC103")) == []


def test_a_pool_made_by_a_context_kept_on_self(tmp_path):
    base = ('import multiprocessing\n\nclass Service:\n    def __init__(self):\n'
            '        self._ctx = multiprocessing.get_context("spawn")\n        self.pool = self._ctx.Pool(2)\n')
    user = ('from app.base import Service\n\nclass Crawler(Service):\n    def crawl(self, urls):\n'
            '        return self.pool.map(lambda u: u, urls)\n\n    def start(self, handler):\n'
            '        proc = self._ctx.Process(target=lambda: handler())\n        proc.start()\n')
    found = lint(tmp_path, {"app/base.py": base, "app/crawler.py": user}, ("SC101",))
    assert [(p, line) for p, line, _c, _m in found] == [("app/crawler.py", 5), ("app/crawler.py", 8)]
    assert "Pool.map" in found[0][3] and "Process(target=...)" in found[1][3]


# -- SC106/SC111: loaders re-exported by the project ----------------------------------------------

COMPAT = "from pickle import loads as pickle_loads\nfrom json import loads as json_loads\n"
SERVER = '''from app.compat import json_loads, pickle_loads


class Scheduler:
    def __init__(self):
        self.handlers = {"run": self.run_function}

    def run_function(self, comm, function=None):
        return pickle_loads(function)

    def config(self, blob):
        return json_loads(blob), pickle_loads(blob)
'''


def test_a_loader_re_exported_by_the_project_is_a_loader(tmp_path):
    found = lint(tmp_path, {"app/compat.py": COMPAT, "app/server.py": SERVER}, ("SC106", "SC111"))
    assert [(p, line, code) for p, line, code, _m in found] == [
        ("app/server.py", 9, "SC106"),
        ("app/server.py", 12, "SC111"),
    ]
    assert "pickle.loads (re-exported as app.compat.pickle_loads)" in found[0][3]
    assert "an RPC message (field 'function' of handler 'run_function')" in found[0][3]


def test_a_re_export_through_a_package_init(tmp_path):
    files = {
        "app/io/__init__.py": "from .codec import load_message\n",
        "app/io/codec.py": "from pickle import loads as load_message\n",
        "app/client.py": "from app.io import load_message\n\ndef receive(sock):\n    return load_message(sock.recv(1024))\n",
    }
    found = lint(tmp_path, files, ("SC106",))
    assert [(p, line, code) for p, line, code, _m in found] == [("app/client.py", 4, "SC106")]
    assert "a socket (`sock.recv(1024)`, line 4)" in found[0][3]


# -- SC106: where the bytes come from, said in the message -----------------------------------------

@pytest.mark.parametrize("source, origin", [
    ("import pickle\ndef _decode(b):\n    return pickle.loads(b)\ndef serve(conn):\n    data = conn.recv(4096)\n    return _decode(data)\n",
     "a socket (`conn.recv(4096)`, line 5), passed to _decode() at line 6"),
    ("import pickle\ndef consume(r):\n    _key, raw = r.blpop('jobs')\n    return pickle.loads(raw)\n",
     "a message queue (`r.blpop('jobs')`, line 3)"),
    ("import pickle, sys\ndef main():\n    with open(sys.argv[1], 'rb') as f:\n        return pickle.load(f)\n",
     "a file whose path comes from the command line (`sys.argv`, line 3)"),
    ("import pickle\nasync def report(comm):\n    for msg in await comm.read():\n        pickle.loads(msg['tb'])\n",
     "a stream (`await comm.read()`, line 3)"),
], ids=["direct-call", "queue", "argv-file", "stream"])
def test_the_message_says_where_the_data_came_from(tmp_path, source, origin):
    found = lint(tmp_path, {"app/mod.py": source}, ("SC106",))
    assert len(found) == 1 and origin in found[0][3], found


def test_a_multiprocessing_channel_is_not_untrusted(tmp_path):
    source = ("from multiprocessing import reduction\n_ForkingPickler = reduction.ForkingPickler\n\nclass Queue:\n"
              "    def get(self):\n        res = self._reader.recv_bytes()\n        return _ForkingPickler.loads(res)\n")
    found = lint(tmp_path, {"app/queues.py": source}, ("SC106", "SC111"))
    assert [(line, code) for _p, line, code, _m in found] == [(7, "SC111")]
    assert found[0][3].startswith("pickle.loads (as _ForkingPickler.loads) of data of unknown origin")


# -- SC105: the dict of a record, through a helper method --------------------------------------------

def test_a_record_dict_passed_to_a_store_method(tmp_path):
    source = '''import json


class Store:
    def store_metadata(self, path, metadata):
        with open(path, "w") as f:
            f.write(json.dumps(metadata))


class Memory:
    def persist(self, store, duration):
        metadata = {"duration": duration}
        store.store_metadata("meta.json", metadata)
'''
    found = lint(tmp_path, {"app/store.py": source}, ("SC105",))
    assert [(p, line) for p, line, _c, _m in found] == [("app/store.py", 7)]
    assert "(the dict built at line 12, passed at line 13)" in found[0][3]


def test_a_versioned_record_through_the_same_path_is_clean(tmp_path):
    source = ('import json\n\ndef write(path, metadata):\n    with open(path, "w") as f:\n        f.write(json.dumps(metadata))\n\n'
              'def persist(duration):\n    write("m.json", {"version": 1, "duration": duration})\n')
    assert lint(tmp_path, {"app/store.py": source}, ("SC105",)) == []


# -- the recall cases of the benchmark, as a regression test ---------------------------------------

EXPECT = re.compile(r"#\s*expect:\s*(SC\d{3}(?:\s*,\s*SC\d{3})*)")


def test_every_expected_finding_of_the_recall_cases_is_reported_and_nothing_else(tmp_path):
    cases = os.path.join(REPO, "benchmarks", "recall_cases")
    wanted = set()
    for directory, _dirs, names in os.walk(cases):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path) as handle:
                    for number, text in enumerate(handle, 1):
                        match = EXPECT.search(text)
                        if match:
                            relative = os.path.relpath(path, cases).replace(os.sep, "/")
                            wanted |= {(relative, number, c.strip()) for c in match.group(1).split(",")}
    done = subprocess.run(
        [sys.executable, "-m", "serialcompat_lint", "--format", "json", "--no-cache",
         "--config", os.path.join(cases, "pyproject.toml"), cases],
        cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert done.returncode == 1, done.stderr
    got = {(os.path.relpath(os.path.join(str(tmp_path), f["path"]), cases).replace(os.sep, "/"), f["line"], f["code"])
           for f in json.loads(done.stdout)}
    assert sorted(got - wanted) == [] and sorted(wanted - got) == []
    assert len(wanted) >= 40


def test_a_project_function_named_like_a_loader_is_not_one(tmp_path):
    files = {
        "app/config.py": "import json\n\ndef load_config(blob):\n    return json.loads(blob)\n",
        "app/main.py": "from app.config import load_config\n\ndef main(sock):\n    return load_config(sock.recv(1024))\n",
    }
    assert lint(tmp_path, files, ("SC106", "SC111")) == []
