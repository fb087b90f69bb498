"""marshal_loads / marshal_dumps against the running interpreter's C marshal."""

import array
import marshal
import math
import re
import struct
import sys
import tracemalloc

import pytest
from hypothesis import assume, given, strategies as st

from pytest_serialcompat.reference import marshal_codec as mc
from pytest_serialcompat.reference.codeinfo import read_code
from pytest_serialcompat.reference.marshal_codec import MarshalError, marshal_dumps, marshal_loads

RUNNING = tuple(sys.version_info[:2])
C_VERSIONS = range(marshal.version + 1)


# --- values -----------------------------------------------------------------

floats = st.floats(allow_nan=True, allow_infinity=True)
atoms = st.one_of(
    st.none(), st.booleans(), st.just(Ellipsis), st.just(StopIteration),
    st.integers(), st.integers(min_value=-2 ** 70, max_value=2 ** 70),
    st.integers(min_value=-2 ** 2000, max_value=2 ** 2000),
    floats, st.builds(complex, floats, floats),
    st.text(st.characters(blacklist_categories=())),  # surrogates too
    st.text("abcxyz_", max_size=300), st.binary(), st.binary(max_size=1),
)
hashables = st.recursive(
    atoms, lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(tuple), st.frozensets(inner, max_size=4)),
    max_leaves=8,
)
values = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(hashables, inner, max_size=4),
        st.sets(hashables, max_size=4),
        st.frozensets(hashables, max_size=4),
    ),
    max_leaves=25,
)


def canonical(x):
    """A sortable, NaN-proof stand-in for a hashable decoded value."""
    t = type(x)
    if t is float:
        return ("float", "nan" if x != x else struct.pack("<d", x).hex())
    if t is complex:
        return ("complex", canonical(x.real), canonical(x.imag))
    if t is tuple:
        return ("tuple",) + tuple(canonical(i) for i in x)
    if t is frozenset:
        return ("frozenset",) + tuple(sorted(canonical(i) for i in x))
    return (t.__name__, repr(x))


def same(a, b, _active=None):
    """Exact equality: types, float signs and structure; any NaN matches any
    NaN (the text float forms of versions 0-1 drop payloads and signs).
    Cycles (a list that contains itself) compare by their shape."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return (a != a and b != b) or struct.pack("<d", a) == struct.pack("<d", b)
    if type(a) is complex:
        return same(a.real, b.real) and same(a.imag, b.imag)
    if type(a) in (list, tuple, dict):
        active = set() if _active is None else _active
        pair = (id(a), id(b))
        if pair in active:
            return True
        active.add(pair)
        try:
            if type(a) is dict:
                if len(a) != len(b):
                    return False
                items_a = sorted(a.items(), key=lambda kv: canonical(kv[0]))
                items_b = sorted(b.items(), key=lambda kv: canonical(kv[0]))
                return all(canonical(ka) == canonical(kb) and same(va, vb, active)
                           for (ka, va), (kb, vb) in zip(items_a, items_b))
            return len(a) == len(b) and all(same(x, y, active) for x, y in zip(a, b))
        finally:
            active.discard(pair)
    if type(a) in (set, frozenset):
        return sorted(map(canonical, a)) == sorted(map(canonical, b))
    return a == b


def fresh(v):
    """A copy made of new objects only (no caller holds a second reference),
    so CPython's reference-count-based FLAG_REF depends on the value alone."""
    t = type(v)
    if t is int:
        return int(repr(v))  # small ints come back as the cached objects, as usual
    if t is float:
        return struct.unpack("<d", struct.pack("<d", v))[0]
    if t is complex:
        return complex(fresh(v.real), fresh(v.imag))
    if t is str:
        return "".join(list(v))
    if t is bytes:
        return bytes(bytearray(v))
    if t is tuple:
        return tuple([fresh(x) for x in v])
    if t is list:
        return [fresh(x) for x in v]
    if t is dict:
        return {fresh(k): fresh(x) for k, x in v.items()}
    if t is set:
        return {fresh(x) for x in v}
    if t is frozenset:
        return frozenset([fresh(x) for x in v])
    return v


def has_process_dependent_parts(v):
    """Parts whose CPython flags depend on the process, not on the value:
    one-character Latin-1 strings (interned or not by earlier code before
    3.13) and the empty frozenset (a shared singleton before 3.10)."""
    stack = [v]
    while stack:
        x = stack.pop()
        t = type(x)
        if t is str and len(x) == 1 and ord(x) < 256 and RUNNING < (3, 13):
            return True
        if t is frozenset and not x:
            return True
        if t in (list, tuple, set, frozenset):
            stack.extend(x)
        elif t is dict:
            stack.extend(x.keys())
            stack.extend(x.values())
    return False


# --- reading what CPython writes ---------------------------------------------

@given(values, st.sampled_from(C_VERSIONS))
def test_loads_reads_cpython_output(value, version):
    data = marshal.dumps(value, version)
    assert same(marshal_loads(data), marshal.loads(data))


@given(values, st.sampled_from(C_VERSIONS))
def test_roundtrip_through_both_implementations(value, version):
    ours = marshal_dumps(value, version)
    assert same(marshal.loads(ours), value)
    assert same(marshal_loads(ours), value)


# --- writing CPython's bytes ---------------------------------------------------

@given(values, st.sampled_from([0, 1, 2]))
def test_dumps_versions_0_to_2_byte_identical(value, version):
    assert marshal_dumps(value, version) == marshal.dumps(value, version)


@given(values, st.sampled_from([3, 4]))
def test_dumps_versions_3_4_byte_identical_for_unshared_values(value, version):
    assume(not has_process_dependent_parts(value))
    expected = marshal.dumps(fresh(value), version)
    assert marshal_dumps(fresh(value), version) == expected


@given(values.filter(lambda v: type(v) not in (bool, type(None), type(Ellipsis), type)), st.sampled_from([3, 4]))
def test_dumps_shared_objects_use_back_references(value, version):
    assume(not has_process_dependent_parts(value))
    shared = fresh(value)
    expected = marshal.dumps([shared, (shared,)], version)
    assert marshal_dumps([shared, (shared,)], version) == expected
    assert mc.TYPE_REF in expected[5:]  # the second occurrence is a reference


def test_recursive_list_is_written_with_a_reference():
    lst = [float("1.5")]  # a float no code object holds
    lst.append(lst)
    data = marshal_dumps(lst, 4)
    assert data == marshal.dumps(lst, 4)
    back = marshal_loads(data)
    assert back[1] is back and back[0] == 1.5


def test_float_text_form_matches_repr_17():
    for x in (0.1, -0.0, 1e300, 5e-324, float("inf"), float("-inf"), float("nan"), 123456789.125):
        assert marshal_dumps(x, 1) == marshal.dumps(x, 1)
        assert marshal_dumps(complex(x, -x), 0) == marshal.dumps(complex(x, -x), 0)


def test_buffers_are_written_as_bytes():
    for obj in (bytearray(b"abc"), memoryview(b"xyz"), array.array("i", [1, 2])):
        assert marshal_dumps(obj, 2) == marshal.dumps(obj, 2)
        assert marshal_loads(marshal_dumps(obj, 4)) == bytes(obj)


@pytest.mark.parametrize("bad", [object(), type("IntSub", (int,), {})(3), print, memoryview(b"abcd")[::2]])
def test_unmarshallable_values(bad):
    with pytest.raises(ValueError):
        marshal.dumps(bad)
    with pytest.raises(MarshalError):
        marshal_dumps(bad)


def nested_lists(depth):
    root = cur = []
    for _ in range(depth - 1):
        nxt = []
        cur.append(nxt)
        cur = nxt
    return root


@pytest.mark.parametrize("depth", [1999, 2000, 2001])
def test_write_depth_limit_matches(depth):
    value = nested_lists(depth)
    try:
        expected = marshal.dumps(value, 2)  # version 2: no reference-count effects
    except ValueError:
        with pytest.raises(MarshalError, match="too deeply nested"):
            marshal_dumps(value, 2)
    else:
        assert marshal_dumps(value, 2) == expected


@pytest.mark.parametrize("depth", [1999, 2000, 2001])
def test_read_depth_limit_matches(depth):
    data = b"[\x01\x00\x00\x00" * depth + b"N"
    try:
        marshal.loads(data)
    except ValueError:
        with pytest.raises(MarshalError):
            marshal_loads(data)
    else:
        value = marshal_loads(data)  # no RecursionError on any interpreter
        for _ in range(depth):
            value = value[0]
        assert value is None


def test_version_5_slices_round_trip_through_our_codec():
    data = marshal_dumps(slice(1, None, "xy"), 5)
    assert data == b":\xe9\x01\x00\x00\x00Nz\x02xy"
    assert mc.Reader(data, allow_slice=True).read() == slice(1, None, "xy")
    with pytest.raises(MarshalError):
        marshal_dumps(slice(1, 2), 4)
    data = marshal_dumps(slice(1, None, "x"), 5)
    if marshal.version >= 5:
        assert marshal.loads(data) == slice(1, None, "x")
        assert marshal_loads(data) == slice(1, None, "x")
    else:
        with pytest.raises(ValueError):
            marshal.loads(data)
        with pytest.raises(MarshalError):
            marshal_loads(data)


# --- exact decoding corner cases, checked against the C reader --------------

CORNERS = [
    b"I\x01\x00\x00\x00\x00\x00\x00\x80",  # TYPE_INT64, read-only legacy
    b"{N0",  # a dict ending at a NULL *value* drops the key
    b"{0",
    b"a\x02\x00\x00\x00\xe9\xff",  # ASCII type with Latin-1 bytes
    b"f\x051.5\x00x",  # text float stops at NUL
    b"f\x04+inF", b"f\x08infinity", b"f\x04-nan", b"f\x02.5", b"f\x021.",
    b"f\x03 15", b"f\x031_0", b"f\x030x1", b"f\x00", b"f\x021e",
    b"x\x031.5\x04-2e3",
    b"l\x00\x00\x00\x00", b"l\xfe\xff\xff\xff\x01\x00\x02\x00",
    b"l\x02\x00\x00\x00\x01\x00\x00\x00",  # unnormalized
    b"l\x01\x00\x00\x00\x00\x80",  # digit out of range
    b"u\x02\x00\x00\x00\xed\xa0",  # truncated surrogate
    b"u\x03\x00\x00\x00\xed\xa0\x80",  # surrogatepass
    b"u\x02\x00\x00\x00\xc3\x28",  # invalid UTF-8
    b"0", b"?", b"r\x00\x00\x00\x00", b"",
    b"\xa9\x02\xda\x02abr\x01\x00\x00\x00",  # ref 1 is the string, not the tuple
    b")\x02\xda\x02abr\x00\x00\x00\x00",  # ref 0 is the string
    b"\xbe\x01\x00\x00\x00r\x00\x00\x00\x00",  # ref to an unfinished frozenset
    b"\xdb\x01\x00\x00\x00r\x00\x00\x00\x00",  # a list may contain itself
    b"<\x01\x00\x00\x00[\x00\x00\x00\x00",  # unhashable set element
    b"{[\x00\x00\x00\x00N0",  # unhashable key
    b"(\x02\x00\x00\x00N0",  # NULL inside a tuple
    b"NNN",  # trailing data ignored
    b"\xce",  # flag on a singleton is ignored
    b"\xb0",  # flagged NULL
]


@pytest.mark.parametrize("data", CORNERS, ids=[repr(c)[:30] for c in CORNERS])
def test_corner_cases_match_c_marshal(data):
    try:
        expected = marshal.loads(data)
    except Exception:
        with pytest.raises(MarshalError) as excinfo:
            marshal_loads(data)
        assert excinfo.value.offset is not None and 0 <= excinfo.value.offset <= len(data)
    else:
        got = marshal_loads(data)
        if isinstance(expected, list) and expected and expected[0] is expected:
            assert got[0] is got
        else:
            assert same(got, expected)


def test_recursive_tuple_is_refused_with_offset():
    # CPython builds a tuple that contains itself; pure Python cannot
    data = b"\xa9\x01r\x00\x00\x00\x00"
    built = marshal.loads(data)
    assert built[0] is built  # what the C reader makes
    with pytest.raises(MarshalError, match="contains itself") as excinfo:
        marshal_loads(data)
    assert excinfo.value.offset == 2


def test_declared_lengths_allocate_nothing():
    tracemalloc.start()
    try:
        for data in (b"s\xff\xff\xff\x7f", b"[\xff\xff\xff\x7f", b"(\xff\xff\xff\x7fN",
                     b"l\xff\xff\xff\x7f\x01\x00", b"u\xff\xff\xff\x7fab", b"<\xff\xff\xff\x7f",
                     b"\x29\xffN"):
            with pytest.raises(MarshalError, match="too short") as excinfo:
                marshal_loads(data)
            assert excinfo.value.offset is not None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_exponential_hash_is_refused():
    # t0 = (1.5,), t(k+1) = (tk, tk): 60 levels, 2**60 leaves, a few hundred
    # bytes thanks to back-references; hashing it would never finish
    leaf = (1.5,)
    for _ in range(60):
        leaf = (leaf, leaf)
    data = marshal_dumps([leaf], 4)
    assert len(data) < 1000
    node = marshal_loads(data)[0]  # as a list element it is harmless
    for _ in range(60):
        assert node[0] is node[1]
        node = node[0]
    assert node == (1.5,)
    assert data[0] == mc.TYPE_LIST
    hostile = b"<" + data[1:]  # the same tuple as a set element must be hashed
    with pytest.raises(MarshalError, match="hashing"):
        marshal_loads(hostile)


# --- random, mutated and truncated input ----------------------------------------

def differential(data):
    """Our reader raises MarshalError exactly when the C reader fails and
    otherwise decodes an equal value (code objects and huge declared sizes,
    which the C reader would build or allocate, are checked on our side only)."""
    try:
        got = marshal_loads(data, allow_code=False)
    except MarshalError as exc:
        assert exc.offset is None or 0 <= exc.offset <= len(data)
        text = str(exc)
        huge = max([int(n) for n in re.findall(r"\d+", text)] + [0]) > 1000000
        if "code objects are not allowed" in text or "contains itself" in text or huge:
            return  # the C reader would build code or allocate gigabytes
        with pytest.raises(Exception):
            marshal.loads(data)
        return
    expected = marshal.loads(data)
    assert same(got, expected) or (got != got and expected != expected)


@given(st.binary(max_size=64))
def test_random_bytes_differential(data):
    differential(data)


@given(values, st.sampled_from(C_VERSIONS), st.data())
def test_mutated_data_differential(value, version, draw):
    data = bytearray(marshal.dumps(value, version))
    for _ in range(draw.draw(st.integers(1, 3))):
        i = draw.draw(st.integers(0, len(data) - 1))
        data[i] = draw.draw(st.integers(0, 255))
    differential(bytes(data))


@given(values, st.sampled_from(C_VERSIONS))
def test_every_truncation_is_a_marshal_error(value, version):
    data = marshal.dumps(value, version)
    step = max(1, len(data) // 48)  # bounded cost: every prefix of small data
    for end in sorted(set(range(0, len(data), step)) | set(range(max(0, len(data) - 8), len(data)))):
        try:
            marshal_loads(data[:end])
        except MarshalError as exc:
            assert exc.offset is not None and 0 <= exc.offset <= end
        else:  # only a shorter complete value can be a prefix (e.g. "{0" in "{...0")
            pytest.fail("prefix %r decoded" % data[:end])


# --- code objects -------------------------------------------------------------

def sample_functions():
    def closure(a, b=2, *args, c, **kw):
        total = [a * i for i in range(b)]

        def inner():
            return total, c
        return inner

    async def coro(x):
        return [y async for y in x]

    return [closure, coro, lambda q: q + 1, sample_functions]


@pytest.mark.parametrize("func", sample_functions(), ids=lambda f: f.__name__)
def test_code_objects_load_like_c_marshal(func):
    data = marshal.dumps(func.__code__)
    loaded = marshal_loads(data)
    assert loaded == func.__code__
    assert read_code(marshal_dumps(func.__code__), python_version=RUNNING) == read_code(data, python_version=RUNNING)
    assert marshal.loads(marshal_dumps(func.__code__)) == func.__code__
    with pytest.raises(MarshalError, match="not allowed"):
        marshal_loads(data, allow_code=False)
    with pytest.raises(MarshalError):
        marshal_dumps(func.__code__, allow_code=False)


def test_loaded_code_runs():
    code = compile("def f(x, *, y=2):\n    return [x * i for i in range(y)]\nresult = f(3)\n", "<t>", "exec")
    namespace = {}
    exec(marshal_loads(marshal.dumps(code)), namespace)
    assert namespace["result"] == [0, 3]


def ref_offsets(data):
    """Offsets of TYPE_REF type bytes in a marshal stream."""
    found = []

    class Spy(mc.Reader):
        def _read_object(self, stack):
            if self.pos < self.size and self.data[self.pos] & 0x7F == mc.TYPE_REF:
                found.append(self.pos)
            return super()._read_object(stack)

    Spy(data, code_layout=mc._layout.layout_for(RUNNING), build_code=lambda f, o: None).read()
    return found


def test_reference_to_the_code_object_being_read_is_invalid():
    code = compile("a = b = 'shared'\nc = a + b\n", "<t>", "exec")
    data = bytearray(marshal.dumps(code))
    assert data[0] & 0x80  # the code object itself is index 0
    offsets = ref_offsets(bytes(data))
    assert offsets
    data[offsets[0] + 1:offsets[0] + 5] = struct.pack("<i", 0)
    with pytest.raises(ValueError):
        marshal.loads(bytes(data))
    with pytest.raises(MarshalError, match="invalid reference"):
        marshal_loads(bytes(data))
    with pytest.raises(MarshalError, match="invalid reference"):
        read_code(bytes(data), python_version=RUNNING)


@pytest.mark.skipif(RUNNING < (3, 11), reason="quickening at construction exists from 3.11 on")
def test_bytecode_that_would_corrupt_memory_is_refused():
    code = compile("x.y\n", "<t>", "exec")
    info = read_code(marshal.dumps(code), python_version=RUNNING)
    import dis

    import dataclasses

    op = dis.opmap["LOAD_ATTR"]  # followed by inline cache entries on 3.11+
    bad = dataclasses.replace(info, code=bytes([op, 0]))  # caches run past the end
    with pytest.raises(MarshalError, match="past the end"):
        bad.to_code()


def test_math_nan_payload_survives():
    nan = struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0]
    assert math.isnan(nan)
    assert marshal_dumps(nan, 2) == marshal.dumps(nan, 2)
    assert struct.pack("<d", marshal_loads(marshal.dumps(nan, 2))) == struct.pack("<d", nan)
