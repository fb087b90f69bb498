"""Name and value resolution shared by the rules, on top of libcst's scope analysis.

Qualified names come from libcst (``import multiprocessing as mp`` makes ``mp.Pool`` resolve to
``multiprocessing.Pool``).  On top of that, a small amount of local value tracking: a name bound
once by ``x = <expr>``, ``with <expr> as x`` or ``x: T = <expr>`` stands for that expression, and
``self.x`` stands for what the class's methods assign to it.  That is enough to see
``ctx = mp.get_context("spawn"); ctx.Pool()`` and ``with Pool() as p: p.map(...)``.
"""
from typing import Any, Iterable, List, NamedTuple, Optional, Set

import libcst as cst

from .context import FileContext, terminal_name

__all__ = [
    "ObjectKind",
    "bound_values",
    "resolve",
    "object_kind",
    "unpicklable_reason",
    "is_local_definition",
    "string_value",
    "int_value",
    "argument",
    "call_qnames",
    "matches",
]

_MAX_DEPTH = 4

#: What a call to one of these creates.  Values: (kind, start method or None for the default).
FACTORIES = {
    "multiprocessing.Pool": "process_pool",
    "multiprocessing.pool.Pool": "process_pool",
    "multiprocessing.context.BaseContext.Pool": "process_pool",
    "multiprocessing.pool.ThreadPool": "thread_pool",
    "multiprocessing.dummy.Pool": "thread_pool",
    "multiprocessing.dummy.Process": "thread",
    "concurrent.futures.ProcessPoolExecutor": "process_executor",
    "concurrent.futures.process.ProcessPoolExecutor": "process_executor",
    "concurrent.futures.ThreadPoolExecutor": "thread_executor",
    "concurrent.futures.thread.ThreadPoolExecutor": "thread_executor",
    "multiprocessing.Process": "process",
    "multiprocessing.process.BaseProcess": "process",
    "multiprocessing.context.Process": "process",
    "multiprocessing.get_context": "context",
    "multiprocessing.context.get_context": "context",
    "multiprocessing.Manager": "manager",
}
#: Attributes of a multiprocessing context object that create things.
CONTEXT_FACTORIES = {"Pool": "process_pool", "Process": "process", "Manager": "manager"}
#: Last names of FACTORIES keys: the cheap node-level prefilter for calls.
FACTORY_NAMES = frozenset(
    [q.rsplit(".", 1)[1] for q in FACTORIES] + list(CONTEXT_FACTORIES)
)
_FACTORY_SET = frozenset(FACTORIES)
PROCESS_KINDS = frozenset(("process_pool", "process_executor", "process", "manager"))


class ObjectKind(NamedTuple):
    kind: str
    start_method: Optional[str]  # "fork", "spawn", "forkserver", or None (platform default)
    node: Any  # the creating call


def matches(qnames: Iterable[str], wanted: Iterable[str]) -> bool:
    wanted = set(wanted)
    return any(q in wanted for q in qnames)


def file_may_hold_unpicklable_callables(ctx: FileContext) -> bool:
    """A name can only stand for an unpicklable callable if the file has a lambda or a local def/class."""
    if ctx.full:
        return True
    answer = ctx.cache.get("unpicklable_candidates")
    if answer is None:
        answer = bool(ctx.nodes(cst.Lambda)) or any(
            is_local_definition(ctx, node) for node in ctx.nodes(cst.FunctionDef, cst.ClassDef)
        )
        ctx.cache["unpicklable_candidates"] = answer
    return answer


def file_has_local_classes(ctx: FileContext) -> bool:
    if ctx.full:
        return True
    answer = ctx.cache.get("local_classes")
    if answer is None:
        answer = any(is_local_definition(ctx, node) for node in ctx.nodes(cst.ClassDef))
        ctx.cache["local_classes"] = answer
    return answer


def call_qnames(ctx: FileContext, call: cst.Call) -> Set[str]:
    return ctx.qualified_names(call.func)


def string_value(node: Any) -> Optional[str]:
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # malformed escapes: not a usable literal
            return None
        return value if isinstance(value, str) else None
    return None


def int_value(node: Any) -> Optional[int]:
    if isinstance(node, cst.Integer):
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return None
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = int_value(node.expression)
        return None if inner is None else -inner
    return None


def argument(call: cst.Call, position: Optional[int], keyword: Optional[str]) -> Optional[cst.BaseExpression]:
    """The expression passed at ``position`` (counting plain positional arguments) or as ``keyword``."""
    index = 0
    for arg in call.args:
        if arg.keyword is not None:
            if keyword is not None and arg.keyword.value == keyword:
                return arg.value
            continue
        if arg.star:
            return None  # *args hides positions after it
        if position is not None and index == position:
            return arg.value
        index += 1
    return None


def bound_values(ctx: FileContext, name: cst.Name) -> List[cst.CSTNode]:
    """Expressions (or FunctionDef/ClassDef nodes) the name may stand for."""
    values: List[cst.CSTNode] = []
    for assignment in ctx.assignments(name):
        node = getattr(assignment, "node", None)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            values.append(node)
        elif isinstance(node, cst.Name):
            value = _value_of_target(ctx, node)
            if value is not None:
                values.append(value)
    return values


def _value_of_target(ctx: FileContext, target: cst.Name) -> Optional[cst.CSTNode]:
    parent = ctx.parent(target)
    if isinstance(parent, cst.AssignTarget):
        statement = ctx.parent(parent)
        if isinstance(statement, cst.Assign):
            return statement.value
    elif isinstance(parent, cst.AnnAssign) and parent.target is target:
        return parent.value
    elif isinstance(parent, cst.AsName):
        item = ctx.parent(parent)
        if isinstance(item, cst.WithItem):
            return item.item
    elif isinstance(parent, cst.NamedExpr) and parent.target is target:
        return parent.value
    return None


def self_attribute_values(ctx: FileContext, attribute: cst.Attribute) -> List[cst.CSTNode]:
    """For ``self.x`` inside a method: the values the class's methods assign to ``self.x``."""
    if not isinstance(attribute.value, cst.Name):
        return []
    function = ctx.enclosing(attribute, cst.FunctionDef)
    if function is None or not _first_param_is(function, attribute.value.value):
        return []
    class_def = ctx.parent(ctx.parent(function))
    if not isinstance(class_def, cst.ClassDef):
        return []
    values = []
    for statement in class_def.body.body:
        if not isinstance(statement, cst.FunctionDef):
            continue
        receiver = first_param(statement)
        if receiver is None:
            continue
        for node in ctx.walk(statement.body):
            if isinstance(node, cst.Assign):
                for target in node.targets:
                    if _is_attr_of(target.target, receiver, attribute.attr.value):
                        values.append(node.value)
            elif isinstance(node, cst.AnnAssign) and node.value is not None:
                if _is_attr_of(node.target, receiver, attribute.attr.value):
                    values.append(node.value)
    return values


def first_param(function: cst.FunctionDef) -> Optional[str]:
    params = list(function.params.posonly_params) + list(function.params.params)
    if not params:
        return None
    for decorator in function.decorators:
        if terminal_name(decorator.decorator) == "staticmethod":
            return None
    return params[0].name.value


def _first_param_is(function: cst.FunctionDef, name: str) -> bool:
    return first_param(function) == name


def _is_attr_of(expr: Any, receiver: str, attr: str) -> bool:
    return (
        isinstance(expr, cst.Attribute)
        and isinstance(expr.value, cst.Name)
        and expr.value.value == receiver
        and expr.attr.value == attr
    )


def resolve(ctx: FileContext, expr: Any, depth: int = 0) -> List[Any]:
    """``expr`` itself, or for a name / ``self.attr`` the values it may stand for (a few hops)."""
    if depth > _MAX_DEPTH:
        return []
    if isinstance(expr, cst.Name):
        found: List[Any] = []
        for value in bound_values(ctx, expr):
            if isinstance(value, cst.Name):
                found.extend(resolve(ctx, value, depth + 1))
            else:
                found.append(value)
        return found
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
        values = self_attribute_values(ctx, expr)
        if values:
            found = []
            for value in values:
                found.extend(resolve(ctx, value, depth + 1) if isinstance(value, cst.Name) else [value])
            return found
    return [expr]


def _start_method_of_context_call(call: cst.Call) -> Optional[str]:
    return string_value(argument(call, 0, "method"))


def file_has_factories(ctx: FileContext) -> bool:
    """Does any call in the file create a pool, executor, process, manager or context?

    Every object ``object_kind`` recognises is made by such a call, so without one the value
    tracking (which needs libcst's scope analysis) can be skipped.
    """
    if ctx.full:
        return True
    answer = ctx.cache.get("has_factories")
    if answer is None:
        answer = any(ctx.resolves_to(call.func, _FACTORY_SET) for call in ctx.calls_named(FACTORY_NAMES))
        ctx.cache["has_factories"] = answer
    return answer


def object_kind(ctx: FileContext, expr: Any, depth: int = 0) -> Optional[ObjectKind]:
    """What a multiprocessing / concurrent.futures object ``expr`` is, when it is one."""
    if depth > _MAX_DEPTH or not file_has_factories(ctx):
        return None
    for value in resolve(ctx, expr, depth):
        if isinstance(value, cst.Call):
            kind = factory_kind(ctx, value, depth)
            if kind is not None:
                return kind
    return None


def factory_kind(ctx: FileContext, call: cst.Call, depth: int = 0) -> Optional[ObjectKind]:
    """What ``call`` creates, when it creates a pool, executor, process, manager or context."""
    func = call.func
    kind = None
    if ctx.resolves_to(func, _FACTORY_SET):
        for qname in ctx.qualified_names(func):
            kind = FACTORIES.get(qname)
            if kind is not None:
                break
    if kind == "context":
        return ObjectKind("context", _start_method_of_context_call(call), call)
    if kind is not None:
        start = None
        if kind == "process_executor":
            context = argument(call, 1, "mp_context")
            if context is not None:
                context_kind = object_kind(ctx, context, depth + 1)
                if context_kind is not None and context_kind.kind == "context":
                    start = context_kind.start_method
        return ObjectKind(kind, start, call)
    if isinstance(func, cst.Attribute) and func.attr.value in CONTEXT_FACTORIES:
        owner = object_kind(ctx, func.value, depth + 1)
        if owner is not None and owner.kind == "context":
            return ObjectKind(CONTEXT_FACTORIES[func.attr.value], owner.start_method, call)
    return None


def is_local_definition(ctx: FileContext, node: cst.CSTNode) -> bool:
    """True for a def/class nested in a function (or in a class nested in a function)."""
    return ctx.enclosing(node, (cst.FunctionDef, cst.Lambda)) is not None


def unpicklable_reason(ctx: FileContext, expr: Any, depth: int = 0) -> Optional[str]:
    """Why ``expr``, used as a callable, cannot be pickled by reference (None when it can or is unknown)."""
    if depth > _MAX_DEPTH or expr is None:
        return None
    if isinstance(expr, cst.Lambda):
        return "a lambda"
    if not file_may_hold_unpicklable_callables(ctx):
        return None
    if isinstance(expr, cst.Name):
        for value in bound_values(ctx, expr):
            if isinstance(value, cst.FunctionDef) and is_local_definition(ctx, value):
                return "nested function %r" % value.name.value
            if isinstance(value, cst.ClassDef) and is_local_definition(ctx, value):
                return "class %r defined inside a function" % value.name.value
            if isinstance(value, cst.Lambda):
                return "a lambda (bound to %r)" % expr.value
            if isinstance(value, (cst.Call, cst.Attribute, cst.Name)):
                inner = unpicklable_reason(ctx, value, depth + 1)
                if inner is not None:
                    return inner
        return None
    if isinstance(expr, cst.Attribute):
        owner = local_class_of(ctx, expr.value, depth + 1)
        if owner is not None:
            return "method %r of class %r defined inside a function" % (expr.attr.value, owner.name.value)
        return None
    if isinstance(expr, cst.Call) and ctx.resolves_to(expr.func, _PARTIAL):
        inner = unpicklable_reason(ctx, argument(expr, 0, "func"), depth + 1)
        if inner is not None:
            return "functools.partial over " + inner
    return None


_PARTIAL = frozenset(("functools.partial",))


def local_class_of(ctx: FileContext, expr: Any, depth: int = 0) -> Optional[cst.ClassDef]:
    """The local ClassDef when ``expr`` is that class or an instance of it (``C`` or ``C()``)."""
    if depth > _MAX_DEPTH or expr is None or not file_has_local_classes(ctx):
        return None
    if isinstance(expr, cst.Call):
        return local_class_of(ctx, expr.func, depth + 1)
    if isinstance(expr, cst.Name):
        for value in bound_values(ctx, expr):
            if isinstance(value, cst.ClassDef):
                if is_local_definition(ctx, value):
                    return value
            elif isinstance(value, (cst.Call, cst.Name)):
                found = local_class_of(ctx, value, depth + 1)
                if found is not None:
                    return found
    return None


def by_value_pickler(ctx: FileContext) -> Optional[str]:
    """The by-value pickler (cloudpickle, dill) this file's code pickles with, if any.

    The configured ``pickler`` wins; otherwise a file that imports exactly one by-value pickler
    is taken to use it (a file importing both is ambiguous, and stays by reference).
    """
    configured = getattr(ctx.settings, "pickler", None)
    if configured is not None:
        return None if configured == "pickle" else configured
    answer = ctx.cache.get("by_value_pickler", False)
    if answer is False:
        from .evidence import file_picklers

        found = file_picklers(ctx)
        answer = found[0] if len(found) == 1 else None
        ctx.cache["by_value_pickler"] = answer
    return answer


def is_started(ctx: FileContext, call: cst.Call) -> bool:
    """Whether the Process created by ``call`` may be started.

    False only when it visibly is not: the call's value is bound to a name that is used only as
    ``name.<attribute other than start>`` in the enclosing function (or module).  Anything else
    (``.start()`` on it, the name passed on, stored, returned, put in a list) counts as started.
    """
    parent = ctx.parent(call)
    if isinstance(parent, cst.Attribute):
        return True
    if not isinstance(parent, cst.Assign) or len(parent.targets) != 1 or not isinstance(parent.targets[0].target, cst.Name):
        return True
    name = parent.targets[0].target.value
    scope = ctx.enclosing(call, (cst.FunctionDef, cst.Lambda)) or ctx.module
    for node in ctx.walk(scope):
        if not isinstance(node, cst.Name) or node.value != name or node is parent.targets[0].target:
            continue
        owner = ctx.parent(node)
        if isinstance(owner, cst.Attribute) and owner.value is node:
            if owner.attr.value == "start":
                return True
            continue
        return True
    return False
