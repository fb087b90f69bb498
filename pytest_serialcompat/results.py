"""Data model of one serialcompat run: outcomes, diagnoses and store requests.

Everything here is a plain value that crosses the pytest-xdist wire as
JSON-able rows and dicts (``to_wire``/``from_wire``): a worker never writes the golden
store, it attaches these records to its test reports and the controller (or
the single process) acts on them.
"""

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

# ----------------------------------------------------------------------------
# Formats

PICKLE = "pickle"
MARSHAL = "marshal"
JSON = "json"
ALL_FORMATS = (PICKLE, MARSHAL, JSON)

# ----------------------------------------------------------------------------
# Outcome of one golden (or one planned golden)

CHECKED = "checked"       # replayed and equal / recorded file already up to date
RECORDED = "recorded"     # written by --serialcompat-update (new or changed)
FAILED = "failed"
SKIPPED = "skipped"
UNUSED = "unused"         # in the store, asked for by no test of this run

STATUSES = (CHECKED, RECORDED, FAILED, SKIPPED, UNUSED)

# ----------------------------------------------------------------------------
# Diagnoses: each failure or skip carries exactly one.  The letters are the
# ones used in the documentation.

DIAGNOSES = {
    # key: (letter, title)
    "class-moved": ("a", "class moved or renamed"),
    "state-changed": ("b", "state changed"),
    "not-equal": ("c", "loads but is not equal"),
    "unreadable": ("d", "protocol or format this interpreter cannot read"),
    "unpicklable": ("e", "the current object no longer serializes"),
    "foreign-code": ("f", "marshal code object from another Python version"),
    "not-upgradable": ("g", "an old release's data loads but does not fit today's classes"),
    "unsafe": ("!", "refused by the safety gate (not loaded)"),
    "integrity": ("!", "golden does not match its manifest (not loaded)"),
    "corrupt": ("!", "golden is corrupt (not loaded)"),
    "load-error": ("!", "golden raises while loading"),
    "library-version": ("!", "a library's data across its versions (not the project's code)"),
    "not-recorded": ("!", "would not replay equal (not recorded)"),
    "missing": ("!", "goldens missing"),
    "usage": ("!", "invalid check() call"),
}

CLASS_MOVED = "class-moved"
STATE_CHANGED = "state-changed"
NOT_EQUAL = "not-equal"
UNREADABLE = "unreadable"
UNPICKLABLE = "unpicklable"
FOREIGN_CODE = "foreign-code"
NOT_UPGRADABLE = "not-upgradable"
UNSAFE = "unsafe"
INTEGRITY = "integrity"
CORRUPT = "corrupt"
LOAD_ERROR = "load-error"
LIBRARY_VERSION = "library-version"
NOT_RECORDED = "not-recorded"
MISSING = "missing"
USAGE = "usage"


def diagnosis_title(kind):
    letter, title = DIAGNOSES[kind]
    if letter == "!":
        return title
    return "(%s) %s" % (letter, title)


class GoldenResult(NamedTuple):
    """The outcome of one golden file (or of one planned file when it is missing)."""

    name: str                       # sample name, the folder in the store
    format: str                     # PICKLE / MARSHAL / JSON
    protocol: Optional[int]         # pickle protocol, marshal version, None for JSON
    producer: str                   # interpreter tag of the file, e.g. "cpython3.8"
    file: str                       # path relative to the store root, "/"-separated
    status: str                     # one of STATUSES
    diagnosis: Optional[str] = None  # one of DIAGNOSES for FAILED/SKIPPED
    message: str = ""               # readable explanation (multi-line for failures)
    fix: Optional[str] = None       # suggested fix, when one is known
    nodeid: str = ""                # test that produced this result
    detail: str = ""                # RECORDED: "new" / "changed"; replayed: library versions
                                    # crossed ("recorded with numpy 2.2.1, read here with ...")
    generation: str = ""            # project version of a frozen golden, "" for the current one

    def to_wire(self) -> list:
        """A row: the fields in order (see :func:`..session.records_to_wire`)."""
        return list(self)

    @classmethod
    def from_wire(cls, row) -> "GoldenResult":
        return cls(*row)


class Ask(NamedTuple):
    """What one check() call asked of the store: used to find unused goldens."""

    name: str
    formats: Tuple[str, ...]
    protocols: Optional[Tuple[int, ...]]  # None: every protocol
    nodeid: str

    def matches(self, fmt: str, protocol: Optional[int]) -> bool:
        if fmt not in self.formats:
            return False
        if fmt == PICKLE and self.protocols is not None:
            return protocol in self.protocols
        return True

    def to_wire(self) -> list:
        """A row: the fields in order, tuples as lists."""
        return [self.name, list(self.formats),
                None if self.protocols is None else list(self.protocols), self.nodeid]

    @classmethod
    def from_wire(cls, row) -> "Ask":
        name, formats, protocols, nodeid = row
        return cls(name, tuple(formats), None if protocols is None else tuple(protocols), nodeid)


# Store requests: the only way anything is written.
WRITE = "write"          # path, data
DELETE = "delete"        # path
MANIFEST = "manifest"    # sample, interpreter, header, entries (file -> entry or None)


class StoreRequest(NamedTuple):
    op: str
    path: str = ""                          # relative to the store root
    data: bytes = b""
    sample: str = ""
    interpreter: str = ""
    header: Optional[Dict[str, Any]] = None
    entries: Optional[Dict[str, Any]] = None  # file name -> entry dict, None removes it
    reason: str = ""                        # "new", "changed", "obtained", ...

    def to_wire(self) -> Dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_wire(cls, data: Dict[str, Any]) -> "StoreRequest":
        return cls(**data)


class Records(NamedTuple):
    """Everything one test item hands to the writer and the summary."""

    results: List[GoldenResult]
    asks: List[Ask]
    requests: List[StoreRequest]
