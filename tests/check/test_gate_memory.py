"""The gate's analysis of a large golden costs a fraction of the golden's size.

``replay_pickle`` has the golden's bytes in memory (their sha256 was checked
against the manifest, and the same bytes are then analyzed and loaded); the
analysis the gate runs on them (``VerdictCache.analysis``, verdict mode) keeps
big str/bytes/bytearray values in those bytes instead of copying them, so its
own peak stays far below their size.  (The gate does not re-open the file with
``analyze_file``: a mapping of the file would see a change made to it after
the check, so the bytes analyzed would not be the bytes hashed and loaded.)
"""

import hashlib
import pickle
import tracemalloc

import pytest

from pytest_serialcompat.check.verdict_cache import VerdictCache

SIZE = 24 << 20


def _gate_analysis_peak(data: bytes):
    cache = VerdictCache()  # no pytest config: verdicts are kept for the run only
    small = pickle.dumps([b"warm-up"], 2)
    cache.analysis(small, hashlib.sha256(small).hexdigest(), ())  # the modules it imports, once
    digest = hashlib.sha256(data).hexdigest()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        found = cache.analysis(data, digest, ())
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return found, peak


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("kind", ["bytes", "str", "bytearray", "list of str"])
def test_analysis_of_a_large_golden_stays_far_below_its_size(kind, protocol):
    value = {"bytes": lambda: b"\x00x" * (SIZE // 2), "str": lambda: "\u20acx" * (SIZE // 4),
             "bytearray": lambda: bytearray(SIZE), "list of str": lambda: ["s%d" % i * 50000 for i in range(60)],
             }[kind]()
    data = pickle.dumps(value, protocol)
    del value
    found, peak = _gate_analysis_peak(data)
    assert found.unsafe == []
    assert peak < len(data) // 4, (peak, len(data))
