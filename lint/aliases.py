"""What a callee really is, through any alias: loaders and dumpers however they are reached.

``pickle.loads`` is reached in real code as ``_ForkingPickler.loads`` (a class attribute of
``multiprocessing.reduction.ForkingPickler``, bound to a module-level name), as
``reduction.pickle.load`` (a module attribute of another module), as
``functools.partial(pickle.loads, encoding="latin1")`` bound to a name, or as
``from .compat import pickle_loads`` (a re-export in the project).  A rule that matches only
the spelling ``pickle.loads`` finds some of these and not others, so its results depend on how
the name was imported.  ``callee_names`` turns a callee into the absolute qualified names it
stands for: libcst's qualified names (relative imports made absolute with the file's module
name), names bound once to another name, attribute or ``functools.partial`` followed, and the
standard library's own aliases (``STDLIB_ALIASES``) applied.  Re-exports inside the project are
resolved later, over every file's import bindings (``ProjectIndex.resolve_name``).
"""
from typing import Any, Iterable, List, Optional, Set, Tuple

import libcst as cst

from .context import FileContext

__all__ = ["STDLIB_ALIASES", "canonical", "absolute_qnames", "callee_names", "PARTIAL"]

#: Facts about the standard library: a dotted prefix and what it really is.
STDLIB_ALIASES = {
    # multiprocessing.context does ``from . import reduction``; modules import it from there.
    "multiprocessing.context.reduction": "multiprocessing.reduction",
    # multiprocessing.reduction does ``import pickle``.
    "multiprocessing.reduction.pickle": "pickle",
    # ``class ForkingPickler(pickle.Pickler): loads = pickle.loads`` (and dumps pickles).
    "multiprocessing.reduction.ForkingPickler.loads": "pickle.loads",
    "multiprocessing.reduction.ForkingPickler.dumps": "pickle.dumps",
    "multiprocessing.reduction.dump": "pickle.dump",
    # ``_ForkingPickler = reduction.ForkingPickler`` at module level.
    "multiprocessing.connection._ForkingPickler": "multiprocessing.reduction.ForkingPickler",
    "multiprocessing.queues._ForkingPickler": "multiprocessing.reduction.ForkingPickler",
    # The pure-Python implementations behind the C accelerator.
    "pickle._loads": "pickle.loads",
    "pickle._load": "pickle.load",
    "pickle._dumps": "pickle.dumps",
    "pickle._dump": "pickle.dump",
    "pickle._Unpickler": "pickle.Unpickler",
    "pickle._Pickler": "pickle.Pickler",
}
PARTIAL = frozenset(("functools.partial",))
_MAX_DEPTH = 4


def canonical(qname: str) -> str:
    """Apply ``STDLIB_ALIASES`` (longest dotted prefix first) until nothing changes."""
    for _ in range(_MAX_DEPTH):
        parts = qname.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            target = STDLIB_ALIASES.get(prefix)
            if target is not None:
                qname = ".".join([target] + parts[cut:])
                break
        else:
            return qname
    return qname


def absolute_qnames(ctx: FileContext, node: Any) -> Set[str]:
    """libcst's qualified names of ``node``, relative imports made absolute, stdlib aliases applied."""
    from .evidence import absolute_name

    found = set()
    for qname in ctx.qualified_names(node):
        if qname.startswith("."):
            qname = absolute_name(qname, ctx.module_name, ctx.is_package)
        found.add(canonical(qname))
    return found


def callee_names(ctx: FileContext, func: Any, depth: int = 0) -> List[Tuple[str, int]]:
    """(absolute qualified name, positional arguments a ``functools.partial`` already supplied)
    for every callable ``func`` may stand for."""
    if depth > _MAX_DEPTH or func is None:
        return []
    found = [(q, 0) for q in sorted(absolute_qnames(ctx, func))]
    if isinstance(func, cst.Name):
        found.extend(_through_bindings(ctx, func, depth))
    elif isinstance(func, cst.Attribute):
        root = func.value
        if isinstance(root, (cst.Name, cst.Attribute)) and _locally_bound(ctx, root):
            for owner, shift in callee_names(ctx, root, depth + 1):
                if shift == 0 and "<locals>" not in owner:
                    found.append((canonical("%s.%s" % (owner, func.attr.value)), 0))
    return found


def _locally_bound(ctx: FileContext, expr: Any) -> bool:
    """Whether the root name of ``expr`` is bound in the file other than by an import."""
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return False
    from .semantics import bound_values

    return bool(bound_values(ctx, expr))


def _through_bindings(ctx: FileContext, name: cst.Name, depth: int) -> Iterable[Tuple[str, int]]:
    from .semantics import bound_values

    for value in bound_values(ctx, name):
        if isinstance(value, (cst.Name, cst.Attribute)):
            yield from callee_names(ctx, value, depth + 1)
        elif isinstance(value, cst.Call) and ctx.resolves_to(value.func, PARTIAL) and value.args:
            first = value.args[0]
            if first.keyword is not None or first.star:
                continue
            supplied = sum(1 for a in value.args[1:] if a.keyword is None and not a.star)
            for qname, shift in callee_names(ctx, first.value, depth + 1):
                yield qname, shift + supplied


def first_name(names: Iterable[Tuple[str, int]], wanted: Any) -> Optional[Tuple[str, int]]:
    for qname, shift in names:
        if qname in wanted:
            return qname, shift
    return None
