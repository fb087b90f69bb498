"""Read the plugin's golden store and decide statically whether a module still defines a name.

Store layout (written by the pytest plugin)::

    <root>/tests/__serialcompat__/<sample>/manifest.json

Each manifest is a JSON object whose ``"globals"`` key lists ``[module, qualname]`` pairs: every
class or function a golden pickle refers to by reference.  Other keys are ignored here.

``defines(root, module, qualname)`` answers from the project's source files alone (libcst, no
import of project code): the module must define the first part of the qualname (class, def,
assignment, or an import that re-exports it) and, for nested names, the class body the rest.
Names bound in ways that cannot be followed (``from x import *`` of a non-project module, a
module-level ``__getattr__``, an attribute of an imported non-project object) count as defined.
"""
import json
import os
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import libcst as cst

from .context import dotted_name
from .guard import nesting_problem

__all__ = ["GoldenGlobal", "read_store", "module_file", "defines"]

MANIFEST = "manifest.json"
_MAX_HOPS = 8


class GoldenGlobal(NamedTuple):
    manifest: str  # path of the manifest file
    line: int  # 1-based line of the entry in the manifest
    module: str
    qualname: str


def read_store(store: str) -> Tuple[List[GoldenGlobal], List[Tuple[str, str]]]:
    """All globals referenced by manifests under ``store``, and (path, problem) for bad manifests."""
    found: List[GoldenGlobal] = []
    problems: List[Tuple[str, str]] = []
    if not os.path.isdir(store):
        return found, problems
    for sample in sorted(os.listdir(store)):
        path = os.path.join(store, sample, MANIFEST)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
            document = json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append((path, "unreadable golden manifest: %s" % exc))
            continue
        entries = document.get("globals", []) if isinstance(document, dict) else None
        if not isinstance(entries, list):
            problems.append((path, "golden manifest has no list under \"globals\""))
            continue
        for entry in entries:
            if (
                not isinstance(entry, list)
                or len(entry) != 2
                or not all(isinstance(part, str) and part for part in entry)
            ):
                problems.append((path, "malformed \"globals\" entry %r (expected [module, qualname])" % (entry,)))
                continue
            module, qualname = entry
            found.append(GoldenGlobal(path, _line_of(text, qualname), module, qualname))
    return found, problems


def _line_of(text: str, qualname: str) -> int:
    index = text.find(json.dumps(qualname))
    return 1 if index < 0 else text.count("\n", 0, index) + 1


def source_roots(root: str) -> List[str]:
    roots = [root]
    src = os.path.join(root, "src")
    if os.path.isdir(src):
        roots.append(src)
    return roots


def module_file(root: str, module: str) -> Tuple[bool, Optional[str]]:
    """(is the module's top-level package part of the project, path of its file or None)."""
    parts = module.split(".")
    in_project = False
    for base in source_roots(root):
        top = os.path.join(base, parts[0])
        if os.path.isdir(top) or os.path.isfile(top + ".py"):
            in_project = True
            candidate = os.path.join(base, *parts)
            for path in (candidate + ".py", os.path.join(candidate, "__init__.py")):
                if os.path.isfile(path):
                    return True, path
    return in_project, None


def _parse(path: str) -> Optional[cst.Module]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        text = data.decode("utf-8")
        if nesting_problem(text) is not None:
            return None
        return cst.parse_module(text)
    except (OSError, UnicodeDecodeError, cst.ParserSyntaxError, RecursionError, ValueError):
        return None


def _module_statements(body: Sequence[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Statements executed at module (or class body) level, descending into if/try/with/for."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
            yield statement
            for block in _blocks(statement):
                yield from _module_statements(block)
        else:
            yield statement


def _blocks(statement: cst.CSTNode) -> Iterator[Sequence[cst.CSTNode]]:
    body = getattr(statement, "body", None)
    if isinstance(body, cst.IndentedBlock):
        yield body.body
    for name in ("orelse", "finalbody"):
        extra = getattr(statement, name, None)
        if isinstance(extra, cst.If):
            yield [extra]
        elif extra is not None and isinstance(getattr(extra, "body", None), cst.IndentedBlock):
            yield extra.body.body
    for handler in getattr(statement, "handlers", ()):
        if isinstance(handler.body, cst.IndentedBlock):
            yield handler.body.body


def _target_names(target: cst.CSTNode) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)


class _Binding(NamedTuple):
    kind: str  # "class", "defined", "import", "unknown"
    node: Optional[cst.CSTNode] = None
    source_module: Optional[str] = None  # for imports: the module and name imported
    source_name: Optional[str] = None


def _bindings(body: Sequence[cst.CSTNode], name: str, module: str, is_package: bool) -> List[_Binding]:
    found: List[_Binding] = []
    for statement in _module_statements(body):
        if isinstance(statement, cst.ClassDef) and statement.name.value == name:
            found.append(_Binding("class", statement))
        elif isinstance(statement, cst.FunctionDef):
            if statement.name.value == name:
                found.append(_Binding("defined", statement))
            elif statement.name.value == "__getattr__":
                found.append(_Binding("unknown"))
        elif isinstance(statement, cst.Assign):
            if any(name in _target_names(t.target) for t in statement.targets):
                found.append(_Binding("defined", statement))
        elif isinstance(statement, cst.AnnAssign) and statement.value is not None:
            if name in _target_names(statement.target):
                found.append(_Binding("defined", statement))
        elif isinstance(statement, cst.Import):
            for alias in statement.names:
                full = dotted_name(alias.name) or ""
                bound = alias.asname.name.value if alias.asname is not None else full.split(".")[0]
                if bound == name:
                    found.append(_Binding("defined", statement))
        elif isinstance(statement, cst.ImportFrom):
            source = _absolute(statement, module, is_package)
            if isinstance(statement.names, cst.ImportStar):
                found.append(_Binding("import", statement, source, "*"))
                continue
            for alias in statement.names:
                original = dotted_name(alias.name) or ""
                bound = alias.asname.name.value if alias.asname is not None else original
                if bound == name:
                    found.append(_Binding("import", statement, source, original))
    return found


def _absolute(statement: cst.ImportFrom, module: str, is_package: bool) -> Optional[str]:
    target = dotted_name(statement.module) if statement.module is not None else ""
    level = len(statement.relative)
    if level == 0:
        return target
    package = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(package):
        return None
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def defines(root: str, module: str, qualname: str, _hops: int = 0) -> Optional[bool]:
    """True/False when the project module defines/lacks ``qualname``; None when not project code."""
    if "<locals>" in qualname or "<lambda>" in qualname:
        return None
    in_project, path = module_file(root, module)
    if not in_project:
        return None
    if path is None:
        return False
    if _hops > _MAX_HOPS:
        return True
    tree = _parse(path)
    if tree is None:
        return True  # unparsable: SC000 reports the file itself; do not guess here
    is_package = os.path.basename(path) == "__init__.py"
    parts = qualname.split(".")
    body: Sequence[cst.CSTNode] = tree.body
    for index, part in enumerate(parts):
        bindings = _bindings(body, part, module, is_package)
        if not bindings:
            return False
        classes = [b for b in bindings if b.kind == "class"]
        rest = ".".join(parts[index + 1:])
        if any(b.kind == "unknown" for b in bindings):
            return True
        if index + 1 == len(parts):
            if classes or any(b.kind == "defined" for b in bindings):
                return True
        if not classes:
            return _follow_imports(root, bindings, parts[index:], _hops)
        class_body = classes[-1].node.body
        body = class_body.body if isinstance(class_body, cst.IndentedBlock) else []
    return True


def _follow_imports(root: str, bindings: List[_Binding], parts: List[str], hops: int) -> bool:
    """Does any binding of ``parts[0]`` (imports, assignments) lead to a definition of ``parts``?"""
    rest = ".".join(parts[1:])
    for binding in bindings:
        if binding.kind != "import" or binding.source_module is None:
            return True  # an assignment or a plain import: cannot follow further
        if binding.source_name == "*":
            answer = defines(root, binding.source_module, ".".join(parts), hops + 1)
            if answer is None or answer:
                return True
            continue
        target = binding.source_name + ("." + rest if rest else "")
        answer = defines(root, binding.source_module, target, hops + 1)
        if answer is None or answer:
            return True
        submodule = binding.source_module + "." + binding.source_name
        if module_file(root, submodule)[1] is not None:  # from pkg import mod
            if not rest or defines(root, submodule, rest, hops + 1) is not False:
                return True
    return False
