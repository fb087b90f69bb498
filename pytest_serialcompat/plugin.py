"""pytest entry point for pytest-serialcompat: hooks and options only.

Nothing costly happens unless ``--serialcompat``, ``--serialcompat-update``
or ``--serialcompat-prune`` is given: the fixture's ``check()`` returns at
once, no sample items are collected and the run-time hooks are not even
registered.
"""

from pathlib import Path

import pytest

from . import hookspecs, settings as settings_module, summary, xdist_support
from .store import report
from .fixture import STATE_KEY, get_state, serialcompat  # noqa: F401  (registers the fixture)
from .ownership import CollectionWatcher, explicit_paths_reason
from .session import REPORT_ATTRIBUTE, SessionState


def pytest_addoption(parser):
    settings_module.add_options(parser)


def pytest_addhooks(pluginmanager):
    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config):
    try:
        resolved = settings_module.resolve(config)
    except settings_module.SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    state = SessionState(config, resolved)
    setattr(config, STATE_KEY, state)
    if resolved.active:
        config.pluginmanager.register(RunHooks(state), "serialcompat-run")
        config.pluginmanager.register(
            CollectionWatcher(state.collection, config, state.store.root), "serialcompat-collection")
        xdist_support.register(config, state)


def pytest_report_header(config):
    state = get_state(config)
    if state is None or not state.settings.active:
        return None
    return "serialcompat: %s on %s, store %s" % (
        summary.mode_text(state.settings), state.interpreter.tag, state.store.root)


def pytest_ignore_collect(collection_path, config):
    """The golden store holds no tests: never walk its (many) files."""
    state = get_state(config)
    if state is not None and collection_path.name == state.store.root.name and Path(
            str(collection_path)) == state.store.root:
        return True
    return None


class RunHooks:
    """Hooks of an active run (registered only with --serialcompat / --serialcompat-update)."""

    def __init__(self, state):
        self.state = state

    # -------------------------------------------------------------- samples
    def pytest_collect_file(self, file_path, parent):
        if file_path.name != "pyproject.toml":
            return None
        from . import samples

        if Path(str(file_path)) == samples.pyproject_path(parent.config) and samples.has_samples(
                parent.config):
            return samples.SamplesFile.from_parent(parent, path=Path(str(file_path)))
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        """Trust the collected test modules; add sample items (before -k/-m deselection)."""
        from . import samples

        modules = {getattr(getattr(item, "module", None), "__name__", None) for item in items}
        self.state.add_project_modules(m for m in modules if m)
        if any(isinstance(item, samples.SampleItem) for item in items):
            return
        if explicit_paths_reason(config) is not None or not samples.has_samples(config):
            return  # explicit paths or node ids: no samples behind the user's back
        collector = samples.SamplesFile.from_parent(session, path=samples.pyproject_path(config))
        report = collector.ihook.pytest_make_collect_report(collector=collector)
        collector.ihook.pytest_collectreport(report=report)
        if report.passed:
            items.extend(node for node in report.result if isinstance(node, pytest.Item))

    # -------------------------------------------------------------- running
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        wire = self.state.drain(item.nodeid)
        if wire is not None:
            setattr(outcome.get_result(), REPORT_ATTRIBUTE, wire)

    def pytest_runtest_logreport(self, report):
        if self.state.is_writer:
            self.state.consume(report)

    # -------------------------------------------------------------- the end
    def pytest_sessionfinish(self, session, exitstatus):
        state = self.state
        state.finish(exitstatus)
        if state.is_writer:
            try:
                report.write_report(state)
            except OSError as exc:
                state.write_errors.append("report %s: %s" % (state.settings.report_path, exc))

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        summary.write_terminal(terminalreporter, self.state)
