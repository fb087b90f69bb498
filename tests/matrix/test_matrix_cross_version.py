"""The cross-version proof: goldens recorded on one real interpreter, replayed on the others.

``serialcompat matrix --record --python python3.8 --python python3.12 --python
python3.13`` (every installed 3.8-3.13 under CI) runs on a small project whose
samples include real cross-version breaks:

* a ``pathlib.PurePosixPath`` pickled by 3.13 names ``pathlib._local``, which
  does not exist before 3.13: a failed cell, diagnosed "class moved", on 3.12
  and older -- while the 3.8 golden loads on 3.13;
* a protocol-5 golden of an object that pickles through ``PickleBuffer`` (the
  out-of-band buffer API; recorded in-band, as ``BYTEARRAY8``): protocol 5 is
  readable from 3.8 on, so these cells are required and pass;
* a marshalled code object: another version's bytecode is a skip, never a
  failure;
* JSON (a dataclass) and plain data, which must pass everywhere.

The throwaway venvs (pip installs) are built once per session, in parallel, and
reused by the second run; set SERIALCOMPAT_TEST_VENVS to a folder to keep them
between sessions.  The results are the same whichever interpreter runs this
file, so it runs under the newest interpreter found (the CI tox matrix runs it
once, not six times); SERIALCOMPAT_MATRIX_HOST=any runs it from any.
"""

import json
import os
import pickletools
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_serialcompat.matrix import environments, plans as run_plans
from pytest_serialcompat.environment import ci_variable
from cli_run import REPO, serialcompat_cli

pytestmark = pytest.mark.slow

REQUIRED = ("3.8", "3.12", "3.13")        # record on 3.13, replay on 3.8 and 3.12 (and back)
KNOWN = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")

PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "xvshop"
version = "0.1.0"

[tool.setuptools]
packages = ["xvshop"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""
MODELS = '''
import dataclasses
import pickle


@dataclasses.dataclass
class Item:
    sku: str
    qty: int
    price: float


def _frame_from_buffer(buffer):
    return Frame(buffer)


class Frame:
    """Bytes that pickle through PickleBuffer (out-of-band capable) at protocol 5."""

    def __init__(self, payload):
        self.payload = bytearray(payload)

    def __reduce_ex__(self, protocol):
        if protocol >= 5:
            return _frame_from_buffer, (pickle.PickleBuffer(self.payload),)
        return Frame, (bytes(self.payload),)

    def __eq__(self, other):
        return type(other) is Frame and other.payload == self.payload
'''
TESTS = '''
import pathlib

from xvshop.models import Frame, Item


def test_item(serialcompat):
    serialcompat.check(Item("apple", 3, 0.5), "item")


def test_path(serialcompat):
    serialcompat.check(pathlib.PurePosixPath("/srv/shop/items.json"), "path", formats=["pickle"])


def test_frame(serialcompat):
    serialcompat.check(Frame(b"\\x00\\x01frame-payload"), "frame", formats=["pickle"],
                       protocols=[5])


def test_code(serialcompat):
    serialcompat.check(compile("total + 1", "<xvshop>", "eval"), "code", formats=["marshal"])


def test_prices(serialcompat):
    serialcompat.check({"apple": [3, 0.5], "pear": [5, 0.75]}, "prices")
'''
TOX_INI = """
[tox]
env_list = {envs}
skip_missing_interpreters = false

[testenv]
skip_install = false
deps =
    pytest
    -e {plugin}
pass_env =
    PYENV_VERSION
    CI
commands = {commands}
"""


# ----------------------------------------------------------------------------
# Interpreters and the session's runs


def _available():
    found = {}
    for version in KNOWN:
        try:
            found[version] = environments.probe_interpreter("python" + version)
        except run_plans.RunnerError:
            continue
    return found


def _select_interpreters():
    found = _available()
    absent = [v for v in REQUIRED if v not in found]
    if absent:
        reason = ("the cross-version proof needs Python %s; not found: %s (with pyenv, list them "
                  "in PYENV_VERSION)" % (", ".join(REQUIRED), ", ".join(absent)))
        if ci_variable() is not None:
            pytest.fail("CI: " + reason, pytrace=False)
        pytest.skip(reason)
    newest = max(found, key=lambda v: tuple(int(p) for p in v.split(".")))
    host = "%d.%d" % sys.version_info[:2]
    if host != newest and os.environ.get("SERIALCOMPAT_MATRIX_HOST") != "any":
        pytest.skip("the cross-version matrix does not depend on the interpreter running it: it "
                    "runs under Python %s, the newest here (SERIALCOMPAT_MATRIX_HOST=any runs it "
                    "from %s too)" % (newest, host))
    chosen = list(KNOWN) if ci_variable() is not None else list(REQUIRED)
    return [found[v] for v in chosen if v in found]


def _write_project(root: Path) -> Path:
    """A fresh project; a kept .tox folder survives (SERIALCOMPAT_TEST_VENVS reuses it)."""
    if root.is_dir():
        for child in root.iterdir():
            if child.name != ".tox":
                shutil.rmtree(str(child)) if child.is_dir() else child.unlink()
    files = {"pyproject.toml": PYPROJECT, "xvshop/__init__.py": "", "xvshop/models.py": MODELS,
             "tests/test_goldens.py": TESTS}
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


class MatrixRun:
    def __init__(self, base: Path, interpreters):
        self.base = base
        self.interpreters = interpreters
        self.tags = [i.tag for i in interpreters]
        self.project = base / "project"
        self.venvs = base / "venvs"
        self.reports = base / "reports"

    def run(self, name, *extra):
        out_json, out_md = self.base / (name + ".json"), self.base / (name + ".md")
        args = ["matrix", "--project", self.project, "--venv-dir", self.venvs,
                "--reports-dir", self.reports, "--plugin-source", REPO, "--progress", "plain",
                "--json", out_json, "--markdown", out_md] + list(extra)
        for interp in self.interpreters:
            args += ["--python", interp.executable]
        status, stdout, stderr = serialcompat_cli(*args)
        data = json.loads(out_json.read_text(encoding="utf-8")) if out_json.exists() else None
        return status, stdout, stderr, data, out_md


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    interpreters = _select_interpreters()
    keep = os.environ.get("SERIALCOMPAT_TEST_VENVS")
    base = Path(keep) if keep else tmp_path_factory.mktemp("matrix")
    run = MatrixRun(base, interpreters)
    _write_project(run.project)
    shutil.rmtree(str(run.reports), ignore_errors=True)
    shutil.rmtree(str(run.project / ".tox"), ignore_errors=True)
    run.first = run.run("first", "--record", "--allow-update-in-ci")
    status, stdout, stderr, data, _md = run.first
    assert data is not None, "no matrix JSON (exit %d)\n%s\n%s" % (status, stdout, stderr)
    return run


def _cell(data, fmt, protocol, recorded_on, replayed_on):
    for table in data["tables"]:
        if table["format"] == fmt and table["protocol"] == protocol:
            for cell in table["cells"]:
                if (cell["recorded_on"], cell["replayed_on"]) == (recorded_on, replayed_on):
                    return cell
    raise AssertionError("no cell %s %s %s -> %s" % (fmt, protocol, recorded_on, replayed_on))


def _failed(cell):
    return {f["name"]: f for f in cell["failures"]}


def _version(tag):
    return tuple(int(p) for p in tag[len("cpython"):].split("."))


# ----------------------------------------------------------------------------
# The proof


def test_every_environment_recorded_and_replayed(matrix):
    _status, _stdout, _stderr, data, _md = matrix.first
    assert [e["name"] for e in data["environments"]] == matrix.tags
    for env in data["environments"]:
        assert env["state"] == "ok", env
        assert env["elapsed"] > 0
        assert env["recorded"]["new"] >= 10, env     # item x6, path x4, frame, code, prices x6
    assert sorted(data["replayed_on"], key=_version) == sorted(matrix.tags, key=_version)
    assert sorted(data["recorded_on"], key=_version) == sorted(matrix.tags, key=_version)


def test_every_pair_has_a_cell_in_every_table(matrix):
    data = matrix.first[3]
    titles = [t["title"] for t in data["tables"]]
    assert titles == ["pickle protocol 2", "pickle protocol 3", "pickle protocol 4",
                      "pickle protocol 5", "marshal version 4", "JSON"]
    for table in data["tables"]:
        pairs = {(c["recorded_on"], c["replayed_on"]) for c in table["cells"]}
        assert pairs == {(a, b) for a in matrix.tags for b in matrix.tags}, table["title"]


def test_pathlib_golden_from_313_fails_on_older_interpreters(matrix):
    data = matrix.first[3]
    older = [t for t in matrix.tags if _version(t) < (3, 13)]
    assert "cpython3.8" in older and "cpython3.12" in older
    for replayer in older:
        for protocol in (2, 3, 4, 5):
            cell = _cell(data, "pickle", protocol, "cpython3.13", replayer)
            failure = _failed(cell)["path"]
            assert failure["diagnosis"] == "class-moved"
            assert "pathlib._local.PurePosixPath" in failure["message"]
            assert "standard-library path of cpython3.13" in failure["message"]
            assert "oldest Python you support" in failure["fix"]
            assert failure["file"] == "path/cpython3.13-p%d.pickle" % protocol
            assert cell["required"] is True and cell["state"] == "failed"


def test_pathlib_goldens_load_wherever_the_module_exists(matrix):
    data = matrix.first[3]
    for producer in matrix.tags:
        for replayer in matrix.tags:
            if _version(producer) >= (3, 13) > _version(replayer):
                continue
            for protocol in (2, 3, 4, 5):
                cell = _cell(data, "pickle", protocol, producer, replayer)
                assert "path" not in _failed(cell), (producer, replayer, protocol)
                assert cell["fail"] == 0 and cell["state"] == "ok"


def test_protocol_5_buffer_golden_is_required_and_loads_everywhere(matrix):
    data = matrix.first[3]
    for producer in matrix.tags:
        golden = matrix.project / "tests" / "__serialcompat__" / "frame" / (
            "%s-p5.pickle" % producer)
        ops = [op.name for op, _arg, _pos in pickletools.genops(golden.read_bytes())]
        assert ops[0] == "PROTO" and "BYTEARRAY8" in ops     # the PickleBuffer, in-band
        for replayer in matrix.tags:
            cell = _cell(data, "pickle", 5, producer, replayer)
            assert cell["required"] is True
            assert "frame" not in _failed(cell)
    for protocol in (2, 3, 4):   # checked at protocol 5 only
        for cell in [c for t in data["tables"] if t["protocol"] == protocol for c in t["cells"]]:
            assert "frame" not in {f["name"] for f in cell["failures"] + cell["skips"]}


def test_marshal_code_golden_from_another_version_is_a_skip(matrix):
    data = matrix.first[3]
    for producer in matrix.tags:
        for replayer in matrix.tags:
            cell = _cell(data, "marshal", 4, producer, replayer)
            assert cell["fail"] == 0, cell
            skipped = {s["name"]: s for s in cell["skips"]}
            if producer == replayer:
                assert cell["skip"] == 0 and cell["pass"] == 2      # code and prices
            else:
                assert skipped["code"]["diagnosis"] == "foreign-code"
                assert (cell["pass"], cell["skip"]) == (1, 1)       # prices loads, code skips


def test_json_goldens_pass_everywhere(matrix):
    data = matrix.first[3]
    for producer in matrix.tags:
        for replayer in matrix.tags:
            cell = _cell(data, "json", None, producer, replayer)
            assert (cell["pass"], cell["fail"], cell["skip"]) == (2, 0, 0)   # item and prices


def test_exit_status_text_and_markdown(matrix):
    status, stdout, stderr, data, markdown = matrix.first
    assert status == 1 and data["ok"] is False
    lines = stdout.splitlines()
    p2 = lines.index("pickle protocol 2")
    row_313 = [line for line in lines[p2:p2 + len(matrix.tags) + 2] if line.split()[0] == "3.13"]
    cells = row_313[0].split()[1:]
    # 3.13's row: a failing required cell ("n/1/0 !") under every older interpreter
    assert cells.count("!") == len([t for t in matrix.tags if _version(t) < (3, 13)])
    assert "(a) class moved or renamed: 'path' recorded on 3.13, replayed on" in stdout
    md = markdown.read_text(encoding="utf-8")
    assert "### pickle protocol 5" in md and "\u274c" in md
    assert "**(a) class moved or renamed**: `path` recorded on 3.13" in md
    for interp in matrix.interpreters:   # live lines are off (--progress plain): one line per step
        assert "%s" % interp.tag in stderr


def test_report_merges_per_interpreter_result_files(matrix, tmp_path):
    """One CI job per interpreter, then `serialcompat report`: the same tables."""
    files = sorted(matrix.reports.glob("*.replay.json"))
    assert len(files) == len(matrix.tags)
    merged = tmp_path / "merged.json"
    status, _stdout, stderr = serialcompat_cli("report", *files, "--json", merged)
    assert status == 1, stderr
    assert json.loads(merged.read_text())["tables"] == matrix.first[3]["tables"]


def _venv_markers(matrix):
    """Marker file mtimes of the project's venvs for this run's interpreters (the cache folder
    may hold others: more interpreters, the example project's)."""
    found = {}
    for venv in matrix.venvs.iterdir():
        marker = venv / environments.VENV_MARKER
        if not marker.exists() or venv.name.rsplit("-", 1)[0] not in matrix.tags:
            continue
        if json.loads(marker.read_text())["project"] == str(matrix.project.resolve()):
            found[venv.name] = marker.stat().st_mtime_ns
    return found


def test_second_run_reuses_the_venvs(matrix):
    before = _venv_markers(matrix)
    assert sorted(name.rsplit("-", 1)[0] for name in before) == sorted(matrix.tags)
    status, _stdout, stderr, data, _md = matrix.run("second")
    assert _venv_markers(matrix) == before
    assert "creating a venv" not in stderr and "pip install" not in stderr
    assert status == 1
    assert data["tables"] == matrix.first[3]["tables"]


# ----------------------------------------------------------------------------
# Through tox


def test_tox_envs_and_a_tox_ini_without_posargs(matrix, tmp_path):
    try:
        tox = environments.find_tox()
    except run_plans.RunnerError as exc:
        pytest.skip("tox is not installed in this environment (%s)" % exc)
    oldest, newest = matrix.tags[0], matrix.tags[-1]
    envs = ["py%s" % t[len("cpython"):].replace(".", "") for t in (oldest, newest)]
    project = _write_project(matrix.base / "toxproject")
    shutil.copytree(str(matrix.project / "tests" / "__serialcompat__"),
                    str(project / "tests" / "__serialcompat__"))
    tox_ini = project / "tox.ini"
    tox_ini.write_text(TOX_INI.format(envs=", ".join(envs), plugin=REPO,
                                      commands="pytest {posargs}"))
    out_json = tmp_path / "tox.json"
    status, stdout, stderr = serialcompat_cli(
        "matrix", "--project", project, "--tox", " ".join(tox), "--progress", "plain",
        "--json", out_json)
    data = json.loads(out_json.read_text())
    assert [e["name"] for e in data["environments"]] == envs, stdout
    assert all(e["state"] == "ok" for e in data["environments"]), stdout
    assert status == 1
    failure = _failed(_cell(data, "pickle", 5, "cpython3.13", "cpython3.8"))["path"]
    assert failure["diagnosis"] == "class-moved"
    # the same goldens give the same cells as the direct-interpreter run
    direct = matrix.first[3]
    for table in data["tables"]:
        for cell in table["cells"]:
            assert cell == _cell(direct, table["format"], table["protocol"], cell["recorded_on"],
                                 cell["replayed_on"])

    tox_ini.write_text(TOX_INI.format(envs=", ".join(envs), plugin=REPO, commands="pytest"))
    status, stdout, stderr = serialcompat_cli(
        "matrix", "--project", project, "--tox", " ".join(tox), "--envs", envs[-1],
        "--progress", "plain")
    assert status == 1
    assert "commands = pytest {posargs}" in stdout
    assert "ran pytest (exit 0) but no report was written" in stdout


# ----------------------------------------------------------------------------
# The example project


def test_example_project_recorded_on_one_interpreter_replays_on_another(matrix):
    """examples/inventory, its store emptied, recorded on 3.13 only and replayed on 3.8 and 3.13."""
    example = REPO / "examples" / "inventory"
    if not (example / "pyproject.toml").is_file():
        pytest.skip("examples/inventory is not part of this checkout")
    project = matrix.base / "inventory"
    shutil.rmtree(str(project), ignore_errors=True)
    shutil.copytree(str(example), str(project),
                    ignore=shutil.ignore_patterns("__pycache__", ".serialcompat", ".tox"))
    shutil.rmtree(str(project / "tests" / "__serialcompat__"), ignore_errors=True)
    by_version = {i.tag: i for i in matrix.interpreters}
    oldest, newest = by_version["cpython3.8"], by_version["cpython3.13"]

    def run(name, interpreters, *extra):
        out_json = matrix.base / ("inventory-%s.json" % name)
        args = ["matrix", "--project", project, "--venv-dir", matrix.venvs, "--plugin-source",
                REPO, "--progress", "plain", "--json", out_json] + list(extra)
        for interp in interpreters:
            args += ["--python", interp.executable]
        status, stdout, stderr = serialcompat_cli(*args)
        assert out_json.exists(), stdout + stderr
        return status, stdout, json.loads(out_json.read_text(encoding="utf-8"))

    status, stdout, recorded = run("record", [newest], "--record", "--allow-update-in-ci")
    assert recorded["environments"][0]["recorded"].get("new", 0) > 0, stdout
    manifests = list((project / "tests" / "__serialcompat__").rglob("*.manifest.json"))
    assert manifests and {p.name[: -len(".manifest.json")] for p in manifests} == {"cpython3.13"}

    status, stdout, data = run("replay", [oldest, newest])
    assert data["recorded_on"] == ["cpython3.13"]
    assert data["replayed_on"] == ["cpython3.8", "cpython3.13"]
    assert all(e["state"] == "ok" for e in data["environments"]), stdout
    for table in data["tables"]:
        cells = {(c["recorded_on"], c["replayed_on"]): c for c in table["cells"]}
        assert set(cells) == {("cpython3.13", "cpython3.8"), ("cpython3.13", "cpython3.13")}
        own = cells[("cpython3.13", "cpython3.13")]
        assert own["fail"] == 0, own["failures"]      # goldens replay where they were made
        assert own["pass"] > 0 or table["format"] == "marshal"
        measured = cells[("cpython3.13", "cpython3.8")]
        assert measured["pass"] + measured["fail"] + measured["skip"] == (
            own["pass"] + own["fail"] + own["skip"])   # every golden measured on 3.8 too
    broken = [c for t in data["tables"] for c in t["cells"] if c["state"] == "failed"]
    assert data["ok"] is (not broken) and status == (1 if broken else 0)
