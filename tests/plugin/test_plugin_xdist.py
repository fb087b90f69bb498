"""pytest-xdist: workers never write; the controller writes every golden exactly once."""

import hashlib
import json
import marshal
import pickle

import pytest

from pytest_serialcompat.environment import CI_VARIABLES, CURRENT

pytest.importorskip("xdist", reason="pytest-xdist is needed for the parallel recording test")

TAG = CURRENT.tag
SAMPLES = 50

TESTS = '''
import dataclasses

import pytest


@dataclasses.dataclass
class Record:
    key: int
    name: str
    values: list


@pytest.mark.parametrize("n", range(%d))
def test_record(serialcompat, n):
    serialcompat.check(Record(n, "r%%d" %% n, list(range(n %% 7))), "record/%%03d" %% n)
    serialcompat.check({"n": n, "squares": [i * i for i in range(n %% 5)]}, "plain/%%03d" %% n)
''' % SAMPLES

# In the workers, any write to the store raises: proof that only the controller writes.
CONFTEST = '''
def pytest_configure(config):
    if hasattr(config, "workerinput"):
        import pytest_serialcompat.store.files as store

        def refuse(*args, **kwargs):
            raise RuntimeError("an xdist worker tried to write the golden store")

        store.atomic_write = refuse
        store.Store.apply = refuse
'''


@pytest.mark.slow
def test_parallel_recording_loses_no_golden(pytester, monkeypatch):
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_many=TESTS)
    quiet = ("-n", "2", "-p", "no:hypothesispytest")  # workers need not load hypothesis
    result = pytester.runpytest_subprocess(*quiet, "--serialcompat-update")
    result.assert_outcomes(passed=SAMPLES)
    assert "worker tried to write" not in result.stdout.str()

    protocols = list(range(2, pickle.HIGHEST_PROTOCOL + 1))
    per_record = len(protocols) + 1            # pickle protocols + json
    per_plain = len(protocols) + 2             # + marshal
    expected = SAMPLES * (per_record + per_plain)
    assert expected >= 500  # hundreds of goldens
    root = pytester.path / "tests" / "__serialcompat__"
    goldens = [p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".manifest.json")]
    assert len(goldens) == expected
    result.stdout.fnmatch_lines(["written (%d):" % (expected + 2 * SAMPLES)])  # + one manifest each

    # every golden is complete and described by its manifest
    for n in (0, 17, SAMPLES - 1):
        plain = {"n": n, "squares": [i * i for i in range(n % 5)]}
        folder = root / "plain" / ("%03d" % n)
        for p in protocols:
            assert (folder / ("%s-p%d.pickle" % (TAG, p))).read_bytes() == pickle.dumps(plain, p)
        assert (folder / ("%s-v%d.marshal" % (TAG, marshal.version))).read_bytes() == marshal.dumps(plain)
    for manifest_path in root.rglob("*.manifest.json"):
        manifest = json.loads(manifest_path.read_text())
        assert len(manifest["goldens"]) in (per_record, per_plain)
        for filename, entry in manifest["goldens"].items():
            data = (manifest_path.parent / filename).read_bytes()
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()

    # replay in parallel: every golden checked, none failed
    result = pytester.runpytest_subprocess(*quiet, "--serialcompat")
    result.assert_outcomes(passed=SAMPLES)
    result.stdout.fnmatch_lines([
        "json *%d *0 *0 *0 *0" % (2 * SAMPLES),
        "marshal *%d *0 *0 *0 *0" % SAMPLES,
        "pickle *%d *0 *0 *0 *0" % (2 * SAMPLES * len(protocols)),
    ])
