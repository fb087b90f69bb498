"""Which installed distribution a module belongs to, and its version: the library boundary.

A golden that names ``numpy._core.multiarray._reconstruct`` holds numpy's data,
whose format is numpy's business: the manifest records which numpy wrote it
(:func:`libraries_named`), and a replay that fails says which numpy reads it.
A module belongs to a library when an installed distribution other than the
project provides its top-level package (``importlib.metadata``'s
``packages_distributions``, read once per process); the standard library and
the project's own packages (its source tree) are no library.

Python 3.8 and 3.9's ``importlib.metadata`` have no ``packages_distributions``,
and 3.10's reads only ``top_level.txt``, which meson- and flit-built wheels (numpy
2, for one) do not ship; before 3.11 the fallback reads every distribution's
``top_level.txt`` or, without one, its file list, as 3.11 does.
"""

import functools
import sys
from importlib import metadata
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from packaging.version import InvalidVersion, Version

Global = Tuple[str, str]


class Library(NamedTuple):
    name: str       # the distribution's name as it spells it ("numpy", "python-dateutil")
    version: str    # its installed version ("1.24.4"), "" when it has none


class VersionChange(NamedTuple):
    name: str
    recorded: str   # "" when the recording had no such library
    current: str    # "" when it is not installed here


@functools.lru_cache(maxsize=None)
def packages_distributions() -> Dict[str, Tuple[str, ...]]:
    """Top-level import name -> the distributions that provide it."""
    native = getattr(metadata, "packages_distributions", None)
    if native is not None and sys.version_info >= (3, 11):  # 3.10's ignores the file list
        return {name: tuple(dists) for name, dists in native().items()}
    found: Dict[str, List[str]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        for top in _top_level_names(dist):
            found.setdefault(top, [])
            if name not in found[top]:
                found[top].append(name)
    return {top: tuple(names) for top, names in found.items()}


def _top_level_names(dist) -> List[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return [line.strip() for line in text.splitlines() if line.strip()]
    names = []
    for entry in dist.files or ():
        parts = entry.parts
        if not parts or parts[0] == ".." or parts[0].endswith((".dist-info", ".egg-info")) \
                or parts[0] == "__pycache__":
            continue
        top = parts[0][:-3] if len(parts) == 1 and parts[0].endswith(".py") else parts[0]
        if len(parts) == 1 and not parts[0].endswith(".py"):
            continue
        if top.isidentifier() and top not in names:
            names.append(top)
    return names


@functools.lru_cache(maxsize=None)
def installed_version(name: str) -> str:
    """The installed version of distribution ``name``, "" when it is not installed."""
    try:
        return metadata.version(name) or ""
    except metadata.PackageNotFoundError:
        return ""


def library_of(module: str, own_packages: Iterable[str] = ()) -> Optional[Library]:
    """The installed distribution that provides ``module``, unless it is the project's own."""
    top = module.split(".", 1)[0]
    if top in set(own_packages) or top in getattr(sys, "stdlib_module_names", ()):
        return None
    dists = packages_distributions().get(top)
    if not dists:
        return None
    name = dists[0]
    return Library(name, installed_version(name))


def libraries_named(globals_: Iterable[Global], own_packages: Iterable[str] = ()
                    ) -> Dict[str, str]:
    """Distribution name -> installed version, for every library whose globals are named."""
    own = set(own_packages)
    found: Dict[str, str] = {}
    for module, _qualname in globals_:
        library = library_of(module, own)
        if library is not None:
            found[library.name] = library.version
    return dict(sorted(found.items()))


def version_changes(recorded: Optional[dict]) -> List[VersionChange]:
    """The libraries of a manifest entry whose installed version differs here (by name)."""
    changes = []
    if not isinstance(recorded, dict):
        return changes
    for name, version in sorted(recorded.items()):
        if not isinstance(name, str) or not isinstance(version, str):
            continue
        current = installed_version(name)
        if not same_version(version, current):
            changes.append(VersionChange(name, version, current))
    return changes


def same_version(one: str, other: str) -> bool:
    try:
        return Version(one) == Version(other)
    except InvalidVersion:
        return one == other


def major(version: str) -> Optional[int]:
    try:
        return Version(version).major
    except InvalidVersion:
        return None


def describe(changes: Sequence[VersionChange]) -> str:
    """``recorded with numpy 2.5.5, read here with numpy 1.24.4`` (several joined by "; ")."""
    return "; ".join("recorded with %s %s, read here with %s" % (
        c.name, c.recorded, "%s %s" % (c.name, c.current) if c.current else
        "no %s installed" % c.name) for c in changes)
