"""A throw-away project for pytester runs of the plugin: myapp/models.py and tests/test_app.py."""

import hashlib
import json
import os
import shutil
import sys
import textwrap

from pytest_serialcompat.environment import CI_VARIABLES

INI = "[pytest]\npythonpath = .\naddopts = -p no:cacheprovider\n"


def make_app(pytester, monkeypatch, models, tests):
    """Lay the project out under pytester.path, outside any CI environment."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # sources change within one second
    pytester.makeini(INI)
    pytester.mkpydir("myapp")
    (pytester.path / "myapp" / "models.py").write_text(textwrap.dedent(models))
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_app.py").write_text(textwrap.dedent(tests))
    return pytester


def run(pytester, *args):
    return pytester.runpytest_inprocess(*args)


def other_interpreter():
    """(path, tag) of a CPython 3.8-3.13 other than the running one, or (None, None)."""
    for minor in range(8, 14):
        if (3, minor) == sys.version_info[:2]:
            continue
        for candidate in ("/work/venvs/py3%d/bin/python" % minor, shutil.which("python3.%d" % minor)):
            if candidate and os.path.exists(candidate):
                return candidate, "cpython3.%d" % minor
    return None, None


STORE = "tests/__serialcompat__"


def write_golden(pytester, name, filename, data, interpreter, extra=None):
    """A golden as another interpreter would have written it (file + its matching manifest entry)."""
    folder = pytester.path / STORE / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_bytes(data)
    manifest_path = folder / ("%s.manifest.json" % interpreter)
    manifest = {"kind": "pytest-serialcompat golden manifest", "manifest_version": 1,
                "interpreter": interpreter, "recorded_by": "tests/test_app.py::test_service",
                "sample": name, "goldens": {}}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
    entry = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    entry.update(extra or {})
    manifest["goldens"][filename] = entry
    manifest_path.write_text(json.dumps(manifest))
