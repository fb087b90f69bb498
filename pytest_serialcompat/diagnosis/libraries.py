"""Diagnoses at the library boundary: a golden holding a third-party library's data.

When a global of numpy, pandas or any other installed distribution no longer
imports, or loading raises inside library code, or the state of a library's
object differs, nothing in the project moved: the library's own pickles changed
between the version that recorded the golden and the one reading it.  The
diagnosis says which library, which versions, what is known about the break,
and the real options -- never a fix that edits an installed package or aliases
one of its functions to a class, and never a ``__setstate__`` to edit.

What is known is data (:data:`KNOWN_MODULE_MOVES`): numpy 2 moved ``numpy.core``
to ``numpy._core`` and pickles under the new name, which numpy 1 cannot read;
the standard library's ``zoneinfo`` (3.9+) and its ``backports.zoneinfo``
backport (3.8) pickle the same class under different module names.  pandas
reads pickles of older pandas versions, not of newer ones
(:data:`NO_FORWARD_COMPATIBILITY`).
"""

import importlib.util
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from packaging.version import InvalidVersion, Version

from .. import distributions
from ..distributions import VersionChange
from .moved_class import Missing

Global = Tuple[str, str]


class ModuleMove(NamedTuple):
    """A module path some versions pickle under and others do not have."""

    missing: str          # the module the golden names that does not import here
    here: str             # the module this environment has for the same objects
    library: str          # whose move it is
    explanation: str      # what happened, in the library's terms
    application: str      # the truth about an application reading this data here
    choices: Tuple[str, ...] = ()   # its own options (else: oldest version, pin, --optional)


KNOWN_MODULE_MOVES = (
    ModuleMove(
        "numpy._core", "numpy.core", "numpy",
        "numpy 2 moved numpy.core to numpy._core and pickles arrays under the new name",
        "numpy 1 cannot read numpy 2 pickles: an application with numpy 1 cannot load this "
        "data either, it needs numpy >= 2 wherever the data is read"),
    ModuleMove(
        "zoneinfo", "backports.zoneinfo", "backports.zoneinfo",
        "zoneinfo.ZoneInfo is the standard library's (Python 3.9+); this Python has its "
        "backport, backports.zoneinfo, which pickles the same zones under its own module name",
        "an application on this Python loads this data only with the same mapping (an "
        "Unpickler whose find_class maps zoneinfo to backports.zoneinfo)",
        ("map zoneinfo to backports.zoneinfo wherever this data is read on Python 3.8 (the "
         "application's Unpickler.find_class, and below for the test)",
         "leave this recorded-on/replayed-on pair out of your required cells "
         "(serialcompat matrix --optional {pair})")),
    ModuleMove(
        "backports.zoneinfo", "zoneinfo", "backports.zoneinfo",
        "backports.zoneinfo is the Python 3.8 backport of the standard library's zoneinfo, "
        "which this Python has instead: the same zones under another module name",
        "an application on this Python loads this data only with the same mapping (an "
        "Unpickler whose find_class maps backports.zoneinfo to zoneinfo), or with "
        "backports.zoneinfo installed",
        ("map backports.zoneinfo to zoneinfo wherever this data is read on Python 3.9+ (the "
         "application's Unpickler.find_class, and below for the test), or install "
         "backports.zoneinfo there",
         "leave this recorded-on/replayed-on pair out of your required cells "
         "(serialcompat matrix --optional {pair})")),
)


# libraries that promise to read pickles of their older versions, not of newer ones
NO_FORWARD_COMPATIBILITY = {
    "pandas": "pandas reads pickles written by older pandas versions, not by newer ones",
    "numpy": "numpy reads pickles written by older numpy versions, not always by newer ones",
}


MAX_NAMED = 4


class LibraryBreak(NamedTuple):
    message: str
    fix: str
    rules: List[str]        # serialcompat_renames lines that make the test load (may be empty)


def public_type_name(value) -> str:
    """``pandas.Series`` rather than ``pandas.core.series.Series`` when the library's top-level
    package exports the class under its name (as its users spell it)."""
    cls = type(value)
    module, qualname = getattr(cls, "__module__", "") or "", cls.__qualname__
    if module == "builtins":
        return qualname
    top = sys.modules.get(module.split(".", 1)[0])
    if top is not None and "." not in qualname and getattr(top, qualname, None) is cls:
        return "%s.%s" % (top.__name__, qualname)
    return "%s.%s" % (module, qualname)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def known_move(module: str) -> Optional[ModuleMove]:
    """The known move that explains ``module`` not importing here, if one does."""
    for move in KNOWN_MODULE_MOVES:
        if (module == move.missing or module.startswith(move.missing + ".")) \
                and _importable(move.here) and not _importable(move.missing):
            return move
    return None


def owner(module: str, own_packages: Sequence[str], recorded: Dict[str, str]) -> Optional[str]:
    """The library a module belongs to: installed here, or named by the recording."""
    move = known_move(module)
    if move is not None:
        return move.library
    library = distributions.library_of(module, own_packages)
    if library is not None:
        return library.name
    top = module.split(".", 1)[0]
    for name in recorded:
        if name.replace("-", "_").lower() == top.lower():
            return name   # not installed here at all
    return None


def _versions(library: str, recorded: Dict[str, str]) -> str:
    old, new = recorded.get(library, ""), distributions.installed_version(library)
    if old and new and not distributions.same_version(old, new):
        return "recorded with %s %s, read here with %s %s" % (library, old, library, new)
    if old and not new:
        return "recorded with %s %s, not installed here" % (library, old)
    if new:
        return "%s %s here%s" % (library, new, " (the recording's version too)" if old else "")
    return "%s is not installed here" % library


def _version_of_tag(tag: str) -> str:
    return tag.replace("cpython", "") if tag else "*"


def optional_pair(producer: str, replayer: str = "") -> str:
    """The --optional value that leaves this recorded-on/replayed-on cell out."""
    return "%s:%s" % (_version_of_tag(producer), _version_of_tag(replayer))


def options(producer: str, library: str, pin: str = "", replayer: str = "") -> List[str]:
    """The real options for a golden another library version cannot read."""
    return [
        "record such goldens on the oldest %s version you support (newer versions read "
        "older pickles)" % library,
        "pin %s wherever this data is read%s" % (library, " (%s)" % pin if pin else ""),
        "leave this recorded-on/replayed-on pair out of your required cells "
        "(serialcompat matrix --optional %s)" % optional_pair(producer, replayer),
    ]


def _fix(choices: List[str], rules: List[str], verified: Optional[bool]) -> str:
    lines = ["This is the library's data format, not your code (do not edit the installed "
             "package). Options:"]
    lines.extend("  * " + choice for choice in choices)
    if rules:
        lines.append("  * for the test only (not the application), map the old path in your "
                     "pytest configuration (ini option serialcompat_renames):")
        lines.extend("      " + rule for rule in rules)
        if verified is True:
            lines.append("Verified: with this mapping the golden loads and equals the current "
                         "object.")
        elif verified is False:
            lines.append("With this mapping the golden imports but does not load equal.")
    return "\n".join(lines)


def missing_globals(missing: Sequence[Missing], own_packages: Sequence[str],
                    recorded: Dict[str, str], producer: str,
                    verify=None, replayer: str = "") -> Optional[LibraryBreak]:
    """The diagnosis of globals that do not import here, when every one is a library's.

    ``verify(rules)`` tries the mapping rules on the golden (True: loads equal).
    None when some missing global is the project's (the moved-class search is
    for those).
    """
    owners = [owner(item.name[0], own_packages, recorded) for item in missing]
    if not missing or any(o is None for o in owners):
        return None
    lines, rules, choices, pins = [], [], [], []
    by_module: Dict[Tuple[str, str], List[Missing]] = {}
    for item, library in zip(missing, owners):
        by_module.setdefault((item.name[0], library), []).append(item)
    for (module, library), items in by_module.items():
        names = ", ".join("%s.%s" % item.name for item in items[:MAX_NAMED])
        lines.append("The golden names %s, which %s not import here (%s): %s %s's, %s."
                     % (names, "does" if len(items) == 1 else "do", items[0].error,
                        "it is" if len(items) == 1 else "they are", library,
                        _versions(library, recorded)))
        move = known_move(module)
        if move is not None:
            lines.append("%s; %s." % (move.explanation, move.application))
            rule = "%s = %s" % (move.missing, move.here)   # a whole-module rule
            if rule not in rules:
                rules.append(rule)
            if library == "numpy":
                pins.append("numpy>=2")
            for choice in move.choices:
                choice = choice.replace("{pair}", optional_pair(producer, replayer))
                if choice not in choices:
                    choices.append(choice)
        elif library in NO_FORWARD_COMPATIBILITY:
            lines.append(NO_FORWARD_COMPATIBILITY[library] + ".")
    libraries = sorted(set(owners))
    lines.append("Nothing in the project moved.")
    for library in libraries if not choices else ():
        for choice in options(producer, library, ", ".join(p for p in pins if p.startswith(
                library)), replayer):
            if choice not in choices:
                choices.append(choice)
    verified = verify(rules) if (rules and verify is not None) else None
    return LibraryBreak("\n".join(_dedupe(lines)), _fix(choices, rules, verified), rules)


def _dedupe(lines: List[str]) -> List[str]:
    seen, out = set(), []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out


def library_frame(exc: BaseException, own_packages: Sequence[str]) -> Optional[Tuple[str, str]]:
    """(library, "module.function") of the innermost traceback frame in library code."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        library = distributions.library_of(module, own_packages) if module else None
        if library is not None and not module.startswith("pytest_serialcompat"):
            found = (library.name, "%s.%s" % (module, tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    return found


def load_error(error: str, exc: BaseException, golden_type: str, named: Sequence[Global],
               own_packages: Sequence[str], recorded: Dict[str, str], producer: str,
               replayer: str = "") -> Optional[Tuple[str, str]]:
    """A load error raised inside library code, or of a golden of a library's class."""
    frame = library_frame(exc, own_packages)
    type_library = owner(golden_type, own_packages, recorded) if golden_type else None
    library = frame[0] if frame else type_library
    if library is None:
        return None
    classes = [("%s.%s" % g) for g in named if owner(g[0], own_packages, recorded) == library]
    what = golden_type if type_library == library else ", ".join(classes[:MAX_NAMED])
    lines = ["Loading the golden raised %s%s, in %s's code: the golden holds %s data (%s), %s."
             % (error, " in %s" % frame[1] if frame else "", library, library, what,
                _versions(library, recorded))]
    if library in NO_FORWARD_COMPATIBILITY:
        lines.append(NO_FORWARD_COMPATIBILITY[library] + ".")
    lines.append("Nothing in the project's classes is involved.")
    return "\n".join(lines), _fix(options(producer, library, replayer=replayer), [], None)


def state_changed(golden_type: str, own_packages: Sequence[str], recorded: Dict[str, str],
                  producer: str, changes: Sequence[VersionChange], replayer: str = ""
                  ) -> Optional[Tuple[str, str]]:
    """A state difference inside a library's object, summarised at its boundary."""
    library = owner(golden_type, own_packages, recorded) if golden_type else None
    if library is None:
        return None
    change = next((c for c in changes if c.name == library), None)
    if change is not None and change.current:
        between = "between %s %s and %s" % ((library,) + tuple(sorted(
            (change.recorded, change.current), key=_version_key)))
    else:
        between = "(%s)" % _versions(library, recorded)
    message = ("%s: its pickled state changed %s; the golden loads, but not as the same %s "
               "object. Those are %s's private internals, not the project's."
               % (golden_type, between, golden_type, library))
    return message, _fix(options(producer, library, replayer=replayer), [], None)


def _version_key(version: str):
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)
