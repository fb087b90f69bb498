"""Find the files to lint: walk directories, honour .gitignore, default and configured excludes.

Inside a git work tree the walk asks git (``git ls-files --cached --others --exclude-standard``),
which applies every .gitignore, .git/info/exclude and the user's global excludes exactly as git
does.  Outside git a small matcher implements the .gitignore syntax (``*``, ``?``, ``[...]``,
``**``, leading and inner ``/`` anchoring, trailing ``/`` for directories, ``!`` negation, last
match wins).  Files named explicitly are always linted, whatever a .gitignore says; only the
configured ``exclude`` applies to them.
"""
import fnmatch
import os
import re
import subprocess
from typing import Iterable, List, NamedTuple, Optional, Pattern, Sequence, Set, Tuple

__all__ = ["DEFAULT_EXCLUDES", "PYTHON_SUFFIXES", "GitIgnore", "discover", "Discovery"]

PYTHON_SUFFIXES = (".py", ".pyi")
DEFAULT_EXCLUDES = frozenset(
    (
        ".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".venv", "venv", "__pycache__", "node_modules",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", ".serialcompat-lint-cache",
        "build", "dist", ".eggs", "__pypackages__", "site-packages",
    )
)


class Discovery(NamedTuple):
    files: List[str]
    errors: List[str]


class _Pattern(NamedTuple):
    regex: Pattern[str]
    negated: bool
    directory_only: bool
    anchored: bool


def _glob_to_regex(glob: str) -> str:
    out = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.find("]", i + 2 if glob[i + 1:i + 2] in ("!", "^") else i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = glob[i + 1:end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[%s]" % body.replace("\\", "\\\\"))
                i = end
        elif char == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


class GitIgnore:
    """The patterns of one .gitignore file, relative to its directory."""

    def __init__(self, base: str, lines: Iterable[str]) -> None:
        self.base = base
        self.patterns: List[_Pattern] = []
        for raw in lines:
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip() or line.startswith("#"):
                continue
            if not line.endswith("\\ "):
                line = line.rstrip(" ")
            negated = line.startswith("!")
            if negated or line.startswith("\\!") or line.startswith("\\#"):
                line = line[1:]
            directory_only = line.endswith("/")
            line = line.rstrip("/")
            if not line:
                continue
            anchored = "/" in line
            line = line.lstrip("/")
            regex = re.compile("^%s$" % _glob_to_regex(line))
            self.patterns.append(_Pattern(regex, negated, directory_only, anchored))

    @classmethod
    def read(cls, directory: str) -> Optional["GitIgnore"]:
        path = os.path.join(directory, ".gitignore")
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return cls(directory, handle.readlines())
        except OSError:
            return None

    def match(self, path: str, is_dir: bool) -> Optional[bool]:
        """True ignored, False re-included, None no opinion (``path`` absolute)."""
        relative = os.path.relpath(path, self.base).replace(os.sep, "/")
        if relative.startswith("../"):
            return None
        name = relative.rsplit("/", 1)[-1]
        verdict = None
        for pattern in self.patterns:
            if pattern.directory_only and not is_dir:
                continue
            subject = relative if pattern.anchored else name
            if pattern.regex.match(subject):
                verdict = not pattern.negated
        return verdict


def _ignored(ignores: Sequence[GitIgnore], path: str, is_dir: bool) -> bool:
    verdict = False
    for ignore in ignores:
        answer = ignore.match(path, is_dir)
        if answer is not None:
            verdict = answer
    return verdict


def _excluded(relpath: str, patterns: Sequence[str]) -> bool:
    parts = relpath.split("/")
    for end in range(1, len(parts) + 1):
        prefix = "/".join(parts[:end])
        for pattern in patterns:
            if fnmatch.fnmatchcase(prefix, pattern) or fnmatch.fnmatchcase(parts[end - 1], pattern):
                return True
    return False


def _git_files(directory: str) -> Optional[List[str]]:
    try:
        inside = subprocess.run(
            ["git", "-C", directory, "rev-parse", "--is-inside-work-tree"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60,
        )
        if inside.returncode != 0 or inside.stdout.strip() != b"true":
            return None
        listed = subprocess.run(
            ["git", "-C", directory, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=300,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:
        return None
    names = listed.stdout.decode("utf-8", "surrogateescape").split("\0")
    return sorted({os.path.join(directory, name) for name in names if name})


def _walk(directory: str, root: str) -> List[str]:
    ignores: List[GitIgnore] = []
    # .gitignore files of the parents (up to the project root) apply to this directory too.
    parents = []
    current = os.path.abspath(directory)
    stop = os.path.abspath(root)
    while True:
        parent = os.path.dirname(current)
        if not (current + os.sep).startswith(stop + os.sep) or parent == current:
            break
        parents.append(parent)
        current = parent
    for parent in reversed(parents):
        found = GitIgnore.read(parent)
        if found is not None:
            ignores.append(found)
    files: List[str] = []

    def visit(path: str, inherited: List[GitIgnore]) -> None:
        local = GitIgnore.read(path)
        active = inherited + [local] if local is not None else inherited
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir and entry.name in DEFAULT_EXCLUDES:
                continue
            if _ignored(active, entry.path, is_dir):
                continue
            if is_dir:
                visit(entry.path, active)
            elif entry.name.endswith(PYTHON_SUFFIXES) and entry.is_file():
                files.append(entry.path)

    visit(os.path.abspath(directory), ignores)
    return files


def discover(paths: Sequence[str], root: str, exclude: Sequence[str] = (), use_git: bool = True) -> Discovery:
    """Python files under ``paths`` (explicit files always included unless ``exclude`` matches)."""
    seen: Set[str] = set()
    files: List[str] = []
    errors: List[str] = []
    root = os.path.abspath(root)

    def add(path: str) -> None:
        absolute = os.path.abspath(path)
        if absolute in seen:
            return
        relative = os.path.relpath(absolute, root).replace(os.sep, "/")
        if exclude and not relative.startswith("../") and _excluded(relative, exclude):
            return
        seen.add(absolute)
        files.append(absolute)

    for path in paths:
        if os.path.isfile(path):
            add(path)
        elif os.path.isdir(path):
            found = _git_files(path) if use_git else None
            if found is None:
                found = _walk(path, root)
            else:
                found = [
                    f for f in found
                    if f.endswith(PYTHON_SUFFIXES)
                    and os.path.isfile(f)
                    and not any(part in DEFAULT_EXCLUDES for part in os.path.relpath(f, path).split(os.sep)[:-1])
                ]
            for file in found:
                add(file)
        else:
            errors.append("%s: no such file or directory" % path)
    return Discovery(files, errors)
