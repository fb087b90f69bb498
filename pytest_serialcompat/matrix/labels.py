"""Words and numbers every rendering of the matrix shares: labels, durations, counts."""

from typing import Dict, Iterable, List, Optional

from ..environment import parse_tag
from .model import GENERATION_SEPARATOR, ENV_ERROR, ENV_MISSING, EnvStatus, FAIL, Matrix, PASS, SKIP


MAX_GROUPS = 40           # failure groups listed in text / Markdown


MAX_MESSAGE_LINES = 4     # lines of a diagnosis message shown per group


MAX_FIX_LINES = 6


MAX_NAMES = 6


def short_labels(tags: Iterable[str]) -> Dict[str, str]:
    """"cpython3.8" -> "3.8" when every tag is CPython; tags unchanged otherwise.

    An old release's row, ``"1.2.0 / cpython3.8"``, keeps its release: ``"1.2.0 / 3.8"``.
    """
    tags = list(tags)
    split = [t.rsplit(GENERATION_SEPARATOR, 1) if GENERATION_SEPARATOR in t else ["", t]
             for t in tags]
    parsed = [parse_tag(tag) for _release, tag in split]
    if all(p is not None and p[0] == "cpython" for p in parsed):
        return {t: (release + GENERATION_SEPARATOR if release else "") + "%d.%d" % p[1]
                for t, (release, _tag), p in zip(tags, split, parsed)}
    return {t: t for t in tags}


def format_seconds(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return "%.1f s" % seconds
    minutes, rest = divmod(int(round(seconds)), 60)
    return "%d min %02d s" % (minutes, rest)


def message_lines(text: str, limit: int = MAX_MESSAGE_LINES) -> List[str]:
    lines = [line.rstrip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) > limit:
        lines = lines[:limit] + ["..."]
    return lines


def env_result_text(env: EnvStatus, matrix: Matrix) -> str:
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


def summary_line(matrix: Matrix) -> str:
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
