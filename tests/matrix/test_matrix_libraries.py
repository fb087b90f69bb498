"""Third-party data across real library versions: numpy 1.24 / pandas 2.0 on 3.8, numpy 2 /
pandas 3 on 3.13, zoneinfo and its 3.8 backport, in the matrix's own venvs.

``serialcompat matrix --record --python python3.8 --python python3.13`` on a small
project pickling a numpy array, a pandas Series and a ZoneInfo records on both;
following the gate's Fix line (``serialcompat_allow`` in pyproject's ini table)
replays in the same venvs, and every cross-version failure is diagnosed at the
library boundary with the versions that recorded and read it.  A second ini edit
(the test-only ``numpy._core = numpy.core`` mapping) shows what is left: a pandas 3
Series that pandas 2 cannot load.
"""

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from cli_run import REPO, serialcompat_cli, skip_unless_matrix_host

pytestmark = pytest.mark.slow

PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "libshop"
version = "0.1.0"
dependencies = [
    "numpy>=1.24,<1.25; python_version < '3.9'",
    "numpy>=2.0; python_version >= '3.9'",
    "pandas>=2.0,<2.1; python_version < '3.9'",
    "pandas>=3; python_version >= '3.11'",
    "backports.zoneinfo; python_version < '3.9'",
    "tzdata",
]

[tool.setuptools]
packages = ["libshop"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

TESTS = '''
try:
    import zoneinfo
except ImportError:  # Python 3.8
    from backports import zoneinfo

import numpy
import pandas


def test_array(serialcompat):
    serialcompat.check(numpy.arange(6, dtype="int64").reshape(2, 3), name="array",
                       formats=["pickle"], protocols=[4])


def test_series(serialcompat):
    serialcompat.check(pandas.Series([1.5, 2.5], index=["a", "b"], name="prices"),
                       name="series", formats=["pickle"], protocols=[4])


def test_zone(serialcompat):
    serialcompat.check(zoneinfo.ZoneInfo("Europe/Paris"), name="zone", formats=["pickle"],
                       protocols=[4])
'''

PAIRS = ("3.8", "3.13")


def _interpreters():
    found = [shutil.which("python" + v) for v in PAIRS]
    if not all(found):
        reason = "needs python3.8 and python3.13 on PATH (with pyenv, list them in PYENV_VERSION)"
        if os.environ.get("CI"):
            pytest.fail("CI: " + reason, pytrace=False)
        pytest.skip(reason)
    return found


class Run:
    def __init__(self, status, out, err, data):
        self.status, self.out, self.err, self.data = status, out, err, data

    def failure(self, name, recorded_on, replayed_on):
        for table in self.data["tables"]:
            for cell in table["cells"]:
                if cell["recorded_on"].endswith(recorded_on) and cell["replayed_on"].endswith(
                        replayed_on):
                    for failure in cell.get("failures", []):
                        if failure["name"] == name:
                            return failure
        return None


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    skip_unless_matrix_host(rank=1)
    pythons = _interpreters()
    base = tmp_path_factory.mktemp("libshop")
    project = base / "libshop"
    (project / "libshop").mkdir(parents=True)
    (project / "libshop" / "__init__.py").write_text("")
    (project / "tests").mkdir()
    (project / "tests" / "test_data.py").write_text(textwrap.dedent(TESTS))
    (project / "pyproject.toml").write_text(PYPROJECT)
    venvs = Path(os.environ.get("SERIALCOMPAT_TEST_VENVS") or base / "venvs") / "libshop"

    def matrix(*extra):
        out_json = base / "matrix.json"
        args = ["matrix", "--project", project, "--venv-dir", venvs, "--plugin-source", REPO,
                "--progress", "plain", "--json", out_json]
        for python in pythons:
            args += ["--python", python]
        status, out, err = serialcompat_cli(*(args + list(extra)))
        text = out_json.read_text() if out_json.exists() else ""
        assert text, "serialcompat matrix wrote no --json (exit %d):\n%s" % (status, err[-3000:])
        data = json.loads(text)
        return Run(status, out, err, data)

    recorded = matrix("--record", "--allow-update-in-ci")
    assert recorded.data, recorded.err
    markers = sorted(p.read_text() for p in venvs.glob("*/serialcompat-venv.json"))
    # the gate's Fix line, followed in pyproject's ini table: the venvs stay
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'serialcompat_allow = "numpy pandas"\n')
    allowed = matrix()
    assert sorted(p.read_text() for p in venvs.glob("*/serialcompat-venv.json")) == markers
    pyproject.write_text(pyproject.read_text() + 'serialcompat_renames = "numpy._core = numpy.core"\n')
    mapped = matrix()
    return recorded, allowed, mapped, project


def test_manifests_name_the_library_versions(shop):
    recorded, _allowed, _mapped, project = shop
    store = project / "tests" / "__serialcompat__"
    old = json.loads((store / "series" / "cpython3.8.manifest.json").read_text())
    new = json.loads((store / "series" / "cpython3.13.manifest.json").read_text())
    (old_entry,), (new_entry,) = old["goldens"].values(), new["goldens"].values()
    assert sorted(old_entry["libraries"]) == sorted(new_entry["libraries"]) == ["numpy", "pandas"]
    assert old_entry["libraries"]["numpy"].startswith("1.24.")
    assert old_entry["libraries"]["pandas"].startswith("2.0.")
    assert new_entry["libraries"]["numpy"].startswith("2.")
    assert new_entry["libraries"]["pandas"].startswith("3.")
    zone = json.loads((store / "zone" / "cpython3.8.manifest.json").read_text())
    assert [e["libraries"] for e in zone["goldens"].values()] == [{"backports.zoneinfo": "0.2.1"}]
    zone = json.loads((store / "zone" / "cpython3.13.manifest.json").read_text())
    assert [e["libraries"] for e in zone["goldens"].values()] == [{}]   # the standard library's


def test_numpy_2_data_read_by_numpy_1_is_numpys_break_with_the_test_only_mapping(shop):
    _recorded, allowed, _mapped, project = shop
    failure = allowed.failure("array", "3.13", "3.8")
    assert failure["diagnosis"] == "library-version"
    versions = json.loads((project / "tests" / "__serialcompat__" / "array" /
                           "cpython3.13.manifest.json").read_text())
    numpy2 = list(versions["goldens"].values())[0]["libraries"]["numpy"]
    assert ("The golden names numpy._core.multiarray._reconstruct, which does not import here "
            "(ModuleNotFoundError: No module named 'numpy._core'): it is numpy's, recorded "
            "with numpy %s, read here with numpy 1.24.4." % numpy2) in failure["message"]
    assert ("numpy 1 cannot read numpy 2 pickles: an application with numpy 1 cannot load "
            "this data either, it needs numpy >= 2 wherever the data is read.") \
        in failure["message"]
    assert "Nothing in the project moved." in failure["message"]
    fix = failure["fix"]
    assert "      numpy._core = numpy.core" in fix
    assert "for the test only (not the application)" in fix
    assert "record such goldens on the oldest numpy version you support" in fix
    assert "pin numpy wherever this data is read (numpy>=2)" in fix
    assert "(serialcompat matrix --optional 3.13:3.8)" in fix
    assert "Verified: with this mapping the golden loads and equals the current object." in fix
    for words in ("create numpy", "re-export", "_reconstruct as", "__setstate__"):
        assert words not in fix
    # numpy 2 reads numpy 1's pickles; the passing cell still names the versions it crossed
    assert allowed.failure("array", "3.8", "3.13") is None
    notes = [n for n in allowed.data["notes"]
             if n.startswith("recorded on cpython3.8, replayed on cpython3.13: ")]
    assert len(notes) == 1 and "recorded with numpy 1.24.4, read here with numpy %s" % numpy2 \
        in notes[0].split(": ", 1)[1].split("; "), allowed.data["notes"]


def test_zoneinfo_and_its_backport_get_a_mapping_both_ways(shop):
    _recorded, allowed, _mapped, _project = shop
    to_38 = allowed.failure("zone", "3.13", "3.8")
    assert to_38["diagnosis"] == "library-version"
    assert ("The golden names zoneinfo.ZoneInfo, zoneinfo.ZoneInfo._unpickle, which do not "
            "import here (ModuleNotFoundError: No module named 'zoneinfo')") in to_38["message"]
    assert "      zoneinfo = backports.zoneinfo" in to_38["fix"]
    assert "Verified: with this mapping the golden loads" in to_38["fix"]
    to_313 = allowed.failure("zone", "3.8", "3.13")
    assert ("recorded with backports.zoneinfo 0.2.1, not installed here") in to_313["message"]
    assert "      backports.zoneinfo = zoneinfo" in to_313["fix"]
    assert "Verified: with this mapping the golden loads" in to_313["fix"]


def test_a_pandas_series_across_versions_is_summarised_at_its_boundary(shop):
    _recorded, allowed, _mapped, project = shop
    failure = allowed.failure("series", "3.8", "3.13")
    assert failure["diagnosis"] == "library-version"
    versions = json.loads((project / "tests" / "__serialcompat__" / "series" /
                           "cpython3.13.manifest.json").read_text())
    pandas3 = list(versions["goldens"].values())[0]["libraries"]["pandas"]
    assert failure["message"].startswith(
        "pandas.Series: its pickled state changed between pandas 2.0.3 and %s" % pandas3)
    assert "_mgr" not in failure["message"] and "__setstate__" not in failure["fix"]


def test_pandas_3_data_read_by_pandas_2_names_the_class_and_the_versions(shop):
    _recorded, _allowed, mapped, project = shop
    assert mapped.failure("array", "3.13", "3.8") is None   # the mapping made numpy's load
    failure = mapped.failure("series", "3.13", "3.8")
    assert failure["diagnosis"] == "library-version"
    versions = json.loads((project / "tests" / "__serialcompat__" / "series" /
                           "cpython3.13.manifest.json").read_text())
    pandas3 = list(versions["goldens"].values())[0]["libraries"]["pandas"]
    assert failure["message"].startswith("Loading the golden raised TypeError: ")
    assert ("in pandas's code: the golden holds pandas data (pandas.Series), "
            "recorded with pandas %s, read here with pandas 2.0.3." % pandas3) \
        in failure["message"]
    assert "pandas reads pickles written by older pandas versions, not by newer ones." \
        in failure["message"]
    assert "Make the class accept its old state" not in failure["fix"]
