"""Command-line options and ini values, declared once and resolved into one PluginSettings value."""

import pickle
import re
from pathlib import Path
from typing import List, NamedTuple, Optional, Tuple

from .bounds import DEFAULT_LOAD_TIMEOUT, INI_LIMITS, Bounds
from .environment import ci_variable, parse_tag
from .renames import RenameError, Renames
from .store import DEFAULT_DIR, StoreError, generations
from .store.obtained import obtained_root

MIN_DEFAULT_PROTOCOL = 2
UPGRADE, STRICT = "upgrade", "strict"   # serialcompat_generations
DEFAULT_SPAWN_TIMEOUT = 60.0

# (flag, dest, help) -- all store_true except those in VALUE_OPTIONS
FLAG_OPTIONS = (
    ("--serialcompat", "serialcompat",
     "replay every stored golden this interpreter can read and compare it with the current object"),
    ("--serialcompat-update", "serialcompat_update",
     "record goldens for the running interpreter (new and changed ones) and print what was written"),
    ("--serialcompat-allow-update-in-ci", "serialcompat_allow_update_in_ci",
     "allow --serialcompat-update and --serialcompat-prune when a CI environment is detected"),
    ("--serialcompat-prune", "serialcompat_prune",
     "delete goldens that no test of the suite asks for (full runs only; lists them first and "
     "asks on a terminal; implies --serialcompat)"),
)
VALUE_OPTIONS = (
    ("--serialcompat-dir", "serialcompat_dir", "PATH",
     "golden store folder (default: ini serialcompat_dir, else %s)" % DEFAULT_DIR),
    ("--serialcompat-report", "serialcompat_report", "PATH",
     "write a JSON result file (for the cross-interpreter matrix)"),
)
# (name, type, default, help)
INI_OPTIONS = (
    ("serialcompat_dir", "string", DEFAULT_DIR, "golden store folder, relative to the rootdir"),
    ("serialcompat_renames", "linelist", [],
     "old.module.Name = new.module.Name, one per line: where old goldens' globals live now"),
    ("serialcompat_allow", "linelist", [],
     "what the safety gate accepts in goldens: library families (numpy pandas), module prefixes "
     "(their classes may be constructed, never called) and exact names (may be called)"),
    ("serialcompat_required_pythons", "linelist", [],
     "producer versions that must have goldens (e.g. 3.8 3.12); missing ones fail"),
    ("serialcompat_protocols", "linelist", [],
     "pickle protocols checked by default (e.g. '2 3 4 5' or '4-5'); default 2 to the highest"),
    ("serialcompat_spawn_timeout", "string", str(DEFAULT_SPAWN_TIMEOUT),
     "seconds check_spawn_safe waits for its spawn child"),
    ("serialcompat_project_version", "string", "",
     "the project version goldens are recorded as (default: [project] version of pyproject.toml, "
     "else the installed distribution's)"),
    ("serialcompat_keep_generations", "bool", True,
     "--serialcompat-update first freezes a golden recorded by another project version into "
     "that release's generation (false: rewrite it in place)"),
    ("serialcompat_generations", "string", UPGRADE,
     "how frozen generations are replayed: 'upgrade' (old data must load and fit today's "
     "classes) or 'strict' (equal to the current object, like the current generation)"),
    ("serialcompat_obtained_dir", "string", "",
     "where .obtained files go, relative to the rootdir (default: pytest's cache_dir, "
     "under serialcompat/obtained); never inside the golden store"),
    ("serialcompat_load_timeout", "string", str(DEFAULT_LOAD_TIMEOUT),
     "seconds the safety gate and the loader may spend on one pickle golden (0: no limit)"),
) + tuple((name, "string", str(Bounds().value(field)), "safety gate limit: " + what)
          for name, field, what in INI_LIMITS)


class SettingsError(Exception):
    """A bad option or ini value: reported as a pytest usage error."""


class PluginSettings(NamedTuple):
    replay: bool
    update: bool
    prune: bool
    store_dir: Path
    report_path: Optional[Path]
    renames: Renames
    allow: Tuple[str, ...]
    required_pythons: Tuple[str, ...]   # interpreter tags ("cpython3.8")
    protocols: Tuple[int, ...]
    spawn_timeout: float
    bounds: Bounds = Bounds()           # what one golden may cost (bounds.py)
    project_version: Optional[str] = None   # normalized (store.generations)
    keep_generations: bool = True
    generations: str = UPGRADE
    verbose: int = 0
    obtained_dir: Optional[Path] = None   # .obtained files (outside the store)

    @property
    def active(self) -> bool:
        return self.replay or self.update


def add_options(parser) -> None:
    group = parser.getgroup("serialcompat", "golden pickle / marshal / JSON snapshots")
    for flag, dest, help_text in FLAG_OPTIONS:
        group.addoption(flag, action="store_true", dest=dest, default=False, help=help_text)
    for flag, dest, metavar, help_text in VALUE_OPTIONS:
        group.addoption(flag, action="store", dest=dest, default=None, metavar=metavar,
                        help=help_text)
    for name, kind, default, help_text in INI_OPTIONS:
        parser.addini(name, help_text, type=kind, default=default)


def _words(lines: List[str]) -> List[str]:
    words = []
    for line in lines:
        words.extend(w for w in re.split(r"[\s,]+", line.split("#", 1)[0]) if w)
    return words


def parse_protocols(words: List[str], highest: int = pickle.HIGHEST_PROTOCOL) -> Tuple[int, ...]:
    if not words:
        return tuple(range(MIN_DEFAULT_PROTOCOL, highest + 1))
    found = set()
    for word in words:
        match = re.match(r"(\d+)(?:-(\d+))?\Z", word)
        if not match:
            raise SettingsError("serialcompat_protocols: %r is not a protocol or range" % word)
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if low > high:
            raise SettingsError("serialcompat_protocols: empty range %r" % word)
        found.update(range(low, high + 1))
    # protocols this interpreter cannot write are simply not recorded here
    return tuple(sorted(p for p in found if p <= highest))


def parse_required(words: List[str]) -> Tuple[str, ...]:
    tags = []
    for word in words:
        if re.match(r"\d+\.\d+\Z", word):
            word = "cpython" + word
        if parse_tag(word) is None:
            raise SettingsError(
                "serialcompat_required_pythons: %r is not a version (3.8) or tag (cpython3.8)" % word
            )
        tags.append(word)
    return tuple(tags)


def parse_bounds(config) -> Bounds:
    """The ``serialcompat_max_*`` limits and ``serialcompat_load_timeout``, checked."""
    values = dict(Bounds().values)
    for name, field, _ in INI_LIMITS:
        text = str(config.getini(name)).strip()
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise SettingsError("%s: %r is not a whole number" % (name, text)) from None
        if value < 1:
            raise SettingsError("%s: must be at least 1, got %d" % (name, value))
        values[field] = value
    text = str(config.getini("serialcompat_load_timeout")).strip()
    try:
        timeout = float(text)
    except ValueError:
        raise SettingsError("serialcompat_load_timeout: %r is not a number of seconds" % text) from None
    return Bounds(tuple(values.items()), timeout)


def resolve(config) -> PluginSettings:
    option = config.option
    update = bool(option.serialcompat_update)
    prune = bool(option.serialcompat_prune)
    replay = bool(option.serialcompat) or prune
    if (update or prune) and not option.serialcompat_allow_update_in_ci:
        ci = ci_variable()
        if ci is not None and update:
            raise SettingsError(
                "--serialcompat-update refused: CI environment detected (%s). Goldens are recorded "
                "locally and committed; pass --serialcompat-allow-update-in-ci to record anyway." % ci
            )
        if ci is not None:
            raise SettingsError(
                "--serialcompat-prune refused: CI environment detected (%s). Goldens are deleted "
                "locally, where the list can be read first, and the deletion committed; pass "
                "--serialcompat-allow-update-in-ci to prune anyway." % ci
            )
    rootpath = Path(str(config.rootpath))
    if option.serialcompat_dir:  # command line: relative to where pytest was started
        store_dir = Path(str(config.invocation_params.dir)) / option.serialcompat_dir
    else:  # ini: relative to the rootdir
        store_dir = rootpath / (config.getini("serialcompat_dir") or DEFAULT_DIR)
    report = option.serialcompat_report
    try:
        renames = Renames.from_lines(config.getini("serialcompat_renames"))
    except RenameError as exc:
        raise SettingsError(str(exc)) from None
    allow = tuple(_words(config.getini("serialcompat_allow")))
    for prefix in allow:
        if not all(part.isidentifier() for part in prefix.split(".")):
            raise SettingsError("serialcompat_allow: %r is not a module prefix" % prefix)
    timeout_text = config.getini("serialcompat_spawn_timeout")
    try:
        timeout = float(timeout_text)
    except ValueError:
        raise SettingsError("serialcompat_spawn_timeout: %r is not a number" % timeout_text) from None
    try:
        found = generations.project_version(
            rootpath, config.getini("serialcompat_project_version"))
    except StoreError as exc:
        raise SettingsError(str(exc)) from None
    mode = (config.getini("serialcompat_generations") or UPGRADE).strip().lower()
    if mode not in (UPGRADE, STRICT):
        raise SettingsError("serialcompat_generations: %r is not %r or %r" % (mode, UPGRADE, STRICT))
    return PluginSettings(
        bounds=parse_bounds(config),
        replay=replay,
        update=update,
        prune=prune,
        store_dir=store_dir,
        report_path=(Path(str(config.invocation_params.dir)) / report) if report else None,
        renames=renames,
        allow=allow,
        required_pythons=parse_required(_words(config.getini("serialcompat_required_pythons"))),
        protocols=parse_protocols(_words(config.getini("serialcompat_protocols"))),
        spawn_timeout=timeout,
        project_version=found.version if found else None,
        keep_generations=bool(config.getini("serialcompat_keep_generations")),
        generations=mode,
        verbose=int(getattr(option, "verbose", 0) or 0),
        obtained_dir=obtained_root(rootpath, config.getini("serialcompat_obtained_dir"),
                                   _cache_dir(config)),
    )


def _cache_dir(config) -> Optional[str]:
    """pytest's cache_dir ini value (None when the cacheprovider plugin is disabled)."""
    try:
        return config.getini("cache_dir") or None
    except (ValueError, KeyError):
        return None
