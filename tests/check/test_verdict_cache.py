"""verdict_cache: what its namespace is made of, and remembered set-order proofs."""

from pytest_serialcompat.check import verdict_cache
from pytest_serialcompat.check.verdict_cache import VerdictCache, namespace


def test_the_namespace_reads_the_sources_verdicts_and_proofs_come_from():
    names = {source.name for source in verdict_cache.SOURCES}
    assert {"analyzer.py", "allowlist.py", "set_order.py"} <= names
    for source in verdict_cache.SOURCES:
        assert source.is_file(), source  # not a name digested in place of a missing file


def test_the_namespace_changes_with_the_analyzer_source(tmp_path, monkeypatch):
    before = namespace(("myapp",))
    copies = []
    for source in verdict_cache.SOURCES:
        copy = tmp_path / source.parent.name / source.name
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(source.read_bytes() + (b"\n# changed\n" if source.name == "analyzer.py" else b""))
        copies.append(copy)
    monkeypatch.setattr(verdict_cache, "SOURCES", tuple(copies))
    assert namespace(("myapp",)) != before
    assert namespace(("other",)) != namespace(("myapp",))


def test_a_proof_is_remembered_for_one_current_pickle_and_travels_with_the_wire():
    worker, writer = VerdictCache(), VerdictCache()
    golden, fresh = "a" * 64, "b" * 64
    assert not worker.proven_order(golden, fresh, ("myapp",))
    worker.remember_order(golden, fresh)
    assert worker.proven_order(golden, fresh, ("myapp",))
    assert not worker.proven_order(golden, "c" * 64, ("myapp",))  # another current pickle
    assert not worker.proven_order("d" * 64, fresh, ("myapp",))   # another golden
    writer.merge(worker.wire())
    assert writer.proven_order(golden, fresh, ("myapp",))
    assert worker.wire() == {}  # handed on once


# --- the file: each distinct entry once ------------------------------------------------------

import json  # noqa: E402
import pickle  # noqa: E402
from collections import OrderedDict  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def config(pytester):
    return pytester.parseconfigure()


def _goldens():
    """Three pickles of one shape (one class, one protocol) with other values, and a fourth
    of another shape."""
    same = [pickle.dumps(OrderedDict(a=n), protocol=2) for n in range(3)]
    return same + [pickle.dumps(OrderedDict(a=1), protocol=4)]


def _sha(data):
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_goldens_of_one_shape_share_one_stored_entry_and_read_back_the_same(config):
    writer = VerdictCache(config)
    fresh = {_sha(d): writer.analysis(d, _sha(d), ("collections",)) for d in _goldens()}
    writer.save()
    stored = config.cache.get(verdict_cache.CACHE_KEY, None)
    assert stored["format"] == verdict_cache.FORMAT
    [stored] = stored["spaces"]  # one namespace so far
    assert sorted(stored["verdicts"]) == sorted(fresh)
    assert len(stored["facts"]) == 2            # four verdicts, two distinct entries
    assert len(set(stored["verdicts"].values())) == 2

    reader = VerdictCache(config)
    for data in _goldens():
        found = reader.remembered(data, _sha(data), ("collections",))
        want = fresh[_sha(data)]
        assert found is not None and found is not want
        assert (found.protocol, found.globals, found.unsafe, found.uses, found.facts) == (
            want.protocol, want.globals, want.unsafe, want.uses, want.facts)
    assert reader.remembered(b"other", _sha(b"other"), ("collections",)) is None


def test_a_damaged_or_older_file_is_a_miss_not_an_error(config):
    data = _goldens()[0]
    writer = VerdictCache(config)
    writer.analysis(data, _sha(data), ("collections",))
    writer.save()
    [stored] = config.cache.get(verdict_cache.CACHE_KEY, None)["spaces"]

    damaged = dict(stored, verdicts={_sha(data): 7})          # an index that names no entry
    config.cache.set(verdict_cache.CACHE_KEY, {"format": verdict_cache.FORMAT, "spaces": [damaged]})
    assert VerdictCache(config).remembered(data, _sha(data), ("collections",)) is None
    config.cache.set(verdict_cache.CACHE_KEY, {"format": verdict_cache.FORMAT, "spaces": [7, {}]})
    assert VerdictCache(config).remembered(data, _sha(data), ("collections",)) is None

    older = dict(stored, format=2)                             # the layout before FORMAT 3
    config.cache.set(verdict_cache.CACHE_KEY, older)
    cache = VerdictCache(config)
    assert cache.remembered(data, _sha(data), ("collections",)) is None
    cache.analysis(data, _sha(data), ("collections",))
    cache.save()                                               # rewritten in the new layout
    rewritten = json.loads(json.dumps(config.cache.get(verdict_cache.CACHE_KEY, None)))
    assert rewritten["format"] == 3 and len(rewritten["spaces"]) == 1


def test_runs_of_other_test_files_keep_each_others_verdicts(config, monkeypatch):
    """Another set of collected test modules is another namespace (other allow words): the
    file keeps the most recent MAX_SPACES of them, so no run throws away another's verdicts,
    within MAX_ENTRIES entries all together."""
    goldens = _goldens()
    spaces = [("collections", "test_%d" % n) for n in range(verdict_cache.MAX_SPACES + 1)]
    for words in spaces:  # one run per set of test modules, each analyzing the goldens
        cache = VerdictCache(config)
        for data in goldens:
            cache.analysis(data, _sha(data), words)
        cache.save()
    stored = config.cache.get(verdict_cache.CACHE_KEY, None)["spaces"]
    assert len(stored) == verdict_cache.MAX_SPACES
    for words in reversed(spaces[1:]):  # the most recent four: all still remembered
        cache = VerdictCache(config)
        assert all(cache.remembered(d, _sha(d), words) is not None for d in goldens), words
    assert VerdictCache(config).remembered(goldens[0], _sha(goldens[0]), spaces[0]) is None

    monkeypatch.setattr(verdict_cache, "MAX_ENTRIES", len(goldens) + 1)
    cache = VerdictCache(config)
    for data in goldens:
        cache.analysis(data, _sha(data), spaces[0])
    cache.save()  # room for this run's entries only: the older namespaces go
    [only] = config.cache.get(verdict_cache.CACHE_KEY, None)["spaces"]
    assert len(only["verdicts"]) == len(goldens)


def test_a_committed_cache_file_from_another_machine_is_not_read(config, tmp_path, monkeypatch):
    """The namespace digests this user's own key: a file forged (or written) under another
    key names a namespace this machine never computes, so its verdicts are not used."""
    data = _goldens()[0]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setattr(verdict_cache, "_key", [])
    other = VerdictCache(config)
    other.analysis(data, _sha(data), ("collections",))
    other.save()
    assert (tmp_path / "elsewhere" / "pytest-serialcompat" / "verdict-key").stat().st_mode & 0o077 == 0

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "here"))
    monkeypatch.setattr(verdict_cache, "_key", [])
    assert VerdictCache(config).remembered(data, _sha(data), ("collections",)) is None
    monkeypatch.setattr(verdict_cache, "_key", [])
    key = verdict_cache.machine_key()
    monkeypatch.setattr(verdict_cache, "_key", [])
    assert verdict_cache.machine_key() == key == verdict_cache.key_path().read_bytes()


# --- the gate's decisions on analyses that share a remembered entry --------------------------

class Point:  # a project class for the gate: constructed by its own pickle
    def __init__(self, x):
        self.x = x


def test_analyses_sharing_an_entry_share_a_decision_but_not_the_trust():
    import pickle

    from pytest_serialcompat.check import safety
    from pytest_serialcompat.check.verdict_cache import GoldenAnalysis, parse_entry
    from pytest_serialcompat.renames import Renames

    data = pickle.dumps(Point(1), 4)
    entry = GoldenAnalysis.from_analysis(safety.analyze(data, (), tree=False), data).to_entry()
    parsed = parse_entry(entry)
    first, second = (GoldenAnalysis.from_parsed(parsed, data) for _ in range(2))
    assert first.facts is second.facts  # one remembered entry
    trust = safety.trust_of(first)
    key = frozenset(trust.items())
    gate = safety.Gate(Renames.from_lines([]))
    for analysis in (first, second, first):
        refused = gate.decide(analysis, ())  # nothing allows the class without the trust
        assert not refused.safe and refused.analysis is analysis
        allowed = gate.decide(analysis, (), trust, key)
        assert allowed.safe and allowed.analysis is analysis
        assert set(allowed.targets) == {(Point.__module__, "Point")}
    other = {("other", "Thing"): frozenset()}  # a trust that vouches for something else
    assert not gate.decide(second, (), other, frozenset(other.items())).safe


# --- protocol 4 and 5 twins: one analysis, the analyzer's own verdict ---------------------------

def _analyzer_corpora():
    """tests/reference/test_analyzer.py: its hostile, malformed and benign pickles."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "reference" / "test_analyzer.py"
    spec = importlib.util.spec_from_file_location("_analyzer_corpora", str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    streams = [data for data, _ in module.HOSTILE.values()] + list(module.MALFORMED.values())
    streams += [data for value in module.benign_values() for _, data in module.all_pickles(value)]
    streams += [data for value in (Point(1), [Point(2), Point(3)], {"p": Point(4)})
                for _, data in module.all_pickles(value)]
    return [data for data in streams if isinstance(data, bytes)]


def test_a_protocol_4_or_5_twin_gets_exactly_the_analyzers_verdict():
    """The golden analyzed just before, with the other PROTO argument (4 <-> 5), is not analyzed
    again: what it is given must be what the analyzer says of those bytes, hostile ones too."""
    import hashlib
    import pickle

    from pytest_serialcompat.check import safety
    from pytest_serialcompat.check.verdict_cache import GoldenAnalysis
    from pytest_serialcompat.reference.errors import MalformedPickle

    def entry(data, allow):
        return GoldenAnalysis.from_analysis(safety.analyze(data, allow, tree=False), data).to_entry()

    twins = 0
    for data in _analyzer_corpora():
        if data[:1] != b"\x80" or data[1:2] not in (b"\x04", b"\x05"):
            continue
        other = data[:1] + (b"\x05" if data[1] == 4 else b"\x04") + data[2:]
        for allow in ((), (Point.__module__.split(".")[0],)):
            cache = VerdictCache()
            try:
                first = cache.analysis(data, hashlib.sha256(data).hexdigest(), allow)
            except MalformedPickle:
                continue
            assert first.to_entry() == entry(data, allow)
            try:
                expected = entry(other, allow)
            except MalformedPickle:
                continue  # (not reached: the analyzer reads the two protocols alike)
            twin = cache.analysis(other, hashlib.sha256(other).hexdigest(), allow)
            assert twin.protocol == other[1] and twin.to_entry() == expected
            twins += 1
            # another body, or the same bytes under other allow words: analyzed afresh
            words = () if allow else (Point.__module__.split(".")[0],)
            again = VerdictCache()
            again.analysis(data, hashlib.sha256(data).hexdigest(), allow)
            assert again.analysis(other, "0" * 64, words).to_entry() == entry(other, words)
            point = pickle.dumps(Point(len(data)), other[1])
            assert cache.analysis(point, "1" * 64, allow).to_entry() == entry(point, allow)
    assert twins > 100
    # the same length, another body: os.getcwd at protocol 4, then os.system at 5
    import os

    cache = VerdictCache()
    getcwd, system = pickle.dumps(os.getcwd, 4), pickle.dumps(os.system, 5)
    assert len(getcwd) == len(system) and getcwd[2:] != system[2:]
    cache.analysis(getcwd, hashlib.sha256(getcwd).hexdigest(), ())
    assert cache.analysis(system, hashlib.sha256(system).hexdigest(), ()).to_entry() == entry(system, ())


def test_the_runs_memory_keeps_no_golden_or_current_pickle_bytes():
    """A run over a large store must not hold every analyzed golden until it ends: what the
    cache keeps of an analysis is its verdict, and the bytes are bound again on each use."""
    import gc
    import hashlib
    import pickle
    import tracemalloc

    cache = VerdictCache()
    tracemalloc.start()
    try:
        for index in range(3):
            data = pickle.dumps([Point(index), b"\x00" * (4 << 20)], 4)  # a 4 MB golden
            sha = hashlib.sha256(data).hexdigest()
            first = cache.analysis(data, sha, ())
            assert cache.trust_analysis(data, "t" + sha[1:], ()) is not None
            again = cache.remembered(data, sha, ())
            assert again.facts is first.facts and again.globals == first.globals
            del data, first, again
        cache._last = None  # the twin check keeps the last golden's bytes, and only those
        gc.collect()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < (1 << 20), held  # three 4 MB goldens analyzed: none of them kept
