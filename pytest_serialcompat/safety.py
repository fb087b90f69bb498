"""The safety gate: a golden is analyzed before the real unpickler ever sees it.

1. The reference analyzer runs the pickle symbolically (it imports and calls
   nothing) and lists every global the stream names.
2. Each global, after ``serialcompat_renames``, must be accepted by the
   allow-list: stdlib data types, the project's own top-level packages and
   ``serialcompat_allow`` prefixes -- or be a global that the *current*
   object's own pickle names (what the project itself writes, it may read).
3. Only then is the golden loaded, by an unpickler whose ``find_class``
   resolves exactly the verified globals and nothing else (defence in depth:
   an analyzer bug cannot widen what gets imported).
"""

import importlib
import io
import pickle
import sys
from typing import Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Tuple

import _compat_pickle

from .renames import Renames

Global = Tuple[str, str]


class Refusal(NamedTuple):
    module: str
    qualname: str
    reason: str
    renamed_to: Optional[Global] = None

    @property
    def name(self) -> str:
        # findings that are not about a global (e.g. a persistent id) carry only a kind
        return "%s.%s" % (self.module, self.qualname) if self.qualname else self.module


class Verdict(NamedTuple):
    analysis: object                 # reference.analyzer.Analysis
    protocol: int
    targets: Dict[Global, Global]    # stream global (py3 names) -> where it is loaded from
    refused: List[Refusal]

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


def analyze(data: bytes, allow_prefixes: Iterable[str], *, tree: bool = True):
    """Run the reference analyzer (raises MalformedPickle on corrupt input).

    ``tree=False`` when only the verdict is needed (the gate): no structural tree.
    """
    from .reference.analyzer import analyze as reference_analyze

    return reference_analyze(data, allow=list(allow_prefixes), tree=tree)


def _is_allowed(module: str, qualname: str, allow_prefixes) -> Optional[str]:
    from .reference.allowlist import is_allowed

    return is_allowed(module, qualname, extra_prefixes=tuple(allow_prefixes))


def decide(analysis, allow_prefixes: Iterable[str], renames: Renames,
           trusted: FrozenSet[Global] = frozenset()) -> Verdict:
    """The gate's verdict on an analyzed golden."""
    allow_prefixes = tuple(allow_prefixes)
    protocol = analysis.protocol
    unsafe = {}
    targets: Dict[Global, Global] = {}
    refused: List[Refusal] = []
    # The analyzer already reports globals by the names the loader resolves
    # (Python 2 names mapped under the protocol in force), so no re-mapping.
    for item in analysis.unsafe:
        if not item.module:
            refused.append(Refusal(getattr(item, "kind", "") or "stream", "", item.reason))
            continue
        unsafe[(item.module, item.qualname)] = item.reason
    names = list(analysis.globals)
    names.extend(g for g in unsafe if g not in names)
    for name in names:
        target = renames.apply(*name) if renames else name
        if target != name:
            reason = _is_allowed(target[0], target[1], allow_prefixes)
            if reason is not None and target not in trusted:
                refused.append(Refusal(name[0], name[1], "renamed to %s.%s, which is refused: %s"
                                       % (target + (reason,)), target))
                continue
        elif name in unsafe and name not in trusted:
            refused.append(Refusal(name[0], name[1], unsafe[name]))
            continue
        targets[name] = target
    return Verdict(analysis, protocol, targets, refused)


def resolve(module: str, qualname: str):
    """Import ``module`` and walk ``qualname``; ImportError/AttributeError when it does not exist."""
    obj = sys.modules.get(module)
    if obj is None:
        importlib.import_module(module)
        obj = sys.modules[module]
    for part in qualname.split("."):
        if part == "<locals>":
            raise AttributeError("%s.%s is a local object" % (module, qualname))
        obj = getattr(obj, part)
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
        return resolve(*target)


def load(data: bytes, verdict: Verdict, objects: Optional[Dict[Global, object]] = None):
    return GuardedUnpickler(io.BytesIO(data), verdict, objects).load()


class Resolution(NamedTuple):
    """What a verified target resolves to in this interpreter, or why it does not."""

    obj: object = None
    problem: Optional[str] = None      # "ImportError: ..." / "AttributeError: ..."
    module_missing: bool = False       # the module itself does not import


class Gate:
    """The gate's memory for one session.

    Decisions depend only on the globals and findings of an analysis (many
    goldens name the same few globals), the allow-list and the renames; and a
    verified target resolves to the same object every time.  Both are kept, so
    that each golden pays only for its own analysis and a dictionary lookup.
    """

    def __init__(self, renames: Renames):
        self.renames = renames
        self._decisions: Dict[tuple, Tuple[Dict[Global, Global], List[Refusal]]] = {}
        self._resolved: Dict[Global, Resolution] = {}
        # id(verdict.targets) -> (targets, resolved objects): a remembered decision hands out
        # the same targets dict, so its objects are looked up once
        self._objects: Dict[int, Tuple[Dict[Global, Global], Dict[Global, object]]] = {}

    def decide(self, analysis, allow_prefixes: Iterable[str]) -> Verdict:
        allow_prefixes = tuple(allow_prefixes)
        key = (allow_prefixes, tuple(analysis.globals), tuple(analysis.unsafe))
        known = self._decisions.get(key)
        if known is None:
            verdict = decide(analysis, allow_prefixes, self.renames)
            self._decisions[key] = (verdict.targets, verdict.refused)
            return verdict
        return Verdict(analysis, analysis.protocol, known[0], known[1])

    def resolve(self, target: Global) -> Resolution:
        found = self._resolved.get(target)
        if found is None:
            try:
                found = Resolution(resolve(*target))
            except ImportError as exc:
                found = Resolution(None, exc_text(exc), True)
            except AttributeError as exc:
                found = Resolution(None, exc_text(exc), False)
            self._resolved[target] = found
        return found

    def load(self, data: bytes, verdict: Verdict):
        """Load a verified golden; its targets are resolved through this gate's memory."""
        targets = verdict.targets
        known = self._objects.get(id(targets))
        if known is not None and known[0] is targets:
            return load(data, verdict, known[1])
        objects = {}
        for name, target in targets.items():
            found = self.resolve(target)
            if found.problem is None:
                objects[name] = found.obj
        self._objects[id(targets)] = (targets, objects)
        return load(data, verdict, objects)


def exc_text(exc: BaseException) -> str:
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__
