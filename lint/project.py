"""Decide the evidence-dependent findings once every file's facts are known.

Per-file linting yields ``Candidate`` entries (in ``ModuleFacts``) for findings that matter only
when the class is pickled.  ``decide`` joins the facts of the whole run into a ``ProjectIndex``
and asks each candidate's rule whether, and with which message, to report it; rules may also
report whole classes (``decide_class``), such as a pickled ``threading.Thread`` subclass.
The join is dictionary work over small cached summaries: it costs nothing next to parsing.
"""
import os
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .config import Settings
from .evidence import Candidate, ModuleFacts, ProjectIndex
from .model import Finding
from .rules import ALL_RULES, RULES_BY_CODE

__all__ = ["EVIDENCE_CODES", "needs_evidence", "decide", "golden_entries"]

#: Rules that yield candidates (and may define decide / decide_class).
EVIDENCE_CODES = tuple(r.CODE for r in ALL_RULES if hasattr(r, "decide"))


def needs_evidence(settings: Settings) -> bool:
    return any(settings.enabled(code, RULES_BY_CODE[code].DEFAULT_ENABLED) for code in EVIDENCE_CODES)


def golden_entries(settings: Settings) -> List[Tuple[str, int, str, str]]:
    """(manifest, line, module, qualname) of every global the golden store's manifests name
    (the manifest's path relative to the project root, as evidence messages show paths)."""
    from .golden import line_of, read_store

    entries, _problems = read_store(os.path.join(settings.root, settings.golden_store), settings.root)
    return [(os.path.relpath(e.manifest, settings.root).replace(os.sep, "/"), line_of(e.manifest, e.qualname),
             e.module, e.qualname) for e in entries]


def decide(
    facts: Sequence[ModuleFacts],
    settings: Settings,
    golden: Iterable[Tuple[str, int, str, str]] = (),
    accepted: Optional[Dict[str, Set[Candidate]]] = None,
) -> List[Finding]:
    """The findings of every candidate (and class) the rules report, given all the facts.

    ``accepted``, when given, receives per relpath the candidates reported (for --fix).
    """
    index = ProjectIndex(facts, golden)
    rules = [cls(settings) for cls in ALL_RULES if cls.CODE in EVIDENCE_CODES and settings.enabled(cls.CODE, cls.DEFAULT_ENABLED)]
    by_code = {rule.CODE: rule for rule in rules}
    findings: List[Finding] = []
    for module_facts in facts:
        ignored = settings.ignored_for_path(module_facts.relpath)
        for candidate in module_facts.candidates:
            rule = by_code.get(candidate.code)
            if rule is None:
                continue
            message = rule.decide(index, module_facts, candidate)
            if message is None:
                continue
            if accepted is not None:
                accepted.setdefault(module_facts.relpath, set()).add(candidate)
            findings.append(Finding(
                module_facts.path, candidate.line, candidate.column, candidate.end_line, candidate.end_column,
                rule.CODE, rule.NAME, message, settings.severity_for(rule.CODE, rule.SEVERITY), candidate.fixable,
            ))
        for rule in rules:
            if not hasattr(rule, "decide_class") or any(rule.CODE.startswith(p) for p in ignored):
                continue
            for class_facts in module_facts.classes:
                if rule.CODE in class_facts.noqa:
                    continue
                message = rule.decide_class(index, module_facts, class_facts)
                if message is not None:
                    findings.append(Finding(
                        module_facts.path, class_facts.line, class_facts.column, class_facts.line, class_facts.end_column,
                        rule.CODE, rule.NAME, message, settings.severity_for(rule.CODE, rule.SEVERITY),
                    ))
    findings.sort(key=Finding.sort_key)
    return findings
