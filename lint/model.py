"""Data model shared by every part of the linter: severities, findings, rule base class."""
import abc
import re
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

__all__ = [
    "SEVERITIES",
    "Finding",
    "Report",
    "Pending",
    "Invalid",
    "ProjectExample",
    "Rule",
    "PARSE_ERROR",
    "INTERNAL_ERROR",
]

#: Severity names, from most to least serious (the SARIF ``level`` values).
SEVERITIES = ("error", "warning", "note")


class Finding(NamedTuple):
    """One diagnostic at one place.  Lines are 1-based, columns 1-based (as editors show them)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    name: str
    message: str
    severity: str
    fixable: bool = False

    def to_dict(self) -> Dict[str, Any]:
        return dict(self._asdict())

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Finding":
        return cls(**{field: data[field] for field in cls._fields})

    def sort_key(self) -> Tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)


class Pending(NamedTuple):
    """A finding that depends on whether the class is pickled: decided once the project is known.

    The rule's ``decide(index, facts, candidate)`` turns it into a message (or drops it) after
    every file's evidence has been joined (see evidence.py and project.py).
    """

    cls: str  # __qualname__ of the class in its module
    key: str = ""  # the state key (mangled attribute name)
    label: str = ""  # what the attribute holds


class Report(NamedTuple):
    """What a rule yields: the node to blame, a message and, when safe, a fix."""

    node: Any
    message: str
    fix: Optional[Any] = None  # a fixes.Fix
    pending: Optional[Pending] = None


class Invalid(NamedTuple):
    """An INVALID example: source, the 1-based lines where the rule must fire, optional fixed source."""

    source: str
    lines: Tuple[int, ...]
    fixed: Optional[str] = None
    requires_python: Optional[str] = None


class ProjectExample(NamedTuple):
    """An example that needs several files (rule SC110): relative path -> text, expected finding count."""

    files: Dict[str, str]
    findings: int


class _Diagnostic(NamedTuple):
    code: str
    name: str
    summary: str


#: Pseudo-rules for files the linter could not analyse.  Not selectable away.
PARSE_ERROR = _Diagnostic("SC000", "unanalysable-file", "File could not be decoded or parsed, or nests too deeply.")
INTERNAL_ERROR = _Diagnostic("SC001", "internal-error", "The linter failed on this file; please report it.")


_CODE_RE = re.compile(r"^SC\d{3}$")


class Rule(abc.ABC):
    """Base class of every rule.

    A subclass sets CODE, NAME, SUMMARY, SEVERITY, its documentation as the class docstring
    (sections "## What it does", "## Why is this bad?", "## Example", "## Use instead"), VALID
    and INVALID examples, and TRIGGERS: words of which at least one must occur in a file's text
    for the rule to be able to fire there (the cheap, sound prefilter the engine applies before
    parsing).  ``check(ctx)`` yields Report objects.
    """

    CODE = ""
    NAME = ""
    SUMMARY = ""
    SEVERITY = "warning"
    DEFAULT_ENABLED = True
    TRIGGERS: Tuple[str, ...] = ()
    #: Optional regular expression (multiline) that must also match the text.
    TRIGGER_REQUIRES: Optional[str] = None
    #: Optional regular expression (multiline) that activates the rule like a trigger word, for
    #: what no import spells (``self.executor.submit(`` on an executor a base class set up).
    TRIGGER_ALSO: Optional[str] = None
    VALID: Sequence[Any] = ()
    INVALID: Sequence[Any] = ()
    #: Project-level rules run once per run over the whole project, not per file.
    PROJECT_RULE = False

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    @abc.abstractmethod
    def check(self, ctx: Any) -> Iterator[Report]:
        """Yield the reports of this rule for one file (``ctx`` holds the parsed module)."""

    @classmethod
    def triggers(cls, settings: Any) -> Tuple[str, ...]:
        """Trigger words; rules whose words depend on configuration override this."""
        return cls.TRIGGERS

    @classmethod
    def documentation(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def validate_definition(cls) -> List[str]:
        """Problems with the rule's own declaration (used by the test suite)."""
        problems = []
        if not _CODE_RE.match(cls.CODE):
            problems.append("bad code %r" % cls.CODE)
        if not re.match(r"^[a-z][a-z0-9-]+$", cls.NAME):
            problems.append("bad name %r" % cls.NAME)
        if cls.SEVERITY not in SEVERITIES:
            problems.append("bad severity %r" % cls.SEVERITY)
        doc = cls.documentation()
        for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
            if heading not in doc:
                problems.append("doc lacks %r" % heading)
        if not cls.VALID or not cls.INVALID:
            problems.append("needs VALID and INVALID examples")
        return problems


RuleFactory = Callable[[Any], Rule]
