"""Facts about the project's source tree: its own top-level packages, and where a name is defined.

Nothing here imports project code: files are listed and, for the locator,
parsed with :mod:`ast`.
"""

import ast
import os
import re
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Sequence, Set

# Folders that never hold the project's own code.
SKIP_DIRS = frozenset({
    "__pycache__", "node_modules", "site-packages", "dist-packages", "build", "dist",
    "venv", "env", ".venv", ".env", "__serialcompat__",
})
SOURCE_ROOTS = (".", "src", "lib")
MAX_FILES = 20000
MAX_FILE_BYTES = 2 * 1024 * 1024


def _skip_dir(path: Path) -> bool:
    name = path.name
    return (
        name in SKIP_DIRS
        or name.startswith(".")
        or name.endswith(".egg-info")
        or (path / "pyvenv.cfg").exists()
    )


def top_level_names(rootdir: Path) -> Set[str]:
    """The project's own top-level packages: what the safety gate may import for a golden.

    A package is a folder with code: at the rootdir one with an ``__init__.py``
    (a folder of loose scripts, docs/conf.py, is not shipped code), under
    ``src/`` and ``lib/`` any folder holding Python files, and single modules
    there.  A ``.py`` file at the rootdir is a script (``migrate.py``,
    ``manage.py``, ``noxfile.py``): importing it runs it, so it never counts.
    """
    names = set()
    for sub in SOURCE_ROOTS:
        base = (rootdir / sub) if sub != "." else rootdir
        try:
            entries = list(os.scandir(str(base)))
        except OSError:
            continue
        for entry in entries:
            stem, ext = os.path.splitext(entry.name)
            if entry.is_file() and ext == ".py" and stem.isidentifier():
                if sub != ".":
                    names.add(stem)
            elif entry.is_dir() and entry.name.isidentifier() and not _skip_dir(Path(entry.path)):
                folder = Path(entry.path)
                if (folder / "__init__.py").is_file() if sub == "." else _holds_python(folder):
                    names.add(entry.name)
    return names


def top_level_scripts(rootdir: Path) -> Set[str]:
    """Module names of the ``.py`` files at the rootdir: scripts, which the gate never imports."""
    try:
        entries = list(os.scandir(str(rootdir)))
    except OSError:
        return set()
    names = set()
    for entry in entries:
        stem, ext = os.path.splitext(entry.name)
        if ext == ".py" and stem.isidentifier() and entry.is_file():
            names.add(stem)
    return names


def in_package(rootdir: Path, path: Path) -> bool:
    """Whether ``path`` is inside a project package (not a script at the top of a source root)."""
    path = Path(path)
    for sub in SOURCE_ROOTS:
        base = (rootdir / sub) if sub != "." else rootdir
        if path.parent == base:
            return sub != "."
        try:
            path.relative_to(base)
        except ValueError:
            continue
        return path.parent != base
    return False


def _holds_python(folder: Path) -> bool:
    try:
        return any(e.name.endswith(".py") for e in os.scandir(str(folder)))
    except OSError:
        return False


def iter_source_files(rootdir: Path, limit: int = MAX_FILES) -> Iterator[Path]:
    count = 0
    for dirpath, dirnames, filenames in os.walk(str(rootdir)):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(here / d))
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                count += 1
                if count > limit:
                    return
                yield here / filename


def module_name(path: Path) -> Optional[str]:
    """The dotted module name of a source file, from the __init__.py chain above it."""
    parts = [path.stem] if path.stem != "__init__" else []
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


class Definition(NamedTuple):
    module: str
    qualname: str
    kind: str      # "class" or "function"
    path: Path
    line: int

    @property
    def full_name(self) -> str:
        return self.module + "." + self.qualname


def _definitions(tree: ast.Module) -> Iterator[tuple]:
    """(qualname, kind, line) of classes (nested too) and module-level functions."""
    stack = [("", node) for node in tree.body]
    while stack:
        prefix, node = stack.pop(0)
        if isinstance(node, ast.ClassDef):
            qualname = prefix + node.name
            yield qualname, "class", node.lineno
            stack.extend((qualname + ".", child) for child in node.body)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not prefix:
            yield node.name, "function", node.lineno


def find_definitions(rootdir: Path, qualname: str, limit: int = 20) -> List[Definition]:
    """Where a class or function whose name ends like ``qualname`` is defined in the project.

    Exact qualname matches come first, then matches on the last segment only.
    """
    last = qualname.rsplit(".", 1)[-1]
    pattern = re.compile(r"^[ \t]*(?:class|def|async[ \t]+def)[ \t]+%s\b" % re.escape(last), re.M)
    exact, partial = [], []
    for path in iter_source_files(rootdir):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not pattern.search(text):
            continue
        try:
            tree = ast.parse(text, filename=str(path))
        except (SyntaxError, ValueError):
            continue
        module = module_name(path)
        if module is None:
            continue
        for found_qualname, kind, line in _definitions(tree):
            if found_qualname.rsplit(".", 1)[-1] != last:
                continue
            definition = Definition(module, found_qualname, kind, path, line)
            (exact if found_qualname == qualname else partial).append(definition)
        if len(exact) + len(partial) >= limit:
            break
    return (exact + partial)[:limit]


def module_source_path(rootdir: Path, module: str) -> Optional[Path]:
    """Where the source of ``module`` is, or would be created, under the rootdir."""
    parts = module.split(".")
    for sub in SOURCE_ROOTS:
        base = (rootdir / sub) if sub != "." else rootdir
        package_dir = base.joinpath(*parts[:-1]) if len(parts) > 1 else base
        if len(parts) > 1 and not (base / parts[0]).is_dir():
            continue
        candidate_module = package_dir / (parts[-1] + ".py")
        candidate_package = package_dir / parts[-1] / "__init__.py"
        if candidate_package.exists():
            return candidate_package
        if candidate_module.exists() or package_dir.is_dir():
            return candidate_module
    return None


def relative(path: Path, rootdir: Path) -> str:
    try:
        return str(Path(path).relative_to(rootdir))
    except ValueError:
        return str(path)


def modules_top_levels(modules: Sequence[str]) -> Set[str]:
    return {m.split(".", 1)[0] for m in modules if m and m != "__main__"}
