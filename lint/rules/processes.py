"""Rules about work handed to other processes: SC101, SC103, SC109."""
from typing import Any, Iterator, List, NamedTuple, Optional, Set, Tuple

import libcst as cst

from ..context import FileContext, terminal_name
from ..fixes import hoist_lambda_fix
from ..evidence import Candidate, ModuleFacts, ProjectIndex, qualname_of
from ..model import Invalid, Pending, Report, Rule
from ..semantics import (
    FACTORY_NAMES,
    argument,
    first_param,
    factory_kind,
    is_local_definition,
    is_started,
    local_class_of,
    matches,
    object_kind,
    string_value,
    unpicklable_reason,
)

POOL_METHODS = frozenset(
    ("map", "imap", "imap_unordered", "starmap", "apply", "apply_async", "map_async", "starmap_async")
)
EXECUTOR_METHODS = frozenset(("submit", "map"))
PICKLE_DUMPERS = frozenset(("pickle.dumps", "pickle.dump", "_pickle.dumps", "_pickle.dump"))
PROCESS_MODULE_WORDS = ("multiprocessing", "concurrent")
#: ``self.<attr>.<method>(`` where a base class (maybe in another module) set up ``<attr>``.
ATTRIBUTE_WORK_CALL = r"\bself\.\w+\.(?:%s)\(" % "|".join(sorted(POOL_METHODS | EXECUTOR_METHODS | {"Process"}))


class WorkCall:
    """A call that hands work to other processes: which callable and which data it ships."""

    def __init__(self, call: cst.Call, callable_expr: Optional[Any], payload: List[Any], label: str) -> None:
        self.call = call
        self.callable_expr = callable_expr
        self.payload = payload
        self.label = label


def _args_except(call: cst.Call, skip_position: int, skip_keywords: Tuple[str, ...]) -> List[Any]:
    values = []
    position = 0
    for arg in call.args:
        if arg.keyword is not None:
            if arg.keyword.value not in skip_keywords:
                values.append(arg.value)
            continue
        if position != skip_position or arg.star:
            values.append(arg.value)
        position += 1
    return values


def work_calls(ctx: FileContext) -> Iterator[WorkCall]:
    """Every call in the file that ships a callable or data to a process (pool, executor, Process)."""
    for call in ctx.calls_named(POOL_METHODS | EXECUTOR_METHODS | FACTORY_NAMES):
        func = call.func
        kind = factory_kind(ctx, call)
        if kind is not None:
            if kind.kind == "process":
                payload = [v for v in (argument(call, 3, "args"), argument(call, 4, "kwargs")) if v is not None]
                yield WorkCall(call, argument(call, 1, "target"), payload, "Process(target=...)")
            elif kind.kind == "process_pool":
                yield WorkCall(call, argument(call, 1, "initializer"), [], "the pool's initializer")
            elif kind.kind == "process_executor":
                yield WorkCall(call, argument(call, 2, "initializer"), [], "the executor's initializer")
            continue
        if not isinstance(func, cst.Attribute):
            continue
        method = func.attr.value
        if method not in POOL_METHODS and method not in EXECUTOR_METHODS:
            continue
        owner = object_kind(ctx, func.value)
        if owner is None:
            continue
        if owner.kind == "process_pool" and method in POOL_METHODS:
            yield WorkCall(call, argument(call, 0, "func"), _args_except(call, 0, ("func", "callback", "error_callback")), "Pool.%s" % method)
        elif owner.kind == "process_executor" and method in EXECUTOR_METHODS:
            yield WorkCall(call, argument(call, 0, "fn"), _args_except(call, 0, ("fn", "timeout", "chunksize")), "ProcessPoolExecutor.%s" % method)


class AttributeWorkCall(NamedTuple):
    """``self.<attr>.<method>(...)`` in a method, where the file alone cannot tell what
    ``self.<attr>`` holds (it is set up by a base class, possibly in another module)."""

    call: cst.Call
    class_def: cst.ClassDef
    attr: str
    method: str
    callable_expr: Optional[Any]
    payload: List[Any]


def attribute_work_calls(ctx: FileContext) -> Iterator[AttributeWorkCall]:
    """Candidates whose pool, executor or context is decided over the project's class facts."""
    for call in ctx.calls_named(POOL_METHODS | EXECUTOR_METHODS | {"Process"}):
        func = call.func
        if not isinstance(func, cst.Attribute):
            continue
        owner = func.value
        if not (isinstance(owner, cst.Attribute) and isinstance(owner.value, cst.Name)):
            continue
        method = func.attr.value
        if method not in POOL_METHODS and method not in EXECUTOR_METHODS and method != "Process":
            continue
        class_def = _method_class(ctx, call, owner.value.value)
        if class_def is None or object_kind(ctx, owner) is not None:
            continue  # not self.<attr>, or decided by the file alone (work_calls)
        if method == "Process":
            payload = [v for v in (argument(call, 3, "args"), argument(call, 4, "kwargs")) if v is not None]
            yield AttributeWorkCall(call, class_def, owner.attr.value, method, argument(call, 1, "target"), payload)
        else:
            keyword = "fn" if method == "submit" else "func"
            callable_expr = argument(call, 0, keyword) or argument(call, None, "fn" if keyword == "func" else "func")
            payload = _args_except(call, 0, ("fn", "func", "timeout", "chunksize", "callback", "error_callback"))
            yield AttributeWorkCall(call, class_def, owner.attr.value, method, callable_expr, payload)


def _method_class(ctx: FileContext, node: Any, receiver: str) -> Optional[cst.ClassDef]:
    """The class of the method (around ``node``) whose first parameter is ``receiver``."""
    function = ctx.enclosing(node, cst.FunctionDef)
    while function is not None:
        owner = ctx.parent(ctx.parent(function))
        if isinstance(owner, cst.ClassDef):
            return owner if first_param(function) == receiver else None
        function = ctx.enclosing(function, cst.FunctionDef)
    return None


def attribute_work_label(kind: Optional[str], method: str) -> Optional[str]:
    """How messages name the work call, when ``self.<attr>`` (of ``kind``) ships work to processes."""
    if kind == "process_pool" and method in POOL_METHODS:
        return "Pool.%s" % method
    if kind == "process_executor" and method in EXECUTOR_METHODS:
        return "ProcessPoolExecutor.%s" % method
    if kind == "context" and method == "Process":
        return "Process(target=...)"
    return None


def _attribute_candidate_kind(index: ProjectIndex, facts: ModuleFacts, candidate: Candidate) -> Tuple[str, Optional[str]]:
    qname = "%s.%s" % (facts.module, candidate.cls) if facts.module else candidate.cls
    attr, _, method = candidate.key.rpartition(".")
    label = attribute_work_label(index.attribute_kind(qname, attr), method)
    return attr, label


class UnpicklableProcessCallable(Rule):
    """
    ## What it does
    Flags a callable that cannot be pickled by reference (a lambda, a nested function, a class
    defined in a function or a method of one, or a `functools.partial` over any of those) handed
    as work to another process: `Process(target=...)`, the `Pool` methods (`map`, `imap`,
    `imap_unordered`, `starmap`, `apply`, `apply_async`, `map_async`, `starmap_async`),
    `ProcessPoolExecutor.submit`/`map`, and the `initializer=` of pools and executors.
    The pool, executor or context is found through local names, `with ... as` targets,
    `multiprocessing.get_context(...)` results and `self.<attr>`: what the class or any of its
    bases assigns to the attribute (`self.executor = ProcessPoolExecutor(...)`,
    `self.executor = self.executor_type(...)` with `executor_type = ProcessPoolExecutor` in a
    subclass, `self.pool = self._ctx.Pool()` with `self._ctx = get_context("spawn")`, a method
    returning one), across modules where the bases resolve (see [Reach](#reach)).
    Thread pools (`ThreadPoolExecutor`, `multiprocessing.dummy`, `ThreadPool`) are not flagged,
    nor is a `Process` that is visibly never started (bound to a name only ever used as
    `p.<attribute>` other than `start`; `strict = true` reports it too).  With
    `pickler = "cloudpickle"` (or `"dill"`) in `[tool.serialcompat.lint]`, the project's pools and
    executors pickle by value (loky, dask, a cloudpickle `ForkingPickler`) and nothing is flagged.

    ## Why is this bad?
    Under the `spawn` and `forkserver` start methods the callable is pickled, and pickle stores
    functions and classes by their qualified name: `<lambda>` and `f.<locals>.g` cannot be found
    again, so the call fails with `PicklingError` or `AttributeError: Can't pickle local object`.
    It works under `fork` only by accident, and Python 3.14 makes `forkserver` the default on
    Linux (macOS and Windows already use `spawn`).

    ## Example
    ```python
    from multiprocessing import Pool

    def run(items):
        with Pool() as pool:
            return pool.map(lambda x: x * 2, items)
    ```

    ## Use instead
    ```python
    from multiprocessing import Pool

    def double(x):
        return x * 2

    def run(items):
        with Pool() as pool:
            return pool.map(double, items)
    ```
    `--fix` hoists a lambda that uses only its parameters and module-level names into a
    module-level function.
    """

    CODE = "SC101"
    NAME = "unpicklable-process-callable"
    SUMMARY = "A lambda, nested function or local class is handed as work to another process."
    SEVERITY = "error"
    TRIGGERS = PROCESS_MODULE_WORDS
    TRIGGER_ALSO = ATTRIBUTE_WORK_CALL
    VALID = [
        "from multiprocessing import Pool\ndef double(x):\n    return x * 2\ndef run(items):\n    with Pool() as pool:\n        return pool.map(double, items)\n",
        "from concurrent.futures import ThreadPoolExecutor\ndef run(items):\n    with ThreadPoolExecutor() as ex:\n        return list(ex.map(lambda x: x, items))\n",
        "from multiprocessing.dummy import Pool\ndef run(items):\n    with Pool() as pool:\n        return pool.map(lambda x: x, items)\n",
        "from multiprocessing.pool import ThreadPool\ndef run(items):\n    pool = ThreadPool()\n    return pool.map(lambda x: x, items)\n",
        # a same-named method of an unrelated object
        "class Pool:\n    def map(self, f, items):\n        return [f(i) for i in items]\ndef run(items):\n    return Pool().map(lambda x: x, items)\n",
        "import multiprocessing as mp\ndef work():\n    pass\ndef run():\n    p = mp.Process(target=work)\n    p.start()\n",
        # the callback runs in the parent: never pickled
        "from multiprocessing import Pool\ndef work(x):\n    return x\ndef run():\n    with Pool() as pool:\n        pool.apply_async(work, (1,), callback=lambda r: print(r))\n",
        # the base class sets the attribute to a thread pool
        "from concurrent import futures\nclass ExecutorMixin:\n    def setUp(self):\n        self.executor = self.executor_type()\n"
        "class ThreadMixin(ExecutorMixin):\n    executor_type = futures.ThreadPoolExecutor\nclass Test(ThreadMixin):\n"
        "    def test(self):\n        self.executor.submit(lambda: 1)\n",
        # nothing in the file or its bases says what self.executor is
        "class Test:\n    def test(self):\n        self.executor.submit(lambda: 1)\n",
        # never started
        "import multiprocessing\ndef test_flush(f):\n    proc = multiprocessing.Process(target=lambda: f.flush())\n    assert proc.name\n",
    ]
    INVALID = [
        Invalid(
            "from multiprocessing import Pool\ndef run(items):\n    with Pool() as pool:\n        return pool.map(lambda x: x * 2, items)\n",
            (4,),
            fixed="from multiprocessing import Pool\ndef _map_task(x):\n    return x * 2\ndef run(items):\n    with Pool() as pool:\n        return pool.map(_map_task, items)\n",
        ),
        Invalid(
            "import multiprocessing as mp\ndef run():\n    def work():\n        pass\n    p = mp.Process(target=work)\n    p.start()\n",
            (5,),
        ),
        Invalid(
            "import multiprocessing as mp\ndef run(items):\n    ctx = mp.get_context('spawn')\n    with ctx.Pool(initializer=lambda: None) as pool:\n        pool.map(str, items)\n",
            (4,),
        ),
        Invalid(
            "from concurrent.futures import ProcessPoolExecutor as PPE\nimport functools\ndef run(items):\n    def scale(k, x):\n        return k * x\n    with PPE() as ex:\n        return list(ex.map(functools.partial(scale, 2), items))\n",
            (7,),
        ),
        Invalid(
            "from multiprocessing import Pool as P\ndef run(items):\n    class Worker:\n        def go(self, x):\n            return x\n    pool = P(4)\n    return pool.apply_async(Worker().go, (1,))\n",
            (7,),
        ),
        Invalid(
            "from concurrent.futures import ProcessPoolExecutor\nsquare = lambda x: x * x\ndef run():\n    with ProcessPoolExecutor() as ex:\n        return ex.submit(square, 3)\n",
            (5,),
        ),
        # self.<attr> set up by a base class, through a class attribute the subclass sets
        Invalid(
            "from concurrent import futures\nclass ExecutorMixin:\n    def setUp(self):\n        self.executor = self.executor_type(max_workers=2)\n"
            "class SpawnMixin(ExecutorMixin):\n    executor_type = futures.ProcessPoolExecutor\nclass Test(SpawnMixin):\n"
            "    def test(self):\n        def job():\n            pass\n        self.executor.submit(job)\n",
            (11,),
        ),
        Invalid(
            "import multiprocessing\nclass Service:\n    def __init__(self):\n        self._ctx = multiprocessing.get_context('spawn')\n        self.pool = self._ctx.Pool(2)\n"
            "class Crawler(Service):\n    def crawl(self, urls):\n        return self.pool.map(lambda u: u, urls)\n",
            (8,),
        ),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        if self.settings.by_value_pickler():
            return
        for work in work_calls(ctx):
            if work.callable_expr is None:
                continue
            if work.label.startswith("Process") and not self.settings.strict and not is_started(ctx, work.call):
                continue
            reason = unpicklable_reason(ctx, work.callable_expr)
            if reason is None:
                continue
            fix = None
            if isinstance(work.callable_expr, cst.Lambda):
                fix = hoist_lambda_fix(ctx, work.callable_expr, _task_name(work))
            yield Report(work.callable_expr, self.message(reason, work.label), fix)
        for work in attribute_work_calls(ctx):
            if work.callable_expr is None:
                continue
            if work.method == "Process" and not self.settings.strict and not is_started(ctx, work.call):
                continue
            reason = unpicklable_reason(ctx, work.callable_expr)
            if reason is not None:
                yield Report(work.callable_expr, "", pending=Pending(qualname_of(ctx, work.class_def), "%s.%s" % (work.attr, work.method), reason))

    @staticmethod
    def message(reason: str, label: str) -> str:
        return ("%s handed to %s cannot be pickled by reference: it fails under the spawn and "
                "forkserver start methods; use a module-level function" % (reason, label))

    def decide(self, index: ProjectIndex, facts: ModuleFacts, candidate: Candidate) -> Optional[str]:
        """``self.<attr>.submit(...)``: report it if the class or a base makes ``<attr>`` a process
        pool, executor or context (see ``ProjectIndex.attribute_kind``)."""
        attr, label = _attribute_candidate_kind(index, facts, candidate)
        if label is None:
            return None
        return self.message(candidate.label, "%s (self.%s, set up in the class or a base)" % (label, attr))


def _task_name(work: WorkCall) -> str:
    if work.label.startswith("Process"):
        return "_process_target"
    if "initializer" in work.label:
        return "_initializer"
    return "_%s_task" % work.label.rsplit(".", 1)[-1]


class LocalClassPickled(Rule):
    """
    ## What it does
    Flags instances (or the class object) of a class defined inside a function that are pickled
    with `pickle.dump`/`pickle.dumps`, or sent as data to a process pool, an executor or a
    `Process(args=...)`, including one that a base class keeps on `self` (as for SC101).

    With `pickler = "cloudpickle"` (or `"dill"`) only explicit `pickle.dump`/`pickle.dumps`
    calls are checked: the project's pools and executors pickle classes by value.

    ## Why is this bad?
    Pickle stores an instance's class by module and qualified name.  A class defined inside a
    function is named `f.<locals>.C`, which the unpickler can never look up, so pickling fails
    with `Can't pickle local object` (and a process pool fails when it ships the arguments).

    ## Example
    ```python
    import pickle

    def save(x):
        class Point:
            def __init__(self, x):
                self.x = x
        return pickle.dumps(Point(x))
    ```

    ## Use instead
    ```python
    import pickle

    class Point:
        def __init__(self, x):
            self.x = x

    def save(x):
        return pickle.dumps(Point(x))
    ```
    """

    CODE = "SC103"
    NAME = "local-class-pickled"
    SUMMARY = "An instance of a class defined inside a function is pickled or sent to a process."
    SEVERITY = "error"
    TRIGGERS = PROCESS_MODULE_WORDS + ("pickle",)
    TRIGGER_ALSO = ATTRIBUTE_WORK_CALL
    # A class defined inside a function is indented.
    TRIGGER_REQUIRES = r"^[ \t]+class\b"
    VALID = [
        "import pickle\nclass Point:\n    pass\ndef save():\n    return pickle.dumps(Point())\n",
        "import json\ndef save():\n    class Point:\n        pass\n    return json.dumps(str(Point()))\n",
        "from concurrent.futures import ThreadPoolExecutor\ndef run(f):\n    class Job:\n        pass\n    with ThreadPoolExecutor() as ex:\n        ex.submit(f, Job())\n",
        "def dumps(x):\n    return x\ndef save():\n    class Point:\n        pass\n    return dumps(Point())\n",
    ]
    INVALID = [
        Invalid("import pickle\ndef save():\n    class Point:\n        pass\n    return pickle.dumps(Point())\n", (5,)),
        Invalid("import pickle as pk\ndef save(f):\n    class Point:\n        pass\n    p = Point()\n    pk.dump([p], f)\n", (6,)),
        Invalid(
            "from concurrent.futures import ProcessPoolExecutor\ndef work(job):\n    return job\ndef run():\n    class Job:\n        pass\n    with ProcessPoolExecutor() as ex:\n        ex.submit(work, Job())\n",
            (8,),
        ),
        Invalid(
            "import multiprocessing\ndef work(job):\n    pass\ndef run():\n    class Job:\n        pass\n    multiprocessing.Process(target=work, args=(Job(),)).start()\n",
            (7,),
        ),
        Invalid(
            "from concurrent.futures import ProcessPoolExecutor\nclass Base:\n    def setUp(self):\n        self.executor = ProcessPoolExecutor()\n"
            "class Test(Base):\n    def test(self):\n        class Job:\n            pass\n        self.executor.submit(print, Job())\n",
            (9,),
        ),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        if not ctx.full and not any(is_local_definition(ctx, c) for c in ctx.nodes(cst.ClassDef)):
            return
        for call, payload, label in self._payloads(ctx):
            for node, class_def in _local_classes_sent(ctx, payload):
                yield Report(node, self.message(class_def.name.value, label))
        if self.settings.by_value_pickler():
            return
        for work in attribute_work_calls(ctx):
            for node, class_def in _local_classes_sent(ctx, work.payload):
                yield Report(node, "", pending=Pending(qualname_of(ctx, work.class_def), "%s.%s" % (work.attr, work.method), class_def.name.value))

    @staticmethod
    def message(name: str, label: str) -> str:
        return "Class %r is defined inside a function, so its instances cannot be pickled (%s): define it at module level" % (name, label)

    def decide(self, index: ProjectIndex, facts: ModuleFacts, candidate: Candidate) -> Optional[str]:
        attr, label = _attribute_candidate_kind(index, facts, candidate)
        if label is None:
            return None
        return self.message(candidate.label, "sent to %s (self.%s, set up in the class or a base)" % (label, attr))

    def _payloads(self, ctx: FileContext) -> Iterator[Tuple[cst.Call, List[Any], str]]:
        for call in ctx.calls_named(("dump", "dumps")):
            if ctx.resolves_to(call.func, PICKLE_DUMPERS):
                obj = argument(call, 0, "obj")
                if obj is not None:
                    yield call, [obj], "pickled by %s" % terminal_name(call.func)
        if self.settings.by_value_pickler():
            return  # the project's pools and executors pickle by value
        for work in work_calls(ctx):
            if work.payload:
                yield work.call, work.payload, "sent to %s" % work.label


def _is_plain_value(ctx: FileContext, name: cst.Name) -> bool:
    """A name used as a value (an argument), not as the callee or an attribute owner."""
    parent = ctx.parent(name)
    if isinstance(parent, cst.Call):
        return parent.func is not name
    if isinstance(parent, cst.Attribute):
        return False
    return True


def _is_main_guard(test: Any) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = (test.left, target.comparator)
    names = [s for s in sides if isinstance(s, cst.Name) and s.value == "__name__"]
    strings = [s for s in sides if string_value(s) == "__main__"]
    return len(names) == 1 and len(strings) == 1


class UnguardedProcessStart(Rule):
    """
    ## What it does
    Flags code that runs at import time (module level, outside any function) and starts
    processes: creating a `multiprocessing.Pool` or `Manager`, calling `Process.start()`, or
    submitting work to a `ProcessPoolExecutor`, without an `if __name__ == "__main__":` guard,
    unless the start method is explicitly `fork`.  Pools made by a context
    (`multiprocessing.get_context("spawn").Pool()`, or a name bound to the context) count too.

    ## Why is this bad?
    Under `spawn` and `forkserver` every child process imports the main module again.  Unguarded
    module-level code then starts processes from inside the children: `RuntimeError: An attempt
    has been made to start a new process before the current process has finished its
    bootstrapping phase`, or a fork bomb.  `spawn` is the default on macOS and Windows, and
    Python 3.14 makes `forkserver` the default on Linux.

    ## Example
    ```python
    from multiprocessing import Pool

    def square(x):
        return x * x

    with Pool() as pool:
        print(pool.map(square, range(10)))
    ```

    ## Use instead
    ```python
    from multiprocessing import Pool

    def square(x):
        return x * x

    if __name__ == "__main__":
        with Pool() as pool:
            print(pool.map(square, range(10)))
    ```
    """

    CODE = "SC109"
    NAME = "unguarded-process-start"
    SUMMARY = "Processes are started at import time without an `if __name__ == \"__main__\":` guard."
    SEVERITY = "error"
    TRIGGERS = PROCESS_MODULE_WORDS
    VALID = [
        "from multiprocessing import Pool\ndef square(x):\n    return x * x\nif __name__ == '__main__':\n    with Pool() as pool:\n        pool.map(square, range(3))\n",
        "import multiprocessing as mp\nmp.set_start_method('fork')\npool = mp.Pool()\n",
        "import multiprocessing as mp\nctx = mp.get_context('fork')\npool = ctx.Pool()\n",
        "from concurrent.futures import ProcessPoolExecutor\nexecutor = ProcessPoolExecutor()  # starts nothing yet\ndef run(f):\n    return executor.submit(f)\n",
        "from multiprocessing import Pool\ndef main():\n    with Pool() as pool:\n        pool.map(str, range(3))\n",
        "from concurrent.futures import ThreadPoolExecutor\nwith ThreadPoolExecutor() as ex:\n    ex.submit(print, 1)\n",
    ]
    INVALID = [
        Invalid("from multiprocessing import Pool\ndef square(x):\n    return x * x\nwith Pool() as pool:\n    pool.map(square, range(3))\n", (4,)),
        Invalid("import multiprocessing as mp\ndef work():\n    pass\np = mp.Process(target=work)\np.start()\n", (5,)),
        Invalid("import multiprocessing as mp\nctx = mp.get_context('spawn')\nwith ctx.Pool(2) as pool:\n    pass\n", (3,)),
        Invalid("from concurrent.futures import ProcessPoolExecutor as PPE\nwith PPE() as ex:\n    ex.submit(print, 1)\n", (3,)),
    ]

    def check(self, ctx: FileContext) -> Iterator[Report]:
        default_start: Optional[str] = None
        candidates = []
        for call in ctx.calls_named(FACTORY_NAMES | EXECUTOR_METHODS | {"start", "set_start_method"}):
            if not self._runs_at_import(ctx, call):
                continue
            if ctx.resolves_to(call.func, ("multiprocessing.set_start_method",)):
                default_start = string_value(argument(call, 0, "method")) or default_start
                continue
            candidates.append(call)
        for call in candidates:
            kind = factory_kind(ctx, call)
            what = None
            start = None
            if kind is not None:
                if kind.kind in ("process_pool", "manager"):
                    what, start = ("a process pool" if kind.kind == "process_pool" else "a manager process"), kind.start_method
            elif isinstance(call.func, cst.Attribute):
                owner = object_kind(ctx, call.func.value)
                if owner is not None:
                    method = call.func.attr.value
                    if owner.kind == "process" and method == "start":
                        what, start = "a process", owner.start_method
                    elif owner.kind == "process_executor" and method in EXECUTOR_METHODS:
                        what, start = "executor worker processes", owner.start_method
            if what is None or (start or default_start) == "fork":
                continue
            yield Report(
                call,
                "Starts %s at import time without an `if __name__ == \"__main__\":` guard; under "
                "spawn/forkserver every child re-imports this module and starts processes again" % what,
            )

    @staticmethod
    def _runs_at_import(ctx: FileContext, node: cst.CSTNode) -> bool:
        for ancestor in ctx.ancestors(node):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            if isinstance(ancestor, cst.If) and _is_main_guard(ancestor.test):
                return False
        return True


def _local_classes_sent(ctx, payload):
    """(node, local class) for each local class a payload's expressions use, once per class."""
    reported: Set[Any] = set()
    for expr in payload:
        for node in ctx.walk(expr):
            if not isinstance(node, (cst.Name, cst.Call)):
                continue
            if isinstance(node, cst.Name) and not _is_plain_value(ctx, node):
                continue
            class_def = local_class_of(ctx, node)
            if class_def is None or class_def in reported:
                continue
            reported.add(class_def)
            yield node, class_def
