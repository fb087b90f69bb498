"""The version-neutral tree: equal across interpreters and protocols, JSON round trip, diff, render."""

import collections
import datetime
import json
import pickle

import pytest

from pytest_serialcompat.reference import opcodes as op
from pytest_serialcompat.reference import tree
from pytest_serialcompat.reference.analyzer import Limits, analyze
from pytest_serialcompat.reference.tree import Change

from test_analyzer_corpus import pickles_from


def tree_of(data, **kwargs):
    return analyze(data, **kwargs).tree


def as_json(value):
    return json.dumps(tree.to_dict(value), sort_keys=True)


# --- the same data from CPython 3.8 and 3.13, protocols 2 and 5, C and pure picklers --------------

# Corpus entries whose pickles really differ; diff() must show exactly that.
KNOWN_DIFFERENT = {
    "fraction",  # 3.12+ reduce Fraction(n, d) instead of Fraction('n/d')
    "enums",  # 3.8-3.10 pickle signal/socket members by module-level name
    "paths",  # 3.13 moved the classes to pathlib._local and pickles one str
    "ip",  # IPv6Address reduces to its text since 3.9
    "datetime",  # fold is only written at protocol 4+
    "exceptions",  # below protocol 3, FileNotFoundError is written with its python 2 name OSError
    "zoneinfo",  # no zoneinfo on 3.8
}


@pytest.fixture(scope="module")
def corpus_trees():
    trees = collections.defaultdict(dict)
    for version in ("3.8", "3.13"):
        for key, data in pickles_from(version, "stdlib", protocols=(2, 5)).items():
            if isinstance(data, bytes):
                name, proto, kind = key.split("/")
                trees[name][(version, int(proto), kind)] = tree_of(data)
    return trees


@pytest.mark.slow
def test_same_data_gives_equal_trees_across_versions_and_protocols(corpus_trees):
    compared = 0
    for name, variants in corpus_trees.items():
        if name in KNOWN_DIFFERENT:
            continue
        assert len(variants) == 8, name
        texts = {key: as_json(value) for key, value in variants.items()}
        assert len(set(texts.values())) == 1, (name, texts)
        digests = {tree.digest(value) for value in variants.values()}
        assert len(digests) == 1
        compared += 1
    assert compared >= 25


def changes(old, new):
    return [(c.path, c.kind) for c in tree.diff(old, new)]


@pytest.mark.slow
def test_real_differences_stay_visible(corpus_trees):
    t = corpus_trees
    paths = tree.diff(t["paths"][("3.8", 2, "c")], t["paths"][("3.13", 5, "c")])
    assert Change("obj[0]", "class_changed", "pathlib.PurePosixPath", "pathlib._local.PurePosixPath") in paths
    assert ("obj[4]", "type_changed") in changes(t["enums"][("3.8", 5, "c")], t["enums"][("3.13", 5, "py")])
    assert ("obj[0].__args__[0]", "type_changed") in changes(t["fraction"][("3.8", 2, "c")],
                                                            t["fraction"][("3.13", 2, "c")])
    assert changes(t["ip"][("3.8", 5, "c")], t["ip"][("3.13", 5, "c")]) == [("obj[1].__args__[0]", "type_changed")]
    # within one interpreter the protocol alone can change data: fold=1 is lost below protocol 4
    assert changes(t["datetime"][("3.13", 2, "c")], t["datetime"][("3.13", 5, "c")]) == [
        ("obj[8].__args__[0]", "changed")]
    assert tree.diff(t["exceptions"][("3.13", 2, "c")], t["exceptions"][("3.13", 5, "c")]) == [
        Change("obj[3]", "class_changed", "builtins.OSError", "builtins.FileNotFoundError")]


@pytest.mark.slow
def test_set_order_does_not_depend_on_the_hash_seed():
    one = pickles_from("3.13", "stdlib", protocols=(4,), env_extra={"PYTHONHASHSEED": "1"})["sets/4/c"]
    two = pickles_from("3.13", "stdlib", protocols=(4,), env_extra={"PYTHONHASHSEED": "2"})["sets/4/c"]
    assert one != two  # the members really were written in different orders
    assert as_json(tree_of(one)) == as_json(tree_of(two))


@pytest.mark.slow
def test_json_round_trip_of_every_corpus_tree(corpus_trees):
    for name, variants in corpus_trees.items():
        for value in variants.values():
            encoded = tree.to_dict(value)
            text = json.dumps(encoded)
            back = tree.from_dict(json.loads(text))
            assert json.dumps(tree.to_dict(back)) == text, name
            assert tree.digest(back) == tree.digest(value)
            assert tree.diff(value, back) == []


# --- normalisation, checked in-process ---------------------------------------------------------

class Point:
    def __init__(self, x=0, y=0):
        self.x, self.y = x, y


class Point3D(Point):
    pass


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a=1, b=2):
        self.a, self.b = a, b


class Holder:
    def __init__(self, cache=None, items=(), table=None):
        self.cache = cache
        self.items = list(items)
        self.table = table or {}


class Lock:
    def __init__(self, owner):
        self._lock = owner


def trees_at_all_protocols(value):
    trees = []
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        for dumps in (pickle.dumps, pickle._dumps):
            try:
                data = dumps(value, proto)
            except TypeError:  # __slots__ without __getstate__ needs protocol 2
                assert proto < 2 and isinstance(value, Slotted)
                continue
            trees.append(tree_of(data, allow=[__name__]))
    return trees


@pytest.mark.parametrize("value", [
    Point(1, [2]), Slotted(3, "x"), Holder(Lock("me"), [1, 2], {"k": b"v"}), b"\x00\xffbytes", bytearray(b"ba"),
    {1, 2, 3}, frozenset({"f"}), collections.OrderedDict(a=1), collections.UserList([1, 2]),
    datetime.timezone.utc, type(None), [Ellipsis, NotImplemented],
], ids=lambda v: type(v).__name__)
def test_every_protocol_gives_one_tree(value):
    trees = trees_at_all_protocols(value)
    assert len(trees) >= 8
    texts = {as_json(t) for t in trees}
    assert len(texts) == 1, texts


def test_instance_state_becomes_attributes():
    result = tree.to_dict(tree_of(pickle.dumps(Slotted(3, "x"), 2), allow=[__name__]))
    assert result == {"t": "object", "cls": {"t": "global", "module": __name__, "name": "Slotted"},
                      "attrs": {"a": 3, "b": "x"}}
    assert tree.to_dict(tree_of(pickle.dumps(b"ab", 0))) == {"t": "bytes", "hex": "6162"}
    assert tree.to_dict(tree_of(pickle.dumps(type(None), 0))) == {"t": "global", "module": "builtins",
                                                                  "name": "NoneType"}


# --- diff -----------------------------------------------------------------------------------------

def pickled_tree(value, proto=4):
    return tree_of(pickle.dumps(value, proto), allow=[__name__])


def test_diff_reports_attribute_paths():
    old = Holder(Lock("me"), [1, 2, 3, 4], {"key": 1, "gone": 2})
    new = Holder(Lock("you"), [1, 2, 3, 5, 6], {"key": 1, "new": 3})
    new.extra = True
    result = tree.diff(pickled_tree(old, 2), pickled_tree(new, 5))
    assert sorted(result) == sorted([
        Change("obj.cache._lock", "changed", "'me'", "'you'"),
        Change("obj.items[3]", "changed", "4", "5"),
        Change("obj.items[4]", "added", None, "6"),
        Change("obj.table['gone']", "removed", "2", None),
        Change("obj.table['new']", "added", None, "3"),
        Change("obj.extra", "added", None, "True"),
    ])


def test_diff_class_and_type_changes():
    assert tree.diff(pickled_tree(Point(1, 2)), pickled_tree(Point3D(1, 2))) == [
        Change("obj", "class_changed", __name__ + ".Point", __name__ + ".Point3D")]
    assert tree.diff(pickled_tree([1, 2]), pickled_tree((1, 2))) == [
        Change("obj", "type_changed", "list [1, 2]", "tuple (1, 2)")]
    old = Point(1, 2)
    new = Point(1, 2)
    del new.y
    new.z = 3
    assert sorted(tree.diff(pickled_tree(old), pickled_tree(new))) == [
        Change("obj.y", "removed", "2", None), Change("obj.z", "added", None, "3")]
    assert tree.diff(pickled_tree(Slotted(1, 2)), pickled_tree(Slotted(1, 3))) == [
        Change("obj.b", "changed", "2", "3")]


def test_diff_sets_dict_order_and_limit():
    assert sorted(tree.diff(pickled_tree({1, 2}), pickled_tree({2, 3}))) == [
        Change("obj", "added", None, "3"), Change("obj", "removed", "1", None)]
    reordered = tree.diff(pickled_tree({"a": 1, "b": 2}), pickled_tree({"b": 2, "a": 1}))
    assert reordered == [Change("obj", "changed", "key order ['a', 'b']", "key order ['b', 'a']")]
    many = tree.diff(pickled_tree(list(range(100))), pickled_tree(list(range(1, 101))), limit=7)
    assert len(many) == 7 and many[0] == Change("obj[0]", "changed", "0", "1")
    assert tree.diff(pickled_tree({"x": [1]}), pickled_tree({"x": [1]})) == []


# --- JSON form, cycles, sharing, bounds ------------------------------------------------------

def test_cycles_and_aliasing_survive_the_json_form():
    shared = [1]
    value = [shared, shared]
    value.append(value)
    encoded = tree.to_dict(pickled_tree(value, 2))
    assert encoded["id"] == 0 and encoded["items"][2] == {"t": "ref", "id": 0}
    assert encoded["items"][1] == {"t": "ref", "id": encoded["items"][0]["id"]}
    back = tree.from_dict(json.loads(json.dumps(encoded)))
    assert back.items[2] is back and back.items[0] is back.items[1]
    assert "<cycle>" in tree.render(back)


def test_json_form_of_atoms():
    value = [None, True, 2**60, -3, 1.0, float("-inf"), "s", b"b", bytearray(b"a"), 1j]
    encoded = tree.to_dict(pickled_tree(value))
    assert encoded["items"][:9] == [None, {"t": "bool", "v": True}, {"t": "int", "hex": hex(2**60)}, -3,
                                    {"t": "float", "v": "1.0"}, {"t": "float", "v": "-inf"}, "s",
                                    {"t": "bytes", "hex": "62"}, {"t": "bytearray", "hex": "61"}]
    with pytest.raises(tree.TreeFormatError):
        tree.from_dict({"t": "nonsense"})
    with pytest.raises(tree.TreeFormatError):
        tree.from_dict({"t": "list"})


def test_deep_trees_are_walked_without_recursion():
    depth = 30_000
    data = op.PROTO + b"\x02" + op.EMPTY_LIST * depth + op.APPEND * (depth - 1) + op.STOP
    other = op.PROTO + b"\x02" + op.EMPTY_LIST * depth + op.NONE + op.APPEND * depth + op.STOP
    a = tree_of(data, limits=Limits(max_depth=10**6))
    b = tree_of(other, limits=Limits(max_depth=10**6))
    assert tree.depth(a) == depth
    encoded = tree.to_dict(a)
    json.dumps(encoded)
    restored = tree.from_dict(encoded)  # opaque below JSON_MAX_DEPTH, compared by digest
    assert tree.digest(restored) == tree.digest(a)
    assert tree.diff(a, restored) == []
    found = tree.diff(a, b)
    assert len(found) == 1 and found[0].kind == "added" and found[0].path.startswith("obj[0][0][0]")
    assert tree.diff(tree.from_dict(tree.to_dict(b)), restored)[0].kind == "changed"


def test_render():
    value = {"a": [1, 2.5, None], "b": (b"x",), "c": {7}, "d": datetime.date(2020, 1, 2)}
    text = tree.render(pickled_tree(value))
    assert text == ("{'a': [1, 2.5, None], 'b': (b'x',), 'c': {7}, "
                    "'d': datetime.date(b'\\x07\\xe4\\x01\\x02')}")
    assert tree.render(pickled_tree(list(range(50))), max_items=3) == "[0, 1, 2, ...(47 more)]"
    assert tree.render(pickled_tree(Point(1, 2))) == __name__ + ".Point() {x=1, y=2}"
