"""A cheap scan that refuses sources nesting deeper than libcst's native parser survives.

libcst's parser crashes the whole process (stack overflow) or runs for minutes on sources such as
3,000 nested brackets or a 10,000-term chain of ``and``/``.attr``/``[0]``.  CPython itself refuses
most of those ("too many nested parentheses", "too complex"), but not all, and its limits differ by
version.  So before parsing, this module estimates the parse-tree depth of every statement with a
regular-expression tokenizer: open brackets and operators that nest (binary and unary operators,
``not``/``and``/``or``, ``lambda``, ``if``/``else``, attribute access, calls and subscripts) count
up, a comma or a statement end resets the count of its bracket level.  The estimate bounds the depth
of the operator chains libcst builds.  (Long implicit string concatenations also nest, but libcst
rejects those with a ParserSyntaxError instead of crashing, and deep trees are handled by the
engine, which analyses on a large stack.)
"""
import re
from typing import Optional, Tuple

__all__ = ["MAX_DEPTH", "MAX_BRACKETS", "nesting_problem"]

#: Deepest estimated nesting handed to libcst (it survives a few thousand; keep a margin).
MAX_DEPTH = 1000
#: CPython's own tokenizer limit on nested brackets (MAXLEVEL).
MAX_BRACKETS = 200

_TOKEN = re.compile(
    r"""
    (?P<str>(?:[rRbBuUfF]{1,2})?(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
    |(?P<comment>\#[^\n]*)
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<sep>[,;\n])
    |(?P<word>\b(?:and|or|not|lambda|if|else|await|in|is)\b)
    |(?P<op>\*\*|//|<<|>>|->|[-+*/%@&|^~.<>=!])
    |\\\n
    """,
    re.VERBOSE,
)


def nesting_problem(text: str) -> Optional[Tuple[int, str]]:
    """Return (line, description) when ``text`` nests too deeply to parse safely, else None."""
    if len(text) < MAX_DEPTH:
        return None  # every counted token needs at least one character
    stack = [0]  # per open bracket level: nesting tokens since that level's last separator
    total = 0  # sum of the stack plus the number of open brackets
    line = 1
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "sep":
            if match.group() == "\n":
                line += 1
                if len(stack) > 1:
                    continue  # newlines inside brackets separate nothing
            total -= stack[-1]
            stack[-1] = 0
            continue
        if kind == "str":
            line += match.group().count("\n")
            continue
        if kind == "comment":
            continue
        if kind is None:  # backslash continuation
            line += 1
            continue
        if kind == "close":
            if len(stack) > 1:
                total -= stack.pop() + 1
            continue
        stack[-1] += 1
        total += 1
        if kind == "open":  # a bracket nests itself and, after an operand, a call or subscript
            stack.append(0)
            total += 1
            if len(stack) - 1 > MAX_BRACKETS:
                return line, "more than %d nested brackets" % MAX_BRACKETS
        if total > MAX_DEPTH:
            return line, "an expression nested more than %d levels deep" % MAX_DEPTH
    return None
