"""The ``--serialcompat-report`` file: what one run wrote, and reading it back.

One module holds both sides of the format, so they cannot drift: the
writer (:func:`report_data`, :func:`write_report`, called by the plugin at the
end of a run) and the reader (:func:`load_report`, :func:`parse_report`, used by
``serialcompat report`` and the matrix).  A report holds one replaying
interpreter's facts and one :class:`ReportedResult` per golden.
"""

import os
from typing import Dict, List, NamedTuple, Optional

from .. import __version__
from ..environment import parse_tag
from ..results import ALL_FORMATS, STATUSES


REPORT_KIND = "pytest-serialcompat report"


REPORT_VERSION = 1


MAX_REPORT_BYTES = 256 * 1024 * 1024


class ReportError(Exception):
    """A result file that cannot be used; the message names the file and the problem."""


class ReportedResult(NamedTuple):
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
    generation: str = ""  # the release of a frozen golden, "" for the current generation


class ReportFile(NamedTuple):
    path: str
    tag: str                        # replaying interpreter, e.g. "cpython3.8"
    interpreter: Dict[str, object]  # the report's interpreter facts
    replay: bool
    update: bool
    partial: Optional[str]
    results: List[ReportedResult]
    errors: List[str]
    plugin_version: str


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


def parse_report(data: bytes, path: str) -> ReportFile:
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
        results.append(ReportedResult(
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
            generation=_field(raw, "generation", str, where, optional=True) or "",
        ))
    errors = value.get("errors") or []
    return ReportFile(
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


def load_report(path) -> ReportFile:
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
# Writing (the plugin, at the end of a run)


def totals(results) -> Dict[str, Dict[str, int]]:
    table = {fmt: {status: 0 for status in STATUSES} for fmt in ALL_FORMATS}
    for result in results:
        table.setdefault(result.format, {status: 0 for status in STATUSES})
        table[result.format][result.status] += 1
    return table


def report_data(state) -> dict:
    settings = state.settings
    return {
        "kind": REPORT_KIND,
        "report_version": REPORT_VERSION,
        "plugin_version": __version__,
        "interpreter": state.interpreter.to_manifest(),
        "mode": {"replay": settings.replay, "update": settings.update, "prune": settings.prune},
        "store": str(state.store.root),
        "partial_run": state.partial,
        "totals": totals(state.results),
        "results": [r._asdict() for r in state.results],
        "written": [{"path": p, "reason": r} for p, r in state.written],
        "pruned": list(state.pruned),
        "prune_refused": state.prune_refused,
        "stale_temp_files": list(state.stale_temp_files),
        "errors": list(state.write_errors),
    }


def write_report(state) -> None:
    path = state.settings.report_path
    if path is None or not state.is_writer or not state.settings.active:
        return
    from ..reference.canonical_json import canonical_json_dumps
    from .files import atomic_write

    atomic_write(path, canonical_json_dumps(report_data(state)) + b"\n")
    state.report_written = path
