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
