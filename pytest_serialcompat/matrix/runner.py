"""Run ``pytest --serialcompat`` in several environments in parallel, for the compatibility matrix.

One :class:`EnvRunner` per environment (prepare, record, replay), the phases
run in parallel, and :func:`run_matrix` for the whole run.  The reports are
merged into tables by :mod:`.build`.
"""

import concurrent.futures
import os
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

from ..environment import ci_variable
from .model import ENV_ERROR, ENV_MISSING, ENV_OK, EnvStatus
from ..store.report import ReportError, load_report
from .plans import (
    EnvOutcome, EnvPlan, Phase, PYTHON, RECORD, REPLAY, RunOptions, RunnerError, TOX,
)
from .environments import (
    PluginInstallError, VenvBuildError, ensure_venv, tox_prepare_argv, tox_run_argv,
)
from .plugin_source import WHEEL_FOLDER, resolve as resolve_plugin
from .processes import (
    Children, PROGRESS_INTERVAL, Progress, child_environment, run_streaming, tail_text,
)


MISSING_INTERPRETER_TEXT = "could not find python interpreter"


PLUGIN_MISSING_TEXT = "unrecognized arguments"


PYTEST_STARTED_TEXT = "test session starts"


UPDATE_REFUSED_TEXT = "--serialcompat-update refused"


# pytest exit statuses of a complete run (tox hands pytest's status through), with a remark
PYTEST_COMPLETE = {0: "", 1: "", 5: "no tests collected"}


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
        build_failed, plugin_problem = False, ""
        try:
            with open(str(log_path), "wb") as log:
                returncode, problem = self._run(plan, phase, log), None
        except PluginInstallError as exc:
            returncode, build_failed, plugin_problem = None, True, str(exc)
            problem = "its venv was not built: the plugin could not be installed (see the note)"
        except VenvBuildError as exc:
            returncode, problem, build_failed = None, str(exc), True
        except (RunnerError, OSError) as exc:
            returncode, problem = None, str(exc)
        elapsed = time.monotonic() - started
        outcome = self._conclude(plan, phase, returncode, problem, report, log_path, elapsed)
        outcome = outcome._replace(build_failed=build_failed, plugin_problem=plugin_problem)
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

    def _conclude(self, plan, phase, returncode, problem, report, log_path, elapsed
                  ) -> EnvOutcome:
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
    if options.plugin is None and any(p.kind == PYTHON and not p.problem for p in plans):
        # once for the run: every venv installs the same plugin (RunnerError when none can be had)
        options = options._replace(plugin=resolve_plugin(
            options.plugin_source, options.venv_dir / WHEEL_FOLDER))
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
            # an interpreter missing in one phase is missing in the next; a venv that could
            # not be built is not built again
            runnable = [p for p in runnable if outcomes[p.name][-1].state != ENV_MISSING
                        and not outcomes[p.name][-1].build_failed]
        for problem in sorted({o.plugin_problem for done in outcomes.values() for o in done
                               if o.plugin_problem}):
            notes.append(problem)
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
