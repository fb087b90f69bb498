"""Lint one file: decode, cheap prefilters, parse once, run the rules, suppress, locate.

The stages, cheapest first, each sound (it never drops a file or node a rule could fire on):

1. Text triggers: a rule runs on a file only if one of its trigger words occurs in the text
   (every qualified name a rule resolves comes from an import spelling that word, e.g. a rule
   about ``multiprocessing`` cannot fire in a file that never says ``multiprocessing``).
2. A rule may add an ``ast_prefilter``: CPython's C parser (about a tenth of libcst's parse)
   answers structural questions, such as "is there a class with an attribute assignment that
   could hold a resource?".  If ``ast`` cannot parse the file, the rule stays active.
3. Only then is the file parsed with libcst, guarded against nesting that crashes libcst.
4. Rules first filter nodes by cheap syntax (``ctx.calls_named``) and only then ask for
   qualified names, so libcst's scope analysis runs only on files with candidate nodes;
   positions are computed only for files with findings.

``Linter(settings, full=True)`` disables stages 1, 2 and 4: the soundness test compares both.

When a rule that needs evidence of pickling is enabled (SC102, SC105), every file also yields its
``ModuleFacts``: class facts from CPython's ``ast`` (files with a class or an import), and sites
from the libcst tree (files with one of ``EVIDENCE_TRIGGERS``; stage 1 again).  Rules yield
``Report(pending=...)`` candidates for such findings; alone, a file decides them with its own
facts, in a run (``project=True``) the runner decides them over every file (``project.decide``).
"""
import ast
import io
import re
import sys
import threading
import tokenize
import warnings
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Pattern, Sequence, Set, Tuple

import libcst as cst

from .config import Settings
from .context import FileContext
from .evidence import EVIDENCE_TRIGGERS, Candidate, ModuleFacts, class_facts, collect_sites, module_name
from .fixes import apply_fixes
from .guard import nesting_problem
from .model import INTERNAL_ERROR, PARSE_ERROR, Finding, Rule
from .project import decide, needs_evidence
from .rules import ALL_RULES

__all__ = ["FileResult", "Linter", "decode_source", "call_with_deep_stack"]

_CLASS = re.compile(r"^[ \t]*class\b", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*(?:from|import)\b", re.MULTILINE)
_NOQA = re.compile(r"#\s*noqa\s*:\s*(SC\d{3}(?:\s*,\s*SC\d{3})*)", re.IGNORECASE)
_STACK_SIZE = 256 * 1024 * 1024
_RECURSION_LIMIT = 30000


class FileResult(NamedTuple):
    findings: Tuple[Finding, ...]
    fixed: Optional[str] = None  # new source text when --fix changed the file
    internal_error: bool = False
    #: What the file contributes to the project-wide evidence, including its candidates.
    facts: Optional[ModuleFacts] = None


def decode_source(data: bytes) -> str:
    """Decode like Python does (BOM, coding cookie, default UTF-8); raises SyntaxError or UnicodeDecodeError."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def call_with_deep_stack(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function`` in a thread with a large stack and a high recursion limit.

    libcst's visitors recurse once per tree level; legitimate code (long elif chains, long
    operator chains) can exceed the default recursion limit, and raising the limit is only safe
    with a stack to match.
    """
    outcome: List[Any] = []

    def target() -> None:
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous, _RECURSION_LIMIT))
        try:
            outcome.append((True, function(*args)))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append((False, exc))
        finally:
            sys.setrecursionlimit(previous)

    previous_size = threading.stack_size()
    try:
        threading.stack_size(_STACK_SIZE)
        worker = threading.Thread(target=target, name="serialcompat-lint")
        worker.start()
    finally:
        threading.stack_size(previous_size)
    worker.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _trigger_pattern(words: Sequence[str]) -> Optional[Pattern[str]]:
    if not words:
        return None
    return re.compile(r"\b(?:%s)\b" % "|".join(re.escape(w) for w in sorted(set(words))))


class Linter:
    """Lints sources with the rules the settings enable."""

    def __init__(self, settings: Settings, full: bool = False) -> None:
        self.settings = settings
        self.full = full
        self.rules: List[Rule] = [
            cls(settings)
            for cls in ALL_RULES
            if not cls.PROJECT_RULE and settings.enabled(cls.CODE, cls.DEFAULT_ENABLED)
        ]
        self._triggers = [_trigger_pattern(rule.triggers(settings)) for rule in self.rules]
        self._requires = [re.compile(rule.TRIGGER_REQUIRES, re.MULTILINE) if rule.TRIGGER_REQUIRES else None for rule in self.rules]
        self._also = [re.compile(rule.TRIGGER_ALSO, re.MULTILINE) if rule.TRIGGER_ALSO else None for rule in self.rules]
        #: Whether some enabled rule needs project-wide evidence (then every file contributes facts).
        self.evidence = needs_evidence(settings)
        self._evidence_trigger = _trigger_pattern(EVIDENCE_TRIGGERS)
        self._sample_modules = frozenset(spec.partition(":")[0] for spec in settings.samples)

    # -- entry points -------------------------------------------------------------------------------
    def lint_bytes(self, path: str, relpath: str, data: bytes, fix: bool = False, project: bool = False, accept: Any = None) -> FileResult:
        try:
            text = decode_source(data)
        except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
            return FileResult((self._file_diagnostic(path, 1, 1, "cannot decode the file: %s" % _short(exc)),))
        return self.lint_text(path, relpath, text, fix=fix, project=project, accept=accept)

    def lint_text(self, path: str, relpath: str, text: str, fix: bool = False, project: bool = False, accept: Any = None) -> FileResult:
        """Lint one file.

        Alone (the default), evidence-dependent candidates are decided with this file's facts
        only.  With ``project=True`` they are left in ``facts`` for the run to decide over every
        file (``project.decide``); their fixes are applied only for the candidates in ``accept``.
        """
        try:
            result = self._lint_text(path, relpath, text, fix, project, accept)
        except RecursionError:
            return FileResult((self._file_diagnostic(path, 1, 1, "the file nests too deeply to analyse"),))
        except MemoryError:
            return FileResult((self._file_diagnostic(path, 1, 1, "the file is too large to analyse"),))
        except Exception as exc:  # a bug in a rule: report it, keep going with other files
            if _caused_by_recursion(exc):
                # e.g. libcst's code generator on 3.12, whose C recursion limit
                # no thread stack or recursion limit raises
                return FileResult((self._file_diagnostic(path, 1, 1, "the file nests too deeply to analyse"),))
            finding = Finding(
                path, 1, 1, 1, 1, INTERNAL_ERROR.code, INTERNAL_ERROR.name,
                "internal error: %s: %s" % (type(exc).__name__, _short(exc)), "error",
            )
            return FileResult((finding,), internal_error=True)
        return result

    def _lint_text(self, path: str, relpath: str, text: str, fix: bool, project: bool, accept: Any) -> FileResult:
        result = self._analyse(path, relpath, text, fix, accept if project else None, local=not project)
        if project or result.facts is None:
            return result
        decided = decide([result.facts], self.settings)
        findings = tuple(sorted(result.findings + tuple(decided), key=Finding.sort_key))
        return result._replace(findings=findings, facts=result.facts._replace(candidates=()))

    # -- stages ---------------------------------------------------------------------------------------
    def active_rules(self, text: str) -> List[Rule]:
        if self.full:
            return list(self.rules)
        active = [
            rule
            for rule, trigger, requires, also in zip(self.rules, self._triggers, self._requires, self._also)
            if ((trigger is not None and trigger.search(text)) or (also is not None and also.search(text)))
            and (requires is None or requires.search(text))
        ]
        if any(hasattr(rule, "ast_prefilter") for rule in active):
            tree = _ast_or_none(text)
            if tree is not None:
                active = [r for r in active if not hasattr(r, "ast_prefilter") or r.ast_prefilter(tree, text, self.settings)]
        return active

    def _analyse(self, path: str, relpath: str, text: str, fix: bool, accept: Any, local: bool) -> FileResult:
        active = self.active_rules(text)
        facts = None
        collect = False
        if self.evidence:
            module, is_package = module_name(relpath)
            classes: Tuple[Any, ...] = ()
            exports: Tuple[Any, ...] = ()
            if _CLASS.search(text) or _IMPORT.search(text):  # classes, or re-exports of them
                tree = _ast_or_none(text)
                if tree is not None:
                    classes, exports = class_facts(tree, text, module, is_package)
            facts = ModuleFacts(module, is_package, classes, exports, path=path, relpath=relpath)
            collect = self.full or bool(self._evidence_trigger.search(text)) or module in self._sample_modules
        if not active and not collect:
            return FileResult((), facts=facts)
        problem = nesting_problem(text)
        if problem is not None:
            line, what = problem
            return FileResult((self._file_diagnostic(path, line, 1, "not analysed: %s" % what),), facts=facts)
        try:
            module_tree = cst.parse_module(text)
        except cst.ParserSyntaxError as exc:
            return FileResult((self._file_diagnostic(path, exc.raw_line, exc.raw_column + 1, "syntax error: %s" % _short(exc.message)),), facts=facts)
        ctx = FileContext(path, text, module_tree, self.settings, full=self.full)
        ctx.module_name, ctx.is_package = module_name(relpath)
        ignored = self.settings.ignored_for_path(relpath)
        lines = text.splitlines()
        reports = []
        for rule in active:
            if any(rule.CODE.startswith(prefix) for prefix in ignored):
                continue
            for report in rule.check(ctx):
                reports.append((rule, report))
        positions = ctx.positions([report.node for _rule, report in reports])
        findings = []
        fixes = []
        candidates: List[Tuple[Candidate, Any]] = []
        for rule, report in reports:
            line, column, end_line, end_column = positions[report.node]
            if _suppressed(lines, line, rule.CODE):
                continue
            if report.pending is not None:
                pending = report.pending
                candidate = Candidate(rule.CODE, pending.cls, pending.key, pending.label, line, column, end_line, end_column, report.fix is not None)
                candidates.append((candidate, report.fix))
                continue
            severity = self.settings.severity_for(rule.CODE, rule.SEVERITY)
            findings.append(
                Finding(path, line, column, end_line, end_column, rule.CODE, rule.NAME, report.message, severity, report.fix is not None)
            )
            if report.fix is not None:
                fixes.append(report.fix)
        if facts is not None:
            sites, reducers, picklers = collect_sites(ctx, facts.module, facts.is_package, self.settings.samples) if collect else ((), (), ())
            facts = facts._replace(sites=sites, reducers=reducers, picklers=picklers, candidates=tuple(c for c, _f in candidates))
        if fix and facts is not None and any(f is not None for _c, f in candidates):
            if local:
                chosen: Dict[str, Set[Candidate]] = {}
                decide([facts], self.settings, accepted=chosen)
                accept = chosen.get(relpath, set())
            fixes.extend(f for c, f in candidates if f is not None and c in (accept or ()))
        findings.sort(key=Finding.sort_key)
        fixed = None
        if fix and fixes:
            new_text = apply_fixes(module_tree, fixes)
            if new_text != text:
                fixed = new_text
                again = self._analyse(path, relpath, new_text, False, None, local)
                return again._replace(fixed=fixed)
        return FileResult(tuple(findings), fixed, facts=facts)

    def _file_diagnostic(self, path: str, line: int, column: int, message: str) -> Finding:
        return Finding(path, max(line, 1), max(column, 1), max(line, 1), max(column, 1), PARSE_ERROR.code, PARSE_ERROR.name, message, "error")


def _suppressed(lines: Sequence[str], line: int, code: str) -> bool:
    if not 1 <= line <= len(lines):
        return False
    text = lines[line - 1]
    if "noqa" not in text.lower():
        return False
    for match in _NOQA.finditer(text):
        codes = {c.strip().upper() for c in match.group(1).split(",")}
        if code in codes:
            return True
    return False


def _ast_or_none(text: str) -> Optional[ast.AST]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def _short(exc: Any) -> str:
    try:
        text = str(exc).strip().splitlines()
    except Exception:  # str() of an exception holding a deep node can itself recurse
        return type(exc).__name__
    return text[0][:300] if text else type(exc).__name__


def _caused_by_recursion(exc: BaseException, limit: int = 10000) -> bool:
    """Whether exc, or an exception it was raised while handling, is a RecursionError."""
    seen = 0
    while exc is not None and seen < limit:
        if isinstance(exc, RecursionError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
