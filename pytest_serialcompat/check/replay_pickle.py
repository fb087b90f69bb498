"""Replay of a pickle golden: set order, the safety gate, imports, load, object graphs.

Order (each step can end it with one diagnosis): a protocol this interpreter
cannot read is skipped; bytes identical to the current object's own pickle pass
unloaded, and so do bytes identical but for set order (the same graph: a set has no
order); every other golden goes through the reference analyzer and the gate (refused goldens
are never loaded), then every verified global must still import (else: class
moved, with the fix), then the guarded unpickler loads it and the object graphs
are compared (:mod:`.graph_compare`).
"""

import hashlib
import pickle
from typing import List, Optional

from ..diagnosis import libraries, messages as diagnosis, moved_class
from ..renames import Renames
from ..results import (
    CLASS_MOVED, CORRUPT, LIBRARY_VERSION, LOAD_ERROR, NOT_EQUAL, PICKLE, STATE_CHANGED,
    UNREADABLE, UNSAFE,
)
from ..store import GoldenFile, manifest as manifest_schema
from ..bounds import ini_of
from . import budget, safety
from .outcome import UNSET, fail, skip

_exc_text = safety.exc_text


_TRUST_PROTOCOL = min(4, pickle.HIGHEST_PROTOCOL)  # the current pickle whose globals and uses the gate trusts


def _fresh_digest(replayer, protocol: int, data: bytes) -> str:
    """The sha256 of the current object's own pickle ``data`` at ``protocol``, once per check."""
    digest = replayer._fresh_digests.get(protocol)
    if digest is None:
        digest = replayer._fresh_digests[protocol] = hashlib.sha256(data).hexdigest()
    return digest


def _fresh_analysis_for(replayer, protocol: int):
    """The analysis of the current object's own pickle at ``protocol`` (None when there is
    none): its globals and uses at once, its tree only when a diagnosis asks for it.
    Kept with the verdicts, so unchanged objects are not analyzed again by the next run."""
    if protocol not in replayer._fresh_analysis:
        data = replayer.fresh_bytes(PICKLE, protocol)
        analysis = None
        if data is not None:
            analysis = replayer.verdicts.trust_analysis(
                data, _fresh_digest(replayer, protocol, data), replayer.ctx.allow_prefixes)
        replayer._fresh_analysis[protocol] = analysis
    return replayer._fresh_analysis[protocol]


def _pristine_for(replayer, fresh: Optional[bytes]):
    """The current object as its own pickle rebuilds it (see _pristine), once per check.

    Any protocol's pickle rebuilds the same state, so one copy serves them all.
    """
    if fresh is None:
        return replayer.ctx.obj
    if replayer._pristine is UNSET:
        replayer._pristine = _pristine(replayer.ctx.obj, fresh)
    return replayer._pristine


def _trusted(replayer, protocol: int) -> tuple:
    """What the current object's own pickle at ``protocol`` does: (each global it names
    with its uses, a hashable key of that), analyzed once per check and protocol."""
    found = replayer._trust.get(protocol)
    if found is None:
        trust = safety.trust_of(_fresh_analysis_for(replayer, protocol))
        found = replayer._trust[protocol] = (trust, frozenset(trust.items()))
    return found


def _set_order_only(replayer, data: bytes, fresh: bytes, protocol: int) -> bool:
    """Whether the golden ``data`` is the current pickle ``fresh`` but for set order: proven
    from the bytes (:mod:`.set_order`), or by a proof the verdict cache remembers."""
    from .set_order import same_up_to_set_order  # first use only: not at plugin import

    verdicts = replayer.verdicts
    digest = _fresh_digest(replayer, protocol, fresh)
    if verdicts.proven_order(replayer.sha256, digest, replayer.ctx.allow_prefixes):
        return True
    if not same_up_to_set_order(data, fresh):
        return False
    verdicts.remember_order(replayer.sha256, digest)
    return True


def _structure(replayer, analysis, protocol: int) -> List:
    fresh = _fresh_analysis_for(replayer, protocol)
    if fresh is None:
        return []
    from ..reference.tree import diff

    return diff(analysis.tree, fresh.tree, limit=diagnosis.MAX_CHANGES * 2)


def replay_pickle(replayer, golden: GoldenFile, data: bytes) -> None:
    ctx = replayer.ctx
    protocol = data[1] if len(data) >= 2 and data[0] == pickle.PROTO[0] else 0
    if protocol > pickle.HIGHEST_PROTOCOL:
        raise skip(UNREADABLE, diagnosis.unreadable_protocol(
            PICKLE, protocol, golden.interpreter, pickle.HIGHEST_PROTOCOL))
    if protocol < 2 and golden.protocol in (0, 1):
        protocol = golden.protocol  # protocols 0 and 1 have no PROTO opcode
    fresh = replayer.fresh_bytes(PICKLE, protocol)
    if fresh == data:
        # Byte for byte what the current code writes for the current object: the bytes
        # are the proof (recording checked that they load back to the same graph).
        return
    verdicts = replayer.verdicts
    # A golden the gate has already seen takes the gate's cheaper warm path.
    analysis = verdicts.remembered(data, replayer.sha256, ctx.allow_prefixes)
    if analysis is None and fresh is not None and _set_order_only(replayer, data, fresh, protocol):
        # The same bytes but for the order of some sets' literal elements (another
        # PYTHONHASHSEED): the same graph as pickle sees it (a set has no order), so the
        # bytes are the proof here too, and nothing is loaded.
        return
    from ..reference.errors import MalformedPickle

    timeout = ctx.state.settings.bounds.load_timeout
    try:
        if analysis is None:  # (a remembered verdict costs no analysis, so needs no budget)
            with budget.time_budget(timeout, "Analyzing the golden"):
                analysis = verdicts.analysis(data, replayer.sha256, ctx.allow_prefixes)
    except MalformedPickle as exc:
        ini = ini_of(str(exc))
        if ini is not None:  # valid, maybe, but past a cost bound: refused, never loaded
            raise fail(UNSAFE, *diagnosis.over_limit(str(exc), ini, ctx.state.settings.bounds))
        raise fail(CORRUPT, "The golden is not a valid pickle (%s); it was NOT loaded." % exc,
                    "Re-record it with `pytest --serialcompat-update` on %s, or delete it."
                    % golden.interpreter)
    except budget.LoadTimeout as exc:
        raise fail(UNSAFE, *diagnosis.timed_out(exc, loaded=False))
    gate = replayer.gate
    verdict = gate.decide(analysis, ctx.allow_prefixes)
    # A verdict that needs the current object's own pickle is not shared.  Most objects
    # pickle the same globals the same way at protocols 2-5, so one protocol's pickle is
    # asked first; the golden's own protocol only when that is not enough (numpy, for
    # one, reduces arrays through another function at protocol 5).
    own = max(2, min(analysis.protocol, pickle.HIGHEST_PROTOCOL))
    for trust_protocol in [_TRUST_PROTOCOL] + ([own] if own != _TRUST_PROTOCOL else []):
        if verdict.safe:
            break
        trusted, key = _trusted(replayer, trust_protocol)
        verdict = gate.decide(analysis, ctx.allow_prefixes, trusted, key)
    if not verdict.safe:
        raise fail(UNSAFE, *diagnosis.unsafe(verdict.refused, gate.scripts))
    refused = gate.verify(verdict)  # each allowed name is what it claims to be
    if refused:
        raise fail(UNSAFE, *diagnosis.unsafe(refused, gate.scripts))
    _check_imports(replayer, verdict, golden, data)
    try:
        with budget.time_budget(timeout, "Loading the golden"):
            loaded = gate.load(data, verdict)
    except budget.LoadTimeout as exc:
        raise fail(LOAD_ERROR, *diagnosis.timed_out(exc, loaded=True))
    except Exception as exc:
        lines = _attribute_lines(replayer, verdict, golden)
        own, recorded = _boundary(replayer, golden)
        golden_type = libraries.public_type_name(ctx.obj)
        boundary = libraries.load_error(
            _exc_text(exc), exc, golden_type, list(verdict.targets.values()), own, recorded,
            golden.interpreter, ctx.interpreter.tag)
        if boundary is not None and (not lines or libraries.owner(golden_type, own, recorded)):
            raise fail(LIBRARY_VERSION, *boundary)
        if lines:
            raise fail(STATE_CHANGED, *diagnosis.state_changed(
                lines, _exc_text(exc), golden.interpreter))
        raise fail(LOAD_ERROR, "Loading the golden raised %s." % _exc_text(exc),
                    "Make the class accept its old state (__setstate__, __reduce__ "
                    "arguments); " + diagnosis.UPDATE_HINT + ".")
    # Not the current bytes: compare the graphs.  Attributes on one side only are a
    # state change (even where the class's == would not mind a stale attribute); the
    # current side is the object as its own pickle rebuilds it (see _pristine).
    current = ctx.obj if ctx.comparison.compare is not None else _pristine_for(replayer, fresh)
    compared = ctx.comparison.check(loaded, current, max(protocol, 2))
    shape = compared.shape()
    if shape or not compared.ok:
        _library_state(replayer, golden)
    if shape:
        lines = _attribute_lines(replayer, verdict, golden) or shape
        raise fail(STATE_CHANGED, *diagnosis.state_changed(lines, None, golden.interpreter))
    if not compared.ok:
        raise fail(NOT_EQUAL, *diagnosis.not_equal(
            compared.outcome.lines(), compared.detail, golden.interpreter))


def _boundary(replayer, golden: GoldenFile):
    """(the project's own top-level packages, the libraries the golden was recorded with)."""
    own = sorted(replayer.ctx.state.project_names())
    try:
        recorded = manifest_schema.libraries(replayer.entry(golden))
    except Exception:
        recorded = {}
    return own, recorded


def _library_state(replayer, golden: GoldenFile) -> None:
    """A library object whose state differs after its library changed version: say so at its
    boundary (its private state is the library's), not as a diff to fix in __setstate__."""
    changes = replayer.library_changes(golden)
    if not changes:
        return
    own, recorded = _boundary(replayer, golden)
    found = libraries.state_changed(libraries.public_type_name(replayer.ctx.obj), own, recorded,
                                    golden.interpreter, changes, replayer.ctx.interpreter.tag)
    if found is not None:
        raise fail(LIBRARY_VERSION, *found)


def _attribute_lines(replayer, verdict, golden: GoldenFile) -> List[str]:
    """Readable structural changes when some object's attributes differ, else []."""
    protocol = max(2, min(verdict.protocol, pickle.HIGHEST_PROTOCOL))
    try:
        changes = _structure(replayer, verdict.analysis, protocol)
    except Exception:
        return []
    if not diagnosis.attribute_changes(changes):
        return []
    changes = [c for c in changes if not _same_class(replayer, c, verdict, protocol)]
    if len(changes) > diagnosis.MAX_CHANGES:
        changes = diagnosis.attribute_changes(changes)
    return diagnosis.describe_changes(changes)


def _same_class(replayer, change, verdict, protocol: int) -> bool:
    """A class_changed that a rename or re-export already maps to the current class."""
    if change.kind != "class_changed":
        return False
    old = {"%s.%s" % name: target for name, target in verdict.targets.items()}.get(change.old)
    fresh = _fresh_analysis_for(replayer, protocol)
    new = None
    if fresh is not None:
        new = {"%s.%s" % g: g for g in fresh.globals}.get(change.new)
    if old is None or new is None:
        return False
    try:
        return safety.resolve(*old) is safety.resolve(*new)
    except Exception:
        return False


def _check_imports(replayer, verdict, golden: GoldenFile, data: bytes) -> None:
    if replayer.gate.all_resolve(verdict.targets):
        return
    missing = []
    resolve = replayer.gate.resolve
    for target in verdict.targets.values():
        found = resolve(target)
        if found.refused:  # an alias of another module's name: not the project's
            raise fail(UNSAFE, *diagnosis.unsafe([safety.Refusal(
                target[0], target[1], found.problem, None, "", "identity")]))
        if found.problem is not None:
            missing.append(moved_class.Missing(target, found.problem, found.module_missing))
    if not missing:
        return
    ctx = replayer.ctx
    own, recorded = _boundary(replayer, golden)
    found = libraries.missing_globals(
        missing, own, recorded, golden.interpreter,
        verify=lambda rules: _verify_renames(replayer, verdict.analysis, rules, data),
        replayer=ctx.interpreter.tag)
    if found is not None:   # a library's data: never "the project's class moved"
        raise fail(LIBRARY_VERSION, found.message, found.fix)
    words = ctx.allow_prefixes
    # a suggested new place is imported to check it: only where the gate itself would import
    suggestions = moved_class.suggest_moves(
        missing, ctx.rootdir, type(ctx.obj), lambda name: _gate_importable(name, words))
    # a library's global is never re-exported from the project or from the installed package
    suggestions = [None if libraries.owner(item.name[0], own, recorded) else suggestion
                   for item, suggestion in zip(missing, suggestions)]
    verified = None
    rules = [diagnosis_rule(s) for s in suggestions if s is not None]
    if rules and len(rules) == len(missing):
        verified = _verify_renames(replayer, verdict.analysis, rules, data)
    message, fix = diagnosis.moved(missing, suggestions, ctx.rootdir, verified, golden.interpreter)
    raise fail(CLASS_MOVED, message, fix)


def _verify_renames(replayer, analysis, rules: List[str], data: bytes) -> Optional[bool]:
    ctx = replayer.ctx
    renames = Renames.from_lines([r.line for r in ctx.renames.rules] + rules)
    protocol = max(2, min(analysis.protocol, pickle.HIGHEST_PROTOCOL))
    verdict = safety.decide(analysis, ctx.allow_prefixes, renames, _trusted(replayer, protocol)[0])
    if not verdict.safe or replayer.gate.verify(verdict):
        return None
    try:
        loaded = safety.load(data, verdict)
    except Exception:
        return False
    return ctx.comparison.check(loaded, ctx.obj, max(analysis.protocol, 2)).ok


def diagnosis_rule(suggestion) -> str:
    from ..renames import format_rule

    return format_rule(suggestion.old, suggestion.new)


def _importable(name) -> bool:
    try:
        safety.resolve(*name)
    except Exception:
        return False
    return True


def _gate_importable(name, words) -> bool:
    """Whether the gate would import ``name``'s module (and it resolves there)."""
    from ..reference.allowlist import classify

    if classify(name[0], name[1], safety._words(words))[0] is None:
        return False
    return _importable(name)


def _pristine(current, fresh: Optional[bytes]):
    """A copy of the current object as its pickle rebuilds it.

    The live object may have grown attributes since it was built: comparing
    with ``==`` fills lazy caches (``PurePath._str``, ``functools.cached_property``),
    which would then look like state the golden lacks.
    """
    if fresh is None:
        return current
    try:
        return pickle.loads(fresh)
    except Exception:  # the comparison below still has the live object
        return current
