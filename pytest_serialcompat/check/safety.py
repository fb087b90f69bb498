"""The safety gate: a golden is analyzed before the real unpickler ever sees it.

1. The reference analyzer runs the pickle symbolically (it imports and calls
   nothing) and lists every global the stream names.
2. Each global, after ``serialcompat_renames``, is judged by its *use*
   (:data:`~.reference.analyzer.USE_CALL`, ``USE_CONSTRUCT``, ``USE_BUILD``):
   the stdlib table and enabled library families (exact entries) may be used
   as their entries say; classes under the project's own top-level packages
   and ``serialcompat_allow`` prefixes may be constructed and given state,
   never called; a call needs an exact ``serialcompat_allow`` name, or the
   *current* object's own pickle making that same call of that same global
   (what the project itself writes, it may read).  Trust is per use: the
   current pickle constructing X trusts constructing X, not calling it.
3. Every allowed global that is not a curated entry is resolved and checked to
   be what it claims (:func:`identity_problem`): its own ``__module__`` and
   ``__qualname__`` must be the name or another allowed one for the same use
   (``myapp.util.run`` that is really ``subprocess.run`` is refused), and a
   constructed class's ``__new__``/``__setstate__`` must come from an allowed
   class.
4. Only then is the golden loaded, by an unpickler whose ``find_class``
   resolves exactly the verified globals and checks them again (defence in
   depth: an analyzer bug cannot widen what gets imported).
"""

import enum
import importlib
import io
import pickle
import sys
import types
from typing import Dict, FrozenSet, Iterable, List, Mapping, NamedTuple, Optional, Tuple

import _compat_pickle

from ..renames import Renames

Global = Tuple[str, str]


USE_CALL, USE_CONSTRUCT, USE_BUILD = "call", "construct", "build"   # as reference.analyzer names them

Trust = Mapping[Global, FrozenSet[str]]  # global -> the uses the current object's own pickle makes


class Refusal(NamedTuple):
    module: str
    qualname: str
    reason: str
    renamed_to: Optional[Global] = None
    use: str = ""        # "call" / "construct" when the refusal is about that use of the global
    kind: str = ""       # the analyzer finding's kind, or "identity" for a name that is not what it claims

    @property
    def name(self) -> str:
        # findings that are not about a global (e.g. a persistent id) carry only a kind
        return "%s.%s" % (self.module, self.qualname) if self.qualname else self.module


class Verdict(NamedTuple):
    analysis: object                 # reference.analyzer.Analysis
    protocol: int
    targets: Dict[Global, Global]    # stream global (py3 names) -> where it is loaded from
    refused: List[Refusal]
    # targets that are not curated entries -> their uses: resolved and checked before loading
    checks: Mapping[Global, FrozenSet[str]] = {}
    words: Tuple[str, ...] = ()      # the allow words the verdict was made with
    trusted: Trust = {}

    @property
    def safe(self) -> bool:
        return not self.refused


def py3_name(module: str, name: str, protocol: int) -> Global:
    """The name the C unpickler resolves (``fix_imports`` maps Python 2 names below protocol 3)."""
    if protocol < 3:
        mapped = _compat_pickle.NAME_MAPPING.get((module, name))
        if mapped is not None:
            return mapped
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return module, name


def analyze(data: bytes, allow_prefixes: Iterable[str], *, tree: bool = True, limits=None):
    """Run the reference analyzer (raises MalformedPickle on corrupt input or past ``limits``).

    ``tree=False`` when only the verdict is needed (the gate): no structural tree.
    """
    from ..reference.analyzer import analyze as reference_analyze

    return reference_analyze(data, allow=list(allow_prefixes), tree=tree, limits=limits)


def _words(allow_prefixes) -> Tuple[str, ...]:
    from ..reference.allowlist import check_prefixes

    return check_prefixes(tuple(allow_prefixes))


def as_trust(trusted) -> Trust:
    """A use-aware trust mapping; a plain set of globals trusts their names only."""
    if isinstance(trusted, Mapping):
        return trusted
    return {g: frozenset() for g in trusted}


def trust_of(analysis) -> Trust:
    """What the current object's own pickle vouches for: each global it names, with its uses."""
    if analysis is None:
        return {}
    uses = analysis.uses
    return {g: uses.get(g, frozenset()) for g in analysis.globals}


# Findings no trust waives: what a BUILD or a mutation changes, and what the data costs.
# The current pickle doing the same proves the name is the project's, not that the
# golden's state is harmless.
_NEVER_WAIVED = frozenset(("build", "mutation", "cost"))


def _waived(item, trusted: Trust) -> bool:
    """A finding the current object's own pickle vouches for: a name it names, a call it makes.

    Only a *name* finding ("not on the allow-list") or a call of that global the
    current pickle makes too; never a finding about a call's arguments, a BUILD
    or a mutation.
    """
    kind = getattr(item, "kind", "global")
    if kind in _NEVER_WAIVED:
        return False
    uses = trusted.get((item.module, item.qualname))
    if uses is None:
        return False
    use = getattr(item, "use", "")
    if use:
        return use != USE_BUILD and use in uses
    return kind == "global"  # only "not on the allow-list" names


def use_problem(module: str, qualname: str, uses, words: Tuple[str, ...], trusted: Trust) -> Optional[str]:
    """Why these uses of a global are refused (None when all are allowed)."""
    from ..reference.allowlist import CHECKED, CONSTRUCT, FREE, classify

    category, reason = classify(module, qualname, words)
    granted = trusted.get((module, qualname))
    if category is None and granted is None:
        return reason
    if category == CHECKED:
        return "%s.%s: a pickle helper allowed only in the call shapes pickle writes" % (module, qualname)
    for use in uses:
        if use == USE_CALL and category != FREE and not (granted and USE_CALL in granted):
            return ("%s.%s is called, and only its construction is allowed" % (module, qualname)
                    if category == CONSTRUCT else reason or "%s.%s is called" % (module, qualname))
        if use == USE_CONSTRUCT and category not in (FREE, CONSTRUCT) and not (granted and use in granted):
            return reason or "%s.%s is constructed" % (module, qualname)
    return None


def decide(analysis, allow_prefixes: Iterable[str], renames: Renames,
           trusted=frozenset()) -> Verdict:
    """The gate's verdict on an analyzed golden.

    ``trusted``: what the current object's own pickle does (:func:`trust_of`),
    which waives the same findings in the golden -- a name it names, a use it
    makes of that global.
    """
    from ..reference.allowlist import curated

    words = _words(allow_prefixes)
    trusted = as_trust(trusted)
    protocol = analysis.protocol
    uses = getattr(analysis, "uses", None) or {}
    findings: Dict[Global, list] = {}
    targets: Dict[Global, Global] = {}
    checks: Dict[Global, FrozenSet[str]] = {}
    refused: List[Refusal] = []
    # The analyzer already reports globals by the names the loader resolves
    # (Python 2 names mapped under the protocol in force), so no re-mapping.
    for item in analysis.unsafe:
        if not item.module:
            refused.append(Refusal(getattr(item, "kind", "") or "stream", "", item.reason,
                                   kind=getattr(item, "kind", "")))
            continue
        findings.setdefault((item.module, item.qualname), []).append(item)
    names = list(analysis.globals)
    names.extend(g for g in findings if g not in names)
    for name in names:
        target = renames.apply(*name) if renames else name
        used = uses.get(name, frozenset())
        if target != name:
            reason = use_problem(target[0], target[1], used, words, trusted)
            if reason is not None:
                refused.append(Refusal(name[0], name[1], "renamed to %s.%s, which is refused: %s"
                                       % (target + (reason,)), target, _main_use(used)))
                continue
        else:
            kept = [item for item in findings.get(name, ()) if not _waived(item, trusted)]
            if kept:
                for item in kept:
                    refused.append(Refusal(name[0], name[1], item.reason, None,
                                           getattr(item, "use", ""), getattr(item, "kind", "")))
                continue
        targets[name] = target
        if not curated(target[0], target[1], words):
            checks[target] = checks.get(target, frozenset()) | used
    return Verdict(analysis, protocol, targets, refused, checks, words, trusted)


def _main_use(uses) -> str:
    return USE_CALL if USE_CALL in uses else USE_CONSTRUCT if USE_CONSTRUCT in uses else ""


def _name_of(obj) -> Optional[Global]:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return module, qualname
    return None


def identity_problem(target: Global, obj, uses, words: Tuple[str, ...], trusted: Trust = {}) -> Optional[str]:
    """Why the object a verified name resolved to may not be used so (None when it may).

    Pickle itself writes a class or function by its own ``__module__`` and
    ``__qualname__``; a golden naming it elsewhere is naming a re-export.  That is
    accepted only when the real name is allowed for the same uses (a class moved and
    re-exported at its old path is still the project's class).  A constructed class
    runs its ``__new__`` and, under BUILD, its ``__setstate__``: each must come
    from an allowed class (or be a builtin type's), not from whatever it inherits.
    """
    from ..reference.allowlist import CONSTRUCT, FREE, classify

    label = "%s.%s" % target
    if isinstance(obj, types.ModuleType):
        return "%s resolves to the module %s, not a class or function" % (label, obj.__name__)
    real = _name_of(obj)
    if real is None:
        return "%s resolves to a %s object, not a class or function" % (label, type(obj).__name__)
    if real != target:
        problem = use_problem(real[0], real[1], uses or (), words, trusted)
        if problem is not None:
            return "%s is really %s.%s (re-exported), and %s" % (label, real[0], real[1], _tail(problem, real))
    if USE_CONSTRUCT in uses and not isinstance(obj, type):
        return "%s is constructed, but is a %s, not a class" % (label, type(obj).__name__)
    if USE_BUILD in uses:
        # BUILD may change only an object the stream constructed: not what a function
        # returned (it may hand out a shared object), not an enum member (shared by the run)
        if not isinstance(obj, type):
            if not _builds_results(target, words, trusted):
                return ("BUILD on what %s returns changes an object the stream did not construct "
                        "(a function may return a shared object)" % label)
        elif issubclass(obj, enum.Enum):
            return "BUILD on a member of the enum %s changes it for the whole run" % label
        elif issubclass(obj, type):
            return "BUILD on an instance of %s changes a class" % label
    # (BUILD on what a called function returned is BUILD on an object of a type the
    # stream never names: only a class's own hooks can be checked here)
    if isinstance(obj, type) and (USE_CONSTRUCT in uses or USE_BUILD in uses):
        for hook, use in (("__new__", USE_CONSTRUCT), ("__setstate__", USE_BUILD)):
            if use not in uses:
                continue
            owner = next((c for c in obj.__mro__ if hook in vars(c)), None)
            if owner is None or owner.__module__ == "builtins":
                continue  # object's, or a builtin type's
            owner_name = _name_of(owner)
            category = classify(owner_name[0], owner_name[1], words)[0] if owner_name else None
            if category not in (FREE, CONSTRUCT) and owner_name not in trusted:
                owner_label = "%s.%s" % owner_name if owner_name else repr(owner)
                return "%s %s runs %s.%s, which is not the project's (%s is not on the allow-list)" % (
                    "BUILD on" if use == USE_BUILD else "constructing", label, owner_label, hook, owner_label)
    return None


def _builds_results(target: Global, words: Tuple[str, ...], trusted: Trust) -> bool:
    """Whether BUILD may give state to what the function ``target`` returns.

    A library family's reconstructor (numpy's ``_reconstruct``: a new array, then
    its state), or one whose result the current object's own pickle builds too
    (the project's own reduce shape).  An exact allow word grants the call only:
    what the function returns may be shared.
    """
    from ..reference.allowlist import family_entry

    owned = family_entry(*target)
    if owned is not None and owned[1].use == "call":
        return True
    return USE_BUILD in (trusted.get(target) or ())


def _tail(problem: str, real: Global) -> str:
    prefix = "%s.%s: " % real
    return problem[len(prefix):] if problem.startswith(prefix) else problem


class ReachedModule(Exception):
    """A qualname walk that passed through a module: another module's attribute (an alias)."""


def resolve(module: str, qualname: str):
    """Import ``module`` and walk ``qualname``; ImportError/AttributeError when it does not exist.

    A walk never passes through a module: ``myapp.util._os.system`` is ``os.system``
    reached through an alias (:class:`ReachedModule`); only ``module`` itself is imported.
    """
    obj = sys.modules.get(module)
    if obj is None:
        importlib.import_module(module)
        obj = sys.modules[module]
    parts = qualname.split(".")
    for i, part in enumerate(parts):
        if part == "<locals>":
            raise AttributeError("%s.%s is a local object" % (module, qualname))
        obj = getattr(obj, part)
        if i < len(parts) - 1 and isinstance(obj, types.ModuleType):
            raise ReachedModule("%s.%s walks through %r, which is the module %s: a name is judged where "
                                "it is defined, never through another module's attribute"
                                % (module, qualname, part, obj.__name__))
    return obj


class GuardedUnpickler(pickle.Unpickler):
    """The C unpickler, restricted to the globals the gate verified.

    ``objects`` maps verified stream globals to what they resolve to (filled
    by :class:`Gate`); anything else is looked up by name among the verified
    targets, and a global that is not one of them is refused.
    """

    def __init__(self, file, verdict: Verdict, objects: Optional[Dict[Global, object]] = None):
        super().__init__(file)
        self._targets = verdict.targets
        self._protocol = verdict.protocol
        self._objects = objects if objects is not None else {}
        self._verdict = verdict

    def find_class(self, module, name):
        key = (module, name) if self._protocol >= 3 else py3_name(module, name, self._protocol)
        found = self._objects.get(key)
        if found is not None:
            return found
        target = self._targets.get(key)
        if target is None:
            raise pickle.UnpicklingError(
                "global %s.%s was not verified by the serialcompat safety gate" % key
            )
        obj = resolve(*target)
        verdict = self._verdict
        if target in verdict.checks:
            problem = identity_problem(target, obj, verdict.checks[target], verdict.words, verdict.trusted)
            if problem is not None:
                raise pickle.UnpicklingError("serialcompat safety gate: " + problem)
        return obj


_FRAMED = (b"\x80\x04\x95", b"\x80\x05\x95")  # PROTO 4 or 5, then FRAME


def load(data: bytes, verdict: Verdict, objects: Optional[Dict[Global, object]] = None):
    stream = io.BytesIO(data)
    if data[:3] not in _FRAMED:
        # No frames (protocols 0-3): the C unpickler would call the stream's read() for each
        # opcode; given a reader that can peek, it takes the bytes in one piece.
        stream = io.BufferedReader(stream)
    return GuardedUnpickler(stream, verdict, objects).load()


class Resolution(NamedTuple):
    """What a verified target resolves to in this interpreter, or why it does not."""

    obj: object = None
    problem: Optional[str] = None      # "ImportError: ..." / "AttributeError: ..."
    module_missing: bool = False       # the module itself does not import
    refused: bool = False              # it exists, but is reached through another module (an alias)


def decision_facts(analysis) -> tuple:
    """What a decision depends on in an analysis, hashable: its globals, findings and uses."""
    return (tuple(analysis.globals), tuple(analysis.unsafe),
            tuple(sorted(getattr(analysis, "uses", {}).items())))


class Gate:
    """The gate's memory for one session.

    Decisions depend only on the globals and findings of an analysis (many
    goldens name the same few globals), the allow-list and the renames; and a
    verified target resolves to the same object every time.  Both are kept, so
    that each golden pays only for its own analysis and a dictionary lookup.
    """

    def __init__(self, renames: Renames, scripts: FrozenSet[str] = frozenset()):
        self.renames = renames
        # top-level scripts of the rootdir (project.top_level_scripts): never imported for a
        # golden, whatever the allow words -- importing one runs it
        self.scripts = frozenset(scripts)
        self._decisions: Dict[tuple, Tuple[Dict[Global, Global], List[Refusal]]] = {}
        self._resolved: Dict[Global, Resolution] = {}
        self._identity: Dict[tuple, Optional[str]] = {}
        self._keep: list = []
        # A remembered decision hands out the same facts, checks and targets mappings to
        # every verdict made from it: what follows from them is found by their identity.
        self._shared = _ByIdentity()     # facts -> the decision (see decide)
        self._verified = _ByIdentity()   # checks -> the refusals (see verify)
        self._resolving = _ByIdentity()  # targets -> whether all resolve (see all_resolve)
        self._objects = _ByIdentity()    # targets -> the resolved objects (see load)

    def decide(self, analysis, allow_prefixes: Iterable[str], trusted: Trust = None, trust_key=None) -> Verdict:
        """:func:`decide`, remembered.  With ``trusted``, ``trust_key`` must identify it (hashable)."""
        allow_prefixes = tuple(allow_prefixes)
        trust_key = trust_key if trusted else None
        facts = getattr(analysis, "facts", None)  # a GoldenAnalysis keeps them (asked twice)
        if facts is not None:
            # analyses of one remembered entry share one facts tuple: not hashed again
            shared = self._shared.get(facts, (allow_prefixes, trust_key))
            if shared is not None:
                return Verdict(analysis, analysis.protocol, *shared)
        else:
            facts = decision_facts(analysis)
        key = (allow_prefixes, facts, trust_key)
        known = self._decisions.get(key)
        if known is None:
            verdict = decide(analysis, allow_prefixes, self.renames, trusted or frozenset())
            known = self._decisions[key] = verdict[2:]
        else:
            verdict = Verdict(analysis, analysis.protocol, *known)
        if getattr(analysis, "facts", None) is facts:
            self._shared.put(facts, (allow_prefixes, trust_key), known)
        return verdict

    def verify(self, verdict: Verdict) -> List[Refusal]:
        """Refusals for allowed names that resolve to something else (see identity_problem).

        A target that does not import is left to the class-moved diagnosis.  Verdicts of one
        remembered decision share its ``checks`` (and trust): they are verified once.
        """
        checks, trusted = verdict.checks, verdict.trusted
        # (the trust is the decision's own, kept alive with it: its id stays its own)
        shared = self._verified.get(checks, (verdict.words, id(trusted)))
        if shared is not None:
            return list(shared)
        refused = []
        for target, uses in checks.items():
            key = (target, uses, verdict.words, id(trusted) if trusted else None)
            problem = self._identity.get(key, _MISSING)
            if problem is _MISSING:
                found = self.resolve(target)
                if found.refused:
                    problem = found.problem
                else:
                    problem = None if found.problem is not None else identity_problem(
                        target, found.obj, uses, verdict.words, trusted)
                if trusted:
                    self._keep.append(trusted)  # id() stays unique while it is remembered
                self._identity[key] = problem
            if problem is not None:
                names = [name for name, t in verdict.targets.items() if t == target] or [target]
                hook = problem.startswith(("BUILD on ", "constructing "))  # an inherited __new__/__setstate__
                refused.append(Refusal(names[0][0], names[0][1], problem, None if names[0] == target else target,
                                       _main_use(uses), "hook" if hook else "identity"))
        self._verified.put(checks, (verdict.words, id(trusted)), tuple(refused))
        return refused

    def all_resolve(self, targets: Dict[Global, Global]) -> bool:
        """Whether every target imports, none through another module (remembered per targets
        mapping: the verdicts of one decision share theirs)."""
        found = self._resolving.get(targets)
        if found is None:
            found = all(self.resolve(target).problem is None for target in targets.values())
            self._resolving.put(targets, None, found)
        return found

    def resolve(self, target: Global) -> Resolution:
        found = self._resolved.get(target)
        if found is None and self.scripts:
            top = target[0].split(".", 1)[0]
            if top in self.scripts and top not in sys.modules:
                found = self._resolved[target] = Resolution(None, script_problem(target), False, True)
        if found is None:
            try:
                found = Resolution(resolve(*target))
            except ReachedModule as exc:
                found = Resolution(None, str(exc), False, True)
            except ImportError as exc:
                found = Resolution(None, exc_text(exc), True)
            except AttributeError as exc:
                found = Resolution(None, exc_text(exc), False)
            self._resolved[target] = found
        return found

    def load(self, data: bytes, verdict: Verdict):
        """Load a verified golden; its targets are resolved through this gate's memory."""
        targets = verdict.targets
        known = self._objects.get(targets)
        if known is not None:
            return load(data, verdict, known)
        refused = self.verify(verdict)  # callers verify first; never hand out an unverified object
        if refused:
            raise pickle.UnpicklingError("serialcompat safety gate: %s" % refused[0].reason)
        objects = {}
        for name, target in targets.items():
            found = self.resolve(target)
            if found.problem is None:
                objects[name] = found.obj
        self._objects.put(targets, None, objects)
        return load(data, verdict, objects)


class _ByIdentity:
    """What follows from one object (and a hashable ``extra``), found by the object's
    identity, never by hashing or comparing it.  Each entry keeps its object alive, so an
    id stands for one object while it is remembered; at most ``bound`` entries."""

    __slots__ = ("_entries", "_bound")

    def __init__(self, bound: int = 4096):
        self._entries: Dict[tuple, tuple] = {}
        self._bound = bound

    def get(self, obj, extra=None):
        """The value put for ``obj`` and ``extra``, else None."""
        found = self._entries.get((id(obj), extra))
        return found[1] if found is not None and found[0] is obj else None

    def put(self, obj, extra, value) -> None:
        if len(self._entries) >= self._bound:
            self._entries.clear()
        self._entries[(id(obj), extra)] = (obj, value)


_MISSING = object()


def script_problem(target: Global) -> str:
    top = target[0].split(".", 1)[0]
    return ("%s.%s is in %s.py, a top-level script of the project: the gate never imports one "
            "(importing it runs it)" % (target + (top,)))


def exc_text(exc: BaseException) -> str:
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__
