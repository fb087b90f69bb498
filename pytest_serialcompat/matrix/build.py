"""Build the matrix from report files: cells, required or optional, failure groups, exit status."""

import collections
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..environment import parse_tag
from ..results import ALL_FORMATS, DIAGNOSES, FAILED, MISSING
from ..store.report import ReportFile, ReportedResult
from .model import (
    GENERATION_SEPARATOR, sort_rows, COUNTED, Cell, ENV_ERROR, ENV_OK, EnvStatus, FAIL, FORMAT_ORDER, Matrix, OptionalCell,
    PROTOCOL_LABELS, READABLE, SEVERITY, Table, sort_tags, tag_key,
)


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


def _outside(result: ReportedResult) -> bool:
    """Failures that belong to no cell: goldens missing altogether."""
    return result.diagnosis == MISSING or parse_tag(result.producer) is None


def _merge_duplicates(reports: List[ReportFile], notes: List[str]) -> Dict[str, List[ReportedResult]]:
    """Results per replayer; several reports of one replayer keep each golden's worst outcome."""
    by_tag: Dict[str, List[ReportFile]] = collections.defaultdict(list)
    for report in reports:
        by_tag[report.tag].append(report)
    merged = {}
    for tag, group in by_tag.items():
        if len(group) > 1:
            notes.append("%d reports were replayed on %s (%s): merged, each golden counts once "
                         "with its worst outcome"
                         % (len(group), tag, ", ".join(r.path for r in group)))
        worst: Dict[Tuple[str, str, str], ReportedResult] = collections.OrderedDict()
        for report in group:
            for result in report.results:
                key = (result.file, result.status if _outside(result) else "", result.producer)
                current = worst.get(key)
                if current is None or SEVERITY[result.status] > SEVERITY[current.status]:
                    worst[key] = result
        merged[tag] = list(worst.values())
    return merged


def row_of(result: ReportedResult) -> str:
    """The recorded-on row of a result: its producer, or ``"1.2.0 / cpython3.8"`` for a
    golden of an old release's frozen generation."""
    if result.generation:
        return "%s%s%s" % (result.generation, GENERATION_SEPARATOR, result.producer)
    return result.producer


def library_notes(tables) -> List[str]:
    """One note per recorded-on/replayed-on pair whose goldens crossed library versions:
    a cell "3.13 -> 3.8" may also be "numpy 2.2.1 -> 1.24.4"."""
    pairs: Dict[Tuple[str, str], set] = {}
    for table in tables:
        for (producer, replayer), cell in table.cells.items():
            if cell.libraries:
                pairs.setdefault((producer, replayer), set()).update(cell.libraries)
    return ["recorded on %s, replayed on %s: %s" % (producer, replayer, "; ".join(sorted(found)))
            for (producer, replayer), found in sorted(
                pairs.items(), key=lambda item: (tag_key(item[0][0]), tag_key(item[0][1])))]


def build_matrix(reports: Sequence[ReportFile], environments: Sequence[EnvStatus] = (),
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
    outside: List[Tuple[str, ReportedResult]] = []
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
            row = row_of(result)
            cell = table.cells.get((row, replayer))
            if cell is None:
                cell = table.cells[(row, replayer)] = Cell(
                    row, replayer,
                    is_required(result.format, result.protocol, result.producer, replayer, interp,
                                optional))
            cell.add(result)
            producers.add(row)
    notes.extend(library_notes(tables.values()))
    ordered = sorted(tables.values(), key=lambda t: (
        FORMAT_ORDER.get(t.format, len(FORMAT_ORDER)), t.format,
        -1 if t.protocol is None else t.protocol))
    if not environments:
        environments = report_statuses(replays)
    return Matrix(
        replayers=sort_tags(interpreters),
        producers=sort_rows(producers),
        interpreters=interpreters,
        tables=ordered,
        outside=sorted(outside, key=lambda item: (tag_key(item[0]), item[1].file)),
        environments=list(environments),
        notes=notes,
        recorded=dict(recorded or {}),
    )


def report_statuses(reports: Sequence[ReportFile], expected: Sequence[str] = ()) -> List[EnvStatus]:
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
                key = (result.diagnosis or "", result.name, cell.producer)
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
