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
def test_a_100_mb_golden_is_not_copied_into_memory(tmp_path):
    """The mapped file is not Python memory: the peak is the blob value, not input + value."""
    blob = bytes(range(256)) * 400_000  # 102 MB
    path = tmp_path / "golden.pkl"
    with open(path, "wb") as f:
        pickle.dump({"weights": blob, "shape": (100, 1024000)}, f, protocol=4)
    del blob
    size = path.stat().st_size
    limits = Limits(max_bytes=1 << 30)
    tracemalloc.start()
    try:
        result = analyze_file(path, limits=limits, tree=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.safe
    assert peak < 1.1 * size, (peak, size)  # analyze(path.read_bytes()) peaks at 2x
