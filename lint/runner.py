"""A whole run: discover files, answer from the cache, lint the rest in parallel, then decide the
evidence-dependent findings over every file's facts, then the project rules."""
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from .cache import DEFAULT_DIRECTORY, Cache
from .config import Settings
from .discovery import discover
from .engine import FileResult, Linter, call_with_deep_stack
from .evidence import ModuleFacts
from .model import Finding
from .project import decide, golden_entries, needs_evidence
from .rules import ALL_RULES

__all__ = ["RunResult", "run", "MIN_FILES_PER_WORKER"]

#: Below this many files per worker, starting processes costs more than it saves.
MIN_FILES_PER_WORKER = 8


class RunResult(NamedTuple):
    findings: List[Finding]
    fixed: Dict[str, Tuple[str, str]]  # path -> (old text, new text)
    files: int
    errors: List[str]  # usage problems (missing paths)
    internal_errors: int


_WORKER_LINTER: Optional[Linter] = None


def _init_worker(settings: Settings, full: bool) -> None:
    global _WORKER_LINTER
    _WORKER_LINTER = Linter(settings, full=full)


def _lint_batch(batch: List[Tuple[str, str, bytes, bool]]) -> List[FileResult]:
    assert _WORKER_LINTER is not None
    linter = _WORKER_LINTER
    return call_with_deep_stack(lambda: [linter.lint_bytes(p, r, d, fix=f, project=True) for p, r, d, f in batch])


def _display_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def run(
    paths: Sequence[str],
    settings: Settings,
    *,
    jobs: Optional[int] = None,
    use_cache: bool = True,
    cache_dir: Optional[str] = None,
    fix: bool = False,
    full: bool = False,
) -> RunResult:
    found = discover(paths, settings.root, settings.exclude)
    # Evidence is project-wide: with a project (a pyproject.toml at the root), the facts of the
    # project's other files count too, e.g. when pre-commit passes only the changed files.
    requested = set(found.files)
    context_files: List[str] = []
    if needs_evidence(settings) and os.path.isfile(os.path.join(settings.root, "pyproject.toml")):
        context_files = [f for f in discover([settings.root], settings.root, settings.exclude).files if f not in requested]
    cache = Cache(cache_dir or os.path.join(settings.root, DEFAULT_DIRECTORY), settings.fingerprint()) if use_cache and not full else None
    findings: List[Finding] = []
    fixed: Dict[str, Tuple[str, str]] = {}
    internal_errors = 0
    pending: List[Tuple[str, str, bytes, bool]] = []
    keys: Dict[str, str] = {}
    facts: List[ModuleFacts] = []
    context_paths: set = set()
    for absolute in found.files + context_files:
        path = _display_path(absolute)
        context = absolute not in requested
        if context:
            context_paths.add(path)
        relpath = os.path.relpath(absolute, settings.root).replace(os.sep, "/")
        try:
            with open(absolute, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            if context:
                continue
            findings.append(Finding(path, 1, 1, 1, 1, "SC000", "unanalysable-file", "cannot read the file: %s" % exc.strerror, "error"))
            continue
        if cache is not None:
            key = cache.key(relpath, data)
            cached = cache.get(key, path, relpath)
            if cached is not None:
                cached_findings, cached_facts = cached
                fixable = any(f.fixable for f in cached_findings) or (
                    cached_facts is not None and any(c.fixable for c in cached_facts.candidates))
                if context or not (fix and fixable):
                    if not context:
                        findings.extend(cached_findings)
                    if cached_facts is not None:
                        facts.append(cached_facts)
                    continue
            keys[path] = key
        pending.append((path, relpath, data, fix and not context))

    results = _lint_all(pending, settings, jobs, full)
    texts: Dict[str, Tuple[str, str]] = {}  # relpath -> (display path, current text), for --fix
    for (path, relpath, data, _fix), result in zip(pending, results):
        if path not in context_paths:
            findings.extend(result.findings)
        if result.facts is not None:
            facts.append(result.facts)
        if result.internal_error and path not in context_paths:
            internal_errors += 1
        if result.fixed is not None:
            fixed[path] = (data.decode("utf-8", "surrogateescape"), result.fixed)
        elif cache is not None and not result.internal_error and path in keys:
            cache.put(keys[path], list(result.findings), result.facts)
        if fix and path not in context_paths:
            texts[relpath] = (path, result.fixed if result.fixed is not None else data.decode("utf-8", "surrogateescape"))

    if facts and needs_evidence(settings):
        accepted: Dict[str, set] = {}
        decided = [f for f in decide(facts, settings, golden_entries(settings), accepted if fix else None) if f.path not in context_paths]
        if fix:
            decided = _fix_candidates(settings, full, texts, accepted, fixed, decided)
        findings.extend(decided)

    project = _project_findings(settings)
    internal_errors += sum(1 for f in project if f.code == "SC001")
    findings.extend(project)
    findings.sort(key=Finding.sort_key)
    return RunResult(findings, fixed, len(found.files), found.errors, internal_errors)


def _fix_candidates(settings: Settings, full: bool, texts: Dict[str, Tuple[str, str]], accepted: Dict[str, set], fixed: Dict[str, Tuple[str, str]], decided: List[Finding]) -> List[Finding]:
    """Apply the fixes of the evidence-dependent findings that were reported (a second, small pass)."""
    linter = Linter(settings, full=full)
    for relpath, chosen in sorted(accepted.items()):
        if relpath not in texts or not any(c.fixable for c in chosen):
            continue
        path, text = texts[relpath]
        result = call_with_deep_stack(linter.lint_text, path, relpath, text, True, True, chosen)
        if result.fixed is not None:
            original = fixed[path][0] if path in fixed else text
            fixed[path] = (original, result.fixed)
            decided = [f for f in decided if not (f.path == path and f.fixable)]
    return decided


def _lint_all(pending: List[Tuple[str, str, bytes, bool]], settings: Settings, jobs: Optional[int], full: bool) -> List[FileResult]:
    if not pending:
        return []
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    workers = max(1, min(workers, len(pending) // MIN_FILES_PER_WORKER))
    if workers == 1:
        _init_worker(settings, full)
        return _lint_batch(pending)
    # Largest files first, in small batches, so the workers finish together.
    order = sorted(range(len(pending)), key=lambda i: -len(pending[i][2]))
    batches = [[pending[i] for i in order[start:start + 4]] for start in range(0, len(order), 4)]
    results: List[Optional[FileResult]] = [None] * len(pending)
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(settings, full)) as executor:
        for batch_index, batch_results in enumerate(executor.map(_lint_batch, batches)):
            for offset, result in enumerate(batch_results):
                results[order[batch_index * 4 + offset]] = result
    return [r for r in results if r is not None]


def _project_findings(settings: Settings) -> List[Finding]:
    findings = []
    for cls in ALL_RULES:
        if not cls.PROJECT_RULE or not settings.enabled(cls.CODE, cls.DEFAULT_ENABLED):
            continue
        rule = cls(settings)
        severity = settings.severity_for(cls.CODE, cls.SEVERITY)
        try:
            for path, line, message in rule.check_project():
                findings.append(Finding(_display_path(path), line, 1, line, 1, cls.CODE, cls.NAME, message, severity))
        except RecursionError:
            pass  # a module too deep to read: its own file gets SC000
        except Exception as exc:
            findings.append(Finding(_display_path(settings.root), 1, 1, 1, 1, "SC001", "internal-error", "internal error in %s: %s: %s" % (cls.CODE, type(exc).__name__, exc), "error"))
    return findings
