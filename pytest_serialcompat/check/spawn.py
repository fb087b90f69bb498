"""Spawn safety: can ``func(*args, **kwargs)`` run in a fresh ``spawn`` child process?

Under the ``spawn`` start method (the default on macOS and Windows, and for
``ProcessPoolExecutor`` in many setups) the target and its arguments are
pickled, and a fresh interpreter imports the target *by module and name*.
This check does exactly that with a real child, and turns each way it can go
wrong into one precise reason: a lambda, a nested function, a ``__main__``-only
definition, a module the child cannot import, an argument that does not
pickle (with its path), an exception in the child, or a timeout.

Only the standard library is imported at module level: the child imports
this module to run :func:`_child_main`.
"""

import functools
import multiprocessing
import pickle
import traceback
import types
from typing import Any, Dict, Optional, Sequence

JOIN_GRACE = 5.0


class SpawnProblem(Exception):
    """Why the call is not spawn-safe (the message is the whole explanation)."""


def _qualified(obj) -> str:
    return "%s.%s" % (getattr(obj, "__module__", "?"), getattr(obj, "__qualname__", repr(obj)))


def static_problem(func) -> Optional[str]:
    """Reasons visible without pickling: lambda, nested, __main__-only."""
    if isinstance(func, functools.partial):
        return static_problem(func.func)
    if isinstance(func, types.MethodType):
        return static_problem(func.__func__) if isinstance(func.__func__, types.FunctionType) else None
    if not callable(func):
        return "%r is not callable" % (func,)
    if not isinstance(func, (types.FunctionType, type)):
        return None  # other callables: pickling tells
    qualname = getattr(func, "__qualname__", "")
    module = getattr(func, "__module__", None)
    if func.__name__ == "<lambda>":
        return ("%s is a lambda: a spawn child finds the target by module and name, and a lambda "
                "has none. Define a module-level function instead." % _qualified(func))
    if "<locals>" in qualname:
        outer = qualname.split(".<locals>", 1)[0]
        return ("%s is a nested %s defined inside %s(): a spawn child can only import module-level "
                "names. Move it to module level." % (
                    _qualified(func), "class" if isinstance(func, type) else "function", outer))
    if module in (None, "__main__", "__mp_main__"):
        return ("%s is defined only in __main__: a spawn child re-imports the main script under "
                "another name and does not see it. Move it to an importable module." % qualname)
    return None


def _argument_problem(func, args: Sequence, kwargs: Dict[str, Any], protocol: int) -> str:
    from ..diagnosis.picklability import find_unpicklable

    offender = find_unpicklable(func, protocol, root="func")
    if offender is not None:
        return "the target does not pickle: %s" % (offender,)
    for index, arg in enumerate(args):
        offender = find_unpicklable(arg, protocol, root="args[%d]" % index)
        if offender is not None:
            return "argument does not pickle: %s" % (offender,)
    for key, value in kwargs.items():
        offender = find_unpicklable(value, protocol, root="kwargs[%r]" % key)
        if offender is not None:
            return "argument does not pickle: %s" % (offender,)
    return "the call does not pickle"


def _child_main(payload: bytes, conn) -> None:
    """Runs in the spawn child: unpickle (imports the target by reference), call, report."""
    try:
        try:
            func, args, kwargs = pickle.loads(payload)
        except BaseException as exc:
            conn.send(("import", "".join(traceback.format_exception_only(type(exc), exc)).strip()))
            return
        try:
            result = func(*args, **kwargs)
        except BaseException:
            conn.send(("call", traceback.format_exc()))
            return
        try:
            conn.send(("ok", pickle.dumps(result, pickle.HIGHEST_PROTOCOL)))
        except BaseException as exc:
            conn.send(("result", "%s: %s" % (type(exc).__name__, exc)))
    finally:
        conn.close()


def run_in_spawn_child(func, args: Sequence = (), kwargs: Optional[Dict[str, Any]] = None,
                       timeout: float = 60.0):
    """Call ``func(*args, **kwargs)`` in a spawn child and return its result; SpawnProblem if unsafe."""
    kwargs = dict(kwargs or {})
    problem = static_problem(func)
    if problem:
        raise SpawnProblem(problem)
    protocol = pickle.HIGHEST_PROTOCOL
    try:
        payload = pickle.dumps((func, tuple(args), kwargs), protocol)
    except Exception:
        raise SpawnProblem(_argument_problem(func, args, kwargs, protocol)) from None

    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(payload, sender), daemon=True,
                              name="serialcompat-spawn-check")
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise SpawnProblem("%s did not finish within %.0f s in the spawn child (timeout; "
                               "ini serialcompat_spawn_timeout)" % (_qualified(func), timeout))
        try:
            kind, value = receiver.recv()
        except EOFError:
            process.join(JOIN_GRACE)
            raise SpawnProblem("the spawn child exited (code %s) before reporting; its stderr is in "
                               "the captured output" % process.exitcode) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join(JOIN_GRACE)
    if kind == "ok":
        return pickle.loads(value)
    if kind == "import":
        module = getattr(func, "__module__", None)
        return_reason = (
            "the spawn child could not load the target %s by reference: %s. The child imports "
            "module %r afresh; it must be importable (installed, or on sys.path) and define the "
            "target at module level." % (_qualified(func), value, module))
        raise SpawnProblem(return_reason)
    if kind == "call":
        raise SpawnProblem("the target raised in the spawn child:\n%s" % value.rstrip())
    raise SpawnProblem("the target ran, but its return value does not pickle back: %s" % value)
