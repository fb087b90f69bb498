"""The analyzer's nesting depth, kept while the graph is built (issue 18: deep streams cost nothing).

Every building opcode, chained, is refused at the level that crosses
``max_depth`` with the message of the limit; one level less is accepted with
the depth the graph walk (``tree.depth``) measures.  On ordinary pickles
(CPython's, with sharing and cycles, hostile and malformed corpora, generated
graphs) the depth limit falls exactly where the walk puts it: accepted at the
walked depth, refused one below.
"""

import pickle
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_serialcompat.reference import opcodes as op
from pytest_serialcompat.reference import tree
from pytest_serialcompat.reference.analyzer import Limits, analyze
from pytest_serialcompat.reference.errors import MalformedPickle

from test_analyzer import HOSTILE, MALFORMED, all_pickles, benign_values

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
HUGE = Limits(max_depth=10**6)


def u(text):
    raw = text.encode()
    return op.BINUNICODE + len(raw).to_bytes(4, "little") + raw


def sg(module, name):
    return u(module) + u(name) + op.STACK_GLOBAL


GET0, PUT0, GET1, PUT1 = op.BINGET + b"\x00", op.BINPUT + b"\x00", op.BINGET + b"\x01", op.BINPUT + b"\x01"
SEED = op.NONE + op.TUPLE1 + PUT0 + op.POP  # memo 0: (None,)
CLASS = sg("tests.depth", "C") + PUT1 + op.POP  # memo 1: a class (a finding, not an error)
FUNC = sg("builtins", "list") + PUT1 + op.POP

# name -> (setup, level): each level wraps memo 0 in one or two more levels and stores it there
CHAINS = {
    "TUPLE1": (SEED, GET0 + op.TUPLE1),
    "TUPLE2": (SEED, GET0 + op.NONE + op.TUPLE2),
    "TUPLE3": (SEED, op.NONE + GET0 + op.NONE + op.TUPLE3),
    "MARK TUPLE": (SEED, op.MARK + op.NONE + GET0 + op.NONE + op.TUPLE),
    "MARK LIST": (SEED, op.MARK + GET0 + op.NONE + op.LIST),
    "MARK DICT": (SEED, op.MARK + op.NONE + GET0 + op.DICT),
    "FROZENSET": (SEED, op.MARK + GET0 + op.FROZENSET),
    "APPEND": (SEED, op.EMPTY_LIST + op.NONE + op.APPEND + GET0 + op.APPEND),
    "APPENDS": (SEED, op.EMPTY_LIST + op.MARK + op.NONE + GET0 + op.NONE + op.APPENDS),
    "SETITEM": (SEED, op.EMPTY_DICT + op.NONE + GET0 + op.SETITEM),
    "SETITEMS": (SEED, op.EMPTY_DICT + op.MARK + GET0 + op.NONE + op.NONE + GET0 + op.SETITEMS),
    "ADDITEMS": (SEED, op.EMPTY_SET + op.MARK + op.NONE + GET0 + op.ADDITEMS),
    "BUILD dict": (SEED + CLASS, GET1 + op.EMPTY_TUPLE + op.NEWOBJ + op.EMPTY_DICT + u("a") + GET0
                   + op.SETITEM + op.BUILD),
    "BUILD slots": (SEED + CLASS, GET1 + op.EMPTY_TUPLE + op.NEWOBJ + op.NONE + op.EMPTY_DICT + u("a")
                    + GET0 + op.SETITEM + op.TUPLE2 + op.BUILD),
    "BUILD state": (SEED + CLASS, GET1 + op.EMPTY_TUPLE + op.NEWOBJ + GET0 + op.BUILD),
    "REDUCE": (SEED + FUNC, GET1 + op.MARK + GET0 + op.TUPLE + op.REDUCE),
    "NEWOBJ": (SEED + CLASS, GET1 + GET0 + op.TUPLE1 + op.NEWOBJ),
    "NEWOBJ_EX": (SEED + CLASS, GET1 + op.EMPTY_TUPLE + op.EMPTY_DICT + u("k") + GET0 + op.SETITEM
                  + op.NEWOBJ_EX),
    "OBJ": (SEED + CLASS, op.MARK + GET1 + GET0 + op.OBJ),
    "INST": (SEED, op.MARK + GET0 + op.INST + b"tests.depth\nC\n"),
    "BINPERSID": (SEED, GET0 + op.BINPERSID),
    "object items": (SEED + CLASS, GET1 + op.EMPTY_TUPLE + op.NEWOBJ + GET0 + op.APPEND),
    "text APPEND": (b"(lp0\n0", b"(lg0\na"),
    "text SETITEM": (b"(dp0\n0", b"(dI1\ng0\ns"),
}


def chain(name, levels):
    setup, level = CHAINS[name]
    store = b"p0\n0" if name.startswith("text") else PUT0 + op.POP
    head = b"" if name.startswith("text") else op.PROTO + b"\x04"
    get = b"g0\n" if name.startswith("text") else GET0
    body = head + setup + (level + store) * levels
    return body + get + op.STOP, len(body) - len(level + store), len(body)


def refusal(data, limits, tree_mode):
    with pytest.raises(MalformedPickle) as info:
        analyze(data, limits=limits, tree=tree_mode, allow_persistent_ids=True)
    return str(info.value), info.value.offset


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_each_building_opcode_is_refused_at_the_level_that_crosses_the_limit(name):
    data, last_level, end = chain(name, 30)
    depth = analyze(data, limits=HUGE, allow_persistent_ids=True).max_depth
    assert depth >= 30
    for tree_mode in (True, False):
        # just under: accepted, and the walk agrees with the depth kept while building
        result = analyze(data, limits=Limits(max_depth=depth), tree=tree_mode, allow_persistent_ids=True)
        if tree_mode:
            assert result.max_depth == depth == tree.depth(result.tree) == result.tree.depth
        message, offset = refusal(data, Limits(max_depth=depth - 1), tree_mode)
        if name.startswith("BUILD slots"):  # the (None, dict) state pair is one level deeper
            assert message.startswith("object nesting depth %d exceeds max_depth=%d" % (depth + 1, depth - 1))
        else:  # the graph itself is held to the limit, at STOP
            assert message.startswith("object nesting depth %d exceeds max_depth=%d" % (depth, depth - 1))
            assert offset == len(data) - 1
        # two below: refused while building, at the opcode that built the deepest level
        message, offset = refusal(data, Limits(max_depth=depth - 2), tree_mode)
        assert re.match(r"object nesting depth (%d|%d) exceeds max_depth=%d " % (depth, depth + 1, depth - 2),
                        message), message
        first = last_level - (end - last_level if name.startswith("BUILD slots") else 0)
        assert first <= offset < end


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_a_deep_chain_is_refused_at_the_first_crossing_of_the_default_limit(name):
    data, _, _ = chain(name, 10_100)
    message, offset = refusal(data, None, False)  # the gate's mode (the tree mode: the test above)
    assert message.startswith("object nesting depth 10002 exceeds max_depth=10000"), message
    assert offset < len(data) - 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_million_nested_tuples_stop_at_depth_10002(protocol):
    data = op.PROTO + bytes([protocol]) + op.EMPTY_TUPLE + op.TUPLE1 * 1_000_000 + op.STOP
    for tree_mode in (True, False):
        assert refusal(data, None, tree_mode) == (
            "object nesting depth 10002 exceeds max_depth=10000 (at byte %d)" % (3 + 10_000), 3 + 10_000)


def test_stack_shaped_chains_stop_at_depth_10002():
    lists = op.PROTO + b"\x02" + op.EMPTY_LIST * 30_000 + op.APPEND * 29_999 + op.STOP
    pairs = op.PROTO + b"\x02" + op.NONE + (op.NONE + op.TUPLE2) * 500_000 + op.STOP
    dicts = op.PROTO + b"\x02" + op.EMPTY_DICT * 30_000 + (op.NONE + op.SETITEM) * 29_999 + op.STOP
    for data in (lists, pairs, dicts):
        assert refusal(data, None, False)[0].startswith("object nesting depth 10002 exceeds max_depth=10000")


def test_a_deep_value_the_stream_drops_is_refused_too():
    """The real loader builds it whether or not it ends in the result."""
    data = op.PROTO + b"\x02" + op.NONE + op.TUPLE1 * 20_000 + op.POP + op.NONE + op.STOP
    assert refusal(data, None, False)[0].startswith("object nesting depth 10002 exceeds")
    assert analyze(data, limits=Limits(max_depth=20_000), tree=False).safe


def test_extending_a_shared_container_is_measured_by_the_walk():
    """A list read back from the memo, then extended: its holders are measured on the final graph."""
    # memo 0: L; T = (L,) wraps it; then 30 levels are appended into L through the memo
    data = (op.PROTO + b"\x02" + op.EMPTY_LIST + PUT0 + op.TUPLE1 + PUT1 + op.POP
            + GET0 + op.EMPTY_LIST * 30 + op.APPEND * 30 + op.POP + GET1 + op.STOP)
    depth = analyze(data, limits=HUGE).max_depth
    assert depth == 32  # the tuple, the list, the 30 appended levels
    assert analyze(data, tree=False, limits=Limits(max_depth=depth)).safe
    for tree_mode in (True, False):
        message, offset = refusal(data, Limits(max_depth=depth - 1), tree_mode)
        assert message.startswith("object nesting depth %d exceeds max_depth=%d" % (depth, depth - 1))


# --- the limit falls where the walk puts it, on every corpus ---------------------------------------

def assert_limit_at_walked_depth(data):
    try:
        result = analyze(data, limits=HUGE, allow_persistent_ids=True)
    except MalformedPickle:
        return
    depth = result.max_depth
    assert depth == tree.depth(result.tree)
    if type(result.tree) is tree.Node and not any(
            result.opcode_counts.get(name) for name in ("GET", "BINGET", "LONG_BINGET", "DUP")):
        assert result.tree.depth == depth  # nothing shared: the kept depth is exact
    for tree_mode in (True, False):
        try:
            at_limit = analyze(data, limits=Limits(max_depth=depth), tree=tree_mode, allow_persistent_ids=True)
        except MalformedPickle as exc:
            assert "MARK nesting deeper" in str(exc), str(exc)  # marks open deeper than the graph nests
            continue
        assert at_limit.unsafe == result.unsafe and at_limit.globals == result.globals
        if depth:
            message, offset = refusal(data, Limits(max_depth=depth - 1), tree_mode)
            # the graph at STOP, or a wrapper pickle's shapes drop (one deeper) while building
            assert re.match(r"(object nesting depth (%d|%d) exceeds|MARK nesting deeper than) max_depth=%d "
                            % (depth, depth + 1, depth - 1), message), message


class Node:
    def __init__(self, parent=None):
        self.parent, self.children = parent, []
        if parent is not None:
            parent.children.append(self)


def cyclic_values():
    self_list = []
    self_list.append(self_list)
    self_dict = {}
    self_dict["me"] = [self_dict, (self_dict,)]
    tuple_loop = ([],)
    tuple_loop[0].append(tuple_loop)
    root = Node()
    for _ in range(3):
        child = Node(root)
        Node(Node(child))
    inner = [[1], {"k": (2,)}]
    ring = [[] for _ in range(5)]
    for a, b in zip(ring, ring[1:] + ring[:1]):
        a.append(b)
    return [self_list, self_dict, tuple_loop, root, [inner, inner, (inner, [inner])], ring,
            {"deep": [[[[[[[]]]]]]], "shared": inner}]


def test_the_limit_falls_at_the_walked_depth_on_every_corpus():
    for value in benign_values() + cyclic_values():
        for _, data in all_pickles(value):
            assert_limit_at_walked_depth(data)
    for data, _ in HOSTILE.values():
        assert_limit_at_walked_depth(data)
    for entry in MALFORMED.values():
        assert_limit_at_walked_depth(entry[0] if isinstance(entry, tuple) else entry)


_ATOMS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=4))
_HASHABLE = st.recursive(_ATOMS, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6)
_VALUES = st.recursive(_ATOMS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
    st.dictionaries(_HASHABLE, inner, max_size=4), st.frozensets(_HASHABLE, max_size=4)), max_leaves=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_VALUES, st.integers(min_value=0, max_value=2), st.sampled_from(list(PROTOCOLS)))
def test_generated_graphs_with_sharing_and_cycles(value, share, protocol):
    if share:
        box = [value, (value, [value])]
        if share == 2:
            box[1][1].append(box)  # a cycle through a shared list
        value = box
    try:
        data = pickle.dumps(value, protocol)
    except (RecursionError, ValueError):
        return
    assert_limit_at_walked_depth(data)
    assert_limit_at_walked_depth(pickle._dumps(value, protocol))
