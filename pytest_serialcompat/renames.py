"""``serialcompat_renames``: map the globals an old golden names to where they live now.

One rule per line, ``old = new``:

* ``myapp.models.User = myapp.accounts.User`` -- one class or function moved;
* ``myapp.models = myapp.accounts`` -- a whole module moved (every name in it,
  and its submodules);
* ``myapp.models:Outer.Inner = myapp.accounts:Inner`` -- a colon separates the
  module from a dotted qualname when the split is not obvious.

A rule naming a full path wins over a module rule.  Without a colon, the new
path keeps as many qualname segments as the name it replaces.
"""

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

Global = Tuple[str, str]  # (module, qualname)


class RenameError(ValueError):
    """A rule that cannot be parsed; the message names the line."""


class Rule(NamedTuple):
    old: str                    # dotted path (module, or module + qualname)
    old_split: Optional[Global]  # explicit colon form
    new: str
    new_split: Optional[Global]
    line: str


def _split(path: str) -> Tuple[str, Optional[Global]]:
    if ":" in path:
        module, _, qualname = path.partition(":")
        module, qualname = module.strip(), qualname.strip()
        if not module or not qualname:
            raise ValueError(path)
        return module + "." + qualname, (module, qualname)
    return path, None


def _valid(path: str) -> bool:
    return all(part.isidentifier() for part in path.split("."))


def parse_rules(lines: Sequence[str]) -> List[Rule]:
    rules = []
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        old, sep, new = line.partition("=")
        old, new = old.strip(), new.strip()
        try:
            if not sep or not old or not new:
                raise ValueError(line)
            old_path, old_split = _split(old)
            new_path, new_split = _split(new)
            if not (_valid(old_path) and _valid(new_path)):
                raise ValueError(line)
        except ValueError:
            raise RenameError(
                "serialcompat_renames: cannot parse %r (expected 'old.module.Name = new.module.Name')"
                % (raw,)
            ) from None
        rules.append(Rule(old_path, old_split, new_path, new_split, line))
    return rules


class Renames:
    """The parsed rules, applied to (module, qualname) pairs."""

    def __init__(self, rules: Sequence[Rule] = ()):
        self.rules = list(rules)
        self._exact: Dict[Global, Rule] = {}
        self._full: Dict[str, Rule] = {}
        self._modules: List[Rule] = []
        for rule in self.rules:
            if rule.old_split is not None:
                self._exact.setdefault(rule.old_split, rule)
            else:
                self._full.setdefault(rule.old, rule)
                self._modules.append(rule)
        # longest module prefix first
        self._modules.sort(key=lambda r: -len(r.old))

    def __bool__(self) -> bool:
        return bool(self.rules)

    @classmethod
    def from_lines(cls, lines: Sequence[str]) -> "Renames":
        return cls(parse_rules(lines))

    def apply(self, module: str, qualname: str) -> Global:
        """Where (module, qualname) lives now; unchanged when no rule applies."""
        rule = self._exact.get((module, qualname))
        if rule is None:
            rule = self._full.get(module + "." + qualname)
        if rule is not None:
            if rule.new_split is not None:
                return rule.new_split
            keep = qualname.count(".") + 1
            parts = rule.new.split(".")
            if len(parts) <= keep:
                return rule.new, qualname
            return ".".join(parts[:-keep]), ".".join(parts[-keep:])
        for rule in self._modules:
            if module == rule.old or module.startswith(rule.old + "."):
                return rule.new + module[len(rule.old):], qualname
        return module, qualname


def format_rule(old: Global, new: Global) -> str:
    """The ini line that maps ``old`` to ``new``."""

    def render(pair: Global) -> str:
        return "%s.%s" % pair

    if "." in old[1] or "." in new[1]:
        return "%s:%s = %s:%s" % (old + new)
    return "%s = %s" % (render(old), render(new))
