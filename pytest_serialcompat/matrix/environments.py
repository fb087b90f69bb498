"""Where the matrix runs: interpreters probed, tox envs listed, throwaway venvs built and cached.

The virtual environments of ``--python`` runs are cached under
``.serialcompat/venvs/`` (or ``--venv-dir``), keyed by a hash of what they hold:
the project's dependency set (its requirements and extras, ``--with``), its
location, the plugin's source and version (:mod:`.plugin_source`) and the
interpreter, and reused while none of that changes.  Tool sections and ini
values are not part of it: editing them reuses the venvs.  A new venv gets pip
and setuptools copied from one seed venv per interpreter (:mod:`.venv_seed`).
"""

import configparser
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .. import __version__
from ..environment import interpreter_tag
from .plans import EnvPlan, PythonCommand, PYTHON, RunOptions, RunnerError, TOX
from . import venv_seed
from .plugin_source import WHEEL_FOLDER, PluginSource, resolve as resolve_plugin
from .processes import child_environment, tail_text

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib


VENV_MARKER = "serialcompat-venv.json"


VENV_LAYOUT = 3                        # bump when the way venvs are built changes


# pyproject.toml's tables that decide what gets installed: the project's metadata (less its
# descriptive fields), the build system and the build backends' own tables
PROJECT_DESCRIPTIVE = frozenset((
    "description", "readme", "authors", "maintainers", "keywords", "classifiers", "urls",
    "license", "license-files"))


BUILD_TOOLS = frozenset((
    "setuptools", "setuptools_scm", "poetry", "hatch", "flit", "pdm", "maturin",
    "scikit-build", "meson-python"))


SETUP_CFG_SECTIONS = re.compile(r"(metadata|options(\..*)?)\Z")


REQUIREMENT_FILE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")


INSTALLABLE_MARKERS = (
    ("pyproject.toml", re.compile(r"^\s*\[(project|build-system)\]", re.M)),
    ("setup.cfg", re.compile(r"^\s*\[metadata\]", re.M)),
)


class VenvBuildError(RunnerError):
    """A throwaway venv could not be built: the environment has no second phase."""


class PluginInstallError(VenvBuildError):
    """pip could not install the plugin: the same for every environment, said once."""


TOX_ENV_PATTERN = re.compile(r"py3\d{1,2}\Z")


PROBE_CODE = (
    "import platform, sys; "
    "print(sys.implementation.name); print(platform.python_version()); "
    "print('%d.%d' % sys.version_info[:2]); print(sys.executable)"
)


PROBE_TIMEOUT = 60


def probe_interpreter(command: str, environ: Optional[Dict[str, str]] = None) -> PythonCommand:
    """Ask ``command`` (name on PATH or path) who it is; RunnerError when it does not answer."""
    found = shutil.which(command) if not os.path.sep in command else command
    if not found or not os.path.exists(found):
        raise RunnerError("%s: not found on PATH" % command)
    try:
        completed = subprocess.run(
            [found, "-c", PROBE_CODE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, timeout=PROBE_TIMEOUT, env=environ)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunnerError("%s: cannot run it: %s" % (command, exc)) from None
    lines = completed.stdout.decode("utf-8", "replace").splitlines()
    if completed.returncode != 0 or len(lines) < 4:
        detail = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RunnerError("%s: does not run as a Python interpreter (exit %d%s)" % (
            command, completed.returncode, ": " + detail[-1] if detail else ""))
    impl, version, major_minor, executable = lines[:4]
    major, minor = (int(part) for part in major_minor.split("."))
    return PythonCommand(command, executable, impl, version, interpreter_tag(impl, (major, minor)))


def python_plans(commands: Sequence[str]) -> List[EnvPlan]:
    """One plan per ``--python`` (all explicit); one that does not answer is 'missing'."""
    plans: List[EnvPlan] = []
    seen: Dict[str, str] = {}
    for command in commands:
        try:
            interp = probe_interpreter(command, child_environment())
        except RunnerError as exc:
            plans.append(EnvPlan(command, PYTHON, True, None, str(exc)))
            continue
        if interp.tag in seen:
            raise RunnerError("--python %s and --python %s are both %s: give each interpreter once"
                              % (seen[interp.tag], command, interp.tag))
        seen[interp.tag] = command
        plans.append(EnvPlan(interp.tag, PYTHON, True, interp))
    return plans


def find_tox(explicit: Optional[str] = None) -> List[str]:
    """The command that runs tox: ``--tox``, this interpreter's tox module, or tox on PATH."""
    if explicit:
        return shlex.split(explicit)
    import importlib.util

    if importlib.util.find_spec("tox") is not None:
        return [sys.executable, "-m", "tox"]
    found = shutil.which("tox")
    if found:
        return [found]
    raise RunnerError("tox is not installed here: `python -m pip install tox`, give its command "
                      "with --tox, or run interpreters directly with --python python3.X")


def default_tox_envs(project: Path, tox_command: Sequence[str]) -> List[str]:
    """The project's default tox envs named py3X."""
    argv = list(tox_command) + ["list", "-d", "--no-desc"]
    try:
        completed = subprocess.run(argv, cwd=str(project), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=child_environment(keep_venv=True), timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunnerError("cannot list the tox envs (%s): %s" % (" ".join(argv), exc)) from None
    text = completed.stdout.decode("utf-8", "replace")
    if completed.returncode != 0:
        raise RunnerError("`%s` failed (exit %d):\n%s" % (" ".join(argv), completed.returncode,
                                                          tail_text(text)))
    names = [line.strip() for line in text.splitlines()]
    envs = [n for n in names if TOX_ENV_PATTERN.match(n)]
    if not envs:
        raise RunnerError(
            "no py3X environments in the tox configuration of %s (`tox list -d` printed: %s); "
            "add `env_list = py38, py313` to tox.ini, choose with --envs, or use --python"
            % (project, ", ".join(n for n in names if n and " " not in n) or "nothing"))
    return envs


def tox_plans(envs: Sequence[str], explicit: bool) -> List[EnvPlan]:
    return [EnvPlan(env, TOX, explicit) for env in envs]


def tox_prepare_argv(tox_command: Sequence[str], envs: Sequence[str], jobs: int) -> List[str]:
    """Create/update every env and install the package once, in parallel (under tox's locks)."""
    return list(tox_command) + ["run-parallel", "--notest", "--parallel-no-spinner",
                                "-p", str(jobs), "-e", ",".join(envs)]


def tox_run_argv(tox_command: Sequence[str], env: str, pytest_args: Sequence[str]) -> List[str]:
    """The package was installed by the prepare step: no rebuild race between parallel tox runs."""
    return list(tox_command) + ["run", "-e", env, "--skip-pkg-install", "--"] + list(pytest_args)


def venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def installable(project: Path) -> bool:
    """Whether pip can install the project: setup.py, or a pyproject.toml/setup.cfg that declares
    a package (a pyproject.toml holding only tool settings is not one)."""
    if (project / "setup.py").is_file():
        return True
    for name, pattern in INSTALLABLE_MARKERS:
        try:
            text = (project / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if pattern.search(text):
            return True
    return False


def plugin_source(options: RunOptions) -> PluginSource:
    """The plugin this run installs: resolved once by the runner, or here for a direct call."""
    if options.plugin is not None:
        return options.plugin
    return resolve_plugin(options.plugin_source, options.venv_dir / WHEEL_FOLDER)


def _install_arguments(project: Path, options: RunOptions) -> List[str]:
    """pip arguments of a throwaway venv: the project (editable, when it is a package), pytest,
    the plugin and any extra requirements.  A project that is no package is tested from its
    folder (pytest runs there, and `python -m pytest` puts it on sys.path)."""
    return _plugin_arguments(project, options) + _project_arguments(project, options)


def _plugin_arguments(project: Path, options: RunOptions) -> List[str]:
    """pytest and the plugin (none when the project is the plugin's own checkout)."""
    plugin = plugin_source(options).pip_args
    if plugin[0] == "-e" and Path(plugin[1]) == project.resolve() and installable(project):
        return ["pytest"]
    return ["pytest"] + plugin


def _project_arguments(project: Path, options: RunOptions) -> List[str]:
    args: List[str] = []
    if installable(project):
        extras = "[%s]" % ",".join(options.extras) if options.extras else ""
        args += ["-e", str(project) + extras]
    return args + list(options.requirements)


def dependency_set(project: Path) -> List[Tuple[str, str]]:
    """What the project's packaging files say about what is installed, as (file, canonical text).

    Tool sections and ini values (``[tool.pytest.ini_options]``, ``[tool.serialcompat]``,
    ``[flake8]``...) are left out: following a Fix line that edits them must not reinstall
    numpy.  A file that does not parse counts whole (pip will say what is wrong with it).
    """
    found: List[Tuple[str, str]] = []
    path = project / "pyproject.toml"
    if path.is_file():
        try:
            with open(str(path), "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, ValueError) as exc:
            found.append(("pyproject.toml", "unreadable %s" % _file_text(path, exc)))
        else:
            tables = {
                "project": {k: v for k, v in (data.get("project") or {}).items()
                            if k not in PROJECT_DESCRIPTIVE},
                "build-system": data.get("build-system"),
                "tool": {k: v for k, v in (data.get("tool") or {}).items() if k in BUILD_TOOLS},
            }
            found.append(("pyproject.toml", json.dumps(tables, sort_keys=True, default=str)))
    path = project / "setup.cfg"
    if path.is_file():
        parser = configparser.RawConfigParser()
        try:
            parser.read(str(path), encoding="utf-8")
        except (OSError, configparser.Error) as exc:
            found.append(("setup.cfg", "unreadable %s" % _file_text(path, exc)))
        else:
            sections = {name: dict(parser.items(name)) for name in parser.sections()
                        if SETUP_CFG_SECTIONS.match(name)}
            if sections:   # a setup.cfg of tool sections only installs nothing
                found.append(("setup.cfg", json.dumps(sections, sort_keys=True)))
    path = project / "setup.py"
    if path.is_file():
        found.append(("setup.py", _file_text(path)))
    return found


def _file_text(path: Path, error=None) -> str:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError as exc:
        return "unreadable (%s)" % (error or exc)


def _requirement_files(install_args: Sequence[str], project: Path) -> List[Tuple[str, str]]:
    """The contents of ``--with -r FILE`` / ``-c FILE`` files: what they name gets installed."""
    found = []
    for option, value in zip(install_args, install_args[1:]):
        if option in REQUIREMENT_FILE_OPTIONS:
            path = Path(value) if Path(value).is_absolute() else project / value
            found.append((value, _file_text(path)))
    return found


def venv_key(project: Path, interp: PythonCommand, install_args: Sequence[str],
             plugin: Optional[PluginSource] = None) -> str:
    """Hash of what a throwaway venv holds: the interpreter, the plugin (its source and
    version), what is installed (with the project's folder when it is installed) and the
    project's dependency set (:func:`dependency_set`)."""
    digest = hashlib.sha256()

    def feed(*parts):
        for part in parts:
            data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogateescape")
            digest.update(b"%d:" % len(data) + data)

    feed("layout", VENV_LAYOUT, "plugin", __version__, "python", interp.executable, interp.version)
    feed("plugin source", plugin.identity if plugin is not None else "")
    feed("install", *install_args)   # names the project's folder when it is installed
    for name, text in dependency_set(project) + _requirement_files(install_args, project):
        feed(name, text)
    return digest.hexdigest()[:16]


def _read_marker(venv: Path) -> Optional[dict]:
    try:
        return json.loads((venv / VENV_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_venv(interp: PythonCommand, options: RunOptions, run: Callable[[List[str], str], int]
                ) -> Path:
    """The cached venv for ``interp`` (built when absent or stale); returns its python.

    ``run(argv, label)`` runs one build command and returns its exit status.
    The venv is built under a temporary name and renamed into place, so an
    interrupted build is never reused and concurrent builders do not collide.
    """
    project = options.project.resolve()
    plugin = plugin_source(options)
    plugin_args = _plugin_arguments(project, options)
    project_args = _project_arguments(project, options)
    install = plugin_args + project_args
    key = venv_key(project, interp, install, plugin)
    root = options.venv_dir
    final = root / ("%s-%s" % (interp.tag, key))
    marker = _read_marker(final)
    if marker is not None and marker.get("key") == key and venv_python(final).exists():
        return venv_python(final)
    root.mkdir(parents=True, exist_ok=True)
    building = root / ("%s.building-%d-%d" % (final.name, os.getpid(), threading.get_ident()))
    shutil.rmtree(str(building), ignore_errors=True)
    try:
        if venv_seed.create_venv(interp, root, building, run) != 0:
            raise VenvBuildError("`%s -m venv` failed (see the log)" % interp.command)
        pip = [str(venv_python(building)), "-m", "pip", "install", "--disable-pip-version-check"]
        # the plugin first, on its own: a failure there is the plugin source's, said once
        if run(pip + plugin_args, "pip install " + " ".join(_short(a) for a in plugin_args)) != 0:
            raise PluginInstallError(plugin.install_failed())
        if project_args and run(pip + project_args, "pip install " + " ".join(
                _short(a) for a in project_args)) != 0:
            raise VenvBuildError("installing into the venv failed: pip install %s (see the log)"
                                 % " ".join(project_args))
        (building / VENV_MARKER).write_text(json.dumps({
            "key": key, "project": str(project), "interpreter": interp.executable,
            "python_version": interp.version, "plugin_version": __version__, "install": install,
            "plugin_source": plugin.identity,
        }, indent=1, sort_keys=True), encoding="utf-8")
        _move_into_place(building, final, key)
    finally:
        shutil.rmtree(str(building), ignore_errors=True)
    _prune_stale(root, interp, project, keep=final)
    return venv_python(final)


def _short(arg: str) -> str:
    return os.path.basename(arg.rstrip("/\\")) if os.path.sep in arg else arg


def _move_into_place(building: Path, final: Path, key: str) -> None:
    for _attempt in range(2):
        try:
            os.rename(str(building), str(final))
            return
        except OSError:
            marker = _read_marker(final)
            if marker is not None and marker.get("key") == key:
                return  # another run built the same venv first: use it
            shutil.rmtree(str(final), ignore_errors=True)
    raise RunnerError("cannot move the new venv to %s" % final)


def _prune_stale(root: Path, interp: PythonCommand, project: Path, keep: Path) -> None:
    """Remove this project's older venvs of the same interpreter (their key no longer matches)."""
    for candidate in root.glob(interp.tag + "-*"):
        if candidate == keep or ".building-" in candidate.name:
            continue
        marker = _read_marker(candidate)
        if marker and marker.get("project") == str(project) and marker.get(
                "interpreter") == interp.executable:
            shutil.rmtree(str(candidate), ignore_errors=True)


def ensure_state_dir(path: Path) -> None:
    """Create the state folder with a .gitignore that keeps it out of version control."""
    path.mkdir(parents=True, exist_ok=True)
    gitignore = path / ".gitignore"
    if not gitignore.exists():
        try:
            gitignore.write_text("# created by serialcompat matrix\n*\n", encoding="utf-8")
        except OSError:
            pass
