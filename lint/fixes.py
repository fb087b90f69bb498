"""Safe automatic fixes (libcst codemods) and their application.

A rule attaches a Fix to a report only when the rewrite cannot change behaviour beyond the hazard
it removes.  A Fix is data: node replacements (by identity in the parsed tree) and statements to
insert before a module-level statement.  ``apply_fixes`` applies all fixes of one file in a single
transformation.
"""
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Set, Tuple

import libcst as cst

__all__ = ["Fix", "apply_fixes", "hoist_lambda_fix", "add_version_key_fix"]


class Fix(NamedTuple):
    replacements: Tuple[Tuple[cst.CSTNode, cst.CSTNode], ...]
    insert_before: Tuple[Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]], ...] = ()


class _Apply(cst.CSTTransformer):
    def __init__(self, fixes: Iterable[Fix]) -> None:
        super().__init__()
        self.replace: Dict[cst.CSTNode, cst.CSTNode] = {}
        self.before: Dict[cst.CSTNode, List[cst.CSTNode]] = {}
        for fix in fixes:
            for old, new in fix.replacements:
                self.replace.setdefault(old, new)
            for anchor, statements in fix.insert_before:
                self.before.setdefault(anchor, []).extend(statements)

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        if original_node in self.replace:
            return self.replace[original_node]
        if isinstance(original_node, cst.Module) and self.before:
            body: List[cst.CSTNode] = []
            for original, updated in zip(original_node.body, updated_node.body):
                body.extend(self.before.get(original, ()))
                body.append(updated)
            return updated_node.with_changes(body=body)
        return updated_node


def apply_fixes(module: cst.Module, fixes: Iterable[Fix]) -> str:
    fixes = list(fixes)
    if not fixes:
        return module.code
    return module.visit(_Apply(fixes)).code


def _module_names(ctx: Any) -> Set[str]:
    return {node.value for node in ctx.nodes(cst.Name)}


def _unique_name(ctx: Any, base: str, taken: Set[str]) -> str:
    name = base
    counter = 2
    while name in taken:
        name = "%s_%d" % (base, counter)
        counter += 1
    taken.add(name)
    return name


def _top_level_statement(ctx: Any, node: cst.CSTNode) -> Optional[cst.CSTNode]:
    previous = node
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.Module):
            return previous
        previous = ancestor
    return None


_UNSAFE_IN_LAMBDA = (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.NamedExpr, cst.Await, cst.Yield)


def hoist_lambda_fix(ctx: Any, lam: cst.Lambda, base_name: str) -> Optional[Fix]:
    """Move ``lam`` to a module-level ``def`` when it uses only its parameters and global names."""
    from libcst.metadata import BuiltinScope, GlobalScope

    params = lam.params
    declared = [p for p in ctx.walk(params) if isinstance(p, cst.Param)]
    if any(p.default is not None for p in declared):
        return None  # defaults are evaluated where the lambda stands
    param_names = {p.name.value for p in declared}
    for node in ctx.walk(lam):
        if node is not lam and isinstance(node, _UNSAFE_IN_LAMBDA):
            return None
    for node in ctx.walk(lam.body):
        if not isinstance(node, cst.Name):
            continue
        parent = ctx.parent(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            continue
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            continue
        if node.value in param_names:
            continue
        referents = ctx.assignments(node)
        if not referents:
            scope = ctx.scope(node)
            if scope is None or node.value not in scope:
                return None
            continue  # a builtin
        if any(not isinstance(r.scope, (GlobalScope, BuiltinScope)) for r in referents):
            return None
    anchor = _top_level_statement(ctx, lam)
    if anchor is None:
        return None
    name = _unique_name(ctx, base_name, _module_names(ctx))
    function = cst.FunctionDef(
        name=cst.Name(name),
        params=params,
        body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Return(value=lam.body)])]),
        leading_lines=getattr(anchor, "leading_lines", ()),  # same spacing as the statement it precedes
    )
    return Fix(replacements=((lam, cst.Name(name)),), insert_before=((anchor, (function,)),))


def add_version_key_fix(ctx: Any, display: cst.Dict, field: str) -> Fix:
    """Insert ``"<field>": 1`` as the first entry of a dict display."""
    quote = '"'
    for element in display.elements:
        key = getattr(element, "key", None)
        if isinstance(key, cst.SimpleString):
            quote = key.quote if key.quote in ('"', "'") else '"'
            break
    entry = cst.DictElement(
        key=cst.SimpleString("%s%s%s" % (quote, field, quote)),
        value=cst.Integer("1"),
        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if display.elements else cst.MaybeSentinel.DEFAULT,
    )
    if display.elements and isinstance(display.lbrace.whitespace_after, cst.ParenthesizedWhitespace):
        # one entry per line: the new entry takes the first line, the old first entry the next
        entry = entry.with_changes(comma=cst.Comma(whitespace_after=display.lbrace.whitespace_after))
    new = display.with_changes(elements=[entry] + list(display.elements))
    return Fix(replacements=((display, new),))
