"""The reference Pickler writes exactly the bytes of the running interpreter's C pickler."""

import collections
import copyreg
import io
import pickle
import pickletools
import re
import uuid

import pytest
from hypothesis import given, strategies as st

import pickle_samples
from pickle_samples import Color, ItemsDict, ItemsList, Outer, Plain
from pytest_serialcompat.reference import pickler as ref

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def _local_class():
    class Local:
        pass

    return Local


values = pickle_samples.values()


def c_dumps(obj, protocol):
    return pickle.dumps(obj, protocol)


def outcome(dumps, value, protocol):
    """The bytes, or the exception type when pickling fails (e.g. __slots__ under protocol < 2)."""
    try:
        return dumps(value, protocol)
    except Exception as exc:  # compared between implementations below
        return type(exc)


def ref_to_file(value, protocol):
    buf = io.BytesIO()
    ref.Pickler(buf, protocol).dump(value)
    return buf.getvalue()


# --- properties --------------------------------------------------------------------


@given(values, st.sampled_from(PROTOCOLS))
def test_dumps_is_byte_identical_to_c_pickle(value, protocol):
    assert outcome(ref.dumps, value, protocol) == outcome(c_dumps, value, protocol)


@given(values)
def test_default_protocol_matches(value):
    assert outcome(ref.dumps, value, None) == outcome(c_dumps, value, None)


@given(values, st.sampled_from(PROTOCOLS))
def test_pickler_to_file_writes_the_same_bytes(value, protocol):
    assert outcome(ref_to_file, value, protocol) == outcome(c_dumps, value, protocol)


# --- hand-picked cases the generator reaches rarely --------------------------------

BATCH_EDGES = [
    list(range(999)),
    list(range(1000)),
    list(range(1001)),
    list(range(2000)),
    {i: str(i) for i in range(1000)},
    {i: i for i in range(1001)},
    set(range(1000)),
    set(range(2001)),
    frozenset(range(1000)),
    ItemsList(range(1001)),
    ItemsDict((i, i) for i in range(1000)),
    collections.OrderedDict((str(i), i) for i in range(1000)),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("value", BATCH_EDGES, ids=lambda v: "%s-%d" % (type(v).__name__, len(v)))
def test_batch_boundaries(value, protocol):
    assert ref.dumps(value, protocol) == c_dumps(value, protocol)


FRAME_EDGES = [
    "x" * (64 * 1024 - 1),
    "x" * (64 * 1024),
    b"y" * (64 * 1024),
    bytearray(b"z" * (64 * 1024 + 5)),
    [b"a" * 70000, "tail"],
    [b"a" * 70000, b"b" * 70000],
    ["s%d" % i * 3 for i in range(20000)],
    [(str(i).encode("ascii"), i % 42, {"i": str(i)}) for i in range(10000)] + ["0123456789abcdef" * 4097],
]


@pytest.mark.parametrize("protocol", [3, 4, 5])
@pytest.mark.parametrize("index", range(len(FRAME_EDGES)))
def test_frames_and_large_payloads(index, protocol):
    value = FRAME_EDGES[index]
    assert ref.dumps(value, protocol) == c_dumps(value, protocol)
    buf = io.BytesIO()
    ref.Pickler(buf, protocol).dump(value)
    assert buf.getvalue() == c_dumps(value, protocol)


def test_large_payloads_are_written_to_files_outside_frames():
    chunks = []

    class Sink:
        def write(self, chunk):
            chunks.append(bytes(chunk))

    payload = b"p" * (256 * 1024)
    ref.Pickler(Sink(), 5).dump([payload, "after"])
    assert payload in chunks  # streamed as its own write, not copied into a frame
    assert b"".join(chunks) == pickle.dumps([payload, "after"], 5)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_nested_classes_and_module_globals(protocol):
    value = [Outer, Outer.Inner, Outer.Inner.Deepest, Outer.Inner, len, re.compile, uuid.UUID]
    assert ref.dumps(value, protocol) == c_dumps(value, protocol)


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_fix_imports_maps_names_to_python2(protocol):
    value = [collections.UserDict, range, bytes(b"x"), IOError, str]
    for fix in (True, False):
        mine = ref.dumps(value, protocol, fix_imports=fix)
        assert mine == pickle.dumps(value, protocol, fix_imports=fix)
    assert b"__builtin__" in ref.dumps([range], protocol)
    assert b"__builtin__" not in ref.dumps([range], protocol, fix_imports=False)


@pytest.mark.parametrize("code", [0x7F, 0xFF, 0x1234, 0x7FFFFFFF])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_extension_registry_codes(code, protocol):
    copyreg.add_extension(Plain.__module__, "Plain", code)
    try:
        value = [Plain, Plain]
        assert ref.dumps(value, protocol) == c_dumps(value, protocol)
        names = {opcode.name for opcode, _, _ in pickletools.genops(ref.dumps(value, protocol))}
        assert bool(names & {"EXT1", "EXT2", "EXT4"}) == (protocol >= 2)
    finally:
        copyreg.remove_extension(Plain.__module__, "Plain", code)


def _pickle_both(factory, value, protocol):
    mine = io.BytesIO()
    factory(ref.Pickler, mine, protocol).dump(value)
    theirs = io.BytesIO()
    factory(pickle.Pickler, theirs, protocol).dump(value)
    return mine.getvalue(), theirs.getvalue()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_id(protocol):
    def factory(base, f, proto):
        class P(base):
            def persistent_id(self, obj):
                if isinstance(obj, Plain):
                    return "plain-%s" % obj.__dict__.get("key")
                return None

        return P(f, proto)

    value = [Plain(key=1), {"x": Plain(key=2)}, 3]
    mine, theirs = _pickle_both(factory, value, protocol)
    assert mine == theirs
    assert b"plain-1" in mine


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_dispatch_table_and_reducer_override(protocol):
    def factory(base, f, proto):
        class P(base):
            dispatch_table = {complex: lambda c: (complex, (c.imag, c.real))}

            def reducer_override(self, obj):
                if isinstance(obj, Plain):
                    return (dict, ((("overridden", True),),))
                return NotImplemented

        return P(f, proto)

    value = [1 + 2j, Plain(a=1), [1, "s"], Color.RED]
    mine, theirs = _pickle_both(factory, value, protocol)
    assert mine == theirs


def test_out_of_band_buffers_match_c_pickle():
    data = [pickle.PickleBuffer(b"readonly"), pickle.PickleBuffer(bytearray(b"writable")), b"inline"]
    mine_buffers, their_buffers = [], []
    mine = ref.dumps(data, 5, buffer_callback=mine_buffers.append)
    theirs = pickle.dumps(data, 5, buffer_callback=their_buffers.append)
    assert mine == theirs
    assert [bytes(b) for b in mine_buffers] == [bytes(b) for b in their_buffers] == [b"readonly", b"writable"]
    assert bytes(pickle.loads(mine, buffers=mine_buffers)[0]) == b"readonly"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_in_band_picklebuffer(protocol):
    value = [pickle.PickleBuffer(b"abc"), pickle.PickleBuffer(bytearray(b"def"))]
    if protocol < 5:
        with pytest.raises(pickle.PicklingError):
            ref.dumps(value, protocol)
        with pytest.raises(pickle.PicklingError):
            pickle.dumps(value, protocol)
    else:
        assert ref.dumps(value, protocol) == c_dumps(value, protocol)


@pytest.mark.parametrize(
    "value",
    [lambda: 1, _local_class(), _local_class()(), (i for i in range(3))],
    ids=["lambda", "local-class", "local-instance", "generator"],
)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unpicklable_objects_raise_like_c_pickle(value, protocol):
    with pytest.raises(Exception) as theirs:
        pickle.dumps(value, protocol)
    with pytest.raises(Exception) as mine:
        ref.dumps(value, protocol)
    if isinstance(theirs.value, pickle.PicklingError):
        assert isinstance(mine.value, pickle.PicklingError)
    else:
        assert isinstance(mine.value, (type(theirs.value), pickle.PicklingError))


def test_arguments_are_validated_like_c_pickle():
    with pytest.raises(ValueError):
        ref.dumps(1, pickle.HIGHEST_PROTOCOL + 1)
    with pytest.raises(ValueError):
        ref.dumps(1, 4, buffer_callback=list().append)
    with pytest.raises(TypeError):
        ref.Pickler(object())
    assert ref.dumps([1], -1) == pickle.dumps([1], -1)


def test_memo_survives_between_dumps_and_can_be_cleared():
    shared = ["shared"]
    outputs = {}
    for name, cls in (("ref", ref.Pickler), ("c", pickle.Pickler)):
        f = io.BytesIO()
        p = cls(f, 2)
        p.dump(shared)
        p.dump(shared)  # second dump refers to the memo of the first
        p.clear_memo()
        p.dump(shared)
        outputs[name] = f.getvalue()
    assert outputs["ref"] == outputs["c"]


def test_pickler_memo_can_be_primed():
    data = ["abcdefg", "abcdefg", 44]
    first = io.BytesIO()
    p = ref.Pickler(first)
    p.dump(data)
    primed_out = io.BytesIO()
    primed = ref.Pickler(primed_out)
    primed.memo = p.memo
    primed.dump(data)
    assert primed_out.getvalue() != first.getvalue()
    assert pickle.loads(first.getvalue()) == data


def test_reentrant_dumps_from_reduce():
    class Nested:
        def __reduce__(self):
            # pickling inside a __reduce__ must not disturb the outer dump
            return (bytes, (ref.dumps([1, 2, 3], 4),))

    value = [Nested(), "after"]
    blob = ref.dumps(value, 4)
    assert pickle.loads(blob) == [pickle.dumps([1, 2, 3], 4), "after"]


def test_deep_but_bounded_nesting():
    value = []
    for _ in range(200):
        value = [value]
    for protocol in PROTOCOLS:
        assert ref.dumps(value, protocol) == c_dumps(value, protocol)


@pytest.mark.parametrize(
    "code",
    [object(), None, -1, 0, 2**31, 2**63, 2**1000],
    ids=["object", "None", "-1", "0", "2**31", "2**63", "2**1000"],
)
def test_bad_extension_codes_fail_like_c_pickle(code):
    key = (ItemsList.__module__, "ItemsList")
    copyreg._extension_registry[key] = code
    try:
        assert outcome(ref.dumps, ItemsList, 2) == outcome(c_dumps, ItemsList, 2)
    finally:
        del copyreg._extension_registry[key]


def test_hooks_set_to_none_are_called_like_c_pickle():
    class NoneOverride(ref.Pickler):
        reducer_override = None

    with pytest.raises(TypeError):
        NoneOverride(io.BytesIO()).dump(object())
    pickler = ref.Pickler(io.BytesIO())
    pickler.dispatch_table = {object: None}
    with pytest.raises(TypeError):
        pickler.dump(object())
