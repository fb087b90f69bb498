"""Safety gate, part two (issue 21): BUILD state, what a golden may import, and bounded cost.

Like test_gate_hostile: each golden is planted with a manifest entry that
matches its bytes, replayed by real pytest with no ini settings beyond the
ones a test names, and must be refused (or stopped) with a message that names
what it does; a marker file proves that nothing it names ran.
"""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from plugin_app import INI, make_app, run, write_golden
from pytest_serialcompat.reference import opcodes as op

# modules first imported during an in-process run are dropped afterwards: import them here
from pytest_serialcompat import bounds  # noqa: F401
from pytest_serialcompat.check import budget, replay_pickle, safety  # noqa: F401
from pytest_serialcompat.diagnosis import messages  # noqa: F401
from pytest_serialcompat.reference import allowlist, analyzer, families, tree  # noqa: F401

FOREIGN = "cpython3.7"  # a producer tag this machine never records: the golden is only replayed
GOLDEN = "%s-p4.pickle" % FOREIGN

MODELS = '''
import dataclasses
import enum
import os
import time


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: object
    y: int


class Slow:
    """A project class whose own __setstate__ (the project's deserializer) takes its time."""

    def __setstate__(self, state):
        time.sleep(float(state["seconds"]))
        open(os.environ["SC_MARKER"], "w").close()
'''

UTIL = '''
import logging as _logging
import os as _os
from logging import FileHandler
from pathlib import Path
'''

ADMIN = '''
import os


def reset_db(*args):
    open(os.environ["SC_MARKER"], "w").close()
    return "reset"


def make_point():
    from myapp.models import Point
    return Point(1, 2)
'''

SCRIPT = '''
import os

open(os.environ["SC_MARKER"], "w").close()  # a script's top-level code: runs on import


class Point:
    pass


class Gone:
    pass
'''

TESTS = '''
from myapp.models import Point


def test_point(serialcompat):
    serialcompat.check(Point(bytearray(b"ab"), 2), "point", formats=("pickle",), protocols=(2, 4))
'''

PROJECT_MODULES = ("myapp", "myapp.models", "myapp.util", "myapp.admin", "migrate", "manage")


@pytest.fixture
def app(pytester, monkeypatch):
    """myapp (models, util with module aliases and stdlib re-exports, admin) and root scripts."""
    pytester = make_app(pytester, monkeypatch, MODELS, TESTS)
    (pytester.path / "myapp" / "util.py").write_text(textwrap.dedent(UTIL))
    (pytester.path / "myapp" / "admin.py").write_text(textwrap.dedent(ADMIN))
    for script in ("migrate.py", "manage.py"):
        (pytester.path / script).write_text(textwrap.dedent(SCRIPT))
    marker = pytester.path / "PWNED"
    monkeypatch.setenv("SC_MARKER", str(marker))
    for name in PROJECT_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    run(pytester, "--serialcompat-update").assert_outcomes(passed=1)
    assert not marker.exists()
    pytester.marker = marker
    yield pytester
    for name in PROJECT_MODULES:
        sys.modules.pop(name, None)


# --- a tiny assembler (as in test_gate_hostile) -------------------------------------------------

def u(text):
    raw = text.encode()
    return op.BINUNICODE + len(raw).to_bytes(4, "little") + raw


def sg(module, name):
    return u(module) + u(name) + op.STACK_GLOBAL


def p4(*parts):
    return op.PROTO + b"\x04" + b"".join(parts) + op.STOP


def i1(value):
    return op.BININT1 + bytes([value])


def new(module, name):
    return sg(module, name) + op.EMPTY_TUPLE + op.NEWOBJ


def state(*pairs):
    """An EMPTY_DICT filled by SETITEMS with the given (key bytes, value bytes)."""
    return op.EMPTY_DICT + op.MARK + b"".join(k + v for k, v in pairs) + op.SETITEMS


def plant(app, data):
    write_golden(app, "point", GOLDEN, data, FOREIGN)


def replay(app, extra_ini="", outcome="failed"):
    app.makeini(INI + extra_ini)
    result = run(app, "--serialcompat")
    result.assert_outcomes(**{outcome: 1})
    assert not app.marker.exists(), "the golden ran code"
    return result


def refused(result, *lines):
    result.stdout.fnmatch_lines(["refused by the safety gate (not loaded) -- point/%s*" % GOLDEN,
                                 "*Refused by the safety gate; the golden was NOT loaded*"] + list(lines))


def runs_unguarded(app, data):
    """The oracle: the same bytes, loaded naively in a child interpreter, do run the payload."""
    env = dict(os.environ, SC_MARKER=str(app.marker), PYTHONPATH=str(app.path))
    subprocess.run([sys.executable, "-c", "import pickle,sys; pickle.loads(sys.stdin.buffer.read())"],
                   input=data, env=env, cwd=str(app.path), check=False, capture_output=True, timeout=60)
    made = app.marker.exists()
    if made:
        app.marker.unlink()
    return made


# --- BUILD is judged like a call ----------------------------------------------------------------

@pytest.mark.parametrize("keys", ["with an int key", "str keys only"])
def test_a_planted_setstate_is_refused_whatever_the_other_keys(app, keys):
    """First BUILD plants __setstate__ in the instance dict, the second calls it with golden data."""
    plant_hook = [(u("__setstate__"), sg("myapp.admin", "reset_db"))]
    if keys == "with an int key":
        plant_hook.insert(0, (i1(1), op.NONE))
    data = p4(new("myapp.models", "Point"), state(*plant_hook), op.BUILD, u("payload"), op.BUILD)
    assert runs_unguarded(app, data)
    plant(app, data)
    result = replay(app)
    refused(result, "*myapp.models.Point: BUILD sets the special attribute '__setstate__'*")
    assert "second BUILD on one myapp.models.Point object" in result.stdout.str()
    assert "serialcompat_allow =" not in result.stdout.str()


def test_a_computed_state_key_is_refused(app):
    # str(b"__setstate__", "ascii") is a call the allow-list lets through: its result is a key
    key = sg("builtins", "str") + op.SHORT_BINBYTES + bytes([12]) + b"__setstate__" + u("ascii") + op.TUPLE2 + op.REDUCE
    data = p4(new("myapp.models", "Point"), state((key, sg("myapp.admin", "reset_db"))), op.BUILD,
              u("payload"), op.BUILD)
    assert runs_unguarded(app, data)
    plant(app, data)
    refused(replay(app), "*BUILD state key is the result of builtins.str(...), not a str the pickle wrote*")


@pytest.mark.parametrize("size", ["int", "computed"])
def test_bytearray_of_a_size_is_refused_though_the_sample_pickles_a_bytearray(app, size):
    count = sg("builtins", "int") + u("100000000") + op.TUPLE1 + op.REDUCE if size == "computed" \
        else op.BININT + (100_000_000).to_bytes(4, "little")
    big = sg("builtins", "bytearray") + count + op.TUPLE1 + op.REDUCE
    data = p4(new("myapp.models", "Point"), state((u("x"), big), (u("y"), i1(2))), op.BUILD)
    plant(app, data)
    result = replay(app)
    if size == "int":
        refused(result, "*builtins.bytearray: builtins.bytearray(<int>) allocates that many bytes*")
    else:
        refused(result, "*builtins.bytearray is called on the result of builtins.int(...), whose size the "
                        "golden does not bound*")


@pytest.mark.parametrize("member", ["stdlib", "project"])
def test_build_on_an_enum_member_is_refused_and_the_member_survives(app, member):
    import re as re_module

    if member == "stdlib":
        data = p4(sg("re", "RegexFlag") + i1(2) + op.TUPLE1 + op.REDUCE, state((u("_value_"), i1(99))), op.BUILD)
        expected = "*re.RegexFlag: BUILD on what re.RegexFlag returns changes a shared object (an enum member)*"
    else:
        # constructed, not called (a prefix allows that): Enum.__new__ hands out the shared member
        data = p4(sg("myapp.models", "Color") + u("red") + op.TUPLE1 + op.NEWOBJ,
                  state((u("_value_"), u("blue"))), op.BUILD)
        expected = "*myapp.models.Color: BUILD on a member of the enum myapp.models.Color changes it for the whole run*"
    plant(app, data)
    refused(replay(app), expected)
    assert re_module.RegexFlag(2) is re_module.IGNORECASE and re_module.IGNORECASE.value == 2


@pytest.mark.parametrize("source", ["stdlib", "project"])
def test_build_on_what_a_function_returns_is_refused(app, source):
    if source == "stdlib":  # a cached, shared time zone
        data = p4(sg("zoneinfo", "ZoneInfo._unpickle") + u("UTC") + i1(1) + op.TUPLE2 + op.REDUCE,
                  state((u("key"), u("Mars/Olympus"))), op.BUILD)
        expected = "*zoneinfo.ZoneInfo._unpickle: BUILD on what zoneinfo.ZoneInfo._unpickle returns changes a " \
                   "shared object (a cached time zone)*"
        extra = ""
    else:  # allowed to be called by exact name, but not to have its result given state
        data = p4(sg("myapp.admin", "make_point") + op.EMPTY_TUPLE + op.REDUCE, state((u("x"), i1(5))), op.BUILD)
        expected = "*BUILD on what myapp.admin.make_point returns changes an object the stream did not construct*"
        extra = "serialcompat_allow = myapp.admin.make_point\n"
    plant(app, data)
    refused(replay(app, extra), expected)


# --- what may be imported -------------------------------------------------------------------------

def test_a_root_script_is_never_imported(app):
    data = p4(new("migrate", "Point"))
    assert runs_unguarded(app, data)
    plant(app, data)
    result = replay(app)
    refused(result, "*migrate.Point: not on the allow-list*",
            "*migrate.Point is in a top-level script of the project, which the gate never imports*")
    assert "serialcompat_allow =" not in result.stdout.str()
    # not even when allowed by a word: the gate does not import scripts
    for word in ("migrate", "migrate.Point"):
        refused(replay(app, "serialcompat_allow = %s\n" % word),
                "*migrate.Point is in migrate.py, a top-level script of the project: the gate never imports one*")


def test_the_move_diagnosis_never_imports_or_edits_a_script(app):
    """A missing project class; a class of that name lives in manage.py (importing it runs it)."""
    plant(app, p4(new("myapp.models", "Gone")))
    result = replay(app)
    result.stdout.fnmatch_lines(["*The golden names myapp.models.Gone, which no longer imports*"])
    assert "manage" not in result.stdout.str()


@pytest.mark.parametrize("allow", ["", "serialcompat_allow = myapp.util._os.system\n"])
def test_a_module_alias_in_a_project_module_is_refused(app, allow):
    data = p4(sg("myapp.util", "_os.system") + u("touch " + str(app.marker)) + op.TUPLE1 + op.REDUCE)
    assert runs_unguarded(app, data)
    plant(app, data)
    result = replay(app, allow)
    if allow:
        refused(result, "*myapp.util._os.system walks through '_os', which is the module os*")
    else:
        refused(result, "*REDUCE calls myapp.util._os.system*")


def test_stdlib_helpers_reexported_by_a_project_module_are_refused(app):
    target = app.path / "written.txt"
    handler = p4(new("myapp.util", "FileHandler"),
                 state((u("baseFilename"), u(str(target))), (u("mode"), u("w"))), op.BUILD)
    plant(app, handler)
    refused(replay(app), "*myapp.util.FileHandler is really logging.FileHandler (re-exported)*")
    write = p4(sg("myapp.util", "Path.write_text") + sg("myapp.util", "Path") + u(str(target)) + op.TUPLE1
               + op.NEWOBJ + u("x") + op.TUPLE2 + op.REDUCE)
    plant(app, write)
    refused(replay(app, "serialcompat_allow = myapp.util.Path.write_text\n"),
            "*myapp.util.Path.write_text is really pathlib*.Path.write_text (re-exported)*")
    assert not target.exists()


# --- bounded cost ---------------------------------------------------------------------------------

def test_millions_of_empty_dicts_are_refused_by_the_object_limit(app):
    plant(app, op.PROTO + b"\x04" + op.EMPTY_DICT * 3_000_000 + op.STOP)
    result = replay(app)
    refused(result, "*more than max_nodes=2000000 containers, objects and memo entries*"
                    "(serialcompat_max_objects = 2000000)*",
            "*raise serialcompat_max_objects*")


def test_the_object_limit_is_adjustable(app):
    data = p4(op.EMPTY_LIST + op.MARK + op.EMPTY_DICT * 5000 + op.APPENDS)
    plant(app, data)
    refused(replay(app, "serialcompat_max_objects = 1000\n"), "*(serialcompat_max_objects = 1000)*")
    # under a limit that fits, the golden is judged on its merits: loads, and differs from the sample
    replay(app, "serialcompat_max_objects = 10000\n").stdout.fnmatch_lines(["*(c) loads but is not equal*"])


def test_a_million_nested_tuples_are_refused_by_the_depth_limit(app):
    plant(app, op.PROTO + b"\x04" + op.NONE + op.TUPLE1 * 1_000_000 + op.STOP)
    # refused while building: at the TUPLE1 that makes a value 10002 deep (one past the limit's slack)
    refused(replay(app), "*nesting depth 10002 exceeds max_depth=10000*(serialcompat_max_depth = 10000)*")


def test_a_set_of_colliding_ints_is_refused(app):
    modulus = (1 << 61) - 1
    members = b"".join(op.LONG1 + bytes([12]) + (k * modulus + 7).to_bytes(12, "little", signed=True)
                       for k in range(1, 100_001))
    data = p4(op.EMPTY_SET + op.MARK + members + op.ADDITEMS)
    plant(app, data)
    refused(replay(app), "*distinct keys of one set or dict share one hash (more than max_hash_collisions=64)*",
            "*raise serialcompat_max_hash_collisions*")


@pytest.mark.parametrize("call, expected", [
    (("fractions", "Fraction", "1e50000000"), "*fractions.Fraction is called on '1e50000000', whose exponent "
                                              "exceeds max_exponent=10000*"),
    (("decimal", "Decimal", "1E+999999999"), "*decimal.Decimal is called on '1E+999999999', whose exponent*"),
    (("builtins", "int", "9" * 50_000), "*builtins.int is called on a number of 50000 digits*"),
])
def test_numbers_from_text_that_cost_super_linear_time_are_refused(app, call, expected):
    module, name, text = call
    plant(app, p4(sg(module, name) + u(text) + op.TUPLE1 + op.REDUCE))
    refused(replay(app), expected)


def test_a_slow_load_is_stopped_by_the_time_budget(app):
    data = p4(new("myapp.models", "Slow"), state((u("seconds"), u("30"))), op.BUILD)
    plant(app, data)
    result = replay(app, "serialcompat_load_timeout = 0.5\n")
    result.stdout.fnmatch_lines(["*Loading the golden took longer than serialcompat_load_timeout = 0.5 s; "
                                 "it was stopped.*", "*raise serialcompat_load_timeout*"])


def test_bad_limit_values_are_usage_errors(app):
    app.makeini(INI + "serialcompat_max_depth = deep\n")
    result = run(app, "--serialcompat")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*serialcompat_max_depth: 'deep' is not a whole number*"])


# --- messages -------------------------------------------------------------------------------------

def test_an_unknown_extension_code_is_not_called_denied(app):
    plant(app, op.PROTO + b"\x02" + op.EXT2 + (0x7ff0).to_bytes(2, "little") + op.EMPTY_TUPLE + op.REDUCE + op.STOP)
    result = replay(app)
    refused(result, "*EXT code %d is not in copyreg's extension registry*" % 0x7ff0,
            "*no setting allows an unknown code*")
    assert "Denied globals" not in result.stdout.str()


def test_a_special_attribute_walk_is_not_advised_as_an_allow_word(app):
    walk = (op.GLOBAL + b"builtins\ngetattr\n" + op.MARK + op.GLOBAL + b"builtins\nobject\n"
            + u("__subclasses__") + op.TUPLE + op.REDUCE)
    plant(app, op.PROTO + b"\x02" + walk + op.STOP)
    result = replay(app)
    refused(result, "*builtins.object.__subclasses__ walks through a special attribute or a denied module; "
                    "no setting allows that.*")
    assert not re.search(r"serialcompat_allow = \S", result.stdout.str())
