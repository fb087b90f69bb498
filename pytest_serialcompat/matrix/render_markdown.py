"""The matrix as Markdown, for GitHub step summaries."""

from .model import ALLOWED, BROKEN, EMPTY, FAIL, Matrix, OK, SKIP, SKIPPED_ONLY
from .build import diagnosis_label, exit_status, group_results
from .labels import (
    MAX_GROUPS, MAX_MESSAGE_LINES, env_result_text, message_lines, summary_line, format_seconds,
    short_labels,
)


MARKDOWN_MARK = {EMPTY: "", OK: "\u2705 ", SKIPPED_ONLY: "\u23ed\ufe0f ", ALLOWED: "\u26a0\ufe0f ",
                 BROKEN: "\u274c "}


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(matrix: Matrix) -> str:
    labels = short_labels(matrix.replayers + matrix.producers)
    status = exit_status(matrix)
    out = ["## serialcompat compatibility matrix", ""]
    out.append("%s %s" % ("\u274c" if status else "\u2705", _md_escape(summary_line(matrix))))
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
            body = message_lines(group.message, MAX_MESSAGE_LINES * 2)
            fix = message_lines(group.fix or "", MAX_MESSAGE_LINES * 2)
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
                _md_escape(env_result_text(env, matrix))))
    if matrix.notes:
        out.append("")
        out.extend("> note: %s" % _md_escape(n) for n in matrix.notes)
    return "\n".join(out) + "\n"
