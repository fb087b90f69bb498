"""analyze_file() and the analyzer's runs (issue 18): the same results as analyze() on the same bytes.

The runs (many atom opcodes in one handler call) are used only when no opcode
count is kept; with ``max_ops`` just under the pickle's size the per-opcode
handlers run instead, so comparing the two modes compares the runs with the
handlers they stand for, errors included.
"""

import io
import os
import pickle
import random
import sys
import tracemalloc

import pytest

from pytest_serialcompat.reference.analyzer import Limits, analyze, analyze_file
from pytest_serialcompat.reference.errors import MalformedPickle

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from bm_pickle_data import WORKLOAD  # noqa: E402


class Point:
    def __init__(self, x):
        self.x = x


HOSTILE = [
    b"cos\nsystem\n(S'echo hi'\ntR.",  # protocol 0 os.system
    b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.",
    b"\x80\x02cbuiltins\ngetattr\nq\x00cbuiltins\nobject\nX\x03\x00\x00\x00fooq\x01\x86q\x02Rq\x03.",
]
OBJECTS = [obj for _, obj in WORKLOAD] + [
    {"a": [1, 2.5, None, True, False, b"xy", bytearray(b"q"), "s" * 300, 2 ** 70, -2 ** 40, "\u20ac"]},
    [(1,), (1, 2), (1, 2, 3), (), {1, 2}, frozenset([3])],
    [Point(1), Point("two")],
]
CORPUS = [pickle.dumps(obj, protocol) for obj in OBJECTS for protocol in range(6)] + HOSTILE


def outcome(run, *args, **kwargs):
    try:
        result = run(*args, **kwargs)
    except MalformedPickle as exc:
        return ("error", str(exc), exc.offset)
    return ("ok", result.to_dict(), result.end)


@pytest.mark.parametrize("index", range(len(CORPUS)))
def test_analyze_file_matches_analyze(tmp_path, index):
    data = CORPUS[index]
    path = tmp_path / "golden.pkl"
    path.write_bytes(data)
    expected = outcome(analyze, data, allow=["tests"])
    assert outcome(analyze_file, path, allow=["tests"]) == expected  # a path: mapped
    with open(path, "rb") as f:
        assert outcome(analyze_file, f, allow=["tests"]) == expected  # an open file: mapped
    assert outcome(analyze_file, io.BytesIO(data), allow=["tests"]) == expected  # read whole
    assert outcome(analyze_file, path, allow=["tests"], tree=False) == outcome(
        analyze, data, allow=["tests"], tree=False)


def test_analyze_file_reads_from_the_current_position(tmp_path):
    first, second = pickle.dumps([1, 2], 4), pickle.dumps({"k": (3.5, None)}, 2)
    path = tmp_path / "two.pkl"
    path.write_bytes(first + second)
    with open(path, "rb") as f:
        f.seek(len(first))  # not a multiple of the mapping granularity: read instead
        assert outcome(analyze_file, f) == outcome(analyze, second)


def test_analyze_file_errors_are_analyzes(tmp_path):
    data = pickle.dumps(OBJECTS[0], 4)
    for cut in (0, 1, 5, len(data) // 2, len(data) - 1):
        path = tmp_path / ("cut%d.pkl" % cut)
        path.write_bytes(data[:cut])
        assert outcome(analyze_file, path) == outcome(analyze, data[:cut])
        assert outcome(analyze_file, path)[0] == "error"
    path = tmp_path / "big.pkl"
    path.write_bytes(data)
    with pytest.raises(MalformedPickle, match="exceeds max_bytes"):
        analyze_file(path, limits=Limits(max_bytes=len(data) - 1))
    with pytest.raises(TypeError):
        analyze_file(io.StringIO("N."))


def mutants(data, rnd, count):
    for _ in range(count):
        b = bytearray(data)
        r = rnd.random()
        if r < 0.3:
            b = b[:rnd.randrange(len(b))]
        elif r < 0.7:
            for _ in range(rnd.randint(1, 3)):
                b[rnd.randrange(len(b))] = rnd.randrange(256)
        else:
            i = rnd.randrange(len(b))
            b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 4)))
        yield bytes(b)


@pytest.mark.parametrize("index", range(len(CORPUS)))
def test_runs_match_the_opcode_handlers(index):
    rnd = random.Random(index)
    data = CORPUS[index]
    for candidate in [data] + list(mutants(data, rnd, 40)):
        if len(candidate) < 2:
            continue
        fast = outcome(analyze, candidate, allow=["tests"])
        # max_ops below the size: the main loop counts opcodes and runs no runs
        plain = outcome(analyze, candidate, allow=["tests"], limits=Limits(max_ops=len(candidate) - 1))
        if plain[0] == "error" and "max_ops" in plain[1]:
            continue  # every byte an opcode: the limit itself is what differs
        assert fast == plain, candidate


@pytest.mark.slow
def test_a_100_mb_golden_is_analyzed_in_streaming_memory(tmp_path):
    """Verdict mode keeps big values in the mapped file: the peak is far below the file's size."""
    blob = bytes(range(256)) * 100_000  # 25.6 MB each
    text = "w\u20ac" * 6_000_000  # 12M characters, 30 MB of UTF-8
    path = tmp_path / "golden.pkl"
    with open(path, "wb") as f:
        pickle.dump({"weights": blob, "more": bytearray(blob), "text": text, "again": [blob, text],
                     "shape": (100, 1024000), "last": bytes(blob[:-1])}, f, protocol=5)
    size = path.stat().st_size
    assert size > 100_000_000
    limits = Limits(max_bytes=1 << 30)
    expected = outcome(analyze, path.read_bytes(), limits=limits, tree=True)  # the values copied
    del blob, text
    tracemalloc.start()
    try:
        result = analyze_file(path, limits=limits, tree=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.safe
    assert peak < 0.1 * size, (peak, size)
    assert verdict_of(("ok", result.to_dict(), result.end)) == verdict_of(expected)


def verdict_of(outcome_):
    """An outcome without the tree-only fields (``tree``, ``max_depth``)."""
    if outcome_[0] == "error":
        return outcome_
    fields = {k: v for k, v in outcome_[1].items() if k not in ("tree", "max_depth")}
    return (outcome_[0], fields, outcome_[2])


# Big values (past blob.MIN_SIZE) where the verdict reads them: names, codecs, number texts,
# state keys, persistent ids, hashed tuples, bad UTF-8.  Verdict mode keeps them in the input.
BIG = "x" * 5000
BIG_BYTES = b"\x00\xff" * 3000


def _binunicode(text):
    raw = text.encode("utf-8", "surrogatepass")
    return b"X" + len(raw).to_bytes(4, "little") + raw


def _raw_binunicode(raw):
    return b"X" + len(raw).to_bytes(4, "little") + raw


def _binbytes(raw):
    return b"B" + len(raw).to_bytes(4, "little") + raw


BIG_VALUE_CORPUS = [
    pickle.dumps(obj, protocol) for protocol in range(1, 6) for obj in (
        BIG, BIG_BYTES, bytearray(BIG_BYTES), [BIG, BIG, BIG_BYTES], {"k": BIG, BIG: 1},
        "\u20ac\ud800" * 2000, "\xe9" * 5000, (BIG, BIG_BYTES), {(BIG, 1 + k * (2 ** 61 - 1)) for k in range(70)},
        {(BIG_BYTES, 1 + k * (2 ** 61 - 1)): k for k in range(70)}, Point(BIG),
    )
] + [
    b"\x80\x04" + _binunicode(BIG) + _binunicode("system") + b"\x93.",  # STACK_GLOBAL, big module
    b"\x80\x04" + _binunicode("os") + _binunicode(BIG) + b"\x93.",  # big name
    b"\x80\x04" + _binbytes(BIG_BYTES) + _binunicode("x") + b"\x93.",  # bytes operand: an error
    b"\x80\x02cbuiltins\ngetattr\ncbuiltins\nobject\n" + _binunicode(BIG) + b"\x86R.",  # getattr(obj, BIG)
    b"\x80\x02c_codecs\nencode\n" + _binunicode("\u20ac" * 3000) + _binunicode("latin1") + b"\x86R.",
    b"\x80\x02c_codecs\nencode\n" + _binunicode(BIG) + _binunicode("latin1") + b"\x86R.",
    b"\x80\x02c__builtin__\nbytearray\n" + _binunicode("\xe9" * 5000) + _binunicode("latin-1") + b"\x86R.",
    b"\x80\x02c__builtin__\nbytearray\n" + _binunicode(BIG) + _binunicode(BIG) + b"\x86R.",  # big codec
    b"\x80\x02c__builtin__\nint\n" + _binunicode("9" * 5000) + b"\x85R.",  # int(<5000 digits>)
    b"\x80\x02cfractions\nFraction\n" + _binunicode("1e" + "9" * 5000) + b"\x85R.",
    b"\x80\x02cfractions\nFraction\n" + _binbytes(b"7" * 5000) + b"\x85R.",
    b"\x80\x02ctests.reference.test_analyzer_file\nPoint\n)\x81}" + _binunicode("__" + BIG + "__")
    + b"K\x01sb.",  # BUILD with a big dunder key
    b"\x80\x02ctests.reference.test_analyzer_file\nPoint\n)\x81}" + _binunicode("_" + BIG)
    + b"K\x01sb.",  # a big plain key
    b"\x80\x04" + _binunicode(BIG) + b"Q.",  # BINPERSID of a big str
    b"\x80\x04" + _raw_binunicode(b"a" * 5000 + b"\xff") + b".",  # bad UTF-8 at the end
    b"\x80\x04" + _raw_binunicode(b"a" * 5000 + b"\xe2\x82") + b".",  # truncated sequence
    b"\x80\x04" + _raw_binunicode(b"\xc3" + b"a" * 5000) + b".",  # bad continuation first
    b"\x80\x04" + _binunicode(BIG)[:3000],  # truncated argument
    b"\x80\x04" + _binbytes(BIG_BYTES) + b"\x94h\x00h\x00\x86K\x05\x86e.",  # APPENDS without a MARK
]


@pytest.mark.parametrize("index", range(len(BIG_VALUE_CORPUS)))
def test_verdicts_with_big_values_kept_in_the_input_are_the_trees(tmp_path, index):
    """Verdict mode (big values kept in the input) has the findings and errors of tree mode (copied)."""
    data = BIG_VALUE_CORPUS[index]
    path = tmp_path / "golden.pkl"
    path.write_bytes(data)
    expected = verdict_of(outcome(analyze, data, allow=["tests"]))
    assert verdict_of(outcome(analyze, data, allow=["tests"], tree=False)) == expected
    assert verdict_of(outcome(analyze_file, path, allow=["tests"], tree=False)) == expected
    rnd = random.Random(index)
    for candidate in mutants(data, rnd, 10):
        if len(candidate) >= 2:
            assert verdict_of(outcome(analyze, candidate, allow=["tests"], tree=False)) == verdict_of(
                outcome(analyze, candidate, allow=["tests"])), candidate[:60]


def test_the_big_value_corpus_reaches_the_checks_that_read_values():
    """The corpus is not vacuous: its big values meet the findings and errors they should."""
    reasons = []
    for data in BIG_VALUE_CORPUS:
        result = outcome(analyze, data, allow=["tests"], tree=False)
        reasons.append(result[1] if result[0] == "error" else " | ".join(u["reason"] for u in result[1]["unsafe"]))
    text = "\n".join(reasons)
    for expected in ("STACK_GLOBAL requires str operands, got bytes and str", "builtins.object.xxxx", "os.xxxx",
                     "is called on a number of 5000 digits", "whose exponent exceeds", "special attribute",
                     "persistent id", "BINUNICODE is not valid UTF-8: invalid start byte",
                     "unexpected end of data", "invalid continuation byte", "share one hash",
                     "called with encoding", "declares 5000 bytes"):
        assert expected in text, expected
