"""Replay and recording compare object graphs (pytester): plain classes, back-pointers,
cycles, shared parts -- the app of issue 12, declared as samples in pyproject.toml."""

import pickle
import subprocess
import sys
import textwrap

import pytest

from graph_app import MODELS
from pytest_serialcompat.environment import CI_VARIABLES, CURRENT

# In-process pytester runs drop modules first imported during a run; the samples module
# is imported by the app's models here, so one copy (one SampleItem class) must serve all.
from pytest_serialcompat import samples  # noqa: F401

TAG = CURRENT.tag
STORE = "tests/__serialcompat__"


PYPROJECT = '''
[tool.pytest.ini_options]
pythonpath = ["."]
addopts = "-p no:cacheprovider"

[tool.serialcompat]
samples = ["myapp.models:SAMPLES"]
'''


@pytest.fixture
def app(pytester, monkeypatch):
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # sources change within one second
    pytester.mkpydir("myapp")
    (pytester.path / "myapp" / "models.py").write_text(textwrap.dedent(MODELS))
    pytester.makepyprojecttoml(textwrap.dedent(PYPROJECT))
    return pytester


def run(pytester, *args):
    return pytester.runpytest_inprocess(*args)


def edit(pytester, old, new, path="myapp/models.py"):
    target = pytester.path / path
    text = target.read_text()
    assert old in text, old
    target.write_text(text.replace(old, new))


def goldens(pytester, name):
    return {p.name: p.read_bytes() for p in (pytester.path / STORE / name).glob("*.pickle")}


def test_the_app_records_and_replays_green(app):
    result = run(app, "--serialcompat-update")
    result.assert_outcomes(passed=5)
    assert "RecursionError" not in result.stdout.str()
    assert len(goldens(app, "tree")) == pickle_protocols() and goldens(app, "team")
    run(app, "--serialcompat").assert_outcomes(passed=5)


def pickle_protocols():
    return pickle.HIGHEST_PROTOCOL - 1  # the default protocols, 2 to the highest


def test_other_bytes_of_the_same_graphs_replay_green(app):
    """Attributes assigned in another order: other bytes, so the graphs are compared."""
    run(app, "--serialcompat-update").assert_outcomes(passed=5)
    before = {name: goldens(app, name) for name in ("config", "nodes", "team")}
    edit(app, '''        self.name = name
        self.retries = retries
        self.tags = tags''', '''        self.tags = tags
        self.retries = retries
        self.name = name''')
    edit(app, '''        self.name = name
        self.parent = parent
        self.children = []''', '''        self.children = []
        self.parent = parent
        self.name = name''')
    edit(app, '''        self.name = name
        self.perms = perms''', '''        self.perms = perms
        self.name = name''')
    run(app, "--serialcompat").assert_outcomes(passed=5)
    # the goldens are untouched, and they are not what the code writes now
    assert {name: goldens(app, name) for name in before} == before
    for name in before:
        assert fresh_pickle(app, name, 2) != before[name]["%s-p2.pickle" % TAG]


def fresh_pickle(pytester, name, protocol):
    code = ("import pickle, sys; from myapp.models import SAMPLES; "
            "sys.stdout.buffer.write(pickle.dumps(SAMPLES[%r](), %d))" % (name, protocol))
    return subprocess.run([sys.executable, "-c", code], cwd=str(pytester.path), check=True,
                          stdout=subprocess.PIPE).stdout


def test_splitting_the_shared_list_fails_naming_both_paths(app):
    run(app, "--serialcompat-update").assert_outcomes(passed=5)
    edit(app, 'Owner("bob", perms)', 'Owner("bob", list(perms))')
    result = run(app, "--serialcompat", "-k", "team")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "(c) loads but is not equal -- team/%s-p2.pickle*" % TAG,
        "*obj?'owner'?.perms and obj?'deputy'?.perms are one shared object in the golden but "
        "two separate objects now (mutations through one are no longer seen by the other)",
    ])


def test_changing_a_plain_attribute_names_the_path_and_both_values(app):
    run(app, "--serialcompat-update").assert_outcomes(passed=5)
    edit(app, 'Config("svc", 3, ["a", "b"])', 'Config("svc", 4, ["a", "b"])')
    edit(app, 'Node("b", root)', 'Node("B", root)')
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(["(c) loads but is not equal -- config/*", "*obj.retries: 3 != 4*"])
    result.stdout.fnmatch_lines(["(c) loads but is not equal -- nodes/*",
                                 "*obj.children?1?.name: 'b' != 'B'*"])
    text = result.stdout.str()
    assert "__eq__" not in text and " object at 0x" not in text


def test_a_cycle_made_on_one_side_only_fails(app):
    run(app, "--serialcompat-update").assert_outcomes(passed=5)
    edit(app, "x.append(x)", "x.append([])")
    result = run(app, "--serialcompat", "-k", "loop")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*obj?'loop'??0? refers back to obj?'loop'? (a cycle) in the golden, but is a separate "
        "object now*"])


LOSSY = '''
class Report:
    def __init__(self, title):
        self.title = title
        self.cache = None

    def render(self):
        self.cache = "<h1>%s</h1>" % self.title
        return self.cache

    def __reduce__(self):
        return Report, (self.title,)


def report():
    value = Report("q1")
    value.render()
    return value


SAMPLES = {"report": report}
'''


def test_recording_refuses_a_golden_that_would_not_replay_equal(app):
    (app.path / "myapp" / "models.py").write_text(textwrap.dedent(LOSSY))
    result = run(app, "--serialcompat-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "would not replay equal (not recorded) -- report/%s-p2.pickle*" % TAG,
        "*Not recorded: the bytes about to be written do not load back as the same object*",
        "*obj.cache: None != '<h1>q1</h1>' (type NoneType (golden) != str (current))",
        "*fix __reduce__*compare=*",
    ])
    assert not goldens(app, "report")
    assert not list((app.path / STORE / "report").glob("*.manifest.json"))
    # the user decides what counts as the same: compare= records it
    edit(app, 'SAMPLES = {"report": report}', '''from pytest_serialcompat.samples import Sample

SAMPLES = {"report": Sample(report, compare=lambda a, b: a.title == b.title)}''')
    run(app, "--serialcompat-update").assert_outcomes(passed=1)
    assert goldens(app, "report")
    run(app, "--serialcompat").assert_outcomes(passed=1)


NUMPY = '''
import numpy


def grid():
    return {"grid": numpy.array([[1.0, numpy.nan], [3.0, 4.0]]), "ids": numpy.arange(3)}


SAMPLES = {"grid": grid}
'''


def test_numpy_arrays_compare_with_no_hook(app):
    pytest.importorskip("numpy")
    (app.path / "myapp" / "models.py").write_text(textwrap.dedent(NUMPY))
    run(app, "--serialcompat-update").assert_outcomes(passed=1)
    run(app, "--serialcompat").assert_outcomes(passed=1)
    # the same values in Fortran order: other bytes, the same array
    edit(app, "numpy.array([[1.0, numpy.nan], [3.0, 4.0]])",
         "numpy.asfortranarray(numpy.array([[1.0, numpy.nan], [3.0, 4.0]]))")
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=1)
    edit(app, "[3.0, 4.0]", "[5.0, 4.0]")
    result = run(app, "--serialcompat")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*obj?'grid'??1, 0?: 3.0 != 5.0*"])
    assert "ambiguous" not in result.stdout.str()


def test_compare_eq_asks_for_plain_equality(app):
    edit(app, 'SAMPLES = {"config": config', '''from pytest_serialcompat.samples import Sample

SAMPLES = {"config": Sample(config, compare="eq")''')
    result = run(app, "--serialcompat-update", "-k", "config")
    result.assert_outcomes(failed=1)  # Config has no __eq__: == is identity
    result.stdout.fnmatch_lines(["*(== is False)*"])
    edit(app, 'compare="eq"', 'compare="equal"')
    result = run(app, "--serialcompat-update", "-k", "config")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*compare= takes a callable or 'eq', not 'equal'*"])
