"""Rule documentation: ``--explain``, ``--list-rules`` and the generated docs/lint-rules.md."""
from typing import List, Sequence, Type

from .model import Rule
from .rules import ALL_RULES

__all__ = ["explain", "list_rules", "rules_markdown"]

_HEADER = """# serialcompat-lint rules

<!-- Generated from the rule classes in lint/rules/ by
     `python -m serialcompat_lint --write-docs docs/lint-rules.md`; tests check it is in sync. -->

Codes are stable.  Select with `--select`/`--ignore` or `[tool.serialcompat.lint]` in
pyproject.toml; suppress one line with `# noqa: SC101`.  `SC000` (file could not be decoded,
parsed, or nests too deeply) and `SC001` (internal error) are reported for files the linter could
not analyse.

| Code | Name | Severity | Default | Fix | Summary |
| --- | --- | --- | --- | --- | --- |
"""


def _shift_headings(doc: str) -> str:
    return "\n".join("#" + line if line.startswith("## ") else line for line in doc.splitlines())


def _fixable(rule: Type[Rule]) -> bool:
    return any(getattr(example, "fixed", None) for example in rule.INVALID)


def rules_markdown(rules: Sequence[Type[Rule]] = ALL_RULES) -> str:
    parts = [_HEADER]
    for rule in rules:
        parts.append(
            "| [%s](#%s) | `%s` | %s | %s | %s | %s |\n"
            % (rule.CODE, rule.CODE.lower(), rule.NAME, rule.SEVERITY, "on" if rule.DEFAULT_ENABLED else "off",
               "yes" if _fixable(rule) else "", rule.SUMMARY.replace("|", "\\|"))
        )
    for rule in rules:
        parts.append("\n## %s\n\n`%s` (%s%s)\n\n%s\n" % (
            rule.CODE, rule.NAME, rule.SEVERITY, "" if rule.DEFAULT_ENABLED else ", off by default",
            _shift_headings(rule.documentation()),
        ))
    return "".join(parts)


def explain(rule: Type[Rule]) -> str:
    return "%s (%s): %s\nSeverity: %s%s\n\n%s\n" % (
        rule.CODE, rule.NAME, rule.SUMMARY, rule.SEVERITY,
        "" if rule.DEFAULT_ENABLED else " (off by default; enable with --extend-select %s)" % rule.CODE,
        rule.documentation(),
    )


def list_rules(rules: Sequence[Type[Rule]] = ALL_RULES) -> str:
    lines: List[str] = []
    for rule in rules:
        lines.append("%s  %-32s %s%s" % (rule.CODE, rule.NAME, rule.SUMMARY, "" if rule.DEFAULT_ENABLED else " [off by default]"))
    return "\n".join(lines) + "\n"
