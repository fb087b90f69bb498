"""The ``serialcompat`` fixture: ``check()`` one object against its goldens, and spawn safety.

The pytest side only: the check itself is :mod:`.check.run`'s; this module turns
its results into a passing, failing or skipped test.
"""

from pathlib import Path
from typing import Callable, List, Optional, Sequence

import pytest

from . import store as store_module
from .check.plan import UsageProblem
from .check.run import run_check
from .diagnosis import messages as diagnosis
from .results import FAILED, SKIPPED, GoldenResult

DEFAULT_FORMATS = ("pickle", "marshal", "json")  # the identity of this tuple means "automatic"
NO_TEST_DIRS = ("tests", "test", "testing")
STATE_KEY = "_serialcompat_state"


def get_state(config):
    return getattr(config, STATE_KEY, None)


def derive_name(node, rootdir: Path) -> str:
    """A sample name for an unnamed check: test module path + test name."""
    nodeid = node.nodeid
    path, _, rest = nodeid.partition("::")
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1].endswith(".py"):
        segments[-1] = segments[-1][:-3]
    if len(segments) > 1 and segments[0] in NO_TEST_DIRS:
        segments = segments[1:]
    name = "/".join(segments)
    if rest:
        name = name + "/" + rest.replace("::", ".")
    return store_module.sanitize_name(name)


def _usage(message: str):
    pytest.fail("serialcompat: %s" % message, pytrace=False)


def check_object(state, nodeid: str, obj, name: str, formats: Sequence[str], explicit: bool,
                 protocols: Optional[Sequence[int]], compare: Optional[Callable]
                 ) -> List[GoldenResult]:
    """Check one object (:func:`.check.run.run_check`) and pass, fail or skip the test."""
    try:
        results, ctx = run_check(state, nodeid, obj, name, formats, explicit, protocols, compare)
    except UsageProblem as exc:
        _usage(str(exc))
    _conclude(name, results, ctx)
    return results


def _conclude(name: str, results: List[GoldenResult], ctx) -> None:
    failures = [r for r in results if r.status == FAILED]
    if failures:
        problems = diagnosis.group(failures)
        obtained = [_shown(ctx.store.obtained_path(q.path), ctx.rootdir) for q in ctx.requests
                    if q.reason == "obtained" and q.op == "write"]
        pytest.fail(diagnosis.failed_check(name, len(failures), len(results), ctx.store.root,
                                           problems, obtained), pytrace=False)
    if results and all(r.status == SKIPPED for r in results):
        pytest.skip(diagnosis.skipped_check(name, sorted({r.message for r in results})))


def _shown(path, rootdir) -> str:
    """A path relative to the rootdir when it is inside it."""
    try:
        return str(Path(path).relative_to(rootdir))
    except ValueError:
        return str(path)


class SerialCompat:
    """The object behind the ``serialcompat`` fixture."""

    def __init__(self, state, node):
        self._state = state
        self._node = node
        self._names = set()  # names checked by this test (a rerun starts afresh)

    @property
    def active(self) -> bool:
        """Whether goldens are recorded or replayed in this run."""
        return self._state.settings.active

    def check(self, obj, name: Optional[str] = None, *, formats=DEFAULT_FORMATS,
              protocols: Optional[Sequence[int]] = None, compare: Optional[Callable] = None):
        """Record and/or replay the goldens of ``obj`` under ``name``.

        Without --serialcompat / --serialcompat-update this does nothing and
        returns an empty list.  Returns the per-golden results otherwise.
        """
        state = self._state
        if not state.settings.active:
            return []
        explicit = formats is not DEFAULT_FORMATS
        if isinstance(formats, str):
            formats = (formats,)
        formats = tuple(formats)
        nodeid = self._node.nodeid
        if name is None:
            name = derive_name(self._node, state.rootdir)
            count = state.next_unnamed(nodeid)
            if count > 1:
                name = "%s-%d" % (name, count)
        else:
            problem = store_module.name_problem(name)
            if problem:
                _usage(problem)
        other = state.claim_name(name, nodeid)
        if other is None and name in self._names:
            other = "this test"
        if other is not None:
            _usage("the sample name %r is already used by %s; names must be unique" % (name, other))
        self._names.add(name)
        return check_object(state, nodeid, obj, name, formats, explicit, protocols, compare)

    def check_spawn_safe(self, func, *args, **kwargs):
        """Run ``func(*args, **kwargs)`` in a real ``spawn`` child; fail with the precise reason.

        Returns the child's return value.
        """
        from .check.spawn import SpawnProblem, run_in_spawn_child

        try:
            return run_in_spawn_child(func, args, kwargs, timeout=self._state.settings.spawn_timeout)
        except SpawnProblem as exc:
            pytest.fail("serialcompat: not spawn-safe: %s" % exc, pytrace=False)


@pytest.fixture
def serialcompat(request):
    """Golden pickle / marshal / JSON snapshots: ``serialcompat.check(obj, name=None, ...)``."""
    state = get_state(request.config)
    return SerialCompat(state, request.node)
