"""Replay one golden: verify, gate, load, and compare it with the freshly built current object.

Order for a pickle golden (each step can end it with one diagnosis):

1. sha256 against the producer's manifest (integrity);
2. protocol readable by this interpreter, else skip (d);
   a golden byte-identical to the current object's own pickle at that protocol
   passes without being loaded: the bytes are the proof (recording checked
   that they load back to the same object graph); one identical but for the
   order of set elements (:mod:`.set_order`) is the project's round trip: it
   is loaded and compared at once;
3. reference analyzer + allow-list (safety gate) -- refused goldens are never loaded;
4. every verified global still imports, else (a) class moved, with the fix;
5. load with the guarded unpickler; compare the object graphs of the golden
   and the current object (:mod:`.graph_compare`): attributes on one side only
   are (b), anything else that differs is (c).

   (b) is *detected* on the live objects and *described* from the
   version-neutral structural trees, by attribute path.
"""

import hashlib
import json
import marshal
import operator
import pickle
from typing import Callable, Dict, List, NamedTuple, Optional, Set, Tuple

from . import budget, diagnosis, graph_compare, safety
from .formats import EncodeFailure, contains_code
from .renames import Renames
from .results import (
    CLASS_MOVED, CORRUPT, DELETE, FOREIGN_CODE, FAILED, INTEGRITY, JSON, LOAD_ERROR, MARSHAL,
    NOT_EQUAL, PASSED, PICKLE, SKIPPED, STATE_CHANGED, UNREADABLE, UNSAFE, WRITE, GoldenResult,
    StoreRequest,
)
from .store import GoldenFile, StoreError, manifest_filename, obtained_filename


_UNSET = object()
_TRUST_PROTOCOL = min(4, pickle.HIGHEST_PROTOCOL)  # the current pickle whose globals and uses the gate trusts


class Verdict(Exception):
    """Ends the replay of one golden with a status and diagnosis."""

    def __init__(self, status: str, kind: Optional[str], message: str, fix: Optional[str] = None):
        super().__init__(message)
        self.status, self.kind, self.message, self.fix = status, kind, message, fix


def _fail(kind, message, fix=None):
    return Verdict(FAILED, kind, message, fix)


def _skip(kind, message):
    return Verdict(SKIPPED, kind, message)


_exc_text = safety.exc_text


EQ = "eq"  # compare="eq": plain ==, where a user wants it


class Compared(NamedTuple):
    """The verdict on one loaded golden: differences by path, and why when no path says it."""

    ok: bool
    outcome: graph_compare.Outcome
    detail: Optional[str] = None

    def shape(self) -> List[str]:
        return self.outcome.of_kind(graph_compare.SHAPE)


class Comparison:
    """How a loaded golden is compared with the current object.

    By default, object graph against object graph (:mod:`.graph_compare`).
    ``compare=`` (a callable, or ``"eq"`` for ``==``) decides for the whole
    object; a ``pytest_serialcompat_comparator`` hook (``comparator_for``)
    decides for the instances of the classes it covers, wherever they are.
    Either way the engine's differences are what the diagnosis shows.
    """

    def __init__(self, compare=None, comparator_for: Optional[Callable] = None):
        if isinstance(compare, str) and compare != EQ:
            raise ValueError("compare= takes a callable or %r, not %r" % (EQ, compare))
        self.compare = compare
        self.comparator_for = comparator_for

    def check(self, loaded, current, protocol: int = pickle.DEFAULT_PROTOCOL) -> Compared:
        root = self.compare
        if root is None and self.comparator_for is not None:
            root = self.comparator_for(type(current))
        if root is None:
            outcome = graph_compare.compare(loaded, current, protocol=protocol,
                                            comparator_for=self.comparator_for)
            return Compared(outcome.same, outcome)
        ok, detail = graph_compare.guarded(operator.eq if root == EQ else root, loaded, current)
        if ok:
            return Compared(True, graph_compare.SAME)
        if detail is None:
            detail = "== is False" if root == EQ else "the comparator returned False"
        elif not detail.startswith("comparator"):
            detail = "comparison " + detail
        return Compared(False, graph_compare.compare(loaded, current, protocol=protocol,
                                                     comparator_for=self.comparator_for), detail)


class Replayer:
    """Replays the goldens of one check() call. ``ctx`` is the fixture's CheckContext."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._manifests: Dict[str, Optional[dict]] = {}
        self._fresh_analysis: Dict[int, object] = {}
        self._trust: Dict[int, tuple] = {}  # protocol -> (trust mapping, its hashable key)
        self._pristine = _UNSET
        self._sha256 = ""
        # (format, protocol, sha256) of goldens that passed: the same bytes from another
        # producer (a matrix store holds many) load to the same object, so they pass too
        self._passed: Set[Tuple[str, Optional[int], str]] = set()
        self.names = None  # file names in the sample folder, when the caller listed it

    # -------------------------------------------------------------- driver
    def replay(self, golden: GoldenFile) -> GoldenResult:
        ctx = self.ctx
        try:
            data = ctx.store.read(golden.relpath)
            self._check_integrity(golden, data)
            self._replay_bytes(golden, data)
        except Verdict as verdict:
            result = GoldenResult(ctx.name, golden.format, golden.protocol, golden.interpreter,
                                  golden.relpath, verdict.status, verdict.kind, verdict.message,
                                  verdict.fix, ctx.nodeid)
            if verdict.status == FAILED:
                self._write_obtained(golden)
            return result
        except OSError as exc:
            return GoldenResult(ctx.name, golden.format, golden.protocol, golden.interpreter,
                                golden.relpath, FAILED, CORRUPT, "cannot read the golden: %s"
                                % _exc_text(exc), None, ctx.nodeid)
        self._clear_obtained(golden)
        return GoldenResult(ctx.name, golden.format, golden.protocol, golden.interpreter,
                            golden.relpath, PASSED, nodeid=ctx.nodeid)

    def passes(self, golden: GoldenFile) -> bool:
        """Whether the golden replays cleanly (no side effects; used by recording)."""
        try:
            data = self.ctx.store.read(golden.relpath)
            self._check_integrity(golden, data)
            self._replay_bytes(golden, data)
        except (Verdict, OSError):
            return False
        return True

    def self_check(self, fmt: str, protocol: Optional[int], data: bytes
                   ) -> Optional[Tuple[str, Optional[str]]]:
        """(message, fix) when ``data``, read back as replay reads it, is not the object.

        Used by recording before it writes a golden.  The reader is the one replay
        uses once the gate has passed a golden (the gate resolves names; it builds
        the same objects).
        """
        ctx = self.ctx
        try:
            loaded = SELF_CHECK_READERS[fmt](self, data)
        except Exception as exc:
            return diagnosis.not_recorded([], "loading it raised %s" % _exc_text(exc))
        reduce_protocol = max(protocol or 2, 2) if fmt == PICKLE else pickle.DEFAULT_PROTOCOL
        compared = ctx.comparison.check(loaded, ctx.obj, reduce_protocol)
        if compared.ok:
            return None
        return diagnosis.not_recorded(compared.outcome.lines(), compared.detail)

    def _replay_bytes(self, golden: GoldenFile, data: bytes) -> None:
        """Gate, load and compare verified bytes; raises Verdict unless they pass."""
        key = (golden.format, golden.protocol, self._sha256)
        if key in self._passed:
            return
        REPLAYERS[golden.format](self, golden, data)
        if golden.format in _PRODUCER_NEUTRAL:
            self._passed.add(key)

    # --------------------------------------------------------- shared steps
    def manifest(self, interpreter: str) -> Optional[dict]:
        if interpreter not in self._manifests:
            try:
                self._manifests[interpreter] = self.ctx.store.manifest(self.ctx.name, interpreter)
            except StoreError as exc:
                raise _fail(INTEGRITY, *diagnosis.integrity(str(exc), interpreter))
        return self._manifests[interpreter]

    def entry(self, golden: GoldenFile) -> dict:
        manifest = self.manifest(golden.interpreter)
        if manifest is None:
            raise _fail(INTEGRITY, *diagnosis.integrity(
                "the manifest %s is missing, so nothing vouches for %s"
                % (self.ctx.store.display("%s/%s" % (golden.name, manifest_filename(
                    golden.interpreter))), golden.filename), golden.interpreter))
        entry = manifest.get("goldens", {}).get(golden.filename)
        if not isinstance(entry, dict):
            raise _fail(INTEGRITY, *diagnosis.integrity(
                "%s has no entry in the manifest %s.manifest.json" % (golden.filename, golden.interpreter),
                golden.interpreter))
        return entry

    def _check_integrity(self, golden: GoldenFile, data: bytes) -> None:
        entry = self.entry(golden)
        digest = hashlib.sha256(data).hexdigest()
        self._sha256 = digest
        if entry.get("sha256") != digest:
            raise _fail(INTEGRITY, *diagnosis.integrity(
                "sha256 %s does not match the manifest's %s (the file changed after it was recorded)"
                % (digest[:16], str(entry.get("sha256"))[:16]), golden.interpreter))

    def _fresh(self, fmt: str, protocol) -> Optional[bytes]:
        try:
            return self.ctx.fresh.get(fmt, protocol)
        except EncodeFailure:
            return None  # reported once per check as (e)

    def _write_obtained(self, golden: GoldenFile) -> None:
        protocol = golden.protocol
        if golden.format == PICKLE and protocol is not None and protocol > pickle.HIGHEST_PROTOCOL:
            return
        if golden.format == MARSHAL:
            protocol = min(protocol or marshal.version, marshal.version)
        data = self._fresh(golden.format, protocol)
        if data is not None:
            self.ctx.request(StoreRequest(WRITE, self._obtained_relpath(golden), data,
                                          reason="obtained"))

    def _obtained_relpath(self, golden: GoldenFile) -> str:
        return "%s/%s" % (golden.name, obtained_filename(golden.filename, self.ctx.interpreter.tag))

    def _clear_obtained(self, golden: GoldenFile) -> None:
        relpath = self._obtained_relpath(golden)
        if self.names is not None:
            present = relpath.rsplit("/", 1)[1] in self.names
        else:
            present = self.ctx.store.path(relpath).exists()
        if present:
            self.ctx.request(StoreRequest(DELETE, relpath, reason="obtained"))

    def _compare(self, loaded, golden: GoldenFile, protocol: int = pickle.DEFAULT_PROTOCOL,
                 current=_UNSET) -> Compared:
        """Raise (c) unless ``loaded`` is the same as the current object."""
        ctx = self.ctx
        compared = ctx.comparison.check(loaded, ctx.obj if current is _UNSET else current,
                                        protocol)
        if not compared.ok:
            raise _fail(NOT_EQUAL, *diagnosis.not_equal(
                compared.outcome.lines(), compared.detail, golden.interpreter))
        return compared

    # --------------------------------------------------------------- pickle
    def _fresh_analysis_for(self, protocol: int):
        if protocol not in self._fresh_analysis:
            data = self._fresh(PICKLE, protocol)
            analysis = None
            if data is not None:
                try:
                    analysis = safety.analyze(data, ())
                except Exception:  # an analyzer limit on our own fresh data: no structure diff
                    analysis = None
            self._fresh_analysis[protocol] = analysis
        return self._fresh_analysis[protocol]

    def _pristine_for(self, fresh: Optional[bytes]):
        """The current object as its own pickle rebuilds it (see _pristine), once per check.

        Any protocol's pickle rebuilds the same state, so one copy serves them all.
        """
        if fresh is None:
            return self.ctx.obj
        if self._pristine is _UNSET:
            self._pristine = _pristine(self.ctx.obj, fresh)
        return self._pristine

    def _trusted(self, protocol: int) -> tuple:
        """What the current object's own pickle at ``protocol`` does: (each global it names
        with its uses, a hashable key of that), analyzed once per check and protocol."""
        found = self._trust.get(protocol)
        if found is None:
            trust = safety.trust_of(self._fresh_analysis_for(protocol))
            found = self._trust[protocol] = (trust, frozenset(trust.items()))
        return found

    def _structure(self, analysis, protocol: int) -> List:
        fresh = self._fresh_analysis_for(protocol)
        if fresh is None:
            return []
        from .reference.tree import diff

        return diff(analysis.tree, fresh.tree, limit=diagnosis.MAX_CHANGES * 2)

    def _replay_pickle(self, golden: GoldenFile, data: bytes) -> None:
        ctx = self.ctx
        protocol = data[1] if len(data) >= 2 and data[0] == pickle.PROTO[0] else 0
        if protocol > pickle.HIGHEST_PROTOCOL:
            raise _skip(UNREADABLE, diagnosis.unreadable_protocol(
                PICKLE, protocol, golden.interpreter, pickle.HIGHEST_PROTOCOL))
        if protocol < 2 and golden.protocol in (0, 1):
            protocol = golden.protocol  # protocols 0 and 1 have no PROTO opcode
        fresh = self._fresh(PICKLE, protocol)
        if fresh == data:
            # Byte for byte what the current code writes for the current object: the bytes
            # are the proof (recording checked that they load back to the same graph).
            return
        from .set_order import same_up_to_set_order  # first use only: not at plugin import

        verdicts = ctx.state.verdicts
        if fresh is not None and not verdicts.known(self._sha256, ctx.allow_prefixes) \
                and same_up_to_set_order(data, fresh):
            # The same, but for the order of some sets' elements (another PYTHONHASHSEED).
            # A golden the gate has already seen takes the gate's cheaper warm path instead.
            self._compare(pickle.loads(data), golden, max(protocol, 2))
            return
        from .reference.errors import MalformedPickle

        timeout = ctx.state.settings.bounds.load_timeout
        try:
            with budget.time_budget(timeout, "Analyzing the golden"):
                analysis = verdicts.analysis(data, self._sha256, ctx.allow_prefixes)
        except MalformedPickle as exc:
            ini = budget.ini_of(str(exc))
            if ini is not None:  # valid, maybe, but past a cost bound: refused, never loaded
                raise _fail(UNSAFE, *diagnosis.over_limit(str(exc), ini, ctx.state.settings.bounds))
            raise _fail(CORRUPT, "The golden is not a valid pickle (%s); it was NOT loaded." % exc,
                        "Re-record it with `pytest --serialcompat-update` on %s, or delete it."
                        % golden.interpreter)
        except budget.LoadTimeout as exc:
            raise _fail(UNSAFE, *diagnosis.timed_out(exc, loaded=False))
        gate = ctx.state.gate
        verdict = gate.decide(analysis, ctx.allow_prefixes)
        # A verdict that needs the current object's own pickle is not shared.  Most objects
        # pickle the same globals the same way at protocols 2-5, so one protocol's pickle is
        # asked first; the golden's own protocol only when that is not enough (numpy, for
        # one, reduces arrays through another function at protocol 5).
        own = max(2, min(analysis.protocol, pickle.HIGHEST_PROTOCOL))
        for trust_protocol in [_TRUST_PROTOCOL] + ([own] if own != _TRUST_PROTOCOL else []):
            if verdict.safe:
                break
            trusted, key = self._trusted(trust_protocol)
            verdict = gate.decide(analysis, ctx.allow_prefixes, trusted, key)
        if not verdict.safe:
            raise _fail(UNSAFE, *diagnosis.unsafe(verdict.refused, gate.scripts))
        refused = gate.verify(verdict)  # each allowed name is what it claims to be
        if refused:
            raise _fail(UNSAFE, *diagnosis.unsafe(refused, gate.scripts))
        self._check_imports(verdict, golden, data)
        try:
            with budget.time_budget(timeout, "Loading the golden"):
                loaded = gate.load(data, verdict)
        except budget.LoadTimeout as exc:
            raise _fail(LOAD_ERROR, *diagnosis.timed_out(exc, loaded=True))
        except Exception as exc:
            lines = self._attribute_lines(verdict, golden)
            if lines:
                raise _fail(STATE_CHANGED, *diagnosis.state_changed(
                    lines, _exc_text(exc), golden.interpreter))
            raise _fail(LOAD_ERROR, "Loading the golden raised %s." % _exc_text(exc),
                        "Make the class accept its old state (__setstate__, __reduce__ "
                        "arguments); " + diagnosis.UPDATE_HINT + ".")
        # Not the current bytes: compare the graphs.  Attributes on one side only are a
        # state change (even where the class's == would not mind a stale attribute); the
        # current side is the object as its own pickle rebuilds it (see _pristine).
        current = ctx.obj if ctx.comparison.compare is not None else self._pristine_for(fresh)
        compared = ctx.comparison.check(loaded, current, max(protocol, 2))
        shape = compared.shape()
        if shape:
            lines = self._attribute_lines(verdict, golden) or shape
            raise _fail(STATE_CHANGED, *diagnosis.state_changed(lines, None, golden.interpreter))
        if not compared.ok:
            raise _fail(NOT_EQUAL, *diagnosis.not_equal(
                compared.outcome.lines(), compared.detail, golden.interpreter))

    def _attribute_lines(self, verdict, golden: GoldenFile) -> List[str]:
        """Readable structural changes when some object's attributes differ, else []."""
        protocol = max(2, min(verdict.protocol, pickle.HIGHEST_PROTOCOL))
        try:
            changes = self._structure(verdict.analysis, protocol)
        except Exception:
            return []
        if not diagnosis.attribute_changes(changes):
            return []
        changes = [c for c in changes if not self._same_class(c, verdict, protocol)]
        if len(changes) > diagnosis.MAX_CHANGES:
            changes = diagnosis.attribute_changes(changes)
        return diagnosis.describe_changes(changes)

    def _same_class(self, change, verdict, protocol: int) -> bool:
        """A class_changed that a rename or re-export already maps to the current class."""
        if change.kind != "class_changed":
            return False
        old = {"%s.%s" % name: target for name, target in verdict.targets.items()}.get(change.old)
        fresh = self._fresh_analysis_for(protocol)
        new = None
        if fresh is not None:
            new = {"%s.%s" % g: g for g in fresh.globals}.get(change.new)
        if old is None or new is None:
            return False
        try:
            return safety.resolve(*old) is safety.resolve(*new)
        except Exception:
            return False

    def _check_imports(self, verdict, golden: GoldenFile, data: bytes) -> None:
        missing = []
        resolve = self.ctx.state.gate.resolve
        for target in verdict.targets.values():
            found = resolve(target)
            if found.refused:  # an alias of another module's name: not the project's
                raise _fail(UNSAFE, *diagnosis.unsafe([safety.Refusal(
                    target[0], target[1], found.problem, None, "", "identity")]))
            if found.problem is not None:
                missing.append(diagnosis.Missing(target, found.problem, found.module_missing))
        if not missing:
            return
        ctx = self.ctx
        words = ctx.allow_prefixes
        # a suggested new place is imported to check it: only where the gate itself would import
        suggestions = diagnosis.suggest_moves(
            missing, ctx.rootdir, type(ctx.obj), lambda name: _gate_importable(name, words))
        verified = None
        rules = [diagnosis_rule(s) for s in suggestions if s is not None]
        if rules and len(rules) == len(missing):
            verified = self._verify_renames(verdict.analysis, rules, data)
        message, fix = diagnosis.moved(missing, suggestions, ctx.rootdir, verified, golden.interpreter)
        raise _fail(CLASS_MOVED, message, fix)

    def _verify_renames(self, analysis, rules: List[str], data: bytes) -> Optional[bool]:
        ctx = self.ctx
        renames = Renames.from_lines([r.line for r in ctx.renames.rules] + rules)
        protocol = max(2, min(analysis.protocol, pickle.HIGHEST_PROTOCOL))
        verdict = safety.decide(analysis, ctx.allow_prefixes, renames, self._trusted(protocol)[0])
        if not verdict.safe or ctx.state.gate.verify(verdict):
            return None
        try:
            loaded = safety.load(data, verdict)
        except Exception:
            return False
        return ctx.comparison.check(loaded, ctx.obj, max(analysis.protocol, 2)).ok

    # -------------------------------------------------------------- marshal
    def _replay_marshal(self, golden: GoldenFile, data: bytes) -> None:
        ctx = self.ctx
        version = golden.protocol or 0
        if version > marshal.version:
            raise _skip(UNREADABLE, diagnosis.unreadable_protocol(
                MARSHAL, version, golden.interpreter, marshal.version))
        entry = self.entry(golden)
        foreign = golden.interpreter != ctx.interpreter.tag
        if foreign and (entry.get("contains_code") or (data[:1] and data[0] & 0x7F == ord("c"))):
            self._skip_foreign_code(golden, _describe_code(data, golden.interpreter))
        if data == self._fresh(MARSHAL, version):
            return  # the current object's own bytes (see _replay_pickle)
        if _may_hold_code(data) and self._holds_code(golden, data):
            magic = (self.manifest(golden.interpreter) or {}).get("magic_number")
            if foreign or (isinstance(magic, int) and magic != ctx.interpreter.magic_number):
                self._skip_foreign_code(golden, None)
        try:
            loaded = marshal.loads(data)
        except (ValueError, EOFError, TypeError) as exc:
            raise _fail(CORRUPT, "The golden is not valid marshal data (%s)." % _exc_text(exc),
                        "Re-record it with `pytest --serialcompat-update` on %s, or delete it."
                        % golden.interpreter)
        self._compare(loaded, golden)

    def _skip_foreign_code(self, golden: GoldenFile, description: Optional[str]) -> None:
        ctx = self.ctx
        raise _skip(FOREIGN_CODE, diagnosis.foreign_code(
            golden.interpreter, (self.manifest(golden.interpreter) or {}).get("magic_number"),
            ctx.interpreter.tag, ctx.interpreter.magic_number, description))

    def _holds_code(self, golden: GoldenFile, data: bytes) -> bool:
        """Whether the golden holds code objects, read by the reference reader with the code
        layout of the producer's version before ``marshal.loads`` builds anything: that trusts
        its input, and builds a bogus code object from another version's bytes."""
        from .environment import parse_tag
        from .reference.codeinfo import CodeInfo, make_reader
        from .reference.marshal_codec import MarshalError

        parsed = parse_tag(golden.interpreter)
        producer = parsed[1] if parsed is not None else self.ctx.interpreter.major_minor
        try:
            value = make_reader(data, producer).read()
        except MarshalError as exc:
            raise _fail(CORRUPT, "The golden is not valid %s marshal data (%s); it was NOT loaded "
                        "(a code object of another Python version under %s's name reads like "
                        "this)." % (golden.interpreter, exc, golden.interpreter),
                        "Re-record it with `pytest --serialcompat-update` on %s, or delete it."
                        % golden.interpreter)
        if not contains_code(value, CodeInfo):
            return False
        if golden.interpreter == self.ctx.interpreter.tag:
            problem = _running_bytecode_problem(value)
            if problem is not None:
                raise _fail(CORRUPT, "The golden holds a code object that is not %s bytecode (%s); "
                            "it was NOT loaded (another Python version's code under %s's name "
                            "reads like this)." % (golden.interpreter, problem, golden.interpreter),
                            "Re-record it with `pytest --serialcompat-update` on %s, or delete it."
                            % golden.interpreter)
        return True

    # ----------------------------------------------------------------- json
    def _replay_json(self, golden: GoldenFile, data: bytes) -> None:
        ctx = self.ctx
        fresh = self._fresh(JSON, None)
        if fresh == data:
            return  # the current object's own bytes (see _replay_pickle)
        value = _read_canonical_json(golden, data)
        fresh_value = json.loads(fresh.decode("utf-8")) if fresh is not None else None
        codec = ctx.fresh.codec
        try:
            loaded = codec.from_json(value)
        except Exception as exc:
            lines = diagnosis.json_key_changes(value, fresh_value) if fresh is not None else []
            if lines:
                raise _fail(STATE_CHANGED, *diagnosis.state_changed(
                    lines, _exc_text(exc), golden.interpreter))
            raise _fail(LOAD_ERROR, "Decoding the golden with %s raised %s." % (
                codec.name, _exc_text(exc)), diagnosis.UPDATE_HINT)
        compared = ctx.comparison.check(loaded, ctx.obj)
        if not compared.ok:
            lines = diagnosis.json_key_changes(value, fresh_value) if fresh is not None else []
            if lines:
                raise _fail(STATE_CHANGED, *diagnosis.state_changed(lines, None, golden.interpreter))
            raise _fail(NOT_EQUAL, *diagnosis.not_equal(
                compared.outcome.lines(), compared.detail, golden.interpreter))


# Formats whose replay outcome depends on the bytes alone, not on which interpreter wrote
# them (a marshal golden holding code is skipped when another version wrote it).
_PRODUCER_NEUTRAL = frozenset((PICKLE, JSON))

REPLAYERS = {
    PICKLE: Replayer._replay_pickle,
    MARSHAL: Replayer._replay_marshal,
    JSON: Replayer._replay_json,
}


SELF_CHECK_READERS = {
    PICKLE: lambda replayer, data: pickle.loads(data),
    MARSHAL: lambda replayer, data: marshal.loads(data),
    JSON: lambda replayer, data: replayer.ctx.fresh.codec.from_json(json.loads(data.decode("utf-8"))),
}


def diagnosis_rule(suggestion) -> str:
    from .renames import format_rule

    return format_rule(suggestion.old, suggestion.new)


def _importable(name) -> bool:
    try:
        safety.resolve(*name)
    except Exception:
        return False
    return True


def _gate_importable(name, words) -> bool:
    """Whether the gate would import ``name``'s module (and it resolves there)."""
    from .reference.allowlist import classify

    if classify(name[0], name[1], safety._words(words))[0] is None:
        return False
    return _importable(name)


_CODE_TYPES = (b"c", b"\xe3")  # TYPE_CODE, with and without FLAG_REF


def _may_hold_code(data: bytes) -> bool:
    """False only when no byte of ``data`` could start a code object (a quick filter)."""
    return any(code in data for code in _CODE_TYPES)


def _running_bytecode_problem(value) -> Optional[str]:
    from .reference.codeinfo import CodeInfo, running_bytecode_problem

    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if isinstance(item, CodeInfo):
            problem = running_bytecode_problem(item)
            if problem is not None:
                return problem
        elif id(item) not in seen and isinstance(item, (tuple, list, set, frozenset, dict)):
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return None


def _read_canonical_json(golden: GoldenFile, data: bytes):
    """The value of a JSON golden, read strictly: what canonical JSON refuses is corrupt."""
    from .reference.canonical_json import (
        CanonicalJSONError, canonical_json_dumps, canonical_json_loads,
    )

    fix = "Re-record it with `pytest --serialcompat-update` on %s, or delete it." % golden.interpreter
    try:
        value = canonical_json_loads(data)
    except CanonicalJSONError as exc:
        raise _fail(CORRUPT, "The golden is not canonical JSON: %s." % exc, fix)
    canonical = canonical_json_dumps(value)
    if canonical != data:
        at = next((i for i, (a, b) in enumerate(zip(canonical, data)) if a != b),
                  min(len(canonical), len(data)))
        raise _fail(CORRUPT, "The golden is valid JSON but not canonical JSON (sorted keys, no "
                    "whitespace, shortest numbers; first difference at byte %d): this plugin did "
                    "not write it." % at, fix)
    return value


def _describe_code(data: bytes, producer: str) -> Optional[str]:
    """A short description of another version's code object, from the reference reader."""
    from .environment import parse_tag

    parsed = parse_tag(producer)
    if parsed is None:
        return None
    try:
        from .reference.codeinfo import read_code

        info = read_code(data, python_version=parsed[1])
    except Exception:
        return None
    name = getattr(info, "name", None) or getattr(info, "co_name", None)
    return "%r" % name if name else None


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
