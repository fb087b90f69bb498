"""Configuration: ``[tool.serialcompat.lint]`` in pyproject.toml, merged with command-line options.

Keys (all optional)::

    [tool.serialcompat.lint]
    select = ["SC1"]                 # codes or prefixes; default: every rule enabled by default
    extend-select = ["SC111"]        # added to the selection (e.g. the off-by-default note)
    ignore = ["SC105"]
    per-file-ignores = { "tests/*" = ["SC106"] }
    severity = { SC105 = "note" }    # error | warning | note
    resource-types = ["myapp.db.connect"]   # extra unpicklable resource constructors (SC102)
    version-fields = ["version", "schema_version"]
    exclude = ["generated/*"]        # globs, relative to the project root
    golden-store = "tests/__serialcompat__"
    requires-python = ">=3.8"        # default: [project] requires-python
    pickler = "cloudpickle"          # pickle | cloudpickle | dill; default: detected per file
    strict = false                   # true: SC101/SC102/SC105 fire without evidence of pickling

``[tool.serialcompat] samples`` (the plugin's declared samples) is read too: those objects are
recorded as goldens, which is evidence that their classes are pickled durably.

The project root is the directory of the pyproject.toml used.
"""
import fnmatch
import hashlib
import json
import os
import sys
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - exercised on older interpreters
    import tomli as _toml

from pytest_serialcompat.store import DEFAULT_DIR as STORE_DEFAULT_DIR

from .model import SEVERITIES

__all__ = ["ConfigError", "Settings", "load_settings", "find_pyproject", "oldest_python", "DEFAULT_VERSION_FIELDS"]

DEFAULT_VERSION_FIELDS = ("version", "schema_version")
DEFAULT_GOLDEN_STORE = STORE_DEFAULT_DIR  # the plugin's default store, one definition
_KEYS = (
    "select", "extend-select", "ignore", "per-file-ignores", "severity", "resource-types",
    "version-fields", "exclude", "golden-store", "requires-python", "pickler", "strict",
)
#: Values of ``pickler``: the standard library's by-reference pickler, or a by-value one.
PICKLERS = ("pickle", "cloudpickle", "dill")


class ConfigError(ValueError):
    """Invalid configuration or command-line selection (exit status 2)."""


class Settings(NamedTuple):
    root: str
    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    severity: Tuple[Tuple[str, str], ...] = ()
    resource_types: Tuple[str, ...] = ()
    version_fields: Tuple[str, ...] = DEFAULT_VERSION_FIELDS
    exclude: Tuple[str, ...] = ()
    golden_store: str = DEFAULT_GOLDEN_STORE
    requires_python: Optional[str] = None
    #: The pickler the project's pools, executors and reducers use (None: detect per file).
    pickler: Optional[str] = None
    #: Report evidence-dependent findings without evidence (the pre-evidence behaviour).
    strict: bool = False
    samples: Tuple[str, ...] = ()

    def by_value_pickler(self) -> bool:
        return self.pickler is not None and self.pickler != "pickle"

    # -- derived ----------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """Stable digest of everything that can change a file's findings (for the cache)."""
        data = self._asdict()
        data.pop("root")
        data.pop("exclude")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def enabled(self, code: str, default_enabled: bool) -> bool:
        if self.select is None:
            chosen = default_enabled
        else:
            chosen = any(code.startswith(prefix) for prefix in self.select)
        if any(code.startswith(prefix) for prefix in self.extend_select):
            chosen = True
        if any(code.startswith(prefix) for prefix in self.ignore):
            chosen = False
        return chosen

    def ignored_for_path(self, relpath: str) -> Tuple[str, ...]:
        codes: List[str] = []
        base = relpath.rsplit("/", 1)[-1]
        for pattern, pattern_codes in self.per_file_ignores:
            if fnmatch.fnmatchcase(relpath, pattern) or ("/" not in pattern and fnmatch.fnmatchcase(base, pattern)):
                codes.extend(pattern_codes)
        return tuple(codes)

    def severity_for(self, code: str, default: str) -> str:
        for key, level in self.severity:
            if key == code:
                return level
        return default

    def oldest_python(self) -> Optional[Tuple[int, int]]:
        if not self.requires_python:
            return None
        return oldest_python(self.requires_python)

    def with_cli(self, select: Optional[Sequence[str]], extend_select: Sequence[str], ignore: Sequence[str]) -> "Settings":
        settings = self
        if select is not None:
            settings = settings._replace(select=_codes(select, "--select"))
        if extend_select:
            settings = settings._replace(extend_select=settings.extend_select + _codes(extend_select, "--extend-select"))
        if ignore:
            settings = settings._replace(ignore=settings.ignore + _codes(ignore, "--ignore"))
        return settings


def oldest_python(requires: str) -> Optional[Tuple[int, int]]:
    """The oldest (major, minor) with a release matching ``requires`` (a PEP 440 specifier)."""
    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier as exc:
        raise ConfigError("invalid requires-python %r: %s" % (requires, exc)) from None
    candidates = [(2, 7)] + [(3, minor) for minor in range(0, 30)]
    for major, minor in candidates:
        if any(spec.contains(Version("%d.%d.%d" % (major, minor, patch))) for patch in range(0, 40)):
            return (major, minor)
    return None


def find_pyproject(start: str) -> Optional[str]:
    directory = os.path.abspath(start)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _codes(values: Iterable[Any], key: str) -> Tuple[str, ...]:
    result = []
    for value in values:
        if not isinstance(value, str):
            raise ConfigError("%s: expected rule codes, got %r" % (key, value))
        for part in value.split(","):
            part = part.strip().upper()
            if not part:
                continue
            if not (part.startswith("SC") and (len(part) == 2 or part[2:].isdigit())):
                raise ConfigError("%s: %r is not a rule code or prefix like SC1 or SC101" % (key, part))
            result.append(part)
    return tuple(result)


def _strings(value: Any, key: str) -> Tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("%s: expected a list of strings" % key)
    return tuple(value)


def load_settings(pyproject: Optional[str]) -> Settings:
    """Read the settings from ``pyproject`` (a path), or defaults rooted at the cwd when None."""
    if pyproject is None:
        return Settings(root=os.getcwd())
    try:
        with open(pyproject, "rb") as handle:
            document = _toml.load(handle)
    except OSError as exc:
        raise ConfigError("cannot read %s: %s" % (pyproject, exc)) from None
    except _toml.TOMLDecodeError as exc:
        raise ConfigError("%s is not valid TOML: %s" % (pyproject, exc)) from None
    root = os.path.dirname(os.path.abspath(pyproject))
    project = document.get("project", {})
    table = document.get("tool", {}).get("serialcompat", {}).get("lint", {})
    if not isinstance(table, dict):
        raise ConfigError("[tool.serialcompat.lint] must be a table")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError("unknown key(s) in [tool.serialcompat.lint]: %s" % ", ".join(unknown))
    values: Dict[str, Any] = {"root": root}
    if "select" in table:
        values["select"] = _codes(_strings(table["select"], "select"), "select")
    if "extend-select" in table:
        values["extend_select"] = _codes(_strings(table["extend-select"], "extend-select"), "extend-select")
    if "ignore" in table:
        values["ignore"] = _codes(_strings(table["ignore"], "ignore"), "ignore")
    if "per-file-ignores" in table:
        mapping = table["per-file-ignores"]
        if not isinstance(mapping, dict):
            raise ConfigError("per-file-ignores: expected a table of glob = [codes]")
        values["per_file_ignores"] = tuple(
            (pattern, _codes(_strings(codes, "per-file-ignores"), "per-file-ignores"))
            for pattern, codes in sorted(mapping.items())
        )
    if "severity" in table:
        mapping = table["severity"]
        if not isinstance(mapping, dict):
            raise ConfigError("severity: expected a table of CODE = level")
        pairs = []
        for code, level in sorted(mapping.items()):
            if level not in SEVERITIES:
                raise ConfigError("severity: %s = %r; expected one of %s" % (code, level, ", ".join(SEVERITIES)))
            pairs.append((_codes([code], "severity")[0], level))
        values["severity"] = tuple(pairs)
    if "resource-types" in table:
        values["resource_types"] = _strings(table["resource-types"], "resource-types")
    if "version-fields" in table:
        fields = _strings(table["version-fields"], "version-fields")
        if not fields:
            raise ConfigError("version-fields: needs at least one name")
        values["version_fields"] = fields
    if "exclude" in table:
        values["exclude"] = _strings(table["exclude"], "exclude")
    if "golden-store" in table:
        if not isinstance(table["golden-store"], str):
            raise ConfigError("golden-store: expected a path string")
        values["golden_store"] = table["golden-store"]
    if "pickler" in table:
        if table["pickler"] not in PICKLERS:
            raise ConfigError("pickler: %r; expected one of %s" % (table["pickler"], ", ".join(PICKLERS)))
        values["pickler"] = table["pickler"]
    if "strict" in table:
        if not isinstance(table["strict"], bool):
            raise ConfigError("strict: expected true or false")
        values["strict"] = table["strict"]
    samples = document.get("tool", {}).get("serialcompat", {}).get("samples", [])
    if isinstance(samples, str):
        samples = [samples]
    if isinstance(samples, list) and all(isinstance(s, str) for s in samples):
        values["samples"] = tuple(samples)  # malformed: the plugin reports it; the linter ignores it
    requires = table.get("requires-python", project.get("requires-python"))
    if requires is not None:
        if not isinstance(requires, str):
            raise ConfigError("requires-python: expected a string")
        oldest_python(requires)  # validate now: a usage error, not a per-file failure
        values["requires_python"] = requires
    return Settings(**values)
