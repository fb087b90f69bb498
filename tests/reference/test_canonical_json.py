"""Canonical JSON: exact bytes, refusals with paths/offsets, limits, fuzzing, cross-interpreter identity.

Oracles: hand-written expected bytes, the stdlib ``json`` module (for valid
input within limits), real pickle/marshal output (for the sniffer) and the
other installed interpreters (run as subprocesses).
"""

import json
import marshal
import os
import pickle
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_serialcompat.reference import canonical_json as cj
from pytest_serialcompat.reference.canonical_json import (
    CanonicalJSONError,
    JSONLimits,
    canonical_json_dumps,
    canonical_json_loads,
    describe_json,
    looks_like_json,
    render_json,
)

MODULE_FILE = Path(cj.__file__)
SUPPORTED_VERSIONS = [(3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]


def typed(value):
    """``value`` with every scalar tagged by its exact type (so 1 != 1.0, 0.0 != -0.0, True != 1)."""
    if type(value) is list:
        return ["list", [typed(item) for item in value]]
    if type(value) is dict:
        return ["dict", sorted((key, typed(item)) for key, item in value.items())]
    if type(value) is float:
        return ["float", repr(value)]
    return [type(value).__name__, value]


@pytest.fixture
def unlimited_int_str():
    """Lift sys.int_max_str_digits so that int()/str() can serve as the oracle for huge ints."""
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("this interpreter has no int_max_str_digits limit to lift (and no setter)")
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    yield
    sys.set_int_max_str_digits(old)


# ---------------------------------------------------------------------------
# Strategies

json_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(json_text, children, max_size=5),
    max_leaves=25,
)
# Fragments that make fuzzed bytes look like JSON often enough to reach deep code.
json_fragments = st.sampled_from(
    [b"[", b"]", b"{", b"}", b'"', b",", b":", b" ", b"\n", b"0", b"1", b"-", b".", b"e", b"E+",
     b"true", b"null", b"NaN", b"Infinity", b'"a"', b'"k":', b"\\", b"\\u", b"d800", b"dc00",
     b"\\ud83d\\ude00", b'\\"', b"\\\\", b"\xc3\xa9", b"\xef\xbb\xbf", b"\xff", b"\x00", b"1e400", b"9" * 40]
)
json_like_bytes = st.lists(json_fragments, max_size=40).map(b"".join)

# Refusal reasons that are ours alone: the stdlib accepts these texts.
STRICTER_THAN_STDLIB = ("duplicate key", "NaN", "Infinity", "lone surrogate", "out of float range",
                        "max_depth", "max_int_digits", "byte order mark")


def check_reader_contract(data: bytes):
    """Our reader gives a value the stdlib agrees with, or a CanonicalJSONError with an offset."""
    try:
        text = data.decode("utf-8")
        oracle = json.loads(text)
    except Exception as exc:  # any stdlib refusal (ValueError, RecursionError)
        oracle_error = exc
    else:
        oracle_error = None
    try:
        value = canonical_json_loads(data)
    except CanonicalJSONError as exc:
        assert isinstance(exc, ValueError)
        assert exc.reason and str(exc).startswith((exc.path or "") + (": " if exc.path else "") + exc.reason)
        assert exc.offset is not None and 0 <= exc.offset <= len(data), exc
        assert "at byte %d" % exc.offset in str(exc)
        if oracle_error is None:
            assert any(word in exc.reason for word in STRICTER_THAN_STDLIB), exc
        return
    assert oracle_error is None, "we accepted what the stdlib refuses: %r" % oracle_error
    assert typed(value) == typed(oracle)


# ---------------------------------------------------------------------------
# Writer: exact bytes


@pytest.mark.parametrize(
    "value, expected",
    [
        ({"b": 1, "a": 2}, b'{"a":2,"b":1}'),
        ({"a": [], "b": {}, "c": [{}]}, b'{"a":[],"b":{},"c":[{}]}'),
        ([None, True, False, 0, -5, 10 ** 20], b"[null,true,false,0,-5,100000000000000000000]"),
        (
            [1.0, -0.0, 0.0, 1e16, 1e-7, 5e-324, 0.1, 1.7976931348623157e308, 123456789.0, -2.5e-300],
            b"[1.0,-0.0,0.0,1e+16,1e-07,5e-324,0.1,1.7976931348623157e+308,123456789.0,-2.5e-300]",
        ),
        ("\u00e9\u2028\x7f\U0001f600", b'"\xc3\xa9\xe2\x80\xa8\x7f\xf0\x9f\x98\x80"'),
        ('"\\\n\t\r\b\f\x00\x1f/', b'"\\"\\\\\\n\\t\\r\\b\\f\\u0000\\u001f/"'),
        # code point order (= UTF-8 byte order), not UTF-16 order: U+FFFF sorts before U+1F600
        ({"\U0001f600": 1, "\uffff": 2, "a": 3, "B": 4, "": 5},
         b'{"":5,"B":4,"a":3,"\xef\xbf\xbf":2,"\xf0\x9f\x98\x80":1}'),
        ("", b'""'),
        (12, b"12"),
    ],
)
def test_dumps_exact_bytes(value, expected):
    assert canonical_json_dumps(value) == expected


@given(json_values)
def test_dumps_matches_stdlib_compact_sorted_form(value):
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert canonical_json_dumps(value) == expected.encode("utf-8")


@given(json_values)
def test_round_trip_keeps_types_and_bytes(value):
    data = canonical_json_dumps(value)
    back = canonical_json_loads(data)
    assert typed(back) == typed(value)
    assert canonical_json_dumps(back) == data
    assert describe_json(data)["canonical"] is True


# ---------------------------------------------------------------------------
# Writer: refusals name the path


class Color(int):
    pass


def _cycle():
    items = [1, {"x": []}]
    items[1]["x"].append(items)
    return items


@pytest.mark.parametrize(
    "value, path, fragment",
    [
        ({"items": [0, 1, 2, {"price": float("nan")}]}, "$.items[3].price", "NaN is not allowed"),
        ([1, float("inf")], "$[1]", "inf is not allowed"),
        ({"a": -float("inf")}, "$.a", "-inf is not allowed"),
        ({"a": {1: 2}}, "$.a", "object key 1 (int) is not a str"),
        ({"a": {None: 2}}, "$.a", "object key None (NoneType) is not a str"),
        ({"t": (1, 2)}, "$.t", "tuple is not a JSON type"),
        ([{1, 2}], "$[0]", "set is not a JSON type"),
        ([frozenset()], "$[0]", "frozenset is not a JSON type"),
        ({"blob": b"x"}, "$.blob", "bytes is not a JSON type"),
        ([bytearray(b"x")], "$[0]", "bytearray is not a JSON type"),
        ({"c": Color(3)}, "$.c", "Color is not a JSON type"),
        ({"x y": [object()]}, '$["x y"][0]', "object is not a JSON type"),
        ({"s": ["ok", "bad \ud800"]}, "$.s[1]", "lone surrogate U+D800"),
        ({"k\udc00": 1}, '$["k\\udc00"]', "object key: lone surrogate U+DC00"),
        (_cycle(), "$[1].x[0]", "circular reference"),
        (1.5j, "$", "complex is not a JSON type"),
    ],
)
def test_dumps_refusals_name_the_path(value, path, fragment):
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json_dumps(value)
    assert info.value.path == path
    assert fragment in info.value.reason
    assert str(info.value).startswith(path + ": ")
    assert info.value.offset is None


def test_dumps_refuses_subclasses_so_types_survive():
    from collections import OrderedDict

    with pytest.raises(CanonicalJSONError, match="OrderedDict is not a JSON type"):
        canonical_json_dumps(OrderedDict(a=1))
    with pytest.raises(CanonicalJSONError, match=r"\$\.s: .*Sub is not a JSON type"):
        canonical_json_dumps({"s": type("Sub", (str,), {})("x")})


def test_dumps_depth_limit_is_the_readers():
    limits = JSONLimits(max_depth=3)
    assert canonical_json_dumps([[[]]], limits=limits) == b"[[[]]]"
    with pytest.raises(CanonicalJSONError, match="max_depth=3") as info:
        canonical_json_dumps({"a": [[[]]]}, limits=limits)
    assert info.value.path == "$.a[0][0]"


def test_dumps_deep_value_without_recursion_error():
    value = []
    for _ in range(100000):
        value = [value]
    with pytest.raises(CanonicalJSONError, match="nesting deeper than max_depth=512"):
        canonical_json_dumps(value)
    deep = canonical_json_dumps(value, limits=JSONLimits(max_depth=200000))
    assert deep == b"[" * 100001 + b"]" * 100001


def test_dumps_size_limit():
    assert canonical_json_dumps("abcdefgh", limits=JSONLimits(max_bytes=10)) == b'"abcdefgh"'
    with pytest.raises(CanonicalJSONError, match="11 bytes, more than max_bytes=10"):
        canonical_json_dumps("abcdefghi", limits=JSONLimits(max_bytes=10))


def test_dumps_refuses_a_huge_int_before_converting_it():
    # 1 << 4_000_000 has 1.2 million digits: converting it first would take minutes.
    with pytest.raises(CanonicalJSONError, match="more than max_int_digits=4300") as info:
        canonical_json_dumps({"n": [1 << 4000000]})
    assert info.value.path == "$.n[0]"


def test_int_digit_limit_is_exact_at_the_boundary():
    limit = JSONLimits(max_int_digits=25)
    for value in (10 ** 25 - 1, -(10 ** 25 - 1), 2 ** 83, -(2 ** 83)):  # 25 digits, or 26 bits-wise close
        text = canonical_json_dumps(value, limits=limit)
        assert text == str(value).encode()
        assert canonical_json_loads(text, limits=limit) == value
    for value in (10 ** 25, -(10 ** 25), 2 ** 84):
        with pytest.raises(CanonicalJSONError, match="26 digits, more than max_int_digits=25"):
            canonical_json_dumps(value, limits=limit)
        with pytest.raises(CanonicalJSONError, match="26 digits, more than max_int_digits=25"):
            canonical_json_loads(str(value).encode(), limits=limit)


def test_ints_beyond_the_interpreter_str_limit(unlimited_int_str):
    # Our own conversion must not depend on sys.int_max_str_digits; the lifted
    # builtin int()/str() is the oracle.
    limits = JSONLimits(max_int_digits=20000)
    rng = random.Random(8)
    for digits in (601, 1200, 4301, 9999, 20000):
        text = str(rng.randrange(1, 10)) + "".join(str(rng.randrange(10)) for _ in range(digits - 1))
        for literal in (text, "-" + text):
            value = canonical_json_loads(literal, limits=limits)
            assert value == int(literal)
            assert canonical_json_dumps(value, limits=limits) == literal.encode()
    assert canonical_json_dumps(10 ** 5000, limits=limits) == b"1" + b"0" * 5000


def test_ints_beyond_the_interpreter_str_limit_while_it_is_set():
    limits = JSONLimits(max_int_digits=6000)
    value = 10 ** 5000 - 1  # 5000 nines, over CPython's default 4300-digit str limit
    assert canonical_json_dumps(value, limits=limits) == b"9" * 5000
    assert canonical_json_loads(b"-" + b"9" * 5000, limits=limits) == -value


# ---------------------------------------------------------------------------
# Reader: refusals name the offset (and the path when the value is known)


@pytest.mark.parametrize(
    "data, offset, path, fragment",
    [
        (b'{"a":1,"a":2}', 7, "$.a", 'duplicate key "a"'),
        (b'{"x": [1, {"y": 2, "z": {"q": 1, "r": 0, "q": 2}}]}', 41, "$.x[1].z.q", 'duplicate key "q"'),
        (b'[{"a": 1}, {"b": "\\ud800"}]', 17, "$[1].b", "lone surrogate U+D800"),
        (b'["ok", "x\\udc00"]', 7, "$[1]", "lone surrogate U+DC00"),
        (b'{"\\udbff": 1}', 1, '$["\\udbff"]', "object key: lone surrogate U+DBFF"),
        (b"\xef\xbb\xbf{}", 0, None, "UTF-8 byte order mark"),
        (b"\xff\xfe[\x00]\x00", 0, None, "UTF-16/UTF-32 byte order mark"),
        (b"{} x", 3, None, "Extra data"),
        (b"[1] [2]", 4, None, "Extra data"),
        (b"[1, NaN]", 4, None, "NaN is not allowed"),
        (b'["NaN", -Infinity]', 8, None, "-Infinity is not allowed"),
        (b"[Infinity]", 1, None, "Infinity is not allowed"),
        (b"[0, 1e400]", 4, None, "1e400 is out of float range"),
        (b'["\xc3\xa9", -1E999]', 7, None, "-1E999 is out of float range"),
        (b'["\xc3\xa9", 1', 8, None, "Expecting ',' delimiter"),
        (b"[1, 2", 5, None, "Expecting ',' delimiter"),
        (b"", 0, None, "Expecting value"),
        (b"   ", 3, None, "Expecting value"),
        (b'{"a" 1}', 5, None, "Expecting ':' delimiter"),
        (b'["tab\there"]', 5, None, "Invalid control character"),
        (b"[01]", 2, None, "Expecting ',' delimiter"),
        (b"\xc3\xa9\xc3", 2, None, "invalid UTF-8"),
        (b'"\xed\xa0\x80"', 1, None, "invalid UTF-8"),  # an encoded surrogate
        (b"[\x80]", 1, None, "invalid UTF-8"),
    ],
)
def test_loads_refusals_name_offset_and_path(data, offset, path, fragment):
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json_loads(data)
    error = info.value
    assert fragment in error.reason
    assert error.offset == offset
    assert error.path == path
    assert "at byte %d" % offset in str(error)


def test_loads_error_reports_line_and_column():
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json_loads(b'{\n  "a": 1,\n  "\xc3\xa9": [tru]\n}')
    assert info.value.offset == 21
    assert "line 3 column 9" in str(info.value)


def test_loads_accepts_any_standard_formatting():
    text = b' \n{"b" : [1 , 2.50, 1E5, -0, 1e-400, "\\u00e9\\n", "\\ud83d\\ude00"],\t"a":null}\r\n'
    value = canonical_json_loads(text)
    assert typed(value) == typed({"a": None, "b": [1, 2.5, 100000.0, 0, 0.0, "\u00e9\n", "\U0001f600"]})


def test_loads_keeps_float_and_int_apart():
    assert typed(canonical_json_loads(b"[1.0, 1, -0.0, 0, 1e2, 100]")) == typed([1.0, 1, -0.0, 0, 100.0, 100])


def test_loads_str_input_reports_byte_offsets():
    assert canonical_json_loads('{"\u00e9": [1]}') == {"\u00e9": [1]}
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json_loads('["\u00e9\u00e9", x]')
    assert info.value.offset == 9  # bytes, not the character index 7
    with pytest.raises(CanonicalJSONError, match=r"lone surrogate U\+D800 in the input text") as info:
        canonical_json_loads('["\u00e9\ud800"]')
    assert info.value.offset == 4
    with pytest.raises(CanonicalJSONError, match="byte order mark"):
        canonical_json_loads("\ufeff{}")


def test_loads_bytes_like_inputs_and_wrong_types():
    assert canonical_json_loads(bytearray(b"[1]")) == [1]
    assert canonical_json_loads(memoryview(b"[2]")) == [2]
    with pytest.raises(TypeError, match="takes bytes or str, not int"):
        canonical_json_loads(5)
    with pytest.raises(TypeError, match="limits must be a JSONLimits"):
        canonical_json_loads(b"1", limits={"max_depth": 3})


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_depth must be a positive int"):
        JSONLimits(max_depth=0)
    with pytest.raises(ValueError, match="max_bytes must be a positive int"):
        JSONLimits(max_bytes=1.5)


def test_size_limit_checked_first():
    limits = JSONLimits(max_bytes=10)
    assert canonical_json_loads(b"[1,2,3,45]", limits=limits) == [1, 2, 3, 45]
    with pytest.raises(CanonicalJSONError, match="11 bytes, more than max_bytes=10") as info:
        canonical_json_loads(b"[1,2,3,456]", limits=limits)
    assert info.value.offset == 10
    # a str is measured in UTF-8 bytes: 7 characters, 12 bytes
    with pytest.raises(CanonicalJSONError, match="12 bytes, more than max_bytes=10"):
        canonical_json_loads('"' + "\u00e9" * 5 + '"', limits=limits)
    with pytest.raises(CanonicalJSONError, match="11 characters, more than max_bytes=10"):
        canonical_json_loads("[" + "1" * 9 + "]", limits=limits)


# ---------------------------------------------------------------------------
# Reader: depth and digit limits before any expensive work


DEPTH_REFUSAL = "nesting deeper than max_depth=512"


@pytest.mark.parametrize(
    "data, offset, reason",
    [
        (b"[" * 100000, 512, DEPTH_REFUSAL),
        (b'{"a":' * 100000, 5 * 512, DEPTH_REFUSAL),
        (b"[{" * 50000, 512, DEPTH_REFUSAL),
        (b' ["[[[[[[", ' + b"[" * 600, 12 + 511, DEPTH_REFUSAL),  # brackets inside a string do not count
        (b'["\\\\", "\\"["' + b"[" * 600, 12 + 511, DEPTH_REFUSAL),  # escaped backslash, escaped quote
        (b'"\\"' + b"[" * 1000, 0, "Unterminated string"),  # all inside one string
        (b'\\"' + b"[" * 1000, 0, "Expecting value"),  # a stray backslash stops the scanner first
    ],
)
def test_deep_nesting_is_refused_without_recursion_error(data, offset, reason):
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json_loads(data)
    assert reason in info.value.reason
    assert info.value.offset == offset


def nesting_depth(value):
    if type(value) is list:
        return 1 + max(map(nesting_depth, value), default=0)
    if type(value) is dict:
        return 1 + max(map(nesting_depth, value.values()), default=0)
    return 0


@given(json_like_bytes)
def test_fuzz_depth_limit_against_the_decoded_depth(data):
    limits = JSONLimits(max_depth=3)
    try:
        oracle_depth = nesting_depth(json.loads(data.decode("utf-8")))
    except ValueError:  # the stdlib refuses it too (JSONDecodeError, UnicodeDecodeError)
        oracle_depth = None
    try:
        canonical_json_loads(data, limits=limits)
    except CanonicalJSONError as exc:
        if oracle_depth is not None and oracle_depth > 3:
            assert "max_depth=3" in exc.reason
        elif "max_depth" in exc.reason:
            assert oracle_depth is None  # refused for depth only when the stdlib cannot read it either
    else:
        assert oracle_depth is not None and oracle_depth <= 3


def test_depth_limit_boundary():
    assert canonical_json_loads(b"[" * 512 + b"]" * 512) == json.loads("[" * 512 + "]" * 512)
    text = b'{"a":' * 3 + b"1" + b"}" * 3
    assert canonical_json_loads(text, limits=JSONLimits(max_depth=3)) == {"a": {"a": {"a": 1}}}
    with pytest.raises(CanonicalJSONError, match="max_depth=2") as info:
        canonical_json_loads(text, limits=JSONLimits(max_depth=2))
    assert info.value.offset == 10
    # many shallow containers are fine, however many brackets there are
    assert canonical_json_loads(b"[" + b",".join([b"[]"] * 5000) + b"]") == [[]] * 5000
    # brackets in strings are skipped, escaped quotes included
    tricky = b'["\\"[[[[", "\\\\", [[]]]'
    assert canonical_json_loads(tricky, limits=JSONLimits(max_depth=3)) == ['"[[[[', "\\", [[]]]


def test_near_the_recursion_limit_gives_our_error_or_the_value():
    # On CPython <= 3.11 the C scanner's nesting counts against the Python
    # recursion limit: at a deep call stack even allowed nesting fails there.
    text = b"[" * 400 + b"]" * 400
    expected = json.loads(text)

    def at_depth(remaining):
        if remaining:
            return at_depth(remaining - 1)
        try:
            return canonical_json_loads(text)
        except CanonicalJSONError as exc:
            return exc

    outcome = at_depth(sys.getrecursionlimit() - 150)
    if isinstance(outcome, CanonicalJSONError):
        assert "recursion limit" in outcome.reason
    else:
        assert outcome == expected


def test_huge_int_literal_refused_by_the_digit_limit():
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json_loads(b"1" * 10 ** 6)
    assert info.value.reason == "int has 1000000 digits, more than max_int_digits=4300"
    assert info.value.offset == 0
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json_loads(b'{"n": [0, -' + b"7" * 10 ** 6 + b"]}")
    assert "1000000 digits" in info.value.reason
    assert info.value.offset == 10
    with pytest.raises(CanonicalJSONError, match="float literal has a run of 1000000 digits") as info:
        canonical_json_loads(b"[0." + b"5" * 10 ** 6 + b"]")
    assert info.value.offset == 1
    assert canonical_json_loads(b"9" * 4300) == 10 ** 4300 - 1


@pytest.mark.parametrize(
    "literal",
    [
        b"1" * 199 + b".5",  # digit runs short enough for the scanner's fast paths
        b"1" * 250 + b".5e10",  # long run: checked, still finite
        b"1" * 300,
        b"1.5e99",
        b"1.7976931348623157e308",  # three-digit exponent: checked, the largest double
        b"-2.5e-400",  # underflows to -0.0, which is a value, not an error
        b"0." + b"0" * 400 + b"1",
    ],
)
def test_numbers_near_the_checks_agree_with_stdlib(literal):
    data = b'["e123 in a string", ' + literal + b"]"
    assert typed(canonical_json_loads(data)) == typed(json.loads(data))


@pytest.mark.parametrize(
    "literal",
    [b"1" * 250 + b"e99", b"1.8e308", b"-1" + b"0" * 400 + b".0", b"1e00000000400"],
)
def test_float_overflow_is_refused_whatever_its_spelling(literal):
    with pytest.raises(CanonicalJSONError, match="out of float range") as info:
        canonical_json_loads(b"[0, " + literal + b"]")
    assert info.value.offset == 4


def test_small_digit_limit_applies_to_every_digit_run():
    limits = JSONLimits(max_int_digits=4)
    assert canonical_json_loads(b"[1234, -1234.5678e12]", limits=limits) == [1234, -1234.5678e12]
    with pytest.raises(CanonicalJSONError, match="int has 5 digits, more than max_int_digits=4"):
        canonical_json_loads(b"[1234, -12345]", limits=limits)
    with pytest.raises(CanonicalJSONError, match="float literal has a run of 5 digits") as info:
        canonical_json_loads(b"[1234, 1.5e12345]", limits=limits)
    assert info.value.offset == 7


def test_long_keys_are_cut_in_paths():
    key = "k" * 150
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json_dumps({key: float("nan")})
    assert info.value.path == '$["' + "k" * 100 + '"...]'
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json_loads(b'{"' + key.encode() + b'": 1, "' + key.encode() + b'": 2}')
    assert info.value.reason == 'duplicate key "' + "k" * 100 + '"...'
    assert info.value.offset == 1 + 152 + len(": 1, ")  # the second occurrence


# ---------------------------------------------------------------------------
# Reader: versions


def test_require_version():
    assert canonical_json_loads(b'{"version": 2, "x": 1}', require_version=True) == {"version": 2, "x": 1}
    assert canonical_json_loads(b'{"schema_version": "1.0"}', require_version=True) == {"schema_version": "1.0"}
    assert canonical_json_loads(b"[1]") == [1]  # not asked for
    missing = r'missing top-level version field \("version" or "schema_version"\)'
    with pytest.raises(CanonicalJSONError, match=missing) as info:
        canonical_json_loads(b'  {"x": {"version": 1}}', require_version=True)
    assert (info.value.path, info.value.offset) == ("$", 2)
    with pytest.raises(CanonicalJSONError, match="top level must be an object") as info:
        canonical_json_loads(b"[1]", require_version=True)
    with pytest.raises(CanonicalJSONError, match="must be an int or a non-empty str, not true") as info:
        canonical_json_loads(b'{"a": [1, 2], "version": true}', require_version=True)
    assert (info.value.path, info.value.offset) == ("$.version", 25)
    with pytest.raises(CanonicalJSONError, match='not ""'):
        canonical_json_loads(b'{"version": ""}', require_version=True)
    with pytest.raises(CanonicalJSONError, match="not <object with 1 keys>"):
        canonical_json_loads(b'{"version": {"major": 1}}', require_version=True)
    with pytest.raises(CanonicalJSONError, match="not 1.5"):
        canonical_json_loads(b'{"version": 1.5}', require_version=True)


def test_require_version_with_custom_field_names():
    data = b'{"format": 3, "version": "ignored"}'
    assert canonical_json_loads(data, require_version=True, version_fields=("format",))["format"] == 3
    with pytest.raises(CanonicalJSONError, match='"manifest_version"'):
        canonical_json_loads(data, require_version=True, version_fields=("manifest_version",))


# ---------------------------------------------------------------------------
# Reader: fuzzing against the stdlib


@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(data):
    check_reader_contract(data)


@given(json_like_bytes)
def test_fuzz_json_like_fragments(data):
    check_reader_contract(data)


@given(json_values, st.data())
def test_fuzz_mutated_canonical_documents(value, data):
    doc = bytearray(canonical_json_dumps(value))
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        position = data.draw(st.integers(0, len(doc)), label="position")
        byte = data.draw(st.sampled_from(b'[]{}",:\\0-eE.tnNI \x00\xff\xc3') | st.integers(0, 255), label="byte")
        operation = data.draw(st.sampled_from(["insert", "delete", "replace"]), label="operation")
        if operation == "insert":
            doc.insert(position, byte)
        elif position < len(doc):
            if operation == "delete":
                del doc[position]
            else:
                doc[position] = byte
    check_reader_contract(bytes(doc))


@given(
    json_values,
    st.sampled_from([None, 0, 2, "\t"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\r\n")]),
)
def test_loads_agrees_with_stdlib_on_valid_text(value, indent, sort_keys, ensure_ascii, separators):
    text = json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii, separators=separators)
    expected = typed(json.loads(text))
    assert typed(canonical_json_loads(text.encode("utf-8"))) == expected
    assert typed(canonical_json_loads(text)) == expected


# ---------------------------------------------------------------------------
# Cross-interpreter identity of the writer

CHILD_SCRIPT = r"""
import importlib.util, marshal, sys
spec = importlib.util.spec_from_file_location("canonical_json_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
results = []
for value in marshal.loads(sys.stdin.buffer.read()):
    try:
        results.append(module.canonical_json_dumps(value))
    except module.CanonicalJSONError as exc:
        results.append(str(exc))
sys.stdout.buffer.write(marshal.dumps(["%d.%d" % sys.version_info[:2], results], 4))
"""


def _random_string(rng):
    pools = ["abc xyz", '"\\/\b\f\n\r\t\x00\x1f\x7f', "\u00e9\u00df\u0416\u4e2d\u2028\u2029\ufeff\uffff",
             "\U0001f600\U00010000\U0010ffff", "\ud800\udfff"]
    pool = "".join(pools) if rng.random() < 0.1 else "".join(pools[:4])
    return "".join(rng.choice(pool) for _ in range(rng.randrange(8)))


def _random_value(rng, depth=0):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 1, 2 ** 53 + 1, -(2 ** 63), rng.randrange(-10 ** 30, 10 ** 30),
                           10 ** 4299 + rng.randrange(10 ** 6), 10 ** 4300])
    if kind in (2, 3):
        # any 64-bit pattern: subnormals, huge exponents, NaN payloads, infinities
        return struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
    if kind == 4:
        return rng.choice([0.1, 1e16, 1e-7, 1e22, 1e21, 123456789012345680.0, 5e-324, -0.0, 2.0 ** -1074])
    if kind == 5:
        return _random_string(rng)
    if kind == 6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    if kind == 7:
        return {_random_string(rng): _random_value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return rng.choice([(1, 2), {1: "int key"}, {1, 2}, b"bytes", [float("nan")]])


def _cross_values():
    rng = random.Random(20240607)
    fixed = [
        {"items": [0, 1, 2, {"price": float("nan")}]},
        {"z": 1, "\U0001f600": 2, "\uffff": 3, "a": {"b": [1.0, -0.0, 1e16, 1e-05, 0.30000000000000004]}},
        ["\u2028", "\x7f", "\x00", '"', "\\", "/"],
        10 ** 4300 - 1,
        10 ** 4300,
    ]
    return fixed + [_random_value(rng) for _ in range(400)]


def _find_interpreter(version):
    name = "python%d.%d" % version
    executable = shutil.which(name)
    if executable is None:
        return None, "%s is not on PATH" % name
    probe = subprocess.run(
        [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60,
    )
    if probe.returncode != 0 or probe.stdout.strip() != "%d.%d" % version:
        detail = (probe.stderr.strip().splitlines() or [probe.stdout.strip()])[0]
        return None, "%s does not run (%s)" % (name, detail)
    return executable, None


@pytest.mark.slow
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS, ids=lambda v: "py%d%d" % v)
def test_dumps_bytes_identical_across_interpreters(version):
    executable, problem = _find_interpreter(version)
    if executable is None:
        message = "cannot compare with Python %d.%d: %s" % (version + (problem,))
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: every supported interpreter must be present)")
        pytest.skip(message)
    values = _cross_values()
    here = []
    for value in values:
        try:
            here.append(canonical_json_dumps(value))
        except CanonicalJSONError as exc:
            here.append(str(exc))
    assert sum(type(result) is bytes for result in here) > 150  # the set exercises the writer...
    assert sum(type(result) is str for result in here) > 20  # ...and its refusals
    child = subprocess.run(
        [executable, "-I", "-c", CHILD_SCRIPT, str(MODULE_FILE)],
        input=marshal.dumps(values, 4), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
    )
    assert child.returncode == 0, child.stderr.decode("utf-8", "replace")
    child_version, there = marshal.loads(child.stdout)
    assert child_version == "%d.%d" % version
    mismatches = [(values[i], here[i], there[i]) for i in range(len(values)) if here[i] != there[i]]
    assert mismatches == []


# ---------------------------------------------------------------------------
# `serialcompat inspect` helpers


def test_looks_like_json_on_json_texts():
    for text in [b"{}", b' {"a": 1}', b"[]", b"\n[ [1]]", b'"x"', b"-1", b"0", b"null", b"true ",
                 b"false]", b"\xef\xbb\xbf[1]", b"{\n", canonical_json_dumps({"\u00e9": [1.5]})]:
        assert looks_like_json(text), text


def test_looks_like_json_refuses_real_pickles_and_marshal_data():
    values = [None, True, False, 0, 1, -1, 2 ** 40, 1.5, "abc", "\u00e9", "true", "[1]", b"xy",
              [], [1, "a"], {}, {"a": 1}, (1, 2), {1, 2}, complex(1, 2)]
    for value in values:
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            assert not looks_like_json(pickle.dumps(value, protocol)), (value, protocol)
        for version in range(5):
            assert not looks_like_json(marshal.dumps(value, version)), (value, version)
    assert not looks_like_json(marshal.dumps(compile("x = 1", "<s>", "exec")))
    for text in [b"", b"  ", b"nul", b"[x", b"{0", b"hello", b"\x00{}", b"\xff\xfe[\x00"]:
        assert not looks_like_json(text), text


def test_looks_like_json_reads_a_bounded_prefix():
    # a multi-byte character cut by the sniffing window is not a reason to refuse
    text = b'["' + b"a" * 4093 + "\u00e9".encode() + b'"]'
    assert looks_like_json(text)


def test_describe_canonical_document():
    data = b'{"items":[1,2.0],"schema_version":3}'
    desc = describe_json(data)
    assert desc == {
        "format": "json", "size": len(data), "canonical": True, "first_difference": None,
        "canonical_size": len(data), "top_level": "object", "version_field": "schema_version",
        "version": 3, "value": {"items": [1, 2.0], "schema_version": 3},
    }
    assert json.loads(json.dumps(desc)) == desc


def test_describe_non_canonical_document():
    desc = describe_json(b'{"b": 1, "a": 1E2}')
    assert desc["canonical"] is False
    assert desc["first_difference"] == 2  # '"b"' where the canonical form has '"a"'
    assert desc["canonical_size"] == len(b'{"a":100.0,"b":1}')
    assert desc["version_field"] is None and desc["version"] is None
    assert describe_json(b"[1] \n")["first_difference"] == 3  # only a trailing newline differs
    with pytest.raises(CanonicalJSONError, match="duplicate key"):
        describe_json(b'{"a":1,"a":1}')


def test_render_json():
    desc = describe_json(b'{"version": 1, "b": [true, null, "\\u00e9\\n"], "a": {}}')
    text = render_json(desc)
    assert text.splitlines() == [
        "JSON, 54 bytes, not canonical: differs from its canonical form (43 bytes) at byte 2",
        "version: version = 1",
        "value (object):",
        "  {",
        '    "a": {},',
        '    "b": [',
        "      true,",
        "      null,",
        '      "\u00e9\\n"',
        "    ],",
        '    "version": 1',
        "  }",
    ]


def test_render_json_is_bounded():
    desc = describe_json(canonical_json_dumps({"long": "x" * 1000, "many": list(range(1000))}))
    lines = render_json(desc, max_lines=10).splitlines()
    assert lines[0] == "JSON, %d bytes, canonical" % desc["size"]
    assert lines[1] == "version: none (no top-level version or schema_version field)"
    assert len(lines) == 3 + 10 + 1
    assert lines[-1] == "  ... (more lines not shown)"
    assert '"long": "' + "x" * 120 + '"... (1000 characters)' in lines[4]
    deep = describe_json(b"[" * 500 + b"]" * 500)
    assert len(render_json(deep).splitlines()) == 3 + 40 + 1
