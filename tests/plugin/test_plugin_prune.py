"""Pruning never deletes a golden that a test of the suite still owns (pytester, real xdist)."""

import hashlib
import importlib.util
import json
import os
import pickle
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from plugin_app import make_app, run
from pytest_serialcompat.environment import CI_VARIABLES, CURRENT

# In-process pytester runs drop modules first imported during a run; importing the
# reference modules here keeps one copy of each for every run.
from pytest_serialcompat.reference import allowlist, analyzer, canonical_json, tree  # noqa: F401

TAG = CURRENT.tag
STORE = "tests/__serialcompat__"
COUNT = 30

MODELS = '''
import dataclasses


@dataclasses.dataclass
class Point:
    x: int
    y: int
'''

# Two test files: test_many.py owns most goldens, test_one.py a few.
MANY = '''
import pytest

from myapp.models import Point


@pytest.mark.parametrize("n", range(%d))
def test_many(serialcompat, n):
    serialcompat.check({"n": n, "squares": [i * i for i in range(n %% 4)]}, "many/%%02d" %% n)
''' % COUNT

ONE = '''
from myapp.models import Point


def test_point(serialcompat):
    serialcompat.check(Point(1, 2), "point")
'''

# The standard way plugins such as pytest-split deselect: the hook, on whichever process
# collects (the xdist workers under -n).
DESELECT_BY_HOOK = '''
def pytest_collection_modifyitems(config, items):
    keep = [item for item in items if "test_many" not in item.nodeid]
    dropped = [item for item in items if "test_many" in item.nodeid]
    config.hook.pytest_deselected(items=dropped)
    items[:] = keep
'''

# A conftest that drops items without telling anyone.
DROP_SILENTLY = '''
def pytest_collection_modifyitems(config, items):
    items[:] = [item for item in items if "test_many" not in item.nodeid]
'''

XDIST = ("-n", "2", "-p", "no:hypothesispytest")


@pytest.fixture
def app(pytester, monkeypatch):
    app = make_app(pytester, monkeypatch, MODELS, ONE)
    (app.path / "tests" / "test_app.py").rename(app.path / "tests" / "test_one.py")
    (app.path / "tests" / "test_many.py").write_text(MANY)
    return app


def goldens(pytester):
    root = pytester.path / STORE
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not p.name.endswith(".manifest.json"))


def record(app):
    run(app, "--serialcompat-update").assert_outcomes(passed=COUNT + 1)
    files = goldens(app)
    assert len(files) >= COUNT * 5  # pickle 2..5 + marshal (+ json for the point)
    return files


def subprocess_run(app, *args):
    return app.runpytest_subprocess(*args)


needs_xdist = pytest.mark.skipif(importlib.util.find_spec("xdist") is None,
                                 reason="pytest-xdist is needed for the parallel pruning tests")


# -------------------------------------------------------------- ownership


@needs_xdist
@pytest.mark.slow
@pytest.mark.parametrize("conftest", [DESELECT_BY_HOOK, DROP_SILENTLY], ids=["hook", "silent"])
def test_plugin_deselection_under_xdist_keeps_every_golden(app, conftest):
    before = record(app)
    app.makeconftest(conftest)
    result = subprocess_run(app, *XDIST, "--serialcompat", "--serialcompat-prune")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "pruned (" not in out
    assert "unused (" not in out  # the deselected tests still own their goldens
    result.stdout.fnmatch_lines([
        "not pruning: partial run (%d test(s) deselected by a plugin or conftest (e.g. "
        "tests/test_many.py::test_many*" % COUNT])
    assert goldens(app) == before


def test_plugin_deselection_in_one_process_keeps_every_golden(app):
    before = record(app)
    app.makeconftest(DROP_SILENTLY)
    result = run(app, "--serialcompat", "--serialcompat-prune")
    result.assert_outcomes(passed=1)
    assert "unused (" not in result.stdout.str()
    result.stdout.fnmatch_lines(["not pruning: partial run (%d test(s) deselected*" % COUNT])
    assert goldens(app) == before


@pytest.mark.parametrize("option", ["--ignore=tests/test_many.py", "--ignore-glob=*_many.py"])
def test_ignore_options_are_partial_runs(app, option):
    before = record(app)
    result = run(app, option, "--serialcompat", "--serialcompat-prune")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["not pruning: partial run (--ignore*"])
    assert goldens(app) == before


@needs_xdist
@pytest.mark.slow
@pytest.mark.parametrize("xdist", [False, True], ids=["one-process", "xdist"])
@pytest.mark.parametrize("setting", ['collect_ignore = ["test_many.py"]',
                                     'collect_ignore_glob = ["*_many.py"]'])
def test_collect_ignore_in_a_conftest_is_a_partial_run(app, setting, xdist):
    before = record(app)
    (app.path / "tests" / "conftest.py").write_text(setting + "\n")
    args = (XDIST if xdist else ()) + ("--serialcompat", "--serialcompat-prune")
    result = subprocess_run(app, *args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "not pruning: partial run (collection left out tests/test_many.py (collect_ignore*"])
    assert "pruned (" not in result.stdout.str()
    assert goldens(app) == before


@needs_xdist
@pytest.mark.slow
def test_a_full_run_under_xdist_prunes_only_what_no_test_owns(app):
    before = record(app)
    # ignoring a file that holds no tests (a common conftest line) is not a partial run
    (app.path / "setup.py").write_text("raise SystemExit('setup.py must not be imported')\n")
    app.makeconftest('collect_ignore = ["setup.py"]\n')
    (app.path / "tests" / "test_one.py").write_text("def test_nothing():\n    pass\n")
    result = subprocess_run(app, *XDIST, "--serialcompat", "--serialcompat-prune")
    result.assert_outcomes(passed=COUNT + 1)
    result.stdout.fnmatch_lines(["would delete (* file(s), no test of the suite asks for them):",
                                 "pruned (*"])
    point = [f for f in before if f.startswith("point/")]
    assert point and goldens(app) == [f for f in before if f not in point]


def test_prune_is_refused_in_ci(app, monkeypatch):
    before = record(app)
    (app.path / "tests" / "test_one.py").write_text("def test_nothing():\n    pass\n")
    monkeypatch.setenv(CI_VARIABLES[0], "true")
    result = run(app, "--serialcompat-prune")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--serialcompat-prune refused: CI environment detected*"])
    assert goldens(app) == before


# --------------------------------------------------- asking on a terminal


def _run_on_terminal(app, answer: bytes, *args) -> str:
    """pytest with a real pseudo-terminal as stdin/stdout; ``answer`` typed at the prompt."""
    leader, follower = pty.openpty()
    env = dict(os.environ, COLUMNS="200")
    for name in CI_VARIABLES:
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                            cwd=str(app.path), stdin=follower, stdout=follower, stderr=follower,
                            env=env, close_fds=True)
    os.close(follower)
    output = b""
    answered = False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
                if not answered and b"[y/N]" in output:
                    os.write(leader, answer)
                    answered = True
            elif proc.poll() is not None:
                break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    assert answered, output.decode(errors="replace")
    return output.decode(errors="replace")


@pytest.mark.slow
def test_on_a_terminal_prune_lists_and_asks_first(app):
    before = record(app)
    (app.path / "tests" / "test_one.py").write_text("def test_nothing():\n    pass\n")
    point = [f for f in before if f.startswith("point/")]
    out = _run_on_terminal(app, b"n\n", "--serialcompat-prune")
    assert "would delete (%d file(s)" % len(point) in out
    for name in point:
        assert name in out
    assert "not pruning: not confirmed at the prompt: nothing was deleted" in out
    assert goldens(app) == before
    out = _run_on_terminal(app, b"y\n", "--serialcompat-prune")
    assert "pruned (%d)" % len(point) in out
    assert goldens(app) == [f for f in before if f not in point]


# ------------------------------------------------ leftovers of killed writes


def test_leftover_temp_files_are_reported_swept_and_block_prune(app):
    record(app)
    folder = app.path / STORE / "many" / "03"
    ours = folder / (".%s-p4.pickle.unfinished-ab12cd34.tmp" % TAG)
    ours_old_style = folder / (".%s.manifest.json.x1y2z3w4.tmp" % TAG)
    theirs = folder / ".cpython3.99-p4.pickle.unfinished-ab12cd34.tmp"
    for path in (ours, ours_old_style, theirs):
        path.write_bytes(b"\x80\x04half a pick")
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=COUNT + 1)
    result.stdout.fnmatch_lines([
        "left by an interrupted update: 3 temporary file(s), not goldens*",
        "  tests/__serialcompat__/many/03/.cpython3.99-p4.pickle.unfinished-ab12cd34.tmp"])
    (app.path / "tests" / "test_one.py").write_text("def test_nothing():\n    pass\n")
    before = goldens(app)
    result = run(app, "--serialcompat-prune")
    result.stdout.fnmatch_lines(["not pruning: the store holds files left by an interrupted update*"])
    assert goldens(app) == before
    # an update sweeps this interpreter's leftovers from the folders it writes, not another's
    (app.path / "tests" / "test_one.py").write_text(ONE)
    (folder / ("%s-p4.pickle" % TAG)).unlink()  # so that the update writes into that folder
    run(app, "--serialcompat-update").assert_outcomes(passed=COUNT + 1)
    assert not ours.exists() and not ours_old_style.exists()
    assert theirs.exists()


# The project's conftest has the update process kill itself with a real SIGKILL right
# after its Nth fsync: inside a write, after the temporary file is whole on disk and
# before its rename (it wraps the real fsync; it replaces nothing).  Counting fsyncs
# instead of sleeping puts every kill at a known point however loaded the machine is.
KILL_AT_FSYNC = (1, 2, 5, 17, 60, 150)
KILL_AFTER_FSYNC = """
import os
import signal

_fsync = os.fsync
_calls = 0
_kill_at = int(os.environ["SERIALCOMPAT_TEST_KILL_AT_FSYNC"])


def _fsync_then_die(fd):
    global _calls
    _fsync(fd)
    _calls += 1
    if _calls == _kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


os.fsync = _fsync_then_die
"""


@pytest.mark.slow
def test_kill_9_during_update_never_leaves_a_corrupt_golden(app):
    """A real update process, killed at several points: what is on disk is whole or absent."""
    (app.path / "tests" / "test_many.py").write_text(MANY.replace("range(%d)" % COUNT, "range(60)"))
    (app.path / "tests" / "conftest.py").write_text(KILL_AFTER_FSYNC)
    env = dict(os.environ)
    for name in CI_VARIABLES:
        env.pop(name, None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--serialcompat-update"]
    root = app.path / STORE
    leftovers = 0
    for kill_at in KILL_AT_FSYNC:
        env["SERIALCOMPAT_TEST_KILL_AT_FSYNC"] = str(kill_at)
        proc = subprocess.run(command, cwd=str(app.path), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.returncode == -signal.SIGKILL, (kill_at, proc.stdout[-2000:])
        for manifest_path in root.rglob("*.manifest.json"):
            manifest = json.loads(manifest_path.read_text())  # a manifest is whole JSON
            for filename, entry in manifest["goldens"].items():
                data = (manifest_path.parent / filename).read_bytes()
                assert entry["sha256"] == hashlib.sha256(data).hexdigest(), manifest_path
        for path in root.rglob("*.pickle"):
            pickle.loads(path.read_bytes())  # every golden file is a whole pickle
        leftovers += sum(1 for p in root.rglob("*.tmp") if ".unfinished-" in p.name)
    assert leftovers, "no kill left a temporary file: the test proved nothing about them"
    (app.path / "tests" / "conftest.py").unlink()
    result = subprocess.run(command, cwd=str(app.path), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode == 0, result.stdout
    assert "removed: left by an interrupted update" in result.stdout
    assert not list(root.rglob("*.tmp")), "a temporary file survived the next update"
    replay = subprocess.run(command[:-1] + ["--serialcompat"], cwd=str(app.path), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    assert replay.returncode == 0, replay.stdout
