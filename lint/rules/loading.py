"""Rules about loading serialized data: SC106 and SC111."""
import re
from typing import Any, Iterator, Optional, Set, Tuple

import libcst as cst

from ..context import FileContext, dotted_name
from ..model import Invalid, Report, Rule
from ..semantics import argument, matches, resolve

#: Loaders that run arbitrary code (or crash) on hostile input: qualified name -> data argument.
UNSAFE_LOADERS = {
    "pickle.load": (0, "file"),
    "pickle.loads": (0, "data"),
    "_pickle.load": (0, "file"),
    "_pickle.loads": (0, "data"),
    "pickle.Unpickler": (0, "file"),
    "_pickle.Unpickler": (0, "file"),
    "marshal.load": (0, "file"),
    "marshal.loads": (0, "bytes"),
    "shelve.open": (0, "filename"),
    "yaml.load": (0, "stream"),
    "yaml.load_all": (0, "stream"),
    "yaml.unsafe_load": (0, "stream"),
    "yaml.unsafe_load_all": (0, "stream"),
    "yaml.full_load": (0, "stream"),
    "yaml.full_load_all": (0, "stream"),
}
_YAML_WITH_LOADER = ("yaml.load", "yaml.load_all")
SAFE_YAML_LOADERS = ("yaml.SafeLoader", "yaml.CSafeLoader", "yaml.BaseLoader", "yaml.CBaseLoader")
_LOADER_NAMES = frozenset(q.rsplit(".", 1)[1] for q in UNSAFE_LOADERS)
_SOCKET_METHODS = frozenset(("recv", "recvfrom", "recvmsg", "makefile"))
_REQUEST_NAMES = frozenset(("request", "req", "rfile", "wfile"))
_MAX_DEPTH = 4
_ORIGIN_WORDS = re.compile(r"\b(?:%s)\b" % "|".join(sorted(_SOCKET_METHODS | _REQUEST_NAMES | {"stdin", "input"})))
TRIGGERS = ("pickle", "_pickle", "marshal", "shelve", "yaml")


def unsafe_loads(ctx: FileContext) -> Iterator[Tuple[cst.Call, str, Optional[Any]]]:
    """(call, loader name, data expression) for every unsafe deserialization call."""
    for call in ctx.calls_named(_LOADER_NAMES):
        if not ctx.resolves_to(call.func, UNSAFE_LOADERS):
            continue
        qnames = ctx.qualified_names(call.func)
        for qname in qnames:
            spec = UNSAFE_LOADERS.get(qname)
            if spec is None:
                continue
            if qname in _YAML_WITH_LOADER:
                loader = argument(call, 1, "Loader")
                if loader is not None and ctx.resolves_to(loader, SAFE_YAML_LOADERS):
                    break
            yield call, qname, argument(call, spec[0], spec[1])
            break


def untrusted_origin(ctx: FileContext, expr: Any, depth: int = 0, seen: Optional[Set[Any]] = None) -> Optional[str]:
    """'a request', 'a socket' or 'stdin' when ``expr`` visibly carries such data."""
    if expr is None or depth > _MAX_DEPTH:
        return None
    if not ctx.full:
        mentions = ctx.cache.get("origin_words")
        if mentions is None:
            mentions = ctx.cache["origin_words"] = bool(_ORIGIN_WORDS.search(ctx.text))
        if not mentions:
            return None  # every origin below is recognised by one of these words
    seen = set() if seen is None else seen
    for node in ctx.walk(expr):
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _SOCKET_METHODS:
                return "a socket"
            if ctx.resolves_to(func, ("builtins.input",)):
                return "stdin"
        elif isinstance(node, cst.Attribute):
            if node.attr.value in _REQUEST_NAMES:
                return "a request"
            name = dotted_name(node)
            if name is not None and (name == "sys.stdin" or name.startswith("sys.stdin.")):
                if any(q == "sys.stdin" or q.startswith("sys.stdin.") for q in ctx.qualified_names(node)):
                    return "stdin"
        elif isinstance(node, cst.Name):
            if node.value in _REQUEST_NAMES:
                return "a request"
            parent = ctx.parent(node)
            if isinstance(parent, cst.Attribute) and parent.attr is node:
                continue
            for value in resolve(ctx, node):
                if value is not node and isinstance(value, cst.BaseExpression):
                    origin = untrusted_origin(ctx, value, depth + 1, seen)
                    if origin is not None:
                        return origin
    return None


class UntrustedDeserialization(Rule):
    """
    ## What it does
    Flags `pickle.load`/`loads`, `pickle.Unpickler`, `marshal.load`/`loads`, `shelve.open` and
    `yaml.load` without a safe loader when the data visibly comes from a request (`request.data`,
    `self.rfile`, ...), a socket (`.recv()`, `.makefile()`) or standard input, directly or through
    a local variable.

    ## Why is this bad?
    Unpickling runs code chosen by whoever wrote the bytes: a pickle can call `os.system` while
    it loads.  `yaml.load` with the default or full loader can do the same, and hostile marshal
    data can crash the interpreter.  Data from a client is attacker-controlled.

    ## Example
    ```python
    import pickle

    def handle(conn):
        message = pickle.loads(conn.recv(65536))
    ```

    ## Use instead
    ```python
    import json

    def handle(conn):
        message = json.loads(conn.recv(65536))
    ```
    (or authenticate the bytes with `hmac` before unpickling them, or use
    `yaml.safe_load`).
    """

    CODE = "SC106"
    NAME = "untrusted-deserialization"
    SUMMARY = "pickle/marshal/shelve/yaml loads data that comes from a request, socket or stdin."
    SEVERITY = "error"
    TRIGGERS = TRIGGERS
    VALID = [
        "import json\ndef handle(conn):\n    return json.loads(conn.recv(1024))\n",
        "import yaml\ndef handle(request):\n    return yaml.load(request.data, Loader=yaml.SafeLoader)\n",
        "import pickle\ndef load(path):\n    with open(path, 'rb') as f:\n        return pickle.load(f)\n",
        "def loads(x):\n    return x\ndef handle(request):\n    return loads(request.body)\n",
    ]
    INVALID = [
        Invalid("import pickle\ndef handle(conn):\n    return pickle.loads(conn.recv(65536))\n", (3,)),
        Invalid("import pickle, sys\ndef main():\n    return pickle.load(sys.stdin.buffer)\n", (3,)),
        Invalid("from pickle import loads as L\ndef view(request):\n    payload = request.body\n    return L(payload)\n", (4,)),
        Invalid("import yaml\ndef view(request):\n    return yaml.load(request.data)\n", (3,)),
        Invalid("import marshal\nclass Handler:\n    def do_POST(self):\n        return marshal.loads(self.rfile.read(10))\n", (4,)),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        for call, qname, data in unsafe_loads(ctx):
            origin = untrusted_origin(ctx, data)
            if origin is not None:
                yield Report(
                    call,
                    "%s on data from %s: unpickling untrusted data runs arbitrary code; use json, "
                    "a safe loader, or authenticate the bytes first" % (qname, origin),
                )


class DeserializationUnknownOrigin(Rule):
    """
    ## What it does
    Notes every `pickle`/`marshal`/`shelve`/unsafe `yaml` load whose data does not visibly come
    from a request, socket or stdin (those are SC106 errors).  Off by default; enable it with
    `extend-select = ["SC111"]` to review every place that trusts serialized input.

    ## Why is this bad?
    Whether a `pickle.loads(x)` is safe depends on where `x` comes from, which a linter often
    cannot see.  An audit needs the list of such places.

    ## Example
    ```python
    import pickle

    def restore(blob):
        return pickle.loads(blob)
    ```

    ## Use instead
    ```python
    import hmac, hashlib, pickle

    def restore(blob, key, digest):
        expected = hmac.new(key, blob, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, digest):
            raise ValueError("tampered data")
        return pickle.loads(blob)  # noqa: SC111
    ```
    """

    CODE = "SC111"
    NAME = "deserialization-unknown-origin"
    SUMMARY = "pickle/marshal/yaml load of data of unknown origin (off by default)."
    SEVERITY = "note"
    DEFAULT_ENABLED = False
    TRIGGERS = TRIGGERS
    VALID = [
        "import pickle\ndef handle(conn):\n    return pickle.loads(conn.recv(65536))  # SC106, not SC111\n",
        "import pickle\nDEFAULTS = pickle.loads(b'N.')\n",
    ]
    INVALID = [
        Invalid("import pickle\ndef restore(blob):\n    return pickle.loads(blob)\n", (3,)),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        for call, qname, data in unsafe_loads(ctx):
            if isinstance(data, (cst.SimpleString, cst.ConcatenatedString)):
                continue
            if untrusted_origin(ctx, data) is None:
                yield Report(call, "%s of data of unknown origin: make sure it cannot come from an untrusted source" % qname)
