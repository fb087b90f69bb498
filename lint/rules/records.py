"""Rules about durable serialized records: SC105, SC107, SC108."""
import re
from typing import Any, Iterator, Optional, Tuple

import libcst as cst
from pytest_serialcompat.reference.opcodes import FIRST_PYTHON_READING

from ..context import FileContext, dotted_name, terminal_name
from ..flow import called_function, parameter_arguments, returned_values
from ..evidence import Candidate, ModuleFacts, ProjectIndex, qualname_of
from ..fixes import add_version_key_fix
from ..model import Invalid, Pending, Report, Rule
from ..semantics import argument, int_value, matches, resolve, string_value

#: Python version that first reads each pickle protocol (protocols 0-2: every Python 3).
PROTOCOL_SINCE = {p: since for p, since in FIRST_PYTHON_READING.items() if since >= (3, 0)}
_PICKLE_WRITERS = {
    # qualified name: (position of the protocol argument, writes to a file)
    "pickle.dump": (2, True),
    "_pickle.dump": (2, True),
    "pickle.dumps": (1, False),
    "_pickle.dumps": (1, False),
    "pickle.Pickler": (1, True),
    "_pickle.Pickler": (1, True),
}
_RECORD_WRITERS = ("json.dump", "pickle.dump", "_pickle.dump")
#: pytest's temporary-directory fixtures: files under them are test data, not durable records.
_TEMPORARY_NAMES = frozenset(("tmp_path", "tmpdir", "tmp_path_factory", "tmpdir_factory"))
_TEMPFILE = frozenset((
    "tempfile.TemporaryFile", "tempfile.NamedTemporaryFile", "tempfile.SpooledTemporaryFile",
    "tempfile.mkdtemp", "tempfile.mkstemp", "tempfile.TemporaryDirectory", "tempfile.gettempdir",
))


def _version_key_present(display: cst.Dict, fields: Tuple[str, ...]) -> Optional[bool]:
    """True/False when the display has/lacks a version key; None when ``**spread`` hides keys."""
    for element in display.elements:
        if isinstance(element, cst.StarredDictElement):
            return None
        if string_value(element.key) in fields:
            return True
    return False


class UnversionedRecord(Rule):
    """
    ## What it does
    Flags durable records written without a version field: a `__getstate__` that returns a dict
    display without a `version` (or `schema_version`) key, and a dict display without one written
    durably by any path: `json.dump`/`pickle.dump` to a file, `f.write(json.dumps(d))` or
    `f.write(pickle.dumps(d))`, `Path.write_text`/`write_bytes` of those, `db[key] = d` on a
    `shelve` shelf, and `pickle.dumps(d)`/`json.dumps(d)` as a parameter of a sqlite
    `INSERT`/`UPDATE`/`REPLACE`.  The dict is found through local names, helpers of the file
    that return it, and what the file's direct calls pass to a parameter (`store_metadata(path,
    metadata)` called with a dict built elsewhere in the file); the message says where it was
    built.  The accepted names are configurable with `version-fields`.  `json.dumps` alone (a
    response body, a log line, a message sent on a socket) is not a durable record and is not
    flagged.

    A `__getstate__` is reported only when the class (or a base) is written to durable storage:
    `pickle.dump` or `Pickler.dump` to a file, `f.write(pickle.dumps(...))`, `shelve`,
    `joblib.dump`, the golden store or the `serialcompat` fixture.  Pickles sent to processes,
    queues or `copy.deepcopy` live no longer than the run, so a transient wrapper's state needs
    no version (`strict = true` reports them too).  A dump to a file under pytest's `tmp_path`,
    `tmpdir` or a `tempfile` location is test data, not a record.

    ## Why is this bad?
    Data written today is read by tomorrow's code.  Without a version field the reader cannot
    tell an old record from a new one, so the first change of the class's attributes or the
    file's layout turns old files into silent misreads or `KeyError`s.  A version field lets
    `__setstate__` or the loader migrate old data.

    ## Example
    ```python
    class Settings:
        def __getstate__(self):
            return {"theme": self.theme, "size": self.size}
    ```

    ## Use instead
    ```python
    class Settings:
        def __getstate__(self):
            return {"version": 1, "theme": self.theme, "size": self.size}
    ```
    `--fix` adds `"version": 1` (the first configured field name) to a `__getstate__` dict.
    """

    CODE = "SC105"
    NAME = "unversioned-record"
    SUMMARY = "A durable record (`__getstate__` dict, dumped dict) has no version field."
    SEVERITY = "warning"
    TRIGGERS = ("__getstate__", "json", "pickle", "_pickle", "shelve")
    VALID = [
        # nothing writes S durably: the state is only sent to a worker process
        "from concurrent.futures import ProcessPoolExecutor\nclass S:\n    def __getstate__(self):\n        return {'a': self.a}\ndef run(work):\n    with ProcessPoolExecutor() as ex:\n        ex.submit(work, S())\n",
        "import json\ndef test_load(tmp_path):\n    with open(tmp_path / 'f.json', 'w') as f:\n        json.dump({'a': 1}, f)\n",
        "class S:\n    def __getstate__(self):\n        return {'version': 2, 'a': self.a}\n",
        "class S:\n    def __getstate__(self):\n        return {'schema_version': 1, 'a': self.a}\n",
        "import json\ndef body(x):\n    return json.dumps({'a': x})\n",
        "import json\ndef save(f, x):\n    json.dump({'version': 1, 'a': x}, f)\n",
        "class S:\n    def __getstate__(self):\n        return {**self.__dict__}\n",
        "import json\ndef send(sock, x):\n    sock.send(json.dumps({'a': x}).encode())\n",
        "import json, pathlib\ndef save(d, items):\n    record = {'version': 2, 'items': items}\n    pathlib.Path(d, 's.json').write_text(json.dumps(record))\n",
        "import json\ndef test_store(tmp_path):\n    (tmp_path / 'm.json').write_text(json.dumps({'a': 1}))\n",
        "import pickle, sqlite3\ndef load(conn, key):\n    return conn.execute('SELECT v FROM blobs WHERE k = ?', (key,))\n",
    ]
    INVALID = [
        Invalid(
            "import pickle\nclass S:\n    def __getstate__(self):\n        return {'a': self.a, 'b': self.b}\ndef save(f):\n    pickle.dump(S(), f)\n",
            (4,),
            fixed="import pickle\nclass S:\n    def __getstate__(self):\n        return {'version': 1, 'a': self.a, 'b': self.b}\ndef save(f):\n    pickle.dump(S(), f)\n",
        ),
        Invalid(
            'import shelve\nclass S:\n    def __getstate__(self):\n        return {\n            "a": self.a,\n        }\ndef save(path):\n    with shelve.open(path) as db:\n        db["s"] = S()\n',
            (4,),
            fixed='import shelve\nclass S:\n    def __getstate__(self):\n        return {\n            "version": 1,\n            "a": self.a,\n        }\ndef save(path):\n    with shelve.open(path) as db:\n        db["s"] = S()\n',
        ),
        Invalid("import json\ndef save(f, x):\n    json.dump({'a': x}, f)\n", (3,)),
        Invalid("import pickle as p\ndef save(f, x):\n    record = {'a': x}\n    p.dump(record, f)\n", (4,)),
        # any write path
        Invalid("import json\ndef store(path, meta):\n    with open(path, 'w') as f:\n        f.write(json.dumps(meta))\ndef run(path, d):\n    store(path, {'duration': d})\n", (4,)),
        Invalid("import json, pathlib\ndef summary(items):\n    return {'count': len(items)}\ndef save(d, items):\n    pathlib.Path(d, 's.json').write_text(json.dumps(summary(items)))\n", (5,)),
        Invalid("import pickle\ndef save(f, x):\n    f.write(pickle.dumps({'a': x}))\n", (3,)),
        Invalid("import shelve\ndef save(path, user):\n    with shelve.open(path) as db:\n        db['session'] = {'user': user}\n", (4,)),
        Invalid("import pickle, sqlite3\ndef save(conn, key, counts):\n    state = {'counts': counts}\n    conn.execute('INSERT INTO blobs VALUES (?, ?)', (key, pickle.dumps(state)))\n", (4,)),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        fields = tuple(self.settings.version_fields)
        wanted = " or ".join(repr(f) for f in fields)
        for function in ctx.nodes(cst.FunctionDef):
            if function.name.value != "__getstate__":
                continue
            for node in ctx.walk(function.body):
                if isinstance(node, cst.Return) and isinstance(node.value, cst.Dict):
                    if ctx.enclosing(node, (cst.FunctionDef, cst.Lambda)) is not function:
                        continue
                    if _version_key_present(node.value, fields) is False:
                        owner = ctx.parent(ctx.parent(function))
                        if not isinstance(owner, cst.ClassDef):
                            continue
                        yield Report(
                            node.value, "", add_version_key_fix(ctx, node.value, fields[0]),
                            pending=Pending(qualname_of(ctx, owner)),
                        )
        for call in ctx.calls_named(("dump",)):
            if not ctx.resolves_to(call.func, _RECORD_WRITERS):
                continue
            if _to_temporary(ctx, argument(call, 1, "fp" if terminal_name(call.func) == "dump" else "file")):
                continue
            report = self._unversioned(ctx, call, argument(call, 0, "obj"), terminal_name(call.func) or "dump", "a file", fields)
            if report is not None:
                yield report
        for call, value, writer, where in durable_writes(ctx):
            report = self._unversioned(ctx, call, value, writer, where, fields)
            if report is not None:
                yield report

    @staticmethod
    def _unversioned(ctx: FileContext, call: Any, value: Any, writer: str, where: str, fields: Tuple[str, ...]) -> Optional[Report]:
        wanted = " or ".join(repr(f) for f in fields)
        for display, path in record_dicts(ctx, value):
            if _version_key_present(display, fields) is False:
                built = "" if not path else " (the dict built at line %d%s)" % (ctx.position(display)[0], path)
                return Report(
                    call,
                    "%s writes a dict without a %s key to %s%s; version durable records "
                    "so that readers can tell old data from new" % (writer, wanted, where, built),
                )
        return None

    def decide(self, index: ProjectIndex, facts: ModuleFacts, candidate: Candidate) -> Optional[str]:
        """Report a __getstate__ only for classes written to durable storage (or in strict mode)."""
        qname = "%s.%s" % (facts.module, candidate.cls) if facts.module else candidate.cls
        evidence = index.site_evidence(index.mro(qname), durable=True)
        if evidence is None and not self.settings.strict:
            return None
        wanted = " or ".join(repr(f) for f in self.settings.version_fields)
        name = candidate.cls.rsplit(".", 1)[-1]
        because = "" if evidence is None else " and %s is written durably (%s)" % (name, evidence.describe(qname))
        return (
            "__getstate__ returns a dict without a %s key%s; add one so that __setstate__ can "
            "migrate old pickles" % (wanted, because)
        )


#: Serializers whose result, written to a file, a shelf or a database, is a durable record.
_SERIALIZERS = frozenset(("json.dumps", "pickle.dumps", "_pickle.dumps"))
#: Methods that write their argument to the file (or path) they are called on.
_FILE_WRITES = {"write": "a file", "write_text": "a file", "write_bytes": "a file"}
_SQL_METHODS = frozenset(("execute", "executemany"))
_SQL_WRITE = re.compile(r"^\s*(?:INSERT|REPLACE|UPDATE)\b", re.IGNORECASE)
_SHELVE_OPEN = frozenset(("shelve.open", "shelve.Shelf", "shelve.DbfilenameShelf"))
_MAX_DEPTH = 4


def _serialized(ctx: FileContext, expr: Any) -> Optional[Tuple[Any, str]]:
    """(the serialized value, the serializer's name) when ``expr`` is (bound to) ``json.dumps(v)``
    or ``pickle.dumps(v)``."""
    for value in [expr] + (resolve(ctx, expr) if isinstance(expr, cst.Name) else []):
        if isinstance(value, cst.Call) and terminal_name(value.func) == "dumps" and ctx.resolves_to(value.func, _SERIALIZERS):
            return argument(value, 0, "obj"), dotted_name(value.func) or "dumps"
    return None


def durable_writes(ctx: FileContext) -> Iterator[Tuple[Any, Any, str, str]]:
    """(node, value, writer, where) for records written by other paths than ``dump``:
    ``f.write(json.dumps(v))``, ``path.write_text(...)``/``write_bytes``, a sqlite ``INSERT`` of
    ``pickle.dumps(v)``, and ``db[key] = v`` on a shelf (the node is then the assignment)."""
    # Every write path but the shelf's writes a ``dumps(...)`` result: no such word, no write.
    writes = ctx.calls_named(tuple(_FILE_WRITES) + tuple(_SQL_METHODS)) if ctx.full or "dumps" in ctx.text else []
    for call in writes:
        func = call.func
        if not isinstance(func, cst.Attribute):
            continue
        method = func.attr.value
        if method in _FILE_WRITES:
            found = _serialized(ctx, argument(call, 0, "data"))
            if found is None or _to_temporary(ctx, func.value):
                continue
            yield call, found[0], ".%s(%s(...))" % (method, found[1]), _FILE_WRITES[method]
        elif method in _SQL_METHODS:
            statement = string_value(argument(call, 0, "sql"))
            if statement is None or not _SQL_WRITE.match(statement):
                continue
            parameters = argument(call, 1, "parameters")
            for value in [parameters] + (resolve(ctx, parameters) if isinstance(parameters, cst.Name) else []):
                if isinstance(value, (cst.Tuple, cst.List)):
                    for element in value.elements:
                        found = _serialized(ctx, element.value)
                        if found is not None:
                            yield call, found[0], "%s(...) as a query parameter" % found[1], "a database"
    if ctx.full or "shelve" in ctx.text:
        for assign in ctx.nodes(cst.Assign):
            for target in assign.targets:
                if isinstance(target.target, cst.Subscript):
                    for owner in resolve(ctx, target.target.value):
                        if isinstance(owner, cst.Call) and ctx.resolves_to(owner.func, _SHELVE_OPEN):
                            if not _to_temporary(ctx, argument(owner, 0, "filename")):
                                yield assign, assign.value, "db[key] = ...", "a shelf"
                            break


def record_dicts(ctx: FileContext, expr: Any, depth: int = 0) -> Iterator[Tuple[cst.Dict, str]]:
    """Dict displays ``expr`` may be, through local names, helpers of the file that return one,
    and the arguments direct calls pass to a parameter; with how they were reached."""
    if expr is None or depth > _MAX_DEPTH:
        return
    if isinstance(expr, cst.Dict):
        yield expr, ""
        return
    if isinstance(expr, cst.Name):
        for assignment in ctx.assignments(expr):
            node = getattr(assignment, "node", None)
            if isinstance(node, cst.Param):
                for call, value in parameter_arguments(ctx, node, any_receiver=True):
                    for display, path in record_dicts(ctx, value, depth + 1):
                        yield display, path or ", passed at line %d" % ctx.position(call)[0]
        for value in resolve(ctx, expr):
            if value is not expr and not isinstance(value, (cst.FunctionDef, cst.ClassDef)):
                for display, path in record_dicts(ctx, value, depth + 1):
                    yield display, path
        return
    if isinstance(expr, cst.Call):
        function = called_function(ctx, expr.func)
        if function is not None:
            for value in returned_values(ctx, function):
                for display, path in record_dicts(ctx, value, depth + 1):
                    yield display, path or ", returned by %s()" % function.name.value


def _to_temporary(ctx: FileContext, file_expr: Any) -> bool:
    """Whether the file written to visibly lies in a temporary directory (test data)."""
    if file_expr is None:
        return False
    for value in [file_expr] + resolve(ctx, file_expr):
        for node in ctx.walk(value):
            if isinstance(node, cst.Name) and node.value in _TEMPORARY_NAMES:
                return True
            if isinstance(node, cst.Call) and ctx.resolves_to(node.func, _TEMPFILE):
                return True
    return False


_CODE_NAME = re.compile(r"^(co|code|codeobj|code_?object|.*_code|code_.*)$")


class MarshalPersistence(Rule):
    """
    ## What it does
    Flags `marshal.dump` and `marshal.dumps` of application data, that is anything that is not
    visibly a code object (a `compile(...)` result, a `__code__` attribute, or a variable named
    `code`/`co`/`*_code`).

    ## Why is this bad?
    The marshal format is CPython's private format for `.pyc` files.  It is not guaranteed to be
    stable across Python versions, it cannot store instances of your classes, and loading
    untrusted marshal data can crash the interpreter.  Data persisted with it may not load after
    a Python upgrade.

    ## Example
    ```python
    import marshal

    def save(path, scores):
        with open(path, "wb") as f:
            marshal.dump(scores, f)
    ```

    ## Use instead
    ```python
    import json

    def save(path, scores):
        with open(path, "w") as f:
            json.dump({"version": 1, "scores": scores}, f)
    ```
    """

    CODE = "SC107"
    NAME = "marshal-persistence"
    SUMMARY = "`marshal` is used to persist application data."
    SEVERITY = "warning"
    TRIGGERS = ("marshal",)
    VALID = [
        "import marshal\ndef pyc(source):\n    return marshal.dumps(compile(source, 'f', 'exec'))\n",
        "import marshal\ndef pyc(code):\n    return marshal.dumps(code)\n",
        "import marshal\ndef pyc(f):\n    return marshal.dumps(f.__code__)\n",
        "import json\ndef save(x):\n    return json.dumps(x)\n",
    ]
    INVALID = [
        Invalid("import marshal\ndef save(f, scores):\n    marshal.dump(scores, f)\n", (3,)),
        Invalid("from marshal import dumps\ndef save(path, data):\n    open(path, 'wb').write(dumps({'a': data}))\n", (3,)),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        for call in ctx.calls_named(("dump", "dumps")):
            if not ctx.resolves_to(call.func, ("marshal.dump", "marshal.dumps")):
                continue
            value = argument(call, 0, "value")
            if value is None or self._is_code(ctx, value):
                continue
            yield Report(
                call,
                "marshal is CPython's private .pyc format, not stable across Python versions: "
                "persist application data with json or pickle (with a version field)",
            )

    @staticmethod
    def _is_code(ctx: FileContext, value: Any) -> bool:
        if isinstance(value, cst.Attribute) and value.attr.value == "__code__":
            return True
        if isinstance(value, cst.Name) and _CODE_NAME.match(value.value):
            return True
        for resolved in resolve(ctx, value):
            if isinstance(resolved, cst.Call) and ctx.resolves_to(resolved.func, ("builtins.compile",)):
                return True
            if isinstance(resolved, cst.Attribute) and resolved.attr.value == "__code__":
                return True
        return False


class PickleProtocolTooNew(Rule):
    """
    ## What it does
    Flags a pickle `protocol=` literal newer than the oldest Python that the project's
    `requires-python` allows (protocol 3 needs Python 3.0, 4 needs 3.4, 5 needs 3.8), and
    `pickle.HIGHEST_PROTOCOL` (or a negative protocol) used when writing to a file with
    `pickle.dump` or `pickle.Pickler`.

    ## Why is this bad?
    A pickle can only be read by a Python that knows its protocol.  A file written with
    `HIGHEST_PROTOCOL` on the newest interpreter becomes unreadable by the older interpreters the
    project still supports (and the highest protocol changes when Python gains a new one).

    ## Example
    ```python
    import pickle

    def save(obj, path):
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    ```

    ## Use instead
    ```python
    import pickle

    PROTOCOL = 4  # readable by every supported Python (requires-python >= 3.4)

    def save(obj, path):
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=PROTOCOL)
    ```
    """

    CODE = "SC108"
    NAME = "pickle-protocol-too-new"
    SUMMARY = "A pickle protocol newer than the oldest supported Python, or HIGHEST_PROTOCOL written to a file."
    SEVERITY = "warning"
    TRIGGERS = ("pickle", "_pickle")
    VALID = [
        "import pickle\ndef save(obj, f):\n    pickle.dump(obj, f, protocol=4)\n",
        "import pickle\ndef send(obj):\n    return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)\n",
        "import pickle\ndef save(obj, f):\n    pickle.dump(obj, f)\n",
    ]
    INVALID = [
        Invalid("import pickle\ndef save(obj, f):\n    pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)\n", (3,)),
        Invalid("import pickle\ndef save(obj):\n    return pickle.dumps(obj, protocol=5)\n", (3,), requires_python=">=3.6"),
        Invalid("from pickle import Pickler, HIGHEST_PROTOCOL as H\ndef save(obj, f):\n    Pickler(f, H).dump(obj)\n", (3,)),
        Invalid("import pickle\ndef save(obj, f):\n    pickle.dump(obj, f, -1)\n", (3,)),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        oldest = self.settings.oldest_python()
        for call in ctx.calls_named(("dump", "dumps", "Pickler")):
            spec = None
            if not ctx.resolves_to(call.func, _PICKLE_WRITERS):
                continue
            for qname in ctx.qualified_names(call.func):
                spec = _PICKLE_WRITERS.get(qname)
                if spec is not None:
                    break
            if spec is None:
                continue
            position, to_file = spec
            protocol = argument(call, position, "protocol")
            if protocol is None:
                continue
            number = int_value(protocol)
            if number is not None and number >= 0:
                needs = PROTOCOL_SINCE.get(number)
                if needs is not None and oldest is not None and oldest < needs:
                    yield Report(
                        protocol,
                        "pickle protocol %d needs Python %d.%d, but requires-python allows Python "
                        "%d.%d, which cannot read it" % ((number,) + needs + oldest),
                    )
                continue
            highest = (number is not None and number < 0) or ctx.resolves_to(protocol, ("pickle.HIGHEST_PROTOCOL", "_pickle.HIGHEST_PROTOCOL")
            )
            if highest and to_file:
                yield Report(
                    protocol,
                    "HIGHEST_PROTOCOL written to a file: older Pythons cannot read it; pin the "
                    "protocol the oldest supported Python reads",
                )
