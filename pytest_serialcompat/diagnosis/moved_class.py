"""Where did a class go?  The search behind the class-moved diagnosis.

A golden names ``module.qualname`` pairs; when one no longer imports, the
project's source tree (:mod:`..project`) is searched for a definition of the
same qualname, and the current object's class is the last guess.  The words of
the diagnosis are :func:`.messages.moved`'s.
"""

import importlib.util
import re
import sys
import sysconfig
from pathlib import Path
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

from .. import project

Global = Tuple[str, str]


class Missing(NamedTuple):
    name: Global          # as the golden names it (after existing renames, if any)
    error: str            # "ModuleNotFoundError: No module named 'myapp.models'"
    module_missing: bool  # the module itself no longer imports


class Suggestion(NamedTuple):
    old: Global
    new: Global
    where: str            # "myapp/accounts.py:3" or "the current object's class"
    source: Optional[Path] = None  # file defining the new name


def imports_module(source: Optional[Path], module: str) -> bool:
    """Whether ``source`` imports ``module`` (a re-export there would be an import cycle)."""
    if source is None:
        return False
    try:
        text = source.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    parent, _, leaf = module.rpartition(".")
    patterns = [r"^\s*import\s+%s\b" % re.escape(module),
                r"^\s*from\s+%s\s+import\b" % re.escape(module)]
    if parent:
        patterns.append(r"^\s*from\s+%s\s+import\s+.*\b%s\b" % (re.escape(parent), re.escape(leaf)))
    patterns.append(r"^\s*from\s+\.+%s\s+import\b" % re.escape(leaf))
    return any(re.search(p, text, re.M) for p in patterns)


def suggest_moves(missing: Sequence[Missing], rootdir: Path, current_type: Optional[type],
                  importable: Callable[[Global], bool]) -> List[Optional[Suggestion]]:
    """For each missing global, the place it most likely moved to (None when not found)."""
    suggestions = []
    for item in missing:
        module, qualname = item.name
        found = None
        for definition in project.find_definitions(rootdir, qualname):
            new = (definition.module, definition.qualname)
            if new != item.name and importable(new):
                found = Suggestion(item.name, new, "%s:%d" % (
                    project.relative(definition.path, rootdir), definition.line), definition.path)
                break
        if found is None and current_type is not None and len(missing) == 1:
            new = (current_type.__module__, current_type.__qualname__)
            if new != item.name and "<locals>" not in new[1]:
                found = Suggestion(item.name, new, "the current object's class (renamed?)",
                                   _source_of(current_type))
        suggestions.append(found)
    return suggestions


def _source_of(cls) -> Optional[Path]:
    import inspect

    try:
        source = inspect.getsourcefile(cls)
    except (TypeError, OSError):
        return None
    return Path(source) if source else None


def is_stdlib_module(module: str) -> bool:
    """Whether ``module``'s top-level package is part of this interpreter's standard library."""
    top = module.split(".", 1)[0]
    names = getattr(sys, "stdlib_module_names", None)  # 3.10+
    if names is not None:
        return top in names
    if top in sys.builtin_module_names:
        return True
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None) if spec is not None else None
    if not origin or origin in ("built-in", "frozen"):
        return spec is not None
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    path = Path(origin).resolve()
    return stdlib in path.parents and "site-packages" not in path.parts
