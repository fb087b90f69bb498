"""The store on disk: listing samples and goldens, reading manifests, atomic writes.

Only :meth:`Store.apply` writes, and every write is atomic: a temporary file in
the same folder (named so that nobody mistakes it for a golden, see
:mod:`.layout`), fsync, ``os.replace``.  Each interpreter owns its own files
*and* its own manifest, so recording on one interpreter never rewrites
anything another recorded, and six interpreters recording in parallel never
race on a shared file.
"""

import os
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple

from ..results import DELETE, MANIFEST, WRITE, StoreRequest
from . import generations, manifest as manifest_schema, obtained as obtained_folder
from .layout import (
    TEMP_MARK, TEMP_SUFFIX, GoldenFile, StoreError, goldens_in, manifest_filename, producer_of,
    temp_target,
)
from .walk import StoreWalk, walk_store


def canonical_bytes(value) -> bytes:
    from ..reference.canonical_json import canonical_json_dumps

    return canonical_json_dumps(value)


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` at ``path`` (a Path or a str) whole or not at all."""
    path = str(path)
    folder, name = os.path.split(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + name + TEMP_MARK, suffix=TEMP_SUFFIX, dir=folder)
    except FileNotFoundError:  # a new folder: made only when needed (most writes go to one)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + name + TEMP_MARK, suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


OBTAINED = "obtained"   # the reason of requests for .obtained files (see .obtained)


class Store:
    def __init__(self, root: Path, obtained_root: Optional[Path] = None):
        self.root = Path(root)
        self._root = str(self.root)
        # where .obtained files go (outside the committed store); None: beside the goldens
        self.obtained_root = Path(obtained_root) if obtained_root is not None else None

    def obtained_path(self, relpath: str) -> Path:
        """Where the ``.obtained`` file of store path ``relpath`` is written."""
        if self.obtained_root is None:
            return self.path(relpath)
        return self.obtained_root.joinpath(*relpath.split("/"))

    # ------------------------------------------------------------------ read
    def folder(self, name: str) -> Path:
        return self.root.joinpath(*name.split("/"))

    def path(self, relpath: str) -> Path:
        return self.root.joinpath(*relpath.split("/"))

    def _file(self, relpath: str) -> str:
        return os.path.join(self._root, *relpath.split("/"))

    def display(self, relpath: str) -> str:
        return str(self.path(relpath))

    def listing(self, name: str) -> Tuple[List[GoldenFile], frozenset]:
        """Golden files of one sample (sorted by format, producer and protocol) and all file names."""
        try:
            names = frozenset(os.listdir(os.path.join(self._root, *name.split("/"))))
        except (FileNotFoundError, NotADirectoryError):
            return [], frozenset()
        return goldens_in(name, names), names

    def goldens(self, name: str) -> List[GoldenFile]:
        return self.listing(name)[0]

    def read(self, relpath: str) -> bytes:
        with open(os.path.join(self._root, *relpath.split("/")), "rb") as handle:
            return handle.read()

    def read_if_exists(self, relpath: str) -> Optional[bytes]:
        try:
            return self.read(relpath)
        except FileNotFoundError:
            return None

    def manifest(self, name: str, interpreter: str) -> Optional[dict]:
        """The manifest one producer wrote for one sample, None when absent.

        Raises StoreError when it exists but is not a usable manifest.
        """
        path = os.path.join(self._root, *name.split("/"), manifest_filename(interpreter))
        raw = self._read_manifest_bytes(path)
        return None if raw is None else manifest_schema.parse(raw, path)

    @staticmethod
    def _read_manifest_bytes(path: str) -> Optional[bytes]:
        """A manifest file's bytes (up to one byte past the limit), None when absent."""
        try:
            with open(path, "rb") as handle:
                return handle.read(manifest_schema.MAX_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            raise StoreError("%s: is a directory, not a manifest file" % (path,)) from None
        except OSError as exc:
            raise StoreError("%s: cannot be read (%s)" % (path, exc.strerror or exc)) from None

    def samples(self) -> List[str]:
        """Names of every sample folder holding goldens or manifests."""
        return self.walk().samples

    def scan(self) -> Tuple[List[str], List[str]]:
        """Sample names, and the relative paths of temporary files left by killed writes."""
        walked = self.walk()
        return walked.samples, walked.leftovers

    def walk(self) -> StoreWalk:
        """One walk of the whole store: samples and the names in them, frozen generations,
        leftovers of killed writes (:mod:`.walk`)."""
        return walk_store(self._root)

    def remove_leftovers(self, name: str, interpreter: str) -> List[str]:
        """Delete the temporary files that ``interpreter``'s killed writes left in one sample folder.

        Only that interpreter's: another Python may be recording into the same
        folder right now (a parallel matrix), and its temporary files are live.
        Returns the paths removed.
        """
        folder = self.folder(name)
        try:
            filenames = os.listdir(str(folder))
        except OSError:
            return []
        removed = []
        for filename in sorted(filenames):
            target = temp_target(filename)
            if target is None or producer_of(target) != interpreter:
                continue
            try:
                os.unlink(str(folder / filename))
            except FileNotFoundError:
                continue
            removed.append(str(folder / filename))
        return removed

    # ----------------------------------------------------------------- write
    def apply(self, request: StoreRequest) -> Optional[str]:
        """Carry out one request; returns the path written or deleted, None if nothing changed.

        A frozen golden (below a sample's ``releases/``) is never rewritten or deleted
        here: StoreError says so (:mod:`.generations`).  ``.obtained`` files go to the
        obtained folder, outside the store (:mod:`.obtained`).
        """
        obtained = request.reason == OBTAINED
        if request.op == WRITE:
            if obtained:
                path = self.obtained_path(request.path)
                if self.obtained_root is not None:
                    obtained_folder.prepare(self.obtained_root)
                atomic_write(path, request.data)
                return str(path)
            problem = generations.write_problem(self, request.path, request.data)
            if problem is not None:
                raise StoreError(problem)
            path = self._file(request.path)
            if generations.is_frozen_relpath(request.path) and os.path.exists(path):
                return None  # the very bytes are frozen already
            atomic_write(path, request.data)
            return path
        if request.op == DELETE:
            if not obtained and generations.is_frozen_relpath(request.path):
                raise StoreError("%s is a frozen golden; retire its release with `serialcompat "
                                 "prune-generation`" % self.display(request.path))
            path = str(self.obtained_path(request.path)) if obtained else self._file(request.path)
            try:
                os.unlink(path)
            except FileNotFoundError:
                return None
            return path
        if request.op == MANIFEST:
            return self._merge_manifest(request)
        raise StoreError("unknown store request %r" % (request.op,))

    def remove_empty_folders(self, *names: str) -> None:
        """Remove the sample folders left empty, then their parents left empty, up to the
        store root.

        Each folder is tried once, deepest first: a parent of many pruned samples is
        asked once whether it is empty, not once per sample (asking reads the folder,
        and a folder emptied in arbitrary order answers slower the emptier it gets:
        once per sample made pruning grow faster than the store).
        """
        pending = {tuple(name.split("/")) for name in names if name}
        while pending:
            depth = max(len(parts) for parts in pending)
            level = {parts for parts in pending if len(parts) == depth}
            pending -= level
            for parts in sorted(level):
                try:
                    os.rmdir(os.path.join(self._root, *parts))
                except OSError:  # not empty, or already gone
                    continue
                if len(parts) > 1:
                    pending.add(parts[:-1])  # it may be empty now

    def _merge_manifest(self, request: StoreRequest) -> Optional[str]:
        path = os.path.join(self._root, *request.sample.split("/"),
                            manifest_filename(request.interpreter))
        raw = None
        try:
            raw = self._read_manifest_bytes(path)
            current = None if raw is None else manifest_schema.parse(raw, path)
        except StoreError:
            current = None  # unusable: replaced by a fresh one
        goldens = dict(current["goldens"]) if current else {}
        for filename, entry in (request.entries or {}).items():
            problem = generations.entry_problem(request.sample, filename, goldens.get(filename), entry)
            if problem is not None:
                raise StoreError(problem)
            if entry is None:
                goldens.pop(filename, None)
            else:
                goldens[filename] = entry
        if not goldens:
            if raw is not None or os.path.exists(path):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    return None
                return path
            return None
        manifest = dict(current or {})
        manifest.update(request.header or {})
        manifest.update(kind=manifest_schema.KIND, manifest_version=manifest_schema.VERSION,
                        sample=request.sample, goldens=goldens)
        data = canonical_bytes(manifest) + b"\n"
        if raw == data:
            return None
        atomic_write(path, data)
        return path
