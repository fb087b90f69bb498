"""Data model of the compatibility matrix: cells, tables, environments, and how a run is planned.

* :class:`Cell` -- the goldens of one (format, protocol) recorded by one
  interpreter and replayed by another: pass / fail / skip counts and whether
  the cell is *required* (the replaying interpreter can read that
  format/protocol, so a failure there is a real incompatibility);
* :class:`Table` -- one (format, protocol): pickle per protocol, marshal per
  version, JSON;
* :class:`EnvStatus` -- how one environment of a ``serialcompat matrix`` run
  went (elapsed time, missing report, missing interpreter);
* :class:`Matrix` -- all of the above plus problems that belong to no cell.

The report files the cells are built from are :mod:`..store.report`'s.
"""

from typing import Dict, Iterable, List, NamedTuple, Optional, Set, Tuple

from ..environment import parse_tag
from ..results import ALL_FORMATS, CHECKED, FAILED, JSON, MARSHAL, PICKLE, RECORDED, SKIPPED, UNUSED
from ..store.report import ReportedResult


MATRIX_KIND = "pytest-serialcompat matrix"


MATRIX_VERSION = 1


# Outcome columns of a cell, from the plugin's statuses.  "recorded" and
# "unused" are not replays and never enter a cell.
PASS, FAIL, SKIP = "pass", "fail", "skip"


COUNTED = {CHECKED: PASS, FAILED: FAIL, SKIPPED: SKIP}


# how a replayed result's detail names the library versions it crossed
LIBRARY_DETAIL = "recorded with "


SEVERITY = {CHECKED: 0, SKIPPED: 1, FAILED: 2, RECORDED: -1, UNUSED: -1}


# Cell states, in rendering order of importance.
EMPTY, OK, SKIPPED_ONLY, ALLOWED, BROKEN = "empty", "ok", "skipped", "allowed", "failed"


# Environment states (EnvStatus.state).
ENV_OK, ENV_ERROR, ENV_MISSING = "ok", "error", "missing-interpreter"


FORMAT_ORDER = {fmt: index for index, fmt in enumerate(ALL_FORMATS)}


TABLE_TITLES = {
    PICKLE: "pickle protocol {protocol}",
    MARSHAL: "marshal version {protocol}",
    JSON: "JSON",
}


PROTOCOL_LABELS = {PICKLE: "p{protocol}", MARSHAL: "v{protocol}", JSON: "json"}


# Which (format, protocol) an interpreter can read, from the report's
# interpreter facts.  A cell is required exactly when its replayer can read it.
READABLE = {
    PICKLE: lambda protocol, interp: protocol is None
    or protocol <= int(interp.get("pickle_highest_protocol", protocol)),
    MARSHAL: lambda protocol, interp: protocol is None
    or protocol <= int(interp.get("marshal_version", protocol)),
    JSON: lambda protocol, interp: True,
}


class EnvStatus(NamedTuple):
    """How one environment of a matrix run went."""

    name: str                       # tox env ("py38") or interpreter ("cpython3.8")
    state: str                      # ENV_OK / ENV_ERROR / ENV_MISSING
    elapsed: Optional[float] = None  # seconds, None when not measured
    interpreter: str = ""           # "3.8.18" when known
    message: str = ""               # why there is no report, or notes
    report: str = ""                # path of the report file
    required: bool = True           # a missing interpreter fails the run
    tag: str = ""                   # replaying interpreter tag of its report ("cpython3.8")
    details: str = ""               # multi-line detail of an error (the log's last lines)


class OptionalCell(NamedTuple):
    """An ``--optional RECORDED:REPLAYED[:FORMAT[:PROTOCOL]]`` rule; None fields match anything."""

    recorded: Optional[str]
    replayed: Optional[str]
    format: Optional[str]
    protocol: Optional[int]

    def matches(self, producer: str, replayer: str, fmt: str, protocol: Optional[int]) -> bool:
        return ((self.recorded is None or self.recorded == producer)
                and (self.replayed is None or self.replayed == replayer)
                and (self.format is None or self.format == fmt)
                and (self.protocol is None or self.protocol == protocol))


class Cell:
    """Goldens of one (format, protocol) recorded by ``producer``, replayed by ``replayer``."""

    def __init__(self, producer: str, replayer: str, required: bool):
        self.producer = producer
        self.replayer = replayer
        self.required = required
        self.counts = {PASS: 0, FAIL: 0, SKIP: 0}
        self.failures: List[ReportedResult] = []
        self.skips: List[ReportedResult] = []
        self.libraries: Set[str] = set()   # library versions its goldens crossed

    def add(self, result: ReportedResult) -> None:
        column = COUNTED[result.status]
        self.counts[column] += 1
        if result.detail.startswith(LIBRARY_DETAIL):
            self.libraries.update(result.detail.split("; "))
        if column == FAIL:
            self.failures.append(result)
        elif column == SKIP:
            self.skips.append(result)

    @property
    def state(self) -> str:
        if self.counts[FAIL]:
            return BROKEN if self.required else ALLOWED
        if self.counts[PASS]:
            return OK
        if self.counts[SKIP]:
            return SKIPPED_ONLY
        return EMPTY

    def text(self) -> str:
        if self.state == EMPTY:
            return "-"
        return "%d/%d/%d" % (self.counts[PASS], self.counts[FAIL], self.counts[SKIP])


class Table:
    """One (format, protocol): cells keyed by (producer, replayer)."""

    def __init__(self, fmt: str, protocol: Optional[int]):
        self.format = fmt
        self.protocol = protocol
        self.cells: Dict[Tuple[str, str], Cell] = {}

    @property
    def title(self) -> str:
        return TABLE_TITLES.get(self.format, self.format + " {protocol}").format(
            protocol=self.protocol)

    @property
    def label(self) -> str:
        return PROTOCOL_LABELS.get(self.format, self.format + "{protocol}").format(
            protocol=self.protocol)

    @property
    def producers(self) -> List[str]:
        return sort_rows({p for p, _ in self.cells})

    def broken(self) -> List[Cell]:
        return [c for c in self.cells.values() if c.state == BROKEN]


class Matrix(NamedTuple):
    replayers: List[str]                      # column order
    producers: List[str]                      # row order
    interpreters: Dict[str, Dict[str, object]]  # replayer tag -> interpreter facts
    tables: List[Table]
    outside: List[Tuple[str, ReportedResult]]         # (replayer, result) failures outside any cell
    environments: List[EnvStatus]
    notes: List[str]
    recorded: Dict[str, Dict[str, int]]       # env name -> {"new": n, "changed": n, ...}

    def totals(self) -> Dict[str, int]:
        total = {PASS: 0, FAIL: 0, SKIP: 0}
        for table in self.tables:
            for cell in table.cells.values():
                for key in total:
                    total[key] += cell.counts[key]
        return total

    def broken_cells(self) -> List[Tuple[Table, Cell]]:
        return [(t, c) for t in self.tables for c in t.cells.values() if c.state == BROKEN]

    def env_errors(self) -> List[EnvStatus]:
        return [e for e in self.environments
                if e.state == ENV_ERROR or (e.state == ENV_MISSING and e.required)]


def tag_key(tag: str):
    parsed = parse_tag(tag)
    return (0, parsed[0], parsed[1]) if parsed else (1, tag, (0, 0))


def sort_tags(tags: Iterable[str]) -> List[str]:
    return sorted(set(tags), key=tag_key)


GENERATION_SEPARATOR = " / "   # a row "1.2.0 / cpython3.8": what release 1.2.0 recorded on 3.8


def sort_rows(rows: Iterable[str]) -> List[str]:
    """Today's producers first (by version), then old releases' rows, oldest release first."""
    from ..store.generations import sort_key

    def key(row):
        if GENERATION_SEPARATOR in row:
            release, tag = row.rsplit(GENERATION_SEPARATOR, 1)
            return (1, sort_key(release), tag_key(tag))
        return (0, (), tag_key(row))

    return sorted(set(rows), key=key)
