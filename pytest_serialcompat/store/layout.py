"""Where goldens live: sample folders, file names, and the names of everything else in them.

One folder per sample (``/`` in a sample name nests folders), one file per
format, protocol and producer, one manifest per producer::

    <sample>/cpython3.8-p4.pickle            pickle, protocol 4, written by CPython 3.8
    <sample>/cpython3.8-v4.marshal           marshal, format version 4
    <sample>/cpython3.8.json                 canonical JSON
    <sample>/cpython3.8.manifest.json        what cpython3.8 recorded here
    <sample>/cpython3.8-p4.pickle.cpython3.13.obtained   what 3.13 made of it (a failed replay)
    <sample>/.cpython3.8-p4.pickle.unfinished-x1y2.tmp   a write that never finished

Pure names: nothing here touches the disk.
"""

import functools
import re
from typing import Iterable, List, NamedTuple, Optional, Tuple

from ..environment import parse_tag
from ..results import JSON, MARSHAL, PICKLE

DEFAULT_DIR = "tests/__serialcompat__"
MANIFEST_SUFFIX = ".manifest.json"
OBTAINED_SUFFIX = ".obtained"
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


def is_manifest_name(filename: str) -> bool:
    return _MANIFEST_RE.match(filename) is not None

# Sample names: "/"-separated path segments of safe characters.
_NAME_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-\[\]+=,]*\Z")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.\-\[\]+=,]+")
_LEADING_JUNK = re.compile(r"^[^A-Za-z0-9_]+")
MAX_NAME_LENGTH = 200
# Below a sample, ``releases/<version>/`` holds its frozen generations (see generations.py).
RELEASES = "releases"


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
    if RELEASES in name.split("/")[1:]:
        return ("invalid sample name %r: %r below a sample is where its frozen generations "
                "(releases) are kept" % (name, RELEASES))
    return None


def sanitize_name(text: str) -> str:
    """A valid sample name derived from arbitrary text (test ids)."""
    segments = []
    for segment in text.split("/"):
        segment = _LEADING_JUNK.sub("", _UNSAFE_CHARS.sub("_", segment))
        if segment:
            segments.append(segment + "_" if segments and segment == RELEASES else segment)
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


def goldens_in(name: str, filenames: Iterable[str]) -> List[GoldenFile]:
    """The golden files among the names in one sample folder, by format, producer and protocol."""
    found = []
    for filename in filenames:
        parsed = parse_filename(filename)
        if parsed is not None:
            fmt, protocol, interp = parsed
            found.append(GoldenFile(name, fmt, protocol, interp, filename))
    found.sort(key=lambda g: (g.format, version_key(g.interpreter), g.protocol or 0))
    return found


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
def version_key(interpreter: str):
    parsed = parse_tag(interpreter)
    return parsed if parsed is not None else (interpreter, (0, 0))
