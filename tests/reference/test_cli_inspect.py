"""`serialcompat inspect`: describe serialized files without executing them."""

import datetime
import decimal
import json
import marshal
import os
import pickle
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_serialcompat.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pickles"


def run(args, capsys):
    status = main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_hostile_example_is_refused_and_never_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the payload would write pwned.txt here
    status, out, _ = run(["inspect", str(EXAMPLES / "hostile.pickle")], capsys)
    assert status == 1
    assert "verdict: UNSAFE" in out
    assert "os.system" in out
    assert not (tmp_path / "pwned.txt").exists()


def test_benign_example_is_safe_and_described(capsys):
    status, out, _ = run(["inspect", str(EXAMPLES / "session.pickle")], capsys)
    assert status == 0
    assert "protocol: 5" in out
    assert "verdict: safe" in out
    for name in ("uuid.UUID", "datetime.datetime", "collections.OrderedDict", "decimal.Decimal"):
        assert name in out
    assert "'user': 'ada'" in out  # the object level tree, not an opcode listing


def test_json_output_lists_every_file(tmp_path, capsys):
    good = tmp_path / "good.pickle"
    good.write_bytes(pickle.dumps({"when": datetime.date(2020, 1, 2), "amount": decimal.Decimal("1.5")}, 2))
    status, out, _ = run(["inspect", "--format", "json", str(good), str(EXAMPLES / "hostile.pickle")], capsys)
    reports = json.loads(out)
    assert status == 1
    assert [r["path"] for r in reports] == [str(good), str(EXAMPLES / "hostile.pickle")]
    assert reports[0]["safe"] is True and reports[0]["protocol"] == 2
    assert ["datetime", "date"] in reports[0]["globals"]
    assert reports[1]["safe"] is False
    assert reports[1]["unsafe"][0]["module"] == "os"


def test_malformed_pickle_is_reported_with_its_offset(tmp_path, capsys):
    broken = tmp_path / "broken.pickle"
    broken.write_bytes(pickle.dumps(list(range(50)), 4)[:-7])
    status, out, _ = run(["inspect", str(broken)], capsys)
    assert status == 1
    assert "malformed pickle" in out
    assert "at byte" in out


def test_marshal_pyc_and_json_are_detected_by_content(tmp_path, capsys):
    source = tmp_path / "mod.py"
    source.write_text("def f(x):\n    return x + 1\n")
    pyc = tmp_path / "mod.pyc"
    py_compile.compile(str(source), cfile=str(pyc), doraise=True)
    data = tmp_path / "data.bin"
    data.write_bytes(marshal.dumps({"k": [1, 2.5, None]}))
    doc = tmp_path / "doc.json"
    doc.write_bytes(b'{"version":1,"items":[1,2]}')
    status, out, _ = run(["inspect", "--format", "json", str(pyc), str(data), str(doc)], capsys)
    reports = json.loads(out)
    assert status == 0
    assert [r["format"] for r in reports] == ["pyc", "marshal", "json"]
    text_status, text, _ = run(["inspect", str(pyc)], capsys)
    assert text_status == 0
    assert "code f" in text and "line 1" in text
    assert "CPython %d.%d" % sys.version_info[:2] in text


def test_format_override(tmp_path, capsys):
    weird = tmp_path / "weird.dat"
    weird.write_bytes(b"N.")  # a protocol 0 pickle of None
    status, out, _ = run(["inspect", "--as", "pickle", str(weird)], capsys)
    assert status == 0 and "None" in out
    status, out, _ = run(["inspect", "--as", "json", str(weird)], capsys)
    assert status == 1 and "malformed JSON" in out


def test_unknown_content_and_unreadable_files(tmp_path, capsys):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"hello, world")
    status, out, _ = run(["inspect", str(junk)], capsys)
    assert status == 1 and "unrecognised content" in out
    status, _, err = run(["inspect", str(tmp_path / "missing.pickle")], capsys)
    assert status == 2 and "cannot read" in err and "missing.pickle" in err


def test_bad_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["inspect", "--as", "yaml", "x"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_survives_a_closed_pipe(tmp_path):
    many = [str(EXAMPLES / "session.pickle")] * 200
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_serialcompat.cli", "inspect", *many],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err
