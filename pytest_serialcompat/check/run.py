"""What one ``serialcompat.check(obj)`` does: plan, record, replay, and collect the results.

The plan (:mod:`.plan`) says which (format, protocol) goldens an object has and
builds its fresh bytes; recording (:mod:`.record`) writes what changed;
replay (:mod:`.replay`) checks every stored golden of the sample.  Nothing here
fails a test: the fixture turns the results into a pass, a failure or a skip.
"""

from typing import Callable, List, Optional, Sequence, Tuple

from ..diagnosis import messages as diagnosis
from ..results import FAILED, MISSING, UNPICKLABLE, Ask, GoldenResult
from ..store import golden_filename
from .plan import EncodeFailure, UsageProblem, make_plan
from .generations import replay_frozen
from .record import record
from .replay import Comparison, Replayer


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


def run_check(state, nodeid: str, obj, name: str, formats: Sequence[str], explicit: bool,
              protocols: Optional[Sequence[int]], compare: Optional[Callable]
              ) -> Tuple[List[GoldenResult], CheckContext]:
    """Record and/or replay the goldens of one object: its results, and the context they came
    from.  Raises UsageProblem for a call that cannot be checked (the fixture fails the test)."""
    settings = state.settings
    plan, fresh = make_plan(obj, formats, explicit, protocols, settings.protocols,
                            state.codec_hook)
    try:
        comparison = Comparison(compare, _comparator_for(state))
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    ctx = CheckContext(state, name, nodeid, obj, plan, fresh, comparison)
    replayer = Replayer(ctx, state.gate, state.verdicts)
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
        results.extend(replay_all(ctx, replayer))
        results.extend(replay_frozen(ctx, state.gate, state.verdicts))  # old releases' data

    ask = Ask(name, plan.formats, plan.protocols, nodeid)
    state.add(nodeid, results, [ask], ctx.requests)
    return results, ctx


def _comparator_for(state):
    """The comparator hook's lookup, or None when no plugin implements the hook (then the
    graph walk asks nothing per class)."""
    hook = getattr(getattr(getattr(state, "config", None), "hook", None),
                   "pytest_serialcompat_comparator", None)
    if hook is not None and not hook.get_hookimpls():
        return None
    return state.comparator_for


def replay_all(ctx, replayer) -> List[GoldenResult]:
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
                *diagnosis.no_golden(fmt, ctx.name, ctx.store.display(ctx.name)), ctx.nodeid))
            continue
        for required in settings.required_pythons:
            if (fmt, required) not in present:
                results.append(GoldenResult(
                    ctx.name, fmt, None, required, folder, FAILED, MISSING,
                    *diagnosis.no_required_golden(fmt, ctx.name, required), ctx.nodeid))
    return results
