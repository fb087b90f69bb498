"""The golden store: folder layout, file names, manifests and atomic writes.

Layout (one folder per sample, one file per format/protocol/interpreter)::

    tests/__serialcompat__/
        user/
            cpython3.8-p2.pickle ... cpython3.8-p5.pickle
            cpython3.8-v4.marshal
            cpython3.8.json
            cpython3.8.manifest.json     <- canonical JSON, one per producer
            cpython3.13-p5.pickle
            cpython3.13.manifest.json
            ...

Each interpreter owns its own files *and* its own manifest, so recording on
one interpreter never rewrites anything another interpreter recorded, and
recording on six interpreters in parallel never races on a shared file.

Only :meth:`Store.apply` writes, and every write is atomic (temporary file in
the same folder, fsync, ``os.replace``).
"""

import functools
import json
import os
import re
import tempfile
from pathlib import Path
from typing import List, NamedTuple, Optional, Tuple

from .environment import parse_tag
from .results import DELETE, JSON, MANIFEST, MARSHAL, PICKLE, WRITE, StoreRequest

DEFAULT_DIR = "tests/__serialcompat__"
MANIFEST_KIND = "pytest-serialcompat golden manifest"
MANIFEST_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"
OBTAINED_SUFFIX = ".obtained"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
# Temporary files of atomic writes: ``.<target>.unfinished-<random>.tmp``.  One that
# outlives its write was left by a killed process; it is never a golden.
TEMP_MARK = ".unfinished-"
TEMP_SUFFIX = ".tmp"
# (also the names of earlier versions: ``.<target>.<8 random characters>.tmp``)
_TEMP_RE = re.compile(r"\.(?P<target>.+?)\.(?:unfinished-[a-z0-9_]+|[a-z0-9_]{8})\.tmp\Z")

_TAG = r"(?P<interp>[a-z][a-z_]*\d+\.\d+)"

# format -> (file name template, parser).  The template takes the
# interpreter tag and the protocol (pickle protocol / marshal version).
FILE_NAMES = {
    PICKLE: ("{interp}-p{protocol}.pickle", re.compile(_TAG + r"-p(?P<protocol>\d+)\.pickle\Z")),
    MARSHAL: ("{interp}-v{protocol}.marshal", re.compile(_TAG + r"-v(?P<protocol>\d+)\.marshal\Z")),
    JSON: ("{interp}.json", re.compile(_TAG + r"\.json\Z")),
}
_MANIFEST_RE = re.compile(_TAG + re.escape(MANIFEST_SUFFIX) + r"\Z")

# Sample names: "/"-separated path segments of safe characters.
_NAME_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-\[\]+=,]*\Z")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.\-\[\]+=,]+")
_LEADING_JUNK = re.compile(r"^[^A-Za-z0-9_]+")
MAX_NAME_LENGTH = 200


class StoreError(Exception):
    """A store file that cannot be used (unreadable manifest, bad name)."""


class GoldenFile(NamedTuple):
    name: str                   # sample name
    format: str
    protocol: Optional[int]
    interpreter: str            # producer tag
    filename: str

    @property
    def relpath(self) -> str:
        return self.name + "/" + self.filename


def name_problem(name: str) -> Optional[str]:
    """Why ``name`` cannot be a sample name, or None when it can."""
    if not isinstance(name, str) or not name:
        return "a sample name must be a non-empty string"
    if len(name) > MAX_NAME_LENGTH:
        return "sample name longer than %d characters" % MAX_NAME_LENGTH
    for segment in name.split("/"):
        if not _NAME_SEGMENT.match(segment) or segment.strip(".") == "":
            return (
                "invalid sample name %r: use letters, digits and _ . - [ ] + = , "
                "in '/'-separated segments that do not start with '.' or '-'" % (name,)
            )
    return None


def sanitize_name(text: str) -> str:
    """A valid sample name derived from arbitrary text (test ids)."""
    segments = []
    for segment in text.split("/"):
        segment = _LEADING_JUNK.sub("", _UNSAFE_CHARS.sub("_", segment))
        if segment:
            segments.append(segment)
    name = "/".join(segments)[:MAX_NAME_LENGTH].rstrip("/")
    return name or "sample"


def golden_filename(fmt: str, protocol: Optional[int], interpreter: str) -> str:
    return FILE_NAMES[fmt][0].format(interp=interpreter, protocol=protocol)


def manifest_filename(interpreter: str) -> str:
    return interpreter + MANIFEST_SUFFIX


def obtained_filename(golden_filename: str, replayer: str) -> str:
    """Where the bytes obtained when ``replayer`` replays a golden go (beside the golden).

    The replaying interpreter is part of the name: replays of one golden on
    several Pythons at once (a parallel matrix) each keep their own file.
    """
    return "%s.%s%s" % (golden_filename, replayer, OBTAINED_SUFFIX)


def is_obtained_for(filename: str, golden_filename: str) -> bool:
    """Whether ``filename`` is an obtained file of that golden (any replayer)."""
    return (filename.startswith(golden_filename + ".") and filename.endswith(OBTAINED_SUFFIX)
            and parse_tag(filename[len(golden_filename) + 1:-len(OBTAINED_SUFFIX)]) is not None)


def parse_filename(filename: str) -> Optional[Tuple[str, Optional[int], str]]:
    """(format, protocol, interpreter) of a golden file name, None for other files."""
    for fmt, (_template, pattern) in FILE_NAMES.items():
        match = pattern.match(filename)
        if match:
            protocol = match.groupdict().get("protocol")
            return fmt, (None if protocol is None else int(protocol)), match.group("interp")
    return None


def temp_target(filename: str) -> Optional[str]:
    """The store file a leftover temporary file was going to become, None for other files."""
    match = _TEMP_RE.match(filename)
    if match is None:
        return None
    target = match.group("target")
    return target if parse_filename(target) or _MANIFEST_RE.match(target) else None


def producer_of(filename: str) -> Optional[str]:
    """The interpreter tag of a golden or manifest file name."""
    parsed = parse_filename(filename)
    if parsed is not None:
        return parsed[2]
    match = _MANIFEST_RE.match(filename)
    return match.group("interp") if match else None


@functools.lru_cache(maxsize=256)
def _version_key(interpreter: str):
    parsed = parse_tag(interpreter)
    return parsed if parsed is not None else (interpreter, (0, 0))


def canonical_bytes(value) -> bytes:
    from .reference.canonical_json import canonical_json_dumps

    return canonical_json_dumps(value)


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + TEMP_MARK, suffix=TEMP_SUFFIX,
                               dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, str(path))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._root = str(self.root)

    # ------------------------------------------------------------------ read
    def folder(self, name: str) -> Path:
        return self.root.joinpath(*name.split("/"))

    def path(self, relpath: str) -> Path:
        return self.root.joinpath(*relpath.split("/"))

    def display(self, relpath: str) -> str:
        return str(self.path(relpath))

    def listing(self, name: str) -> Tuple[List[GoldenFile], frozenset]:
        """Golden files of one sample (sorted by format, producer and protocol) and all file names."""
        found = []
        try:
            names = os.listdir(os.path.join(self._root, *name.split("/")))
        except (FileNotFoundError, NotADirectoryError):
            return [], frozenset()
        for filename in names:
            parsed = parse_filename(filename)
            if parsed is not None:
                fmt, protocol, interp = parsed
                found.append(GoldenFile(name, fmt, protocol, interp, filename))
        found.sort(key=lambda g: (g.format, _version_key(g.interpreter), g.protocol or 0))
        return found, frozenset(names)

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
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_MANIFEST_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            raise StoreError("%s: is a directory, not a manifest file" % (path,)) from None
        except OSError as exc:
            raise StoreError("%s: cannot be read (%s)" % (path, exc.strerror or exc)) from None
        if len(raw) > MAX_MANIFEST_BYTES:
            raise StoreError("%s: manifest larger than %d bytes" % (path, MAX_MANIFEST_BYTES))
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreError("%s: not valid JSON (%s)" % (path, exc)) from None
        if (
            not isinstance(data, dict)
            or data.get("kind") != MANIFEST_KIND
            or not isinstance(data.get("goldens"), dict)
        ):
            raise StoreError("%s: not a serialcompat manifest" % (path,))
        return data

    def samples(self) -> List[str]:
        """Names of every sample folder holding goldens or manifests."""
        return self.scan()[0]

    def scan(self) -> Tuple[List[str], List[str]]:
        """Sample names, and the relative paths of temporary files left by killed writes."""
        names: List[str] = []
        leftovers: List[str] = []
        if not self.root.is_dir():
            return names, leftovers
        for dirpath, dirnames, filenames in os.walk(str(self.root)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = os.path.relpath(dirpath, str(self.root)).replace(os.sep, "/")
            if rel == ".":
                continue
            if any(parse_filename(f) or _MANIFEST_RE.match(f) for f in filenames):
                names.append(rel)
            leftovers.extend("%s/%s" % (rel, f) for f in sorted(filenames) if temp_target(f))
        return sorted(names), sorted(leftovers)

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
        """Carry out one request; returns the path written or deleted, None if nothing changed."""
        if request.op == WRITE:
            path = self.path(request.path)
            atomic_write(path, request.data)
            return str(path)
        if request.op == DELETE:
            path = self.path(request.path)
            try:
                path.unlink()
            except FileNotFoundError:
                return None
            return str(path)
        if request.op == MANIFEST:
            return self._merge_manifest(request)
        raise StoreError("unknown store request %r" % (request.op,))

    def remove_empty_folders(self, name: str) -> None:
        """Remove a sample folder left empty (and empty parents, up to the store root)."""
        folder = self.folder(name)
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:  # not empty, or already gone
                return
            folder = folder.parent

    def _merge_manifest(self, request: StoreRequest) -> Optional[str]:
        path = self.folder(request.sample) / manifest_filename(request.interpreter)
        try:
            current = self.manifest(request.sample, request.interpreter)
        except StoreError:
            current = None  # unusable: replaced by a fresh one
        goldens = dict(current["goldens"]) if current else {}
        for filename, entry in (request.entries or {}).items():
            if entry is None:
                goldens.pop(filename, None)
            else:
                goldens[filename] = entry
        if not goldens:
            if path.exists():
                path.unlink()
                return str(path)
            return None
        manifest = dict(current or {})
        manifest.update(request.header or {})
        manifest.update(kind=MANIFEST_KIND, manifest_version=MANIFEST_VERSION,
                        sample=request.sample, goldens=goldens)
        data = canonical_bytes(manifest) + b"\n"
        if path.exists() and path.read_bytes() == data:
            return None
        atomic_write(path, data)
        return str(path)
