"""Per-file analysis context: the parsed module, a node index, and metadata computed on demand.

The engine walks the tree once (an iterative walk over dataclass fields, much cheaper than a libcst
visitor) to index nodes by type and record parents.  libcst's scope analysis (needed for qualified
names) and position metadata cost several times the parse, so they are computed only when a rule
asks for them, at most once per file.
"""
import builtins
import dataclasses
import re
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Type

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, ScopeProvider

__all__ = ["FileContext", "terminal_name", "dotted_name"]

_BUILTINS = frozenset(dir(builtins))
_NEWLINE = re.compile(r"\r\n?|\n")
_COMPLEX = "complex"  # a root name bound other than by module-level absolute imports
_LOCAL = "local"  # a root name bound only by assignments, definitions, parameters (no import)

# Fields that hold only whitespace, comments or punctuation: the walk skips them.
_SKIP_FIELDS = frozenset(
    (
        "header", "footer", "leading_lines", "lines_after_decorators", "lpar", "rpar", "comma",
        "semicolon", "colon", "equal", "dot", "trailing_whitespace", "newline", "star_tok",
        "whitespace_before_colon", "whitespace_after_arrow", "whitespace_before_params",
        "whitespace_after_def", "whitespace_after_class", "whitespace_after_at",
        "whitespace_after_import", "whitespace_before_import", "whitespace_after_from",
        "whitespace_after_lambda", "whitespace_after_await", "whitespace_before_as",
        "whitespace_after_as", "whitespace_after_star", "whitespace_after_param",
        "whitespace_after_arg", "whitespace_after_func", "whitespace_before_args",
        "whitespace_before_indicator", "whitespace_after_indicator", "whitespace_before_value",
        "whitespace_after_value", "whitespace_after_return", "whitespace",
    )
)
_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _node_fields(node_type: type) -> Tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _SKIP_FIELDS and not f.name.startswith("whitespace")
        )
        _FIELDS[node_type] = names
    return names


def terminal_name(expr: Any) -> Optional[str]:
    """``Pool`` for ``Pool``, ``mp.Pool`` and ``ctx.Pool``; None for other expressions."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None


def dotted_name(expr: Any) -> Optional[str]:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


class FileContext:
    """Everything a rule may ask about one file."""

    def __init__(self, path: str, text: str, module: cst.Module, settings: Any, full: bool = False) -> None:
        self.path = path
        self.text = text
        self.module = module
        self.settings = settings
        #: Full analysis: no node-level shortcuts (the soundness test compares both modes).
        self.full = full
        self._by_type: Dict[type, List[cst.CSTNode]] = {}
        self._parent: Dict[cst.CSTNode, cst.CSTNode] = {}
        self._wrapper: Optional[MetadataWrapper] = None
        self._scopes: Optional[Any] = None
        self._positions: Optional[Any] = None
        self._aliases: Optional[Dict[str, Set[str]]] = None
        self._roots: Optional[Dict[str, Any]] = None
        self.cache: Dict[str, Any] = {}  # per-file memo for rules and semantics helpers
        #: Dotted module name and package flag (from the path relative to the project root; set
        #: by the engine), so that relative imports resolve to absolute names.
        self.module_name = ""
        self.is_package = False
        self._index()

    # -- structure -----------------------------------------------------------------------------
    def _index(self) -> None:
        by_type = self._by_type
        parent = self._parent
        node_base = cst.CSTNode
        stack: List[cst.CSTNode] = [self.module]
        while stack:
            node = stack.pop()
            node_type = type(node)
            bucket = by_type.get(node_type)
            if bucket is None:
                by_type[node_type] = [node]
            else:
                bucket.append(node)
            children = []
            for name in _node_fields(node_type):
                value = getattr(node, name)
                if isinstance(value, node_base):
                    children.append(value)
                elif isinstance(value, (tuple, list)):
                    children.extend(v for v in value if isinstance(v, node_base))
            for child in children:
                parent[child] = node
            children.reverse()
            stack.extend(children)  # pre-order, source order

    def nodes(self, *types: Type[cst.CSTNode]) -> List[cst.CSTNode]:
        if len(types) == 1:
            return self._by_type.get(types[0], [])
        found: List[cst.CSTNode] = []
        for node_type in types:
            found.extend(self._by_type.get(node_type, ()))
        return found

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self._parent.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        node = self._parent.get(node)
        while node is not None:
            yield node
            node = self._parent.get(node)

    def enclosing(self, node: cst.CSTNode, types: Any) -> Optional[cst.CSTNode]:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, types):
                return ancestor
        return None

    def enclosing_scope_node(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """Nearest FunctionDef, Lambda or ClassDef around ``node`` (None at module level)."""
        return self.enclosing(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef))

    def is_within(self, node: cst.CSTNode, container: cst.CSTNode) -> bool:
        return node is container or any(a is container for a in self.ancestors(node))

    def walk(self, root: cst.CSTNode) -> Iterator[cst.CSTNode]:
        """Pre-order walk below ``root`` (uses the same field selection as the index)."""
        stack = [root]
        node_base = cst.CSTNode
        while stack:
            node = stack.pop()
            yield node
            children = []
            for name in _node_fields(type(node)):
                value = getattr(node, name)
                if isinstance(value, node_base):
                    children.append(value)
                elif isinstance(value, (tuple, list)):
                    children.extend(v for v in value if isinstance(v, node_base))
            children.reverse()
            stack.extend(children)

    # -- cheap name prefilter ------------------------------------------------------------------
    def import_aliases(self) -> Dict[str, Set[str]]:
        """Imported name -> local aliases (``from m import Pool as P`` gives Pool -> {P})."""
        if self._aliases is None:
            aliases: Dict[str, Set[str]] = {}
            for node in self.nodes(cst.Import, cst.ImportFrom):
                names = node.names
                if isinstance(names, cst.ImportStar):
                    continue
                for alias in names:
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        original = dotted_name(alias.name) or ""
                        for part in original.split("."):
                            aliases.setdefault(part, set()).add(alias.asname.name.value)
            self._aliases = aliases
        return self._aliases

    def local_names_for(self, names: Iterable[str]) -> Set[str]:
        """The given names plus the aliases under which this file imports any of them."""
        result = set(names)
        aliases = self.import_aliases()
        for name in list(result):
            result |= aliases.get(name, set())
        return result

    def calls_named(self, names: Iterable[str]) -> List[cst.Call]:
        """Calls whose callee ends in one of ``names`` (or an import alias of one).

        In full-analysis mode every call is returned, so rules resolve all of them.
        """
        calls = self.nodes(cst.Call)
        if self.full:
            return list(calls)
        wanted = self.local_names_for(names)
        return [call for call in calls if terminal_name(call.func) in wanted]

    # -- metadata -------------------------------------------------------------------------------
    def _wrap(self) -> MetadataWrapper:
        if self._wrapper is None:
            self._wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return self._wrapper

    def scope(self, node: cst.CSTNode) -> Optional[Any]:
        if self._scopes is None:
            self._scopes = self._wrap().resolve(ScopeProvider)
        return self._scopes.get(node)

    def qualified_names(self, node: cst.CSTNode) -> Set[str]:
        """libcst's qualified names of ``node``.

        Fast path without scope analysis: for a name or attribute chain whose root name is bound
        only by module-level absolute imports, or not bound at all, the answer follows from the
        imports alone (this is what libcst computes, too).  Anything else asks libcst's scopes.
        Full-analysis mode always asks the scopes; the soundness test compares the two.
        """
        if not self.full:
            dotted = dotted_name(node)
            if dotted is not None:
                root, _, rest = dotted.partition(".")
                info = self._root_bindings().get(root)
                if info is None:
                    return {"builtins." + dotted} if root in _BUILTINS else set()
                if isinstance(info, list):
                    return {base + ("." + rest if rest else "") for base in info}
        scope = self.scope(node)
        if scope is None:
            return set()
        return {q.name for q in scope.get_qualified_names_for(node)}

    def resolves_to(self, node: cst.CSTNode, wanted: Any) -> bool:
        """Does ``node`` have one of the ``wanted`` qualified names?

        Decides "no" without scope analysis where the bindings of the root name prove it: a name
        bound only locally (parameters, assignments, definitions) has a local qualified name,
        which equals a wanted module-level name only if its dotted spelling does.
        """
        if not self.full:
            dotted = dotted_name(node)
            if dotted is not None:
                info = self._root_bindings().get(dotted.partition(".")[0])
                if info is _LOCAL:
                    suffix = "." + dotted
                    if dotted not in wanted and not any(w.endswith(suffix) for w in wanted):
                        return False
        return not self.qualified_names(node).isdisjoint(wanted)

    def _root_bindings(self) -> Dict[str, Any]:
        """Root name -> list of qualified-name bases (module-level imports only) or _COMPLEX."""
        if self._roots is not None:
            return self._roots
        roots: Dict[str, Any] = {}
        for node in self.nodes(cst.Import, cst.ImportFrom):
            names = node.names
            if isinstance(names, cst.ImportStar):
                continue
            module_level = self.enclosing(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) is None
            relative = isinstance(node, cst.ImportFrom) and (node.relative or node.module is None)
            source = dotted_name(node.module) if isinstance(node, cst.ImportFrom) else None
            for alias in names:
                full = dotted_name(alias.name) or ""
                if alias.asname is not None:
                    bound = alias.asname.name.value if isinstance(alias.asname.name, cst.Name) else None
                    base = full
                else:
                    bound = full.split(".")[0]
                    base = bound
                if isinstance(node, cst.ImportFrom):
                    base = "%s.%s" % (source, full)
                if bound is None:
                    continue
                if not module_level or relative:
                    roots[bound] = _COMPLEX
                elif roots.get(bound) is not _COMPLEX:
                    roots.setdefault(bound, []).append(base)
        for name in self._bound_names():
            roots[name] = _COMPLEX if name in roots else _LOCAL
        self._roots = roots
        return roots

    def _bound_names(self) -> Set[str]:
        """Names bound anywhere in the file other than by imports (over-approximated)."""
        bound: Set[str] = set()
        for node in self.nodes(cst.FunctionDef, cst.ClassDef):
            bound.add(node.name.value)
        for node in self.nodes(cst.Param):
            bound.add(node.name.value)
        for node in self.nodes(cst.NameItem):
            bound.add(node.name.value)
        for node in self.nodes(cst.AsName):
            parent = self._parent.get(node)
            if not isinstance(parent, cst.ImportAlias):
                for name in self.walk(node.name):
                    if isinstance(name, cst.Name):
                        bound.add(name.value)
        targets: List[cst.CSTNode] = []
        targets.extend(n.target for n in self.nodes(cst.AssignTarget))
        targets.extend(n.target for n in self.nodes(cst.AnnAssign))
        targets.extend(n.target for n in self.nodes(cst.AugAssign))
        targets.extend(n.target for n in self.nodes(cst.For))
        targets.extend(n.target for n in self.nodes(cst.CompFor))
        targets.extend(n.target for n in self.nodes(cst.NamedExpr))
        targets.extend(n.target for n in self.nodes(cst.Del))
        for target in targets:
            for name in self.walk(target):
                if isinstance(name, cst.Name):
                    bound.add(name.value)
        for type_name in ("MatchAs", "MatchStar", "TypeVar", "TypeVarTuple", "ParamSpec"):
            node_type = getattr(cst, type_name, None)
            if node_type is None:
                continue
            for node in self.nodes(node_type):
                name = getattr(node, "name", None)
                if isinstance(name, cst.Name):
                    bound.add(name.value)
        return bound

    def positions(self, nodes: Sequence[cst.CSTNode]) -> Dict[cst.CSTNode, Tuple[int, int, int, int]]:
        """(line, column, end_line, end_column) of each node, 1-based columns.

        One code generation pass that records positions only for the wanted nodes (libcst's
        PositionProvider records every node, several times the cost of a parse).
        """
        wanted = set(nodes)
        if not wanted:
            return {}
        try:
            state = _TargetPositions(self.module, wanted)
            self.module._codegen(state)
            found = state.found
        except Exception:  # private codegen API changed: use the public provider
            found = {}
        if any(node not in found for node in wanted):
            computed = self._wrap().resolve(PositionProvider)
            found = {node: ((r.start.line, r.start.column), (r.end.line, r.end.column)) for node, r in ((n, computed[n]) for n in wanted)}
        return {node: (start[0], start[1] + 1, end[0], end[1] + 1) for node, (start, end) in found.items()}

    def position(self, node: cst.CSTNode) -> Tuple[int, int, int, int]:
        return self.positions([node])[node]

    def assignments(self, name: cst.Name) -> List[Any]:
        """libcst assignments the name may refer to (empty for unknown or builtin names)."""
        scope = self.scope(name)
        if scope is None:
            return []
        found = []
        for access in scope.accesses[name]:
            if access.node is name:
                found.extend(access.referents)
        if not found and name.value in scope:
            # The name is itself an assignment target, or not recorded as an access.
            found.extend(scope[name.value])
        return found


try:  # libcst's code generation state (stable since libcst 0.3; checked at run time above)
    from libcst._nodes.internal import CodegenState as _CodegenState
except ImportError:  # pragma: no cover
    _CodegenState = object  # type: ignore[misc,assignment]


class _TargetPositions(_CodegenState):  # type: ignore[misc,valid-type]
    """Code generation that tracks line/column lazily and records syntactic ranges of targets."""

    def __init__(self, module: cst.Module, targets: Set[cst.CSTNode]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.targets = targets
        self.found: Dict[cst.CSTNode, Tuple[Tuple[int, int], Tuple[int, int]]] = {}
        self._line = 1
        self._column = 0
        self._scanned = 0

    def _where(self) -> Tuple[int, int]:
        tokens = self.tokens
        if self._scanned > len(tokens):  # a trailing newline was popped: rescan
            self._line, self._column, self._scanned = 1, 0, 0
        line, column = self._line, self._column
        for index in range(self._scanned, len(tokens)):
            token = tokens[index]
            if "\n" in token or "\r" in token:
                segments = _NEWLINE.split(token)
                line += len(segments) - 1
                column = len(segments[-1])
            else:
                column += len(token)
        self._line, self._column, self._scanned = line, column, len(tokens)
        return line, column

    def record_syntactic_position(self, node: Any, *, start_node: Any = None, end_node: Any = None) -> Any:
        if node in self.targets:
            return _Recorder(self, node, start_node, end_node)
        return _NULL_CONTEXT


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return False


_NULL_CONTEXT = _NullContext()


class _Recorder:
    def __init__(self, state: _TargetPositions, node: Any, start_node: Any, end_node: Any) -> None:
        self.state = state
        self.node = node
        self.start_node = start_node
        self.end_node = end_node

    def __enter__(self) -> None:
        self.start = self.state._where()

    def __exit__(self, *exc: Any) -> bool:
        start = self.start
        end = self.state._where()
        found = self.state.found
        if self.start_node is not None:
            if self.start_node not in found:
                return False  # PositionProvider fallback handles it
            start = found[self.start_node][0]
        if self.end_node is not None:
            if self.end_node not in found:
                return False
            end = found[self.end_node][1]
        found[self.node] = (start, end)
        return False
