"""The matrix runner's pieces that need no throwaway venv: interpreters, tox env lists,
venv cache keys, streaming subprocess output, progress lines and missing interpreters.

The end-to-end runs (venvs, tox, real cross-version replays) are in
test_matrix_cross_version.py.
"""

import io
import platform
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_serialcompat import __version__, cli
from pytest_serialcompat.matrix import environments, plans as run_plans, plugin_source, processes
from pytest_serialcompat.environment import CURRENT


def _options(project, tmp_path, **extra):
    return run_plans.RunOptions(project=project, reports_dir=tmp_path / "reports",
                             venv_dir=tmp_path / "venvs", **extra)


def test_probe_the_running_interpreter():
    interp = environments.probe_interpreter(sys.executable)
    assert interp.version == platform.python_version()
    assert interp.tag == CURRENT.tag
    assert Path(interp.executable).exists()


def test_probe_refuses_what_is_not_there_or_not_python(tmp_path):
    with pytest.raises(run_plans.RunnerError, match="python3.99-absent: not found on PATH"):
        environments.probe_interpreter("python3.99-absent")
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho nope >&2\nexit 3\n")
    fake.chmod(0o755)
    if sys.platform.startswith("win"):
        pytest.skip("shell-script interpreters need a POSIX shell")
    with pytest.raises(run_plans.RunnerError,
                       match=r"does not run as a Python interpreter \(exit 3: nope\)"):
        environments.probe_interpreter(str(fake))


def test_same_interpreter_twice_is_a_usage_error():
    with pytest.raises(run_plans.RunnerError, match="both %s" % CURRENT.tag):
        environments.python_plans([sys.executable, sys.executable])


def test_venv_key_follows_what_is_installed_not_tool_sections(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    pyproject = project / "pyproject.toml"
    base = '[project]\nname = "p"\nversion = "1"\ndependencies = ["numpy"]\n'
    pyproject.write_text(base)
    interp = environments.probe_interpreter(sys.executable)
    args = ["-e", str(project), "pytest"]
    key = environments.venv_key(project, interp, args)
    assert environments.venv_key(project, interp, args) == key
    (project / "module.py").write_text("x = 1\n")   # source edits are seen through -e
    assert environments.venv_key(project, interp, args) == key
    # following a Fix line (ini values, the plugin's table) and editing descriptions reuse it
    pyproject.write_text(base + '[tool.pytest.ini_options]\nserialcompat_renames = ["a.B = c.B"]\n'
                         '[tool.serialcompat]\nallow = ["x.y"]\n[tool.ruff]\nline-length = 99\n')
    assert environments.venv_key(project, interp, args) == key
    pyproject.write_text(base.replace('version = "1"', 'version = "1"\ndescription = "shop"'))
    assert environments.venv_key(project, interp, args) == key
    # what gets installed changes it: dependencies, extras, the build backend's own table
    pyproject.write_text(base.replace('["numpy"]', '["numpy<2"]'))
    deps = environments.venv_key(project, interp, args)
    assert deps != key
    pyproject.write_text(base + '[project.optional-dependencies]\ntest = ["pandas"]\n')
    assert environments.venv_key(project, interp, args) not in (key, deps)
    pyproject.write_text(base + '[tool.setuptools]\npackages = ["p"]\n')
    assert environments.venv_key(project, interp, args) not in (key, deps)
    pyproject.write_text(base)
    (project / "setup.cfg").write_text("[flake8]\nmax-line-length = 99\n")
    assert environments.venv_key(project, interp, args) == key
    (project / "setup.cfg").write_text("[options]\ninstall_requires = attrs\n")
    assert environments.venv_key(project, interp, args) != key
    (project / "setup.cfg").unlink()
    other = interp._replace(version="3.99.0")
    assert environments.venv_key(project, other, args) != key
    assert environments.venv_key(project, interp, args + ["hypothesis"]) != key
    requirements = project / "requirements.txt"
    requirements.write_text("attrs\n")
    with_file = environments.venv_key(project, interp, args + ["-r", str(requirements)])
    requirements.write_text("attrs<22\n")
    assert environments.venv_key(project, interp, args + ["-r", str(requirements)]) != with_file


def test_venv_key_follows_the_plugin_source(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    interp = environments.probe_interpreter(sys.executable)
    args = ["pytest"]
    first = plugin_source.PluginSource(plugin_source.LOCAL, ["/src"], "local /src aaaa", "x")
    again = plugin_source.PluginSource(plugin_source.LOCAL, ["/src"], "local /src bbbb", "x")
    assert environments.venv_key(project, interp, args, first) == environments.venv_key(
        project, interp, args, first)
    assert environments.venv_key(project, interp, args, first) != environments.venv_key(
        project, interp, args, again)


def test_install_arguments_use_the_plugin_source_and_the_project(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    args = environments._install_arguments(project, _options(project, tmp_path, extras=("test",),
                                                             requirements=("hypothesis",)))
    plugin = plugin_source.resolve(None, tmp_path / "venvs" / plugin_source.WHEEL_FOLDER)
    assert args == ["pytest"] + plugin.pip_args + ["-e", "%s[test]" % project, "hypothesis"]
    given = environments._install_arguments(project, _options(
        project, tmp_path, plugin_source="pytest-serialcompat==0.1.0"))
    assert given == ["pytest", "pytest-serialcompat==0.1.0", "-e", str(project)]
    bare = tmp_path / "bare"
    bare.mkdir()   # no packaging files: only pytest and the plugin
    assert environments._install_arguments(bare, _options(bare, tmp_path)) == (
        ["pytest"] + plugin.pip_args)
    # a pyproject.toml with tool settings only is no package either
    (bare / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    assert not environments.installable(bare)
    assert environments._install_arguments(bare, _options(bare, tmp_path)) == (
        ["pytest"] + plugin.pip_args)
    (bare / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n')
    assert environments.installable(bare)


def test_run_streaming_logs_everything_and_reports_the_last_line(tmp_path):
    seen = []
    log_path = tmp_path / "log"
    code = "import sys\nfor i in range(3): print('line', i, flush=True)\nsys.exit(4)\n"
    with open(str(log_path), "wb") as log:
        status = processes.run_streaming([sys.executable, "-c", code], tmp_path, None, log,
                                      seen.append, processes.Children())
    assert status == 4
    text = log_path.read_text()
    assert "line 0\nline 1\nline 2\n" in text
    assert seen[-1] == "line 2"


def test_run_streaming_timeout_kills_the_child(tmp_path):
    with open(str(tmp_path / "log"), "wb") as log:
        status = processes.run_streaming([sys.executable, "-c", "import time; time.sleep(60)"],
                                      tmp_path, None, log, lambda line: None, processes.Children(),
                                      timeout=0.5)
    assert status != 0


def test_plain_progress_lines():
    stream = io.StringIO()
    with processes.Progress(stream, ["py38", "py313"], live=False) as progress:
        progress.start("py38", "replay (tox)")
        progress.output("py38", "tests/test_x.py ..")    # plain mode: not printed
        progress.done("py38", "replay done", 1.25)
    assert stream.getvalue() == "py38 : replay (tox)\npy38 : replay done (1.2 s)\n"


def test_live_progress_redraws_one_line_per_environment():
    stream = io.StringIO()
    with processes.Progress(stream, ["py38", "py313"], live=True) as progress:
        progress.start("py313", "replay (pytest)")
        progress.output("py313", "\x1b[32mtests/test_x.py ..F\x1b[0m")
        progress._draw()
        progress.done("py313", "replay done", 2.0)
    text = stream.getvalue()
    assert "\x1b[2A" in text        # cursor back up over the two lines
    final = text.rsplit("\x1b[2A", 1)[-1]
    lines = [line.split("\x1b[2K", 1)[-1] for line in final.strip("\n").split("\n")]
    assert lines[0].startswith("py38 ") and lines[0].rstrip().endswith("waiting")
    assert lines[1].startswith("py313") and "2.0 s  replay done" in lines[1]


def test_last_line_strips_colours_and_carriage_returns():
    assert processes.last_line(b"a\n\x1b[1mb\x1b[0m\rc  \n\n") == "c"


def test_missing_interpreter_fails_the_matrix(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["matrix", "--project", str(project), "--python", "python3.99-absent",
                       "--reports-dir", str(tmp_path / "r"), "--venv-dir", str(tmp_path / "v"),
                       "--progress", "plain"], out, err)
    assert status == 1
    text = out.getvalue()
    assert "python3.99-absent" in text and "interpreter not found" in text
    assert "FAILED" in text.splitlines()[1]


def test_arguments_after_double_dash_are_only_for_matrix():
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exc:
        cli.main(["report", "x.json", "--", "-k", "thing"], out, err)
    assert exc.value.code == 2


# ----------------------------------------------------------------------------
# tox configuration (needs tox itself, not any interpreter)


def _tox_command():
    try:
        return environments.find_tox()
    except run_plans.RunnerError as exc:
        pytest.skip("tox is not installed in this environment (%s)" % exc)


def test_default_tox_envs_are_the_py3x_ones(tmp_path):
    tox = _tox_command()
    (tmp_path / "tox.ini").write_text(textwrap.dedent("""
        [tox]
        env_list = py38, lint, py313, docs
        [testenv]
        commands = pytest {posargs}
    """))
    assert environments.default_tox_envs(tmp_path, tox) == ["py38", "py313"]


def test_no_py3x_tox_envs_is_explained(tmp_path):
    tox = _tox_command()
    (tmp_path / "tox.ini").write_text("[tox]\nenv_list = lint\n[testenv]\ncommands = true\n")
    with pytest.raises(run_plans.RunnerError, match="no py3X environments.*--envs.*--python"):
        environments.default_tox_envs(tmp_path, tox)


def test_tox_command_lines():
    tox = ["tox"]
    assert environments.tox_prepare_argv(tox, ["py38", "py313"], 2) == [
        "tox", "run-parallel", "--notest", "--parallel-no-spinner", "-p", "2", "-e", "py38,py313"]
    assert environments.tox_run_argv(tox, "py38", ["--serialcompat", "-x"]) == [
        "tox", "run", "-e", "py38", "--skip-pkg-install", "--", "--serialcompat", "-x"]


def test_child_tox_never_inherits_the_outer_tox_environment(monkeypatch):
    # tox reads TOX_<OPTION> variables as options: a child tox started from inside
    # a tox env must not pick up the outer TOX_WORK_DIR and rebuild its envs.
    monkeypatch.setenv("TOX_WORK_DIR", "/outer/project/.tox")
    monkeypatch.setenv("TOX_ENV_DIR", "/outer/project/.tox/py313")
    monkeypatch.setenv("PYENV_VERSION", "3.11.7:3.8.18")
    for keep_venv in (True, False):
        environ = processes.child_environment(keep_venv=keep_venv)
        assert not [name for name in environ if name.startswith("TOX_")]
        assert environ["PYENV_VERSION"] == "3.11.7:3.8.18"
