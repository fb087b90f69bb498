"""Bad goldens and manifests get their own words, and nothing unchecked reaches a loader (pytester)."""

import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from plugin_app import make_app, run
from pytest_serialcompat.environment import CURRENT

# In-process pytester runs drop modules first imported during a run; importing the
# reference modules here keeps one copy of each for every run.
from pytest_serialcompat.reference import allowlist, analyzer, canonical_json, tree  # noqa: F401

TAG = CURRENT.tag
STORE = "tests/__serialcompat__"

# code whose bytecode differs between every two versions 3.9-3.13 (CONTAINS_OP in 3.9,
# GEN_START in 3.10, new layouts and opcode numbers from 3.11 on)
SOURCE = "def f(x):\n    return x in (1, 2) or x is None\n\ndef g(n):\n    yield from range(n)\n"

TESTS = '''
SOURCE = %r


def test_config(serialcompat):
    serialcompat.check({"name": "svc", "ratio": 0.5, "hosts": ["a", "b"]}, "config",
                       formats=("json",))


def test_code(serialcompat):
    code = compile(SOURCE, "m", "exec")
    serialcompat.check(code, "code", formats=("marshal",))
''' % SOURCE


@pytest.fixture
def app(pytester, monkeypatch):
    app = make_app(pytester, monkeypatch, "", TESTS)
    run(app, "--serialcompat-update").assert_outcomes(passed=2)
    return app


def plant(app, relpath, data, **manifest_changes):
    """Replace a golden's bytes and make its manifest entry match them (only the gate/reader
    stands between the file and the loader)."""
    path = app.path / STORE / relpath
    path.write_bytes(data)
    manifest_path = path.parent / ("%s.manifest.json" % TAG)
    manifest = json.loads(manifest_path.read_text())
    manifest["goldens"][path.name]["sha256"] = hashlib.sha256(data).hexdigest()
    manifest.update(manifest_changes)
    manifest_path.write_text(json.dumps(manifest))


JSON_GOLDEN = "config/%s.json" % TAG


@pytest.mark.parametrize("text, words", [
    (b'{"hosts":["a","b"],"name":"svc","ratio":NaN}', "*not canonical JSON: *NaN*"),
    (b'{"hosts":["a","b"],"name":"svc","ratio":Infinity}', "*not canonical JSON: *Infinity*"),
    (b'{"hosts":["a","b"],"name":"svc","name":"x","ratio":0.5}', "*not canonical JSON: *duplicate*name*"),
    (b'{"name": "svc", "hosts": ["a", "b"], "ratio": 0.5}',
     "*valid JSON but not canonical JSON (sorted keys, no whitespace*first difference at byte 2*"),
    (b'{"hosts":["a","b"],"name":"svc","ratio":0.5', "*not canonical JSON: *"),
], ids=["nan", "infinity", "duplicate-key", "not-canonical", "truncated"])
def test_json_goldens_are_read_strictly(app, text, words):
    plant(app, JSON_GOLDEN, text)
    result = run(app, "--serialcompat", "tests/test_app.py::test_config")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*corrupt*" + JSON_GOLDEN + "*", words])
    assert "loads but is not equal" not in result.stdout.str()


@pytest.mark.parametrize("minor", [8, 9, 10, 11, 12, 13], ids=lambda m: "py3%d" % m)
def test_a_foreign_code_object_under_this_interpreters_name_is_never_loaded(app, minor):
    """The issue's case: 3.13 code under a 3.11 name (3.11-3.13 share a marshal layout)."""
    if (3, minor) == sys.version_info[:2]:
        pytest.skip("this interpreter's own code")
    if minor < sys.version_info[1] and sys.version_info[:2] <= (3, 10):
        pytest.skip("known limit: older 3.8-3.10 bytecode is also valid newer 3.8-3.10 bytecode")
    python = shutil.which("python3.%d" % minor)
    if python is None:
        pytest.skip("python3.%d is not on PATH (PYENV_VERSION)" % minor)
    script = ("import marshal, sys; sys.stdout.buffer.write(marshal.dumps(compile(%r, 'm', "
              "'exec')))" % SOURCE)
    data = subprocess.run([python, "-c", script], check=True, stdout=subprocess.PIPE).stdout
    relpath = "code/%s-v4.marshal" % TAG
    plant(app, relpath, data)
    result = run(app, "--serialcompat", "tests/test_app.py::test_code")
    result.assert_outcomes(failed=1)
    # refused either by the code layout (3.8 vs 3.10 vs 3.11+) or, where the layouts agree
    # (3.11-3.13), by this interpreter's opcode table
    result.stdout.fnmatch_lines(["*corrupt*%s*" % relpath])
    out = result.stdout.str()
    assert ("not valid %s marshal data" % TAG in out
            or "holds a code object that is not %s bytecode" % TAG in out), out
    assert "it was NOT loaded" in out
    assert "code object at 0x" not in result.stdout.str()  # no two code reprs


def test_a_code_golden_from_another_build_of_this_version_is_skipped(app):
    import marshal

    relpath = "code/%s-v4.marshal" % TAG
    # not the current object's own bytes (those pass unread): the same code, another file name
    plant(app, relpath, marshal.dumps(compile(SOURCE, "elsewhere", "exec")),
          magic_number=CURRENT.magic_number - 1)
    result = run(app, "--serialcompat", "tests/test_app.py::test_code")
    result.stdout.fnmatch_lines([
        "*marshal golden holds a code object from %s (magic number %d); this interpreter, %s, "
        "uses magic number %d*" % (TAG, CURRENT.magic_number - 1, TAG, CURRENT.magic_number)])


def test_manifest_problems_are_named(app):
    manifest = app.path / STORE / "config" / ("%s.manifest.json" % TAG)
    saved = manifest.read_bytes()

    manifest.unlink()
    result = run(app, "--serialcompat", "tests/test_app.py::test_config")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the manifest *config/%s.manifest.json is missing, so nothing "
                                 "vouches for %s.json*" % (TAG, TAG)])

    manifest.mkdir()
    result = run(app, "--serialcompat", "tests/test_app.py::test_config")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*config/%s.manifest.json: is a directory, not a manifest file*" % TAG])
    assert "cannot read the golden" not in result.stdout.str()
    manifest.rmdir()

    manifest.write_bytes(saved[:20])
    result = run(app, "--serialcompat", "tests/test_app.py::test_config")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*config/%s.manifest.json: not valid JSON*" % TAG])

    manifest.write_text(json.dumps({"kind": "something else"}))
    result = run(app, "--serialcompat", "tests/test_app.py::test_config")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*config/%s.manifest.json: not a serialcompat manifest*" % TAG])

    manifest.write_bytes(saved)
    run(app, "--serialcompat").assert_outcomes(passed=2)
