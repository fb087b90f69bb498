"""The matrix tables (merge, render, exit status) on report files written by real plugin runs.

A small project is recorded and replayed by the real plugin in subprocesses of
the running interpreter: once unchanged (everything passes), once after a
class changed its state (real failures), once recording only, and once with a
check that has no golden.  The merged tables, the renderings and the
``serialcompat report`` command are checked against what those runs must give.
Cross-interpreter cells are the job of test_matrix_cross_version.py.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, strategies as st

from pytest_serialcompat import cli
from pytest_serialcompat.environment import CURRENT
from pytest_serialcompat.matrix import build, model, render_text
from pytest_serialcompat.store import report as report_format


TAG = CURRENT.tag                                   # e.g. "cpython3.12"
SHORT = "%d.%d" % CURRENT.major_minor               # its label in the tables
HIGHEST = pickle.HIGHEST_PROTOCOL

PYPROJECT = """
[tool.pytest.ini_options]
testpaths = ["tests"]
"""
SHOP_V1 = """
class Cart:
    def __init__(self, items):
        self.items = list(items)

    def __eq__(self, other):
        return type(other) is Cart and other.items == self.items
"""
# The attribute was renamed: old goldens carry `items`, the class now wants `lines`.
SHOP_V2 = """
class Cart:
    def __init__(self, items):
        self.lines = list(items)

    def __eq__(self, other):
        return type(other) is Cart and getattr(other, "lines", None) == self.lines
"""
TESTS = """
from shop import Cart


def test_cart(serialcompat):
    serialcompat.check(Cart(["apple", "pear"]), "cart", formats=["pickle"], protocols=[2, 5])


def test_prices(serialcompat):
    serialcompat.check({"apple": 3, "pear": 5}, "prices", formats=["pickle", "marshal", "json"],
                       protocols=[2, 5])
"""
UNRECORDED_TEST = """

def test_unrecorded(serialcompat):
    serialcompat.check([1, 2, 3], "never-recorded", formats=["json"])
"""


def _write(root, relpath, text):
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    shutil.rmtree(str(root / "__pycache__"), ignore_errors=True)


def _pytest(root, *args):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"] + list(args),
        cwd=str(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300)
    return completed.returncode, completed.stdout.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Real runs' report files: record, replay unchanged, replay after a change, missing golden."""
    root = tmp_path_factory.mktemp("shop")
    out = tmp_path_factory.mktemp("reports")
    _write(root, "pyproject.toml", PYPROJECT)
    _write(root, "shop.py", SHOP_V1)
    _write(root, "tests/test_shop.py", TESTS)
    paths = {name: out / (name + ".json") for name in ("record", "pass", "fail", "missing")}

    code, output = _pytest(root, "--serialcompat-update", "--serialcompat-allow-update-in-ci",
                           "--serialcompat-report=%s" % paths["record"])
    assert code == 0, output
    code, output = _pytest(root, "--serialcompat", "--serialcompat-report=%s" % paths["pass"])
    assert code == 0, output
    _write(root, "shop.py", SHOP_V2)
    code, output = _pytest(root, "--serialcompat", "--serialcompat-report=%s" % paths["fail"])
    assert code == 1, output
    _write(root, "shop.py", SHOP_V1)
    _write(root, "tests/test_shop.py", TESTS + UNRECORDED_TEST)
    code, output = _pytest(root, "--serialcompat", "--serialcompat-report=%s" % paths["missing"])
    assert code == 1, output
    return paths


def _cell(matrix, title):
    table = {t.title: t for t in matrix.tables}[title]
    return table.cells[(TAG, TAG)]


def _run_cli(*argv):
    class Stream:
        def __init__(self):
            self.parts = []

        def write(self, text):
            self.parts.append(text)

        @property
        def text(self):
            return "".join(self.parts)

    out, err = Stream(), Stream()
    status = cli.main(list(argv), out, err)
    return status, out.text, err.text


# ----------------------------------------------------------------------------
# The model


def test_failing_replay_gives_failed_required_cells(reports):
    matrix = build.build_matrix([report_format.load_report(reports["fail"])])
    assert [t.title for t in matrix.tables] == [
        "pickle protocol 2", "pickle protocol 5", "marshal version 4", "JSON"]
    assert matrix.replayers == [TAG] and matrix.producers == [TAG]
    for title in ("pickle protocol 2", "pickle protocol 5"):
        cell = _cell(matrix, title)
        assert cell.counts == {"pass": 1, "fail": 1, "skip": 0}
        assert cell.required and cell.state == model.BROKEN
        assert [(r.name, r.diagnosis) for r in cell.failures] == [("cart", "state-changed")]
    for title in ("marshal version 4", "JSON"):
        assert _cell(matrix, title).counts == {"pass": 1, "fail": 0, "skip": 0}
    assert len(matrix.broken_cells()) == 2
    assert build.exit_status(matrix) == 1


def test_passing_replay_exits_zero(reports):
    matrix = build.build_matrix([report_format.load_report(reports["pass"])])
    assert matrix.totals() == {"pass": 6, "fail": 0, "skip": 0}
    assert all(c.state == model.OK for t in matrix.tables for c in t.cells.values())
    assert build.exit_status(matrix) == 0


def test_several_reports_of_one_interpreter_keep_the_worst_outcome(reports):
    loaded = [report_format.load_report(reports[name]) for name in ("pass", "fail")]
    matrix = build.build_matrix(loaded)
    # each golden counts once: cart fails (worst of pass and fail), prices passes
    assert _cell(matrix, "pickle protocol 2").counts == {"pass": 1, "fail": 1, "skip": 0}
    assert any("2 reports were replayed on %s" % TAG in note for note in matrix.notes)


def test_recording_report_is_left_out_with_a_note(reports):
    matrix = build.build_matrix([report_format.load_report(reports["record"])])
    assert matrix.tables == []
    assert any("recording run" in note for note in matrix.notes)
    # nothing was replayed: that is not a green matrix
    assert build.exit_status(matrix) == 1


def test_missing_golden_is_listed_outside_the_cells_and_fails(reports):
    matrix = build.build_matrix([report_format.load_report(reports["missing"])])
    assert matrix.broken_cells() == []
    assert [(replayer, r.name, r.diagnosis) for replayer, r in matrix.outside] == [
        (TAG, "never-recorded", "missing")]
    assert build.exit_status(matrix) == 1
    assert "missing goldens" in render_text.render_text(matrix)


def test_optional_cells_are_allowed_to_fail(reports):
    spec = build.parse_optional("%s:%s:pickle" % (SHORT, SHORT))
    matrix = build.build_matrix([report_format.load_report(reports["fail"])],
                                        optional=[spec])
    assert _cell(matrix, "pickle protocol 2").state == model.ALLOWED
    assert build.exit_status(matrix) == 0


@pytest.mark.parametrize("spec, message", [
    ("3.8", "expected RECORDED:REPLAYED"),
    ("3.8:3.x", "is not a version"),
    ("3.8:3.9:yaml", "unknown format 'yaml'"),
    ("3.8:3.9:pickle:five", "protocol 'five' is not a number"),
])
def test_bad_optional_specs_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        build.parse_optional(spec)


# ----------------------------------------------------------------------------
# Renderings


def test_text_tables_and_failure_listing(reports):
    text = render_text.render_text(
        build.build_matrix([report_format.load_report(reports["fail"])]))
    lines = text.splitlines()
    index = lines.index("pickle protocol 2")
    assert lines[index + 1].split() == ["recorded", "\\", "replayed", SHORT]
    assert lines[index + 2].split() == [SHORT, "1/1/0", "!"]
    marshal = lines.index("marshal version 4")
    assert lines[marshal + 2].split() == [SHORT, "1/0/0"]
    assert ("  (b) state changed: 'cart' recorded on %s, replayed on %s (pickle p2, p5; "
            "2 golden(s))" % (SHORT, SHORT)) in lines
    assert "FAILED: 2 required cell(s) fail" in lines[1]


def test_report_command_writes_markdown_and_json(reports, tmp_path):
    markdown, as_json = tmp_path / "summary.md", tmp_path / "matrix.json"
    status, out, err = _run_cli("report", str(reports["fail"]), "--markdown", str(markdown),
                                "--json", str(as_json))
    assert status == 1, err
    assert "pickle protocol 5" in out
    md = markdown.read_text(encoding="utf-8")
    assert "### pickle protocol 2" in md
    assert "| **%s** | \u274c 1 / 1 / 0 |" % SHORT in md
    assert "| **%s** | \u2705 1 / 0 / 0 |" % SHORT in md       # marshal and JSON
    data = json.loads(as_json.read_text(encoding="utf-8"))
    assert data["kind"] == "pytest-serialcompat matrix" and data["ok"] is False
    assert data["totals"] == {"pass": 4, "fail": 2, "skip": 0}
    p2 = [t for t in data["tables"] if t["format"] == "pickle" and t["protocol"] == 2][0]
    (cell,) = p2["cells"]
    assert (cell["recorded_on"], cell["replayed_on"], cell["pass"], cell["fail"], cell["skip"],
            cell["required"]) == (TAG, TAG, 1, 1, 0, True)
    assert [f["diagnosis"] for f in cell["failures"]] == ["state-changed"]
    assert cell["failures"][0]["file"] == "cart/%s-p2.pickle" % TAG


def test_report_command_optional_turns_the_exit_status_green(reports):
    status, out, err = _run_cli("report", str(reports["fail"]), "--optional", "*:*:pickle")
    assert status == 0, err
    assert "1/1/0 ~" in out and "[allowed] (b) state changed" in out


def test_report_command_passing(reports):
    status, out, _err = _run_cli("report", str(reports["pass"]))
    assert status == 0
    assert "-- OK" in out.splitlines()[1]


# ----------------------------------------------------------------------------
# Bad report files: a clear message naming the file, exit 2, never a traceback


def _variant(source, target, change):
    data = json.loads(source.read_text(encoding="utf-8"))
    change(data)
    target.write_text(json.dumps(data), encoding="utf-8")
    return target


BAD_CHANGES = {
    "kind": (lambda d: d.update(kind="something else"), "not a pytest-serialcompat report"),
    "version": (lambda d: d.update(report_version=99), "report_version 99"),
    "results": (lambda d: d.update(results={"a": 1}),
                "field 'results' is a dict, expected a JSON array"),
    "status": (lambda d: d["results"][0].update(status="exploded"), "unknown status 'exploded'"),
    "protocol": (lambda d: d["results"][0].update(protocol="2"),
                 "field 'protocol' is a str, expected an int"),
    "tag": (lambda d: d["interpreter"].update(interpreter="python"), "is not an interpreter tag"),
}


@pytest.mark.parametrize("which", sorted(BAD_CHANGES))
def test_invalid_report_fields(reports, tmp_path, which):
    change, message = BAD_CHANGES[which]
    bad = _variant(reports["fail"], tmp_path / "bad.json", change)
    status, out, err = _run_cli("report", str(reports["pass"]), str(bad))
    assert status == 2 and out == ""
    assert err.startswith("serialcompat report: %s" % bad)
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[: len(data) // 2], "not a valid JSON report"),
    (lambda data: b"\xff\xfe" + data, "not a valid JSON report"),
    (lambda data: b"[" * 100000 + b"]" * 100000, "not a valid JSON report"),
    (lambda data: b"", "not a valid JSON report"),
])
def test_corrupt_report_files(reports, tmp_path, damage, message):
    bad = tmp_path / "corrupt.json"
    bad.write_bytes(damage(reports["fail"].read_bytes()))
    status, _out, err = _run_cli("report", str(bad))
    assert status == 2
    assert err.startswith("serialcompat report: %s: %s" % (bad, message))
    assert "Traceback" not in err


def test_truncated_report_names_the_byte_offset(reports, tmp_path):
    data = reports["fail"].read_bytes()
    bad = tmp_path / "truncated.json"
    bad.write_bytes(data[:200])
    with pytest.raises(report_format.ReportError, match=r"at byte \d+"):
        report_format.load_report(bad)


def test_unreadable_report_file(tmp_path):
    status, _out, err = _run_cli("report", str(tmp_path / "absent.json"))
    assert status == 2
    assert "absent.json: cannot read" in err


# ----------------------------------------------------------------------------
# Protocol ranges in the listings


def _expand(text):
    numbers = set()
    for part in text.split(", "):
        part = part.lstrip("p")
        low, _, high = part.partition("-p")
        numbers.update(range(int(low), int(high or low) + 1))
    return numbers


@given(st.sets(st.integers(min_value=0, max_value=12), min_size=1))
def test_protocol_ranges_describe_exactly_the_protocols(protocols):
    (text,) = build.describe_where({("pickle", p) for p in protocols})
    assert text.startswith("pickle p")
    assert _expand(text[len("pickle "):]) == protocols
    # ranges are maximal: no two listed parts touch
    parts = text[len("pickle "):].split(", ")
    ends = [(int(p.lstrip("p").split("-p")[0]), int(p.split("-p")[-1].lstrip("p"))) for p in parts]
    assert all(b[0] > a[1] + 1 for a, b in zip(ends, ends[1:]))


def test_report_command_expect_names_the_interpreters_without_a_report(reports):
    status, out, err = _run_cli("report", str(reports["pass"]), "--expect", "%s,3.99" % SHORT)
    assert status == 1, err
    assert "cpython3.99" in out and "no replay report from cpython3.99" in out
    assert "1 environment(s) without a report" in out.splitlines()[1]
    status, _out, _err = _run_cli("report", str(reports["pass"]), "--expect", SHORT)
    assert status == 0
    status, _out, err = _run_cli("report", str(reports["pass"]), "--expect", "three")
    assert status == 2 and "--expect 'three' is not a version" in err


def test_old_releases_rows_follow_todays_oldest_release_first():
    from pytest_serialcompat.matrix.labels import short_labels

    rows = ["1.10.0 / cpython3.8", "cpython3.10", "1.2.0 / cpython3.10", "cpython3.8",
            "1.2.0 / cpython3.8"]
    assert model.sort_rows(rows) == ["cpython3.8", "cpython3.10", "1.2.0 / cpython3.8",
                                     "1.2.0 / cpython3.10", "1.10.0 / cpython3.8"]
    assert short_labels(rows)["1.2.0 / cpython3.10"] == "1.2.0 / 3.10"
    assert short_labels(rows)["cpython3.8"] == "3.8"
