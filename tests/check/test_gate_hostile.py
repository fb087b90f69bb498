"""Hostile goldens through the whole plugin: only the safety gate stands between the file and the loader.

Each golden is planted with a manifest entry that matches its bytes, under a
name the store replays, with no ini settings beyond the ones a test names.
Each must be refused, nothing it names may run (a marker file proves it), and
the message must name the global and what the stream does with it.
"""

import copyreg
import os
import subprocess
import sys
import textwrap

import pytest

from plugin_app import INI, make_app, run, write_golden
from pytest_serialcompat.environment import CURRENT
from pytest_serialcompat.reference import opcodes as op

# In-process pytester runs drop modules first imported during a run (see test_plugin_diagnosis);
# numpy and pandas cannot be imported twice in one process, so they are imported here first.
from pytest_serialcompat.reference import allowlist, analyzer, families, tree  # noqa: F401

try:
    import numpy  # noqa: F401
    import pandas  # noqa: F401
except ImportError:
    pass

TAG = CURRENT.tag
FOREIGN = "cpython3.7"  # a producer tag this machine never records: the golden is only replayed

MODELS = '''
import dataclasses
import enum

import vendorlib


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int
    color: Color = Color.RED


class Widget(vendorlib.Base):
    """A project class whose __setstate__ is inherited from a library the project does not allow."""

    def __eq__(self, other):
        return type(other) is Widget and vars(self) == vars(other)
'''

UTIL = '''
from subprocess import run
from os import system as sh
from shutil import rmtree
'''

ADMIN = '''
import os


def reset_db():
    open(os.environ["SC_MARKER"], "w").close()
    return "reset"
'''

VENDOR = '''
import os


class Base:
    def __setstate__(self, state):
        open(os.environ["SC_MARKER"], "w").close()
        self.__dict__.update(state)
'''

TESTS = '''
from myapp.models import Point


def test_point(serialcompat):
    serialcompat.check(Point(1, 2), "point", formats=("pickle",), protocols=(2, 4))
'''


@pytest.fixture
def app(pytester, monkeypatch):
    """myapp (models, util re-exporting subprocess/os/shutil helpers, admin) and vendor/vendorlib.py."""
    pytester = make_app(pytester, monkeypatch, MODELS, TESTS)
    (pytester.path / "myapp" / "util.py").write_text(textwrap.dedent(UTIL))
    (pytester.path / "myapp" / "admin.py").write_text(textwrap.dedent(ADMIN))
    (pytester.path / "vendor").mkdir()  # not a project package: outside rootdir's top level code
    (pytester.path / "vendor" / "vendorlib.py").write_text(textwrap.dedent(VENDOR))
    ini(pytester)
    marker = pytester.path / "PWNED"
    monkeypatch.setenv("SC_MARKER", str(marker))
    for name in ("myapp", "myapp.models", "myapp.util", "myapp.admin", "vendorlib"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    run(pytester, "--serialcompat-update").assert_outcomes(passed=1)
    pytester.marker = marker
    return pytester


def ini(pytester, extra=""):
    pytester.makeini(INI.replace("pythonpath = .", "pythonpath = . vendor") + extra)


# --- a tiny assembler -------------------------------------------------------------------------

def sg(module, name):
    """STACK_GLOBAL module name (protocol 4)."""
    return u(module) + u(name) + op.STACK_GLOBAL


def g(module, name):
    return op.GLOBAL + module.encode() + b"\n" + name.encode() + b"\n"


def u(text):
    raw = text.encode()
    return op.BINUNICODE + len(raw).to_bytes(4, "little") + raw


def p4(*parts):
    return op.PROTO + b"\x04" + b"".join(parts) + op.STOP


def call(func, *args):
    return func + op.MARK + b"".join(args) + op.TUPLE + op.REDUCE


def replay(app, *extra_ini):
    if extra_ini:
        ini(app, "".join(extra_ini))
    result = run(app, "--serialcompat")
    result.assert_outcomes(failed=1)
    assert not app.marker.exists(), "the golden ran code"
    return result


def plant(app, data, filename="%s-p4.pickle" % FOREIGN):
    write_golden(app, "point", filename, data, FOREIGN)


def refused(result, *lines):
    result.stdout.fnmatch_lines(["refused by the safety gate (not loaded) -- point/%s-p4.pickle*" % FOREIGN,
                                 "*Refused by the safety gate; the golden was NOT loaded:*"] + list(lines))


def runs_unguarded(app, data, env_marker=True):
    """The oracle: the same bytes, loaded naively in a child interpreter, do run the payload."""
    env = dict(os.environ, SC_MARKER=str(app.marker),
               PYTHONPATH=os.pathsep.join([str(app.path), str(app.path / "vendor")]))
    subprocess.run([sys.executable, "-c", "import pickle,sys; pickle.loads(sys.stdin.buffer.read())"],
                   input=data, env=env, cwd=str(app.path), check=False, capture_output=True)
    made = app.marker.exists()
    if made:
        app.marker.unlink()
    return made


# --- re-exports under the project -------------------------------------------------------------

@pytest.mark.parametrize("name, args", [
    ("run", lambda m: op.MARK + u("touch") + u(m) + op.LIST + op.TUPLE1),
    ("sh", lambda m: u("touch " + m) + op.TUPLE1),
])
def test_a_reexported_process_helper_called_by_reduce_is_refused(app, name, args):
    data = p4(sg("myapp.util", name) + args(str(app.marker)) + op.REDUCE)
    assert runs_unguarded(app, data)
    plant(app, data)
    result = replay(app)
    refused(result, "*myapp.util.%s: REDUCE calls myapp.util.%s: the allow-list lets the pickle construct it, "
                    "not call it*" % (name, name),
            "*The golden calls myapp.util.%s: not a data reconstructor.*" % name)
    assert "serialcompat_allow =" not in result.stdout.str()
    # even allowed by its exact name, the loader checks what it really is: a re-export, refused naming both
    result = replay(app, "serialcompat_allow = myapp.util.%s\n" % name)
    real = "subprocess.run" if name == "run" else "%s.system" % os.system.__module__
    refused(result, "*myapp.util.%s: myapp.util.%s is really %s (re-exported), and *" % (name, name, real),
            "*myapp.util.%s is not what its name says (a re-export); no setting allows that.*" % name)


def test_a_reexported_rmtree_is_refused_and_the_folder_survives(app):
    victim = app.path / "precious"
    victim.mkdir()
    data = p4(sg("myapp.util", "rmtree") + u(str(victim)) + op.TUPLE1 + op.REDUCE)
    plant(app, data)
    result = replay(app)
    refused(result, "*myapp.util.rmtree: REDUCE calls myapp.util.rmtree*")
    assert victim.is_dir()
    result = replay(app, "serialcompat_allow = myapp.util.rmtree\n")
    refused(result, "*myapp.util.rmtree is really shutil.rmtree (re-exported), and*copies, moves and deletes*")
    assert victim.is_dir()


def test_a_project_function_called_by_reduce_is_refused(app):
    data = p4(sg("myapp.admin", "reset_db") + op.EMPTY_TUPLE + op.REDUCE)
    assert runs_unguarded(app, data)
    plant(app, data)
    result = replay(app)
    refused(result, "*myapp.admin.reset_db: REDUCE calls myapp.admin.reset_db*",
            "*The golden calls myapp.admin.reset_db: not a data reconstructor.*")
    assert "serialcompat_allow =" not in result.stdout.str()


def test_a_project_function_allowed_by_exact_name_runs(app):
    """The other side of the rule: an exact name is the user's word that the call is data."""
    data = p4(sg("myapp.admin", "reset_db") + op.EMPTY_TUPLE + op.REDUCE)
    plant(app, data)
    ini(app, "serialcompat_allow = myapp.admin.reset_db\n")
    result = run(app, "--serialcompat")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*(c) loads but is not equal*"])
    assert app.marker.exists()


@pytest.mark.parametrize("form", ["INST", "OBJ"])
def test_inst_and_obj_call_their_class(app, form):
    if form == "INST":
        data = op.MARK + op.INST + b"myapp.admin\nreset_db\n" + op.STOP
    else:
        data = op.MARK + g("myapp.admin", "reset_db") + op.OBJ + op.STOP
    assert runs_unguarded(app, data)
    plant(app, data)
    refused(replay(app), "*myapp.admin.reset_db: %s calls myapp.admin.reset_db*" % form)


def test_extension_codes_are_judged_like_the_global_they_name(app):
    plant(app, op.PROTO + b"\x02" + op.EXT2 + (0x7ff0).to_bytes(2, "little") + op.EMPTY_TUPLE + op.REDUCE + op.STOP)
    refused(replay(app), "*EXT code %d is not in copyreg's extension registry*" % 0x7ff0)
    copyreg.add_extension("myapp.admin", "reset_db", 0x7ff1)
    try:
        data = op.PROTO + b"\x02" + op.EXT2 + (0x7ff1).to_bytes(2, "little") + op.EMPTY_TUPLE + op.REDUCE + op.STOP
        plant(app, data)
        refused(replay(app), "*myapp.admin.reset_db: REDUCE calls myapp.admin.reset_db*")
    finally:
        copyreg.remove_extension("myapp.admin", "reset_db", 0x7ff1)


def test_getattr_chains_that_reach_a_module_are_refused(app):
    # protocol 2 names nested globals with getattr(owner, "name"): the owner here is a module
    reach = call(g("builtins", "getattr"), g("myapp", "util"), u("subprocess"))
    plant(app, op.PROTO + b"\x02" + call(g("builtins", "getattr"), reach, u("run")) + op.STOP)
    refused(replay(app), "*myapp.util.subprocess: qualname walks through 'subprocess', which names a denied module*")
    # a module itself, named as data and constructed, is refused by what it resolves to
    plant(app, p4(sg("myapp", "models") + op.EMPTY_TUPLE + op.NEWOBJ))
    refused(replay(app), "*myapp.models: myapp.models resolves to the module myapp.models, not a class or function*")


def test_memo_reuse_of_an_allowed_callable_is_judged_at_each_use(app):
    # getattr is used once in the shape pickle writes, then taken from the memo for another walk
    getattr_ = g("builtins", "getattr") + op.BINPUT + b"\x01"
    zoneinfo = "zoneinfo" if sys.version_info >= (3, 9) else "backports.zoneinfo"
    first = getattr_ + g(zoneinfo, "ZoneInfo") + u("_unpickle") + op.TUPLE2 + op.REDUCE + op.POP
    second = op.BINGET + b"\x01" + g("myapp.util", "sh") + u("__call__") + op.TUPLE2 + op.REDUCE
    data = op.PROTO + b"\x02" + first + second + u("touch " + str(app.marker)) + op.TUPLE1 + op.REDUCE + op.STOP
    assert runs_unguarded(app, data)
    plant(app, data)
    refused(replay(app), "*myapp.util.sh.__call__: qualname walks through the special attribute '__call__'*")


def test_build_on_a_class_whose_setstate_is_not_the_projects_is_refused(app):
    data = p4(sg("myapp.models", "Widget") + op.EMPTY_TUPLE + op.NEWOBJ
              + op.EMPTY_DICT + u("a") + op.BININT1 + b"\x01" + op.SETITEM + op.BUILD)
    assert runs_unguarded(app, data)
    plant(app, data)
    result = replay(app)
    refused(result, "*myapp.models.Widget: BUILD on myapp.models.Widget runs vendorlib.Base.__setstate__, "
                    "which is not the project's*",
            "*vendorlib.Base.__setstate__ is not the project's deserializer; allow vendorlib.Base by exact name "
            "only if you trust it*")
    assert "no setting allows" not in result.stdout.str()


def test_a_class_moved_and_reexported_at_its_old_path_passes(app):
    """The fix this tool prints for class moves: the old name now resolves to the moved project class."""
    models = app.path / "myapp" / "models.py"
    text = models.read_text()
    start = text.index("@dataclasses.dataclass\nclass Point:")
    end = text.index("class Widget")
    (app.path / "myapp" / "geometry.py").write_text(
        "import dataclasses\n\nfrom myapp.models import Color\n\n\n" + text[start:end])
    models.write_text(text[:start] + text[end:] + textwrap.dedent('''

        def __getattr__(name):  # old goldens name myapp.models.Point
            if name == "Point":
                from myapp.geometry import Point
                return Point
            raise AttributeError(name)
    '''))
    (app.path / "tests" / "test_app.py").write_text(TESTS.replace("myapp.models", "myapp.geometry"))
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=1)
    assert not app.marker.exists()


# --- third-party families: enabled, and still no calls outside their reconstructors -----------

@pytest.mark.parametrize("payload", ["runstring", "numpy.load", "pandas.eval", "pandas.read_pickle"])
def test_library_functions_are_refused_with_their_families_enabled(app, payload):
    pytest.importorskip("numpy")
    if payload.startswith("pandas"):
        pytest.importorskip("pandas")
    marker = str(app.marker)
    code = "open(%r, 'w').close()" % marker
    if payload == "runstring":
        data = p4(sg("numpy.testing._private.utils", "runstring") + u(code) + op.EMPTY_DICT + op.TUPLE2 + op.REDUCE)
        name = "numpy.testing._private.utils.runstring"
    elif payload == "numpy.load":
        data = p4(sg("numpy", "load") + u(marker) + op.TUPLE1 + op.REDUCE)
        name = "numpy.load"
    elif payload == "pandas.eval":
        data = p4(sg("pandas", "eval") + u("1 + 1") + op.TUPLE1 + op.REDUCE)
        name = "pandas.eval"
    else:
        data = p4(sg("pandas", "read_pickle") + u(marker) + op.TUPLE1 + op.REDUCE)
        name = "pandas.read_pickle"
    if payload == "runstring":
        assert runs_unguarded(app, data)
    plant(app, data)
    result = replay(app, "serialcompat_allow = numpy pandas\n")
    refused(result, "*%s: *REDUCE calls %s, which is not allowed*" % (name, name),
            "*The golden calls %s: not a data reconstructor.*" % name)
    assert "serialcompat_allow =" not in result.stdout.str()


def test_a_family_reconstructor_handed_a_reexport_as_its_class_is_refused(app):
    pytest.importorskip("numpy")
    data = p4(sg("numpy.core.multiarray", "_reconstruct") + sg("myapp.util", "run") + op.MARK + op.BININT1
              + b"\x00" + op.TUPLE + u("b") + op.TUPLE3 + op.REDUCE)
    plant(app, data)
    result = replay(app, "serialcompat_allow = numpy\n")
    refused(result, "*myapp.util.run: myapp.util.run is really subprocess.run (re-exported), and*")


def test_a_curated_reconstructor_of_a_family_that_is_off_is_advised_by_family(app):
    data = p4(sg("numpy.core.multiarray", "_reconstruct") + sg("numpy", "ndarray") + op.MARK + op.BININT1
              + b"\x00" + op.TUPLE + u("b") + op.TUPLE3 + op.REDUCE)
    plant(app, data)
    result = replay(app)
    refused(result, "*numpy.core.multiarray._reconstruct: not enabled: a NumPy data reconstructor of the numpy "
                    "family*",
            "*serialcompat_allow = numpy (a library family, or an exact class)*")
    assert "Denied globals" not in result.stdout.str()


# --- trust is per use -------------------------------------------------------------------------

def test_the_current_pickles_trust_is_per_use():
    from pytest_serialcompat.check import safety
    from pytest_serialcompat.reference.analyzer import analyze

    calls = analyze(p4(sg("myapp.models", "Point") + op.EMPTY_TUPLE + op.REDUCE), allow=["myapp"], tree=False)
    constructs = analyze(p4(sg("myapp.models", "Point") + op.EMPTY_TUPLE + op.NEWOBJ), allow=["myapp"], tree=False)
    point = ("myapp.models", "Point")
    assert constructs.uses == {point: frozenset({"construct"})}
    # the current pickle constructing Point does not vouch for a golden calling it ...
    verdict = safety.decide(calls, ("myapp",), None, safety.trust_of(constructs))
    assert [(r.name, r.use) for r in verdict.refused] == [("myapp.models.Point", "call")]
    # ... its calling Point does
    assert safety.decide(calls, ("myapp",), None, safety.trust_of(calls)).safe
    # and a name the current pickle only names (as a value) vouches for naming it, not for a call
    named = analyze(p4(sg("thirdparty", "Thing")), tree=False)
    called = analyze(p4(sg("thirdparty", "Thing") + op.EMPTY_TUPLE + op.REDUCE), tree=False)
    assert safety.decide(named, (), None, safety.trust_of(named)).safe
    refused = safety.decide(called, (), None, safety.trust_of(named)).refused
    assert [(r.name, r.use) for r in refused] == [("thirdparty.Thing", "call")]


def test_a_constructed_class_whose_new_comes_from_elsewhere_is_refused():
    from pytest_serialcompat.check import safety

    class Sneaky:
        def __new__(cls, *args):  # defined here, in this test module, which is not allowed
            raise AssertionError("never called by the check")

    class Child(Sneaky):
        pass

    Sneaky.__module__, Sneaky.__qualname__ = "vendorlib", "Sneaky"
    Child.__module__, Child.__qualname__ = "myapp.models", "Child"
    problem = safety.identity_problem(("myapp.models", "Child"), Child, frozenset({"construct"}), ("myapp",))
    assert problem == ("constructing myapp.models.Child runs vendorlib.Sneaky.__new__, which is not the "
                       "project's (vendorlib.Sneaky is not on the allow-list)")
    # the user vouches for that library's constructor: a prefix or its exact class name
    for word in ("vendorlib", "vendorlib.Sneaky"):
        assert safety.identity_problem(("myapp.models", "Child"), Child, frozenset({"construct"}),
                                       ("myapp", word)) is None
