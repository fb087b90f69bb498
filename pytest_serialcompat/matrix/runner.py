"""Run ``pytest --serialcompat`` in several environments in parallel, for the compatibility matrix.

An environment is either a tox env of the project (``tox run -e py38 -- ARGS``;
the project's tox.ini must hand ``{posargs}`` to pytest) or an interpreter run
directly (``--python python3.8``) in a throwaway virtual environment holding
the project (editable), pytest and this plugin.  Those virtual environments are
cached under ``.serialcompat/venvs/`` (or ``--venv-dir``), keyed by a hash of
the project's packaging files, its location, the plugin and the interpreter,
and reused while none of that changes.

Each environment writes a ``--serialcompat-report`` file and a log; the
outcome of each (elapsed time, missing report, missing interpreter) is an
:class:`matrix_tables.EnvStatus`.  ``matrix_tables`` merges the reports.

Data model first (:class:`Interpreter`, :class:`EnvPlan`, :class:`Phase`,
:class:`RunOptions`, :class:`EnvOutcome`), then the pieces: interpreter
probing, the venv cache, command lines, the progress display and the parallel
runner.
"""

import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

from .. import __version__
from ..environment import ci_variable, interpreter_tag
from .tables import ENV_ERROR, ENV_MISSING, ENV_OK, EnvStatus, ReportError, load_report

STATE_DIR = ".serialcompat"            # under the project: venvs/, matrix/ (reports and logs)
VENVS_SUBDIR = "venvs"
REPORTS_SUBDIR = "matrix"
VENV_MARKER = "serialcompat-venv.json"
VENV_LAYOUT = 1                        # bump when the way venvs are built changes
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
INSTALLABLE_MARKERS = (
    ("pyproject.toml", re.compile(r"^\s*\[(project|build-system)\]", re.M)),
    ("setup.cfg", re.compile(r"^\s*\[metadata\]", re.M)),
)
DISTRIBUTION = "pytest-serialcompat"
TOX_ENV_PATTERN = re.compile(r"py3\d{1,2}\Z")
MISSING_INTERPRETER_TEXT = "could not find python interpreter"
PLUGIN_MISSING_TEXT = "unrecognized arguments"
PYTEST_STARTED_TEXT = "test session starts"
UPDATE_REFUSED_TEXT = "--serialcompat-update refused"
# pytest exit statuses of a complete run (tox hands pytest's status through), with a remark
PYTEST_COMPLETE = {0: "", 1: "", 5: "no tests collected"}
PROBE_CODE = (
    "import platform, sys; "
    "print(sys.implementation.name); print(platform.python_version()); "
    "print('%d.%d' % sys.version_info[:2]); print(sys.executable)"
)
PROBE_TIMEOUT = 60
LOG_TAIL_LINES = 15
PROGRESS_INTERVAL = 0.2
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Variables that would make a child interpreter use another environment.
SCRUBBED_VARIABLES = ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "__PYVENV_LAUNCHER__")

TOX, PYTHON = "tox", "python"


class RunnerError(Exception):
    """A matrix run that cannot start (no tox, no environments, bad option)."""


# ----------------------------------------------------------------------------
# Data model


class Interpreter(NamedTuple):
    command: str          # as given: "python3.8" or a path
    executable: str       # the real interpreter (sys.executable of the probe)
    implementation: str   # "cpython"
    version: str          # "3.8.18"
    tag: str              # "cpython3.8"


class EnvPlan(NamedTuple):
    name: str                              # "py38" (tox) or "cpython3.8" (python)
    kind: str                              # TOX or PYTHON
    explicit: bool                         # chosen on the command line (missing => failure)
    interpreter: Optional[Interpreter] = None
    problem: str = ""                      # why it cannot run (interpreter not found)


class Phase(NamedTuple):
    name: str                 # "record" / "replay"
    pytest_args: tuple        # the plugin's options for this phase


RECORD = Phase("record", ("--serialcompat-update",))
REPLAY = Phase("replay", ("--serialcompat",))


class RunOptions(NamedTuple):
    project: Path
    reports_dir: Path
    venv_dir: Path
    tox_command: Sequence[str] = ()
    jobs: int = 0                         # 0: os.cpu_count()
    pytest_args: Sequence[str] = ()       # extra pytest arguments, after ours
    extras: Sequence[str] = ()            # project extras installed in throwaway venvs
    requirements: Sequence[str] = ()      # more requirements for throwaway venvs
    plugin_source: Optional[str] = None   # path or requirement for the plugin in throwaway venvs
    allow_update_in_ci: bool = False
    timeout: Optional[float] = None       # seconds per environment and phase


class EnvOutcome(NamedTuple):
    plan: EnvPlan
    phase: str
    state: str                    # ENV_OK / ENV_ERROR / ENV_MISSING
    elapsed: float
    returncode: Optional[int]
    report: Optional[Path]        # the report file, when one was written
    log: Optional[Path]
    message: str = ""
    python_version: str = ""
    tag: str = ""
    details: str = ""             # the log's last lines, for errors

    def status(self, required_missing: bool) -> EnvStatus:
        return EnvStatus(
            name=self.plan.name, state=self.state, elapsed=self.elapsed,
            interpreter=self.python_version, message=self.message,
            report=str(self.report) if self.report else "",
            required=self.plan.explicit or required_missing, tag=self.tag, details=self.details)


# ----------------------------------------------------------------------------
# Interpreters


def probe_interpreter(command: str, environ: Optional[Dict[str, str]] = None) -> Interpreter:
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
    return Interpreter(command, executable, impl, version, interpreter_tag(impl, (major, minor)))


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


# ----------------------------------------------------------------------------
# tox


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


# ----------------------------------------------------------------------------
# Throwaway virtual environments


def plugin_requirement(explicit: Optional[str] = None) -> List[str]:
    """pip arguments that install this plugin: its source checkout (editable) or this version."""
    if explicit:
        path = Path(explicit)
        if path.is_dir():
            return ["-e", str(path.resolve())]
        return [explicit]
    root = source_root()
    if root is not None:
        return ["-e", str(root)]
    return ["%s==%s" % (DISTRIBUTION, __version__)]


def source_root() -> Optional[Path]:
    """The checkout this plugin runs from, when it is one (a pyproject.toml naming the project)."""
    root = Path(__file__).resolve().parent.parent
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if re.search(r'^name\s*=\s*"%s"' % re.escape(DISTRIBUTION), text, re.M) else None


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


def _install_arguments(project: Path, options: RunOptions) -> List[str]:
    """pip arguments of a throwaway venv: the project (editable, when it is a package), pytest,
    the plugin and any extra requirements.  A project that is no package is tested from its
    folder (pytest runs there, and `python -m pytest` puts it on sys.path)."""
    args: List[str] = []
    plugin = plugin_requirement(options.plugin_source)
    has_packaging = installable(project)
    if has_packaging:
        extras = "[%s]" % ",".join(options.extras) if options.extras else ""
        args += ["-e", str(project) + extras]
    args.append("pytest")
    if not (plugin[0] == "-e" and Path(plugin[1]) == project.resolve() and has_packaging):
        args += plugin
    args += list(options.requirements)
    return args


def venv_key(project: Path, interp: Interpreter, install_args: Sequence[str]) -> str:
    """Hash of everything a throwaway venv depends on: the interpreter, the plugin, what is
    installed (with the project's folder when it is installed) and the packaging files."""
    digest = hashlib.sha256()

    def feed(*parts):
        for part in parts:
            data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogateescape")
            digest.update(b"%d:" % len(data) + data)

    feed("layout", VENV_LAYOUT, "plugin", __version__, "python", interp.executable, interp.version)
    feed("install", *install_args)   # names the project's folder when it is installed
    for name in PROJECT_FILES:
        try:
            feed(name, (project / name).read_bytes())
        except OSError:
            feed(name, "absent")
    return digest.hexdigest()[:16]


def _read_marker(venv: Path) -> Optional[dict]:
    try:
        return json.loads((venv / VENV_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_venv(interp: Interpreter, options: RunOptions, run: Callable[[List[str], str], int]
                ) -> Path:
    """The cached venv for ``interp`` (built when absent or stale); returns its python.

    ``run(argv, label)`` runs one build command and returns its exit status.
    The venv is built under a temporary name and renamed into place, so an
    interrupted build is never reused and concurrent builders do not collide.
    """
    project = options.project.resolve()
    install = _install_arguments(project, options)
    key = venv_key(project, interp, install)
    root = options.venv_dir
    final = root / ("%s-%s" % (interp.tag, key))
    marker = _read_marker(final)
    if marker is not None and marker.get("key") == key and venv_python(final).exists():
        return venv_python(final)
    root.mkdir(parents=True, exist_ok=True)
    building = root / ("%s.building-%d-%d" % (final.name, os.getpid(), threading.get_ident()))
    shutil.rmtree(str(building), ignore_errors=True)
    try:
        if run([interp.executable, "-m", "venv", str(building)], "creating a venv") != 0:
            raise RunnerError("`%s -m venv` failed (see the log)" % interp.command)
        pip = [str(venv_python(building)), "-m", "pip", "install", "--disable-pip-version-check"]
        if run(pip + install, "pip install " + " ".join(_short(a) for a in install)) != 0:
            raise RunnerError("installing into the venv failed: pip install %s (see the log)"
                              % " ".join(install))
        (building / VENV_MARKER).write_text(json.dumps({
            "key": key, "project": str(project), "interpreter": interp.executable,
            "python_version": interp.version, "plugin_version": __version__, "install": install,
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


def _prune_stale(root: Path, interp: Interpreter, project: Path, keep: Path) -> None:
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


# ----------------------------------------------------------------------------
# Subprocesses


def child_environment(keep_venv: bool = False) -> Dict[str, str]:
    environ = dict(os.environ)
    # Run inside a tox env (e.g. from the project's own test suite), tox exports
    # TOX_WORK_DIR, TOX_ENV_DIR, ...; tox reads TOX_<OPTION> as options, so a
    # child tox would reuse -- and recreate -- the outer tox's environments.
    for name in list(environ):
        if name.startswith("TOX_"):
            del environ[name]
    if not keep_venv:
        for name in SCRUBBED_VARIABLES:
            environ.pop(name, None)
    environ.setdefault("PYTHONIOENCODING", "utf-8")
    return environ


def tail_text(text: str, lines: int = LOG_TAIL_LINES) -> str:
    kept = [line for line in ANSI_ESCAPE.sub("", text).splitlines() if line.strip()]
    return "\n".join("    " + line for line in kept[-lines:])


def last_line(data: bytes) -> str:
    """The last non-empty line of some output, without colours (for the progress line)."""
    text = ANSI_ESCAPE.sub("", data.decode("utf-8", "replace")).replace("\r", "\n")
    for line in reversed(text.split("\n")):
        if line.strip():
            return line.strip()
    return ""


class Children:
    """The subprocesses this run started, so an interrupt can end exactly them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._procs: List[subprocess.Popen] = []
        self.stopping = False

    def add(self, proc) -> None:
        with self._lock:
            self._procs.append(proc)

    def remove(self, proc) -> None:
        with self._lock:
            if proc in self._procs:
                self._procs.remove(proc)

    def terminate_all(self) -> None:
        self.stopping = True
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


def run_streaming(argv: List[str], cwd: Path, environ: Dict[str, str], log, on_output,
                  children: Children, timeout: Optional[float] = None) -> int:
    """Run ``argv``, copy its output to ``log``, report its last line; returns the exit status."""
    log.write(("$ %s\n" % " ".join(shlex.quote(a) for a in argv)).encode("utf-8"))
    log.flush()
    if children.stopping:
        return -1
    try:
        proc = subprocess.Popen(argv, cwd=str(cwd), env=environ, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    except OSError as exc:
        log.write(("cannot start: %s\n" % exc).encode("utf-8"))
        return 127
    children.add(proc)
    timer = None
    if timeout:
        timer = threading.Timer(timeout, proc.kill)
        timer.daemon = True
        timer.start()
    tail = b""
    try:
        fd = proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            log.write(chunk)
            log.flush()
            tail = (tail + chunk)[-2048:]
            on_output(last_line(tail))
        return proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
        proc.stdout.close()
        children.remove(proc)


# ----------------------------------------------------------------------------
# Progress


class Progress:
    """One line per environment, redrawn in place on a terminal; plain lines otherwise."""

    def __init__(self, stream, names: Sequence[str], live: bool):
        self.stream = stream
        self.names = list(names)
        self.live = live
        self.width = max([len(n) for n in self.names] + [4])
        self._lock = threading.Lock()
        self._state: Dict[str, List] = {n: ["waiting", "", None, None] for n in self.names}
        self._drawn = 0
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.live:
            self._draw()
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._draw()

    def _loop(self):
        while not self._stop.wait(PROGRESS_INTERVAL):
            self._draw()

    def start(self, name: str, what: str) -> None:
        with self._lock:
            state = self._state[name]
            state[0], state[1] = what, ""
            if state[2] is None:
                state[2] = time.monotonic()
        if not self.live:
            self._plain("%s: %s" % (name.ljust(self.width), what))

    def output(self, name: str, line: str) -> None:
        with self._lock:
            self._state[name][1] = line

    def done(self, name: str, text: str, elapsed: float) -> None:
        with self._lock:
            state = self._state[name]
            state[0], state[1], state[3] = text, "", elapsed
        if not self.live:
            self._plain("%s: %s (%.1f s)" % (name.ljust(self.width), text, elapsed))

    def _plain(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _line(self, name: str, columns: int) -> str:
        what, last, started, elapsed = self._state[name]
        if elapsed is None and started is not None:
            elapsed = time.monotonic() - started
        seconds = "%6.1f s" % elapsed if elapsed is not None else " " * 8
        text = "%s %s  %s" % (name.ljust(self.width), seconds, what)
        if last:
            text += "  | " + last
        return text[:max(columns - 1, 20)]

    def _draw(self) -> None:
        columns = shutil.get_terminal_size((100, 20)).columns
        with self._lock:
            lines = [self._line(n, columns) for n in self.names]
            buffer = ""
            if self._drawn:
                buffer += "\x1b[%dA" % self._drawn
            buffer += "".join("\r\x1b[2K" + line + "\n" for line in lines)
            self._drawn = len(lines)
            self.stream.write(buffer)
            self.stream.flush()


# ----------------------------------------------------------------------------
# Running one environment


class EnvRunner:
    """Runs the phases of one environment; shared by the thread pool."""

    def __init__(self, options: RunOptions, progress: Progress, children: Children):
        self.options = options
        self.progress = progress
        self.children = children

    def report_path(self, plan: EnvPlan, phase: Phase) -> Path:
        return self.options.reports_dir / ("%s.%s.json" % (plan.name, phase.name))

    def pytest_args(self, plan: EnvPlan, phase: Phase) -> List[str]:
        args = list(phase.pytest_args)
        if phase is RECORD and self.options.allow_update_in_ci:
            args.append("--serialcompat-allow-update-in-ci")
        args.append("--serialcompat-report=%s" % self.report_path(plan, phase))
        return args + list(self.options.pytest_args)

    def run(self, plan: EnvPlan, phase: Phase) -> EnvOutcome:
        started = time.monotonic()
        log_path = self.options.reports_dir / ("%s.%s.log" % (plan.name, phase.name))
        report = self.report_path(plan, phase)
        if plan.problem:
            outcome = EnvOutcome(plan, phase.name, ENV_MISSING, 0.0, None, None, None, plan.problem)
            self.progress.done(plan.name, "interpreter not found", 0.0)
            return outcome
        try:
            report.unlink()
        except FileNotFoundError:
            pass
        try:
            with open(str(log_path), "wb") as log:
                returncode, problem = self._run(plan, phase, log), None
        except (RunnerError, OSError) as exc:
            returncode, problem = None, str(exc)
        elapsed = time.monotonic() - started
        outcome = self._conclude(plan, phase, returncode, problem, report, log_path, elapsed)
        self.progress.done(plan.name, "%s %s" % (phase.name, _outcome_word(outcome)), elapsed)
        return outcome

    def _run(self, plan: EnvPlan, phase: Phase, log) -> int:
        options = self.options

        def step(argv, label, environ):
            self.progress.start(plan.name, label)
            return run_streaming(argv, options.project, environ, log,
                                 lambda line: self.progress.output(plan.name, line),
                                 self.children, options.timeout)

        if plan.kind == TOX:
            argv = tox_run_argv(options.tox_command, plan.name, self.pytest_args(plan, phase))
            return step(argv, "%s (tox)" % phase.name, child_environment(keep_venv=True))
        environ = child_environment()
        python = ensure_venv(plan.interpreter, options, lambda argv, label: step(
            argv, label, environ))
        argv = [str(python), "-m", "pytest"] + self.pytest_args(plan, phase)
        return step(argv, "%s (pytest)" % phase.name, environ)

    def _conclude(self, plan, phase, returncode, problem, report, log_path, elapsed) -> EnvOutcome:
        log_text = _read_text(log_path)

        def outcome(state, message, report_path=None, version="", tag="", details=""):
            return EnvOutcome(plan, phase.name, state, elapsed, returncode, report_path, log_path,
                              message, version, tag, details)

        if problem is None and plan.kind == TOX and MISSING_INTERPRETER_TEXT in log_text:
            return outcome(ENV_MISSING, "tox could not find the interpreter of %s (log %s)"
                           % (plan.name, log_path))
        if problem is None and report.is_file():
            try:
                loaded = load_report(report)
            except ReportError as exc:
                problem = "the report is unusable: %s" % exc
            else:
                version = str(loaded.interpreter.get("python_version", ""))
                if returncode in PYTEST_COMPLETE:
                    return outcome(ENV_OK, PYTEST_COMPLETE[returncode], report, version, loaded.tag)
                return outcome(ENV_ERROR, "pytest exit status %s (an interruption, collection or "
                               "internal error): the results may be incomplete" % returncode,
                               report, version, loaded.tag, details="log %s, last lines:\n%s" % (
                                   log_path, tail_text(log_text)))
        if problem is None:
            problem = self._missing_report(plan, returncode, report, elapsed, log_text)
        return outcome(ENV_ERROR, problem, details="log %s, last lines:\n%s" % (
            log_path, tail_text(log_text)))

    def _missing_report(self, plan, returncode, report, elapsed, log_text) -> str:
        """Why an environment finished without writing its report, as precisely as the log tells."""
        timeout = self.options.timeout
        if self.children.stopping:
            return "interrupted"
        if timeout and elapsed >= timeout:
            return "stopped after the %.0f s timeout" % timeout
        if UPDATE_REFUSED_TEXT in log_text:
            return ("the plugin refused to record: a CI environment was detected; pass "
                    "--allow-update-in-ci to record anyway")
        if PLUGIN_MISSING_TEXT in log_text and "--serialcompat" in log_text:
            return ("pytest does not know --serialcompat: pytest-serialcompat is not installed in "
                    "%s%s" % (plan.name, " (add it to the env's deps in tox.ini)"
                              if plan.kind == TOX else ""))
        if plan.kind == TOX and PYTEST_STARTED_TEXT in log_text:
            return ("tox env %s ran pytest (exit %s) but no report was written to %s: the env's "
                    "commands must hand the matrix's options to pytest, i.e. "
                    "`commands = pytest {posargs}` in tox.ini" % (plan.name, returncode, report))
        return "%s exited %s without writing %s" % (
            "tox" if plan.kind == TOX else "pytest", returncode, report)


def _outcome_word(outcome: EnvOutcome) -> str:
    if outcome.state == ENV_OK:
        return "done" if outcome.returncode == 0 else "done (exit %s)" % outcome.returncode
    if outcome.state == ENV_MISSING:
        return "skipped: interpreter not found"
    return "ERROR (see %s)" % outcome.log


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


# ----------------------------------------------------------------------------
# Running everything


def max_parallel(options: RunOptions, count: int) -> int:
    limit = options.jobs or os.cpu_count() or 1
    return max(1, min(limit, count))


def run_phase(plans: Sequence[EnvPlan], phase: Phase, options: RunOptions, progress: Progress,
              children: Children) -> List[EnvOutcome]:
    """Run one phase in every environment, at most ``jobs`` at once; outcomes in plan order."""
    runner = EnvRunner(options, progress, children)
    workers = max_parallel(options, len(plans))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(runner.run, plan, phase) for plan in plans]
        try:
            while not all(f.done() for f in futures):
                time.sleep(PROGRESS_INTERVAL)
        except KeyboardInterrupt:
            children.terminate_all()
            raise
        return [f.result() for f in futures]


def prepare_tox(plans: Sequence[EnvPlan], options: RunOptions, progress: Progress,
                children: Children) -> Optional[str]:
    """Create the tox envs and install the package once; returns a problem text or None."""
    envs = [p.name for p in plans if p.kind == TOX]
    if not envs:
        return None
    log_path = options.reports_dir / "tox-prepare.log"
    for name in envs:
        progress.start(name, "preparing the tox envs")

    def show(line):
        for name in envs:
            progress.output(name, line)

    argv = tox_prepare_argv(options.tox_command, envs, max_parallel(options, len(envs)))
    with open(str(log_path), "wb") as log:
        returncode = run_streaming(argv, options.project, child_environment(keep_venv=True), log,
                                   show, children, options.timeout)
    if returncode != 0:
        return "`%s` exited %d (log %s)" % (" ".join(argv), returncode, log_path)
    return None


class MatrixRun(NamedTuple):
    statuses: List[EnvStatus]                 # one per environment, in plan order
    reports: List[Path]                       # replay reports written
    recorded: Dict[str, Dict[str, int]]       # env -> {"new": n, "changed": n, "up to date": n}
    notes: List[str]                          # run-wide remarks (the tox prepare step)


def run_matrix(plans: Sequence[EnvPlan], options: RunOptions, record: bool, stream,
               live: bool) -> MatrixRun:
    """Run (record, then) replay in every environment.

    An environment's elapsed time sums its phases; a problem in any phase
    makes it an error (with the reason and the log's last lines).
    """
    options.reports_dir.mkdir(parents=True, exist_ok=True)
    children = Children()
    phases = [RECORD, REPLAY] if record else [REPLAY]
    outcomes: Dict[str, List[EnvOutcome]] = {p.name: [] for p in plans}
    notes = []
    with Progress(stream, [p.name for p in plans], live) as progress:
        started = time.monotonic()
        try:
            prepare_problem = prepare_tox(plans, options, progress, children)
        except KeyboardInterrupt:
            children.terminate_all()
            raise
        if any(p.kind == TOX for p in plans):
            notes.append("tox envs prepared (created, package installed) in %.1f s%s" % (
                time.monotonic() - started, ": " + prepare_problem if prepare_problem else ""))
        runnable = list(plans)
        for phase in phases:
            for outcome in run_phase(runnable, phase, options, progress, children):
                outcomes[outcome.plan.name].append(outcome)
            # an interpreter missing in one phase is missing in the next
            runnable = [p for p in runnable if outcomes[p.name][-1].state != ENV_MISSING]
    required_missing = ci_variable() is not None
    statuses, reports, recorded = [], [], {}
    for plan in plans:
        done = outcomes[plan.name]
        last = done[-1]
        status = last.status(required_missing)
        messages = [status.message] + ["%s: %s" % (o.phase, o.message) for o in done[:-1]
                                       if o.message]
        state = ENV_ERROR if any(o.state == ENV_ERROR for o in done) else status.state
        statuses.append(status._replace(
            elapsed=sum(o.elapsed for o in done), state=state,
            message="; ".join(m for m in messages if m),
            details="\n".join(o.details for o in done if o.details)))
        if last.phase == REPLAY.name and last.report is not None:
            reports.append(last.report)
        for outcome in done:
            if outcome.phase == RECORD.name and outcome.report is not None:
                recorded[plan.name] = recorded_counts(outcome.report)
    return MatrixRun(statuses, reports, recorded, notes)


def recorded_counts(path: Path) -> Dict[str, int]:
    """What one recording run did: goldens "new", "changed" and "up to date"."""
    try:
        report = load_report(path)
    except ReportError:
        return {}
    tally: Dict[str, int] = {}
    for result in report.results:
        if result.status == "recorded":
            key = result.detail or "recorded"
        elif result.status == "checked" and result.producer == report.tag:
            key = "up to date"
        else:
            continue
        tally[key] = tally.get(key, 0) + 1
    return tally
