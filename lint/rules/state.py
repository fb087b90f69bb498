"""Rules about what an object's pickled state contains: SC102 and SC104."""
import ast
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from ..context import FileContext, terminal_name
from ..evidence import PICKLING_METHODS, REDUCE_HOOKS, Candidate, ClassFacts, ModuleFacts, ProjectIndex, mangle, qualname_of
from ..model import Invalid, Pending, Report, Rule
from ..semantics import argument, by_value_pickler, first_param, matches, object_kind, resolve, unpicklable_reason

#: Constructors whose results cannot be pickled, with what to call them in messages.
DEFAULT_RESOURCES: Dict[str, str] = {}
for _names, _label in (
    (("threading.Lock", "threading.RLock", "_thread.allocate_lock", "_thread.RLock", "threading.Condition",
      "threading.Semaphore", "threading.BoundedSemaphore", "threading.Event", "threading.Barrier"), "a threading lock"),
    (("multiprocessing.Lock", "multiprocessing.RLock", "multiprocessing.Condition", "multiprocessing.Semaphore",
      "multiprocessing.BoundedSemaphore", "multiprocessing.Event", "multiprocessing.Barrier"), "a multiprocessing lock"),
    (("multiprocessing.Queue", "multiprocessing.SimpleQueue", "multiprocessing.JoinableQueue",
      "multiprocessing.queues.Queue", "multiprocessing.queues.SimpleQueue", "multiprocessing.queues.JoinableQueue"),
     "a multiprocessing queue (shared only by inheritance)"),
    (("multiprocessing.Value", "multiprocessing.Array"), "a multiprocessing shared value (shared only by inheritance)"),
    (("threading.Thread", "threading.Timer"), "a thread"),
    (("socket.socket", "socket.create_connection", "socket.create_server", "socket.socketpair", "socket.fromfd"), "a socket"),
    (("builtins.open", "io.open", "io.FileIO", "codecs.open", "os.fdopen", "gzip.open", "gzip.GzipFile", "bz2.open",
      "bz2.BZ2File", "lzma.open", "lzma.LZMAFile", "tempfile.TemporaryFile", "tempfile.NamedTemporaryFile",
      "tempfile.SpooledTemporaryFile"), "an open file"),
    (("sqlite3.connect", "sqlite3.Connection", "sqlite3.dbapi2.connect"), "a sqlite3 connection"),
    (("queue.Queue", "queue.LifoQueue", "queue.PriorityQueue", "queue.SimpleQueue"), "a queue (it holds locks)"),
    (("subprocess.Popen",), "a subprocess"),
    (("mmap.mmap",), "a memory map"),
    (("selectors.DefaultSelector", "select.epoll", "select.poll"), "a selector"),
):
    for _name in _names:
        DEFAULT_RESOURCES[_name] = _label

#: What the constructors of a multiprocessing context (``multiprocessing.get_context(...)``, or a
#: ``self._ctx`` holding one) make: the same objects as the module-level functions.
CONTEXT_RESOURCES: Dict[str, str] = {}
for _qname, _label in list(DEFAULT_RESOURCES.items()):
    if _qname.startswith("multiprocessing.") and _qname.count(".") == 1:
        CONTEXT_RESOURCES[_qname.rsplit(".", 1)[1]] = _label

_SQLITE_CONNECT = frozenset(q for q, label in DEFAULT_RESOURCES.items() if label == "a sqlite3 connection")
_STATE_HOOKS = REDUCE_HOOKS
_GETSTATE = "__getstate__"


def resources_for(settings: Any) -> Dict[str, str]:
    table = dict(DEFAULT_RESOURCES)
    for name in getattr(settings, "resource_types", ()):
        table[name] = "a %s object" % name
    return table


def _methods(class_def: cst.ClassDef) -> Dict[str, cst.FunctionDef]:
    body = class_def.body
    if not isinstance(body, cst.IndentedBlock):
        return {}
    return {s.name.value: s for s in body.body if isinstance(s, cst.FunctionDef)}


def _is_generator_function(ctx: FileContext, function: cst.FunctionDef) -> bool:
    for node in ctx.walk(function.body):
        if isinstance(node, cst.Yield) and ctx.enclosing(node, (cst.FunctionDef, cst.Lambda)) is function:
            return True
    return False


class UnpicklableResourceAttribute(Rule):
    """
    ## What it does
    Flags a class that stores an unpicklable resource in an instance attribute (assigned through
    the first parameter of a method, usually `self`) or a dataclass field: locks and other
    `threading`/`multiprocessing` synchronisation objects (also made by a multiprocessing context:
    `ctx.Lock()`, `ctx.Event()`, `self._ctx.Queue()` with `ctx = multiprocessing.get_context()`),
    `multiprocessing` queues and shared values (pickled only while a process is spawned), threads,
    sockets, open files, queues, sqlite3 connections and cursors, subprocesses, generators and
    lambdas, when no class in its
    method resolution order (bases are followed through imports, across the project) defines
    `__reduce__`/`__reduce_ex__` or a `__getstate__` that leaves the attribute out, and no
    reducer is registered for it with `copyreg.pickle` or `multiprocessing.reduction.register`.
    More constructors can be added with `resource-types` in `[tool.serialcompat.lint]`.

    It reports only classes with evidence that they are pickled, and says which: instances or
    the class reach `pickle.dump(s)`, `copy.deepcopy`, a process pool, executor, `Process` or
    multiprocessing queue (arguments, `initargs`, bound methods, results), `shelve`,
    `joblib.dump`, the golden store or the `serialcompat` fixture; or the class defines or
    inherits a pickling method; or a base class has such evidence (see [Evidence](#evidence)).
    Without evidence it stays silent; `strict = true` (or `--strict`) reports every such class.
    A class deriving from one that can never be pickled (`threading.Thread`, an executor or
    pool, `socket.socket`, an `io` file class, `queue.Queue`) is not reported for what it stores;
    if it is pickled, the class itself is reported: pickle the data it works on instead.
    Messages name the state key (`_Timer__lock` for `self.__lock` in class `Timer`).

    ## Why is this bad?
    Pickling the object (for a cache, a process pool, `copy.deepcopy`, a session store) fails
    with `TypeError: cannot pickle '_thread.lock' object` (or `'_io.TextIOWrapper'`, `'generator'`,
    ...), often far from the class and only in production.

    ## Example
    ```python
    import threading

    class Counter:
        def __init__(self):
            self.count = 0
            self._lock = threading.Lock()
    ```

    ## Use instead
    ```python
    import threading

    class Counter:
        def __init__(self):
            self.count = 0
            self._lock = threading.Lock()

        def __getstate__(self):
            state = self.__dict__.copy()
            del state["_lock"]
            return state

        def __setstate__(self, state):
            self.__dict__.update(state)
            self._lock = threading.Lock()
    ```
    """

    CODE = "SC102"
    NAME = "unpicklable-resource-attribute"
    SUMMARY = "A class stores a lock, thread, socket, open file, generator or lambda in its state."
    SEVERITY = "warning"
    VALID = [
        # nothing pickles it
        "import threading\nclass Counter:\n    def __init__(self):\n        self._lock = threading.Lock()\n",
        "import pickle, threading\nclass Worker(threading.Thread):\n    def __init__(self):\n        super().__init__()\n        self._lock = threading.Lock()\n",
        "import copy, threading\nclass Base:\n    def __reduce__(self):\n        return (Base, ())\nclass Counter(Base):\n    def __init__(self):\n        self._lock = threading.Lock()\ncopy.deepcopy(Counter())\n",
        "import copyreg, pickle, threading\nclass Counter:\n    def __init__(self):\n        self._lock = threading.Lock()\ndef reduce_counter(c):\n    return (Counter, ())\ncopyreg.pickle(Counter, reduce_counter)\n",
        "import pickle, threading\nclass Outer:\n    def run(self):\n        class Inner:\n            def __init__(self):\n                self._lock = threading.Lock()\n        return Inner()\npickle.dumps(Outer())\n",
        "import threading\nclass Counter:\n    def __init__(self):\n        self._lock = threading.Lock()\n    def __getstate__(self):\n        state = self.__dict__.copy()\n        del state['_lock']\n        return state\n",
        "import threading\nclass Counter:\n    def __init__(self):\n        self._lock = threading.Lock()\n    def __reduce__(self):\n        return (Counter, ())\n",
        "class Lock:\n    pass\nclass Counter:\n    def __init__(self):\n        self._lock = Lock()\n",
        "import threading\nclass Counter:\n    def __init__(self):\n        lock = threading.Lock()\n        self.count = 0\n",
        "import threading\nclass Point:\n    def __init__(self, x):\n        self.x = x\n    def __getstate__(self):\n        return {'x': self.x, 'version': 1}\n",
    ]
    INVALID = [
        Invalid("import pickle, threading\nclass Counter:\n    def __init__(self):\n        self.count = 0\n        self._lock = threading.Lock()\ndef save(f):\n    pickle.dump(Counter(), f)\n", (5,)),
        Invalid("import copy\nfrom threading import RLock as L\nclass Counter:\n    def __init__(self):\n        self._lock = L()\n    def clone(self):\n        return copy.deepcopy(self)\n", (5,)),
        Invalid("import pickle\nclass Reader:\n    def __init__(self, path):\n        self.handle = open(path)\n        self.key = lambda item: item\nblob = pickle.dumps(Reader('p'))\n", (4, 5)),
        Invalid("import sqlite3\nclass Store:\n    def __init__(self, path):\n        self.conn = sqlite3.connect(path)\n        self.cur = self.conn.cursor()\n    def __setstate__(self, state):\n        self.__dict__.update(state)\n", (4, 5)),
        Invalid("import dataclasses, threading\nfrom concurrent.futures import ProcessPoolExecutor\n@dataclasses.dataclass\nclass Job:\n    name: str\n    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)\ndef run(work):\n    with ProcessPoolExecutor() as ex:\n        ex.submit(work, Job('a'))\n", (6,)),
        Invalid("import pickle\nclass Feed:\n    def __init__(self, items):\n        self.rows = (i for i in items)\n        self.pages = self._pages()\n    def _pages(self):\n        yield 1\ndef save(feed, f):\n    pickle.dump(Feed([]), f)\n", (4, 5)),
        Invalid("import threading\nclass Cache:\n    def __init__(self):\n        self._lock = threading.Lock()\n    def __getstate__(self):\n        return self.__dict__.copy()\n", (4,)),
        Invalid("import multiprocessing, threading\nclass Timer:\n    def __init__(self):\n        self.__lock = threading.Lock()\n    def start(self):\n        multiprocessing.Process(target=self.tick).start()\n    def tick(self):\n        pass\n", (4,)),
        Invalid("import multiprocessing, pickle\nctx = multiprocessing.get_context('spawn')\nclass Tracker:\n    def __init__(self):\n        self._lock = ctx.Lock()\n        self.inbox = multiprocessing.Queue()\npickle.dumps(Tracker())\n", (5, 6)),
        Invalid("import copy, multiprocessing\nclass Mailbox:\n    def __init__(self):\n        self._ctx = multiprocessing.get_context()\n        self._ready = self._ctx.Event()\n    def clone(self):\n        return copy.deepcopy(self)\n", (5,)),
        Invalid("import pickle, threading\nclass Worker(threading.Thread):\n    def __init__(self):\n        super().__init__()\n        self._lock = threading.Lock()\ndef save():\n    return pickle.dumps(Worker())\n", (2,)),
    ]

    @classmethod
    def triggers(cls, settings: Any) -> Tuple[str, ...]:
        names = {q.rsplit(".", 1)[-1] for q in resources_for(settings)}
        return tuple(sorted(names | {"lambda", "yield", "for", "cursor"}))

    @classmethod
    def ast_prefilter(cls, tree: ast.AST, text: str, settings: Any) -> bool:
        """Cheap and sound: is there an assignment whose value could be a resource?

        One walk over CPython's ast: inside a class, a lambda or generator expression assigned,
        or a call assigned whose callee's last name is a resource constructor, an import alias
        of one, ``cursor``, dataclasses' ``field``, or (when the file yields) any function.
        """
        names = {q.rsplit(".", 1)[-1] for q in resources_for(settings)} | {"cursor", "field"}
        called: Set[str] = set()
        functions: Set[str] = set()
        stack = [(tree, False)]
        while stack:
            node, in_class = stack.pop()
            node_type = type(node)
            if in_class and (node_type is ast.Assign or node_type is ast.AnnAssign):
                value = node.value
                value_type = type(value)
                if value_type is ast.Lambda or value_type is ast.GeneratorExp:
                    return True
                if value_type is ast.Call:
                    func = value.func
                    if type(func) is ast.Name:
                        called.add(func.id)
                    elif type(func) is ast.Attribute:
                        called.add(func.attr)
            elif node_type is ast.FunctionDef or node_type is ast.AsyncFunctionDef:
                functions.add(node.name)
            elif node_type is ast.ClassDef:
                in_class = True
            elif node_type is ast.ImportFrom or node_type is ast.Import:
                for alias in node.names:
                    if alias.asname and alias.name.rsplit(".", 1)[-1] in names:
                        names.add(alias.asname)
                continue
            if node_type is ast.Expr or node_type is ast.Constant or node_type is ast.Name:
                continue  # statements and leaves that cannot contain an assignment
            for child in ast.iter_child_nodes(node):
                stack.append((child, in_class))
        if "yield" in text:
            names |= functions
        return not called.isdisjoint(names)

    def check(self, ctx: FileContext) -> Iterator[Report]:
        """Candidates only: whether each is reported is decided over the whole project."""
        resources = resources_for(self.settings)
        for class_def in ctx.nodes(cst.ClassDef):
            methods = _methods(class_def)
            qualname = qualname_of(ctx, class_def)
            for node, attr, label in self._stored_resources(ctx, class_def, methods, resources):
                yield Report(node, "", pending=Pending(qualname, mangle(class_def.name.value, attr), label))

    # -- project-wide decision -------------------------------------------------------------------
    def decide(self, index: ProjectIndex, facts: ModuleFacts, candidate: Candidate) -> Optional[str]:
        qname = _qualified(facts, candidate.cls)
        mro = index.mro(qname)
        if index.first_with(mro, REDUCE_HOOKS) is not None or index.reducer_for(qname) is not None:
            return None
        getstate = index.first_with(mro, (_GETSTATE,))
        if getstate is not None:
            owner = getstate[1]
            if candidate.key in owner.getstate_keys or not owner.getstate_copies:
                return None
        strict = self.settings.strict
        if index.never_pickled(mro) is not None and not strict:
            return None  # the class as a whole is the hazard: decide_class
        evidence = class_evidence(index, qname, mro)
        if evidence is None and not strict:
            return None
        name = candidate.cls.rsplit(".", 1)[-1]
        because = "" if evidence is None else ", and %s is %s" % (name, evidence)
        return (
            "%s.%s holds %s, which cannot be pickled%s; exclude %r in __getstate__ (and recreate "
            "it in __setstate__) or define __reduce__" % (name, candidate.key, candidate.label, because, candidate.key)
        )

    def decide_class(self, index: ProjectIndex, facts: ModuleFacts, class_facts: ClassFacts) -> Optional[str]:
        """A class that can never be pickled (a Thread, executor, socket or file) but is."""
        qname = _qualified(facts, class_facts.qualname)
        mro = index.mro(qname)
        never = index.never_pickled(mro)
        if never is None:
            return None
        if index.first_with(mro, REDUCE_HOOKS + (_GETSTATE,)) is not None or index.reducer_for(qname) is not None:
            return None
        evidence = index.site_evidence(mro[:1])
        if evidence is None:
            return None
        name = class_facts.qualname.rsplit(".", 1)[-1]
        return (
            "%s derives from %s (%s), whose instances cannot be pickled, but %s is %s: pickle the "
            "data it works on instead, or give it a __reduce__" % (name, never[0], never[1], name, evidence.describe(qname))
        )

    def _stored_resources(self, ctx: FileContext, class_def: cst.ClassDef, methods: Dict[str, cst.FunctionDef], resources: Dict[str, str]) -> Iterator[Tuple[Any, str, str]]:
        for method in methods.values():
            receiver = first_param(method)
            if receiver is None:
                continue
            for node in ctx.walk(method.body):
                if not isinstance(node, (cst.Assign, cst.AnnAssign)) or not _receiver_is_methods(ctx, node, method, receiver):
                    continue
                if isinstance(node, cst.Assign):
                    targets = [t.target for t in node.targets]
                elif isinstance(node, cst.AnnAssign) and node.value is not None:
                    targets = [node.target]
                else:
                    continue
                for target in targets:
                    if (
                        isinstance(target, cst.Attribute)
                        and isinstance(target.value, cst.Name)
                        and target.value.value == receiver
                    ):
                        label = self._resource_label(ctx, node.value, methods, resources)
                        if label is not None:
                            yield node, target.attr.value, label
        if self._is_dataclass(ctx, class_def) and isinstance(class_def.body, cst.IndentedBlock):
            for statement in class_def.body.body:
                if not isinstance(statement, cst.SimpleStatementLine):
                    continue
                for small in statement.body:
                    if isinstance(small, cst.AnnAssign) and small.value is not None and isinstance(small.target, cst.Name):
                        label = self._field_label(ctx, small.value, methods, resources)
                        if label is not None:
                            yield small, small.target.value, label

    @staticmethod
    def _is_dataclass(ctx: FileContext, class_def: cst.ClassDef) -> bool:
        for decorator in class_def.decorators:
            expr = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
            if terminal_name(expr) in ctx.local_names_for(("dataclass",)) or ctx.full:
                if ctx.resolves_to(expr, ("dataclasses.dataclass",)):
                    return True
        return False

    def _field_label(self, ctx: FileContext, value: Any, methods: Dict[str, cst.FunctionDef], resources: Dict[str, str]) -> Optional[str]:
        if isinstance(value, cst.Call) and ctx.resolves_to(value.func, ("dataclasses.field",)):
            factory = argument(value, None, "default_factory")
            if factory is None:
                return None
            if isinstance(factory, cst.Lambda):
                return self._resource_label(ctx, factory.body, methods, resources)
            if ctx.resolves_to(factory, resources):
                for qname in ctx.qualified_names(factory):
                    if qname in resources:
                        return resources[qname]
            return None
        return self._resource_label(ctx, value, methods, resources)

    def _resource_label(self, ctx: FileContext, value: Any, methods: Dict[str, cst.FunctionDef], resources: Dict[str, str]) -> Optional[str]:
        if isinstance(value, cst.Lambda):
            return "a lambda"
        if isinstance(value, cst.GeneratorExp):
            return "a generator"
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        name = terminal_name(func)
        if name is None:
            return None
        if not ctx.full:
            wanted = ctx.local_names_for({q.rsplit(".", 1)[-1] for q in resources}) | {"cursor"}
            if name not in wanted and not self._maybe_generator_name(ctx, func):
                return None
        if ctx.resolves_to(func, resources):
            for qname in ctx.qualified_names(func):
                if qname in resources:
                    return resources[qname]
        if isinstance(func, cst.Attribute) and name in CONTEXT_RESOURCES:
            owner = object_kind(ctx, func.value)
            if owner is not None and owner.kind == "context":
                return CONTEXT_RESOURCES[name]
        if isinstance(func, cst.Attribute) and name == "cursor":
            for owner in resolve(ctx, func.value):
                if isinstance(owner, cst.Call) and ctx.resolves_to(owner.func, _SQLITE_CONNECT):
                    return "a sqlite3 cursor"
        target = self._called_function(ctx, func, methods)
        if target is not None and _is_generator_function(ctx, target):
            return "a generator"
        return None

    @staticmethod
    def _maybe_generator_name(ctx: FileContext, func: Any) -> bool:
        generators = ctx.cache.get("generator_names")
        if generators is None:
            generators = {f.name.value for f in ctx.nodes(cst.FunctionDef) if _is_generator_function(ctx, f)}
            ctx.cache["generator_names"] = generators
        return terminal_name(func) in generators

    @staticmethod
    def _called_function(ctx: FileContext, func: Any, methods: Dict[str, cst.FunctionDef]) -> Optional[cst.FunctionDef]:
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            return methods.get(func.attr.value)
        if isinstance(func, cst.Name):
            for value in resolve(ctx, func):
                if isinstance(value, cst.FunctionDef):
                    return value
        return None


def _qualified(facts: ModuleFacts, qualname: str) -> str:
    return "%s.%s" % (facts.module, qualname) if facts.module else qualname


def class_evidence(index: ProjectIndex, qname: str, mro: List[str]) -> Optional[str]:
    """Why we believe the class is pickled, or None: a site, else a (possibly inherited) hook."""
    site = index.site_evidence(mro)
    if site is not None:
        return site.describe(qname)
    hooks = index.first_with(mro, PICKLING_METHODS)
    if hooks is not None:
        owner, facts = hooks
        method = next(h for h in PICKLING_METHODS if h in facts.hooks)
        if owner == qname:
            return "meant to be pickled (it defines %s)" % method
        return "meant to be pickled (it inherits %s from %s)" % (method, owner.rsplit(".", 1)[-1])
    return None


def _receiver_is_methods(ctx: FileContext, node: cst.CSTNode, method: cst.FunctionDef, receiver: str) -> bool:
    """``node`` is in ``method`` itself, not in a class defined inside it, and ``receiver`` there
    is still the method's first parameter (no nested function or lambda rebinds it)."""
    for ancestor in ctx.ancestors(node):
        if ancestor is method:
            return True
        if isinstance(ancestor, cst.ClassDef):
            return False
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            params = ancestor.params
            names = [p.name.value for p in list(params.posonly_params) + list(params.params) + list(params.kwonly_params)]
            if receiver in names:
                return False
    return False


class LocalReconstructor(Rule):
    """
    ## What it does
    Flags `__reduce__`/`__reduce_ex__` methods that return a lambda, a nested function or a class
    defined in a function as the reconstructor (the first item of the returned tuple).

    Not reported where the code pickles by value: with `pickler = "cloudpickle"` (or `"dill"`)
    in `[tool.serialcompat.lint]`, or in a file that imports exactly one of cloudpickle and dill.

    ## Why is this bad?
    The reconstructor is itself pickled by reference (module and qualified name).  A lambda or a
    local function has no importable name, so every attempt to pickle the object fails, and the
    method looks correct until someone pickles an instance.

    ## Example
    ```python
    class Point:
        def __init__(self, x):
            self.x = x

        def __reduce__(self):
            return (lambda x: Point(x), (self.x,))
    ```

    ## Use instead
    ```python
    class Point:
        def __init__(self, x):
            self.x = x

        def __reduce__(self):
            return (Point, (self.x,))
    ```
    """

    CODE = "SC104"
    NAME = "local-reconstructor"
    SUMMARY = "`__reduce__` returns a lambda or local function as the reconstructor."
    SEVERITY = "error"
    TRIGGERS = ("__reduce__", "__reduce_ex__")
    VALID = [
        "class Point:\n    def __reduce__(self):\n        return (Point, (1,))\n",
        "def rebuild(x):\n    return x\nclass Point:\n    def __reduce_ex__(self, protocol):\n        return (rebuild, (1,))\n",
        "class Point:\n    def __reduce__(self):\n        def helper():\n            return 1\n        return (Point, (helper(),))\n",
        # cloudpickle stores the lambda by value
        "import cloudpickle\nclass Point:\n    def __reduce__(self):\n        return (lambda: Point(), ())\ndata = cloudpickle.dumps(Point())\n",
    ]
    INVALID = [
        Invalid("class Point:\n    def __reduce__(self):\n        return (lambda x: Point(), (1,))\n", (3,)),
        Invalid("class Point:\n    def __reduce_ex__(self, protocol):\n        def rebuild(x):\n            return Point()\n        return rebuild, (1,)\n", (5,)),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        if by_value_pickler(ctx) is not None:
            return  # cloudpickle and dill pickle local functions by value
        for function in ctx.nodes(cst.FunctionDef):
            if function.name.value not in _STATE_HOOKS:
                continue
            for node in ctx.walk(function.body):
                if not isinstance(node, cst.Return) or ctx.enclosing(node, (cst.FunctionDef, cst.Lambda)) is not function:
                    continue
                if not isinstance(node.value, cst.Tuple) or not node.value.elements:
                    continue
                first = node.value.elements[0].value
                reason = unpicklable_reason(ctx, first)
                if reason is not None:
                    yield Report(
                        first,
                        "%s returns %s as the reconstructor; pickle stores it by name and cannot find "
                        "it again: use a module-level function or the class" % (function.name.value, reason),
                    )
