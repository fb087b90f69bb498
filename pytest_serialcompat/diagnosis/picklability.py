"""Find *which part* of an object graph cannot be pickled: ``obj.cache._lock: _thread.lock``.

The search follows what the pickler itself would serialize: container items,
and for other objects the state and arguments of ``__reduce_ex__``.  At each
level the first child that does not pickle on its own is descended into; when
every child pickles but the parent does not, the parent is the culprit (its
class cannot be found by reference, its ``__reduce__`` fails, ...).
"""

import copyreg
import pickle
import types
from typing import Any, Iterator, NamedTuple, Optional, Tuple

from .values import short, type_name

MAX_DEPTH = 50
MAX_CHILDREN = 10000


class Offender(NamedTuple):
    path: str           # "obj.cache._lock"
    type_name: str      # "_thread.lock"
    error: str          # "TypeError: cannot pickle '_thread.lock' object"

    def __str__(self) -> str:
        return "%s: %s (%s)" % (self.path, self.type_name, self.error)


# Pickled by reference (module + qualname): the pickler's own error is the diagnosis.
BY_REFERENCE = (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)


def _describe(obj) -> str:
    if isinstance(obj, types.ModuleType):
        return "module %s" % obj.__name__
    kind = "class" if isinstance(obj, type) else "function"
    return "%s %s.%s" % (kind, getattr(obj, "__module__", "?"), getattr(obj, "__qualname__", "?"))


def _error_text(exc: BaseException) -> str:
    return "%s: %s" % (type(exc).__name__, exc)


def _pickle_error(obj, protocol) -> Optional[BaseException]:
    try:
        pickle.dumps(obj, protocol)
    except RecursionError as exc:
        return exc
    except Exception as exc:
        return exc
    return None


def _state_children(state, path) -> Iterator[Tuple[str, Any]]:
    if isinstance(state, tuple) and len(state) == 2 and (
        state[0] is None or isinstance(state[0], dict)
    ) and isinstance(state[1], dict):
        for part in state:
            if part:
                for key, value in part.items():
                    yield "%s.%s" % (path, key), value
    elif isinstance(state, dict):
        for key, value in state.items():
            label = ("%s.%s" % (path, key)) if isinstance(key, str) and key.isidentifier() \
                else "%s.__getstate__()[%s]" % (path, short(key))
            yield label, value
    elif state is not None:
        yield "%s.__getstate__()" % path, state


def _children(obj, path, protocol) -> Iterator[Tuple[str, Any]]:
    """(path, child) pairs the pickler would visit; raises if reducing obj itself fails."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield "%s[%s]" % (path, short(key)), key
            yield "%s[%s]" % (path, short(key)), value
        return
    if isinstance(obj, (list, tuple)):
        for index, item in enumerate(obj):
            yield "%s[%d]" % (path, index), item
        return
    if isinstance(obj, (set, frozenset)):
        for item in obj:
            yield "%s{%s}" % (path, short(item)), item
        return
    reducer = copyreg.dispatch_table.get(type(obj))
    rv = reducer(obj) if reducer is not None else obj.__reduce_ex__(protocol)
    if isinstance(rv, str):
        return  # a global, pickled by reference
    func, args = rv[0], rv[1]
    state = rv[2] if len(rv) > 2 else None
    if func is not copyreg.__newobj__ and func is not getattr(copyreg, "__newobj_ex__", None):
        yield "%s.__reduce__()[0]" % path, func
    for index, arg in enumerate(args or ()):
        if index == 0 and func is copyreg.__newobj__ and isinstance(arg, type):
            yield "%s.__class__" % path, arg
        else:
            yield "%s.__reduce__()[1][%d]" % (path, index), arg
    for item in _state_children(state, path):
        yield item
    if len(rv) > 3 and rv[3] is not None:
        for index, item in enumerate(rv[3]):
            yield "%s[%d]" % (path, index), item
    if len(rv) > 4 and rv[4] is not None:
        for key, value in rv[4]:
            yield "%s[%s]" % (path, short(key)), value


def find_unpicklable(obj, protocol: Optional[int] = None, root: str = "obj") -> Optional[Offender]:
    """The deepest part of ``obj`` that does not pickle, or None when ``obj`` pickles."""
    protocol = pickle.DEFAULT_PROTOCOL if protocol is None else protocol
    error = _pickle_error(obj, protocol)
    if error is None:
        return None
    path, current, budget = root, obj, MAX_CHILDREN
    seen = set()
    for _depth in range(MAX_DEPTH):
        seen.add(id(current))
        if isinstance(current, BY_REFERENCE):
            return Offender(path, _describe(current), _error_text(error))
        culprit = None
        try:
            for child_path, child in _children(current, path, protocol):
                budget -= 1
                if budget < 0:
                    break
                if id(child) in seen:
                    continue
                child_error = _pickle_error(child, protocol)
                if child_error is not None:
                    culprit = (child_path, child, child_error)
                    break
        except Exception as exc:  # reducing `current` itself fails: it is the offender
            return Offender(path, type_name(current), _error_text(exc))
        if culprit is None:
            return Offender(path, type_name(current), _error_text(error))
        path, current, error = culprit
    return Offender(path, type_name(current), _error_text(error))
