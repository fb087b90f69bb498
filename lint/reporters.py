"""Output formats: text, json, sarif (2.1.0, for code scanning) and github (workflow annotations)."""
import hashlib
import json
from typing import Callable, Dict, List, Sequence, Type

from .model import INTERNAL_ERROR, PARSE_ERROR, Finding, Rule

__all__ = ["FORMATS", "render", "sarif_document"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/serialcompat/pytest-serialcompat/blob/main/docs/lint-rules.md"
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "note": "notice"}


def _text(findings: Sequence[Finding], rules: Sequence[Type[Rule]], version: str) -> str:
    lines = [
        "%s:%d:%d: %s [%s] %s" % (f.path, f.line, f.column, f.code, f.severity, f.message) for f in findings
    ]
    if findings:
        fixable = sum(1 for f in findings if f.fixable)
        summary = "Found %d finding%s" % (len(findings), "" if len(findings) == 1 else "s")
        if fixable:
            summary += " (%d fixable with --fix)" % fixable
        lines.append(summary + ".")
    else:
        lines.append("All checks passed.")
    return "\n".join(lines) + "\n"


def _json(findings: Sequence[Finding], rules: Sequence[Type[Rule]], version: str) -> str:
    return json.dumps([f.to_dict() for f in findings], indent=2) + "\n"


def _fingerprint(finding: Finding, line_text: str, occurrence: int) -> str:
    digest = hashlib.sha256(
        ("%s\0%s\0%s" % (finding.code, finding.path.replace("\\", "/"), " ".join(line_text.split()))).encode()
    ).hexdigest()[:32]
    return "%s:%d" % (digest, occurrence)


def _line_text(cache: Dict[str, List[str]], path: str, line: int) -> str:
    if path not in cache:
        try:
            with open(path, "rb") as handle:
                cache[path] = handle.read().decode("utf-8", "replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def sarif_document(findings: Sequence[Finding], rules: Sequence[Type[Rule]], version: str) -> dict:
    descriptors = []
    index: Dict[str, int] = {}
    for code, name, summary, help_text, level in [
        (r.CODE, r.NAME, r.SUMMARY, r.documentation(), r.SEVERITY) for r in rules
    ] + [
        (d.code, d.name, d.summary, d.summary, "error") for d in (PARSE_ERROR, INTERNAL_ERROR)
    ]:
        index[code] = len(descriptors)
        descriptors.append(
            {
                "id": code,
                "name": name,
                "shortDescription": {"text": summary},
                "fullDescription": {"text": summary},
                "help": {"text": help_text, "markdown": help_text},
                "helpUri": "%s#%s" % (INFORMATION_URI, code.lower()),
                "defaultConfiguration": {"level": level},
            }
        )
    lines: Dict[str, List[str]] = {}
    seen: Dict[str, int] = {}
    results = []
    for finding in findings:
        text = _line_text(lines, finding.path, finding.line)
        base = _fingerprint(finding, text, 0).split(":")[0]
        occurrence = seen.get(base, 0) + 1
        seen[base] = occurrence
        result = {
            "ruleId": finding.code,
            "level": finding.severity,
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.path.replace("\\", "/"), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": finding.line,
                            "startColumn": finding.column,
                            "endLine": max(finding.end_line, finding.line),
                            "endColumn": finding.end_column if finding.end_line > finding.line else max(finding.end_column, finding.column),
                        },
                    }
                }
            ],
            "partialFingerprints": {"primaryLocationLineHash": "%s:%d" % (base, occurrence)},
        }
        if finding.code in index:
            result["ruleIndex"] = index[finding.code]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "serialcompat-lint",
                        "version": version,
                        "semanticVersion": version.split("+")[0],
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def _sarif(findings: Sequence[Finding], rules: Sequence[Type[Rule]], version: str) -> str:
    return json.dumps(sarif_document(findings, rules, version), indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(findings: Sequence[Finding], rules: Sequence[Type[Rule]], version: str) -> str:
    out = []
    for f in findings:
        properties = "file=%s,line=%d,col=%d,endLine=%d,endColumn=%d,title=%s" % (
            _escape_property(f.path), f.line, f.column, max(f.end_line, f.line), f.end_column,
            _escape_property("%s %s" % (f.code, f.name)),
        )
        out.append("::%s %s::%s" % (_GITHUB_LEVEL[f.severity], properties, _escape_data("%s %s" % (f.code, f.message))))
    return "".join(line + "\n" for line in out)


FORMATS: Dict[str, Callable[[Sequence[Finding], Sequence[Type[Rule]], str], str]] = {
    "text": _text,
    "json": _json,
    "sarif": _sarif,
    "github": _github,
}


def render(fmt: str, findings: Sequence[Finding], rules: Sequence[Type[Rule]], version: str) -> str:
    return FORMATS[fmt](findings, rules, version)
