"""What is said about an old release's data (a frozen generation): loads, fits, was refused.

Every text names the release and the interpreter that wrote the data, since
that is what users have on disk: ``data written by 1.2.0 on cpython3.8 ...``.
"""

from typing import Optional, Sequence, Tuple

from ..results import CORRUPT, INTEGRITY, SKIPPED, UNSAFE
from .messages import UPDATE_HINT, _indent

REFUSED = frozenset((INTEGRITY, UNSAFE, CORRUPT))


def written_by(version: str, producer: str) -> str:
    return "data written by %s on %s" % (version, producer)


def retire_hint(version: str) -> str:
    return ("if release %s's data need not load any more, retire that generation with "
            "`serialcompat prune-generation %s`" % (version, version))


def frozen_outcome(version: str, producer: str, status: str, kind: Optional[str], message: str,
                   fix: Optional[str]) -> Tuple[str, Optional[str]]:
    """Today's diagnosis of a frozen golden, naming its release; re-recording is no fix for it."""
    if status == SKIPPED:
        verb = "cannot be read here"
    elif kind in REFUSED:
        verb = "was refused"
    else:
        verb = "no longer loads"
    text = "%s %s: %s" % (written_by(version, producer), verb, message)
    if fix:
        fix = fix.replace("loads and equals the current object", "loads and fits today's classes")
    if fix and UPDATE_HINT in fix:
        fix = fix.replace(UPDATE_HINT, retire_hint(version))
    elif fix and "--serialcompat-update" in fix and kind in REFUSED:
        fix = ("A frozen golden is never re-recorded: restore it from version control (git "
               "checkout) or " + retire_hint(version) + ".")
    return text, fix


def lacks(path: str, version: str) -> str:
    return ("old data lacks %s (added after %s): objects loaded from %s data raise "
            "AttributeError on it; give it a class attribute default or set it in __setstate__"
            % (path, version, version))


def type_changed(path: str, old: str, new: str, version: str) -> str:
    return ("%s is %s in %s data but %s now: code written for today's type meets the old one; "
            "convert it in __setstate__" % (path, old, version, new))


def not_upgradable(version: str, producer: str, lacking: Sequence[str], types: Sequence[tuple]
                   ) -> Tuple[str, str]:
    lines = [lacks(path, version) for path in lacking]
    lines += [type_changed(path, old, new, version) for path, old, new in types]
    text = "%s loads, but does not fit today's classes:\n%s" % (
        written_by(version, producer), _indent(lines))
    fix = ("Keep old data working: defaults for new attributes, conversions in __setstate__; "
           "or " + retire_hint(version) + ".")
    return text, fix


def notes(left_behind: Sequence[str], values: Sequence[str], version: str) -> str:
    """Reported on a frozen golden that passes: attributes left behind, and (-v) value changes."""
    parts = []
    if left_behind:
        parts.append("left behind (in %s data, not in today's object; kept on loaded objects):\n%s"
                     % (version, _indent(left_behind)))
    if values:
        parts.append("values differ from today's sample (%s -> today):\n%s"
                     % (version, _indent(values)))
    return "\n".join(parts)
