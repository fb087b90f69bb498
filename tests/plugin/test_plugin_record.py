"""Recording, the store, unused goldens and pruning, samples, reports (pytester)."""

import hashlib
import json
import marshal
import os
import pickle
import subprocess
import sys
import textwrap

import pytest

from plugin_app import INI, make_app, run
from pytest_serialcompat.environment import CI_VARIABLES, CURRENT

# In-process pytester runs drop modules first imported during a run; importing the
# reference modules here keeps one copy of each (one tree.Node class) for every run.
from pytest_serialcompat.reference import allowlist, analyzer, canonical_json, tree  # noqa: F401

TAG = CURRENT.tag
STORE = "tests/__serialcompat__"
MODELS = '''
import dataclasses


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Tagged:
    def __init__(self, tags):
        self.tags = set(tags)

    def __eq__(self, other):
        return type(other) is Tagged and other.tags == self.tags
'''

TESTS = '''
from myapp.models import Point, Tagged


def test_point(serialcompat):
    serialcompat.check(Point(1, 2), "point")


def test_config(serialcompat):
    serialcompat.check({"retries": 3, "hosts": ["a", "b"], "ratio": 0.5})


def test_tagged(serialcompat):
    serialcompat.check(Tagged(["alpha", "beta", "gamma", "delta"]), "tagged", protocols=(4, 5))
'''


@pytest.fixture
def app(pytester, monkeypatch):
    """A small project: myapp/models.py, tests/test_app.py, pythonpath = ."""
    return make_app(pytester, monkeypatch, MODELS, TESTS)


def store_files(pytester):
    root = pytester.path / STORE
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def snapshot(pytester):
    root = pytester.path / STORE
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ------------------------------------------------------------- recording


def test_update_records_every_format_and_protocol_for_this_interpreter(app):
    result = run(app, "--serialcompat-update")
    result.assert_outcomes(passed=3)
    protocols = range(2, pickle.HIGHEST_PROTOCOL + 1)
    expected = sorted(
        ["point/%s-p%d.pickle" % (TAG, p) for p in protocols]
        + ["point/%s.json" % TAG, "point/%s.manifest.json" % TAG]
        + ["test_app/test_config/%s-p%d.pickle" % (TAG, p) for p in protocols]
        + ["test_app/test_config/%s-v%d.marshal" % (TAG, marshal.version),
           "test_app/test_config/%s.json" % TAG, "test_app/test_config/%s.manifest.json" % TAG]
        + ["tagged/%s-p4.pickle" % TAG, "tagged/%s-p5.pickle" % TAG, "tagged/%s.manifest.json" % TAG]
    )
    assert store_files(app) == expected
    result.stdout.fnmatch_lines([
        "*serialcompat: update on %s*" % TAG,
        "written (%d):" % len(expected),
        "  tests/__serialcompat__/point/%s-p2.pickle (new)" % TAG,
        "  tests/__serialcompat__/point/%s.manifest.json (manifest)" % TAG,
    ])
    # goldens are exactly what the real pickle / marshal of this interpreter write
    root = app.path / STORE
    config = {"retries": 3, "hosts": ["a", "b"], "ratio": 0.5}
    for p in protocols:
        golden = root / ("test_app/test_config/%s-p%d.pickle" % (TAG, p))
        assert golden.read_bytes() == pickle.dumps(config, p)
    marshalled = root / ("test_app/test_config/%s-v4.marshal" % TAG)
    assert marshalled.read_bytes() == marshal.dumps(config, 4)
    assert json.loads((root / ("point/%s.json" % TAG)).read_text()) == {"x": 1, "y": 2}
    # the manifest: producer, plugin version, protocol, sha256, globals
    manifest = json.loads((root / ("point/%s.manifest.json" % TAG)).read_text())
    assert manifest["interpreter"] == TAG
    assert manifest["python_version"] == CURRENT.version
    assert manifest["plugin_version"]
    assert manifest["recorded_by"] == "tests/test_app.py::test_point"
    for filename, entry in manifest["goldens"].items():
        data = (root / "point" / filename).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        if entry["format"] == "pickle":
            assert entry["protocol"] == data[1]
            assert entry["globals"] == [["myapp.models", "Point"]]


TAGS = "{'alpha', 'beta', 'gamma', 'delta'}"


def seed_with_another_set_order():
    """A PYTHONHASHSEED under which the tags pickle in another order than in this process."""
    here = pickle.dumps(eval(TAGS), 4)
    for seed in range(1, 40):
        there = subprocess.run(
            [sys.executable, "-c", "import pickle, sys; sys.stdout.buffer.write(pickle.dumps(%s, 4))"
             % TAGS], env=dict(os.environ, PYTHONHASHSEED=str(seed)), check=True,
            stdout=subprocess.PIPE).stdout
        if there != here:
            return seed
    pytest.skip("no PYTHONHASHSEED changed the set order")  # pragma: no cover


def test_second_update_writes_nothing_even_when_bytes_vary(app, monkeypatch):
    run(app, "--serialcompat-update").assert_outcomes(passed=3)
    before = snapshot(app)
    # under another hash seed the set of tags pickles in another order: the fresh
    # bytes differ, yet the goldens replay equal, so nothing is rewritten
    monkeypatch.setenv("PYTHONHASHSEED", str(seed_with_another_set_order()))
    result = app.runpytest_subprocess("--serialcompat-update")
    result.assert_outcomes(passed=3)
    assert "written" not in result.stdout.str()
    assert snapshot(app) == before
    result = app.runpytest_subprocess("--serialcompat")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["pickle * 0 * 0 * 0 * 0"])


def test_update_rewrites_changed_goldens_only_for_this_interpreter(app):
    run(app, "--serialcompat-update").assert_outcomes(passed=3)
    root = app.path / STORE / "point"
    # goldens "recorded by another interpreter": must never be touched by this one
    for path in list(root.iterdir()):
        other = path.name.replace(TAG, "cpython3.7")
        (root / other).write_bytes(path.read_bytes().replace(TAG.encode(), b"cpython3.7"))
    others = {p.name: p.read_bytes() for p in root.iterdir() if "cpython3.7" in p.name}
    (app.path / "tests" / "test_app.py").write_text(
        (app.path / "tests" / "test_app.py").read_text().replace("Point(1, 2)", "Point(1, 3)"))
    result = run(app, "--serialcompat-update")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["  tests/__serialcompat__/point/%s-p2.pickle (changed)" % TAG])
    assert {p.name: p.read_bytes() for p in root.iterdir() if "cpython3.7" in p.name} == others
    assert json.loads((root / ("%s.json" % TAG)).read_text()) == {"x": 1, "y": 3}
    # replay now shows the other interpreter's goldens as not equal
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["(c) loads but is not equal -- point/cpython3.7.json, point/cpython3.7-p2.pickle*",
                                 "*obj.y: 2 != 3*"])


def test_update_is_refused_in_ci_unless_allowed(app, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run(app, "--serialcompat-update")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--serialcompat-update refused: CI environment detected "
                                 "(GITHUB_ACTIONS=true)*--serialcompat-allow-update-in-ci*"])
    assert not (app.path / STORE).exists()
    run(app, "--serialcompat-update", "--serialcompat-allow-update-in-ci").assert_outcomes(passed=3)
    run(app, "--serialcompat").assert_outcomes(passed=3)  # replay is always allowed


def test_nothing_happens_without_the_option(app):
    (app.path / "tests" / "test_noop.py").write_text(textwrap.dedent('''
        def test_noop(serialcompat):
            assert serialcompat.active is False
            assert serialcompat.check(object()) == []
    '''))
    result = run(app)
    result.assert_outcomes(passed=4)
    assert "serialcompat:" not in result.stdout.str()
    assert "= serialcompat =" not in result.stdout.str()
    assert not (app.path / STORE).exists()


def test_missing_goldens_and_required_pythons_fail(app):
    result = run(app, "--serialcompat")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["goldens missing -- point/*",
                                 "*No pickle golden is recorded for 'point' (looked in *point)*",
                                 "*Record it with `pytest --serialcompat-update`*"])
    run(app, "--serialcompat-update").assert_outcomes(passed=3)
    app.makeini(INI + "serialcompat_required_pythons = 3.7 %s\n" % TAG)
    result = run(app, "--serialcompat")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines([
        "*serialcompat_required_pythons lists cpython3.7, but 'point' has no pickle golden recorded by it*",
        "*Run `pytest --serialcompat-update` under cpython3.7*",
    ])
    assert "recorded by it" not in result.stdout.str().split("cpython3.7")[0]


def test_usage_errors(app):
    (app.path / "tests" / "test_bad.py").write_text(textwrap.dedent('''
        import threading

        def test_marshal_explicit(serialcompat):
            serialcompat.check(object(), "obj", formats=("marshal",))

        def test_json_explicit(serialcompat):
            serialcompat.check(object(), "lock", formats="json")

        def test_bad_name(serialcompat):
            serialcompat.check(1, "../escape")

        def test_duplicate_a(serialcompat):
            serialcompat.check(1, "same", formats=("pickle",))

        def test_duplicate_b(serialcompat):
            serialcompat.check(2, "same", formats=("pickle",))
    '''))
    result = run(app, "--serialcompat-update", "tests/test_bad.py")
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines([
        "*format 'marshal' requested, but obj: builtins.object is not a marshal type*",
        "*format 'json' requested, but builtins.object has no JSON codec*",
        "*invalid sample name '../escape'*",
        "*the sample name 'same' is already used by tests/test_bad.py::test_duplicate_a*",
    ])


# ------------------------------------------------------- unused & prune


def test_unused_goldens_are_reported_and_pruned_only_on_full_clean_runs(app):
    run(app, "--serialcompat-update").assert_outcomes(passed=3)
    # the point test goes away, the tagged test narrows its protocols
    text = (app.path / "tests" / "test_app.py").read_text()
    text = text.replace("def test_point(serialcompat):\n    serialcompat.check(Point(1, 2), \"point\")\n", "")
    text = text.replace("protocols=(4, 5)", "protocols=(5,)")
    (app.path / "tests" / "test_app.py").write_text(text)
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=2)
    unused = ["tests/__serialcompat__/point/%s-p%d.pickle" % (TAG, p)
              for p in range(2, pickle.HIGHEST_PROTOCOL + 1)]
    result.stdout.fnmatch_lines(
        ["unused (asked for by no test of this run): %d" % (len(unused) + 2)]
        + ["  " + u for u in unused]
        + ["  tests/__serialcompat__/tagged/%s-p4.pickle" % TAG,
           "  delete them with --serialcompat-prune (full runs only; it lists them first)"])
    # partial runs: report only
    before = snapshot(app)
    result = run(app, "--serialcompat-prune", "-k", "config")
    result.stdout.fnmatch_lines(["not pruning: partial run (-k config): unused goldens are only reported"])
    assert snapshot(app) == before
    result = run(app, "--serialcompat-prune", "tests/test_app.py::test_config")
    result.stdout.fnmatch_lines(["not pruning: partial run (node id tests/test_app.py::test_config)*"])
    assert snapshot(app) == before
    # a failing run does not prune either
    (app.path / "tests" / "test_fail.py").write_text("def test_fail():\n    assert False\n")
    result = run(app, "--serialcompat-prune")
    result.stdout.fnmatch_lines(["not pruning: the run had failures*"])
    assert snapshot(app) == before
    (app.path / "tests" / "test_fail.py").unlink()
    # obtained files of a pruned golden go with it, whichever interpreter replayed it
    for replayer in (TAG, "cpython3.7"):
        (app.path / STORE / "point" / ("%s-p2.pickle.%s.obtained" % (TAG, replayer))).write_bytes(b"x")
    result = run(app, "--serialcompat-prune")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["pruned (*"])
    remaining = store_files(app)
    assert not any(f.startswith("point/") for f in remaining)
    assert not (app.path / STORE / "point").exists()  # the empty folder went too
    assert "tagged/%s-p4.pickle" % TAG not in remaining
    assert "tagged/%s-p5.pickle" % TAG in remaining
    manifest = json.loads((app.path / STORE / "tagged" / ("%s.manifest.json" % TAG)).read_text())
    assert sorted(manifest["goldens"]) == ["%s-p5.pickle" % TAG]
    run(app, "--serialcompat").assert_outcomes(passed=2)


# ----------------------------------------------------------- samples


def test_declarative_samples_need_no_test_code(pytester, monkeypatch):
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    pytester.mkpydir("shop")
    (pytester.path / "shop" / "samples.py").write_text(textwrap.dedent('''
        import dataclasses
        import functools

        CALLS = []


        @dataclasses.dataclass
        class Item:
            sku: str
            price: int


        def make_cart():
            CALLS.append(1)
            return [Item("a", 1), Item("b", 2)]


        SAMPLES = {
            "item": Item("x", 9),
            "cart": make_cart,
            "cheap": functools.partial(Item, "c", 1),
            "limits": {"max": 10},
        }
    '''))
    pytester.makepyprojecttoml(textwrap.dedent('''
        [tool.pytest.ini_options]
        pythonpath = ["."]
        addopts = "-p no:cacheprovider"

        [tool.serialcompat]
        samples = ["shop.samples:SAMPLES"]
    '''))
    result = pytester.runpytest_inprocess("--serialcompat-update", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines_random([
        "pyproject.toml::serialcompat[[]item[]] PASSED*",
        "pyproject.toml::serialcompat[[]cart[]] PASSED*",
        "pyproject.toml::serialcompat[[]cheap[]] PASSED*",
        "pyproject.toml::serialcompat[[]limits[]] PASSED*",
    ])
    assert (pytester.path / STORE / "cart" / ("%s-p2.pickle" % TAG)).exists()
    assert (pytester.path / STORE / "limits" / ("%s-v4.marshal" % TAG)).exists()
    assert (pytester.path / STORE / "item" / ("%s.json" % TAG)).exists()
    pytester.runpytest_inprocess("--serialcompat").assert_outcomes(passed=4)
    pytester.runpytest_inprocess("--serialcompat", "-k", "cart").assert_outcomes(passed=1)
    # without the option, no sample items exist
    result = pytester.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    # a changed sample fails like a test would
    (pytester.path / "shop" / "samples.py").write_text(
        (pytester.path / "shop" / "samples.py").read_text().replace('Item("x", 9)', 'Item("x", 10)'))
    result = pytester.runpytest_inprocess("--serialcompat")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*obj.price: 9 != 10*"])


def test_bad_samples_declaration_is_a_collection_error(pytester, monkeypatch):
    pytester.makepyprojecttoml('[tool.serialcompat]\nsamples = ["nowhere.at.all:SAMPLES"]\n')
    result = pytester.runpytest_inprocess("--serialcompat", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*serialcompat: samples entry 'nowhere.at.all:SAMPLES': cannot import "
                                 "nowhere.at.all (ModuleNotFoundError*"])


# ------------------------------------------------------------- report


def test_report_file_for_the_matrix(app):
    run(app, "--serialcompat-update").assert_outcomes(passed=3)
    (app.path / "tests" / "test_app.py").write_text(
        (app.path / "tests" / "test_app.py").read_text().replace("Point(1, 2)", "Point(5, 2)"))
    result = run(app, "--serialcompat", "--serialcompat-report=out/report.json")
    result.assert_outcomes(passed=2, failed=1)
    report = json.loads((app.path / "out" / "report.json").read_text())
    assert report["kind"] == "pytest-serialcompat report"
    assert report["interpreter"]["interpreter"] == TAG
    assert report["mode"] == {"replay": True, "update": False, "prune": False}
    failed = [r for r in report["results"] if r["status"] == "failed"]
    assert {r["file"] for r in failed} == {"point/%s-p%d.pickle" % (TAG, p)
                                           for p in range(2, pickle.HIGHEST_PROTOCOL + 1)} | {
        "point/%s.json" % TAG}
    assert {r["diagnosis"] for r in failed} == {"not-equal"}
    assert report["totals"]["pickle"]["failed"] == pickle.HIGHEST_PROTOCOL - 1
    assert report["totals"]["marshal"]["checked"] == 1
    result.stdout.fnmatch_lines(["report: out/report.json"])


def test_json_codec_from_a_plugin_hook(app):
    (app.path / "tests" / "conftest.py").write_text(textwrap.dedent('''
        class CelsiusCodec:
            name = "celsius codec"

            def to_json(self, obj):
                return {"celsius": obj.degrees}

            def from_json(self, value):
                from test_temp import Temperature
                return Temperature(value["celsius"])


        def pytest_serialcompat_json_codec(config, cls):
            if cls.__name__ == "Temperature":
                return CelsiusCodec()
    '''))
    (app.path / "tests" / "test_temp.py").write_text(textwrap.dedent('''
        class Temperature:
            def __init__(self, degrees):
                self.degrees = degrees

            def __eq__(self, other):
                return type(other) is Temperature and other.degrees == self.degrees


        def test_temp(serialcompat):
            serialcompat.check(Temperature(21.5), "temp", formats=("json",))
    '''))
    run(app, "--serialcompat-update", "tests/test_temp.py").assert_outcomes(passed=1)
    golden = app.path / STORE / "temp" / ("%s.json" % TAG)
    assert golden.read_bytes() == b'{"celsius":21.5}'
    manifest = json.loads((app.path / STORE / "temp" / ("%s.manifest.json" % TAG)).read_text())
    assert manifest["goldens"]["%s.json" % TAG]["codec"] == "celsius codec"
    run(app, "--serialcompat", "tests/test_temp.py").assert_outcomes(passed=1)
    golden.write_bytes(b'{"celsius":20}')  # edited by hand: the manifest no longer matches
    result = run(app, "--serialcompat", "tests/test_temp.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["golden does not match its manifest (not loaded) -- temp/%s.json" % TAG])


def test_same_name_twice_in_one_test_is_an_error(app):
    (app.path / "tests" / "test_twice.py").write_text(textwrap.dedent('''
        def test_twice(serialcompat):
            serialcompat.check(1, "twice", formats=("pickle",))
            serialcompat.check(2, "twice", formats=("pickle",))
    '''))
    result = run(app, "--serialcompat-update", "tests/test_twice.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the sample name 'twice' is already used by this test*"])
