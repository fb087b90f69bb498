"""Values followed through direct calls inside one file: call sites, arguments, return values.

Rules follow a value to where it was made: the bytes a ``pickle.loads`` reads back to the socket
they came from (SC106), the record a ``f.write(json.dumps(record))`` writes back to the dict
display that built it (SC105).  Within a function that is ``resolve``; across functions it is
this module: a parameter stands for what the file's direct calls pass (``helper(x)`` for a
module-level function, ``self.helper(x)`` for a method), and a call of a function defined in the
file stands for what the function returns.  Only calls the file itself makes are followed: a
function called from elsewhere is not guessed at.
"""
from typing import Any, Iterator, List, Optional, Tuple

import libcst as cst

from .context import FileContext
from .semantics import argument, resolve

__all__ = ["enclosing_class", "call_sites", "parameter_arguments", "called_function", "returned_values"]


def enclosing_class(ctx: FileContext, function: cst.FunctionDef) -> Optional[cst.ClassDef]:
    owner = ctx.parent(ctx.parent(function))
    return owner if isinstance(owner, cst.ClassDef) else None


def call_sites(ctx: FileContext, function: cst.FunctionDef, any_receiver: bool = False) -> Iterator[cst.Call]:
    """Direct calls of ``function`` in the file (``f(...)``; for a method ``self.f(...)``, or with
    ``any_receiver`` any ``<expr>.f(...)``), except recursive ones."""
    name = function.name.value
    method = enclosing_class(ctx, function) is not None
    for call in ctx.calls_named((name,)):
        func = call.func
        if method:
            if not isinstance(func, cst.Attribute) or func.attr.value != name:
                continue
            if not any_receiver and not (isinstance(func.value, cst.Name) and func.value.value in ("self", "cls")):
                continue
        elif not (isinstance(func, cst.Name) and func.value == name):
            continue
        if not ctx.is_within(call, function):
            yield call


def parameter_arguments(ctx: FileContext, param: cst.Param, any_receiver: bool = False) -> List[Tuple[cst.Call, Any]]:
    """(call, expression passed) for every direct call that passes the parameter a value."""
    function = ctx.enclosing(param, cst.FunctionDef)
    if function is None:
        return []
    positional = list(function.params.posonly_params) + list(function.params.params)
    position: Optional[int] = None
    if param in positional:
        position = positional.index(param)
        if enclosing_class(ctx, function) is not None:
            position -= 1  # the receiver is not passed
    elif param not in function.params.kwonly_params:
        return []
    found = []
    for call in call_sites(ctx, function, any_receiver):
        value = argument(call, position if position is not None and position >= 0 else None, param.name.value)
        if value is not None:
            found.append((call, value))
    return found


def called_function(ctx: FileContext, func: Any) -> Optional[cst.FunctionDef]:
    """The FunctionDef a call's callee names: a function of the file, or ``self.method``."""
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
        method = ctx.enclosing(func, cst.FunctionDef)
        while method is not None and enclosing_class(ctx, method) is None:
            method = ctx.enclosing(method, cst.FunctionDef)
        owner = enclosing_class(ctx, method) if method is not None else None
        if owner is not None and isinstance(owner.body, cst.IndentedBlock):
            for statement in owner.body.body:
                if isinstance(statement, cst.FunctionDef) and statement.name.value == func.attr.value:
                    return statement
        return None
    if isinstance(func, cst.Name):
        for value in resolve(ctx, func):
            if isinstance(value, cst.FunctionDef):
                return value
    return None


def returned_values(ctx: FileContext, function: cst.FunctionDef) -> List[Any]:
    """The expressions the function's own ``return`` statements return."""
    found = []
    for node in ctx.walk(function.body):
        if isinstance(node, cst.Return) and node.value is not None:
            if ctx.enclosing(node, (cst.FunctionDef, cst.Lambda)) is function:
                found.append(node.value)
    return found
