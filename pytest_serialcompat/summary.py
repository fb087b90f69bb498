"""The end-of-run view: terminal summary and the ``--serialcompat-report`` JSON file."""

import collections
import os
from typing import Dict

from . import __version__
from .diagnosis.messages import group
from .results import ALL_FORMATS, FAILED, SKIPPED, STATUSES, diagnosis_title

REPORT_KIND = "pytest-serialcompat report"
REPORT_VERSION = 1
MAX_LISTED = 20
COLUMNS = STATUSES  # checked, recorded, failed, skipped, unused


def totals(results) -> Dict[str, Dict[str, int]]:
    table = {fmt: {status: 0 for status in COLUMNS} for fmt in ALL_FORMATS}
    for result in results:
        table.setdefault(result.format, {status: 0 for status in COLUMNS})
        table[result.format][result.status] += 1
    return table


def mode_text(settings) -> str:
    modes = [m for m, on in (("replay", settings.replay), ("update", settings.update),
                             ("prune", settings.prune)) if on]
    return "+".join(modes) or "off"


def relative(path, config) -> str:
    """``path`` as the user typed paths: relative to where pytest was started."""
    try:
        return os.path.relpath(str(path), str(config.invocation_params.dir))
    except ValueError:
        return str(path)


def write_terminal(terminalreporter, state) -> None:
    settings = state.settings
    if not settings.active or not state.is_writer:
        return
    tr = terminalreporter
    config = state.config
    tr.write_sep("=", "serialcompat")
    tr.write_line("mode: %s on %s, store: %s" % (mode_text(settings), state.interpreter.tag,
                                                 relative(state.store.root, config)))
    table = totals(state.results)
    tr.write_line("%-8s %s" % ("format", " ".join("%9s" % c for c in COLUMNS)))
    for fmt in sorted(table, key=lambda f: (f not in ALL_FORMATS, f)):
        tr.write_line("%-8s %s" % (fmt, " ".join("%9d" % table[fmt][c] for c in COLUMNS)))

    failures = [r for r in state.results if r.status == FAILED]
    if failures:
        tr.write_line("failures by diagnosis:")
        by_kind = collections.defaultdict(list)
        for result in failures:
            by_kind[result.diagnosis].append(result)
        for kind in sorted(by_kind, key=lambda k: diagnosis_title(k)):
            items = by_kind[kind]
            names = sorted({r.name for r in items})
            tr.write_line("  %s: %d golden check(s) in %d sample(s): %s" % (
                diagnosis_title(kind), len(items), len(names), ", ".join(names[:8])
                + (" ..." if len(names) > 8 else "")), red=True)
    skipped = [r for r in state.results if r.status == SKIPPED]
    if skipped:
        tr.write_line("skipped:")
        for problem in group(skipped)[:MAX_LISTED]:
            tr.write_line("  %s: %s -- %s" % (diagnosis_title(problem.diagnosis),
                                              ", ".join(problem.files[:3])
                                              + (" (+%d)" % (len(problem.files) - 3)
                                                 if len(problem.files) > 3 else ""),
                                              problem.message), yellow=True)
    if state.written:
        goldens = [(p, r) for p, r in state.written if r != "obtained"]
        obtained = [p for p, r in state.written if r == "obtained"]
        if goldens:
            tr.write_line("written (%d):" % len(goldens))
            for path, reason in goldens[:MAX_LISTED * 5]:
                tr.write_line("  %s (%s)" % (relative(path, config), reason), green=True)
            if len(goldens) > MAX_LISTED * 5:
                tr.write_line("  ... and %d more" % (len(goldens) - MAX_LISTED * 5))
        if obtained:
            tr.write_line("obtained bytes written for inspection: %d file(s) (*.obtained)"
                          % len(obtained))
    if state.unused:
        tr.write_line("unused (asked for by no test of this run): %d" % len(state.unused))
        for golden in state.unused[:MAX_LISTED]:
            tr.write_line("  %s" % relative(state.store.path(golden.relpath), config))
        if len(state.unused) > MAX_LISTED:
            tr.write_line("  ... and %d more" % (len(state.unused) - MAX_LISTED))
        if not settings.prune:
            tr.write_line("  delete them with --serialcompat-prune (full runs only; it lists them first)")
    if state.stale_temp_files:
        tr.write_line("left by an interrupted update: %d temporary file(s), not goldens (the next "
                      "--serialcompat-update on their interpreter removes them; never commit them):"
                      % len(state.stale_temp_files), yellow=True)
        for relpath in state.stale_temp_files[:MAX_LISTED]:
            tr.write_line("  %s" % relative(state.store.path(relpath), config), yellow=True)
        if len(state.stale_temp_files) > MAX_LISTED:
            tr.write_line("  ... and %d more" % (len(state.stale_temp_files) - MAX_LISTED))
    if state.pruned:
        tr.write_line("pruned (%d):" % len(state.pruned))
        for path in state.pruned[:MAX_LISTED * 5]:
            tr.write_line("  %s" % relative(path, config))
    if state.prune_refused:
        tr.write_line("not pruning: %s" % state.prune_refused, yellow=True)
    for path, nodeids in sorted(state.duplicates.items()):
        tr.write_line("warning: %s was written by several tests: %s" % (path, ", ".join(sorted(nodeids))),
                      yellow=True)
    for error in state.write_errors:
        tr.write_line("error: %s" % error, red=True)
    if state.report_written:
        tr.write_line("report: %s" % relative(state.report_written, config))


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
        "results": [
            {k: v for k, v in r.to_wire().items()} for r in state.results
        ],
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
    from .reference.canonical_json import canonical_json_dumps
    from .store import atomic_write

    atomic_write(path, canonical_json_dumps(report_data(state)) + b"\n")
    state.report_written = path
