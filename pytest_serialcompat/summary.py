"""The end-of-run view in the terminal (the report file is :mod:`.store.report`'s)."""

import collections
import os

from .diagnosis.messages import group
from .results import ALL_FORMATS, FAILED, SKIPPED, STATUSES, diagnosis_title
from .store.report import totals

MAX_LISTED = 20
COLUMNS = STATUSES  # checked, recorded, failed, skipped, unused


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


def generation_rows(results):
    """{(release, producer): {status: count}} of the frozen goldens among ``results``."""
    rows = collections.OrderedDict()
    for result in results:
        if result.generation:
            row = rows.setdefault((result.generation, result.producer),
                                  {status: 0 for status in COLUMNS})
            row[result.status] += 1
    return rows


def _write_generations(tr, state) -> None:
    """Old releases' goldens: one row per release and recording interpreter, then the notes."""
    from .store import version_key
    from .store.generations import sort_key

    rows = generation_rows(state.results)
    if not rows:
        return
    tr.write_line("old releases (frozen generations), replayed on %s:" % state.interpreter.tag)
    tr.write_line("  %-24s %s" % ("release / recorded on", " ".join(
        "%9s" % c for c in ("checked", "failed", "skipped"))))
    for (release, producer), counts in sorted(rows.items(), key=lambda item: (
            sort_key(item[0][0]), version_key(item[0][1]))):
        tr.write_line("  %-24s %s" % ("%s / %s" % (release, producer), " ".join(
            "%9d" % counts[c] for c in ("checked", "failed", "skipped"))),
            red=bool(counts[FAILED]))
    noted = [r for r in state.results if r.generation and r.status not in (FAILED, SKIPPED)
             and r.message]
    for result in noted[:MAX_LISTED]:
        tr.write_line("  %s:" % relative(state.store.path(result.file), state.config), yellow=True)
        for line in result.message.splitlines():
            tr.write_line("    " + line, yellow=True)


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

    _write_generations(tr, state)

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
            where = state.store.obtained_root or state.store.root
            tr.write_line("obtained bytes written for inspection: %d file(s) (*.obtained) in %s"
                          % (len(obtained), relative(str(where), config)))
    if state.unused:
        tr.write_line("unused (asked for by no test of this run): %d" % len(state.unused))
        for golden in state.unused[:MAX_LISTED]:
            tr.write_line("  %s" % relative(state.store.path(golden.relpath), config))
        if len(state.unused) > MAX_LISTED:
            tr.write_line("  ... and %d more" % (len(state.unused) - MAX_LISTED))
        if not settings.prune:
            tr.write_line("  delete them with --serialcompat-prune (full runs only; it lists them first)")
    if state.unchecked_releases:
        tr.write_line("old releases' goldens no test checks (their samples are not checked any "
                      "more; retire them with `serialcompat prune-generation VERSION`): %d "
                      "folder(s)" % len(state.unchecked_releases), yellow=True)
        for folder in state.unchecked_releases[:MAX_LISTED]:
            tr.write_line("  %s" % relative(state.store.folder(folder), config), yellow=True)
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
