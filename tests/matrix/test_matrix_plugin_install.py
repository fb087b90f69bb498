"""The matrix run from a plugin installed as users install it: `pip install .`, a wheel.

A user venv gets pytest-serialcompat non-editable from this checkout; its own
``serialcompat matrix --record --python ...`` must build its throwaway venv with
that plugin (read from the install's direct_url.json), reuse the venv after a
pyproject ini edit, rebuild it after the plugin is reinstalled from a wheel
that is then deleted (a wheel built from the installed files), and say once,
naming --plugin-source, when the plugin cannot be installed.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cli_run import REPO, RUN_TIMEOUT, skip_unless_matrix_host

pytestmark = pytest.mark.slow

PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "plainshop"
version = "0.1.0"

[tool.setuptools]
packages = ["plainshop"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""


def _run(argv, cwd=None):
    env = dict(os.environ)
    for name in ("PYTEST_ADDOPTS", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    completed = subprocess.run([str(a) for a in argv], cwd=str(cwd) if cwd else None, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=RUN_TIMEOUT)
    return completed.returncode, completed.stdout.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's venv with the plugin installed from this checkout, not editable."""
    skip_unless_matrix_host(rank=2)
    root = tmp_path_factory.mktemp("user")
    venv = root / "venv"
    status, out = _run([sys.executable, "-m", "venv", venv])
    assert status == 0, out
    status, out = _run([venv / "bin" / "python", "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", REPO])
    assert status == 0, out
    project = root / "plainshop"
    (project / "plainshop").mkdir(parents=True)
    (project / "plainshop" / "__init__.py").write_text("")
    (project / "tests").mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "tests" / "test_data.py").write_text(textwrap.dedent("""
        def test_prices(serialcompat):
            serialcompat.check({"apple": [1, 2.5, "x"]}, name="prices", formats=["pickle"])
    """))
    return venv, project, root


def _matrix(venv, project, *args):
    return _run([venv / "bin" / "serialcompat", "matrix", "--project", project, "--python",
                 sys.executable, "--progress", "plain"] + list(args), cwd=project)


def _markers(root):
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted((root / "plainshop" / ".serialcompat" / "venvs").glob(
                "*/serialcompat-venv.json"))}


def test_a_non_editable_install_runs_the_matrix_and_an_ini_edit_reuses_the_venv(user):
    venv, project, root = user
    started = time.monotonic()
    status, out = _matrix(venv, project, "--record", "--allow-update-in-ci")
    print("record and replay, building the venv: %.1f s" % (time.monotonic() - started))
    assert status == 0, out
    markers = _markers(root)
    assert len(markers) == 1, out
    (name, marker), = markers.items()
    assert marker["plugin_source"].startswith("local %s " % REPO), marker
    assert str(REPO) in marker["install"]
    # following a Fix line edits the ini table: the venv is reused, not rebuilt
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'serialcompat_renames = ["a.B = plainshop.B"]\n')
    started = time.monotonic()
    status, out = _matrix(venv, project)
    elapsed = time.monotonic() - started
    assert status == 0, out
    assert _markers(root) == markers
    assert "creating a venv" not in (project / ".serialcompat" / "matrix" / (
        name.split("-")[0] + ".replay.log")).read_text()
    print("replay with a reused venv after an ini edit: %.1f s" % elapsed)


def test_a_wheel_install_whose_wheel_is_gone_runs_the_matrix(user, tmp_path):
    venv, project, root = user
    status, out = _run([venv / "bin" / "python", "-m", "pip", "wheel", "-q", "--no-deps",
                        "--disable-pip-version-check", "-w", tmp_path, REPO])
    assert status == 0, out
    wheel, = tmp_path.glob("pytest_serialcompat-*.whl")
    status, out = _run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps",
                        "--force-reinstall", "--disable-pip-version-check", wheel])
    assert status == 0, out
    wheel.unlink()
    status, out = _matrix(venv, project)
    assert status == 0, out
    (marker,) = _markers(root).values()   # the older venv (another plugin source) was replaced
    assert marker["plugin_source"].startswith("wheel pytest_serialcompat-0.1.0-py3-none-any.whl")
    assert re.search(r"cpython3\.\d+ +3\.[\d.]+ +[\d.]+ s +\d+ pass, 0 fail, 0 skip", out), out


def test_a_git_install_is_installed_from_its_url_at_its_commit(user):
    venv, project, root = user
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    status, commit = _run(["git", "-C", REPO, "rev-parse", "HEAD"])
    if status != 0:
        pytest.skip("the plugin's source is not a git checkout")
    commit = commit.strip()
    url = "git+%s@%s" % (REPO.as_uri(), commit)
    status, out = _run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps",
                        "--force-reinstall", "--disable-pip-version-check", url])
    assert status == 0, out
    status, out = _matrix(venv, project)
    assert status == 0, out
    (marker,) = _markers(root).values()
    assert marker["plugin_source"] == "vcs " + url
    assert url in marker["install"]


def test_a_plugin_that_cannot_be_installed_is_said_once_and_ends_the_environments(user, tmp_path):
    venv, project, root = user
    broken = tmp_path / "not-a-project"
    broken.mkdir()
    other = "python3.8" if sys.version_info[:2] != (3, 8) else "python3.13"
    reports = tmp_path / "reports"
    status, out = _run([venv / "bin" / "serialcompat", "matrix", "--project", project, "--record", "--allow-update-in-ci",
                        "--python", sys.executable, "--python", other, "--plugin-source", broken,
                        "--venv-dir", tmp_path / "venvs", "--reports-dir", reports,
                        "--progress", "plain"], cwd=project)
    assert status == 1, out
    assert out.count("--plugin-source PATH|WHEEL|REQUIREMENT") == 1, out
    assert ("note: pytest-serialcompat 0.1.0 could not be installed into the venvs from "
            "--plugin-source %s (pip install -e %s failed; see the logs)" % (broken, broken)) in out
    assert out.count("its venv was not built: the plugin could not be installed (see the note)") \
        == 2, out
    assert sorted(p.name for p in reports.glob("*.log")) == sorted(
        "%s.record.log" % tag for tag in _tags(out))


def _tags(out):
    return sorted({word for line in out.splitlines() for word in line.split()
                   if word.startswith("cpython3.") and word.endswith(tuple("0123456789"))})
