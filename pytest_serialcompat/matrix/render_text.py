"""The matrix as plain text, for the terminal."""

import collections
from typing import List

from .model import ALLOWED, BROKEN, EMPTY, FAIL, Matrix, OK, SKIP, SKIPPED_ONLY
from .build import diagnosis_label, group_results
from .labels import (
    MAX_FIX_LINES, MAX_GROUPS, MAX_NAMES, env_result_text, message_lines, summary_line,
    format_seconds, short_labels,
)


TEXT_MARK = {EMPTY: "", OK: "", SKIPPED_ONLY: "", ALLOWED: " ~", BROKEN: " !"}


def render_text(matrix: Matrix) -> str:
    out: List[str] = []
    labels = short_labels(matrix.replayers + matrix.producers)
    out.append("serialcompat compatibility matrix")
    out.append(summary_line(matrix))
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
            for line in message_lines(group.message):
                out.append("      " + line)
            fix = message_lines(group.fix or "", MAX_FIX_LINES)
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
                         env_result_text(env, matrix)])
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for row, env in zip(rows, [None] + list(matrix.environments)):
            out.append("  " + "  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3])
            if env is not None and env.details:
                out.extend("    " + line for line in env.details.splitlines())
    for note in matrix.notes:
        out.append("note: " + note)
    return "\n".join(out) + "\n"
