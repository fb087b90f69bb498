"""The unpickler's run fast paths (``unpickler_runs``) against its own
opcode-by-opcode path and against C ``pickle.loads``.

The engine takes the run helpers as (bound default) parameters; passing
helpers that never find a run makes the same engine execute every opcode one
by one -- the path the runs must be indistinguishable from: the same object
graph (values, types, sharing), or the same error type, message and offset.
Inputs: hypothesis graphs built from the shapes the runs handle (lists of
small ints and longs, dicts from ints to None) pickled by C at every
protocol, hand-made and hypothesis-built protocol 0/1 token streams around
those shapes (signs, leading zeros, booleans, long numbers, wrong targets,
missing MARKs), and every truncation of them.
"""

import io
import pickle

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pickle_samples as samples
from pytest_serialcompat.reference import unpickler as ref
from pytest_serialcompat.reference import unpickler_runs as runs

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def _no_push_run(data, pos, stack, outer):
    return pos, False


def _no_text_run(data, pos, target, memo, text):
    return pos


def _no_whole_run(data, pos):
    return None


def _no_whole_text(data, pos, memo, templates):
    return None


def _no_scalars(data, pos, stack, memo):
    return pos


def load_one_by_one(data):
    """``ref.loads`` with the run fast paths switched off."""
    unpickler = object.__new__(ref.Unpickler)
    unpickler._setup(True, "ASCII", "strict", None)
    try:
        return unpickler._execute(
            data,
            0,
            push_run=_no_push_run,
            apply_text_run=_no_text_run,
            whole_text_container=_no_whole_text,
            small_int_dict=_no_whole_run,
            small_int_list=_no_whole_run,
            push_scalars=_no_scalars,
            dict_templates={},  # nothing cached
            list_templates={},
        )[0]
    except ref._Incomplete as need:
        raise unpickler._truncated(data, need.pos) from None


def outcome(function, data):
    try:
        return True, function(data)
    except Exception as exc:  # the outcome is compared, whatever it is
        return False, exc


def assert_same(data):
    """Runs on and off load ``data`` alike; returns the outcome."""
    expected = outcome(load_one_by_one, data)
    got = outcome(ref.loads, data)
    assert expected[0] == got[0], (data, expected, got)
    if expected[0]:
        assert samples.deep_equal(expected[1], got[1]), (data, expected, got)
    else:
        assert type(got[1]) is type(expected[1]), (data, expected, got)
        assert str(got[1]) == str(expected[1]), (data, expected, got)
        assert getattr(got[1], "offset", None) == getattr(expected[1], "offset", None), data
    return got


def assert_same_with_truncations(data):
    for end in range(len(data) + 1):
        assert_same(data[:end])


# --- graphs of the shapes the runs handle, pickled by C ----------------------------------
small_ints = st.integers(0, 255)
text_ints = st.one_of(
    st.integers(-(10**18), 10**18), st.integers(-(2**70), 2**70), st.sampled_from([0, 1, -1, 10**17, 10**18])
)
# Protocol 0 items of every scalar kind, str keys shared between dicts (GET keys).
scalars = st.one_of(
    st.text(max_size=8), text_ints, st.floats(allow_nan=False), st.booleans(), st.none()
)
str_dicts = st.dictionaries(st.text(max_size=8), scalars, max_size=8)
shared_keys = str_dicts.map(lambda d: [d, dict(d), list(d.values())])
leaves = st.one_of(
    st.lists(small_ints, max_size=12),
    st.lists(text_ints, max_size=12),
    st.dictionaries(small_ints, st.none(), max_size=12),
    st.dictionaries(text_ints, st.none(), max_size=12),
    st.dictionaries(small_ints, st.one_of(st.none(), small_ints, st.booleans()), max_size=6),
    st.lists(scalars, max_size=8),
    str_dicts,
    shared_keys,
    small_ints,
    st.none(),
)
graphs = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.tuples(children, children),
        st.dictionaries(small_ints, children, max_size=4),
        st.dictionaries(st.text(max_size=4), children, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(graphs, st.sampled_from(PROTOCOLS))
@example([list(range(10))] * 2, 0)  # a shared list: GET of a run-filled list
@example({0: dict.fromkeys(range(10))}, 2)
@example([[2**48 + i for i in range(5)], {"k": [-(2**40)] * 3}], 2)
@example([[2**63 - 1, 2**62, 2**55 + 1], [2**63, 2**64 - 1], [2**39, -(2**39), 2**39 + 5]], 2)
@example(([2**48 - 7919 * i * i for i in range(100)], 60), 1)
@example([{"a": "x", "b": 1.5, "c": [True, None, 7]}] * 2, 0)
def test_runs_load_what_c_pickles_like_c_and_one_by_one(value, proto):
    data = pickle.dumps(value, proto)
    ok, loaded = assert_same(data)
    assert ok
    assert samples.deep_equal(loaded, pickle.loads(data))


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_every_truncation_of_run_shaped_pickles_is_reported_alike(proto):
    value = [list(range(5)), dict.fromkeys(range(4)), [-3, 10**15, 0], {7: None, -8: None}]
    assert_same_with_truncations(pickle.dumps(value, proto))


# --- hand-made token streams ---------------------------------------------------------------
# Text and binary fragments around the runs: plain items, the forms the runs
# must leave to the engine, and opcodes that end or break a run.
TOKENS = [
    b"I0\n", b"I7\n", b"I-5\n", b"I00\n", b"I01\n", b"I007\n", b"I-0\n", b"I+3\n", b"I 3\n",
    b"I123456789012345678\n", b"I1234567890123456789\n", b"I0x1f\n", b"I\n", b"I5",
    b"L12L\n", b"L0L\n", b"L-9L\n", b"L012L\n", b"L12\n", b"L99999999999999999999L\n",
    b"N", b"Ns", b"s", b"a", b"(", b"(dp0\n", b"(lp1\n", b"(tp2\n", b"p3\n", b"g0\n", b"g1\n",
    b"K\x00", b"K\xff", b"K", b"KN", b"\x88", b"]", b"}", b"e", b"u", b"l", b"d", b"t",
    b"V\xe9t\xe9\n", b"Va\\u00e9\n", b"Va\\x\n", b"F1.5\n", b".", b"0", b"\x00",
    b"Vkey\n", b"V\n", b"p1\n", b"p01\n", b"p-1\n", b"g2\n", b"g99\n", b"F-2.5e+10\n", b"F1e999\n",
    b"\x8a\x02\x01\x80", b"\x8a\x02\xff\x7f", b"\x8a\x00", b"\x8a\x03\x01\x02", b"\x8a", b"q\x01", b"\x94",
    b"Fnan\n", b"F1.\n", b"(dp0\nVa\np1\n", b"(lp0\nVa\np1\na", b"sVb\np2\n", b"L5L\nN",
]


@pytest.mark.parametrize(
    "data",
    [
        b"(lp0\nI0\naI1\naI-2\naI3\na.",
        b"(dp0\nI0\nNsI1\nNsI-7\nNs.",
        b"(dp0\nI00\nNsI1\nNs.",  # a boolean key ends the run
        b"(dp0\nI1\nNsI1\nNs.",  # a repeated key
        b"(dp0\nI1\nI2\ns.",  # value not None: no run
        b"(lp0\nI1\nI2\ns.",  # SETITEM on a list: the engine's error
        b"(dp0\nI1\na.",  # APPEND on a dict: the engine's error
        b"(lp0\nL5L\naL-6L\naL0L\naI7\na.",
        b"(lp0\nI5\naL6L\naI007\na.",
        b"(K\x01K\x02K\x03l.",
        b"(K\x01NK\x02NK\x03Nd.",
        b"(K\x01NK\x02NK\x03d.",  # odd number of items for DICT
        b"(K\x01NK\x02K\x03t.",
        b"(L1L\nL-2L\nL0L\nt.",
        b"(L1L\nL02L\nt.",
        b"}(K\x01NK\x02Nu.",
        b"](K\x01NK\x02Nu.",  # SETITEMS on a list: the engine's error
        b"}(K\x01K\x02e.",  # APPENDS on a dict: the engine's error
        b"(K\x01NK\x02Nu.",  # SETITEMS without a target
        b"(K\x01K\x02e.",
        b"K\x00(K\x01NK\x02Nu.",  # SETITEMS on an int
        b"(lp0\n(L1L\nL2L\ne.",
        b"](K\x01K\x02e.",
        b"\x80\x02}q\x00(K\x01NK\x02Nu.",
        b"(K\x01N",
        b"(K\x01NK",
        b"(L12L",
        b"(lp0\nI1\na",
        # whole protocol 0 dicts and lists of ints after their MARK
        b"(dp0\nI1\nNsI2\nNsVa\np1\nNsI3\nNs.",
        b"(lp007\nI1\naI-2\naVa\np1\naI3\nag7\n\x86.",
        b"(dp9\nI1\nNsI1\nNsg9\n\x86.",
        # ... and the SETITEM (APPEND) that stores the whole one
        b"(dp0\nI5\n(dp1\nI1\nNssVk\np2\n(lp3\nI1\nassg1\n\x86.",
        b"(dp0\n(lp1\n(dp2\nI1\nNss.",  # unhashable key: the engine's error
        b"(dp0\nF1.5\n(dp2\nI1\nNss.",  # float key: the engine
        b"(lp0\n(lp1\nI1\naa(dp2\nI1\nNsa.",
        b"(I1\n(lp1\nI1\naa.",  # APPEND on an int: the engine's error
        b"(I1\n(lp1\nI1\nas.",
        b"(lp1234567890123456789\nI1\na.",
        # whole dicts and lists of small ints after their EMPTY_DICT / EMPTY_LIST
        b"\x80\x02}q\x00(K\x01NK\x02Nu.",
        b"\x80\x04}\x94(K\x01NK\x01Nu\x94h\x00h\x01\x86.",
        b"\x80\x02]q\x05(K\x01K\x02e]q\x05(K\x03eh\x05\x86.",
        b"\x80\x04]\x94(K\x01e\x94.",
        b"\x80\x02}r\x00\x00\x00\x00(K\x01Nu.",
        b"\x80\x02}q\x00(K\x01NK\x02u.",
        b"\x80\x02]q\x00(K\x01Ne.",
        b"\x80\x02}q\x00(K\x01NK\x02Ne.",
        b"\x80\x02]q\x00(K\x01K\x02u.",
        b"\x80\x02}q\x00(u.",
    ],
)
def test_hand_made_streams_load_alike(data):
    assert_same_with_truncations(data)


def text_run(data, target, memo=None):
    return runs.apply_text_run(data, 0, target, {} if memo is None else memo, str(data, "latin-1"))


def test_the_runs_are_taken():
    """The shapes above really go through the runs (else the comparison is empty)."""
    stack = []
    assert runs.push_run(b"K\x01NK\x02N.", 0, stack, []) == (6, False)
    assert stack == [1, None, 2, None]
    stack = []
    assert runs.push_run(b"K\x01K\x02N.", 0, stack, [{}]) == (4, False) and stack == [1, 2]
    stack = []
    assert runs.push_run(b"L-3L\nL40L\nL012L\n", 0, stack, []) == (10, False)
    assert stack == [-3, 40]
    stack, outer = [], [{5: 0, 1: 0}]
    assert runs.push_run(b"K\x01NK\x02Nu.", 0, stack, outer) == (7, True)
    assert stack == [] and list(outer[0].items()) == [(5, 0), (1, None), (2, None)]
    stack, outer = [], [[7]]
    assert runs.push_run(b"K\x01K\x02e.", 0, stack, outer) == (5, True)
    assert stack == [] and outer == [[7, 1, 2]]
    stack, outer = [], [[7]]
    assert runs.push_run(b"L1L\nL-2L\ne.", 0, stack, outer) == (10, True) and outer == [[7, 1, -2]]
    stack, outer = [], [[7]]
    assert runs.push_run(b"K\x01NK\x02Nu", 0, stack, outer) == (6, False)  # SETITEMS on a list
    assert stack == [1, None, 2, None] and outer == [[7]]
    target = {}
    assert text_run(b"I3\nNsI-4\nNsI00\nNs", target) == 11
    assert list(target.items()) == [(3, None), (-4, None)]
    target = []
    assert text_run(b"I3\naI-4\naI01\naI007\na", target) == 14 and target == [3, -4, True]
    target = []
    assert text_run(b"L3L\naL-0L\na", target) == 5 and target == [3]
    assert text_run(b"I3\na", {}) == 0
    assert text_run(b"I3\nNs", []) == 0
    memo = {}
    whole = runs.whole_text_container(b"dp3\nI1\nNsI-2\nNsI3", 0, memo)
    assert whole == ({1: None, -2: None}, 15) and memo == {3: whole[0]}
    whole = runs.whole_text_container(b"lp4\nI1\naI-2\naI01\na", 0, memo)
    assert whole == ([1, -2], 13) and memo[4] is whole[0]
    whole = runs.SMALL_INT_DICT.match(b"q\x07(K\x01NK\x02Nu.", 0)
    assert whole.end() == 10 and whole.group(1) == b"\x07" and whole.span(3) == (3, 9)
    whole = runs.SMALL_INT_LIST.match(b"\x94(K\x01K\x02e.", 0)
    assert whole.end() == 7 and whole.group(1) is None and whole.span(3) == (2, 6)
    stack, outer = [], [[]]
    data = b"\x8a\x02\x01\x80\x8a\x02\xff\x7f\x8a\x01\x05e"
    assert runs.push_run(data, 0, stack, outer) == (8, False) and stack == [-32767, 32767]
    stack, outer = [], [[]]
    assert runs.push_run(b"\x8a\x00\x8a\x00e", 0, stack, outer) == (5, True) and outer == [[0, 0]]
    target, memo = {}, {}
    data = b"Va\np1\nI5\nsVb\np2\nV\xe9\np3\nsg1\nF-1.5\nsg2\ng3\nsg9\nNs."
    assert text_run(data, target, memo) == data.index(b"g9")  # GET of a missing index
    assert target == {"a": -1.5, "b": "\xe9"} and memo == {1: "a", 2: "b", 3: "\xe9"}
    target, memo = {}, {7: 3}
    assert text_run(b"VA\np1\nI01\nsg7\nNs", target, memo) == 11  # GET of a key that is not a str
    assert target == {"A": True}
    target = []
    data = b"Va\np1\naI5\naF2.5e+10\naI00\naL12L\naNag1\naF1e999\na"
    assert text_run(data, target) == data.index(b"F1e999") and target == ["a", 5, 2.5e10, False, 12, None, "a"]
    target = []
    assert text_run(b"Va\\u00e9\np1\na", target) == 0 and target == []  # escapes: the engine


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=25), st.booleans())
def test_random_token_streams_load_alike(tokens, protocol_2):
    data = (b"\x80\x02" if protocol_2 else b"") + b"".join(tokens) + b"."
    assert_same(data)
    assert_same(data[: len(data) // 2])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=40))
def test_random_bytes_after_a_run_start_load_alike(tail):
    for head in (b"(lp0\nI1\na", b"(dp0\nI1\nNs", b"(K\x01", b"(K\x01N", b"(L1L\n", b"(dp0\nVa\np1\nI2\ns", b"(lp0\nVa\np1\na"):
        assert_same(head + tail)


@pytest.mark.parametrize("feed", ["bytesio", "unseekable"])
@pytest.mark.parametrize("proto", PROTOCOLS)
def test_runs_cut_by_file_reads_load_like_c(feed, proto):
    value = [list(range(200)), dict.fromkeys(range(300)), [10**12 + i for i in range(150)]]
    data = pickle.dumps(value, proto)

    class Unseekable(io.BytesIO):
        def seekable(self):
            return False

    stream = io.BytesIO(data) if feed == "bytesio" else Unseekable(data)
    assert samples.deep_equal(ref.Unpickler(stream).load(), pickle.loads(data))
