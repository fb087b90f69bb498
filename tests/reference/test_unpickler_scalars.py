"""The scalar-run loop (``unpickler_scalars.push_scalars``) and the cache of
small dicts (``unpickler_runs.keys_dict``) against the engine's one-by-one path
and against C ``pickle.loads``.

The comparison is the one of ``test_unpickler_runs``: the same engine with
every shortcut switched off (its ``load_one_by_one``) must give the same
object graph -- values, types, sharing -- or the same error type, message and
offset.  Inputs: hypothesis dicts with str keys and scalar values (text with
non-ASCII characters and lone surrogates, ints of every width, floats, bools,
None, nested lists and dicts, keys shared between dicts) pickled by C at every
protocol; strings long enough to cross the loop's window; hand-made and
random binary token streams (bad UTF-8, lengths past the end, missing memo
entries, every memo opcode); every truncation; file loads that cut the runs.
"""

import copy
import io
import pickle

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_unpickler_runs import assert_same, assert_same_with_truncations

import pickle_samples as samples
from pytest_serialcompat.reference import unpickler as ref
from pytest_serialcompat.reference import unpickler_runs as runs
from pytest_serialcompat.reference import unpickler_scalars as scalars

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
WINDOW = scalars._WINDOW

# --- dicts with str keys, pickled by C -----------------------------------------------------
texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=6),  # lone surrogates too
    st.integers(0, 300).map(lambda n: "k" * n),  # around SHORT_BINUNICODE's limit and the window
)
ints = st.one_of(
    st.integers(0, 255), st.integers(-(2**31), 2**31 - 1), st.integers(-(2**70), 2**70)
)
values = st.one_of(texts, ints, st.floats(), st.booleans(), st.none())
records = st.dictionaries(texts, values, max_size=12)
nested = st.recursive(
    records,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(texts, children, max_size=4),
        # records sharing their keys (BINGET keys from the second one on)
        children.map(lambda d: [d, dict(d), list(d.values())] if isinstance(d, dict) else d),
    ),
    max_leaves=12,
)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(nested, st.sampled_from(PROTOCOLS))
@example({"a": 1, "b": "x", "c": [1.5, None], "d": True}, 1)
@example([{"k" * n: "v" * (300 - n) for n in range(0, 300, 7)}] * 2, 4)
@example({"\udc80": "\ud800x", "é": "ü"}, 2)
@example({"k%d" % i: [i] for i in range(5)}, 3)
def test_str_keyed_dicts_load_like_c_and_one_by_one(value, proto):
    data = pickle.dumps(value, proto)
    ok, loaded = assert_same(data)
    assert ok
    assert samples.deep_equal(loaded, pickle.loads(data))


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_every_truncation_of_str_keyed_dicts_is_reported_alike(proto):
    record = {"id": 7, "name": "Lua", "é": 2.5, "ok": True, "no": None, "n": 70000, "m": -3, "l": ["a", "b"]}
    assert_same_with_truncations(pickle.dumps([record, dict(record)], proto))


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_runs_across_window_boundaries_load_alike(proto):
    # Strings of every length around the window's halves, at every offset.
    for shift in range(0, 9, 3):
        value = {"p" * shift: 0, **{"k%03d" % n: "v" * n for n in range(WINDOW - 12, WINDOW + 12)}}
        value.update({"f%d" % n: n * 1.5 for n in range(40)})
        data = pickle.dumps(value, proto)
        ok, loaded = assert_same(data)
        assert ok and loaded == value
        assert_same(data[: len(data) // 2])


# --- hand-made binary token streams -------------------------------------------------------
TOKENS = [
    b"\x8c\x01a", b"\x8c\x02\xc3\xa9", b"\x8c\x01\xff", b"\x8c\x03\xed\xa0\x80", b"\x8c\x05ab",
    b"\x8c\x00", b"\x8c", b"X\x01\x00\x00\x00b", b"X\x00\x00\x00\x00", b"X\x09\x00\x00\x00ab",
    b"X\x01\x00\x00", b"X\x01\x00\x00\x00\xfe", b"\x94", b"q\x00", b"q\x01", b"q", b"r\x02\x00\x00\x00",
    b"r\x02\x00", b"h\x00", b"h\x01", b"h\x09", b"h", b"K\x05", b"K", b"M\x01\x02", b"M\x01",
    b"J\xff\xff\xff\xff", b"J\x01\x00", b"G?\xf8\x00\x00\x00\x00\x00\x00", b"G?\xf8", b"N",
    b"\x88", b"\x89", b"I01\n", b"I00\n", b"I0\n", b"I01", b"I02\n", b"(", b"}", b"]", b"u", b"e",
    b"a", b"s", b"t", b"\x85", b"\x86", b"0", b"1", b".",
]


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x04}\x94(\x8c\x01a\x94K\x01\x8c\x01b\x94\x8c\x01c\x94u.",
        b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02h\x01u.",
        b"\x80\x02}q\x00(X\x01\x00\x00\x00ar\x01\x00\x00\x00I01\nh\x01I00\nu.",
        b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01h\x07u.",  # missing memo entry: the engine's error
        b"\x80\x04}\x94(\x8c\x01\xff\x94K\x01u.",  # bad UTF-8: the engine's error
        b"\x80\x04}\x94(\x8c\x03\xed\xa0\x80\x94K\x01u.",  # a lone surrogate: the engine decodes it
        b"\x80\x04}\x94(\x8c\x01a\x94I02\nu.",  # an INT that is no bool: the engine
        b"\x80\x04]\x94(\x8c\x01a\x94\x8c\x01b\x94e\x8c\x01c\x94.",
        b"\x80\x04}\x94(\x8c\x01a\x94]\x94\x8c\x01x\x94a\x8c\x01b\x94K\x02u.",  # after APPEND
        b"\x80\x04}\x94(\x8c\x01a\x94]\x94(K\x01eX\x01\x00\x00\x00bq\x05K\x02u.",  # after APPENDS
        b"\x80\x04}\x94(\x8c\x01a\x94}\x94(K\x01Nu\x8c\x01b\x94K\x02u.",  # after SETITEMS
        b"\x80\x04(\x8c\x01a\x94h\x00h\x00t.",
        b"\x80\x04(h\x00.",  # BINGET of nothing
        b"\x80\x04(\x8c\x01a\x94\x94\x94t.",  # MEMOIZE twice more: the engine
        # cached items (the first container's) after something that is no MARK
        b"\x80\x02]q\x00(}q\x01(K\x01Nu}q\x02NK\x01Nue.",
        b"\x80\x02]q\x00(]q\x01(K\x01e]q\x02NK\x01ee.",
        b"\x80\x04]\x94(}\x94(K\x01Nu}\x94\x94(K\x01Nue.",
        b"\x80\x02]q\x00(}q\x01(K\x01Nu}q\x02(K\x01NK\x02u.",
        # protocol 0: dicts like the last one, or longer, or with another PUT
        b"(lp0\n(dp1\nI1\nNsI2\nNsa(dp2\nI1\nNsI2\nNsI3\nNsa(dp3\nI1\nNsI2\nNsI007\nNsa(dp4\nI1\nNsI2\nNsa.",
        b"(lp0\n(dp1\nI1\nNsa(dp1234567890123456789\nI1\nNsa(dp123456789012345678\nI1\nNsa.",
        b"(lp0\n(dp1\nI1\nNsa(dp99999999999999999999\nI1\nNsa.",
        b"(lp0\n(dp1\nI1\nNsa(dp9999999999999999999\nI1\nNsa.",
        b"(lp0\n(dp1\nI1\nNsa(dq1\nI1\nNsa(dp\nI1\nNsa(dp-1\nI1\nNsa(dp01\nI1\nNsa(dp 1\nI1\nNsa.",
        b"(lp0\n(dp1\nI1\nNsa(dp2\nI1\nNsI\nNsa(dp2\nI1\nNs.",
    ],
)
def test_hand_made_streams_load_alike(data):
    assert_same_with_truncations(data)


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=25), st.sampled_from([b"\x80\x02", b"\x80\x04", b""]))
def test_random_token_streams_load_alike(tokens, head):
    for start in (b"}\x94(", b"](", b"(", b"}q\x00(\x8c\x01k\x94"):
        data = head + start + b"".join(tokens) + b"."
        assert_same(data)
        assert_same(data[: len(data) // 2])


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=40))
def test_random_bytes_after_a_run_start_load_alike(tail):
    for head in (b"\x80\x04}\x94(\x8c\x01a\x94", b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01", b"\x80\x04(h\x00"):
        assert_same(head + tail)


# --- the pieces on their own ----------------------------------------------------------------
def test_the_scalar_runs_are_taken():
    """The shapes above really go through the loop (else the comparison is empty)."""
    stack, memo = [], {}
    data = b"\x8c\x01a\x94K\x01X\x01\x00\x00\x00bq\x05\x8c\x02\xc3\xa9h\x05G?\xf8\x00\x00\x00\x00\x00\x00]"
    assert scalars.push_scalars(data, 0, stack, memo) == len(data) - 1
    assert stack == ["a", 1, "b", "\xe9", "b", 1.5] and memo == {0: "a", 5: "b"}
    stack, memo = [], {}
    data = b"M\x01\x02J\xff\xff\xff\xffNI01\n\x88\x89I00\nr\x07\x00\x00\x00K\x05q\x08\x94e"
    assert scalars.push_scalars(data, 0, stack, memo) == len(data) - 1
    assert stack == [513, -1, None, True, True, False, False, 5] and memo == {7: False, 8: 5, 2: 5}
    stack, memo = [], {}
    assert scalars.push_scalars(b"X\x01\x00\x00\x00cr\x07\x00\x00\x00", 0, stack, memo) == 11
    assert stack == ["c"] and memo == {7: "c"}
    # it stops before what it cannot apply, with everything before it applied
    for data, stop, pushed in [
        (b"\x8c\x01a\x94\x8c\x01\xff\x94", 4, ["a"]),
        (b"\x8c\x01a\x94h\x09", 4, ["a"]),
        (b"\x8c\x01a\x94\x8c\x05ab", 4, ["a"]),
        (b"\x8c\x01aq", 3, ["a"]),
        (b"K\x01I02\n", 2, [1]),
        (b"K\x01J\x01\x00", 2, [1]),
    ]:
        stack = []
        assert scalars.push_scalars(data, 0, stack, {}) == stop, data
        assert stack == pushed, data
    # a long run crosses windows
    value = {"k%d" % n: "v" * (n % 300) for n in range(200)}
    data = pickle.dumps(value, 4)
    start = data.index(b"}\x94(") + 3
    stack = []
    assert scalars.push_scalars(data, start, stack, {}) == len(data) - 2
    assert dict(zip(stack[::2], stack[1::2])) == value


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("make", [lambda: dict.fromkeys(range(10)), lambda: list(range(10))])
def test_small_containers_come_from_the_cache_as_new_ones(make, proto):
    runs.DICT_TEMPLATES.clear()
    runs.LIST_TEMPLATES.clear()
    data = pickle.dumps([make() for _ in range(5)] + [[make()], {1: make()}], proto)
    first = ref.loads(data)
    assert samples.deep_equal(first, pickle.loads(data))
    assert len({id(item) for item in first[:5]}) == 5
    first[0].clear()  # a loaded one is the caller's: the next load is not affected
    second = ref.loads(data)
    assert samples.deep_equal(second, pickle.loads(data))
    if proto or type(first[0]) is dict:  # (protocol 0 lists have no whole-list step)
        assert runs.DICT_TEMPLATES or runs.LIST_TEMPLATES  # the cache was used
    # items with a SETITEMS (APPENDS) byte as an argument: the pattern decides
    value = [dict.fromkeys(range(ord("u") - 1, ord("u") + 2)), list(range(ord("e") - 1, ord("e") + 2))] * 3
    data = pickle.dumps(value, proto)
    assert_same(data)
    assert ref.loads(data) == value


small_containers = st.one_of(
    st.dictionaries(st.integers(0, 255), st.none(), min_size=1, max_size=8),
    st.lists(st.integers(0, 255), min_size=1, max_size=8),
    st.sampled_from([{117: None}, {101: None, 117: None}, [101], [117, 101]]),  # 'u', 'e' arguments
)
repeated = st.lists(small_containers, min_size=1, max_size=3).flatmap(
    lambda pool: st.lists(st.sampled_from(pool), max_size=8).map(lambda xs: [copy.copy(x) for x in xs])
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(repeated, st.sampled_from(PROTOCOLS))
def test_repeated_small_containers_load_alike(value, proto):
    data = pickle.dumps(value, proto)
    ok, loaded = assert_same(data)
    assert ok and samples.deep_equal(loaded, pickle.loads(data))
    assert_same(data[: len(data) // 2])


def test_the_caches_stay_bounded():
    # many different dicts: the cache stays bounded, the results right
    data = pickle.dumps([dict.fromkeys(range(n, n + 3)) for n in range(200)], 2)
    assert ref.loads(data) == pickle.loads(data)
    assert len(runs.DICT_TEMPLATES) <= runs._TEMPLATE_COUNT
    big = pickle.dumps([dict.fromkeys(range(200)), dict.fromkeys(range(200))], 2)
    runs.DICT_TEMPLATES.clear()
    assert ref.loads(big) == pickle.loads(big) and not runs.DICT_TEMPLATES  # too large to keep


def test_keys_dict_copies_its_templates():
    templates = {}
    one = runs.keys_dict(b"K\x01NK\x02N", runs.small_int_keys, templates)
    two = runs.keys_dict(b"K\x01NK\x02N", runs.small_int_keys, templates)
    assert one == two == {1: None, 2: None} and one is not two
    assert list(templates) == [b"K\x01NK\x02N"] and templates[b"K\x01NK\x02N"] is not one
    text = runs.keys_dict(b"I1\nNsI-20\nNsI99999\nNs", runs.text_int_keys, templates)
    assert list(text.items()) == [(1, None), (-20, None), (99999, None)]


@pytest.mark.parametrize("feed", ["bytesio", "unseekable"])
@pytest.mark.parametrize("proto", PROTOCOLS)
def test_scalar_runs_cut_by_file_reads_load_like_c(feed, proto):
    value = [{"key%d" % i: ("v" * (i % 40), i, i * 0.5, None)[i % 4] for i in range(300)}] * 2

    class Unseekable(io.BytesIO):
        def seekable(self):
            return False

    data = pickle.dumps(value, proto)
    stream = io.BytesIO(data) if feed == "bytesio" else Unseekable(data)
    assert samples.deep_equal(ref.Unpickler(stream).load(), pickle.loads(data))
