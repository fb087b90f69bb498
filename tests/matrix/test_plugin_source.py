"""Where the matrix's venvs get the plugin from: read from an installed distribution's files.

Each case lays out a real ``*.dist-info`` folder (METADATA, RECORD, the PEP 610
``direct_url.json`` pip writes) and reads it through ``importlib.metadata``, as
the matrix reads the copy it runs from.  The end-to-end runs (a non-editable
install, a wheel) are in test_matrix_plugin_install.py.
"""

import json
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from pytest_serialcompat.matrix import plugin_source
from pytest_serialcompat.matrix.plans import RunnerError


def _installed(site: Path, direct_url=None, installer="pip") -> metadata.Distribution:
    """A pytest-serialcompat 0.1.0 installed under ``site``: one module and its dist-info."""
    info = site / "pytest_serialcompat-0.1.0.dist-info"
    info.mkdir(parents=True)
    (site / "pytest_serialcompat").mkdir()
    (site / "pytest_serialcompat" / "__init__.py").write_text("__version__ = '0.1.0'\n")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pytest-serialcompat\n"
                                   "Version: 0.1.0\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    (info / "entry_points.txt").write_text("[pytest11]\nserialcompat = pytest_serialcompat.plugin\n")
    (info / "INSTALLER").write_text(installer + "\n")
    files = ["pytest_serialcompat/__init__.py", "pytest_serialcompat/__pycache__/x.pyc",
             "../../../bin/serialcompat"] + [
        "pytest_serialcompat-0.1.0.dist-info/" + n for n in ("METADATA", "WHEEL",
                                                              "entry_points.txt", "INSTALLER")]
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
        files.append("pytest_serialcompat-0.1.0.dist-info/direct_url.json")
    (info / "RECORD").write_text("\n".join(f + ",," for f in files) + "\n")
    return metadata.PathDistribution(info)


def test_an_editable_install_is_installed_editable_from_its_checkout(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    dist = _installed(tmp_path / "site", {"url": checkout.as_uri(), "dir_info": {"editable": True}})
    source = plugin_source.from_distribution(dist, tmp_path / "wheels")
    assert (source.kind, source.pip_args) == (plugin_source.EDITABLE, ["-e", str(checkout)])


def test_a_local_folder_install_is_installed_from_that_folder(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    dist = _installed(tmp_path / "site", {"url": checkout.as_uri(), "dir_info": {}})
    source = plugin_source.from_distribution(dist, tmp_path / "wheels")
    assert (source.kind, source.pip_args) == (plugin_source.LOCAL, [str(checkout)])
    assert "the folder it was installed from (%s)" % checkout == source.description


def test_a_vcs_install_is_installed_from_its_url_at_its_commit(tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    dist = _installed(tmp_path / "site", {
        "url": "https://example.invalid/team/pytest-serialcompat.git",
        "vcs_info": {"vcs": "git", "commit_id": commit, "requested_revision": "main"}})
    source = plugin_source.from_distribution(dist, tmp_path / "wheels")
    assert source.kind == plugin_source.VCS
    assert source.pip_args == [
        "git+https://example.invalid/team/pytest-serialcompat.git@" + commit]
    assert commit in source.identity


def test_an_index_install_is_installed_by_version(tmp_path):
    dist = _installed(tmp_path / "site")
    source = plugin_source.from_distribution(dist, tmp_path / "wheels")
    assert (source.kind, source.pip_args) == (plugin_source.INDEX, ["pytest-serialcompat==0.1.0"])


def test_a_wheel_install_uses_the_wheel_while_it_is_there(tmp_path):
    wheel = tmp_path / "dist" / "pytest_serialcompat-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"PK wheel")
    dist = _installed(tmp_path / "site", {"url": wheel.as_uri(), "archive_info": {}})
    source = plugin_source.from_distribution(dist, tmp_path / "wheels")
    assert (source.kind, source.pip_args) == (plugin_source.ARCHIVE, [str(wheel)])


@pytest.mark.parametrize("case", ["folder gone", "wheel gone", "not from pip"])
def test_otherwise_a_wheel_is_built_from_the_installed_files(tmp_path, case):
    gone = tmp_path / "gone"
    direct, installer = {
        "folder gone": ({"url": gone.as_uri(), "dir_info": {}}, "pip"),
        "wheel gone": ({"url": (gone / "p.whl").as_uri(), "archive_info": {}}, "pip"),
        "not from pip": (None, "conda"),
    }[case]
    dist = _installed(tmp_path / "site", direct, installer)
    source = plugin_source.from_distribution(dist, tmp_path / "wheels")
    assert source.kind == plugin_source.BUILT
    wheel = Path(source.pip_args[0])
    assert wheel.name == "pytest_serialcompat-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(str(wheel)) as archive:
        names = sorted(archive.namelist())
        record = archive.read("pytest_serialcompat-0.1.0.dist-info/RECORD").decode()
        assert archive.read("pytest_serialcompat/__init__.py") == b"__version__ = '0.1.0'\n"
    # no bytecode, no console script (pip makes it), none of what pip wrote at install time
    assert names == ["pytest_serialcompat-0.1.0.dist-info/METADATA",
                     "pytest_serialcompat-0.1.0.dist-info/RECORD",
                     "pytest_serialcompat-0.1.0.dist-info/WHEEL",
                     "pytest_serialcompat-0.1.0.dist-info/entry_points.txt",
                     "pytest_serialcompat/__init__.py"]
    assert "pytest_serialcompat/__init__.py,sha256=" in record
    # the same installed files make the same wheel: the venv key stays
    assert plugin_source.from_distribution(dist, tmp_path / "wheels").identity == source.identity


def test_a_built_wheel_installs_with_pip(tmp_path):
    dist = _installed(tmp_path / "site", None, "conda")
    wheel = plugin_source.from_distribution(dist, tmp_path / "wheels").pip_args[0]
    target = tmp_path / "target"
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target",
         str(target), "--disable-pip-version-check", wheel],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert completed.returncode == 0, completed.stdout.decode()
    assert (target / "pytest_serialcompat" / "__init__.py").read_text() == "__version__ = '0.1.0'\n"


def test_plugin_source_option_overrides(tmp_path):
    folder = tmp_path / "checkout"
    folder.mkdir()
    assert plugin_source.resolve(str(folder), tmp_path).pip_args == ["-e", str(folder)]
    wheel = tmp_path / "p.whl"
    wheel.write_bytes(b"x")
    assert plugin_source.resolve(str(wheel), tmp_path).pip_args == [str(wheel)]
    given = plugin_source.resolve("pytest-serialcompat==0.1.0", tmp_path)
    assert given.pip_args == ["pytest-serialcompat==0.1.0"]
    assert given.description == "--plugin-source pytest-serialcompat==0.1.0"


def test_the_running_checkout_is_found(tmp_path):
    source = plugin_source.resolve(None, tmp_path)
    here = Path(plugin_source.__file__).resolve().parents[2]
    if (here / "pyproject.toml").is_file():   # the test suite runs from a checkout (editable)
        assert source.pip_args == ["-e", str(here)]
    else:
        assert source.kind != plugin_source.EDITABLE


def test_an_install_failure_names_the_option_and_the_source(tmp_path):
    dist = _installed(tmp_path / "site")
    text = plugin_source.from_distribution(dist, tmp_path).install_failed()
    assert text.startswith("pytest-serialcompat 0.1.0 could not be installed into the venvs from "
                           "the package index (pytest-serialcompat==0.1.0)")
    assert "--plugin-source PATH|WHEEL|REQUIREMENT" in text


def test_a_distribution_with_no_files_cannot_become_a_wheel(tmp_path):
    dist = _installed(tmp_path / "site", None, "conda")
    (Path(str(dist._path)) / "RECORD").unlink()
    with pytest.raises(RunnerError, match="lists no files to build a wheel from; give the plugin "
                                          "with --plugin-source"):
        plugin_source.from_distribution(dist, tmp_path / "wheels")
