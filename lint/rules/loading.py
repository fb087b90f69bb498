"""Rules about loading serialized data: SC106 and SC111."""
import re
from typing import Any, Iterator, NamedTuple, Optional, Set, Tuple

import libcst as cst

from ..aliases import STDLIB_ALIASES, callee_names, canonical, first_name
from ..context import FileContext, dotted_name, terminal_name
from ..flow import parameter_arguments
from ..evidence import Candidate, ModuleFacts, ProjectIndex, absolute_name
from ..model import Invalid, Pending, Report, Rule
from ..semantics import _value_of_target, argument, resolve, string_value

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
#: Last names of the standard library's aliases of loaders (``pickle._loads``).
_ALIAS_NAMES = frozenset(q.rsplit(".", 1)[1] for q, target in STDLIB_ALIASES.items() if target in UNSAFE_LOADERS)
#: Dumpers: ``loads(dumps(x))`` in one expression reads bytes this process just wrote.
ROUND_TRIP_DUMPERS = frozenset((
    "pickle.dumps", "_pickle.dumps", "marshal.dumps", "cloudpickle.dumps", "dill.dumps", "yaml.dump", "yaml.safe_dump",
))

# -- where bytes come from: one table per kind of origin ----------------------------------------
#: Methods whose result is bytes from the network.
_SOCKET_METHODS = frozenset(("recv", "recvfrom", "recvmsg", "recv_into", "recv_multipart", "makefile"))
#: Methods of message-queue clients (redis lists and pub/sub, AMQP) that return a message.
_QUEUE_METHODS = frozenset(("blpop", "brpop", "brpoplpush", "blmove", "lpop", "rpop", "get_message", "basic_get"))
#: A child process's output read through a pipe.
_PIPE_METHODS = frozenset(("communicate",))
_PIPE_FUNCTIONS = frozenset(("subprocess.check_output", "subprocess.getoutput", "subprocess.getstatusoutput"))
#: Stream reads that are awaited: an asyncio stream, an RPC comm (a local file is not awaited).
_STREAM_METHODS = frozenset(("read", "readexactly", "readuntil", "readline", "recv", "get"))
#: ``argparse`` results name things the user typed.
_ARGUMENT_METHODS = frozenset(("parse_args", "parse_known_args", "parse_intermixed_args"))
#: Functions that open a file by path.
_OPENERS = frozenset(("builtins.open", "io.open", "gzip.open", "bz2.open", "lzma.open", "codecs.open", "pathlib.Path"))
_REQUEST_NAMES = frozenset(("request", "req", "rfile", "wfile"))
#: Keyword arguments and attributes that register RPC handlers (``Server(handlers={...})``):
#: the handlers' parameters are fields of messages from the network.
_HANDLER_TABLE = re.compile(r"(?:^|_)handlers$")
_MAX_DEPTH = 4
_ORIGIN_WORDS = re.compile(r"\b(?:%s)\b|handlers\b" % "|".join(sorted(
    _SOCKET_METHODS | _QUEUE_METHODS | _PIPE_METHODS | _ARGUMENT_METHODS | _REQUEST_NAMES
    | {"stdin", "input", "argv", "check_output", "getoutput", "getstatusoutput", "await"}
)))
TRIGGERS = ("pickle", "_pickle", "marshal", "shelve", "yaml", "ForkingPickler", "reduction")
#: A file importing a name that may be a re-exported loader (``from .compat import pickle_loads``).
IMPORTS_A_LOADER_NAME = r"^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]*(?:\([^)]*?|[^#\n(]*?)(?i:load|unpickl)"


class LoadCall(NamedTuple):
    call: cst.Call
    qname: str  # the loader the callee really is ("pickle.loads")
    data: Optional[Any]  # the expression holding the bytes (None when unknown)
    spelled: str  # how the source spells the callee, when that differs ("_ForkingPickler.loads")


def _loader_call_candidates(ctx: FileContext) -> Iterator[cst.Call]:
    """Calls whose callee ends in a loader name, an import alias of one, or a name bound to a
    loader (``_load = functools.partial(pickle.loads, ...)``, ``loads = Pickler.loads``)."""
    calls = ctx.nodes(cst.Call)
    if ctx.full:
        yield from calls
        return
    wanted = ctx.local_names_for(_LOADER_NAMES | _ALIAS_NAMES)
    for assign in ctx.nodes(cst.Assign):
        value = assign.value
        if isinstance(value, cst.Call):
            value = value.func if terminal_name(value.func) == "partial" else None
        if value is not None and terminal_name(value) in _LOADER_NAMES | {"partial"}:
            for target in assign.targets:
                if isinstance(target.target, cst.Name):
                    wanted.add(target.target.value)
    for call in calls:
        if terminal_name(call.func) in wanted:
            yield call


def unsafe_loads(ctx: FileContext) -> Iterator[LoadCall]:
    """Every unsafe deserialization call, however the loader is reached (see aliases.py).

    ``loads(dumps(x))`` in one expression is not one: the bytes visibly come from this process.
    """
    for call in _loader_call_candidates(ctx):
        hit = first_name(callee_names(ctx, call.func), UNSAFE_LOADERS)
        if hit is None:
            continue
        qname, supplied = hit
        position, keyword = UNSAFE_LOADERS[qname]
        if qname in _YAML_WITH_LOADER:
            loader = argument(call, 1 - supplied if supplied <= 1 else None, "Loader")
            if loader is not None and ctx.resolves_to(loader, SAFE_YAML_LOADERS):
                continue
        data = argument(call, position - supplied, keyword) if supplied <= position else None
        if _round_trip(ctx, data):
            continue
        spelled = dotted_name(call.func) or ""
        yield LoadCall(call, qname, data, "" if spelled in ("", qname) or qname.endswith("." + spelled) else spelled)


def _round_trip(ctx: FileContext, data: Any) -> bool:
    """``loads(dumps(x))``, or ``loads(blob)`` where every binding of ``blob`` is ``dumps(...)``:
    the bytes visibly come from this process."""
    values = resolve(ctx, data) if isinstance(data, cst.Name) else [data]
    return bool(values) and all(
        isinstance(v, cst.Call) and first_name(callee_names(ctx, v.func), ROUND_TRIP_DUMPERS) is not None for v in values
    )


def reexported_loads(ctx: FileContext) -> Iterator[Tuple[cst.Call, str, Optional[Any]]]:
    """(call, absolute name, first argument) for calls of names imported from the project's own
    modules that might be loaders re-exported there (``from .compat import pickle_loads``);
    whether they are is decided over the whole project (``ProjectIndex.resolve_name``)."""
    package = ctx.module_name.split(".")[0]
    for call in ctx.nodes(cst.Call):
        name = terminal_name(call.func)
        if name is None or not ("load" in name.lower() or "unpickler" in name.lower()):
            continue
        if name in _LOADER_NAMES and not ctx.full and first_name(
                callee_names(ctx, call.func), UNSAFE_LOADERS) is not None:
            continue  # unsafe_loads has decided this one (``reduction.pickle.load`` of a
            # project module named reduction is not decided there: it is a candidate)
        for qname in sorted(ctx.qualified_names(call.func)):
            if qname.startswith("."):
                qname = absolute_name(qname, ctx.module_name, ctx.is_package)
            elif not package or qname.split(".")[0] != package:
                continue
            if "." in qname and "<locals>" not in qname and canonical(qname) not in UNSAFE_LOADERS:
                yield call, qname, argument(call, 0, None)
                break


def _snippet(ctx: FileContext, node: Any) -> str:
    text = " ".join(ctx.module.code_for_node(node).split())
    if len(text) > 40:
        text = text[:37] + "..."
    return "`%s`, line %d" % (text, ctx.position(node)[0])


def _handler_methods(ctx: FileContext) -> Set[str]:
    """Names of methods registered in an RPC handlers table (``handlers = {"op": self.op}``)."""
    found = ctx.cache.get("rpc_handlers")
    if found is not None:
        return found
    found = set()
    for display in ctx.nodes(cst.Dict):
        parent = ctx.parent(display)
        table = None
        if isinstance(parent, cst.Arg) and parent.keyword is not None:
            table = parent.keyword.value
        elif isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            table = terminal_name(parent.targets[0].target)
        if table is None or not _HANDLER_TABLE.search(table):
            continue
        for element in display.elements:
            value = getattr(element, "value", None)
            if isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and string_value(element.key) is not None:
                found.add(value.attr.value)
    ctx.cache["rpc_handlers"] = found
    return found


def _bindings(ctx: FileContext, name: cst.Name) -> Iterator[Any]:
    """What a name may hold for origin tracking: assigned values, the iterable of a ``for``
    (each element comes from it), the right side of an unpacking, and parameters (``cst.Param``)."""
    for assignment in ctx.assignments(name):
        node = getattr(assignment, "node", None)
        if isinstance(node, cst.Param):
            yield node
            continue
        if not isinstance(node, cst.Name):
            continue
        target: Any = node
        parent = ctx.parent(target)
        while isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
            target, parent = parent, ctx.parent(parent)
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is target:
            yield parent.iter
        elif isinstance(parent, cst.AssignTarget):
            statement = ctx.parent(parent)
            if isinstance(statement, cst.Assign):
                yield statement.value
        elif isinstance(parent, cst.AugAssign) and parent.target is target:
            yield parent.value
        elif target is node:
            value = _value_of_target(ctx, node)
            if value is not None:
                yield value


def _param_origin(ctx: FileContext, param: cst.Param, depth: int, seen: Set[Any]) -> Optional[str]:
    """An RPC handler's message field, or what a direct call in this file passes."""
    function = ctx.enclosing(param, cst.FunctionDef)
    if function is None:
        return None
    params = list(function.params.posonly_params) + list(function.params.params)
    in_class = isinstance(ctx.parent(ctx.parent(function)), cst.ClassDef)
    if in_class and function.name.value in _handler_methods(ctx) and params and params[0] is not param:
        return "an RPC message (field %r of handler %r)" % (param.name.value, function.name.value)
    for call, value in parameter_arguments(ctx, param):
        inner = untrusted_origin(ctx, value, depth + 1, seen)
        if inner is not None:
            return "%s, passed to %s() at line %d" % (inner, function.name.value, ctx.position(call)[0])
    return None


def untrusted_origin(ctx: FileContext, expr: Any, depth: int = 0, seen: Optional[Set[Any]] = None) -> Optional[str]:
    """Where ``expr``'s bytes visibly come from when that is untrusted: a socket, a pipe, a message
    queue, a stream, an RPC message, a request, stdin, the command line, or a file named by one of
    those; followed through local names, ``for`` loops, unpacking and direct calls in the file."""
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
            method = func.attr.value if isinstance(func, cst.Attribute) else None
            if method in _STREAM_METHODS and isinstance(ctx.parent(node), cst.Await):
                return "a stream (%s)" % _snippet(ctx, ctx.parent(node))
            if method in _SOCKET_METHODS:
                return "a socket (%s)" % _snippet(ctx, node)
            if method in _QUEUE_METHODS:
                return "a message queue (%s)" % _snippet(ctx, node)
            if method in _PIPE_METHODS or ctx.resolves_to(func, _PIPE_FUNCTIONS):
                return "a child process's pipe (%s)" % _snippet(ctx, node)
            if method in _ARGUMENT_METHODS:
                return "the command line (%s)" % _snippet(ctx, node)
            if ctx.resolves_to(func, ("builtins.input",)):
                return "stdin (%s)" % _snippet(ctx, node)
            if ctx.resolves_to(func, _OPENERS):
                inner = untrusted_origin(ctx, argument(node, 0, None), depth + 1, seen)
                seen.update(ctx.walk(node))  # the path is not the data
                if inner is not None:
                    return "a file whose path comes from %s" % inner
        elif isinstance(node, cst.Attribute):
            if node.attr.value in _REQUEST_NAMES:
                return "a request (%s)" % _snippet(ctx, node)
            name = dotted_name(node)
            for stream in ("sys.stdin", "sys.argv"):
                if name is not None and (name == stream or name.startswith(stream + ".")):
                    if any(q == stream or q.startswith(stream + ".") for q in ctx.qualified_names(node)):
                        return "%s (%s)" % ("stdin" if stream == "sys.stdin" else "the command line", _snippet(ctx, node))
        elif isinstance(node, cst.Name):
            if node.value in _REQUEST_NAMES:
                return "a request (%s)" % _snippet(ctx, node)
            parent = ctx.parent(node)
            if isinstance(parent, cst.Attribute) and parent.attr is node:
                continue
            for value in _bindings(ctx, node):
                if value is node or value in seen:
                    continue
                if isinstance(value, cst.Param):
                    seen.add(value)
                    origin = _param_origin(ctx, value, depth, seen)
                elif isinstance(value, cst.BaseExpression):
                    origin = untrusted_origin(ctx, value, depth + 1, seen)
                else:
                    origin = None
                if origin is not None:
                    return origin
    return None


class UntrustedDeserialization(Rule):
    """
    ## What it does
    Flags `pickle.load`/`loads`, `pickle.Unpickler`, `marshal.load`/`loads`, `shelve.open` and
    `yaml.load` without a safe loader when the data visibly comes from an untrusted place, and
    says where: a socket (`.recv()`, `.recvfrom()`, `.recv_multipart()`, `.makefile()`), a child
    process's pipe (`Popen.communicate()`, `subprocess.check_output`), a message queue (redis
    `blpop`/`brpop`/`lpop`/`rpop`/`get_message`, AMQP `basic_get`), an awaited stream read
    (`await comm.read()`, an asyncio stream), an RPC message (the parameters of a method
    registered in a handlers table: `handlers = {"op": self.op}` or `Server(handlers=...)`), a
    request (`request.data`, `self.rfile`, ...), standard input, or a file opened from a path the
    user gave (`sys.argv`, `argparse` results, `input()`, a request).

    The data is followed within a function (names, `with ... as`, `for` loops over received
    messages, tuple unpacking) and through direct calls in the file (a helper's parameter stands
    for what its callers pass).  The loader is found however it is reached: through import
    aliases, class attributes (`ForkingPickler.loads`, `_ForkingPickler = reduction.ForkingPickler`),
    module attributes (`reduction.pickle.load`), `functools.partial`, and re-exports in the
    project (`from .compat import pickle_loads`).  Bytes from a `multiprocessing` connection or
    queue are not flagged (the channel is authenticated; SC111 lists those loads).

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
    SUMMARY = "pickle/marshal/shelve/yaml loads data from a socket, pipe, queue, RPC message, request or user file."
    SEVERITY = "error"
    TRIGGERS = TRIGGERS
    TRIGGER_ALSO = IMPORTS_A_LOADER_NAME
    VALID = [
        "import json\ndef handle(conn):\n    return json.loads(conn.recv(1024))\n",
        "import yaml\ndef handle(request):\n    return yaml.load(request.data, Loader=yaml.SafeLoader)\n",
        "import pickle\ndef load(path):\n    with open(path, 'rb') as f:\n        return pickle.load(f)\n",
        "def loads(x):\n    return x\ndef handle(request):\n    return loads(request.body)\n",
        # a multiprocessing connection's bytes (authenticated) are SC111's, not SC106's
        "from multiprocessing import reduction\n_ForkingPickler = reduction.ForkingPickler\nclass Connection:\n    def recv(self):\n        return _ForkingPickler.loads(self._recv_bytes())\n",
        # a path that is not the user's
        "import pickle\ndef load(conn, path):\n    with open(path, 'rb') as f:\n        return pickle.load(f)\n",
    ]
    INVALID = [
        Invalid("import pickle\ndef handle(conn):\n    return pickle.loads(conn.recv(65536))\n", (3,)),
        Invalid("import pickle, sys\ndef main():\n    return pickle.load(sys.stdin.buffer)\n", (3,)),
        Invalid("from pickle import loads as L\ndef view(request):\n    payload = request.body\n    return L(payload)\n", (4,)),
        Invalid("import yaml\ndef view(request):\n    return yaml.load(request.data)\n", (3,)),
        Invalid("import marshal\nclass Handler:\n    def do_POST(self):\n        return marshal.loads(self.rfile.read(10))\n", (4,)),
        # through a direct call, a loop, an unpacking
        Invalid("import pickle\ndef decode(payload):\n    return pickle.loads(payload)\ndef serve(conn):\n    return decode(conn.recv(4096))\n", (3,)),
        Invalid("import pickle\nasync def report(comm):\n    msgs = await comm.read()\n    for msg in msgs:\n        pickle.loads(msg['exception'])\n", (5,)),
        Invalid("import pickle, subprocess\ndef child(cmd):\n    out, _ = subprocess.Popen(cmd, stdout=subprocess.PIPE).communicate()\n    return pickle.loads(out)\n", (4,)),
        # an RPC handler's message fields
        Invalid("import pickle\nclass Scheduler:\n    def __init__(self):\n        self.handlers = {'register': self.register}\n    def register(self, comm, plugin=None):\n        return pickle.loads(plugin)\n", (6,)),
        # a file whose path the user gave
        Invalid("import argparse, pickle\ndef main():\n    args = argparse.ArgumentParser().parse_args()\n    with open(args.path, 'rb') as f:\n        return pickle.load(f)\n", (5,)),
        # through aliases
        Invalid("import socket\nfrom multiprocessing.reduction import ForkingPickler\ndef handle(sock):\n    return ForkingPickler.loads(sock.recv(1024))\n", (4,)),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        for load in unsafe_loads(ctx):
            origin = untrusted_origin(ctx, load.data)
            if origin is not None:
                yield Report(load.call, self.message(_spelled(load.qname, load.spelled), origin))
        for call, qname, data in reexported_loads(ctx):
            origin = untrusted_origin(ctx, data)
            if origin is not None:
                yield Report(call, "", pending=Pending("", qname, origin))

    @staticmethod
    def message(loader: str, origin: str) -> str:
        return ("%s on data from %s: unpickling untrusted data runs arbitrary code; use json, "
                "a safe loader, or authenticate the bytes first" % (loader, origin))

    def decide(self, index: ProjectIndex, facts: ModuleFacts, candidate: Candidate) -> Optional[str]:
        """A call of a name the project re-exports: report it if the name is a loader."""
        loader = canonical(index.resolve_name(candidate.key))
        if loader not in UNSAFE_LOADERS:
            return None
        return self.message("%s (re-exported as %s)" % (loader, candidate.key), candidate.label)


class DeserializationUnknownOrigin(Rule):
    """
    ## What it does
    Notes every `pickle`/`marshal`/`shelve`/unsafe `yaml` load whose data does not visibly come
    from an untrusted place (those are SC106 errors), with the loader found through the same
    aliases as SC106.  A round trip in one expression (`pickle.loads(pickle.dumps(x))`) is not
    noted, nor a load of a local name bound only to a `dumps(...)` result: the bytes visibly come
    from the same process.  Off by default; enable it with
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
    TRIGGER_ALSO = IMPORTS_A_LOADER_NAME
    VALID = [
        "import pickle\ndef handle(conn):\n    return pickle.loads(conn.recv(65536))  # SC106, not SC111\n",
        "import pickle\nDEFAULTS = pickle.loads(b'N.')\n",
        # a round trip in one expression: the bytes come from this process
        "import pickle\ndef clone(obj):\n    return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))\n",
        "from multiprocessing import reduction\ndef clone(obj):\n    return reduction.ForkingPickler.loads(reduction.ForkingPickler.dumps(obj))\n",
        "import pickle\ndef test_roundtrip(obj):\n    blob = pickle.dumps(obj)\n    assert pickle.loads(blob) == obj\n",
    ]
    INVALID = [
        Invalid("import pickle\ndef restore(blob):\n    return pickle.loads(blob)\n", (3,)),
        # however the loader is reached
        Invalid("from multiprocessing import reduction\n_ForkingPickler = reduction.ForkingPickler\ndef recv(buf):\n    return _ForkingPickler.loads(buf)\n", (4,)),
        Invalid("from multiprocessing.context import reduction\ndef prepare(from_parent):\n    return reduction.pickle.load(from_parent)\n", (3,)),
        Invalid("import functools, pickle\nload_latin1 = functools.partial(pickle.loads, encoding='latin1')\ndef restore(blob):\n    return load_latin1(blob)\n", (4,)),
        Invalid("from pickle import _loads\ndef restore(blob):\n    return _loads(blob)\n", (3,)),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        for load in unsafe_loads(ctx):
            if isinstance(load.data, (cst.SimpleString, cst.ConcatenatedString)):
                continue
            if untrusted_origin(ctx, load.data) is None:
                yield Report(load.call, self.message(_spelled(load.qname, load.spelled)))
        for call, qname, data in reexported_loads(ctx):
            if not isinstance(data, (cst.SimpleString, cst.ConcatenatedString)) and untrusted_origin(ctx, data) is None:
                yield Report(call, "", pending=Pending("", qname, ""))

    @staticmethod
    def message(loader: str) -> str:
        return "%s of data of unknown origin: make sure it cannot come from an untrusted source" % loader

    def decide(self, index: ProjectIndex, facts: ModuleFacts, candidate: Candidate) -> Optional[str]:
        loader = canonical(index.resolve_name(candidate.key))
        return self.message("%s (re-exported as %s)" % (loader, candidate.key)) if loader in UNSAFE_LOADERS else None


def _spelled(qname: str, spelled: str) -> str:
    """``pickle.loads (as _ForkingPickler.loads)`` when the source reaches it through an alias."""
    return "%s (as %s)" % (qname, spelled) if spelled and spelled != qname else qname
