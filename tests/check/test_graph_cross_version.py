"""The app of issue 12 recorded on one real interpreter and replayed on another: 3.8 -> 3.13
and 3.13 -> 3.8, through ``serialcompat matrix`` (real venvs, real pytest runs).

Plain classes, parent pointers, a dataclass tree with parents, a self-referential list
beside a NaN and two owners sharing a list replay green both ways; a shared list split
in two fails on the other interpreter, naming both paths.  Like the matrix proof it runs
once per CI, under the fourth-newest interpreter found (the matrix modules take the
others; SERIALCOMPAT_MATRIX_HOST=any runs it from any), and
SERIALCOMPAT_TEST_VENVS keeps the venvs between sessions.
"""

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from pytest_serialcompat.matrix import environments, plans as run_plans
from pytest_serialcompat.environment import ci_variable
from cli_run import REPO, serialcompat_cli, skip_unless_matrix_host
from graph_app import MODELS

pytestmark = pytest.mark.slow

VERSIONS = ("3.8", "3.13")
PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "graphapp"
version = "0.1.0"

[tool.setuptools]
packages = ["myapp"]

[tool.pytest.ini_options]
pythonpath = ["."]

[tool.serialcompat]
samples = ["myapp.models:SAMPLES"]
"""


@pytest.fixture(scope="module")
def interpreters():
    found = {}
    for version in VERSIONS:
        try:
            found[version] = environments.probe_interpreter("python" + version)
        except run_plans.RunnerError:
            continue
    absent = [v for v in VERSIONS if v not in found]
    if absent:
        reason = "needs Python %s (with pyenv, list them in PYENV_VERSION)" % ", ".join(absent)
        if ci_variable() is not None:
            pytest.fail("CI: " + reason, pytrace=False)
        pytest.skip(reason)
    skip_unless_matrix_host(rank=3)
    return found


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    keep = os.environ.get("SERIALCOMPAT_TEST_VENVS")
    return Path(keep) if keep else tmp_path_factory.mktemp("graphs")


def write_project(root: Path) -> Path:
    shutil.rmtree(str(root), ignore_errors=True)
    (root / "myapp").mkdir(parents=True)
    (root / "myapp" / "__init__.py").write_text("")
    (root / "myapp" / "models.py").write_text(textwrap.dedent(MODELS))
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT).lstrip())
    return root


def matrix(base, project, name, interpreters, *extra):
    out = base / ("%s.json" % name)
    args = ["matrix", "--project", project, "--venv-dir", base / "venvs", "--plugin-source", REPO,
            "--progress", "plain", "--json", out] + list(extra)
    for interpreter in interpreters:
        args += ["--python", interpreter.executable]
    status, stdout, stderr = serialcompat_cli(*args)
    assert out.exists(), stdout + stderr
    return status, stdout + stderr, json.loads(out.read_text(encoding="utf-8"))


def cells(data):
    return [(table["title"], cell) for table in data["tables"] for cell in table["cells"]]


@pytest.mark.parametrize("recorder, replayer", [("3.8", "3.13"), ("3.13", "3.8")])
def test_recorded_on_one_interpreter_replays_green_on_the_other(interpreters, base, recorder,
                                                                  replayer):
    # one project folder for both directions: the second finds both venvs built (the
    # venv key names the installed folder), and write_project starts it afresh
    project = write_project(base / "project")
    status, output, recorded = matrix(base, project, "record-%s" % recorder,
                                      [interpreters[recorder]], "--record", "--allow-update-in-ci")
    assert recorded["environments"][0]["recorded"].get("new", 0) >= 5 * 4, output
    status, output, data = matrix(base, project, "replay-%s" % recorder,
                                  [interpreters["3.8"], interpreters["3.13"]])
    assert status == 0 and data["ok"], output
    tags = {interpreters[v].tag for v in VERSIONS}
    seen = set()
    for title, cell in cells(data):
        assert cell["recorded_on"] == interpreters[recorder].tag
        assert cell["fail"] == 0, (title, cell["failures"])
        seen.add(cell["replayed_on"])
        if cell["replayed_on"] == interpreters[replayer].tag and title.startswith("pickle"):
            assert cell["pass"] == 5, (title, cell)  # every sample, on the other interpreter
    assert seen == tags

    # the code gives the deputy its own copy of the list: the other interpreter sees it
    models = project / "myapp" / "models.py"
    models.write_text(models.read_text().replace('Owner("bob", perms)', 'Owner("bob", list(perms))'))
    status, output, data = matrix(base, project, "split-%s" % recorder, [interpreters[replayer]])
    assert status == 1, output
    failures = [f for _title, cell in cells(data) for f in cell["failures"]]
    assert failures and {f["name"] for f in failures} == {"team"}
    for failure in failures:
        assert ("obj['owner'].perms and obj['deputy'].perms are one shared object in the golden "
                "but two separate objects now") in failure["message"], failure
