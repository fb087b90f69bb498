"""Where each CPython version puts the fields of a marshalled code object.

One table (``LAYOUTS``) says, per layout, the fields in stream order and
whether each one is a raw 32-bit integer (``"i"``) or a nested marshal
object (``"o"``).  Both the marshal reader and the writer walk that table, so
a code object is read and written the same way on every interpreter.

Layouts (from CPython's ``Python/marshal.c`` of each release):

* 3.8, 3.9: argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize,
  flags, code, consts, names, varnames, freevars, cellvars, filename, name,
  firstlineno, lnotab.  Note: freevars come *before* cellvars in the stream.
* 3.10: the same fields; the last one is the PEP 626 line table.
* 3.11 - 3.14: argcount, posonlyargcount, kwonlyargcount, stacksize, flags,
  code, consts, names, localsplusnames, localspluskinds, filename, name,
  qualname, firstlineno, linetable (location table), exceptiontable.

This module also turns a live code object of the *running* interpreter into
field values (``live_code_fields``) and checks that fields read from data are
safe to hand to the interpreter's own code constructor
(``check_constructible``).
"""

import sys

__all__ = [
    "CO_FAST_HIDDEN",
    "CO_FAST_LOCAL",
    "CO_FAST_CELL",
    "CO_FAST_FREE",
    "LAYOUTS",
    "layout_name",
    "layout_for",
    "live_code_fields",
    "localsplus_split",
    "check_constructible",
    "RUNNING",
]

RUNNING = tuple(sys.version_info[:2])

# Kinds of "fast locals" in co_localspluskinds (Include/internal/pycore_code.h).
CO_FAST_ARG_POS = 0x02  # 3.14+
CO_FAST_ARG_KW = 0x04  # 3.14+
CO_FAST_ARG_VAR = 0x08  # 3.14+
CO_FAST_HIDDEN = 0x10  # 3.12+: inlined comprehension variable
CO_FAST_LOCAL = 0x20
CO_FAST_CELL = 0x40
CO_FAST_FREE = 0x80

CO_OPTIMIZED = 0x0001

_I, _O = "i", "o"

LAYOUTS = {
    "3.8": (
        ("argcount", _I), ("posonlyargcount", _I), ("kwonlyargcount", _I),
        ("nlocals", _I), ("stacksize", _I), ("flags", _I),
        ("code", _O), ("consts", _O), ("names", _O), ("varnames", _O),
        ("freevars", _O), ("cellvars", _O), ("filename", _O), ("name", _O),
        ("firstlineno", _I), ("linetable", _O),
    ),
    "3.11": (
        ("argcount", _I), ("posonlyargcount", _I), ("kwonlyargcount", _I),
        ("stacksize", _I), ("flags", _I),
        ("code", _O), ("consts", _O), ("names", _O),
        ("localsplusnames", _O), ("localspluskinds", _O),
        ("filename", _O), ("name", _O), ("qualname", _O),
        ("firstlineno", _I), ("linetable", _O), ("exceptiontable", _O),
    ),
}
# 3.10 keeps the 3.8 field order; only the meaning of the line table changed.
LAYOUTS["3.10"] = LAYOUTS["3.8"]

OLDEST_SUPPORTED = (3, 8)


def layout_name(version):
    """The LAYOUTS key for a CPython (major, minor) version."""
    version = tuple(version[:2])
    if version < OLDEST_SUPPORTED or version[0] != 3:
        raise ValueError(
            "code objects of Python %d.%d are not supported (oldest: 3.8)" % version
        )
    if version < (3, 10):
        return "3.8"
    if version < (3, 11):
        return "3.10"
    return "3.11"


def layout_for(version):
    return LAYOUTS[layout_name(version)]


def _hidden_applies(code):
    # 3.12+ inlines comprehensions.  In a scope that is not function-like
    # (module, class body) the comprehension's variables become fast locals
    # marked CO_FAST_HIDDEN; such scopes have no other fast locals, so every
    # local of a non-optimized code object is hidden.
    return RUNNING >= (3, 12) and not (code.co_flags & CO_OPTIMIZED)


def _live_localsplus(code):
    """Rebuild (localsplusnames, localspluskinds) of a live 3.11+ code object.

    Python does not expose these two fields; they follow from co_varnames,
    co_cellvars and co_freevars exactly as CPython's own code constructor
    merges them (a cell that is also a local is one slot with both bits).
    """
    names = list(code.co_varnames)
    hidden = CO_FAST_HIDDEN if _hidden_applies(code) else 0
    kinds = [CO_FAST_LOCAL | hidden] * len(names)
    position = {name: i for i, name in enumerate(names)}
    for name in code.co_cellvars:
        i = position.get(name)
        if i is None:
            names.append(name)
            kinds.append(CO_FAST_CELL)
        else:
            kinds[i] |= CO_FAST_CELL
    for name in code.co_freevars:
        names.append(name)
        kinds.append(CO_FAST_FREE)
    return tuple(names), bytes(kinds)


def live_code_fields(code):
    """Field values of a live code object, in the running layout's order."""
    layout = layout_for(RUNNING)
    if RUNNING >= (3, 11):
        names, kinds = _live_localsplus(code)
        values = {
            "localsplusnames": names,
            "localspluskinds": kinds,
            "qualname": code.co_qualname,
            "exceptiontable": code.co_exceptiontable,
            "linetable": code.co_linetable,
        }
    elif RUNNING >= (3, 10):
        values = {"linetable": code.co_linetable}
    else:
        values = {"linetable": code.co_lnotab}
    out = []
    for field, _kind in layout:
        if field in values:
            out.append(values[field])
        else:
            out.append(getattr(code, "co_" + field))
    return out


def localsplus_split(names, kinds):
    """(varnames, cellvars, freevars) from 3.11+ localsplusnames/kinds."""
    varnames, cellvars, freevars = [], [], []
    for name, kind in zip(names, kinds):
        if kind & CO_FAST_LOCAL:
            varnames.append(name)
        if kind & CO_FAST_CELL:
            cellvars.append(name)
        if kind & CO_FAST_FREE:
            freevars.append(name)
    return tuple(varnames), tuple(cellvars), tuple(freevars)


# --- safety check before the interpreter's own constructor runs -------------

def _running_opcode_tables():
    """(valid base opcodes, cache entries per opcode) of the running 3.11+."""
    import dis
    import opcode

    caches = [0] * 256
    entries = getattr(dis, "_inline_cache_entries", None)
    if isinstance(entries, dict):  # 3.13+: name -> count
        for name, count in entries.items():
            code = opcode.opmap.get(name)
            if code is not None and code < 256:
                caches[code] = count
    elif entries is not None:  # 3.11, 3.12: list indexed by opcode
        for code, count in enumerate(entries[:256]):
            caches[code] = count
    valid = set()
    for name, code in opcode.opmap.items():
        # Instrumented opcodes and ENTER_EXECUTOR refer to per-code runtime
        # tables that a freshly loaded code object does not have: CPython
        # dereferences them while quickening, so they must never reach it.
        if code < 256 and not name.startswith("INSTRUMENTED_") and name != "ENTER_EXECUTOR":
            valid.add(code)
    specialized = getattr(opcode, "_specialized_opmap", None)
    if specialized:
        valid -= set(specialized.values())
    return frozenset(valid), tuple(caches)


_OPCODE_TABLES = None


def check_constructible(fields):
    """Return None if handing ``fields`` to the running interpreter is safe.

    Otherwise return a message saying why not.  The interpreter validates
    counts and types itself (and raises); what it does not check before
    touching memory on 3.11+ is the bytecode it quickens at construction:
    an instruction whose inline caches run past the end of co_code, or an
    opcode that only exists at run time, corrupts memory.
    """
    global _OPCODE_TABLES
    code = fields.get("code")
    if not isinstance(code, bytes) or RUNNING < (3, 11):
        return None
    if len(code) % 2:
        return "co_code has odd length %d" % len(code)
    if _OPCODE_TABLES is None:
        _OPCODE_TABLES = _running_opcode_tables()
    valid, caches = _OPCODE_TABLES
    i, n = 0, len(code)
    while i < n:
        op = code[i]
        if op not in valid:
            return "co_code has opcode %d at offset %d, not a base opcode of Python %d.%d" % (
                (op, i) + RUNNING)
        i += 2 * (1 + caches[op])
        if i > n:
            return "co_code instruction at offset %d runs past the end of the code" % (i - 2 * (1 + caches[op]))
    return None
