"""Read the plugin's golden store and decide statically whether a module still defines a name.

The store is read through :mod:`pytest_serialcompat.store`, the same package the
plugin writes it with (one format, no second reading of it here)::

    <root>/tests/__serialcompat__/<sample, nested with />/<interpreter>.manifest.json
    <root>/tests/__serialcompat__/<sample>/releases/<version>/<interpreter>.manifest.json   (frozen)

Each manifest's ``goldens`` entries list ``globals``: every class or function a
golden pickle refers to by reference, as ``[module, qualname]`` pairs (older
manifests: ``"module.qualname"`` strings, read by trying each split).

``defines(root, module, qualname)`` answers from the project's source files alone (libcst, no
import of project code): the module must define the first part of the qualname (class, def,
assignment, or an import that re-exports it) and, for nested names, the class body the rest.
Names bound in ways that cannot be followed (``from x import *`` of a non-project module, a
module-level ``__getattr__``, an attribute of an imported non-project object) count as defined.
"""
import os
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import libcst as cst

from pytest_serialcompat.project import SOURCE_ROOTS
from pytest_serialcompat.store import (
    Store, StoreError, generations, is_manifest_name, manifest as manifest_schema,
)

from .context import dotted_name
from .guard import nesting_problem

__all__ = ["GoldenGlobal", "read_store", "line_of", "module_file", "defines"]

_MAX_HOPS = 8


class GoldenGlobal(NamedTuple):
    manifest: str  # path of the manifest file
    module: str
    qualname: str
    sample: str  # the sample's name (its folder under the store)
    goldens: Tuple[str, ...]  # the golden files of that manifest that name it


def read_store(store: str, root: Optional[str] = None) -> Tuple[List[GoldenGlobal], List[Tuple[str, str]]]:
    """All globals the goldens under ``store`` name, and (path, problem) for unusable manifests.

    ``root`` (the project) picks the module/qualname split of old dotted names.
    """
    found: List[GoldenGlobal] = []
    problems: List[Tuple[str, str]] = []
    golden_store = Store(store)
    try:
        samples = golden_store.samples()
    except OSError as exc:
        return found, [(store, "cannot list the golden store: %s" % exc)]
    folders = [(sample, sample, "") for sample in samples]
    # frozen generations (old releases' goldens) name classes that must keep importing too
    folders += [(g.sample, g.folder, "%s/%s/" % (generations.RELEASES, g.version))
                for g in generations.all_frozen(golden_store)]
    for sample, folder_name, prefix in folders:
        folder = golden_store.folder(folder_name)
        try:
            names = sorted(n for n in os.listdir(str(folder)) if is_manifest_name(n))
        except OSError as exc:
            problems.append((str(folder), "cannot list the sample folder: %s" % exc))
            continue
        for filename in names:
            path = str(folder / filename)
            interpreter = filename[: -len(".manifest.json")]
            try:
                document = golden_store.manifest(folder_name, interpreter)
            except StoreError as exc:
                problems.append((path, "unusable golden manifest: %s" % exc))
                continue
            if document is None:
                continue
            found.extend(_globals_of(document, path, sample, root, problems, prefix))
    return found, problems


def _globals_of(document: dict, path: str, sample: str, root: Optional[str],
                problems: List[Tuple[str, str]], prefix: str = "") -> List[GoldenGlobal]:
    named: Dict[Tuple[str, str], List[str]] = {}
    for golden, entry in sorted(document["goldens"].items()):
        golden = prefix + golden
        candidates, entry_problems = manifest_schema.global_candidates(entry)
        problems.extend((path, "%s: %s" % (golden, p)) for p in entry_problems)
        for options in candidates:
            named.setdefault(_pick(options, root), []).append(golden)
    return [GoldenGlobal(path, module, qualname, sample, tuple(goldens))
            for (module, qualname), goldens in sorted(named.items())]


def line_of(path: str, qualname: str) -> int:
    """The line of a manifest where ``qualname`` first appears (1 for the one-line canonical form)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return 1
    index = text.find('"%s"' % qualname)
    return 1 if index < 0 else text.count("\n", 0, index) + 1


def _pick(options: List[Tuple[str, str]], root: Optional[str]) -> Tuple[str, str]:
    """The split of an old dotted name whose module is a project module (else the longest)."""
    if root is not None and len(options) > 1:
        for module, qualname in options:
            if module_file(root, module)[1] is not None:
                return module, qualname
    return options[0]


def source_roots(root: str) -> List[str]:
    """The folders project modules are imported from: the plugin's own list (project.py)."""
    roots = []
    for sub in SOURCE_ROOTS:
        path = root if sub == "." else os.path.join(root, sub)
        if os.path.isdir(path):
            roots.append(path)
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
