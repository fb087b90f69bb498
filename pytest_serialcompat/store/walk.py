"""One walk of the store: every sample folder with the names in it, the frozen generations,
and the temporary files killed writes left behind.

The end of a run needs all three (unused goldens, the releases no check replayed,
prune's ``.obtained`` files, the leftovers that make prune refuse).  One walk
reads each folder once, with one ``os.scandir`` and no ``stat`` of its entries
(the directory says which entries are folders), and keeps what it read, so
nothing after it lists a folder again.

What is walked is what :meth:`.files.Store.scan` has always walked: every folder
but hidden ones; below a sample, ``releases/`` is not walked as samples but read
as that sample's frozen generations (:mod:`.generations`).
"""

import os
from typing import Dict, FrozenSet, List

from . import generations
from .layout import (
    RELEASES, TEMP_SUFFIX, GoldenFile, goldens_in, is_manifest_name, parse_filename, temp_target,
)

_EMPTY: FrozenSet[str] = frozenset()


# every golden and manifest name ends so (a cheap test before the patterns)
_STORE_SUFFIXES = (".pickle", ".marshal", ".json")


def holds_goldens(filenames) -> bool:
    """Whether a folder with these file names is a sample (or generation) folder."""
    return any(f.endswith(_STORE_SUFFIXES) and (parse_filename(f) or is_manifest_name(f))
               for f in filenames)


def _is_leftover(filename: str) -> bool:
    return filename.startswith(".") and filename.endswith(TEMP_SUFFIX) and temp_target(filename) is not None


class StoreWalk:
    """What one walk of the store found."""

    def __init__(self):
        self.folders: Dict[str, FrozenSet[str]] = {}     # sample name -> names in its folder
        self.generations: List[generations.Generation] = []
        self._generation_names: Dict[str, FrozenSet[str]] = {}  # generation folder -> names
        self.leftovers: List[str] = []                   # relpaths of killed writes' files

    @property
    def samples(self) -> List[str]:
        return sorted(self.folders)

    def names(self, folder: str) -> FrozenSet[str]:
        """The names in a sample or generation folder as the walk saw it (empty when none)."""
        found = self.folders.get(folder)
        return found if found is not None else self._generation_names.get(folder, _EMPTY)

    def goldens(self, folder: str) -> List[GoldenFile]:
        return goldens_in(folder, self.names(folder))

    def _add_generations(self, sample: str, path: str) -> None:
        base = os.path.join(path, RELEASES)
        try:
            versions = os.listdir(base)
        except OSError:
            return
        for version in versions:
            if not generations.is_version(version):
                continue
            try:
                names = os.listdir(os.path.join(base, version))
            except OSError:
                continue
            if holds_goldens(names):
                self.generations.append(generations.Generation(sample, version))
                self._generation_names[generations.folder_name(sample, version)] = frozenset(names)


def walk_store(root: str) -> StoreWalk:
    """Walk the store at ``root`` once (nothing when it is not a folder)."""
    found = StoreWalk()
    if not os.path.isdir(root):
        return found
    pending = [("", root)]
    while pending:
        rel, path = pending.pop()
        try:
            with os.scandir(path) as listing:
                entries = list(listing)
        except OSError:
            continue  # gone or unreadable, as os.walk skips it
        names, files, folders = [], [], []
        for entry in entries:
            names.append(entry.name)
            try:
                is_folder = entry.is_dir()
            except OSError:
                is_folder = False
            if not is_folder:
                files.append(entry.name)
            elif not entry.name.startswith("."):
                folders.append(entry)
        if rel:
            if holds_goldens(files):
                found.folders[rel] = frozenset(names)
            found.leftovers.extend("%s/%s" % (rel, f) for f in files if _is_leftover(f))
            if any(entry.name == RELEASES for entry in folders):
                found._add_generations(rel, path)
                folders = [entry for entry in folders if entry.name != RELEASES]
        for entry in folders:
            if not entry.is_symlink():  # os.walk does not follow links either
                pending.append((entry.name if not rel else rel + "/" + entry.name, entry.path))
    found.leftovers.sort()
    found.generations.sort(key=lambda g: (g.sample, generations.sort_key(g.version)))
    return found
