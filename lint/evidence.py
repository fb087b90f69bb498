"""Evidence that a class is pickled: the data model, and what one file contributes to it.

A rule such as SC102 ("this class stores a lock") is only worth reading when something pickles
the class.  Whether something does is a project-wide question: the class is defined in one
module, its bases and reducers in others, and the call that pickles it (``pool.submit(work,
job)``) in yet another.  Each file therefore contributes a small, JSON-serialisable summary,
``ModuleFacts``, computed while the file is linted and cached with its findings:

* ``classes``: every class statement (qualified name, bases resolved through the module's
  imports, the pickling methods its body defines, what its ``__getstate__`` mentions), read with
  CPython's ``ast`` from every file that has a class, so that a base class in a file none of the
  rules look at is still known;
* ``sites``: places where a value reaches a pickler: ``pickle.dump(s)``, ``copy.deepcopy``,
  process pools and executors (arguments, ``initargs``, bound methods, what the submitted
  function returns), ``multiprocessing`` queues, ``shelve``, ``joblib.dump``, the
  ``serialcompat`` fixture and declared samples; each names the classes it can see in the value
  (constructor calls, names bound to them, ``self`` in a method);
* ``reducers``: classes given a reducer by ``copyreg.pickle`` or ``multiprocessing.reduction``;
* ``candidates``: findings a rule could make that depend on the evidence (see ``project.py``).

``ProjectIndex`` joins the facts of every file (plus the golden store's manifests) and answers:
the resolvable method resolution order of a class, whether some class in it defines a hook, and
the first piece of evidence that the class (or a base) is pickled.  The join is dictionary work
over the cached summaries, so an unchanged tree costs nothing to re-resolve.

Everything here is deliberately small and recall-extensible: a later pass can add sites (values
followed through attributes, aliases, calls) without changing the model.
"""
import ast
import re
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

import libcst as cst

from .context import FileContext, dotted_name, terminal_name
from .semantics import CONTEXT_FACTORIES, FACTORIES

__all__ = [
    "PICKLING_METHODS",
    "REDUCE_HOOKS",
    "NEVER_PICKLED",
    "EVIDENCE_TRIGGERS",
    "BY_VALUE_PICKLERS",
    "ClassFacts",
    "Site",
    "Reducer",
    "Candidate",
    "ModuleFacts",
    "ProjectIndex",
    "module_name",
    "class_facts",
    "collect_sites",
    "qualname_of",
    "mangle",
    "facts_to_json",
    "facts_from_json",
]

#: Methods whose presence shows that a class is meant to be pickled (and that change how).
PICKLING_METHODS = ("__getstate__", "__setstate__", "__reduce__", "__reduce_ex__", "__getnewargs__", "__getnewargs_ex__")
#: Methods that replace the default state entirely: nothing stored on ``self`` matters then.
REDUCE_HOOKS = ("__reduce__", "__reduce_ex__")
#: Classes whose instances cannot be pickled at all: a subclass is not "a class storing a lock",
#: it is a class that must not be pickled.  Values: how messages name them.
NEVER_PICKLED: Dict[str, str] = {}
for _names, _label in (
    (("threading.Thread", "threading.Timer"), "threading.Thread"),
    (("concurrent.futures.Executor", "concurrent.futures._base.Executor", "concurrent.futures.ThreadPoolExecutor",
      "concurrent.futures.thread.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor",
      "concurrent.futures.process.ProcessPoolExecutor"), "an executor"),
    (("multiprocessing.pool.Pool", "multiprocessing.pool.ThreadPool"), "a multiprocessing pool"),
    (("socket.socket", "ssl.SSLSocket"), "socket.socket"),
    (("io.IOBase", "io.RawIOBase", "io.BufferedIOBase", "io.TextIOBase", "io.FileIO", "io.BufferedReader",
      "io.BufferedWriter", "io.BufferedRandom", "io.TextIOWrapper", "_io._IOBase", "_io._RawIOBase",
      "_io._BufferedIOBase", "_io._TextIOBase", "_io.FileIO"), "an io file"),
    (("socketserver.BaseServer", "socketserver.TCPServer", "socketserver.UDPServer"), "a socketserver server"),
    (("queue.Queue", "queue.LifoQueue", "queue.PriorityQueue"), "queue.Queue"),
):
    for _name in _names:
        NEVER_PICKLED[_name] = _label
#: Picklers that store functions and classes by value (so "cannot be found by name" is no hazard).
BY_VALUE_PICKLERS = ("cloudpickle", "dill")
#: A file can only contain a site if its text has one of these words.
EVIDENCE_TRIGGERS = (
    "pickle", "_pickle", "cloudpickle", "dill", "copy", "copyreg", "multiprocessing", "concurrent",
    "shelve", "joblib", "serialcompat",
)

_DUMPERS = {
    # qualified name: (position, keyword, durable)
    "pickle.dump": (0, "obj", True),
    "_pickle.dump": (0, "obj", True),
    "pickle.dumps": (0, "obj", False),
    "_pickle.dumps": (0, "obj", False),
    "cloudpickle.dump": (0, "obj", True),
    "cloudpickle.dumps": (0, "obj", False),
    "dill.dump": (0, "obj", True),
    "dill.dumps": (0, "obj", False),
    "joblib.dump": (0, "value", True),
    "copy.deepcopy": (0, "x", False),
}
_PICKLERS = frozenset(("pickle.Pickler", "_pickle.Pickler", "cloudpickle.Pickler", "dill.Pickler"))
_REGISTRARS = {
    "copyreg.pickle": (0, "ob_type"),
    "multiprocessing.reduction.register": (0, "type"),
    "multiprocessing.reduction.ForkingPickler.register": (0, "type"),
}
_QUEUES = frozenset((
    "multiprocessing.Queue", "multiprocessing.SimpleQueue", "multiprocessing.JoinableQueue",
    "multiprocessing.queues.Queue", "multiprocessing.queues.SimpleQueue", "multiprocessing.queues.JoinableQueue",
))
_QUEUE_METHODS = frozenset(("put", "put_nowait"))
_SHELVE_OPEN = frozenset(("shelve.open", "shelve.Shelf", "shelve.DbfilenameShelf"))
_FIXTURE = "serialcompat"
_FIXTURE_METHODS = {"check": True, "check_spawn_safe": False}  # method -> durable (golden)
_CALL_NAMES = frozenset(
    [q.rsplit(".", 1)[1] for q in list(_DUMPERS) + list(_REGISTRARS)]
    + ["dump", "register", "Queue", "SimpleQueue", "JoinableQueue", "open", "Shelf", "DbfilenameShelf"]
    + list(_QUEUE_METHODS) + list(_FIXTURE_METHODS)
)
_NOQA = re.compile(r"#\s*noqa\s*:\s*(SC\d{3}(?:\s*,\s*SC\d{3})*)", re.IGNORECASE)


# -- data model ------------------------------------------------------------------------------------

class ClassFacts(NamedTuple):
    """One class statement."""

    qualname: str  # as ``__qualname__``: "Outer.Inner", "f.<locals>.C"
    line: int
    column: int  # span of the class name, 1-based columns
    end_column: int
    bases: Tuple[str, ...]  # absolute qualified names; "?name" when the base cannot be resolved
    hooks: Tuple[str, ...]  # PICKLING_METHODS its body defines
    getstate_keys: Tuple[str, ...]  # state keys its __getstate__ mentions (strings, mangled attributes)
    getstate_copies: bool  # its __getstate__ starts from __dict__ / vars(): unmentioned keys stay
    noqa: Tuple[str, ...]  # codes suppressed on the class line
    #: What attributes hold, for the process rules (see ``attribute_facts``): (name, descriptor).
    attributes: Tuple[Tuple[str, str], ...] = ()


class Site(NamedTuple):
    """A place where values of the ``target`` class reach a pickler."""

    target: str  # absolute qualified name (matched against the project's classes)
    line: int
    via: str  # "pickle.dumps", "ProcessPoolExecutor.submit", ...
    durable: bool  # written somewhere that outlives the process (a file, shelve, the golden store)


class Reducer(NamedTuple):
    target: str
    line: int
    via: str


class Candidate(NamedTuple):
    """A finding whose fate depends on project-wide evidence (decided in ``project.py``)."""

    code: str
    cls: str  # qualname of the class in this module
    key: str  # the state key, for SC102
    label: str  # what the attribute holds, for SC102
    line: int
    column: int
    end_line: int
    end_column: int
    fixable: bool = False


class ModuleFacts(NamedTuple):
    module: str
    is_package: bool
    classes: Tuple[ClassFacts, ...] = ()
    exports: Tuple[Tuple[str, str], ...] = ()  # module-level import bindings: name -> qualified name
    sites: Tuple[Site, ...] = ()
    reducers: Tuple[Reducer, ...] = ()
    picklers: Tuple[str, ...] = ()  # by-value picklers this file imports
    candidates: Tuple[Candidate, ...] = ()
    path: str = ""  # display path (filled in at run time, not cached)
    relpath: str = ""


def facts_to_json(facts: ModuleFacts) -> List[Any]:
    return [
        facts.module, facts.is_package, [list(c) for c in facts.classes], [list(e) for e in facts.exports],
        [list(s) for s in facts.sites], [list(r) for r in facts.reducers], list(facts.picklers),
        [list(c) for c in facts.candidates],
    ]


def facts_from_json(data: Any, path: str, relpath: str) -> ModuleFacts:
    module, is_package, classes, exports, sites, reducers, picklers, candidates = data
    return ModuleFacts(
        module, bool(is_package),
        tuple(ClassFacts(c[0], c[1], c[2], c[3], tuple(c[4]), tuple(c[5]), tuple(c[6]), bool(c[7]), tuple(c[8]),
                         tuple((a[0], a[1]) for a in c[9])) for c in classes),
        tuple((e[0], e[1]) for e in exports),
        tuple(Site(*s) for s in sites), tuple(Reducer(*r) for r in reducers), tuple(picklers),
        tuple(Candidate(*c) for c in candidates), path, relpath,
    )


def module_name(relpath: str) -> Tuple[str, bool]:
    """(dotted module name, is a package) for a path relative to the project root."""
    parts = [p for p in relpath.replace("\\", "/").split("/") if p and p != "."]
    while parts and parts[0] == "..":
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == "src":
        parts = parts[1:]
    if not parts:
        return "", False
    last = parts[-1]
    for suffix in (".pyi", ".py"):
        if last.endswith(suffix):
            last = last[: -len(suffix)]
            break
    is_package = last == "__init__"
    parts = parts[:-1] if is_package else parts[:-1] + [last]
    return ".".join(parts), is_package


def absolute_name(name: str, module: str, is_package: bool) -> str:
    """``.process.X`` in ``concurrent.futures.thread`` is ``concurrent.futures.process.X``."""
    if not name.startswith("."):
        return name
    dots = len(name) - len(name.lstrip("."))
    package = module.split(".") if is_package else module.split(".")[:-1]
    if dots > 1:
        package = package[: len(package) - (dots - 1)] if dots - 1 <= len(package) else []
    rest = name[dots:]
    return ".".join([p for p in package if p] + ([rest] if rest else []))


def mangle(class_name: str, attr: str) -> str:
    """The state key of ``self.<attr>`` in class ``class_name`` (private names are mangled)."""
    if not attr.startswith("__") or attr.endswith("__"):
        return attr
    stripped = class_name.lstrip("_")
    return "_%s%s" % (stripped, attr) if stripped else attr


def _noqa_codes(line: str) -> Tuple[str, ...]:
    codes: Set[str] = set()
    for match in _NOQA.finditer(line):
        codes |= {c.strip().upper() for c in match.group(1).split(",")}
    return tuple(sorted(codes))


# -- classes, from CPython's ast --------------------------------------------------------------------

def class_facts(tree: ast.AST, text: str, module: str, is_package: bool) -> Tuple[Tuple[ClassFacts, ...], Tuple[Tuple[str, str], ...]]:
    """Every class statement of a module, and its module-level import bindings."""
    imports: Dict[str, str] = {}
    for statement in getattr(tree, "body", ()):
        for node in _module_level(statement):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imports[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        imports[top] = top
            elif isinstance(node, ast.ImportFrom):
                source = absolute_name("." * (node.level or 0) + (node.module or ""), module, is_package)
                for alias in node.names:
                    if alias.name != "*":
                        imports[alias.asname or alias.name] = "%s.%s" % (source, alias.name) if source else alias.name
    lines = text.splitlines()
    found: List[ClassFacts] = []
    # (node, qualname prefix, names bound to classes in enclosing scopes)
    stack: List[Tuple[ast.AST, str, Dict[str, str]]] = [(tree, "", {})]
    while stack:
        node, prefix, visible = stack.pop()
        body = list(getattr(node, "body", ())) + list(getattr(node, "orelse", ())) + list(getattr(node, "finalbody", ()))
        for handler in getattr(node, "handlers", ()):
            body.extend(handler.body)
        for case in getattr(node, "cases", ()):
            body.extend(case.body)
        local_classes = dict(visible)
        for child in body:
            if isinstance(child, ast.ClassDef):
                local_classes[child.name] = prefix + child.name
        children = []
        for child in body:
            if isinstance(child, ast.ClassDef):
                qualname = prefix + child.name
                found.append(_one_class(child, qualname, lines, local_classes, imports, module))
                children.append((child, qualname + ".", {k: v for k, v in local_classes.items()}))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                children.append((child, prefix + child.name + ".<locals>.", local_classes))
            elif isinstance(child, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)) or type(child).__name__ in ("TryStar", "Match"):
                children.append((child, prefix, local_classes))
        stack.extend(reversed(children))
    found.sort(key=lambda c: (c.line, c.column))
    return tuple(found), tuple(sorted(imports.items()))


def _module_level(statement: ast.AST) -> Iterator[ast.AST]:
    """A module-level statement, descending into if/try blocks (conditional imports)."""
    yield statement
    if isinstance(statement, (ast.If, ast.Try)) or type(statement).__name__ == "TryStar":
        blocks = list(getattr(statement, "body", ())) + list(getattr(statement, "orelse", ())) + list(getattr(statement, "finalbody", ()))
        for handler in getattr(statement, "handlers", ()):
            blocks.extend(handler.body)
        for inner in blocks:
            yield from _module_level(inner)


def _ast_dotted(expr: ast.AST) -> Optional[str]:
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def _one_class(node: ast.ClassDef, qualname: str, lines: Sequence[str], local_classes: Dict[str, str], imports: Dict[str, str], module: str) -> ClassFacts:
    bases = []
    for base in node.bases:
        dotted = _ast_dotted(base.func if isinstance(base, ast.Call) else base)
        if dotted is None:
            bases.append("?")
            continue
        root, _, rest = dotted.partition(".")
        if root in local_classes:
            target = "%s.%s" % (module, local_classes[root]) if module else local_classes[root]
        elif root in imports:
            target = imports[root]
        elif root in _BUILTIN_NAMES:
            target = "builtins." + root
        else:
            bases.append("?" + dotted)
            continue
        bases.append(target + ("." + rest if rest else ""))
    hooks = []
    keys: Set[str] = set()
    copies = False
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name in PICKLING_METHODS:
            hooks.append(statement.name)
            if statement.name == "__getstate__":
                for inner in ast.walk(statement):
                    if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                        keys.add(inner.value)
                    elif isinstance(inner, ast.Attribute):
                        keys.add(mangle(node.name, inner.attr))
                        if inner.attr in ("__dict__", "__getstate__"):
                            copies = True
                    elif isinstance(inner, ast.Name) and inner.id == "vars":
                        copies = True
    line_text = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
    match = re.search(r"\bclass\s+(%s)\b" % re.escape(node.name), line_text)
    column = match.start(1) + 1 if match else node.col_offset + 1
    return ClassFacts(
        qualname, node.lineno, column, column + len(node.name), tuple(bases), tuple(sorted(set(hooks))),
        tuple(sorted(keys)), copies, _noqa_codes(line_text), attribute_facts(node, imports),
    )


# -- what attributes hold: pools, executors and contexts set up in a class or its bases ------------
#
# A test case gets ``self.executor`` from a mixin's ``setUp`` (``self.executor =
# self.executor_type(...)``), whose ``executor_type`` a subclass sets to ProcessPoolExecutor; a
# service gets ``self.pool`` from ``self._ctx.Pool()`` with ``self._ctx = get_context("spawn")``.
# Each class records, per attribute, one descriptor; ``ProjectIndex.attribute_kind`` evaluates
# them over the MRO of the class that uses the attribute (so a base's ``self.executor_type(...)``
# finds the subclass's ``executor_type``):
#
#   "=kind"      an instance made by a factory call (semantics.FACTORIES: "process_executor", ...)
#   "&kind"      the factory itself (``executor_type = ProcessPoolExecutor``)
#   "()name"     what calling ``self.name(...)`` gives (a class attribute or a method)
#   ".Attr@name" what ``self.name.Attr(...)`` gives (``self._ctx.Pool()``)
#   "->desc"     a method returning ``desc``

def _factory_kind_of(dotted: Optional[str], imports: Dict[str, str]) -> Optional[str]:
    if dotted is None:
        return None
    root, _, rest = dotted.partition(".")
    if root not in imports:
        return None
    return FACTORIES.get(imports[root] + ("." + rest if rest else ""))


def _describe(value: Any, receiver: Optional[str], imports: Dict[str, str]) -> Optional[str]:
    if isinstance(value, ast.IfExp):
        return _describe(value.body, receiver, imports) or _describe(value.orelse, receiver, imports)
    if isinstance(value, ast.BoolOp):
        for operand in value.values:
            found = _describe(operand, receiver, imports)
            if found is not None:
                return found
        return None
    if isinstance(value, ast.Call):
        func = value.func
        kind = _factory_kind_of(_ast_dotted(func), imports)
        if kind is not None:
            return "=" + kind
        if isinstance(func, ast.Attribute) and receiver is not None:
            owner = func.value
            if isinstance(owner, ast.Name) and owner.id == receiver:
                return "()" + func.attr
            if (func.attr in CONTEXT_FACTORIES and isinstance(owner, ast.Attribute)
                    and isinstance(owner.value, ast.Name) and owner.value.id == receiver):
                return ".%s@%s" % (func.attr, owner.attr)
        return None
    kind = _factory_kind_of(_ast_dotted(value), imports)
    return "&" + kind if kind is not None else None


def attribute_facts(node: ast.ClassDef, imports: Dict[str, str]) -> Tuple[Tuple[str, str], ...]:
    """(attribute, descriptor) for what the class body and its methods bind (see above)."""
    found: Dict[str, str] = {}
    for statement in node.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            described = _describe(statement.value, None, imports)
            for target in targets:
                if described is not None and isinstance(target, ast.Name):
                    found.setdefault(target.id, described)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = list(getattr(statement.args, "posonlyargs", [])) + list(statement.args.args)
            if not arguments or any(_ast_dotted(d) == "staticmethod" for d in statement.decorator_list):
                continue
            receiver = arguments[0].arg
            for inner in ast.walk(statement):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    described = _describe(inner.value, receiver, imports)
                    if described is not None:
                        found.setdefault(statement.name, "->" + described)
                elif isinstance(inner, (ast.Assign, ast.AnnAssign)) and inner.value is not None:
                    targets = inner.targets if isinstance(inner, ast.Assign) else [inner.target]
                    for target in targets:
                        if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                                and target.value.id == receiver):
                            described = _describe(inner.value, receiver, imports)
                            if described is not None:
                                found.setdefault(target.attr, described)
    return tuple(sorted(found.items()))


_BUILTIN_NAMES = frozenset(dir(__import__("builtins")))


# -- sites, from the libcst tree the rules already have -------------------------------------------

def qualname_of(ctx: FileContext, node: cst.CSTNode) -> str:
    """``__qualname__`` of a libcst ClassDef or FunctionDef."""
    parts = [node.name.value]
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.ClassDef):
            parts.append(ancestor.name.value)
        elif isinstance(ancestor, cst.FunctionDef):
            parts.append(ancestor.name.value + ".<locals>")
        elif isinstance(ancestor, cst.Lambda):
            parts.append("<lambda>.<locals>")
    return ".".join(reversed(parts))


class _Sites:
    """Collects the sites of one file."""

    def __init__(self, ctx: FileContext, module: str, is_package: bool) -> None:
        self.ctx = ctx
        self.module = module
        self.is_package = is_package
        # (target, node, via, durable): lines are computed at the end, in one positions pass
        self.sites: List[Tuple[str, cst.CSTNode, str, bool]] = []
        self.reducers: List[Tuple[str, cst.CSTNode, str]] = []

    def result(self) -> Tuple[Tuple[Site, ...], Tuple[Reducer, ...]]:
        nodes = [s[1] for s in self.sites] + [r[1] for r in self.reducers]
        if not nodes:
            return (), ()
        lines = {node: position[0] for node, position in self.ctx.positions(nodes).items()}
        sites = sorted({Site(t, lines[n], v, d) for t, n, v, d in self.sites})
        reducers = sorted({Reducer(t, lines[n], v) for t, n, v in self.reducers})
        return tuple(sites), tuple(reducers)

    # What a class or callable expression is, as an absolute qualified name.
    def qualify(self, expr: Any) -> Set[str]:
        ctx = self.ctx
        if dotted_name(expr) is None:
            return set()
        if isinstance(expr, cst.Name):
            from .semantics import bound_values

            classes = [v for v in bound_values(ctx, expr) if isinstance(v, cst.ClassDef)]
            if classes:
                return {self._in_module(qualname_of(ctx, c)) for c in classes}
        scope = ctx.scope(expr)
        if scope is None:
            return set()
        names = set()
        for qualified in scope.get_qualified_names_for(expr):
            source = getattr(qualified.source, "name", "")
            if source == "IMPORT":
                names.add(absolute_name(qualified.name, self.module, self.is_package))
            elif source == "LOCAL":
                names.add(self._in_module(qualified.name))
        return names

    def _in_module(self, qualname: str) -> str:
        return "%s.%s" % (self.module, qualname) if self.module else qualname

    def enclosing_class(self, name: cst.Name) -> Optional[str]:
        """For ``self``/``cls`` as the first parameter of a method: that class."""
        owner = self.enclosing_class_node(name)
        return None if owner is None else self._in_module(qualname_of(self.ctx, owner))

    def enclosing_class_node(self, name: cst.Name) -> Optional[cst.ClassDef]:
        from .semantics import first_param

        for ancestor in self.ctx.ancestors(name):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                params = ancestor.params
                all_params = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
                if not any(p.name.value == name.value for p in all_params):
                    continue
                if not isinstance(ancestor, cst.FunctionDef) or first_param(ancestor) != name.value:
                    return None
                owner = self.ctx.parent(self.ctx.parent(ancestor))
                return owner if isinstance(owner, cst.ClassDef) else None
        return None

    def value_targets(self, expr: Any) -> Set[str]:
        """Classes whose instances (or which themselves) may be in the value ``expr``."""
        from .semantics import resolve

        targets: Set[str] = set()
        if expr is None:
            return targets
        for node in self.ctx.walk(expr):
            if isinstance(node, cst.Call):
                targets |= self.qualify(node.func)
            elif isinstance(node, cst.Name):
                parent = self.ctx.parent(node)
                if node is not expr and (isinstance(parent, cst.Attribute) or (isinstance(parent, cst.Call) and parent.func is node)):
                    continue
                owner = self.enclosing_class(node)
                if owner is not None:
                    targets.add(owner)
                    continue
                targets |= self.qualify(node)
                for value in resolve(self.ctx, node):
                    if isinstance(value, cst.Call):
                        targets |= self.qualify(value.func)
        return {t for t in targets if not t.startswith("builtins.")}

    def add(self, expr: Any, at: cst.CSTNode, via: str, durable: bool) -> None:
        for target in sorted(self.value_targets(expr)):
            self.sites.append((target, at, via, durable))

    def add_bound_owner(self, callable_expr: Any, at: cst.CSTNode, via: str) -> None:
        """A bound method pickles its instance: ``pool.submit(self.run)``, ``Process(target=obj.work)``."""
        if not isinstance(callable_expr, cst.Attribute):
            return
        owner = callable_expr.value
        if isinstance(owner, cst.Name):
            class_def = self.enclosing_class_node(owner)
            if class_def is not None and _is_class_level_method(class_def, callable_expr.attr.value):
                return  # self.some_classmethod: the class is pickled by reference, no instance
        self.add(owner, at, via + " (a bound method)", False)

    def add_results(self, callable_expr: Any, at: cst.CSTNode, via: str) -> None:
        """What a function run in another process returns is pickled back."""
        from .semantics import bound_values

        if not isinstance(callable_expr, cst.Name):
            return
        for value in bound_values(self.ctx, callable_expr):
            if isinstance(value, cst.FunctionDef):
                for node in self.ctx.walk(value.body):
                    if isinstance(node, cst.Return) and node.value is not None:
                        if self.ctx.enclosing(node, (cst.FunctionDef, cst.Lambda)) is value:
                            self.add(node.value, at, "the result of %s run by %s" % (value.name.value, via), False)


def _is_class_level_method(class_def: cst.ClassDef, name: str) -> bool:
    body = class_def.body
    for statement in body.body if isinstance(body, cst.IndentedBlock) else ():
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return any(terminal_name(d.decorator) in ("classmethod", "staticmethod") for d in statement.decorators)
    return False


def collect_sites(ctx: FileContext, module: str, is_package: bool, samples: Sequence[str] = ()) -> Tuple[Tuple[Site, ...], Tuple[Reducer, ...], Tuple[str, ...]]:
    """The sites, reducers and by-value picklers of one file."""
    from .rules.processes import work_calls
    from .semantics import argument, factory_kind, resolve

    found = _Sites(ctx, module, is_package)
    for call in ctx.calls_named(_CALL_NAMES):
        func = call.func
        if ctx.resolves_to(func, _DUMPERS):
            for qname in sorted(ctx.qualified_names(func)):
                spec = _DUMPERS.get(qname)
                if spec is not None:
                    position, keyword, durable = spec
                    durable = durable or _written(ctx, call)
                    found.add(argument(call, position, keyword), call, qname, durable)
                    break
            continue
        if ctx.resolves_to(func, _REGISTRARS):
            for qname in sorted(ctx.qualified_names(func)):
                spec = _REGISTRARS.get(qname)
                if spec is not None:
                    target = argument(call, spec[0], spec[1])
                    for name in sorted(found.qualify(target) if target is not None else ()):
                        found.reducers.append((name, call, qname))
                        found.sites.append((name, call, qname, False))
                    break
            continue
        if not isinstance(func, cst.Attribute):
            continue
        method = func.attr.value
        if method == "dump" and isinstance(func.value, cst.Call) and ctx.resolves_to(func.value.func, _PICKLERS):
            found.add(argument(call, 0, "obj"), call, "Pickler.dump", True)
        elif method in _QUEUE_METHODS and _is_process_queue(ctx, func.value):
            found.add(argument(call, 0, "obj"), call, "a multiprocessing queue", False)
        elif method in _FIXTURE_METHODS and isinstance(func.value, cst.Name) and func.value.value == _FIXTURE:
            values = [a.value for a in call.args if a.keyword is None]
            for value in values if method == "check" else values[1:]:
                found.add(value, call, "serialcompat.%s" % method, _FIXTURE_METHODS[method])
    # Process pools, executors and processes: arguments, bound methods, results, initargs.
    for work in work_calls(ctx):
        via = work.label
        for value in work.payload:
            found.add(value, work.call, via, False)
        if work.callable_expr is not None:
            found.add_bound_owner(work.callable_expr, work.call, via)
            if "initializer" not in via:
                found.add_results(work.callable_expr, work.call, via)
        kind = factory_kind(ctx, work.call) if isinstance(work.call, cst.Call) else None
        if kind is not None and kind.kind in ("process_pool", "process_executor"):
            found.add(argument(work.call, 3 if kind.kind == "process_executor" else 2, "initargs"), work.call, via.replace("initializer", "initargs"), False)
    # shelve: db[key] = value
    if ctx.full or "shelve" in ctx.text:
        for assign in ctx.nodes(cst.Assign):
            for target in assign.targets:
                if isinstance(target.target, cst.Subscript):
                    for owner in resolve(ctx, target.target.value):
                        if isinstance(owner, cst.Call) and ctx.resolves_to(owner.func, _SHELVE_OPEN):
                            found.add(assign.value, assign, "shelve", True)
                            break
    # Declared samples ([tool.serialcompat] samples = ["module:NAME"]): recorded as goldens.
    for spec in samples:
        sample_module, _, name = spec.partition(":")
        if sample_module != module or not name:
            continue
        for statement in ctx.module.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
                found.add(statement.body, statement, "the serialcompat samples", True)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets):
                        found.add(small.value, small, "the serialcompat samples", True)
    return found.result() + (file_picklers(ctx),)


def file_picklers(ctx: FileContext) -> Tuple[str, ...]:
    """The by-value picklers (cloudpickle, dill) that the file imports."""
    found = set()
    for node in ctx.nodes(cst.Import, cst.ImportFrom):
        if isinstance(node, cst.Import):
            names = [dotted_name(alias.name) or "" for alias in node.names]
        elif node.relative:
            continue
        else:
            names = [dotted_name(node.module) or ""] if node.module is not None else []
        for name in names:
            top = name.split(".")[0]
            if top in BY_VALUE_PICKLERS:
                found.add(top)
    return tuple(sorted(found))


def _written(ctx: FileContext, call: cst.Call) -> bool:
    """``f.write(pickle.dumps(x))`` and ``path.write_bytes(...)`` write the bytes to a file."""
    parent = ctx.parent(ctx.parent(call))  # Arg -> Call
    return (
        isinstance(parent, cst.Call)
        and isinstance(parent.func, cst.Attribute)
        and parent.func.attr.value in ("write", "write_bytes")
    )


def _is_process_queue(ctx: FileContext, expr: Any) -> bool:
    from .semantics import object_kind, resolve

    for value in resolve(ctx, expr):
        if not isinstance(value, cst.Call):
            continue
        if ctx.resolves_to(value.func, _QUEUES):
            return True
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("Queue", "SimpleQueue", "JoinableQueue"):
            owner = object_kind(ctx, func.value)
            if owner is not None and owner.kind in ("context", "manager"):
                return True
    return False


# -- the project-wide join -------------------------------------------------------------------------

class Evidence(NamedTuple):
    path: str
    line: int
    via: str
    target: str  # the class the site names (the class itself or a base)
    durable: bool

    def describe(self, subject: str) -> str:
        where = "%s:%d" % (self.path, self.line) if self.line else self.path
        of = "" if self.target == subject else " (as its base %s)" % self.target.rsplit(".", 1)[-1]
        return "pickled at %s via %s%s" % (where, self.via, of)


class ProjectIndex:
    """The facts of every file of a run, joined."""

    def __init__(self, facts: Iterable[ModuleFacts], golden: Iterable[Tuple[str, int, str, str]] = ()) -> None:
        self.modules: Dict[str, ModuleFacts] = {}
        self.classes: Dict[str, Tuple[ModuleFacts, ClassFacts]] = {}
        self.exports: Dict[str, Dict[str, str]] = {}
        self.sites: Dict[str, List[Evidence]] = {}
        self.reducers: Dict[str, Reducer] = {}
        for module_facts in sorted(facts, key=lambda f: f.relpath):
            self.modules.setdefault(module_facts.module, module_facts)
            self.exports.setdefault(module_facts.module, dict(module_facts.exports))
            for class_facts in module_facts.classes:
                key = "%s.%s" % (module_facts.module, class_facts.qualname) if module_facts.module else class_facts.qualname
                self.classes.setdefault(key, (module_facts, class_facts))
            for site in module_facts.sites:
                self.sites.setdefault(self.canonical(site.target), []).append(
                    Evidence(module_facts.relpath, site.line, site.via, site.target, site.durable))
            for reducer in module_facts.reducers:
                self.reducers.setdefault(self.canonical(reducer.target), reducer)
        # Re-resolve after every module's exports are known.
        sites, self.sites = self.sites, {}
        for target, found in sites.items():
            self.sites.setdefault(self.canonical(target), []).extend(found)
        reducers, self.reducers = self.reducers, {}
        for target, reducer in reducers.items():
            self.reducers.setdefault(self.canonical(target), reducer)
        for manifest, line, module, qualname in golden:  # manifest: relative to the project root
            target = self.canonical("%s.%s" % (module, qualname))
            self.sites.setdefault(target, []).append(Evidence(manifest, line, "the golden store", target, True))

    def canonical(self, qname: str, hops: int = 8) -> str:
        """Follow re-exports: ``concurrent.futures.Executor`` is ``concurrent.futures._base.Executor``."""
        for _ in range(hops):
            if qname in self.classes:
                return qname
            module, _, name = qname.rpartition(".")
            exports = self.exports.get(module)
            if not exports or name not in exports or exports[name] == qname:
                return qname
            qname = exports[name]
        return qname

    def resolve_name(self, qname: str, hops: int = 8) -> str:
        """Follow re-exports and module attributes through every module's import bindings:
        ``app.compat.pickle_loads`` is ``pickle.loads`` when ``app/compat.py`` imports it so,
        and ``app.io.pickle.load`` is ``pickle.load`` when ``app/io.py`` does ``import pickle``."""
        for _ in range(hops):
            parts = qname.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                exports = self.exports.get(".".join(parts[:cut]))
                target = exports.get(parts[cut]) if exports else None
                if target is not None and target != ".".join(parts[: cut + 1]):
                    qname = ".".join([target] + parts[cut + 1:])
                    break
            else:
                return qname
        return qname

    def attribute_kind(self, qname: str, attr: str, depth: int = 0) -> Optional[str]:
        """What ``self.<attr>`` holds in instances of class ``qname`` (a semantics.FACTORIES kind:
        "process_executor", "process_pool", "context", ...), from the class and its bases."""
        descriptor = self._attribute(qname, attr)
        return self._evaluate(qname, descriptor, depth) if descriptor is not None else None

    def _attribute(self, qname: str, attr: str) -> Optional[str]:
        for name in self.mro(qname):
            facts = self.facts(name)
            if facts is not None:
                for key, descriptor in facts.attributes:
                    if key == attr:
                        return descriptor
        return None

    def _evaluate(self, qname: str, descriptor: str, depth: int) -> Optional[str]:
        if depth > 6:
            return None
        if descriptor.startswith("="):
            return descriptor[1:]
        if descriptor.startswith("()"):
            called = self._attribute(qname, descriptor[2:])
            if called is None:
                return None
            if called.startswith("&"):
                return called[1:]
            if called.startswith("->"):
                return self._evaluate(qname, called[2:], depth + 1)
            return None
        if descriptor.startswith("."):
            method, _, owner = descriptor[1:].partition("@")
            if self.attribute_kind(qname, owner, depth + 1) == "context":
                return CONTEXT_FACTORIES.get(method)
        return None

    def mro(self, qname: str) -> List[str]:
        """The class and its resolvable bases, depth first, left to right (C3 for the usual cases)."""
        order: List[str] = []
        pending = [self.canonical(qname)]
        while pending:
            current = pending.pop(0)
            if current in order:
                continue
            order.append(current)
            entry = self.classes.get(current)
            if entry is not None:
                bases = [self.canonical(b) for b in entry[1].bases if not b.startswith("?")]
                pending = bases + pending
        return order

    def facts(self, qname: str) -> Optional[ClassFacts]:
        entry = self.classes.get(qname)
        return entry[1] if entry is not None else None

    def first_with(self, mro: Sequence[str], hooks: Sequence[str]) -> Optional[Tuple[str, ClassFacts]]:
        for name in mro:
            facts = self.facts(name)
            if facts is not None and any(h in facts.hooks for h in hooks):
                return name, facts
        return None

    def never_pickled(self, mro: Sequence[str]) -> Optional[Tuple[str, str]]:
        """(base, label) when the class derives from a class that can never be pickled."""
        for name in mro:
            if name in NEVER_PICKLED:
                return name, NEVER_PICKLED[name]
            facts = self.facts(name)
            if facts is not None:
                for base in facts.bases:
                    if base in NEVER_PICKLED:
                        return base, NEVER_PICKLED[base]
        return None

    def site_evidence(self, mro: Sequence[str], durable: bool = False) -> Optional[Evidence]:
        """The first site that pickles the class or one of its bases (durably, if asked)."""
        for name in mro:
            for evidence in sorted(self.sites.get(name, ()), key=lambda e: (e.path, e.line, e.via)):
                if evidence.durable or not durable:
                    return evidence._replace(target=name)
        return None

    def reducer_for(self, qname: str) -> Optional[Reducer]:
        """copyreg/multiprocessing reducers apply to the exact type only."""
        return self.reducers.get(self.canonical(qname))
