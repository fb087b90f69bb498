"""Per-file result cache keyed by file content, path, configuration and linter version.

An entry holds the file's findings and its evidence facts (``evidence.ModuleFacts``: classes,
sites, reducers, candidates), so that the project-wide decision of a warm run reads summaries
only and still follows changes in any other file.

One small JSON file per entry under ``<root>/.serialcompat-lint-cache/`` (which gets its own
``.gitignore``), so concurrent runs never corrupt each other (entries are written atomically)
and an unchanged tree re-lints by reading and hashing files only.
"""
import hashlib
import json
import os
import tempfile
from typing import Any, List, Optional, Tuple

from .evidence import ModuleFacts, facts_from_json, facts_to_json
from .model import Finding

__all__ = ["Cache", "linter_version", "DEFAULT_DIRECTORY"]

DEFAULT_DIRECTORY = ".serialcompat-lint-cache"
_LAYOUT = "2"
_VERSION: Optional[str] = None


def linter_version() -> str:
    """The package version plus a digest of the linter's own sources (so edits invalidate too)."""
    global _VERSION
    if _VERSION is None:
        from . import __version__

        digest = hashlib.sha256(__version__.encode())
        package = os.path.dirname(os.path.abspath(__file__))
        for directory, dirs, files in sorted(os.walk(package)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".py"):
                    with open(os.path.join(directory, name), "rb") as handle:
                        digest.update(name.encode() + b"\0" + handle.read())
        _VERSION = "%s+%s" % (__version__, digest.hexdigest()[:16])
    return _VERSION


class Cache:
    def __init__(self, directory: str, fingerprint: str) -> None:
        self.directory = directory
        self.prefix = ("%s\0%s\0%s\0" % (_LAYOUT, linter_version(), fingerprint)).encode()
        self._ready = False

    def key(self, relpath: str, data: bytes) -> str:
        digest = hashlib.sha256(self.prefix)
        digest.update(relpath.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key[2:] + ".json")

    def get(self, key: str, path: str, relpath: str = "") -> Optional[Tuple[List[Finding], Optional[ModuleFacts]]]:
        """The findings and evidence facts stored for ``key`` (None when absent or unreadable)."""
        try:
            with open(self._path(key), "rb") as handle:
                entry = json.loads(handle.read())
            findings = [Finding(path, *row) for row in entry["findings"]]
            facts = None if entry["facts"] is None else facts_from_json(entry["facts"], path, relpath)
            return findings, facts
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            return None

    def put(self, key: str, findings: List[Finding], facts: Optional[ModuleFacts] = None) -> None:
        target = self._path(key)
        try:
            if not self._ready:
                os.makedirs(self.directory, exist_ok=True)
                marker = os.path.join(self.directory, ".gitignore")
                if not os.path.exists(marker):
                    with open(marker, "w") as handle:
                        handle.write("# created by serialcompat-lint\n*\n")
                self._ready = True
            os.makedirs(os.path.dirname(target), exist_ok=True)
            entry: Any = {
                "findings": [list(f)[1:] for f in findings],
                "facts": None if facts is None else facts_to_json(facts),
            }
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")
            with os.fdopen(handle, "w") as stream:
                json.dump(entry, stream)
            os.replace(temporary, target)
        except OSError:
            pass  # a read-only tree just runs uncached
