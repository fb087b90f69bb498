"""A readable, size-capped difference between two live objects, by attribute path.

Used for diagnosis (c): the golden loads but is not equal to the current
object.  Paths use the notation of the structural tree diff: ``obj.items[3].price``,
``obj['key']``.
"""

import reprlib
from typing import Any, Dict, List, Tuple

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3

MISSING = object()


def short(value) -> str:
    try:
        return _repr.repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the diff
        return "<%s (repr failed: %s)>" % (type(value).__name__, type(exc).__name__)


def type_name(value) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "")
    return cls.__qualname__ if module == "builtins" else "%s.%s" % (module, cls.__qualname__)


def _slot_names(cls) -> tuple:
    """The instance slots of a class and its bases (mangled names resolved)."""
    names = []
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        for slot in slots:
            if slot in ("__dict__", "__weakref__"):
                continue
            if slot.startswith("__") and not slot.endswith("__"):
                slot = "_%s%s" % (klass.__name__.lstrip("_"), slot)
            names.append(slot)
    return tuple(names)


# type -> (instances may have a __dict__, slot names, obj.__dict__ is the whole state and
# may be read directly): the walk asks once per type
_PLANS: Dict[type, Tuple[bool, tuple, bool]] = {}
_MAX_PLANS = 4096


class _Ordinary:
    pass


_DICT_DESCRIPTOR = type(vars(_Ordinary)["__dict__"])  # getset_descriptor


def _plan(cls) -> Tuple[bool, tuple, bool]:
    plan = _PLANS.get(cls)
    if plan is None:
        descriptor = next((vars(klass)["__dict__"] for klass in cls.__mro__
                           if "__dict__" in vars(klass)), None)
        slots = _slot_names(cls)
        # Only a class with default attribute access, the standard instance __dict__ and
        # no slots may have obj.__dict__ read directly; the rest go through state().
        direct = (not slots and type(descriptor) is _DICT_DESCRIPTOR
                  and cls.__getattribute__ is object.__getattribute__
                  and not issubclass(cls, (dict, list, tuple, set, frozenset) + _ATOMS))
        plan = (descriptor is not None, slots, direct)
        if len(_PLANS) < _MAX_PLANS:
            _PLANS[cls] = plan
    return plan


_NO_STATE: Dict[str, Any] = {}


def state(obj) -> Dict[str, Any]:
    """Instance attributes: ``__dict__`` plus filled ``__slots__`` (do not modify the result)."""
    has_dict, slots, _direct = _plan(type(obj))
    attrs = _NO_STATE
    if has_dict:
        try:
            attrs = object.__getattribute__(obj, "__dict__")
        except AttributeError:
            attrs = _NO_STATE
        if not isinstance(attrs, dict):
            attrs = _NO_STATE
    if not slots:
        return attrs
    merged = {}
    for slot in slots:
        value = getattr(obj, slot, MISSING)
        if value is not MISSING:
            merged[slot] = value
    merged.update(attrs)
    return merged


def one_sided(path: str, old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    """One line per attribute that only one side has."""
    lines = ["%s.%s: only in golden (= %s)" % (path, name, short(value))
             for name, value in old.items() if name not in new]
    lines.extend("%s.%s: only in current (= %s)" % (path, name, short(value))
                 for name, value in new.items() if name not in old)
    return lines


def _safe_equal(a, b):
    try:
        return bool(a == b), None
    except Exception as exc:
        return False, "%s: %s" % (type(exc).__name__, exc)


class _Differ:
    def __init__(self, limit: int, max_depth: int):
        self.lines: List[str] = []
        self.limit = limit
        self.max_depth = max_depth
        self.truncated = False
        self.seen = set()

    def add(self, line: str) -> None:
        if len(self.lines) >= self.limit:
            self.truncated = True
        else:
            self.lines.append(line)

    def full(self) -> bool:
        return len(self.lines) >= self.limit

    def diff(self, old, new, path: str, depth: int) -> None:
        if self.full():
            self.truncated = True
            return
        if type(old) is not type(new):
            self.add("%s: type %s (golden) != %s (current)" % (path, type_name(old), type_name(new)))
            return
        key = (id(old), id(new))
        if key in self.seen:
            return
        self.seen.add(key)
        equal, error = _safe_equal(old, new)
        if equal:
            return
        if depth >= self.max_depth:
            self.add("%s: %s != %s" % (path, short(old), short(new)))
            return
        if isinstance(old, dict):
            self._mapping(old, new, path, depth)
        elif isinstance(old, (list, tuple)):
            self._sequence(old, new, path, depth)
        elif isinstance(old, (set, frozenset)):
            only_old, only_new = old - new, new - old
            if only_old:
                self.add("%s: only in golden: %s" % (path, short(only_old)))
            if only_new:
                self.add("%s: only in current: %s" % (path, short(only_new)))
        else:
            old_state, new_state = state(old), state(new)
            before = len(self.lines)
            if old_state or new_state:
                self._attributes(old_state, new_state, path, depth)
            if len(self.lines) == before:
                reason = " (%s)" % error if error else ""
                if old_state == new_state and old_state and type(old).__eq__ is object.__eq__:
                    reason = (" (same state, but %s has no __eq__: pass compare= or register a "
                              "comparator)" % type_name(old))
                self.add("%s: %s != %s%s" % (path, short(old), short(new), reason))

    def _attributes(self, old, new, path, depth):
        for line in one_sided(path, old, new):
            self.add(line)
        for name in old:
            if name in new:
                self.diff(old[name], new[name], "%s.%s" % (path, name), depth + 1)

    def _mapping(self, old, new, path, depth):
        for key in old:
            if key not in new:
                self.add("%s[%s]: only in golden (= %s)" % (path, short(key), short(old[key])))
        for key in new:
            if key not in old:
                self.add("%s[%s]: only in current (= %s)" % (path, short(key), short(new[key])))
        for key in old:
            if key in new:
                self.diff(old[key], new[key], "%s[%s]" % (path, short(key)), depth + 1)

    def _sequence(self, old, new, path, depth):
        if len(old) != len(new):
            self.add("%s: length %d (golden) != %d (current)" % (path, len(old), len(new)))
        for index, (a, b) in enumerate(zip(old, new)):
            self.diff(a, b, "%s[%d]" % (path, index), depth + 1)


def object_diff(old, new, *, limit: int = 20, max_depth: int = 12, root: str = "obj") -> List[str]:
    """Lines describing how ``old`` (loaded golden) differs from ``new`` (current)."""
    differ = _Differ(limit, max_depth)
    try:
        differ.diff(old, new, root, 0)
    except RecursionError:
        differ.add("%s: too deeply nested to compare further" % root)
    if differ.truncated:
        differ.lines.append("... (more differences not shown)")
    return differ.lines


def shape_changes(old, new, *, limit: int = 20, max_nodes: int = 100000, root: str = "obj") -> List[str]:
    """Attributes present on only one side, anywhere in the two object graphs.

    Unlike :func:`object_diff` this walks on when values compare equal: a
    dataclass compares its fields only, so a loaded object can be ``==`` the
    current one while still carrying an attribute the class no longer has.
    Containers are walked in step (list items by index, dict values by key).
    Paths are spelled out only for the attributes reported.
    """
    lines: List[str] = []
    # (old, new, where): where = None for the root, else (parent where, step kind, key)
    stack = [(old, new, None)]
    seen = set()
    budget = max_nodes
    push = stack.append
    plans = _PLANS
    while stack and len(lines) < limit and budget > 0:
        budget -= 1
        a, b, where = stack.pop()
        t = type(a)
        if a is b or t is not type(b) or t in _ATOM_TYPES:
            continue
        key = (id(a), id(b))
        if key in seen:
            continue
        seen.add(key)
        if t is list or t is tuple:
            for i, x in enumerate(a[:len(b)]):
                y = b[i]
                if x is not y and type(x) not in _ATOM_TYPES:
                    push((x, y, (where, _INDEX, i)))
            continue
        plan = plans.get(t) or _plan(t)
        if plan[2]:  # a __dict__ and nothing else: read it directly
            sa, sb = a.__dict__, b.__dict__
        elif isinstance(a, _ATOMS) or isinstance(a, (set, frozenset)):
            continue
        elif isinstance(a, dict):
            for k, v in a.items():
                if k in b:
                    push((v, b[k], (where, _KEY, k)))
            continue
        elif isinstance(a, (list, tuple)):
            for i, x in enumerate(a[:len(b)]):
                y = b[i]
                if x is not y and type(x) not in _ATOM_TYPES:
                    push((x, y, (where, _INDEX, i)))
            continue
        else:
            sa, sb = state(a), state(b)
        if sa.keys() != sb.keys():
            lines.extend(one_sided(_spell(root, where), sa, sb))
        for n, v in sa.items():
            if n in sb:
                w = sb[n]
                if v is not w and type(v) not in _ATOM_TYPES:
                    push((v, w, (where, _ATTR, n)))
    return lines[:limit]


_KEY, _INDEX, _ATTR = 0, 1, 2


def _spell(root: str, where) -> str:
    """``obj.items[3]['k']`` for a chain of steps from the root."""
    steps = []
    while where is not None:
        where, kind, key = where
        if kind == _ATTR:
            steps.append(".%s" % key)
        elif kind == _INDEX:
            steps.append("[%d]" % key)
        else:
            steps.append("[%s]" % short(key))
    return root + "".join(reversed(steps))


_ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None), type)
_ATOM_TYPES = frozenset(_ATOMS)
