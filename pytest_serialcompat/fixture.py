"""The ``serialcompat`` fixture: ``check()`` one object against its goldens, and spawn safety."""

from pathlib import Path
from typing import Callable, List, Optional, Sequence

import pytest

from .diagnosis import messages as diagnosis
from . import store as store_module
from .check.plan import EncodeFailure, UsageProblem, make_plan
from .check.record import record
from .check.replay import Comparison, Replayer
from .results import (
    FAILED, MISSING, SKIPPED, UNPICKLABLE, Ask, GoldenResult,
)
from .store import golden_filename

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


class CheckContext:
    """Everything one check() call needs, shared by recording and replay."""

    def __init__(self, state, name, nodeid, obj, plan, fresh, comparison):
        self.state = state
        self.store = state.store
        self.interpreter = state.interpreter
        self.rootdir = state.rootdir
        self.allow_prefixes = state.allow_prefixes
        self.renames = state.settings.renames
        self.name = name
        self.nodeid = nodeid
        self.obj = obj
        self.plan = plan
        self.fresh = fresh
        self.comparison = comparison
        self.requests = []

    def request(self, request) -> None:
        self.requests.append(request)


def _usage(message: str):
    pytest.fail("serialcompat: %s" % message, pytrace=False)


def run_check(state, nodeid: str, obj, name: str, formats: Sequence[str], explicit: bool,
              protocols: Optional[Sequence[int]], compare: Optional[Callable]
              ) -> List[GoldenResult]:
    """Record and/or replay the goldens of one object; fails or skips the test as needed."""
    settings = state.settings
    try:
        plan, fresh = make_plan(obj, formats, explicit, protocols, settings.protocols,
                                state.codec_hook)
    except UsageProblem as exc:
        problem = str(exc)
    else:
        problem = None
    if problem is not None:
        _usage(problem)
    try:
        comparison = Comparison(compare, state.comparator_for)
    except ValueError as exc:
        _usage(str(exc))
    ctx = CheckContext(state, name, nodeid, obj, plan, fresh, comparison)
    replayer = Replayer(ctx)
    tag = state.interpreter.tag
    results: List[GoldenResult] = []

    for item in plan.items:  # (e): the current object must still serialize
        try:
            fresh.get(item.format, item.protocol)
        except EncodeFailure as exc:
            message, fix = diagnosis.unpicklable(str(exc), item.format)
            filename = golden_filename(item.format, item.protocol, tag)
            results.append(GoldenResult(name, item.format, item.protocol, tag,
                                        name + "/" + filename, FAILED, UNPICKLABLE, message, fix,
                                        nodeid))
    if settings.update:
        results.extend(record(ctx, replayer))
    if settings.replay:
        results.extend(_replay_all(ctx, replayer))

    ask = Ask(name, plan.formats, plan.protocols, nodeid)
    state.add(nodeid, results, [ask], ctx.requests)
    _conclude(name, results, ctx)
    return results


def _replay_all(ctx, replayer) -> List[GoldenResult]:
    settings = ctx.state.settings
    tag = ctx.interpreter.tag
    plan = ctx.plan
    results = []
    listed, names = ctx.store.listing(ctx.name)
    replayer.names = names
    goldens = [
        g for g in listed
        if g.format in plan.formats
        and (g.format != "pickle" or plan.protocols is None or g.protocol in plan.protocols)
    ]
    for golden in goldens:
        if settings.update and golden.interpreter == tag:
            continue  # just recorded (or verified) by this run
        results.append(replayer.replay(golden))
    present = {(g.format, g.interpreter) for g in goldens}
    if settings.update:
        present |= {(item.format, tag) for item in plan.items}
    folder = "%s/" % ctx.name
    for fmt in plan.formats:
        if not any(f == fmt for f, _ in present):
            results.append(GoldenResult(
                ctx.name, fmt, None, "-", folder, FAILED, MISSING,
                "No %s golden is recorded for %r (looked in %s)."
                % (fmt, ctx.name, ctx.store.display(ctx.name)),
                "Record it with `pytest --serialcompat-update` and commit the new files.",
                ctx.nodeid))
            continue
        for required in settings.required_pythons:
            if (fmt, required) not in present:
                results.append(GoldenResult(
                    ctx.name, fmt, None, required, folder, FAILED, MISSING,
                    "serialcompat_required_pythons lists %s, but %r has no %s golden recorded by it."
                    % (required, ctx.name, fmt),
                    "Run `pytest --serialcompat-update` under %s and commit the new files."
                    % required, ctx.nodeid))
    return results


def _conclude(name: str, results: List[GoldenResult], ctx) -> None:
    failures = [r for r in results if r.status == FAILED]
    if failures:
        problems = diagnosis.group(failures)
        header = "serialcompat: %d of %d golden checks failed for %r (store: %s)" % (
            len(failures), len(results), name, ctx.store.root)
        body = "\n\n".join(diagnosis.render(p) for p in problems)
        obtained = [q.path for q in ctx.requests if q.reason == "obtained" and q.op == "write"]
        tail = ""
        if obtained:
            tail = "\n\nObtained bytes written beside the goldens for inspection: %s" % ", ".join(
                p + "" for p in obtained[:6]) + (" (+%d more)" % (len(obtained) - 6)
                                                if len(obtained) > 6 else "")
        pytest.fail("%s\n\n%s%s" % (header, body, tail), pytrace=False)
    if results and all(r.status == SKIPPED for r in results):
        reasons = sorted({r.message for r in results})
        pytest.skip("serialcompat: every golden of %r was skipped: %s" % (name, "; ".join(reasons)))


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
        return run_check(state, nodeid, obj, name, formats, explicit, protocols, compare)

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
