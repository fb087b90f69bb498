"""check_spawn_safe: real spawn children, one precise reason per way of going wrong."""

import sys
import textwrap
import types

import pytest

from pytest_serialcompat.check.spawn import SpawnProblem, run_in_spawn_child

TARGETS = '''
import os
import threading
import time


def add(a, b, scale=1):
    return (a + b) * scale


def pid():
    return os.getpid()


def boom(message):
    raise ValueError(message)


def sleepy(seconds):
    time.sleep(seconds)


class Holder:
    def __init__(self):
        self.cache = Cache()


class Cache:
    def __init__(self):
        self._lock = threading.Lock()
'''


@pytest.fixture
def targets(tmp_path, monkeypatch):
    """A real module the spawn child can import (the child inherits sys.path)."""
    name = "serialcompat_spawn_targets_%d" % id(tmp_path)
    (tmp_path / (name + ".py")).write_text(textwrap.dedent(TARGETS))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__(name)
    yield module
    sys.modules.pop(name, None)


def test_module_level_function_runs_in_a_real_child(targets):
    assert run_in_spawn_child(targets.add, (2, 3), {"scale": 10}, timeout=60) == 50
    import os

    assert run_in_spawn_child(targets.pid, timeout=60) != os.getpid()


def test_lambda_is_refused_without_spawning():
    with pytest.raises(SpawnProblem, match=r"is a lambda: .*Define a module-level function"):
        run_in_spawn_child(lambda: 1)


def test_nested_function_names_its_outer_function():
    def inner():
        return 1

    with pytest.raises(SpawnProblem) as info:
        run_in_spawn_child(inner)
    assert "nested function defined inside test_nested_function_names_its_outer_function()" in str(
        info.value)


def test_main_only_definition():
    def main_func():
        return 1

    main_func.__module__ = "__main__"
    main_func.__qualname__ = "main_func"
    with pytest.raises(SpawnProblem, match=r"main_func is defined only in __main__"):
        run_in_spawn_child(main_func)


def test_unpicklable_argument_has_its_path(targets):
    with pytest.raises(SpawnProblem) as info:
        run_in_spawn_child(targets.add, (1,), {"b": targets.Holder()})
    assert "argument does not pickle: kwargs['b'].cache._lock: _thread.lock" in str(info.value)


def test_module_the_child_cannot_import(targets, monkeypatch):
    ghost = types.ModuleType("serialcompat_ghost_module")
    exec("def work():\n    return 1\n", ghost.__dict__)
    monkeypatch.setitem(sys.modules, "serialcompat_ghost_module", ghost)
    with pytest.raises(SpawnProblem) as info:
        run_in_spawn_child(ghost.work, timeout=60)
    text = str(info.value)
    assert "could not load the target serialcompat_ghost_module.work by reference" in text
    assert "No module named 'serialcompat_ghost_module'" in text


def test_exception_in_child_and_timeout(targets):
    with pytest.raises(SpawnProblem, match=r"raised in the spawn child:(.|\n)*ValueError: kaput"):
        run_in_spawn_child(targets.boom, ("kaput",), timeout=60)
    with pytest.raises(SpawnProblem, match=r"did not finish within 1 s"):
        run_in_spawn_child(targets.sleepy, (30,), timeout=1)


def test_fixture_fails_the_test_with_the_reason(pytester):
    pytester.makepyfile(test_spawn='''
        def helper(x):
            return x * 2

        def test_ok(serialcompat):
            assert serialcompat.check_spawn_safe(helper, 21) == 42

        def test_nested(serialcompat):
            def job():
                return 1
            serialcompat.check_spawn_safe(job)
    ''')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*serialcompat: not spawn-safe: test_spawn.test_nested.<locals>.job is a nested function "
        "defined inside test_nested()*",
    ])
