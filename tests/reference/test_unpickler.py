"""The reference unpickler against CPython's C unpickler as the oracle.

* differential: hypothesis object graphs pickled by C ``pickle.dumps`` at every
  protocol load with ours (from bytes, a seekable and an unseekable stream) to
  graphs equal to C ``pickle.loads``' (structure, values and sharing);
* protocol 0 text arguments, Python 2 pickles made by a real Python 2.7
  (``pickle`` and ``cPickle``), loaded with each ``encoding``;
* bad input: every truncation, random mutations, hostile lengths, deep
  nesting -- only ``pickle.UnpicklingError`` subclasses, bounded memory;
* errors raised by code the pickle calls propagate unchanged;
* the API: hooks overridable by subclass or attribute, memo, buffers,
  persistent ids, extension codes, file positioning.
"""

import copyreg
import datetime
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pickle_samples as samples
from pytest_serialcompat.reference import MalformedPickle
from pytest_serialcompat.reference import unpickler as ref
from pytest_serialcompat.reference.unpickler import TruncatedPickle

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
DATA_DIR = Path(__file__).parent.parent / "data"


class Unseekable(io.BytesIO):
    """A stream the unpickler must read exactly (no seek, tell or peek)."""

    def seekable(self):
        return False

    def seek(self, *args):
        raise io.UnsupportedOperation("seek")

    def tell(self, *args):
        raise io.UnsupportedOperation("tell")


def load_from(feed, data, **kwargs):
    if feed == "memory":
        return ref.loads(data, **kwargs)
    stream = io.BytesIO(data) if feed == "bytesio" else Unseekable(data)
    return ref.Unpickler(stream, **kwargs).load()


FEEDS = ("memory", "bytesio", "unseekable")


def outcome(function, *args, **kwargs):
    try:
        return True, function(*args, **kwargs)
    except Exception as exc:  # the outcome is compared, whatever it is
        return False, exc


# Errors the C unpickler never raises for bad data itself: when ours raises one
# that is not also an UnpicklingError, it must come from code the pickle
# called, and C must have raised the same type.
INTERNAL_ERRORS = (IndexError, KeyError, MemoryError, RecursionError, AttributeError, TypeError)


def assert_same_outcome(expected, got, context=""):
    """``got`` (ours) behaves like ``expected`` (C): an equal graph, or a
    compatible error -- an UnpicklingError where C raises one, else an error
    of C's type or an UnpicklingError."""
    ok_c, value_c = expected
    ok_ours, value_ours = got
    if ok_c:
        assert ok_ours, "C loaded %r but ours raised %r %s" % (value_c, value_ours, context)
        assert samples.deep_equal(value_c, value_ours), "%r != %r %s" % (
            value_c,
            value_ours,
            context,
        )
        return
    assert not ok_ours, "C raised %r but ours returned %r %s" % (value_c, value_ours, context)
    if isinstance(value_c, pickle.UnpicklingError):
        assert isinstance(value_ours, pickle.UnpicklingError), (value_c, value_ours, context)
    else:
        assert isinstance(value_ours, (type(value_c), pickle.UnpicklingError)), (
            value_c,
            value_ours,
            context,
        )
    if isinstance(value_ours, INTERNAL_ERRORS) and not isinstance(
        value_ours, pickle.UnpicklingError
    ):
        assert type(value_ours) is type(value_c), (value_c, value_ours, context)


# --- differential: C pickle.dumps -> C loads vs our loads ------------------------------
def test_deep_equal_sees_values_types_and_sharing():
    shared = [1]
    nan = float("nan")
    assert samples.deep_equal([shared, shared, nan], [[1], [1], float("nan")]) is False
    twice = [1]
    assert samples.deep_equal([shared, shared, nan], [twice, twice, float("nan")])
    assert not samples.deep_equal([1.0], [1])
    assert not samples.deep_equal(-0.0, 0.0)
    assert not samples.deep_equal(samples.Plain(a=1), samples.Plain(a=2))
    assert not samples.deep_equal(samples.Slotted(1, b=2), samples.Slotted(1))
    assert not samples.deep_equal(
        datetime.datetime(2020, 1, 1, fold=1), datetime.datetime(2020, 1, 1)
    )
    cycle_a, cycle_b = samples._cycle_list(1), samples._cycle_list(1)
    assert samples.deep_equal(cycle_a, cycle_b)
    assert not samples.deep_equal(cycle_a, [1, [1, cycle_b]])


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(samples.values(), st.sampled_from(FEEDS))
@example([samples.Plain(a=1)] * 2, "memory")
@example(samples._cycle_list("x"), "unseekable")
def test_loads_what_c_pickles_to_equal_graphs(value, feed):
    for proto in PROTOCOLS:
        data = pickle.dumps(value, proto)
        expected = outcome(pickle.loads, data)
        assert expected[0], "C cannot load its own pickle of %r" % (value,)
        assert_same_outcome(expected, outcome(load_from, feed, data), "proto %d" % proto)
        if feed != "memory":  # the in-memory path runs for every example
            assert_same_outcome(expected, outcome(ref.loads, data), "proto %d" % proto)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_shared_references_and_cycles_are_rebuilt(proto):
    inner = [1, 2]
    obj = samples.Plain(first=inner, second=inner)
    obj.me = obj
    graph = [obj, obj, inner, {"back": obj}]
    loaded = ref.loads(pickle.dumps(graph, proto))
    assert loaded[0] is loaded[1] is loaded[0].me is loaded[3]["back"]
    assert loaded[0].first is loaded[0].second is loaded[2]
    assert samples.deep_equal(pickle.loads(pickle.dumps(graph, proto)), loaded)


def test_out_of_band_buffers():
    writable = pickle.PickleBuffer(bytearray(b"writable"))
    readonly = pickle.PickleBuffer(b"readonly")
    value = [writable, readonly, b"inline"]
    buffers = []
    data = pickle.dumps(value, 5, buffer_callback=buffers.append)
    expected = pickle.loads(data, buffers=buffers)
    got = ref.loads(data, buffers=buffers)
    assert samples.deep_equal(expected, got)
    assert memoryview(got[1]).readonly and not memoryview(got[0]).readonly
    assert got[0] is writable  # the buffer object itself, not a copy
    with pytest.raises(pickle.UnpicklingError, match="no \\*buffers\\* argument"):
        ref.loads(data)
    with pytest.raises(pickle.UnpicklingError, match="not enough out-of-band buffers"):
        ref.loads(data, buffers=buffers[:1])
    # in-band protocol 5: BYTEARRAY8, and a readonly view made by READONLY_BUFFER
    assert ref.loads(pickle.dumps(bytearray(b"xyz"), 5)) == bytearray(b"xyz")
    view = ref.loads(pickle.dumps(pickle.PickleBuffer(b"abc"), 5))
    assert view == pickle.loads(pickle.dumps(pickle.PickleBuffer(b"abc"), 5)) == b"abc"


@pytest.mark.parametrize("code", [0xF1, 0x1234, 0x7FFFFFF0])
def test_extension_codes_and_cache(code):
    key = (samples.Plain.__module__, "Plain")
    copyreg.add_extension(key[0], key[1], code)
    try:
        data = pickle.dumps([samples.Plain, samples.Plain(a=1)], 2)
        opcode = pickle.EXT1 if code < 256 else pickle.EXT2 if code < 65536 else pickle.EXT4
        assert opcode in data
        copyreg.clear_extension_cache()
        loaded = ref.loads(data)
        assert loaded[0] is samples.Plain and loaded[1].a == 1
        assert copyreg._extension_cache[code] is samples.Plain
        copyreg._extension_cache[code] = "from the cache"
        assert ref.loads(pickle.dumps(samples.Plain, 2)) == "from the cache"
    finally:
        copyreg.remove_extension(key[0], key[1], code)
        copyreg.clear_extension_cache()
    with pytest.raises(ValueError, match="unregistered extension code"):
        ref.loads(data)


# --- protocol 0 text arguments: the C parser's rules --------------------------------------
TEXT_LINES = [
    b"I0\n", b"I1\n", b"I00\n", b"I01\n", b"I-0\n", b"I+1\n", b"I 1\n", b"I010\n", b"I08\n",
    b"I0x1f\n", b"I0X1F\n", b"I0x\n", b"I1_000\n", b"I9223372036854775807\n",
    b"I9223372036854775808\n", b"I-9223372036854775809\n", b"I5\x00junk\n", b"I0\x00\n",
    b"I\t7\n", b"I7 \n", b"I\n", b"I-\n", b"Iabc\n", b"I\xff\n",
    b"L0\n", b"L10L\n", b"L-10L\n", b"L010\n", b"L0o17\n", b"L1_0\n", b"L 5 L\n", b"LL\n",
    b"L12345678901234567890123L\n", b"Lx\n", b"L5\x00L\n",
    b"F1.5\n", b"F-0.0\n", b"Finf\n", b"F-Infinity\n", b"FnAn\n", b"F1e999\n", b"F-1e999\n",
    b"F1e-999\n", b"F 1.5\n", b"F1_0\n", b"F0x10\n", b"F1.5\x00x\n", b"F.5\n", b"F5.\n",
    b"F1e\n", b"F1e+\n", b"Fe5\n", b"F\n", b"Finfx\n",
    b"S'abc'\n", b'S"abc"\n', b"S''\n", b"S'\\n\\x41\\101'\n", b"S'\\q'\n", b"S'\\'\n",
    b"S'abc\n", b"S'abc\"\n", b"Sabc\n", b"S'\n", b"S\n", b"S'\\x4'\n",
    b"Vabc\n", b"V\\u20ac\\U0001f600\n", b"V\\ud800\n", b"V\\u12\n", b"V\xe9\n",
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("line", TEXT_LINES)
def test_text_arguments_follow_the_c_parser(line):
    data = line + b"."
    assert_same_outcome(outcome(pickle.loads, data), outcome(ref.loads, data), repr(data))


@pytest.mark.parametrize(
    "data",
    [b"p0\n.", b"Vx\np-1\n.", b"Vx\np99999999999999999999\n.", b"Vx\np0\ng0\n.",
     b"Vx\np 7\ng7\n.", b"Vx\np0x1\n.", b"g0\n.", b"Vx\ng-1\n.", b"Vx\np5\ng5 \n."],
)
def test_text_memo_indices(data):
    assert_same_outcome(outcome(pickle.loads, data), outcome(ref.loads, data), repr(data))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(b"ILFpgSV"),
    st.lists(st.sampled_from(list(b"0123456789abefxXoOL_+-. \t\x00'\"\\niInNuU")), max_size=12),
)
def test_random_text_arguments_match_c(opcode, chars):
    line = bytes([opcode]) + bytes(chars) + b"\n"
    if opcode in b"pg":
        line = b"Vx\np0\n" + line  # something to PUT, something to GET
    data = line + b"."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert_same_outcome(outcome(pickle.loads, data), outcome(ref.loads, data), repr(data))


# --- Python 2 pickles ---------------------------------------------------------------------
def _find_python2():
    """A Python 2.7 interpreter, or None (it is not one of the target interpreters)."""
    candidates = []
    if os.environ.get("SERIALCOMPAT_PYTHON2"):
        candidates.append(os.environ["SERIALCOMPAT_PYTHON2"])
    which = shutil.which("python2.7")
    if which:
        candidates.append(which)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    versions = Path(pyenv_root) / "versions"
    if versions.is_dir():
        candidates += sorted(str(p / "bin" / "python2.7") for p in versions.glob("2.7*"))
    for candidate in candidates:
        try:
            result = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (2, 7))"],
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and result.stdout.strip() == b"True":
            return candidate
    return None


@pytest.fixture(scope="module")
def py2_pickles():
    python2 = _find_python2()
    if python2 is None:
        pytest.skip("no Python 2.7 interpreter found (set SERIALCOMPAT_PYTHON2 to one)")
    result = subprocess.run(
        [python2, "-c", "import py2_samples; py2_samples.main()"],
        cwd=str(DATA_DIR),
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    records = json.loads(result.stdout.decode("ascii"))
    assert len(records) > 100
    return [(name, module, proto, bytes.fromhex(hexdata)) for name, module, proto, hexdata in records]


@pytest.fixture
def py2_module_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA_DIR))
    yield
    sys.modules.pop("py2_samples", None)


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["latin1", "bytes", "ASCII", "utf-8"])
def test_python2_pickles_load_like_c(py2_pickles, py2_module_importable, encoding):
    loaded = 0
    for name, module, proto, data in py2_pickles:
        context = "%s by %s protocol %d, encoding=%s" % (name, module, proto, encoding)
        expected = outcome(pickle.loads, data, encoding=encoding)
        assert_same_outcome(expected, outcome(ref.loads, data, encoding=encoding), context)
        assert_same_outcome(
            expected, outcome(load_from, "unseekable", data, encoding=encoding), context
        )
        loaded += expected[0]
    assert loaded > len(py2_pickles) // 2  # most samples load (the comparison is not vacuous)


@pytest.mark.slow
def test_python2_pickles_specific_results(py2_pickles, py2_module_importable):
    by_key = {(name, module, proto): data for name, module, proto, data in py2_pickles}
    for module in ("pickle", "cPickle"):
        for proto in (0, 1, 2):
            def load(name, **kwargs):
                return ref.loads(by_key[(name, module, proto)], **kwargs)

            assert load("str_latin1", encoding="latin1") == "caf\xe9 \x00\xff"
            assert load("str_latin1", encoding="bytes") == b"caf\xe9 \x00\xff"
            assert load("str_utf8", encoding="utf-8") == "caf\xe9 \u20ac \U0001f600"
            with pytest.raises(UnicodeDecodeError):
                load("str_latin1")
            assert load("unicode", encoding="bytes") == "caf\xe9 \u20ac \U0001f600"
            assert load("long") == 2**100
            assert load("datetime", encoding="latin1") == datetime.datetime(
                2020, 5, 17, 13, 14, 15, 123456
            )
            assert load("date", encoding="bytes") == datetime.date(1999, 12, 31)
            assert load("xrange") == range(1, 10, 2)
            old = load("old_style", encoding="latin1")
            assert type(old).__name__ == "OldStyle" and old.x == [1, "two", "three"]
            assert load("init_args", encoding="latin1").__dict__ == {"a": 1, "b": "x"}
            recursive = load("recursive")
            assert recursive[0] is recursive
            with pytest.raises(ModuleNotFoundError):
                load("xrange", fix_imports=False)


# --- bad input ------------------------------------------------------------------------------
def _real_pickles():
    value = [
        {"name": "x" * 300, "n": [1, -1, 2**40, 1.5, None, True]},
        (b"bytes", bytearray(b"ba"), "é\U0001f600"),
        samples.Plain(a=samples.Slotted(1, b=2), c={1, 2}),
        datetime.datetime(2020, 1, 2, 3, 4, 5),
        samples.NewArgsEx(1, b=[2]),
    ]
    return [(proto, pickle.dumps(value, proto)) for proto in PROTOCOLS]


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_every_truncation_is_reported(proto):
    data = dict(_real_pickles())[proto]
    for cut in range(len(data)):
        prefix = data[:cut]
        for feed in FEEDS:
            with pytest.raises(TruncatedPickle) as info:
                load_from(feed, prefix)
            assert isinstance(info.value, EOFError)  # like C pickle's "Ran out of input"
            assert info.value.offset is not None and info.value.offset <= cut


ALLOWED_GLOBALS = {
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "list"), ("builtins", "dict"),
    ("builtins", "object"), ("copyreg", "_reconstructor"), ("copyreg", "__newobj__"),
    ("copyreg", "__newobj_ex__"), ("_codecs", "encode"), ("datetime", "datetime"),
    ("pickle_samples", "Plain"), ("pickle_samples", "Slotted"), ("pickle_samples", "NewArgsEx"),
    ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "object"),
    ("copy_reg", "_reconstructor"),
}


def _restricted(base):
    class Restricted(base):
        def find_class(self, module, name):
            if (module, name) not in ALLOWED_GLOBALS:
                raise pickle.UnpicklingError("global %s.%s is not allowed" % (module, name))
            return super().find_class(module, name)

    return Restricted


CRestricted = _restricted(pickle.Unpickler)
RefRestricted = _restricted(ref.Unpickler)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_real_pickles()), st.data())
def test_random_mutations_fail_like_c_and_leak_no_internal_error(sample, data):
    proto, original = sample
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        where = data.draw(st.integers(0, len(mutated) - 1), label="at")
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="action")
        byte = data.draw(st.integers(0, 255), label="byte")
        if action == "replace":
            mutated[where] = byte
        elif action == "insert":
            mutated.insert(where, byte)
        elif len(mutated) > 1:
            del mutated[where]
    mutated = bytes(mutated)
    check_against_c(mutated)
    # The exact-read path stops and resumes at incomplete opcodes; a BytesIO is
    # read ahead in one chunk: the same outcome either way.
    chunked = outcome(RefRestricted(io.BytesIO(mutated)).load)
    exact = outcome(RefRestricted(Unseekable(mutated)).load)
    assert chunked[0] == exact[0], (chunked, exact)
    if chunked[0]:
        assert samples.deep_equal(chunked[1], exact[1])
    else:
        assert type(chunked[1]) is type(exact[1]), (chunked, exact)
        assert str(chunked[1]) == str(exact[1])


def check_against_c(data):
    """Ours (restricted globals) behaves like C on ``data``; internal errors never leak."""
    ours = RefRestricted(io.BytesIO(data))
    got = outcome(ours.load)
    if not _c_is_safe(ours):  # no oracle: at least no internal error type leaks
        leaked = (IndexError, KeyError, MemoryError, RecursionError)
        assert got[0] or isinstance(got[1], pickle.UnpicklingError) or not isinstance(
            got[1], leaked
        ), got
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        expected = outcome(CRestricted(io.BytesIO(data)).load)
    assert_same_outcome(expected, got, repr(data))


def _c_is_safe(ours):
    """The C unpickler grows its memo array up to a PUT's index: it is not run
    as the oracle on pickles that PUT far away (it would allocate gigabytes)."""
    return not any(type(key) is int and key > 100000 for key in ours.memo)


def _hostile_pickles():
    cases = []
    for length in (2**31 - 1, 2**32 - 1, 2**40, 2**62, 2**63 - 1):
        u8 = length.to_bytes(8, "little")
        cases += [
            b"\x80\x04\x8e" + u8 + b"abc.",  # BINBYTES8
            b"\x80\x04\x8d" + u8 + b"abc.",  # BINUNICODE8
            b"\x80\x05\x96" + u8 + b"abc.",  # BYTEARRAY8
            b"\x80\x04\x95" + u8 + b"N.",  # FRAME
        ]
    for length in (2**31 - 1, 2**32 - 1):
        u4 = length.to_bytes(4, "little")
        cases += [b"B" + u4 + b"abc.", b"X" + u4 + b"abc.", b"T" + u4 + b"abc.",
                  b"\x8b" + (2**31 - 1).to_bytes(4, "little") + b"\x01."]
    for length in (2**63, 2**64 - 1):
        u8 = length.to_bytes(8, "little")
        cases += [b"\x8e" + u8 + b"x.", b"\x95" + u8 + b"N."]
    return cases


@pytest.mark.parametrize("data", _hostile_pickles(), ids=lambda data: data[:3].hex())
def test_hostile_lengths_allocate_nothing(data, tmp_path):
    path = tmp_path / "hostile.pickle"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        for feed in FEEDS + ("file",):
            with pytest.raises(MalformedPickle) as info:
                if feed == "file":
                    with open(str(path), "rb") as f:
                        ref.load(f)
                else:
                    load_from(feed, data)
            assert info.value.offset is not None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, "peak allocation %d bytes" % peak


def test_hostile_length_beyond_ssize_t_is_an_overflow_error():
    with pytest.raises(OverflowError):
        ref.loads(b"\x8e" + (2**63).to_bytes(8, "little") + b"x.")
    with pytest.raises(OverflowError):
        ref.loads(b"\x95" + (2**64 - 1).to_bytes(8, "little") + b"N.")


def _depth(obj):
    depth = 0
    while isinstance(obj, (list, tuple)):
        depth += 1
        obj = obj[0] if obj else None
    return depth


@pytest.mark.parametrize("depth", [5000, 60000])
def test_deep_nesting_without_recursion(depth):
    nested_lists = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
    loaded = ref.loads(nested_lists)
    assert _depth(loaded) == depth
    assert _depth(pickle.loads(nested_lists)) == depth
    nested_tuples = b"\x80\x02N" + b"\x85" * depth + b"."
    assert _depth(ref.loads(nested_tuples)) == depth
    marks = b"(" * depth + b"N."
    assert ref.loads(marks) is None  # like C: STOP pops above the open marks
    with pytest.raises(TruncatedPickle):
        ref.loads(b"(" * depth)
    with pytest.raises(MalformedPickle, match="MARK"):
        ref.loads(b"(" * depth + b".")


@pytest.mark.parametrize(
    "data,message",
    [
        (b".", "stack underflow"),
        (b"N(.", "unexpected MARK"),
        (b"Na", "underflow"),
        (b"e", "could not find MARK"),
        (b"\x80\x02]q\x01h\x02.", "Memo value not found at index 2"),
        (b"\x80\x07N.", "unsupported pickle protocol"),
        (b"\xff.", "invalid load key"),
        (b"(Nd.", "odd number of items for DICT"),
        (b"}(Nu.", "odd number of items for SETITEMS"),
        (b"\x8c\x03abcN\x93.", "STACK_GLOBAL requires str"),
        (b"N)\x81.", "NEWOBJ class argument must be a type"),
        (b"cbuiltins\nint\n]\x81.", "NEWOBJ args argument must be a tuple"),
        (b"cbuiltins\nint\n)]\x92.", "kwargs argument must be a dict"),
        (b"cbuiltins\nlen\n]R.", "argument list must be a tuple"),
        (b"cpickle_samples\nPlain\n)\x81]b.", "state is not a dictionary"),
        (b"cpickle_samples\nPlain\n)\x81}N\x86b.", "slot state is not a dictionary"),
        (b"\x8b\xff\xff\xff\xff.", "negative byte count"),
        (b"\x82\x00.", "EXT specifies code <= 0"),
        (b"S'abc\n.", "must be quoted"),
    ],
)
def test_malformed_input_names_the_problem_and_offset(data, message):
    with pytest.raises(MalformedPickle, match=message) as info:
        ref.loads(data)
    assert info.value.offset is not None and 0 <= info.value.offset < len(data)
    assert "at byte %d" % info.value.offset in str(info.value)
    assert outcome(pickle.loads, data)[0] is False  # C refuses these too


def test_errors_keep_the_stdlib_types():
    with pytest.raises(EOFError):
        ref.loads(b"")
    with pytest.raises(ValueError):
        ref.loads(b"\x80\x07N.")
    with pytest.raises(UnicodeDecodeError) as info:
        ref.loads(b"X\x01\x00\x00\x00\xff.")
    assert isinstance(info.value, MalformedPickle) and info.value.offset == 0
    with pytest.raises(KeyError):
        ref.loads(b"h\x05.")
    with pytest.raises(TypeError):
        ref.loads(b"cbuiltins\nlen\n]R.")


# --- errors of code the pickle calls propagate unchanged --------------------------------
@pytest.mark.parametrize("proto", PROTOCOLS)
def test_errors_from_called_code_propagate(proto):
    with pytest.raises(samples.HookError):
        ref.loads(pickle.dumps(samples.SetStateRaises(), proto))
    with pytest.raises(IndexError) as info:
        ref.loads(pickle.dumps(samples.ReduceRaises(), proto))
    assert not isinstance(info.value, pickle.UnpicklingError)
    with pytest.raises(IndexError, match="hash of an armed key") as info:
        ref.loads(pickle.dumps({samples.HashRaises(): 1}, proto))
    assert not isinstance(info.value, pickle.UnpicklingError)
    if proto >= 2:  # protocols 0 and 1 pass a list subclass's items to its constructor
        items = samples.ExtendRaises()
        list.extend(items, [1, 2])
        with pytest.raises(KeyError, match="extend refused") as info:
            ref.loads(pickle.dumps(items, proto))
        assert not isinstance(info.value, pickle.UnpicklingError)


def test_find_class_errors_propagate():
    with pytest.raises(ModuleNotFoundError):
        ref.loads(b"cno_such_module_here\nx\n.")
    with pytest.raises(AttributeError):
        ref.loads(b"cbuiltins\nno_such_name\n.")
    with pytest.raises(pickle.UnpicklingError, match="persistent_load"):
        ref.loads(b"Pabc\n.")


# --- API --------------------------------------------------------------------------------------
def test_find_class_override_by_subclass_and_attribute():
    class Sub(ref.Unpickler):
        def find_class(self, module, name):
            return ("sub", module, name)

    data = pickle.dumps(samples.Plain, 4)
    assert Sub(io.BytesIO(data)).load() == ("sub", "pickle_samples", "Plain")
    unpickler = ref.Unpickler(io.BytesIO(pickle.dumps(samples.Plain, 0)))
    unpickler.find_class = lambda module, name: (module, name)
    assert unpickler.load() == ("pickle_samples", "Plain")


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_persistent_ids(proto):
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return "pid-%d" % obj if isinstance(obj, int) and obj > 100 else None

    f = io.BytesIO()
    Pickler(f, proto).dump([1, 101, "x", 202])
    data = f.getvalue()

    class Sub(ref.Unpickler):
        def persistent_load(self, pid):
            return ("loaded", pid)

    assert Sub(io.BytesIO(data)).load() == [1, ("loaded", "pid-101"), "x", ("loaded", "pid-202")]
    unpickler = ref.Unpickler(io.BytesIO(data))
    unpickler.persistent_load = lambda pid: pid.upper()
    assert unpickler.load() == [1, "PID-101", "x", "PID-202"]
    with pytest.raises(pickle.UnpicklingError, match="persistent_load"):
        ref.loads(data)


def test_persistent_load_default_refuses_through_super():
    data = pickle.dumps("abc", 0)
    seen = []

    class Sub(ref.Unpickler):
        def persistent_load(self, pid):
            with pytest.raises(pickle.UnpicklingError):
                super().persistent_load(pid)
            seen.append(pid)
            return pid

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return obj if obj == "abc" else None

    for proto in PROTOCOLS:
        f = io.BytesIO()
        Pickler(f, proto).dump(["abc"])
        assert Sub(io.BytesIO(f.getvalue())).load() == ["abc"]
    assert seen == ["abc"] * len(PROTOCOLS)
    assert ref.loads(data) == "abc"


def test_memo_is_a_dict_kept_across_loads():
    first = pickle.dumps(["abc", "abc"], 2)
    unpickler = ref.Unpickler(io.BytesIO(first))
    loaded = unpickler.load()
    assert isinstance(unpickler.memo, dict) and unpickler.memo[0] is loaded
    unpickler.memo = {7: "primed"}
    other = ref.Unpickler(io.BytesIO(b"\x80\x02h\x07."))
    other.memo = unpickler.memo
    assert other.load() == "primed"


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("stream", [io.BytesIO, Unseekable])
def test_file_is_left_just_after_each_pickle(proto, stream):
    values = [[i, "x" * i, {"k": (i,)}] for i in (0, 5, 300)]
    blob = b"".join(pickle.dumps(v, proto) for v in values) + b"tail"
    f = stream(blob)
    unpickler = ref.Unpickler(f)
    assert [unpickler.load() for _ in values] == values
    assert f.read() == b"tail"
    f = stream(b"".join(pickle.dumps(v, proto) for v in values))
    assert [ref.load(f) for _ in values] == values
    with pytest.raises(EOFError):
        ref.load(f)


def test_real_file_and_small_buffers(tmp_path):
    path = tmp_path / "data.pickle"
    values = [list(range(1000)), {"a": "b" * 100000}]
    with open(str(path), "wb") as f:
        for value in values:
            pickle.dump(value, f, 4)
        f.write(b"rest")
    with open(str(path), "rb") as f:
        assert ref.load(f) == values[0]
        assert ref.load(f) == values[1]
        assert f.read() == b"rest"
    with open(str(path), "rb", buffering=0) as raw:
        buffered = io.BufferedReader(raw, buffer_size=3)
        assert ref.load(buffered) == values[0]


def test_constructor_and_arguments():
    with pytest.raises(TypeError):
        ref.Unpickler(object())
    with pytest.raises(TypeError):
        ref.loads("a string")
    with pytest.raises(TypeError):
        ref.loads(b"N.", encoding=None)
    assert ref.loads(bytearray(b"K\x05.")) == 5
    assert ref.loads(memoryview(b"xxK\x06.")[2:]) == 6

    class NoInit(ref.Unpickler):
        def __init__(self):
            pass

    with pytest.raises(pickle.UnpicklingError, match="__init__"):
        NoInit().load()


def test_fix_imports_maps_python2_names():
    data = b"\x80\x02c__builtin__\nset\n]\x85R."
    assert ref.loads(data) == set()
    with pytest.raises(ModuleNotFoundError):
        ref.loads(data, fix_imports=False)
    # protocol 3 pickles are not mapped
    with pytest.raises(ModuleNotFoundError):
        ref.loads(b"\x80\x03c__builtin__\nset\n.")
    assert ref.loads(b"\x80\x02cUserDict\nUserDict\n.").__name__ == "UserDict"


def test_string_errors_argument():
    data = b"U\x02\xc3\xa9."
    assert ref.loads(data, encoding="ascii", errors="replace") == "\ufffd\ufffd"
    assert ref.loads(data, encoding="ascii", errors="ignore") == ""
    assert ref.loads(data, encoding="bytes") == b"\xc3\xa9"
