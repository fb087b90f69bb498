"""Upgrade compatibility of an object loaded from old data with today's object (check/upgrade.py).

The old objects here are made the way old data makes them: an instance of
today's class whose state is what the old release pickled (``__dict__`` set
directly, no ``__init__``), as ``pickle`` rebuilds it.
"""

import dataclasses
import decimal

from pytest_serialcompat.check.upgrade import check, has_class_default


class Job:
    retries = 3

    def __init__(self, name, hosts, retries=3, timeout=10):
        self.name = name
        self.hosts = hosts
        self.retries = retries
        self.timeout = timeout


def old(cls, **state):
    """An instance as unpickling old state rebuilds it: no __init__, just the state."""
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


def test_an_attribute_with_a_class_default_is_compatible_one_without_is_not():
    loaded = old(Job, name="a", hosts=["x"])
    found = check(loaded, Job("a", ["x"]))
    assert found.lacking == ["obj.timeout"]          # retries has a class default, timeout not
    assert not found.ok
    assert found.types == [] and found.left_behind == []


def test_values_may_differ_types_may_not():
    found = check(old(Job, name="a", hosts=["x"], timeout=5), Job("b", ["y", "z"], timeout=7))
    assert found.ok
    assert "obj.name: 'a' != 'b'" in found.values
    assert any(line.startswith("obj.hosts") for line in found.values)
    found = check(old(Job, name="a", hosts=["x"], timeout=decimal.Decimal("5")), Job("a", ["x"]))
    assert found.types == [("obj.timeout", "decimal.Decimal", "int")]
    assert not found.ok


def test_none_is_a_value_an_optional_field_may_hold():
    assert check(old(Job, name=None, hosts=["x"], timeout=5), Job("a", ["x"])).ok


def test_nested_paths_and_left_behind_attributes():
    loaded = {"jobs": [old(Job, name="a", hosts=[], timeout=1, legacy_flag=True)]}
    found = check(loaded, {"jobs": [Job("a", [])]})
    assert found.ok
    assert found.left_behind == ["obj['jobs'][0].legacy_flag (= True)"]


@dataclasses.dataclass
class Settings:
    name: str
    level: int = 1
    tags: list = dataclasses.field(default_factory=list)


def test_dataclass_defaults_count_default_factories_do_not():
    found = check(old(Settings, name="a"), Settings("a"))
    assert found.lacking == ["obj.tags"]   # level = 1 is a class attribute; tags has none


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = 1
        self.b = 2


class Lazy:
    def __init__(self):
        self.a = 1

    def __getattr__(self, name):
        return None


def test_slots_are_no_default_and_getattr_computes_what_is_missing():
    assert not has_class_default(Slotted, "b")
    assert has_class_default(Job, "retries") and not has_class_default(Job, "timeout")
    assert has_class_default(Lazy, "anything")
    loaded = Slotted.__new__(Slotted)
    loaded.a = 1
    assert check(loaded, Slotted()).lacking == ["obj.b"]


def test_the_same_object_is_compatible_and_says_nothing():
    job = Job("a", ["x"])
    found = check(old(Job, **vars(job)), job)
    assert found.ok and not found.values and not found.left_behind and not found.lacking
