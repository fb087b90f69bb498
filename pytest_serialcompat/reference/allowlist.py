"""Which globals a pickle may name: the data model behind the analyzer's verdict.

A pickle can only run code through the globals it names (classes and
functions the loader imports) and through calls made on them.  This module
decides, for one ``(module, qualname)``, whether the loader may import it.

Three tables, consulted in this order:

1. :data:`DEFAULT_ALLOW` -- exact ``(module, qualname)`` pairs of stdlib data
   types that pickle round-trips, each with a category:

   * ``FREE``: may be referenced and called with any data arguments
     (``datetime.datetime``, ``collections.OrderedDict``, ...);
   * ``CHECKED``: allowed only at a call site whose arguments have the shape
     CPython's pickler writes (``builtins.getattr`` on an allowed global and
     a constant name, ``copyreg._reconstructor`` on allowed classes,
     ``_codecs.encode`` with a latin-1 codec, ...).  The analyzer checks those
     shapes; any other use of such a global is unsafe.

   Entries are exact names, never whole modules, so that ``socket.AddressFamily``
   is allowed while ``socket.create_connection`` is not.  :data:`MEMBER_PATTERNS`
   adds the enum members CPython 3.8-3.10 pickle by bare module-level name
   (``signal.SIGINT``, ``socket.AF_INET``).
2. :data:`DENY` -- modules and names known to run code, touch files, processes
   or the network.  A deny entry wins over the caller's extra prefixes: passing
   ``allow=["os"]`` does not make ``os.system`` safe.
3. The caller's extra words (``allow=`` of the analyzer, ``serialcompat_allow``
   of the plugin), each one of:

   * a *family* name (``numpy``, ``pandas``, ...; see :mod:`.families`): that
     library's curated reconstructors and classes, each with its use, and
     nothing else (a family name is not a module prefix);
   * an exact dotted name (``myapp.admin.reset_db``): that global may be
     called (category ``FREE``);
   * a module prefix (``"myapp"`` accepts ``myapp`` and ``myapp.*``): classes
     under it may be *constructed* and given state (category ``CONSTRUCT``),
     never called -- a call needs an exact name.  A guard on the qualname
     applies: no ``__dunder__``/mangled component and no component named like
     a denied module, because a dotted qualname is resolved by ``getattr``
     walks (``myapp.os.system``).

Everything else is unsafe: the list is an allow-list.

Importing this module imports nothing named by any pickle.
"""

import builtins
import re
from types import MappingProxyType
from typing import Dict, FrozenSet, Iterable, Mapping, NamedTuple, Optional, Pattern, Tuple

from . import families as _families

FREE = "free"
CHECKED = "checked"
CONSTRUCT = _families.CONSTRUCT  # may be constructed (NEWOBJ, copyreg.__newobj__) and built, never called


class Entry(NamedTuple):
    category: str  # FREE or CHECKED
    why: str  # what the global is, for docs and reports


def _entries(module: str, names: Iterable[str], category: str, why: str) -> Dict[Tuple[str, str], Entry]:
    return {(module, name): Entry(category, why) for name in names}


_table: Dict[Tuple[str, str], Entry] = {}

# --- builtins: scalars, containers, singletons ---------------------------------------
_table.update(_entries("builtins", (
    "object", "int", "float", "complex", "str", "bytes", "bytearray", "bool",
    "list", "tuple", "dict", "set", "frozenset", "slice", "range",
    "Ellipsis", "NotImplemented",
), FREE, "builtin data type or singleton"))
_table.update(_entries("builtins", (
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
), FREE, "builtin exception class (instances carry args only)"))
_table[("builtins", "NoneType")] = Entry(FREE, "type(None)")
_table[("builtins", "NotImplementedType")] = Entry(FREE, "type(NotImplemented)")
_table[("builtins", "ellipsis")] = Entry(FREE, "type(Ellipsis)")
_table[("builtins", "getattr")] = Entry(
    CHECKED, "only getattr(<allowed global>, '<name>'), the form pickle writes for nested names")
_table[("builtins", "type")] = Entry(
    CHECKED, "only type(None), type(Ellipsis), type(NotImplemented), as pickle writes them")

# --- reconstruction helpers pickle itself writes -------------------------------------
_table[("copyreg", "_reconstructor")] = Entry(
    CHECKED, "copyreg._reconstructor(cls, base, state) with allowed classes (protocol 0/1 objects)")
_table[("copyreg", "__newobj__")] = Entry(CHECKED, "cls.__new__(cls, *args) with an allowed class")
_table[("copyreg", "__newobj_ex__")] = Entry(CHECKED, "cls.__new__(cls, *args, **kwargs) with an allowed class")
_table[("_codecs", "encode")] = Entry(
    CHECKED, "_codecs.encode(str, 'latin1'): how protocol 0-2 pickles store bytes")
_table[("functools", "partial")] = Entry(CHECKED, "functools.partial over an allowed callable")
_table[("array", "_array_reconstructor")] = Entry(CHECKED, "array._array_reconstructor(array.array, ...)")
_table[("array", "array")] = Entry(FREE, "array.array")
_table[("collections", "defaultdict")] = Entry(
    FREE, "collections.defaultdict (its default_factory must be an allowed callable)")

# --- stdlib data types --------------------------------------------------------------
_table.update(_entries("collections", (
    "OrderedDict", "deque", "Counter", "ChainMap", "UserDict", "UserList", "UserString",
), FREE, "collections container"))
_table.update(_entries("datetime", ("date", "time", "datetime", "timedelta", "timezone", "tzinfo"),
                       FREE, "datetime value"))
_table.update(_entries("zoneinfo", ("ZoneInfo", "ZoneInfo._unpickle"), FREE,
                       "zoneinfo time zone (reads the system tz database by validated key)"))
_table.update(_entries("decimal", (
    "Decimal", "Context", "DecimalTuple", "DecimalException", "Clamped", "InvalidOperation",
    "DivisionByZero", "Inexact", "Rounded", "Subnormal", "Overflow", "Underflow",
    "FloatOperation", "DivisionImpossible", "DivisionUndefined", "InvalidContext", "ConversionSyntax",
), FREE, "decimal value, context or signal"))
_table[("fractions", "Fraction")] = Entry(FREE, "fractions.Fraction")
_table.update(_entries("uuid", ("UUID", "SafeUUID"), FREE, "uuid value"))
_PATH_CLASSES = ("PurePath", "PurePosixPath", "PureWindowsPath", "Path", "PosixPath", "WindowsPath")
_table.update(_entries("pathlib", _PATH_CLASSES, FREE, "pathlib path (constructing touches no file)"))
_table.update(_entries("pathlib._local", _PATH_CLASSES, FREE, "pathlib path, 3.13 module layout"))
_table.update(_entries("ipaddress", (
    "IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network", "IPv4Interface", "IPv6Interface",
), FREE, "ipaddress value"))
_table[("re", "_compile")] = Entry(FREE, "re._compile(pattern, flags): how compiled patterns pickle")
_table[("types", "SimpleNamespace")] = Entry(FREE, "types.SimpleNamespace")
_table[("time", "struct_time")] = Entry(FREE, "time.struct_time")
_table.update(_entries("urllib.parse", (
    "ParseResult", "SplitResult", "DefragResult", "ParseResultBytes", "SplitResultBytes", "DefragResultBytes",
), FREE, "urllib.parse result tuple"))
_table[("statistics", "NormalDist")] = Entry(FREE, "statistics.NormalDist")

# --- stdlib enum classes (members pickle as Cls(value)) ---------------------------------
_ENUMS = {
    "re": ("RegexFlag",),
    "http": ("HTTPStatus", "HTTPMethod"),
    "signal": ("Signals", "Handlers", "Sigmasks"),
    "socket": ("AddressFamily", "SocketKind", "MsgFlag", "AddressInfo"),
    "ssl": ("TLSVersion", "Options", "VerifyMode", "VerifyFlags", "AlertDescription",
            "SSLErrorNumber", "_SSLMethod"),
    "uuid": ("SafeUUID",),
    "calendar": ("Month", "Day"),
    "pstats": ("SortKey",),
    "plistlib": ("PlistFormat",),
    "py_compile": ("PycInvalidationMode",),
    "inspect": ("_ParameterKind",),
}
for _module, _names in _ENUMS.items():
    _table.update(_entries(_module, _names, FREE, "stdlib enum class"))

DEFAULT_ALLOW: Mapping[Tuple[str, str], Entry] = MappingProxyType(_table)
"""Exact ``(module, qualname)`` -> :class:`Entry` of the default allow-list."""

# Enum members that CPython 3.8-3.10 pickle by bare module-level name (enum._convert_
# installed a reduce-by-name); upper-case constants only, never the modules' functions.
MEMBER_PATTERNS: Mapping[str, Pattern] = MappingProxyType({
    "signal": re.compile(r"(?:SIG[A-Z0-9_]*|CTRL_C_EVENT|CTRL_BREAK_EVENT)\Z"),
    "socket": re.compile(r"(?:AF|SOCK|MSG|AI)_[A-Z0-9_]+\Z"),
    "ssl": re.compile(r"(?:PROTOCOL|OP|ALERT_DESCRIPTION|SSL_ERROR|VERIFY|CERT)_[A-Z0-9_]+\Z"),
})

# --- known-dangerous names: a reason each; these win over caller prefixes --------------
_DENY_MODULES = {
    "os": "operating-system access (processes, files, environment)",
    "posix": "operating-system access (processes, files, environment)",
    "nt": "operating-system access (processes, files, environment)",
    "subprocess": "starts processes",
    "_posixsubprocess": "starts processes",
    "pty": "starts processes",
    "multiprocessing": "starts processes",
    "asyncio": "starts processes and opens connections",
    "shutil": "copies, moves and deletes files",
    "tempfile": "creates files",
    "io": "opens files",
    "_io": "opens files",
    "socket": "opens network connections",
    "ssl": "opens network connections",
    "http.client": "opens network connections",
    "urllib.request": "opens network connections",
    "ftplib": "opens network connections",
    "smtplib": "opens network connections",
    "telnetlib": "opens network connections",
    "xmlrpc": "opens network connections",
    "webbrowser": "launches a browser",
    "importlib": "imports modules",
    "pkgutil": "imports modules",
    "zipimport": "imports modules",
    "runpy": "runs modules as scripts",
    "code": "runs an interactive interpreter",
    "codeop": "compiles code",
    "pickle": "loads nested pickles",
    "_pickle": "loads nested pickles",
    "marshal": "loads code objects",
    "shelve": "loads nested pickles",
    "dill": "loads code objects",
    "types": "builds code and function objects",
    "ctypes": "calls native code",
    "_ctypes": "calls native code",
    "sys": "changes the interpreter",
    "gc": "reaches every live object",
    "operator": "calls getters and methods on arbitrary objects",
    "functools": "calls arbitrary callables",
    "itertools": "calls arbitrary callables",
    "timeit": "evaluates code",
    "pdb": "evaluates code",
    "bdb": "evaluates code",
    "trace": "evaluates code",
    "profile": "evaluates code",
    "cProfile": "evaluates code",
    "doctest": "evaluates code",
    "pydoc": "runs pagers and imports modules",
    "platform": "runs subprocesses",
    "site": "changes the interpreter",
    "signal": "installs signal handlers and sends signals",
    "_thread": "starts threads",
    "threading": "starts threads",
    "tarfile": "writes files",
    "zipfile": "writes files",
    "glob": "lists files",
    "fileinput": "opens files",
    "linecache": "reads files",
    "mmap": "maps files",
    "fcntl": "controls file descriptors",
    "resource": "changes process limits",
    "sqlite3": "opens databases",
    "dbm": "opens databases",
    "copy": "calls __reduce_ex__ and __deepcopy__ hooks",
    "copyreg": "changes the pickle registry",
    "distutils": "runs build commands",
    "setuptools": "runs build commands",
    "pip": "installs packages",
}
_DENY_BUILTINS = {
    "eval": "evaluates code",
    "exec": "executes code",
    "compile": "compiles code",
    "__import__": "imports modules",
    "open": "opens files",
    "getattr": "reaches arbitrary attributes",
    "setattr": "changes arbitrary attributes",
    "delattr": "deletes arbitrary attributes",
    "globals": "reaches module globals",
    "locals": "reaches frame locals",
    "vars": "reaches object namespaces",
    "input": "reads the terminal",
    "breakpoint": "starts a debugger",
    "help": "runs a pager",
    "exit": "exits the interpreter",
    "quit": "exits the interpreter",
    "print": "writes to files",
    "memoryview": "exposes raw memory",
    "super": "reaches parent-class methods",
    "type": "creates classes",
    "classmethod": "wraps arbitrary callables",
    "staticmethod": "wraps arbitrary callables",
    "property": "wraps arbitrary callables",
    "map": "calls arbitrary callables",
    "filter": "calls arbitrary callables",
    "sorted": "calls arbitrary callables",
    "iter": "calls arbitrary callables",
    "next": "calls arbitrary callables",
}
DENY: Mapping[str, str] = MappingProxyType(dict(
    _DENY_MODULES, **{"builtins." + name: why for name, why in _DENY_BUILTINS.items()}))
"""``"module"`` or ``"builtins.name"`` -> why it is unsafe.  Prefix match on modules."""

_DENY_ROOTS = frozenset(name.split(".")[0] for name in _DENY_MODULES) | {"builtins"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")

NOT_LISTED = "not on the allow-list of stdlib data types and enabled library families"


def _deny_reason(module: str, qualname: str) -> Optional[str]:
    why = DENY.get(module + "." + qualname)
    if why is not None:
        return why
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        why = _DENY_MODULES.get(".".join(parts[:i]))
        if why is not None:
            return why
    return None


def entry(module: str, qualname: str) -> Optional[Entry]:
    """The default allow-list entry for a global, or None."""
    found = _table.get((module, qualname))
    if found is not None:
        return found
    pattern = MEMBER_PATTERNS.get(module)
    if pattern is not None and pattern.match(qualname):
        return Entry(FREE, "enum member pickled by module-level name")
    return None


def check_prefixes(prefixes: Iterable[str]) -> Tuple[str, ...]:
    """Validate caller-supplied allow words (prefixes, exact names, families); returns a tuple."""
    if isinstance(prefixes, str):
        prefixes = (prefixes,)
    result = []
    for prefix in prefixes:
        if not isinstance(prefix, str) or not _MODULE_NAME.match(prefix):
            raise ValueError("allow prefix must be a dotted module name, got %r" % (prefix,))
        result.append(prefix)
    return tuple(result)


class AllowSpec(NamedTuple):
    """The caller's allow words, sorted by what each grants."""

    prefixes: Tuple[str, ...]        # construction of classes under them
    exact: FrozenSet[str]            # calls of exactly these dotted names
    families: FrozenSet[str]         # enabled family names (defaults and inclusions added)


def spec(words: Tuple[str, ...]) -> AllowSpec:
    """What validated allow words grant (cached: the plugin passes the same tuple every time)."""
    found = _specs.get(words)
    if found is None:
        prefixes = tuple(w for w in words if _families.family_of(w) is None)
        found = AllowSpec(prefixes, frozenset(prefixes), frozenset(_families.enabled(words)))
        if len(_specs) >= 64:
            _specs.clear()
        _specs[words] = found
    return found


_specs: Dict[Tuple[str, ...], AllowSpec] = {}


def family_entry(module: str, qualname: str):
    """``(family name, Reconstructor)`` of a curated third-party global, whether enabled or not."""
    return _families.OWNER.get((module, qualname))


def curated(module: str, qualname: str, words: Tuple[str, ...] = ()) -> bool:
    """Whether a global is an exact entry of the stdlib table or of an enabled family.

    Curated entries are what they claim (they were read, one by one); every other
    allowed global is verified against the object it resolves to before loading.
    """
    if entry(module, qualname) is not None:
        return True
    owned = _families.OWNER.get((module, qualname))
    return owned is not None and owned[0] in spec(words).families


def _prefix_reason(module: str, qualname: str, prefixes: Tuple[str, ...]) -> Optional[str]:
    """None when an extra prefix accepts the global, else why not (or NOT_LISTED)."""
    if not any(module == p or module.startswith(p + ".") for p in prefixes):
        return NOT_LISTED
    if not _MODULE_NAME.match(module):
        return "module name %r is not a dotted identifier" % (module,)
    for part in qualname.split("."):
        if not _IDENT.match(part):
            return "qualname component %r is not an identifier" % (part,)
        if part.startswith("__"):
            return "qualname walks through the special attribute %r" % (part,)
        if part in _DENY_ROOTS:
            return "qualname walks through %r, which names a denied module" % (part,)
    return None


def classify(module: str, qualname: str, extra_prefixes: Tuple[str, ...] = ()) -> Tuple[Optional[str], Optional[str]]:
    """``(category, None)`` when the global is allowed, ``(None, reason)`` when not.

    ``category`` is FREE, CHECKED or CONSTRUCT (see the module docstring).
    ``extra_prefixes`` are the caller's allow words, already validated
    (:func:`check_prefixes`).
    """
    key = (module, qualname, extra_prefixes)
    known = _classified.get(key)
    if known is not None:
        return known
    result = _classify(module, qualname, extra_prefixes)
    if len(_classified) >= _CLASSIFIED_MAX:
        _classified.clear()
    _classified[key] = result
    return result


# classify() is a pure function of its arguments; goldens name the same few globals.
_classified: Dict[Tuple[str, str, Tuple[str, ...]], Tuple[Optional[str], Optional[str]]] = {}
_CLASSIFIED_MAX = 4096


def family_hint(module: str, qualname: str) -> Optional[str]:
    """``"<library> data reconstructor (family numpy)"`` for a curated global, else None."""
    owned = _families.OWNER.get((module, qualname))
    if owned is None:
        return None
    family = _families.FAMILIES[owned[0]]
    what = "data reconstructor" if owned[1].use == _families.CALL else "data class"
    return "a %s %s of the %s family (serialcompat_allow = %s)" % (family.library, what, family.name, family.name)


def _classify(module: str, qualname: str, extra_prefixes: Tuple[str, ...]) -> Tuple[Optional[str], Optional[str]]:
    found = entry(module, qualname)
    if found is not None:
        return found.category, None
    allow = spec(extra_prefixes)
    owned = _families.OWNER.get((module, qualname))
    if owned is not None and owned[0] in allow.families:
        return (FREE if owned[1].use == _families.CALL else CONSTRUCT), None
    why = _deny_reason(module, qualname)
    if why is not None:
        return None, "%s.%s: %s" % (module, qualname, why)
    if allow.exact and module + "." + qualname in allow.exact:
        reason = _prefix_reason(module, qualname, (module,))
        if reason is None:
            return FREE, None
        return None, "%s.%s: %s" % (module, qualname, reason)
    if owned is not None:
        return None, "%s.%s: not enabled: %s" % (module, qualname, family_hint(module, qualname))
    if allow.prefixes:
        reason = _prefix_reason(module, qualname, allow.prefixes)
        if reason is None:
            return CONSTRUCT, None
    else:
        reason = NOT_LISTED
    return None, "%s.%s: %s" % (module, qualname, reason)


def grantable(module: str, qualname: str) -> bool:
    """Whether some allow word could make this global allowed (its exact name, at least).

    Not a name walking through a special attribute or a denied module, nor a denied
    one: advice to allow such a name would be advice that cannot work.
    """
    return not is_denied(module, qualname) and _prefix_reason(module, qualname, (module,)) is None


def is_denied(module: str, qualname: str) -> bool:
    """Whether the deny table names this global (no allow word can change that)."""
    return entry(module, qualname) is None and _deny_reason(module, qualname) is not None


def is_allowed(module: str, qualname: str, extra_prefixes: Iterable[str] = ()) -> Optional[str]:
    """None when ``module.qualname`` may be referenced freely, else the reason it is unsafe.

    CHECKED globals (``builtins.getattr``, ``copyreg._reconstructor``, ...) are
    reported unsafe here: they are safe only in the call shapes that
    :func:`pytest_serialcompat.reference.analyzer.analyze` verifies.  A global
    that a prefix grants (CONSTRUCT) is allowed here: it may be named and
    constructed; the analyzer refuses a call of it.
    """
    category, reason = classify(module, qualname, check_prefixes(extra_prefixes))
    if category == CHECKED:
        return "%s.%s: %s" % (module, qualname, "allowed only as " + _table[(module, qualname)].why)
    return reason
