"""Turn what went wrong with a golden into one readable diagnosis, with a fix when one is known.

Each builder returns ``(message, fix)``; replay decides *when* a diagnosis
applies, this module decides *what it says*.
"""

import re
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from .. import project
from ..renames import format_rule
from ..results import diagnosis_title
from .moved_class import Missing, Suggestion, imports_module, is_stdlib_module

Global = Tuple[str, str]

MAX_CHANGES = 25
_ATTRIBUTE_PATH = re.compile(r"^(?P<parent>.*)\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)\Z")
ATTRIBUTE_KINDS = ("added", "removed")

UPDATE_HINT = ("if the change is intended, re-record with `pytest --serialcompat-update` under "
               "each Python that recorded a failing golden (its file name prefix, e.g. cpython3.8)")


def _indent(lines: Sequence[str], prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in lines)


# ---------------------------------------------------------------- (a) moved


def moved(missing: Sequence[Missing], suggestions: Sequence[Optional[Suggestion]],
          rootdir: Path, verified: Optional[bool], producer: str = "") -> Tuple[str, Optional[str]]:
    lines, fixes, rules = [], [], []
    stdlib = [item for item in missing if is_stdlib_module(item.name[0])]
    if stdlib and len(stdlib) == len(missing):
        # Not the project's refactor: a newer Python pickled a standard-library
        # object by a module path older Pythons do not have (3.13's pathlib._local).
        for item in stdlib:
            lines.append("The golden names %s.%s, which does not import here (%s)."
                         % (item.name + (item.error,)))
        lines.append("That is a standard-library path of %s, the Python that recorded the golden; "
                     "this Python's standard library has no such name, so no fix in the project "
                     "makes it load here." % (producer or "another Python"))
        fix = ("Record goldens of such objects on the oldest Python you support (newer Pythons "
               "still read them), or leave this recorded-on/replayed-on pair out of your "
               "required cells (serialcompat matrix --optional RECORDED:REPLAYED).")
        return "\n".join(lines), fix
    for item, suggestion in zip(missing, suggestions):
        lines.append("The golden names %s.%s, which no longer imports (%s)."
                     % (item.name + (item.error,)))
        if suggestion is None:
            lines.append("No class or function named %r was found in the project."
                         % item.name[1].rsplit(".", 1)[-1])
            continue
        lines.append("Found %s.%s at %s." % (suggestion.new + (suggestion.where,)))
        old_module, old_qualname = item.name
        new_module, new_qualname = suggestion.new
        target = project.module_source_path(rootdir, old_module)
        where = project.relative(target, rootdir) if target else old_module.replace(".", "/") + ".py"
        action = "create" if item.module_missing else "add to"
        local = old_qualname.split(".", 1)[0]
        if target is None or not project.in_package(rootdir, target):
            reexport = None  # the gate never imports a top-level script: a re-export there is no fix
        elif "." in old_qualname or "." in new_qualname:
            reexport = None  # a nested class cannot be re-exported by one import line
        elif imports_module(suggestion.source, old_module):
            # the new module imports the old one: a plain import would be a cycle
            reexport = "\n      ".join([
                "def __getattr__(name):  # old goldens name %s.%s" % (old_module, old_qualname),
                "    if name == %r:" % local,
                "        from %s import %s" % (new_module, new_qualname),
                "        return %s" % new_qualname,
                "    raise AttributeError(name)",
            ])
            action += " the end of" if action == "add to" else ""
        elif new_qualname == old_qualname:
            reexport = "from %s import %s  # old goldens name %s.%s" % (
                new_module, new_qualname, old_module, old_qualname)
        else:
            reexport = "from %s import %s as %s  # old goldens name %s.%s" % (
                new_module, new_qualname, local, old_module, old_qualname)
        if reexport:
            fixes.append("re-export it at the old path (%s %s):\n      %s" % (action, where, reexport))
        rules.append(format_rule(item.name, suggestion.new))
    fix = None
    if rules:
        fixes.append("or map the old path in your pytest configuration (ini option "
                     "serialcompat_renames):\n" + "\n".join("      " + r for r in rules))
        fix = "Fix, either:\n" + "\n".join("  * " + f for f in fixes)
        if verified is True:
            fix += "\nVerified: with this mapping the golden loads and equals the current object."
        elif verified is False:
            fix += ("\nWith this mapping the golden imports but does not load equal: "
                    "the state changed as well.")
    return "\n".join(lines), fix


# ------------------------------------------------------ (b) state changed


def attribute_changes(changes) -> List:
    """The structural changes that add, remove or rename an attribute of some object."""
    return [c for c in changes if c.kind in ATTRIBUTE_KINDS and _ATTRIBUTE_PATH.match(c.path)]


def describe_changes(changes, limit: int = MAX_CHANGES) -> List[str]:
    """Readable lines, pairing a removed and an added attribute of equal value as a rename."""
    lines = []
    removed = {}
    for change in changes:
        if change.kind == "removed":
            match = _ATTRIBUTE_PATH.match(change.path)
            if match:
                removed.setdefault((match.group("parent"), change.old), []).append(change)
    renamed = set()
    pairs = {}
    for change in changes:
        if change.kind == "added":
            match = _ATTRIBUTE_PATH.match(change.path)
            if match:
                candidates = removed.get((match.group("parent"), change.new))
                if candidates:
                    old = candidates.pop(0)
                    renamed.add(id(old))
                    renamed.add(id(change))
                    pairs[id(change)] = old
    for change in changes:
        if id(change) in renamed and id(change) not in pairs:
            continue
        if id(change) in pairs:
            old = pairs[id(change)]
            lines.append("%s -> %s: renamed (value %s)" % (old.path, change.path, change.new))
        elif change.kind == "removed":
            lines.append("%s: removed (the golden has %s; the current object has no such attribute)"
                         % (change.path, change.old))
        elif change.kind == "added":
            lines.append("%s: added (%s; the golden has no such attribute)" % (change.path, change.new))
        elif change.kind == "class_changed":
            lines.append("%s: class %s (golden) -> %s (current)" % (change.path, change.old, change.new))
        elif change.kind == "type_changed":
            lines.append("%s: type %s (golden) -> %s (current)" % (change.path, change.old, change.new))
        else:
            lines.append("%s: %s (golden) -> %s (current)" % (change.path, change.old, change.new))
        if len(lines) >= limit:
            lines.append("... (more changes not shown)")
            break
    return lines


def state_changed(lines: Sequence[str], load_error: Optional[str], interpreter: str
                  ) -> Tuple[str, Optional[str]]:
    text = ["The stored state no longer matches the current object's (golden -> current):",
            _indent(lines)]
    if load_error:
        text.append("Loading the golden raised %s." % load_error)
    fix = ("keep old data loading: give new attributes a default and drop or convert old ones in "
           "__setstate__ (or a versioned __getstate__); " + UPDATE_HINT)
    return "\n".join(text), fix[0].upper() + fix[1:] + "."


def json_key_changes(old, new, path: str = "$", limit: int = MAX_CHANGES) -> List[str]:
    """Keys present in only one of two JSON values, by JSON path."""
    lines: List[str] = []
    stack = [(old, new, path)]
    while stack and len(lines) < limit:
        a, b, where = stack.pop(0)
        if isinstance(a, dict) and isinstance(b, dict):
            for key in a:
                if key not in b:
                    lines.append("%s.%s: removed (the golden has it, the current encoding does not)"
                                 % (where, key))
            for key in b:
                if key not in a:
                    lines.append("%s.%s: added (the golden lacks it)" % (where, key))
            stack.extend((a[k], b[k], "%s.%s" % (where, k)) for k in a if k in b)
        elif isinstance(a, list) and isinstance(b, list) and a and b:
            stack.append((a[0], b[0], where + "[0]"))
    return lines


# ------------------------------------------------------------ (c) not equal


def not_equal(diff_lines: Sequence[str], detail: Optional[str], interpreter: str
              ) -> Tuple[str, Optional[str]]:
    text = ["The golden loads but is not equal to the current object%s:"
            % (" (%s)" % detail if detail else "")]
    if diff_lines:
        text.append(_indent(diff_lines))
    return "\n".join(text), UPDATE_HINT[0].upper() + UPDATE_HINT[1:] + "."


def not_recorded(diff_lines: Sequence[str], detail: Optional[str]) -> Tuple[str, Optional[str]]:
    """Recording's self-check: the bytes about to be written do not load back as the object."""
    text = ["Not recorded: the bytes about to be written do not load back as the same object%s, "
            "so this golden would never replay equal (golden -> current):"
            % (" (%s)" % detail if detail else "")]
    if diff_lines:
        text.append(_indent(diff_lines))
    return "\n".join(text), ("Make the pickle keep that state (fix __reduce__, __getstate__ or "
                             "__setstate__), or pass compare= (or register a comparator) to say "
                             "what counts as the same.")


# -------------------------------------------------------- (d), (e), (f)


def unreadable_protocol(fmt: str, protocol: int, producer: str, highest: int) -> str:
    kind = "pickle protocol" if fmt == "pickle" else "marshal version"
    return "%s %d (recorded by %s) is newer than this interpreter can read (highest %d)" % (
        kind, protocol, producer, highest)


def unpicklable(problem: str, fmt: str) -> Tuple[str, Optional[str]]:
    message = "The current object %s." % problem
    if fmt == "json":
        fix = "Make the codec handle that value, or check with formats= that excludes 'json'."
    else:
        fix = ("Keep that attribute out of the serialized state (__getstate__/__reduce__, or "
               "recreate it in __setstate__), or make it serializable.")
    return message, fix


def foreign_code(producer: str, producer_magic: Optional[int], current: str, current_magic: int,
                 description: Optional[str]) -> str:
    return ("marshal golden holds a code object%s from %s (magic number %s); this interpreter, "
            "%s, uses magic number %d and can only read code objects of its own version" % (
                " (%s)" % description if description else "", producer,
                producer_magic if producer_magic is not None else "unknown",
                current, current_magic))


# ------------------------------------------------------- refusal & integrity


def unsafe(refusals, scripts=frozenset()) -> Tuple[str, Optional[str]]:
    """The refusal, one line per global, and a Fix that never advises allowing a refused call.

    Only a refused *construction* (or mere naming) of a class, or a curated library
    reconstructor whose family is off, gets a ``serialcompat_allow`` suggestion: the
    family name, or the exact class.  A refused call says what it would run.
    """
    from ..reference.allowlist import NOT_LISTED, family_entry, grantable, is_denied

    lines = ["Refused by the safety gate; the golden was NOT loaded:"]
    order: List[str] = []
    by_name: Dict[str, list] = {}
    for refusal in refusals:
        if refusal.name not in by_name:
            order.append(refusal.name)
            by_name[refusal.name] = []
        by_name[refusal.name].append(refusal)
    calls, denied, identity, hooks, other, allow, never, in_scripts = [], [], [], [], [], [], [], []
    for name in order:
        group_ = by_name[name]
        reasons = []
        for refusal in group_:
            reason = refusal.reason
            if reason.startswith(name + ": "):
                reason = reason[len(name) + 2:]
            if reason not in reasons:
                reasons.append(reason)
        lines.append("  %s: %s" % (name, "; ".join(reasons)))
        first = group_[0]
        if not first.qualname:
            other.append(name)
            continue
        global_ = first.renamed_to or (first.module, first.qualname)
        uses = {r.use for r in group_ if r.use}
        if is_denied(*global_):
            denied.append(name)
        elif any(r.kind == "identity" for r in group_):
            identity.append(name)
        elif any(r.kind == "hook" for r in group_):
            found = re.search(r" runs (\S+)\.(__new__|__setstate__),", first.reason)
            hooks.append(found.groups() if found else (name, "__setstate__"))
        elif first.renamed_to is not None:
            other.append(name)
        else:
            owned = family_entry(*global_)
            curated_call = owned is not None and owned[1].use == "call"
            if owned is not None and any("not enabled: " in r.reason for r in group_) \
                    and (curated_call or "call" not in uses):
                allow.append(owned[0])  # a curated reconstructor or class of a family that is off
            elif "call" in uses and not curated_call:
                calls.append(name)
            elif owned is None and any(NOT_LISTED in r.reason for r in group_):
                if global_[0].split(".", 1)[0] in scripts:
                    in_scripts.append(name)  # a top-level script's: the gate never imports one
                elif grantable(*global_):
                    allow.append(name)  # a class the golden only constructs or names: that exact class
                else:
                    never.append(name)  # a special attribute walk (object.__subclasses__): no word grants it
            else:
                other.append(name)      # a curated entry in a shape its library never writes, a guard
    hostile = "If you did not record this golden, treat it as hostile and delete it."
    fix = []
    if calls:
        fix.append("The golden calls %s: not %s." % (
            ", ".join(calls), "a data reconstructor" if len(calls) == 1 else "data reconstructors"))
    for name in identity:
        fix.append("%s is not what its name says (a re-export); no setting allows that." % name)
    if any(r.kind == "extension" for r in refusals):
        fix.append("An extension code names a global only through copyreg's registry of the loading "
                   "process; this one is not registered here, and no setting allows an unknown code.")
    if never:
        fix.append("%s walk%s through a special attribute or a denied module; no setting allows that."
                   % (", ".join(never), "s" if len(never) == 1 else ""))
    if in_scripts:
        fix.append("%s %s in a top-level script of the project, which the gate never imports (importing "
                   "it runs it); no setting allows that: move the class into a package."
                   % (", ".join(in_scripts), "is" if len(in_scripts) == 1 else "are"))
    for owner, hook in hooks:
        fix.append("%s.%s is not the project's deserializer; allow %s by exact name only if you trust it with "
                   "untrusted state." % (owner, hook, owner))
    if denied:
        fix.append("Denied globals can never be allowed.")
    from ..bounds import ini_of

    limits = []
    for refusal in refusals:
        ini = ini_of(refusal.reason)
        if ini is not None and ini not in limits:
            limits.append(ini)
    if limits:
        fix.append("If you recorded this golden and its data is legitimately this big, raise %s in your "
                   "pytest configuration." % " / ".join(limits))
    if allow and not (calls or identity or hooks or denied or other or never or in_scripts):
        words = []
        for word in allow:
            if word not in words:
                words.append(word)
        fix.append("If you recorded this golden and these are legitimately part of your data, allow them "
                   "with the ini option serialcompat_allow = %s (a library family, or an exact class)."
                   % " ".join(words))
    fix.append(hostile)
    return "\n".join(lines), " ".join(fix)


def over_limit(problem: str, ini: str, bounds) -> Tuple[str, Optional[str]]:
    """A golden past one of the gate's cost bounds: refused before it is loaded."""
    from ..bounds import INI_LIMITS

    field = next(f for name, f, _ in INI_LIMITS if name == ini)
    return ("Refused by the safety gate; the golden was NOT loaded:\n  %s (%s = %d)."
            % (problem, ini, bounds.value(field)),
            "If you recorded this golden and it is legitimately this big, raise %s in your pytest "
            "configuration. If you did not record this golden, treat it as hostile and delete it." % ini)


def timed_out(exc, loaded: bool) -> Tuple[str, Optional[str]]:
    """A golden that ran past serialcompat_load_timeout: stopped, not passed."""
    return ("%s; it was stopped%s." % (exc, "" if loaded else " before it was loaded"),
            "If you recorded this golden and it is legitimately this slow to load, raise "
            "serialcompat_load_timeout (seconds; 0 turns the budget off). If you did not record this "
            "golden, treat it as hostile and delete it.")


def integrity(problem: str, producer: str) -> Tuple[str, Optional[str]]:
    return ("%s; the golden was NOT loaded." % problem,
            "Re-record it with `pytest --serialcompat-update` on %s, or delete it." % producer)


# ----------------------------------------------------------- presentation


class Problem(NamedTuple):
    diagnosis: str
    message: str
    fix: Optional[str]
    files: List[str]


def group(results) -> List[Problem]:
    """Failures with the same diagnosis and text, merged so each is shown once."""
    grouped: Dict[tuple, Problem] = {}
    for result in results:
        key = (result.diagnosis, result.message, result.fix)
        if key not in grouped:
            grouped[key] = Problem(result.diagnosis, result.message, result.fix, [])
        grouped[key].files.append(result.file)
    return list(grouped.values())


def render(problem: Problem, max_files: int = 6) -> str:
    files = problem.files
    shown = ", ".join(files[:max_files]) + (" (+%d more)" % (len(files) - max_files)
                                            if len(files) > max_files else "")
    parts = ["%s -- %s" % (diagnosis_title(problem.diagnosis), shown), _indent(
        problem.message.splitlines())]
    if problem.fix:
        parts.append(_indent(problem.fix.splitlines()))
    return "\n".join(parts)


# ---------------------------------------------------------------- one check's outcome


def no_golden(fmt: str, name: str, where: str) -> Tuple[str, str]:
    return ("No %s golden is recorded for %r (looked in %s)." % (fmt, name, where),
            "Record it with `pytest --serialcompat-update` and commit the new files.")


def no_required_golden(fmt: str, name: str, required: str) -> Tuple[str, str]:
    return ("serialcompat_required_pythons lists %s, but %r has no %s golden recorded by it."
            % (required, name, fmt),
            "Run `pytest --serialcompat-update` under %s and commit the new files." % required)


def failed_check(name: str, failed: int, checked: int, store_root, problems: Sequence[Problem],
                 obtained: Sequence[str], max_obtained: int = 6) -> str:
    """The failure text of one check() call: a header, each problem, the .obtained files."""
    header = "serialcompat: %d of %d golden checks failed for %r (store: %s)" % (
        failed, checked, name, store_root)
    body = "\n\n".join(render(p) for p in problems)
    tail = ""
    if obtained:
        more = len(obtained) - max_obtained
        tail = "\n\nObtained bytes written for inspection (outside the store): %s%s" % (
            ", ".join(obtained[:max_obtained]), " (+%d more)" % more if more > 0 else "")
    return "%s\n\n%s%s" % (header, body, tail)


def skipped_check(name: str, reasons: Sequence[str]) -> str:
    return "serialcompat: every golden of %r was skipped: %s" % (name, "; ".join(reasons))
