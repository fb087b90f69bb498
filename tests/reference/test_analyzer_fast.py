"""The C-speed verdict path (reference/analyzer_fast.py) against the full analyzer.

Whenever ``fast_verdict`` answers, its answer must be the full analyzer's
(``to_dict()``, ``end``, the findings with their offsets, and the fields the
gate reads); whenever the full analyzer raises, it must decline.  Inputs:
generated pure-data graphs at protocols 0-5 (with sharing and cycles), the
bm_pickle data, hostile streams, byte-level mutations and truncations.  And it
must accept the common cases, or it is worthless.
"""

import os
import pickle
import struct
import sys
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_serialcompat.reference import analyzer, analyzer_fast
from pytest_serialcompat.reference.analyzer import DEFAULT_LIMITS, KIND_COST, Limits, MalformedPickle, analyze
from pytest_serialcompat.reference.analyzer_fast import FastAnalysis, fast_verdict

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from bm_pickle_data import WORKLOAD  # noqa: E402

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def full(data, limits=DEFAULT_LIMITS):
    """The full analyzer in verdict mode (never the fast path)."""
    return analyzer._run(data, (), limits, False, False)


def gate_fields(a):
    """What the gate reads (check/safety.py, check/verdict_cache.py), read before any lazy field."""
    return (a.protocol, list(a.globals), [tuple(u) for u in a.unsafe], dict(a.uses), a.safe, list(a.calls),
            a.end, a.buffer_count, a.max_depth, a.tree)


def assert_same_or_declined(data, limits=DEFAULT_LIMITS):
    """The property: the fast path answers exactly as the full analyzer, or not at all."""
    fast = fast_verdict(data, limits)
    try:
        expected = full(data, limits)
    except MalformedPickle:
        assert fast is None, data
        return None
    if fast is not None:
        assert gate_fields(fast) == gate_fields(expected), data
        assert fast.to_dict() == expected.to_dict(), data
        assert fast.memo_size == expected.memo_size
    return fast


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", [name for name, _ in WORKLOAD])
def test_bm_pickle_data_is_accepted_and_identical(name, protocol):
    data = pickle.dumps(dict(WORKLOAD)[name], protocol)
    assert assert_same_or_declined(data) is not None
    assert type(analyze(data, tree=False)) is FastAnalysis  # the public entry takes the fast path
    assert type(analyze(data)) is not FastAnalysis  # a tree always comes from the full analyzer


PLAIN = [None, True, 0, -1, 2**40, 2**100, -(2**61), 1.5, float("nan"), "", "h\xe9llo \u20ac\U0001f600", "x" * 300,
         [], [1, [2, [3]]], (), (1,), (1, 2, 3, 4), {"a": 1, "b": [None, 2.5]}, {(1, 2): "t", 3: ()},
         [[]] * 3, list(range(300)), {i: str(i) for i in range(100)}]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_plain_data_is_accepted_at_every_protocol(protocol):
    for value in PLAIN:
        assert assert_same_or_declined(pickle.dumps(value, protocol)) is not None, (value, protocol)


def test_sets_bytes_and_bytearrays_from_the_protocols_that_write_them_without_globals():
    for value, protocols in (({1, 2}, (4, 5)), (frozenset({"a"}), (4, 5)), (b"ab\x00", (3, 4, 5)),
                             (bytearray(b"xy"), (5,)), (b"z" * 5000, (3, 4, 5))):
        for protocol in protocols:
            assert assert_same_or_declined(pickle.dumps(value, protocol)) is not None, (value, protocol)


def test_shared_and_cyclic_graphs():
    inner = [1, "s"]
    cyclic = [inner]
    cyclic.append(cyclic)
    loop = {"k": [0]}
    loop["k"].append(loop)
    recursive_tuple = ([],)
    recursive_tuple[0].append(recursive_tuple)
    for value in ([inner, inner, (inner, inner)], cyclic, loop, recursive_tuple):
        for protocol in PROTOCOLS:
            assert assert_same_or_declined(pickle.dumps(value, protocol)) is not None, (value, protocol)


def test_globals_and_calls_are_declined():
    import datetime
    import fractions

    # (value, the protocols at which its pickle names a global)
    for value, protocols in ((datetime.date(2024, 1, 1), PROTOCOLS), (fractions.Fraction(1, 3), PROTOCOLS),
                             (int, PROTOCOLS), (range(3), PROTOCOLS), ({1, 2}, range(4)), (b"ab", range(3)),
                             (bytearray(b"x"), range(5))):
        for protocol in protocols:
            data = pickle.dumps(value, protocol)
            assert fast_verdict(data, DEFAULT_LIMITS) is None, (value, protocol)
            assert_same_or_declined(data)


def test_colliding_keys_give_the_cost_finding_with_the_full_analyzers_text():
    modulus = (1 << 61) - 1
    keys = [i * modulus for i in range(1, 70)]  # one hash
    for value in (set(keys), frozenset(keys)):
        # colliding set items are loaded in another order, so the pickle is not the loaded
        # set's: declined (the full analyzer decides) -- but never a different answer
        for protocol in (4, 5):
            assert_same_or_declined(pickle.dumps(value, protocol))
    for value in (dict.fromkeys(keys), {tuple([k]): 0 for k in keys}, {(k, "s", None, 1.5): 0 for k in keys}):
        for protocol in PROTOCOLS:
            fast = assert_same_or_declined(pickle.dumps(value, protocol))
            assert fast is not None, (type(value), protocol)
            assert [u.kind for u in fast.unsafe] == [KIND_COST]
    # one under the limit: no finding
    assert assert_same_or_declined(pickle.dumps(dict.fromkeys(keys[:64]), 4)).unsafe == []


def test_limits_the_reasoning_needs_else_declined():
    data = pickle.dumps([1, 2, 3], 2)
    assert fast_verdict(data, DEFAULT_LIMITS) is not None
    for limits in (Limits(max_int_digits=100), Limits(max_ops=3), Limits(max_nodes=2), Limits(max_memo=2),
                   Limits(max_bytes=5)):
        assert fast_verdict(data, limits) is None, limits
    # a lower max_depth or collision limit is applied by the fast path itself
    deep = [[[[[[1]]]]]]
    for protocol in PROTOCOLS:
        assert_same_or_declined(pickle.dumps(deep, protocol), Limits(max_depth=3))
    assert_same_or_declined(pickle.dumps({float(i) * 2 ** 61: 0 for i in range(1, 10)}, 4),
                            Limits(max_hash_collisions=2))


def test_inputs_past_the_size_bound_go_to_the_full_analyzer():
    data = pickle.dumps("x" * analyzer_fast.MAX_BYTES, 4)
    assert fast_verdict(data, DEFAULT_LIMITS) is None
    assert type(analyze(data, tree=False)) is not FastAnalysis


def test_deep_nesting_is_declined_or_identical():
    for depth in (2000, 2600, 4000):
        value = []
        for _ in range(depth):
            value = [value]
        for protocol in PROTOCOLS:
            try:
                data = pickle.dumps(value, protocol)
            except RecursionError:
                continue
            for limits in (DEFAULT_LIMITS, Limits(max_depth=3000), Limits(max_depth=1000)):
                assert_same_or_declined(data, limits)


HOSTILE = {
    # CPython's C unpickler resizes its memo array to twice a PUT index: refused by the lexer
    "long_binput_2**24": b"\x80\x02Nr\x00\x00\x00\x01.",
    "long_binput_2**31": b"\x80\x02Nr\xff\xff\xff\x7f.",
    "put_text_10**9": b"Np1000000000\n.",
    "global": b"\x80\x02cos\nsystem\n.",
    "stack_global": b"\x80\x04\x8c\x02os\x8c\x06system\x93.",
    "reduce": b"\x80\x02cbuiltins\nlist\n)R.",
    "inst": b"(ios\nsystem\n.",
    "obj": b"(N)o.",
    "ext1": b"\x80\x02\x82\x01.",
    "persid": b"Pabc\n.",
    "binpersid": b"\x80\x02NQ.",
    "next_buffer": b"\x80\x05\x97.",
    "readonly_buffer": b"\x80\x05N\x98.",
    "build_on_list": b"\x80\x02]}b.",
    "dup": b"\x80\x02N2.",
    "huge_binbytes8": b"\x80\x05\x8e" + struct.pack("<Q", 2**62) + b".",
    "huge_frame": b"\x80\x04\x95" + struct.pack("<Q", 2**62) + b"N.",
    "gigabyte_frame_unframed_protocol": b"\x80\x02\x95" + struct.pack("<Q", 2**30) + b"N.",
    "gigabyte_frame": b"\x80\x04\x95" + struct.pack("<Q", 2**30) + b"N.",
    "long4": b"\x80\x02\x8b\xff\xff\xff\x7f.",
    "trailing_bytes": b"\x80\x02N.garbage",
    "two_stops": b"N.N.",
    "proto_9": b"\x80\x09N.",
    "proto_mid_stream": b"\x80\x02\x80\x02N.",
    "whitespace_int": b"I  5\n.",
    "duplicate_keys": b"\x80\x02}(K\x01K\x02K\x01K\x03u.",
    "setitems_on_list": b"\x80\x02](K\x00K\x01u.",
    "appends_to_bytearray": b"\x80\x05\x96\x01\x00\x00\x00\x00\x00\x00\x00a(K\x01e.",
    "empty": b"",
    "stop_only": b".",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_streams_are_declined_and_cost_nothing(name):
    data = HOSTILE[name]
    tracemalloc.start()
    try:
        found = fast_verdict(data, DEFAULT_LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak  # the memo-resize streams would take 256 MB and more
    assert found is None
    assert_same_or_declined(data)


# --- generated graphs --------------------------------------------------------

_ATOMS = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.sampled_from([2**61 - 2, 2**61 - 1, -(2**61 - 2), -(2**61 - 1), -1, -2, 2**63, -(2**64), 10**40]),
    st.floats(), st.text(max_size=12), st.binary(max_size=12),
)
_HASHABLE = st.recursive(_ATOMS, lambda inner: st.one_of(
    st.lists(inner, max_size=4).map(tuple), st.frozensets(inner, max_size=4)), max_leaves=8)
_VALUES = st.recursive(st.one_of(_ATOMS, st.binary(max_size=8).map(bytearray)), lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.lists(inner, max_size=6).map(tuple),
    st.dictionaries(_HASHABLE, inner, max_size=6), st.sets(_HASHABLE, max_size=6),
    st.frozensets(_HASHABLE, max_size=6)), max_leaves=40)


def _share(value, draw_index):
    """The value with shared references and a cycle: what memo GETs are for."""
    box = [value, value]
    box.append((box[0], value))
    if draw_index % 2:
        box.append(box)
    return box


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_VALUES, st.integers(min_value=0, max_value=3), st.sampled_from(list(PROTOCOLS)))
def test_generated_graphs(value, share, protocol):
    if share:
        value = _share(value, share)
    try:
        data = pickle.dumps(value, protocol)
    except (RecursionError, ValueError):
        return
    assert_same_or_declined(data)


_BIG_INTS = [2**40 + 7, -(2**31) - 1, 2**31, 10**30, -(2**63), 2**100 + 1]


def _seeds():
    values = [dict(WORKLOAD)["DICT"], [1, (2, 3.5), {"k": None}], {frozenset({1}): b"x"}, [[], [()], ()],
              (_BIG_INTS, tuple(_BIG_INTS), 5)]
    return [pickle.dumps(v, p) for v in values for p in PROTOCOLS
            if not (p < 4 and isinstance(v, dict) and frozenset({1}) in v)]


_SEEDS = _seeds()


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(_SEEDS), st.lists(st.tuples(st.sampled_from("rid"), st.integers(min_value=0),
                                                   st.integers(min_value=0, max_value=255)), min_size=1, max_size=3))
def test_mutated_streams(seed, edits):
    """Byte replacements (often still canonical: another int, another length), insertions, deletions."""
    data = bytearray(seed)
    for kind, where, byte in edits:
        if not data:
            break
        where %= len(data)
        if kind == "r":
            data[where] = byte
        elif kind == "i":
            data.insert(where, byte)
        else:
            del data[where]
    assert_same_or_declined(bytes(data))


@pytest.mark.parametrize("protocol", (0, 1))
def test_runs_of_text_longs_are_lexed_as_the_loader_reads_them(protocol):
    """Protocols 0-1 write ints beyond 32 bits as text LONG lines, which the lexer takes as one run."""
    data = pickle.dumps((_BIG_INTS * 20, 60), protocol)
    assert data.count(b"L\n") == len(_BIG_INTS) * 20
    assert assert_same_or_declined(data) is not None
    canonical = b"L%dL\n" % _BIG_INTS[0]
    for spelling in (b"L0%dL\n" % _BIG_INTS[0], b"L+%dL\n" % _BIG_INTS[0], b"L%d\n" % _BIG_INTS[0],
                     b"L %dL\n" % _BIG_INTS[0], b"L1_099_511_627_783L\n", b"L0x10000000007L\n", b"LL\n",
                     b"L7L\n", b"L%dLL\n" % _BIG_INTS[0], b"L%dL" % _BIG_INTS[0]):
        for at in (data.index(canonical), data.rindex(canonical)):
            edited = data[:at] + spelling + data[at + len(canonical):]
            assert assert_same_or_declined(edited) is None, edited[at - 4:at + 30]


@pytest.mark.parametrize("seed", range(len(_SEEDS)))
def test_every_truncation_is_declined(seed):
    data = _SEEDS[seed]
    for end in range(len(data)):
        assert fast_verdict(data[:end], DEFAULT_LIMITS) is None


def _tokens(data):
    """The opcode spans of a pickle (pickletools reads them), as byte strings."""
    import pickletools

    starts = [pos for _, _, pos in pickletools.genops(data)]
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]


_SEED_TOKENS = [_tokens(seed) for seed in _SEEDS]


@settings(max_examples=600, deadline=None)
@given(st.integers(min_value=0, max_value=len(_SEEDS) - 1),
       st.lists(st.tuples(st.sampled_from("dxsm"), st.integers(min_value=0), st.integers(min_value=0)),
                min_size=1, max_size=3))
def test_token_stream_edits(seed, edits):
    """Whole opcodes deleted, duplicated, swapped or moved: streams that still lex, built otherwise."""
    tokens = list(_SEED_TOKENS[seed])
    for kind, i, j in edits:
        if len(tokens) < 2:
            break
        i %= len(tokens)
        j %= len(tokens)
        if kind == "d":
            del tokens[i]
        elif kind == "x":
            tokens.insert(i, tokens[i])
        elif kind == "s":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens.insert(j, tokens.pop(i))
    assert_same_or_declined(b"".join(tokens))


def test_the_analyzer_tests_corpora():
    """The hostile, malformed and benign pickles of test_analyzer.py: the same answer or none."""
    import test_analyzer as corpora

    streams = [data for data, _ in corpora.HOSTILE.values()] + list(corpora.MALFORMED.values())
    streams += [data for value in corpora.benign_values() for _, data in corpora.all_pickles(value)]
    answered = 0
    for data in streams:
        if isinstance(data, bytes) and assert_same_or_declined(data) is not None:
            answered += 1
    assert answered  # the benign plain values among them
