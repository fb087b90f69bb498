"""Which tests of the whole suite could own a golden, and whether this run knows them all.

A golden is *unused* only when no test of the suite could ask for it.  A run
knows that only when it saw every test the suite has: nothing was left out of
collection (``--ignore``, ``--ignore-glob``, ``collect_ignore`` and
``collect_ignore_glob`` in a conftest, a plugin's ``pytest_ignore_collect``),
and every test dropped after collection (``-k``, ``-m``, ``--deselect``, a
plugin calling ``pytest_deselected`` or removing items in
``pytest_collection_modifyitems``) is still counted as an owner.

Under pytest-xdist the controller collects nothing: each worker reports what
it collected, deselected and left out (``workeroutput``), and a worker that
never reports makes ownership unknown.  Pruning then refuses: losing a golden
a test still owns is the worst thing this tool can do.

What cannot be seen: a conftest that drops items in a hook wrapper around
ours, or after collection has finished.
"""

import fnmatch
from pathlib import Path
from typing import Dict, Optional, Set

import pytest

WORKER_OUTPUT_KEY = "serialcompat_collection"
MAX_NAMED = 3


def explicit_paths_reason(config) -> Optional[str]:
    """Why the paths or node ids given on the command line cover less than the whole suite."""
    rootpath = Path(str(config.rootpath)).resolve()
    kind = getattr(getattr(config, "args_source", None), "name", None)
    invocation = Path(str(config.invocation_params.dir)).resolve()
    if kind == "TESTPATHS":
        return None
    if kind == "INVOCATION_DIR":
        return None if invocation == rootpath else "run from %s" % invocation
    testpaths = {(rootpath / p).resolve() for p in config.getini("testpaths")}
    for arg in config.args:
        if "::" in arg:
            return "node id %s" % arg
        path = (invocation / arg).resolve()
        if path != rootpath and path not in testpaths:
            return "path %s" % arg
    return None


def option_reason(config) -> Optional[str]:
    """Why the command line selects less than the whole suite (None when it selects all)."""
    option = config.option
    if getattr(option, "keyword", ""):
        return "-k %s" % option.keyword
    if getattr(option, "markexpr", ""):
        return "-m %s" % option.markexpr
    if getattr(option, "lf", False):
        return "--lf"
    if getattr(option, "deselect", None):
        return "--deselect"
    if getattr(option, "stepwise", False) or getattr(option, "stepwise_skip", False):
        return "--stepwise"
    for name, flag in (("ignore", "--ignore"), ("ignore_glob", "--ignore-glob")):
        values = getattr(option, name, None)
        if values:
            return "%s %s" % (flag, " ".join(str(v) for v in values))
    return explicit_paths_reason(config)


def _named(paths, total: int) -> str:
    shown = ", ".join(sorted(paths)[:MAX_NAMED])
    return shown + (" and %d more" % (total - MAX_NAMED) if total > MAX_NAMED else "")


def _is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file() or (path / "conda-meta" / "history").is_file()


def _matches(patterns, path: Path) -> bool:
    """fnmatch on the name for plain patterns, on the whole path for patterns with a separator."""
    for pattern in patterns:
        target = str(path) if "/" in pattern or "\\" in pattern else path.name
        if fnmatch.fnmatch(target, pattern):
            return True
    return False


class Collection:
    """What one process learned about the suite's collection (merged from workers on xdist)."""

    def __init__(self):
        self.collected: Set[str] = set()    # every item seen, including ones dropped later
        self.left_out: Set[str] = set()     # paths that could hold tests, ignored by collection
        self.dropped: Set[str] = set()      # items removed after collection (deselected)
        self.workers: Set[str] = set()      # xdist workers that collected
        self.reported: Set[str] = set()     # ... and reported what they saw

    def to_wire(self) -> dict:
        return {"collected": sorted(self.collected), "left_out": sorted(self.left_out),
                "dropped": sorted(self.dropped)}

    def merge_wire(self, wire: dict) -> None:
        self.collected.update(wire.get("collected", ()))
        self.left_out.update(wire.get("left_out", ()))
        self.dropped.update(wire.get("dropped", ()))

    def partial_reason(self, config) -> Optional[str]:
        """Why this run cannot tell which goldens the suite owns (None for a full run)."""
        reason = option_reason(config)
        if reason is not None:
            return reason
        missing = sorted(self.workers - self.reported)
        if missing:
            return ("xdist worker %s ended without reporting which tests it collected, so the "
                    "owners of some goldens are unknown" % ", ".join(missing))
        if self.left_out:
            return "collection left out %s (collect_ignore, --ignore-glob or a plugin)" % _named(
                self.left_out, len(self.left_out))
        if self.dropped:
            return "%d test(s) deselected by a plugin or conftest (e.g. %s)" % (
                len(self.dropped), _named(self.dropped, len(self.dropped)))
        return None


class CollectionWatcher:
    """Hooks that fill a :class:`Collection` (registered with the run hooks)."""

    def __init__(self, collection: Collection, config, store_root: Path):
        self.collection = collection
        self.config = config
        self.store_root = Path(str(store_root))

    def _may_hold_tests(self, path: Path) -> bool:
        """Whether collection leaving ``path`` out hides tests (not pytest's own skips)."""
        config = self.config
        if path.name == "__pycache__" or path == self.store_root:
            return False
        if path.is_dir():
            if not config.getoption("collect_in_virtualenv") and _is_venv(path):
                return False
            return not _matches(config.getini("norecursedirs"), path)
        return path.suffix == ".py" and _matches(config.getini("python_files"), path)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_ignore_collect(self, collection_path, config):
        outcome = yield
        if outcome.get_result() and self._may_hold_tests(Path(str(collection_path))):
            self.collection.left_out.add(self._display(collection_path))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_collection_modifyitems(self, session, config, items):
        before = {item.nodeid for item in items}
        yield
        after = {item.nodeid for item in items}
        self.collection.collected.update(before)
        self.collection.dropped.update(before - after)

    def pytest_deselected(self, items):
        ids = {item.nodeid for item in items}
        self.collection.collected.update(ids)
        self.collection.dropped.update(ids)

    def pytest_collection_finish(self, session):
        self.collection.collected.update(item.nodeid for item in session.items)
        output = getattr(self.config, "workeroutput", None)
        if output is not None:  # an xdist worker: the controller collects nothing itself
            output[WORKER_OUTPUT_KEY] = self.collection.to_wire()

    def _display(self, path) -> str:
        try:
            return Path(str(path)).relative_to(Path(str(self.config.rootpath))).as_posix()
        except ValueError:
            return str(path)


class ControllerWatcher:
    """On the xdist controller: each worker's view of the collection."""

    def __init__(self, collection: Collection):
        self.collection = collection

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        self.collection.workers.add(_worker_id(node))
        self.collection.collected.update(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        output: Dict = getattr(node, "workeroutput", None) or {}
        wire = output.get(WORKER_OUTPUT_KEY)
        if isinstance(wire, dict):
            self.collection.merge_wire(wire)
            self.collection.reported.add(_worker_id(node))


def _worker_id(node) -> str:
    return str(getattr(getattr(node, "gateway", None), "id", None) or node)

