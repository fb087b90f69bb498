"""The compatibility matrix: ``--serialcompat-report`` files as recorded-on x replayed-on tables.

Data model first:

* :class:`Report` -- one validated result file (one replaying interpreter);
* :class:`Cell` -- the goldens of one (format, protocol) recorded by one
  interpreter and replayed by another: pass / fail / skip counts and whether
  the cell is *required* (the replaying interpreter can read that
  format/protocol, so a failure there is a real incompatibility);
* :class:`Table` -- one (format, protocol): pickle per protocol, marshal per
  version, JSON;
* :class:`EnvStatus` -- how one environment of a ``serialcompat matrix`` run
  went (elapsed time, missing report, missing interpreter);
* :class:`Matrix` -- all of the above plus problems that belong to no cell
  (goldens missing altogether).

Then behaviour: :func:`load_report`, :func:`build_matrix`, the renderers
(:func:`render_text`, :func:`render_markdown`, :func:`matrix_json`) and
:func:`exit_status`.  Nothing here runs a subprocess; ``matrix_runner``
produces the report files and the :class:`EnvStatus` values.
"""

import collections
import os
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from ..environment import parse_tag
from ..results import (
    ALL_FORMATS, DIAGNOSES, FAILED, JSON, MARSHAL, MISSING, PASSED, PICKLE, RECORDED, SKIPPED,
    STATUSES, UNUSED,
)
from ..summary import REPORT_KIND, REPORT_VERSION

MATRIX_KIND = "pytest-serialcompat matrix"
MATRIX_VERSION = 1
MAX_REPORT_BYTES = 256 * 1024 * 1024
MAX_GROUPS = 40           # failure groups listed in text / Markdown
MAX_MESSAGE_LINES = 4     # lines of a diagnosis message shown per group
MAX_FIX_LINES = 6
MAX_NAMES = 6

# Outcome columns of a cell, from the plugin's statuses.  "recorded" and
# "unused" are not replays and never enter a cell.
PASS, FAIL, SKIP = "pass", "fail", "skip"
COUNTED = {PASSED: PASS, FAILED: FAIL, SKIPPED: SKIP}
SEVERITY = {PASSED: 0, SKIPPED: 1, FAILED: 2, RECORDED: -1, UNUSED: -1}

# Cell states, in rendering order of importance.
EMPTY, OK, SKIPPED_ONLY, ALLOWED, BROKEN = "empty", "ok", "skipped", "allowed", "failed"
TEXT_MARK = {EMPTY: "", OK: "", SKIPPED_ONLY: "", ALLOWED: " ~", BROKEN: " !"}
MARKDOWN_MARK = {EMPTY: "", OK: "\u2705 ", SKIPPED_ONLY: "\u23ed\ufe0f ", ALLOWED: "\u26a0\ufe0f ",
                 BROKEN: "\u274c "}

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


class ReportError(Exception):
    """A result file that cannot be used; the message names the file and the problem."""


# ----------------------------------------------------------------------------
# Data model


class Result(NamedTuple):
    """One golden outcome as read from a report file."""

    name: str
    format: str
    protocol: Optional[int]
    producer: str
    file: str
    status: str
    diagnosis: Optional[str]
    message: str
    fix: Optional[str]
    nodeid: str
    detail: str = ""      # recorded goldens: "new" / "changed"


class Report(NamedTuple):
    path: str
    tag: str                        # replaying interpreter, e.g. "cpython3.8"
    interpreter: Dict[str, object]  # the report's interpreter facts
    replay: bool
    update: bool
    partial: Optional[str]
    results: List[Result]
    errors: List[str]
    plugin_version: str


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
        self.failures: List[Result] = []
        self.skips: List[Result] = []

    def add(self, result: Result) -> None:
        column = COUNTED[result.status]
        self.counts[column] += 1
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
        return sort_tags({p for p, _ in self.cells})

    def broken(self) -> List[Cell]:
        return [c for c in self.cells.values() if c.state == BROKEN]


class Matrix(NamedTuple):
    replayers: List[str]                      # column order
    producers: List[str]                      # row order
    interpreters: Dict[str, Dict[str, object]]  # replayer tag -> interpreter facts
    tables: List[Table]
    outside: List[Tuple[str, Result]]         # (replayer, result) failures outside any cell
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


# ----------------------------------------------------------------------------
# Reading report files


def _field(data: dict, key: str, kind: type, where: str, optional: bool = False):
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ReportError("%s: field %r is %s, expected %s" % (
            where, key, "missing" if value is None else "a " + type(value).__name__,
            "an int" if kind is int else "a " + {dict: "JSON object", list: "JSON array",
                                                  str: "string"}.get(kind, kind.__name__)))
    return value


def parse_report(data: bytes, path: str) -> Report:
    """Validate the bytes of one ``--serialcompat-report`` file."""
    from ..reference.canonical_json import CanonicalJSONError, JSONLimits, canonical_json_loads

    try:
        value = canonical_json_loads(data, limits=JSONLimits(max_bytes=MAX_REPORT_BYTES))
    except CanonicalJSONError as exc:
        raise ReportError("%s: not a valid JSON report (%s)" % (path, exc)) from None
    if not isinstance(value, dict) or value.get("kind") != REPORT_KIND:
        raise ReportError("%s: not a pytest-serialcompat report (expected \"kind\": %r)"
                          % (path, REPORT_KIND))
    version = value.get("report_version")
    if version != REPORT_VERSION:
        raise ReportError("%s: report_version %r, but this serialcompat reads version %d "
                          "(made by pytest-serialcompat %s)" % (path, version, REPORT_VERSION,
                                                                value.get("plugin_version", "?")))
    interp = _field(value, "interpreter", dict, path)
    tag = _field(interp, "interpreter", str, path + ": interpreter")
    if parse_tag(tag) is None:
        raise ReportError("%s: interpreter %r is not an interpreter tag like cpython3.8"
                          % (path, tag))
    mode = _field(value, "mode", dict, path)
    raw_results = _field(value, "results", list, path)
    results = []
    for index, raw in enumerate(raw_results):
        where = "%s: results[%d]" % (path, index)
        if not isinstance(raw, dict):
            raise ReportError("%s: not an object" % where)
        status = _field(raw, "status", str, where)
        if status not in STATUSES:
            raise ReportError("%s: unknown status %r (expected one of %s)"
                              % (where, status, ", ".join(STATUSES)))
        diagnosis = _field(raw, "diagnosis", str, where, optional=True)  # unknown keys kept as is
        results.append(Result(
            name=_field(raw, "name", str, where),
            format=_field(raw, "format", str, where),
            protocol=_field(raw, "protocol", int, where, optional=True),
            producer=_field(raw, "producer", str, where),
            file=_field(raw, "file", str, where),
            status=status,
            diagnosis=diagnosis,
            message=_field(raw, "message", str, where, optional=True) or "",
            fix=_field(raw, "fix", str, where, optional=True),
            nodeid=_field(raw, "nodeid", str, where, optional=True) or "",
            detail=_field(raw, "detail", str, where, optional=True) or "",
        ))
    errors = value.get("errors") or []
    return Report(
        path=path,
        tag=tag,
        interpreter=interp,
        replay=bool(mode.get("replay")),
        update=bool(mode.get("update")),
        partial=value.get("partial_run") if isinstance(value.get("partial_run"), str) else None,
        results=results,
        errors=[str(e) for e in errors] if isinstance(errors, list) else [str(errors)],
        plugin_version=str(value.get("plugin_version", "")),
    )


def load_report(path) -> Report:
    """Read and validate one report file; ReportError when it cannot be used."""
    path = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_REPORT_BYTES:
            raise ReportError("%s: %d bytes, larger than the %d byte limit for report files"
                              % (path, size, MAX_REPORT_BYTES))
        with open(path, "rb") as handle:
            data = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise ReportError("%s: cannot read: %s" % (path, exc.strerror or exc)) from None
    return parse_report(data, path)


# ----------------------------------------------------------------------------
# Building the matrix


def tag_key(tag: str):
    parsed = parse_tag(tag)
    return (0, parsed[0], parsed[1]) if parsed else (1, tag, (0, 0))


def sort_tags(tags: Iterable[str]) -> List[str]:
    return sorted(set(tags), key=tag_key)


def parse_version_word(word: str) -> Optional[str]:
    """"3.8" -> "cpython3.8"; a tag stays; "*" -> None (anything)."""
    if word in ("*", ""):
        return None
    if parse_tag(word) is None and parse_tag("cpython" + word) is not None:
        return "cpython" + word
    if parse_tag(word) is None:
        raise ValueError("%r is not a version (3.8) or interpreter tag (cpython3.8)" % word)
    return word


def parse_optional(spec: str) -> OptionalCell:
    """Parse ``RECORDED:REPLAYED[:FORMAT[:PROTOCOL]]`` (``*``: any); ValueError when malformed."""
    parts = spec.split(":")
    if not 2 <= len(parts) <= 4:
        raise ValueError("%r: expected RECORDED:REPLAYED[:FORMAT[:PROTOCOL]], e.g. 3.13:3.8:pickle"
                         % spec)
    recorded, replayed = parse_version_word(parts[0]), parse_version_word(parts[1])
    fmt = parts[2] if len(parts) > 2 and parts[2] not in ("", "*") else None
    if fmt is not None and fmt not in ALL_FORMATS:
        raise ValueError("%r: unknown format %r (use %s)" % (spec, fmt, ", ".join(ALL_FORMATS)))
    protocol = None
    if len(parts) > 3 and parts[3] not in ("", "*"):
        if not parts[3].isdigit():
            raise ValueError("%r: protocol %r is not a number" % (spec, parts[3]))
        protocol = int(parts[3])
    return OptionalCell(recorded, replayed, fmt, protocol)


def is_required(fmt: str, protocol: Optional[int], producer: str, replayer: str,
                interp: Dict[str, object], optional: Sequence[OptionalCell]) -> bool:
    readable = READABLE.get(fmt, lambda p, i: True)
    try:
        can_read = readable(protocol, interp)
    except (TypeError, ValueError):
        can_read = True
    return can_read and not any(o.matches(producer, replayer, fmt, protocol) for o in optional)


def _outside(result: Result) -> bool:
    """Failures that belong to no cell: goldens missing altogether."""
    return result.diagnosis == MISSING or parse_tag(result.producer) is None


def _merge_duplicates(reports: List[Report], notes: List[str]) -> Dict[str, List[Result]]:
    """Results per replayer; several reports of one replayer keep each golden's worst outcome."""
    by_tag: Dict[str, List[Report]] = collections.defaultdict(list)
    for report in reports:
        by_tag[report.tag].append(report)
    merged = {}
    for tag, group in by_tag.items():
        if len(group) > 1:
            notes.append("%d reports were replayed on %s (%s): merged, each golden counts once "
                         "with its worst outcome"
                         % (len(group), tag, ", ".join(r.path for r in group)))
        worst: Dict[Tuple[str, str, str], Result] = collections.OrderedDict()
        for report in group:
            for result in report.results:
                key = (result.file, result.status if _outside(result) else "", result.producer)
                current = worst.get(key)
                if current is None or SEVERITY[result.status] > SEVERITY[current.status]:
                    worst[key] = result
        merged[tag] = list(worst.values())
    return merged


def build_matrix(reports: Sequence[Report], environments: Sequence[EnvStatus] = (),
                 optional: Sequence[OptionalCell] = (),
                 recorded: Optional[Dict[str, Dict[str, int]]] = None,
                 notes: Sequence[str] = ()) -> Matrix:
    """Merge validated reports into the recorded-on x replayed-on model."""
    notes = list(notes)
    replays = []
    for report in reports:
        if not report.replay:
            notes.append("%s is from a recording run (--serialcompat-update without "
                         "--serialcompat) on %s: not a replay, left out of the tables"
                         % (report.path, report.tag))
            continue
        replays.append(report)
        if report.partial:
            notes.append("%s: partial run on %s (%s): cells cover only the tests that ran"
                         % (report.path, report.tag, report.partial))
        for error in report.errors:
            notes.append("%s: the run on %s reported: %s" % (report.path, report.tag, error))
    interpreters = {r.tag: r.interpreter for r in replays}
    tables: Dict[Tuple[str, Optional[int]], Table] = {}
    outside: List[Tuple[str, Result]] = []
    producers = set()
    for replayer, results in _merge_duplicates(replays, notes).items():
        interp = interpreters[replayer]
        for result in results:
            if result.status not in COUNTED:
                continue
            if _outside(result):
                if result.status == FAILED:
                    outside.append((replayer, result))
                continue
            key = (result.format, result.protocol)
            table = tables.get(key)
            if table is None:
                table = tables[key] = Table(result.format, result.protocol)
            cell = table.cells.get((result.producer, replayer))
            if cell is None:
                cell = table.cells[(result.producer, replayer)] = Cell(
                    result.producer, replayer,
                    is_required(result.format, result.protocol, result.producer, replayer, interp,
                                optional))
            cell.add(result)
            producers.add(result.producer)
    ordered = sorted(tables.values(), key=lambda t: (
        FORMAT_ORDER.get(t.format, len(FORMAT_ORDER)), t.format,
        -1 if t.protocol is None else t.protocol))
    if not environments:
        environments = report_statuses(replays)
    return Matrix(
        replayers=sort_tags(interpreters),
        producers=sort_tags(producers),
        interpreters=interpreters,
        tables=ordered,
        outside=sorted(outside, key=lambda item: (tag_key(item[0]), item[1].file)),
        environments=list(environments),
        notes=notes,
        recorded=dict(recorded or {}),
    )


def report_statuses(reports: Sequence[Report], expected: Sequence[str] = ()) -> List[EnvStatus]:
    """Environments of merged report files: one per replaying interpreter, plus an error for each
    ``expected`` interpreter (tag or "3.8") that no report was replayed on."""
    replays = sorted((r for r in reports if r.replay), key=lambda r: tag_key(r.tag))
    statuses = []
    seen = set()
    for report in replays:
        if report.tag in seen:
            continue
        seen.add(report.tag)
        statuses.append(EnvStatus(name=report.tag, state=ENV_OK, tag=report.tag,
                                  interpreter=str(report.interpreter.get("python_version", "")),
                                  report=report.path))
    for word in expected:
        tag = parse_version_word(word) or word
        if tag not in seen:
            seen.add(tag)
            statuses.append(EnvStatus(name=tag, state=ENV_ERROR,
                                      message="no replay report from %s among the files" % tag))
    return statuses


def exit_status(matrix: Matrix) -> int:
    """1 when a required cell fails, a golden is missing, an environment gave no report, or
    nothing at all was replayed."""
    if matrix.broken_cells() or matrix.outside or matrix.env_errors() or not matrix.replayers:
        return 1
    return 0


# ----------------------------------------------------------------------------
# Grouping failures and skips for the listings


class Group(NamedTuple):
    diagnosis: Optional[str]
    name: str
    producer: str
    replayers: List[str]
    protocols: List[str]      # "pickle p2", "marshal v4", "json"
    count: int
    required: bool
    message: str
    fix: Optional[str]


def diagnosis_label(kind: Optional[str]) -> str:
    if kind is None:
        return "no diagnosis"
    if kind not in DIAGNOSES:
        return kind
    letter, title = DIAGNOSES[kind]
    return title if letter == "!" else "(%s) %s" % (letter, title)


def _ranges(numbers: List[int]) -> List[str]:
    """[2, 3, 4, 5, 7] -> ["2-5", "7"]."""
    out: List[str] = []
    for number in sorted(set(numbers)):
        if out and out[-1][1] == number - 1:
            out[-1][1] = number
        else:
            out.append([number, number])
    return ["%d" % a if a == b else "%d-%d" % (a, b) for a, b in out]


def describe_where(places) -> List[str]:
    """{("pickle", 2), ("pickle", 3), ("json", None)} -> ["pickle p2-p3", "json"]."""
    by_format: Dict[str, List[int]] = collections.OrderedDict()
    for fmt, protocol in sorted(places, key=lambda p: (FORMAT_ORDER.get(p[0], 9), p[0],
                                                       -1 if p[1] is None else p[1])):
        by_format.setdefault(fmt, [])
        if protocol is not None:
            by_format[fmt].append(protocol)
    out = []
    for fmt, protocols in by_format.items():
        if not protocols:
            out.append(fmt)
            continue
        prefix = PROTOCOL_LABELS.get(fmt, "{protocol}").split("{", 1)[0]
        out.append("%s %s" % (fmt, ", ".join(prefix + r.replace("-", "-" + prefix)
                                             for r in _ranges(protocols))))
    return out


def group_results(matrix: Matrix, kind: str) -> List[Group]:
    """Failures (kind FAIL) or skips (kind SKIP) grouped by diagnosis, sample and producer."""
    groups: Dict[tuple, dict] = collections.OrderedDict()
    for table in matrix.tables:
        for cell in table.cells.values():
            items = cell.failures if kind == FAIL else cell.skips
            for result in items:
                key = (result.diagnosis or "", result.name, result.producer)
                entry = groups.setdefault(key, {"replayers": set(), "where": set(), "count": 0,
                                                "required": False, "first": result})
                entry["replayers"].add(cell.replayer)
                entry["where"].add((table.format, table.protocol))
                entry["count"] += 1
                entry["required"] = entry["required"] or cell.required
    out = []
    for (diag, name, producer), entry in groups.items():
        first = entry["first"]
        out.append(Group(
            diagnosis=diag or None, name=name, producer=producer,
            replayers=sort_tags(entry["replayers"]),
            protocols=describe_where(entry["where"]),
            count=entry["count"], required=entry["required"], message=first.message, fix=first.fix))
    out.sort(key=lambda g: (not g.required, diagnosis_label(g.diagnosis), g.name,
                            tag_key(g.producer)))
    return out


# ----------------------------------------------------------------------------
# Rendering helpers


def short_labels(tags: Iterable[str]) -> Dict[str, str]:
    """"cpython3.8" -> "3.8" when every tag is CPython; tags unchanged otherwise."""
    tags = list(tags)
    parsed = [parse_tag(t) for t in tags]
    if all(p is not None and p[0] == "cpython" for p in parsed):
        return {t: "%d.%d" % p[1] for t, p in zip(tags, parsed)}
    return {t: t for t in tags}


def format_seconds(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return "%.1f s" % seconds
    minutes, rest = divmod(int(round(seconds)), 60)
    return "%d min %02d s" % (minutes, rest)


def _message_lines(text: str, limit: int = MAX_MESSAGE_LINES) -> List[str]:
    lines = [line.rstrip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) > limit:
        lines = lines[:limit] + ["..."]
    return lines


def _env_result_text(env: EnvStatus, matrix: Matrix) -> str:
    if env.state == ENV_MISSING:
        return "interpreter not found%s: %s" % ("" if env.required else " (skipped)", env.message)
    if env.state == ENV_ERROR:
        return "ERROR: %s" % env.message
    parts = []
    counts = env_counts(matrix, env)
    if counts is not None:
        parts.append("%d pass, %d fail, %d skip" % (counts[PASS], counts[FAIL], counts[SKIP]))
    recorded = matrix.recorded.get(env.name)
    if recorded:
        parts.append("recorded: " + ", ".join("%d %s" % (n, k)
                                              for k, n in sorted(recorded.items())))
    if env.message:
        parts.append(env.message)
    return "; ".join(parts) or "ok"


def env_counts(matrix: Matrix, env: EnvStatus) -> Optional[Dict[str, int]]:
    """Pass/fail/skip counts of the replayer whose report this environment wrote."""
    if not env.tag or env.tag not in matrix.interpreters:
        return None
    total = {PASS: 0, FAIL: 0, SKIP: 0}
    for table in matrix.tables:
        for (_producer, replayer), cell in table.cells.items():
            if replayer == env.tag:
                for key in total:
                    total[key] += cell.counts[key]
    total[FAIL] += sum(1 for replayer, _ in matrix.outside if replayer == env.tag)
    return total


def _summary_line(matrix: Matrix) -> str:
    total = matrix.totals()
    broken = matrix.broken_cells()
    head = "%d interpreter(s), %d golden replays: %d pass, %d fail, %d skip" % (
        len(matrix.replayers), sum(total.values()), total[PASS], total[FAIL], total[SKIP])
    problems = []
    if broken:
        problems.append("%d required cell(s) fail" % len(broken))
    if matrix.outside:
        problems.append("%d golden(s) missing" % len(matrix.outside))
    errors = matrix.env_errors()
    if errors:
        problems.append("%d environment(s) without a report" % len(errors))
    if not matrix.replayers:
        problems.append("no replay report")
    verdict = "FAILED: " + ", ".join(problems) if problems else "OK"
    return "%s -- %s" % (head, verdict)


# ----------------------------------------------------------------------------
# Text


def render_text(matrix: Matrix) -> str:
    out: List[str] = []
    labels = short_labels(matrix.replayers + matrix.producers)
    out.append("serialcompat compatibility matrix")
    out.append(_summary_line(matrix))
    if matrix.tables:
        out.append("each cell: pass/fail/skip of the goldens recorded on the row's interpreter "
                   "and replayed on the column's; ! a required cell fails, ~ failures allowed "
                   "by --optional")
    corner = "recorded \\ replayed"
    for table in matrix.tables:
        rows = [[labels[p]] + [
            (table.cells[(p, r)].text() + TEXT_MARK[table.cells[(p, r)].state])
            if (p, r) in table.cells else "-"
            for r in matrix.replayers] for p in table.producers]
        header = [corner] + [labels[r] for r in matrix.replayers]
        widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
        out.append("")
        out.append(table.title)
        for row in [header] + rows:
            text = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row))
            out.append("  " + text.rstrip())
    if not matrix.tables:
        out.append("")
        out.append("no golden was replayed (no replay report, or the store is empty)")
    failures = group_results(matrix, FAIL)
    if failures:
        out.append("")
        out.append("failures:")
        for group in failures[:MAX_GROUPS]:
            out.append("  %s%s: %r recorded on %s, replayed on %s (%s; %d golden(s))" % (
                "" if group.required else "[allowed] ", diagnosis_label(group.diagnosis),
                group.name, labels.get(group.producer, group.producer),
                ", ".join(labels.get(r, r) for r in group.replayers), ", ".join(group.protocols),
                group.count))
            for line in _message_lines(group.message):
                out.append("      " + line)
            fix = _message_lines(group.fix or "", MAX_FIX_LINES)
            if fix and not fix[0].lower().startswith("fix"):
                fix[0] = "Fix: " + fix[0]
            out.extend("      " + line for line in fix)
        if len(failures) > MAX_GROUPS:
            out.append("  ... and %d more group(s) (see the JSON output)"
                       % (len(failures) - MAX_GROUPS))
    skips = group_results(matrix, SKIP)
    if skips:
        out.append("")
        out.append("skips:")
        by_diag = collections.OrderedDict()
        for group in skips:
            by_diag.setdefault(group.diagnosis, []).append(group)
        for diag, groups in by_diag.items():
            names = sorted({g.name for g in groups})
            out.append("  %s: %d golden replay(s) of %s%s" % (
                diagnosis_label(diag), sum(g.count for g in groups), ", ".join(names[:MAX_NAMES]),
                " ..." if len(names) > MAX_NAMES else ""))
    if matrix.outside:
        out.append("")
        out.append("missing goldens (no cell to show them in):")
        for replayer, result in matrix.outside[:MAX_GROUPS]:
            first = result.message.splitlines()[0] if result.message else result.file
            out.append("  on %s: %s" % (labels.get(replayer, replayer), first))
    if matrix.environments:
        out.append("")
        out.append("environments:")
        rows = [["env", "python", "elapsed", "result"]]
        for env in matrix.environments:
            rows.append([env.name, env.interpreter or "-", format_seconds(env.elapsed),
                         _env_result_text(env, matrix)])
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for row, env in zip(rows, [None] + list(matrix.environments)):
            out.append("  " + "  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3])
            if env is not None and env.details:
                out.extend("    " + line for line in env.details.splitlines())
    for note in matrix.notes:
        out.append("note: " + note)
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------
# Markdown (GitHub step summaries)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(matrix: Matrix) -> str:
    labels = short_labels(matrix.replayers + matrix.producers)
    status = exit_status(matrix)
    out = ["## serialcompat compatibility matrix", ""]
    out.append("%s %s" % ("\u274c" if status else "\u2705", _md_escape(_summary_line(matrix))))
    out.append("")
    if matrix.tables:
        out.append("Each cell: pass / fail / skip of the goldens recorded on the row's interpreter "
                   "and replayed on the column's. \u274c a required cell fails, "
                   "\u26a0\ufe0f failures allowed by `--optional`, \u23ed\ufe0f skipped only.")
    for table in matrix.tables:
        out.append("")
        out.append("### %s" % table.title)
        out.append("")
        out.append("| recorded on \u2193 / replayed on \u2192 | %s |" % " | ".join(
            labels[r] for r in matrix.replayers))
        out.append("|---|%s" % "".join("---:|" for _ in matrix.replayers))
        for producer in table.producers:
            cells = []
            for replayer in matrix.replayers:
                cell = table.cells.get((producer, replayer))
                if cell is None or cell.state == EMPTY:
                    cells.append("\u2014")
                else:
                    cells.append(MARKDOWN_MARK[cell.state] + cell.text().replace("/", " / "))
            out.append("| **%s** | %s |" % (labels[producer], " | ".join(cells)))
    failures = group_results(matrix, FAIL)
    if failures:
        out.append("")
        out.append("### Failures")
        out.append("")
        for group in failures[:MAX_GROUPS]:
            out.append("- %s**%s**: `%s` recorded on %s, replayed on %s (%s; %d golden(s))" % (
                "" if group.required else "(allowed) ",
                _md_escape(diagnosis_label(group.diagnosis)),
                group.name, labels.get(group.producer, group.producer),
                ", ".join(labels.get(r, r) for r in group.replayers), ", ".join(group.protocols),
                group.count))
            body = _message_lines(group.message, MAX_MESSAGE_LINES * 2)
            fix = _message_lines(group.fix or "", MAX_MESSAGE_LINES * 2)
            if body or fix:
                out.append("")
                out.append("  ```text")
                out.extend("  " + line.replace("```", "'''") for line in body + fix)
                out.append("  ```")
        if len(failures) > MAX_GROUPS:
            out.append("- ... and %d more (see the JSON output)" % (len(failures) - MAX_GROUPS))
    skips = group_results(matrix, SKIP)
    if skips:
        out.append("")
        out.append("<details><summary>Skips (%d golden replays)</summary>"
                   % sum(g.count for g in skips))
        out.append("")
        for group in skips[:MAX_GROUPS]:
            out.append("- %s: `%s` recorded on %s, replayed on %s (%s)" % (
                _md_escape(diagnosis_label(group.diagnosis)), group.name,
                labels.get(group.producer, group.producer),
                ", ".join(labels.get(r, r) for r in group.replayers), ", ".join(group.protocols)))
        out.append("")
        out.append("</details>")
    if matrix.outside:
        out.append("")
        out.append("### Missing goldens")
        out.append("")
        for replayer, result in matrix.outside[:MAX_GROUPS]:
            out.append("- on %s: %s" % (labels.get(replayer, replayer), _md_escape(
                result.message.splitlines()[0] if result.message else result.file)))
    if matrix.environments:
        out.append("")
        out.append("### Environments")
        out.append("")
        out.append("| env | python | elapsed | result |")
        out.append("|---|---|---:|---|")
        for env in matrix.environments:
            out.append("| %s | %s | %s | %s |" % (
                _md_escape(env.name), env.interpreter or "\u2014", format_seconds(env.elapsed),
                _md_escape(_env_result_text(env, matrix))))
    if matrix.notes:
        out.append("")
        out.extend("> note: %s" % _md_escape(n) for n in matrix.notes)
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------
# JSON


def _result_json(result: Result) -> dict:
    return {
        "name": result.name, "file": result.file, "diagnosis": result.diagnosis,
        "message": result.message, "fix": result.fix, "nodeid": result.nodeid,
    }


def matrix_json(matrix: Matrix) -> dict:
    tables = []
    for table in matrix.tables:
        cells = []
        for producer in table.producers:
            for replayer in matrix.replayers:
                cell = table.cells.get((producer, replayer))
                if cell is None:
                    continue
                cells.append({
                    "recorded_on": producer,
                    "replayed_on": replayer,
                    "pass": cell.counts[PASS],
                    "fail": cell.counts[FAIL],
                    "skip": cell.counts[SKIP],
                    "required": cell.required,
                    "state": cell.state,
                    "failures": [_result_json(r) for r in cell.failures],
                    "skips": [_result_json(r) for r in cell.skips],
                })
        tables.append({"format": table.format, "protocol": table.protocol, "title": table.title,
                       "cells": cells})
    return {
        "kind": MATRIX_KIND,
        "matrix_version": MATRIX_VERSION,
        "ok": exit_status(matrix) == 0,
        "totals": matrix.totals(),
        "replayed_on": list(matrix.replayers),
        "recorded_on": list(matrix.producers),
        "interpreters": {tag: dict(facts) for tag, facts in matrix.interpreters.items()},
        "tables": tables,
        "missing": [dict(_result_json(r), replayed_on=replayer, recorded_on=r.producer,
                         format=r.format) for replayer, r in matrix.outside],
        "environments": [{
            "name": e.name, "state": e.state, "python": e.interpreter, "tag": e.tag,
            "elapsed": None if e.elapsed is None else round(e.elapsed, 2),
            "message": e.message, "details": e.details, "report": e.report,
            "required": e.required,
            "recorded": matrix.recorded.get(e.name),
        } for e in matrix.environments],
        "notes": list(matrix.notes),
    }


def dumps_matrix_json(matrix: Matrix) -> bytes:
    from ..reference.canonical_json import canonical_json_dumps

    return canonical_json_dumps(matrix_json(matrix)) + b"\n"
