"""The object-graph comparison engine: what counts as the same, and where two graphs differ.

Every expected line is written out by hand; the property tests check the engine
against pickle itself (a round trip is the same graph) and against mutations whose
place is known (the reported path must lead to it).
"""

import array
import collections
import dataclasses
import datetime
import decimal
import enum
import pickle
import re
import typing

import pytest
from hypothesis import given, strategies as st

import pickle_samples
from pytest_serialcompat.check.graph_compare import IDENTITY, SHAPE, compare, same

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def lines(golden, current, **options):
    return compare(golden, current, **options).lines()


def round_trip(obj, protocol=pickle.DEFAULT_PROTOCOL):
    return pickle.loads(pickle.dumps(obj, protocol))


# --- the app of the issue --------------------------------------------------------------


class Config:
    def __init__(self, name, retries, tags):
        self.name, self.retries, self.tags = name, retries, tags


class Node:
    def __init__(self, name, parent=None):
        self.name, self.parent, self.children = name, parent, []
        if parent is not None:
            parent.children.append(self)


@dataclasses.dataclass
class Tree:
    name: str
    parent: typing.Optional["Tree"] = None
    children: list = dataclasses.field(default_factory=list)

    def add(self, name):
        child = Tree(name, self)
        self.children.append(child)
        return child


class Owner:
    def __init__(self, name, perms):
        self.name, self.perms = name, perms


def team(shared=True):
    perms = ["read"]
    return {"owner": Owner("ann", perms), "deputy": Owner("bob", perms if shared else ["read"])}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_issue_table_round_trips_at_every_protocol(protocol):
    config = Config("svc", 3, ["a", "b"])
    root = Node("root")
    Node("a", root), Node("b", root)
    tree = Tree("root")
    tree.add("x").add("y")
    loop = []
    loop.append(loop)
    for obj in (config, root, tree, {"loop": loop, "nan": float("nan")}, team()):
        assert lines(round_trip(obj, protocol), obj, protocol=max(protocol, 2)) == []


def test_a_plain_class_differs_by_its_state_with_no_advice_about_eq():
    assert lines(Config("svc", 3, ["a"]), Config("svc", 4, ["a", "b"])) == [
        "obj.retries: 3 != 4",
        "obj.tags: length 1 (golden) != 2 (current)",
    ]


def test_a_changed_node_in_a_tree_with_back_pointers():
    golden, current = Node("root"), Node("root")
    for name in "ab":
        Node(name, golden)
    Node("a", current), Node("B", current)
    assert lines(golden, current) == ["obj.children[1].name: 'b' != 'B'"]


def test_a_shared_list_split_in_two_names_both_paths():
    assert lines(team(shared=True), team(shared=False)) == [
        "obj['owner'].perms and obj['deputy'].perms are one shared object in the golden but "
        "two separate objects now (mutations through one are no longer seen by the other)"]
    assert lines(team(shared=False), team(shared=True)) == [
        "obj['owner'].perms and obj['deputy'].perms are two separate objects in the golden but "
        "one shared object now (a mutation through one is now seen by the other)"]


def test_shared_references_inside_one_list():
    item = {"k": 1}
    assert lines([item, item], [{"k": 1}, {"k": 1}]) == [
        "obj[0] and obj[1] are one shared object in the golden but two separate objects now "
        "(mutations through one are no longer seen by the other)"]
    assert compare([item, item], [{"k": 1}, {"k": 1}]).of_kind(IDENTITY)


def test_a_cycle_on_one_side_only():
    loop = []
    loop.append(loop)
    assert lines(loop, [[]]) == [
        "obj[0] refers back to obj (a cycle) in the golden, but is a separate object now"]
    assert lines([[]], loop) == [
        "obj[0] refers back to obj (a cycle) now, but is a separate object in the golden"]


def test_sharing_differences_are_not_excused_by_eq():
    @dataclasses.dataclass
    class Pair:
        left: list
        right: list

    shared = [1]
    assert Pair(shared, shared) == Pair([1], [1])
    assert lines(Pair(shared, shared), Pair([1], [1])) == [
        "obj.left and obj.right are one shared object in the golden but two separate objects "
        "now (mutations through one are no longer seen by the other)"]


def test_nan_equals_nan_and_negative_zero_differs():
    nan = float("nan")
    assert lines({"x": nan, "c": complex(nan, 1)}, {"x": float("nan"), "c": complex(nan, 1)}) == []
    assert lines([0.0], [-0.0]) == ["obj[0]: 0.0 != -0.0"]
    assert lines(decimal.Decimal("NaN"), decimal.Decimal("NaN")) == []
    assert lines({nan}, {float("nan")}) == []


def test_type_differences_name_both_qualified_names():
    assert lines({"a": 1}, {"a": 1.0}) == ["obj['a']: 1 != 1.0 (type int (golden) != float (current))"]
    assert lines([Config("a", 1, [])], [Node("a")]) == [
        "obj[0]: type test_graph_compare.Config (golden) != test_graph_compare.Node (current)"]


class Slots:
    __slots__ = ("a", "b")

    def __init__(self, a, b=None):
        self.a = a
        if b is not None:
            self.b = b


class TupleState:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __getstate__(self):
        return (self.x, self.y)

    def __setstate__(self, state):
        self.x, self.y = state


class NoState:
    def __init__(self, note):
        self.note = note

    def __getstate__(self):
        return None


class DropsCache:
    def __init__(self, name):
        self.name, self.cache = name, {}

    def __getstate__(self):
        return {"name": self.name}

    def __setstate__(self, state):
        self.name, self.cache = state["name"], {}


class ReduceLosesCache:
    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        return ReduceLosesCache, (self.name,)


def test_slots_getstate_and_setstate():
    assert lines(round_trip(Slots(1, 2)), Slots(1, 2)) == []
    assert lines(Slots(1, 2), Slots(1, 3)) == ["obj.b: 2 != 3"]
    assert lines(Slots(1, 2), Slots(1)) == ["obj.b: only in golden (= 2)"]
    assert compare(Slots(1, 2), Slots(1)).of_kind(SHAPE) == ["obj.b: only in golden (= 2)"]
    assert lines(round_trip(TupleState(1, [2])), TupleState(1, [2])) == []
    assert lines(TupleState(1, [2]), TupleState(1, [3])) == ["obj<state>[1][0]: 2 != 3"]
    # __getstate__ returning None keeps nothing: nothing to compare
    assert lines(NoState("a"), NoState("b")) == []
    cached = DropsCache("n")
    cached.cache["filled"] = True
    assert lines(round_trip(cached), cached) == []  # compared without the cache it drops
    assert lines(DropsCache("n"), DropsCache("m")) == ["obj.name: 'n' != 'm'"]


def test_a_custom_reduce_that_loses_an_attribute_is_seen():
    obj = ReduceLosesCache("n")
    assert lines(round_trip(obj), obj) == []
    obj.cache = {"k": 1}
    assert lines(round_trip(obj), obj) == [
        "obj.cache: only in current (= {'k': 1}); "
        "test_graph_compare.ReduceLosesCache.__reduce__ does not keep it"]


def test_containers_of_the_standard_library():
    od = collections.OrderedDict
    assert lines(od(a=1, b=2), od(b=2, a=1)) == [
        "obj: key order ['a', 'b'] (golden) != ['b', 'a'] (current)"]
    assert lines({"a": 1, "b": 2}, {"b": 2, "a": 1}) == []  # a dict's order is not its equality
    dd = collections.defaultdict
    assert lines(dd(list, a=[1]), dd(set, a=[1])) == [
        "obj.default_factory: <class 'list'> != <class 'set'>"]
    assert lines(collections.deque([1], 3), collections.deque([1], 4)) == ["obj.maxlen: 3 != 4"]
    assert lines(collections.Counter("aab"), collections.Counter("abb")) == [
        "obj['a']: 2 != 1", "obj['b']: 1 != 2"]
    assert lines(array.array("d", [1.0, 2.0]), array.array("d", [1.0, 3.0])) == ["obj[1]: 2.0 != 3.0"]
    assert lines(array.array("d", [float("nan")]), array.array("d", [float("nan")])) == []
    Point = collections.namedtuple("Point", "x y")
    assert lines(Point(1, 2), Point(1, 3)) == ["obj.y: 2 != 3"]
    assert lines({1, 2}, {1, 3}) == ["obj: only in golden: 2", "obj: only in current: 3"]
    assert lines(frozenset({"a"}), frozenset({"a"})) == []


class Color(enum.Enum):
    RED = 1
    BLUE = 2


def test_value_types_and_enums():
    assert lines([Color.RED, datetime.date(2020, 1, 1)], round_trip([Color.RED, datetime.date(2020, 1, 1)])) == []
    assert lines(Color.RED, Color.BLUE) == ["obj: <Color.RED: 1> != <Color.BLUE: 2>"]
    assert lines(re.compile("a+"), re.compile("a+")) == []
    assert lines(decimal.Decimal("1.0"), decimal.Decimal("1.00")) == []  # == equal


class Member:
    def __init__(self, name, level):
        self.name, self.level = name, level


def test_a_set_of_plain_instances_is_matched_by_structure():
    golden = {Member("ann", 1), Member("bob", 2), Member("cy", 3)}
    assert lines(golden, {Member("cy", 3), Member("ann", 1), Member("bob", 2)}) == []
    assert lines(round_trip(golden), golden) == []
    assert lines(golden, {Member("cy", 3), Member("ann", 1), Member("bob", 5)}) == [
        "obj{<test_graph_compare.Member>}.level: 2 != 5"]


class IgnoresNote:
    def __init__(self, value, note):
        self.value, self.note = value, note

    def __eq__(self, other):
        return self.value == other.value


class EqRaises:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        raise RecursionError("deep")


class EqNeverTrue:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return False


def test_own_eq_has_the_final_word_only_where_the_structures_differ():
    assert lines(IgnoresNote(1, "a"), IgnoresNote(1, "b")) == []  # its == ignores the note
    assert lines(IgnoresNote(1, "a"), IgnoresNote(2, "a")) == ["obj.value: 1 != 2"]
    assert lines(EqNeverTrue(1), EqNeverTrue(1)) == []  # the structures match: == not asked
    assert lines([EqRaises(1)], [EqRaises(2)]) == [
        "obj[0].value: 1 != 2",
        "obj[0]: test_graph_compare.EqRaises.__eq__ raised RecursionError",
    ]


def test_a_deep_linked_list_compares_without_recursion():
    def chain(size, changed=None):
        head = None
        for index in range(size):
            node = Member(index if index != changed else -1, head)
            head = node
        return head

    assert same(chain(100_000), chain(100_000))
    [line] = lines(chain(100_000), chain(100_000, changed=7))
    assert line.startswith("obj.level.level.level") and line.endswith(".level.name: 7 != -1")
    assert "...(99970 steps)..." in line  # 99,994 steps: obj, 99,992 links, .name


def test_a_default_repr_is_never_printed():
    text = "\n".join(lines({"m": Member("a", 1)}, {}) + lines([Member("a", 1)], [Config("a", 1, [])]))
    assert " object at 0x" not in text
    assert "obj['m']: only in golden (= <test_graph_compare.Member>)" in text


def test_differences_are_capped_with_a_count():
    outcome = compare([Member(i, i) for i in range(30)], [Member(i, i + 1) for i in range(30)], limit=3)
    assert outcome.lines() == ["obj[0].level: 0 != 1", "obj[1].level: 1 != 2",
                               "obj[2].level: 2 != 3", "... and 27 more differences"]


def test_a_comparator_covers_its_class_wherever_it_is():
    def by_name(a, b):
        return a.name == b.name

    golden, current = [Member("a", 1), {"k": Member("b", 2)}], [Member("a", 9), {"k": Member("b", 8)}]
    assert lines(golden, current, comparator_for={Member: by_name}.get) == []
    assert len(lines(golden, current)) == 2


def test_numpy_arrays_out_of_the_box():
    numpy = pytest.importorskip("numpy")
    arr = numpy.array([[1.0, numpy.nan], [3.0, 4.0]])
    for protocol in PROTOCOLS:
        assert lines(round_trip(arr, protocol), arr, protocol=max(protocol, 2)) == []
    changed = arr.copy()
    changed[1, 0] = 5.0
    assert lines(arr, changed) == ["obj[1, 0]: 3.0 != 5.0"]
    assert lines(arr, arr.astype("float32")) == [
        "obj.dtype: dtype('float64') != dtype('float32')"]
    assert lines(arr, arr.reshape(4)) == ["obj.shape: (2, 2) != (4,)"]
    assert lines({"a": numpy.float64("nan")}, {"a": numpy.float64("nan")}) == []


def test_pandas_objects_out_of_the_box():
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"a": [1.0, float("nan")], "b": ["x", "y"]})
    assert lines(round_trip(frame), frame) == []
    assert lines(round_trip(frame["a"]), frame["a"]) == []
    changed = frame.copy()
    changed.loc[1, "b"] = "z"
    [line] = lines(frame, changed)
    assert line.startswith("obj: ") and 'column name="b"' in line


# --- properties --------------------------------------------------------------------------


@given(pickle_samples.values(), st.sampled_from(PROTOCOLS))
def test_a_pickle_round_trip_is_the_same_graph(value, protocol):
    try:
        data = pickle.dumps(value, protocol)
    except Exception:
        return  # some samples do not pickle at low protocols
    outcome = compare(pickle.loads(data), value, protocol=max(protocol, 2))
    assert outcome.same, outcome.lines()


class Box:
    """A node of a generated graph: a value and links to other nodes."""

    def __init__(self, value):
        self.value, self.links = value, []


LEAVES = st.one_of(st.integers(-3, 3), st.text("ab", max_size=2), st.sampled_from([0.5, -0.0, float("nan")]))


@st.composite
def graphs(draw):
    """Boxes linked at random (sharing, cycles), all reachable from boxes[0]."""
    boxes = [Box(draw(LEAVES)) for _ in range(draw(st.integers(2, 8)))]
    for index in range(1, len(boxes)):  # a spanning tree first: every box is reachable
        boxes[draw(st.integers(0, index - 1))].links.append(boxes[index])
    for _ in range(draw(st.integers(0, 6))):  # then extra links: shared nodes and cycles
        boxes[draw(st.integers(0, len(boxes) - 1))].links.append(
            boxes[draw(st.integers(0, len(boxes) - 1))])
    return boxes


def resolve(root, path):
    """Follow a reported path (``obj.links[2].value``) through a graph."""
    assert path.startswith("obj")
    value = root
    for attr, index in re.findall(r"\.(\w+)|\[(\d+)\]", path[3:]):
        value = getattr(value, attr) if attr else value[int(index)]
    return value


def reported_paths(line):
    return re.findall(r"\bobj(?:\.\w+|\[\d+\])*(?!\w)", line)


@given(graphs(), st.sampled_from(PROTOCOLS), st.data())
def test_one_mutation_is_found_where_it_was_made(boxes, protocol, data):
    golden = pickle.loads(pickle.dumps(boxes[0], protocol))
    assert compare(golden, boxes[0], protocol=max(protocol, 2)).same
    mutation = data.draw(st.sampled_from(["leaf", "split", "merge"]))
    if mutation == "leaf":
        target = data.draw(st.sampled_from(boxes))
        target.value = "changed"
        [line] = lines(golden, boxes[0])
        [path] = reported_paths(line)
        assert path.endswith(".value") and resolve(boxes[0], path[:-len(".value")]) is target
        return
    # links to one box from two places: "split" gives the second its own copy; "merge"
    # starts from two equal boxes and makes both links point at the first
    holder, other = data.draw(st.sampled_from(boxes)), data.draw(st.sampled_from(boxes))
    twin = Box(data.draw(LEAVES))
    holder.links.append(twin)
    other.links.append(twin if mutation == "split" else Box(twin.value))
    golden = pickle.loads(pickle.dumps(boxes[0], protocol))
    assert compare(golden, boxes[0], protocol=max(protocol, 2)).same
    if mutation == "split":
        other.links[-1] = Box(twin.value)
        expected = "one shared object in the golden but two separate objects now"
    else:
        other.links[-1] = twin
        expected = "two separate objects in the golden but one shared object now"
    [line] = lines(golden, boxes[0])
    assert expected in line
    first, second = reported_paths(line)
    assert {id(resolve(boxes[0], first)), id(resolve(boxes[0], second))} <= {
        id(twin), id(other.links[-1])}
    assert second.endswith("]")
