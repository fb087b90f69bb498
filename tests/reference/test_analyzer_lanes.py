"""The analyzer's fast lanes for class instances against the same machine without them.

``_build_machine(lanes=False)`` is the analyzer as it was before the lanes
(NEWOBJ/BUILD of a plain instance, the class opcodes in the atom run, the
MEMOIZE/BINPUT fused after a string): every difference in the result -- the
whole ``to_dict()``, the fields the gate reads, the error and its offset -- is
a failure.  Inputs: class-bearing pickles shaped like the plugin benchmark's
goldens (dataclasses, an Enum, dates, frozensets, dicts; plain classes with
back-pointers) at every protocol, generated instance graphs, mutations of
them, the hostile/malformed/benign corpora of test_analyzer.py, under the
default limits and under tight ones (depth, memo, the counted loop).
"""

import dataclasses
import datetime
import enum
import pickle
import sys

import pytest
from hypothesis import given, settings, strategies as st

from pytest_serialcompat.reference import allowlist
from pytest_serialcompat.reference import opcodes as op
from pytest_serialcompat.reference import analyzer as A
from pytest_serialcompat.reference.errors import MalformedPickle

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
HERE = __name__.split(".")[0]  # the module name the pickles below name
WORDS = [(HERE,), (), (HERE, "datetime")]

FAST = A._build_machine(lanes=True)
SLOW = A._build_machine(lanes=False)


# --- class-bearing values: the plugin benchmark's goldens, in small -----------------------

class Status(enum.Enum):
    OPEN = "open"
    PAID = "paid"


@dataclasses.dataclass
class Customer:
    id: int
    name: str
    email: str


@dataclasses.dataclass
class Line:
    sku: str
    quantity: int
    price_cents: int


@dataclasses.dataclass
class Order:
    id: int
    customer: Customer
    lines: list
    status: Status
    created: datetime.date
    notes: str
    labels: frozenset
    meta: dict


class Account:
    def __init__(self, n):
        self.id = n
        self.owner = Person(n)
        self.entries = [Entry(self, i) for i in range(n % 3 + 1)]
        self.branch = Branch(self)
        self.settings = {"currency": "EUR", "limit": 1000, "alerts": bool(n % 2)}


class Person:
    def __init__(self, n):
        self.id, self.name = n, "person-%d" % n


class Entry:
    def __init__(self, account, i):
        self.account, self.index, self.amount, self.memo = account, i, i * 7, "entry %d" % i


class Branch:
    def __init__(self, account):
        self.account, self.owner, self.city = account, account, "city"


class Box:
    """An instance with whatever attributes a test gives it."""


def order(n, reverse=False):
    meta = [("channel", "web"), ("region", "eu-%d" % (n % 4)), ("priority", n % 3)]
    if reverse:
        meta.reverse()
    return Order(n, Customer(n % 97, "customer-%d" % n, "c%d@example.org" % n),
                 [Line("sku-%d-%d" % (n, i), i + 1, 100 * i) for i in range(1 + n % 4)],
                 list(Status)[n % 2], datetime.date(2020, 1, 1) + datetime.timedelta(days=n),
                 "order %d" % n, frozenset({"priority", "gift", "bulk"}), dict(meta))


def golden_values():
    values = [order(n) for n in range(4)] + [order(n, reverse=True) for n in range(2)]
    values += [Account(n) for n in range(3)]
    odd = Box()
    odd.__dict__.update({"__setstate__": 1, "x": Line("a", 1, 2)})  # a special key: the general path
    twice = Customer(1, "a", "b")
    values += [odd, [twice, twice, Box()], {"k": order(5)}, (Status.PAID, Customer(2, "x" * 300, "y"))]
    return values


def class_pickles():
    for value in golden_values():
        for proto in PROTOCOLS:
            yield pickle.dumps(value, proto)
            yield pickle._dumps(value, proto)


# --- the comparison ----------------------------------------------------------------------

def outcome(machine, data, words, limits, tree):
    """What one machine answers: the results the gate and the tree mode read, or the error."""
    try:
        found = machine(data, allowlist.check_prefixes(words), limits, False, tree)
    except MalformedPickle as exc:
        return ("malformed", str(exc), exc.offset)
    return ("analysis", found.to_dict(), found.protocol, list(found.globals), list(found.unsafe),
            dict(found.uses), list(found.calls), found.end, found.memo_size)


LIMITS = [A.DEFAULT_LIMITS, A.Limits(max_depth=3), A.Limits(max_depth=2), A.Limits(max_depth=1), A.Limits(max_memo=5),
          A.Limits(max_ops=10_000, max_nodes=10_000)]  # the counted loop (plain handlers)


def assert_same(data, words=(HERE,), limits=A.DEFAULT_LIMITS, modes=(False, True)):
    for tree in modes:
        fast = outcome(FAST, data, words, limits, tree)
        slow = outcome(SLOW, data, words, limits, tree)
        assert fast == slow, (data, words, limits, tree)
    return fast


def test_class_bearing_pickles_at_every_protocol_give_the_same_results():
    answered = 0
    for data in class_pickles():
        for words in WORDS:
            if assert_same(data, words)[0] == "analysis":
                answered += 1
    assert answered == len(list(class_pickles())) * len(WORDS)  # none of them is malformed


@pytest.mark.parametrize("limits", LIMITS[1:])
def test_tight_limits_fail_or_pass_the_same_way(limits):
    for data in list(class_pickles())[::3]:
        assert_same(data, (HERE,), limits, modes=(False,))


def test_the_lanes_are_taken():
    """Guard against a vacuous comparison: the lanes really run fewer Python calls."""
    data = pickle.dumps(order(3), 4)
    counts = []
    for machine in (FAST, SLOW):
        calls = [0]

        def count(frame, event, arg):
            if event == "call":
                calls[0] += 1

        sys.setprofile(count)
        try:
            machine(data, (HERE,), A.DEFAULT_LIMITS, False, False)
        finally:
            sys.setprofile(None)
        counts.append(calls[0])
    assert counts[0] * 2 < counts[1], counts


def test_the_analyzer_tests_corpora():
    import test_analyzer as corpora

    streams = [data for data, _ in corpora.HOSTILE.values()]
    streams += [entry[0] if isinstance(entry, tuple) else entry for entry in corpora.MALFORMED.values()]
    streams += [data for value in corpora.benign_values() for _, data in corpora.all_pickles(value)]
    for data in streams:
        if isinstance(data, bytes):
            assert_same(data, ("test_analyzer",))
            assert_same(data, (), A.Limits(max_depth=2), modes=(False,))


# --- hand-made streams at the edges of each lane ---------------------------------------------

def _g(module, name, proto):
    if proto >= 4:
        return _u(module) + op.MEMOIZE + _u(name) + op.MEMOIZE + op.STACK_GLOBAL
    return op.GLOBAL + module.encode() + b"\n" + name.encode() + b"\n"


def _u(text):
    raw = text.encode()
    return op.SHORT_BINUNICODE + bytes([len(raw)]) + raw


def _state(*pairs):
    return op.EMPTY_DICT + op.MARK + b"".join(pairs) + op.SETITEMS


_DEEP = op.EMPTY_LIST + op.EMPTY_LIST + op.APPEND  # [[]]: depth 2
_NEW = op.EMPTY_TUPLE + op.NEWOBJ


def edge_streams(proto):
    cls = _g(HERE, "Box", proto)
    head = op.PROTO + bytes([proto])
    yield head + cls + _NEW + _state(_u("a"), _DEEP, _u("a"), op.NONE) + op.BUILD + op.STOP  # a key twice
    yield head + cls + _NEW + _state(_u("a"), op.NONE, _u("a"), _DEEP) + op.BUILD + op.STOP
    yield head + cls + _NEW + _state(_u("__x__"), op.NONE) + op.BUILD + op.STOP  # a special attribute
    yield head + cls + _NEW + _state(op.BININT1 + b"\x01", op.NONE) + op.BUILD + op.STOP  # not a str key
    yield head + cls + _NEW + op.DUP + _state() + op.BUILD + _state() + op.BUILD + op.STOP  # BUILD twice
    yield head + cls + _NEW + _state() + op.BUILD + _state(_u("a"), op.NONE) + op.BUILD + op.STOP
    yield head + cls + _NEW + op.MEMOIZE + op.POP + op.BINGET + b"\x02" + _state() + op.BUILD + op.STOP  # shared
    yield head + cls + _NEW + op.NONE + op.BUILD + op.STOP  # not a dict state
    yield head + cls + _NEW + op.EMPTY_DICT + op.NONE + op.TUPLE2 + op.BUILD + op.STOP  # (dict, slots)
    yield head + cls + _u("x") + op.TUPLE1 + op.NEWOBJ + _state() + op.BUILD + op.STOP  # args
    yield head + cls + op.EMPTY_LIST + op.TUPLE1 + op.NEWOBJ + op.STOP  # a node argument
    yield head + cls + op.NONE + op.NEWOBJ + op.STOP  # args not a tuple
    yield head + _g("re", "RegexFlag", proto) + op.BININT1 + b"\x02" + op.TUPLE1 + op.REDUCE + _state(
        _u("x"), op.NONE) + op.BUILD + op.STOP  # an enum member: shared
    yield head + _g("re", "RegexFlag", proto) + _NEW + _state(_u("x"), op.NONE) + op.BUILD + op.STOP
    yield head + _g("functools", "partial", proto) + _NEW + _state(_u("x"), op.NONE) + op.BUILD + op.STOP
    yield head + _g("functools", "partial", proto) + _g("builtins", "int", proto) + op.TUPLE1 + op.REDUCE + _state(
        _u("x"), op.NONE) + op.BUILD + op.STOP
    yield head + _g("os", "system", proto) + _NEW + _state(_u("x"), op.NONE) + op.BUILD + op.STOP  # refused
    yield head + _g("builtins", "getattr", proto) + _NEW + op.STOP  # CHECKED
    yield head + _g("collections", "OrderedDict", proto) + _NEW + _state() + op.BUILD + op.STOP  # FREE
    yield head + _g("__builtin__", "set", proto) + _NEW + op.STOP  # mapped below protocol 3
    yield head + _g(HERE, "Box", proto) + op.MARK + _NEW + op.STOP  # NEWOBJ under a MARK
    yield head + op.MARK + cls + op.EMPTY_TUPLE + op.NEWOBJ + op.MARK + op.EMPTY_DICT + op.BUILD + op.STOP
    yield head + op.EMPTY_LIST + cls + _NEW + op.APPEND + op.EMPTY_LIST + op.MARK + op.APPEND + op.STOP
    yield head + _u("a") + _u("b") + op.MARK + op.STACK_GLOBAL + op.STOP
    yield head + _u("a") + op.EMPTY_LIST + op.STACK_GLOBAL + op.STOP
    yield head + op.GLOBAL + b"a\xff\nb\n" + op.STOP
    yield head + op.GLOBAL + b"a\nb" + op.STOP
    yield head + _u("x") + op.MEMOIZE  # no STOP after a fused MEMOIZE
    yield head + op.BINUNICODE + b"\x01\x00\x00\x00x" + op.BINPUT  # BINPUT without its index


@pytest.mark.parametrize("proto", [2, 3, 4])
@pytest.mark.parametrize("limits", LIMITS)
def test_edge_streams(proto, limits):
    for data in edge_streams(proto):
        for words in WORDS:
            assert_same(data, words, limits)


def test_every_truncation_and_a_missing_stop():
    for data in (pickle.dumps(order(2), 4), pickle.dumps(Account(2), 2)):
        for end in range(len(data)):
            assert_same(data[:end], modes=(False,))


# --- generated instance graphs and mutations -------------------------------------------------

_KEYS = st.one_of(st.sampled_from(["a", "b", "id", "__dict__", "__x__", "_y", "__", "é"]),
                  st.text(max_size=4))
_ATOMS = st.one_of(st.none(), st.booleans(), st.integers(-300, 70_000), st.text(max_size=6),
                   st.binary(max_size=4), st.sampled_from([Status.OPEN, datetime.date(2021, 2, 3)]))


def _box(attrs):
    box = Box()
    box.__dict__.update(attrs)
    return box


_VALUES = st.recursive(_ATOMS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=3), inner, max_size=3),
    st.dictionaries(_KEYS, inner, max_size=4).map(_box),
    st.builds(Line, st.text(max_size=3), inner, inner)), max_leaves=12)


def _shared(value):
    """The value next to a structure that holds it twice and a cycle through it."""
    back = _box({"self": None, "held": value})
    back.self = back
    return [value, value, back]


@settings(max_examples=60)
@given(_VALUES, st.booleans(), st.sampled_from(list(PROTOCOLS)), st.sampled_from(WORDS))
def test_generated_instance_graphs(value, share, protocol, words):
    data = pickle.dumps(_shared(value) if share else value, protocol)
    assert_same(data, words)


_SEEDS = [pickle.dumps(v, proto) for v in golden_values()[:8] for proto in (2, 3, 4, 5)]


@settings(max_examples=80)
@given(st.sampled_from(_SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255),
                                                   st.sampled_from(["set", "insert", "delete"])),
                                         min_size=1, max_size=4),
       st.sampled_from(LIMITS))
def test_mutated_class_pickles(seed, edits, limits):
    data = bytearray(seed)
    for position, value, action in edits:
        at = position % (len(data) + 1)
        if action == "insert":
            data.insert(at, value)
        elif at < len(data):
            if action == "set":
                data[at] = value
            else:
                del data[at]
    assert_same(bytes(data), (HERE,), limits, modes=(False,))
