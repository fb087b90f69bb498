"""Rule documentation: ``--explain``, ``--list-rules`` and the generated docs/lint-rules.md."""
from typing import List, Sequence, Type

from .model import Rule
from .rules import ALL_RULES

__all__ = ["explain", "list_rules", "rules_markdown"]

_HEADER = """# serialcompat-lint rules

<!-- Generated from the rule classes in lint/rules/ by
     `python -m serialcompat_lint --write-docs docs/lint-rules.md`; tests check it is in sync. -->

Codes are stable.  Select with `--select`/`--ignore` or `[tool.serialcompat.lint]` in
pyproject.toml; suppress one line with `# noqa: SC101`.  `SC000` (file could not be decoded,
parsed, or nests too deeply) and `SC001` (internal error) are reported for files the linter could
not analyse.

| Code | Name | Severity | Default | Fix | Summary |
| --- | --- | --- | --- | --- | --- |
"""

_EVIDENCE = """
## Evidence

SC102 ("a class stores a lock") and SC105 ("a `__getstate__` record has no version") matter only
for classes that are pickled; SC101 only for work that is really started.  The linter therefore
reports them only with *evidence*, gathered over the whole project in the same run (not only the
files named on the command line: with a `pyproject.toml` at the root, the project's other files
contribute too, which is what makes the pre-commit hook, given only the changed files, see a
`pool.submit` in a file that did not change).

Each file contributes a small summary, cached with its findings (an unchanged tree re-decides from
the cache without parsing anything):

* **classes**: every class statement (read with CPython's `ast`, so files no rule looks at count
  too), its bases resolved through the module's imports (absolute and relative, and through
  re-exports such as `from .state import Stateful` in a package `__init__`), the pickling methods
  it defines (`__getstate__`, `__setstate__`, `__reduce__`, `__reduce_ex__`, `__getnewargs__`,
  `__getnewargs_ex__`) and which state keys its `__getstate__` mentions;
* **sites**: values that reach a pickler, with the classes visible in them (constructor calls,
  names bound to them, `self` in a method):

  | Site | Durable |
  | --- | --- |
  | `pickle.dump`, `Pickler(f).dump`, `f.write(pickle.dumps(x))`, `joblib.dump`, `cloudpickle.dump`, `dill.dump` | yes |
  | `shelve`: `db[key] = value` on a `shelve.open(...)` | yes |
  | the golden store: every `[module, qualname]` in a manifest's `"globals"` | yes |
  | `serialcompat.check(obj)` in a test; `[tool.serialcompat] samples` | yes |
  | `pickle.dumps`, `cloudpickle.dumps`, `dill.dumps`, `copy.deepcopy` | no |
  | process pools, `ProcessPoolExecutor`, `Process`: arguments, `initargs`, a bound method's instance (`target=self.run`), what the submitted function returns | no |
  | `put`/`put_nowait` on a `multiprocessing` queue | no |

* **reducers**: `copyreg.pickle(C, f)` and `multiprocessing.reduction.register(C, f)`; like the
  pickler's dispatch table, they apply to exactly `C`, not its subclasses.

A class has evidence when a site names it or a base class (a `Base`-typed value may hold a
subclass), or when it defines or inherits a pickling method.  SC105 needs a durable site: a pickle
sent to a worker or deep-copied lives no longer than the process.  The method resolution order is
followed as far as the bases resolve to project classes (depth first, left to right); an
unresolvable base (a third-party class) is treated as adding nothing.

Classes that can never be pickled (subclasses of `threading.Thread`, the executors and
`multiprocessing` pools, `socket.socket`, the `io` classes, `socketserver` servers, `queue.Queue`)
are not reported for what they store; when a site pickles one, SC102 reports the class itself.

`strict = true` in `[tool.serialcompat.lint]` (or `--strict`) reports SC101, SC102 and SC105
without evidence, as the linter did before it gathered any.

### Reach

How far the rules see, beyond a name spelled as the module spells it:

* **Attributes and mixins** (SC101, SC103): each class statement also records what its body and
  methods bind to attributes: an instance of a pool, executor or context
  (`self.executor = ProcessPoolExecutor()`, `self._ctx = get_context("spawn")`), a factory
  (`executor_type = ProcessPoolExecutor`), the result of calling one on `self`
  (`self.executor = self.executor_type(...)`), a context's constructor (`self.pool =
  self._ctx.Pool()`), or a method's return value (`def get_context(self): return
  multiprocessing.get_context(self.ctx)`).  `self.executor.submit(job)` in a class is decided
  over the class's resolvable method resolution order, across modules, so an executor that a
  mixin in another module sets up is seen, and the subclass's `executor_type` decides what the
  base's `setUp` makes.  A class put together at run time (`type(name, (mixin, exe), {})`) is not
  followed.
* **Loaders** (SC106, SC111): import aliases, relative imports, names bound to a loader or a
  `functools.partial` of one, class and module attributes of the standard library
  (`multiprocessing.reduction.ForkingPickler.loads`, `reduction.pickle.load`,
  `context.reduction`, `pickle._loads`), and re-exports through the project's modules (decided
  over every module's import bindings, like base classes).
* **Origins** (SC106): within a function and through direct calls in the same file; each message
  names the origin and its line.
* **Records** (SC105): every durable write path listed under SC105, the dict found through
  names, the file's helpers and direct calls.
* **Resources** (SC102): constructors called on a multiprocessing context are looked up like the
  module-level ones.

`benchmarks/bench_lint_recall.py` measures this reach (recall and precision per rule, against a
baseline revision, on small cases in the style of the real code); `benchmarks/bench_lint_precision.py`
checks that real process and pool code (CPython's `concurrent` and `multiprocessing`) stays clean.

### The project's pickler

`pickler = "cloudpickle"` (or `"dill"`) says that the project's pools, executors and reducers
pickle by value (loky, dask/distributed, a `ForkingPickler` replaced by cloudpickle): functions and
classes defined in functions travel by value, so the by-reference rules SC101, SC103 (except for
explicit `pickle.dump`/`pickle.dumps`) and SC104 report nothing.  Without the setting, a file that
imports exactly one of cloudpickle and dill is taken to pickle with it: SC104 (a `__reduce__`'s
reconstructor) is silent there; standard-library pools in that file still pickle by reference.
`pickler = "pickle"` turns the detection off.
"""


def _shift_headings(doc: str) -> str:
    return "\n".join("#" + line if line.startswith("## ") else line for line in doc.splitlines())


def _fixable(rule: Type[Rule]) -> bool:
    return any(getattr(example, "fixed", None) for example in rule.INVALID)


def rules_markdown(rules: Sequence[Type[Rule]] = ALL_RULES) -> str:
    parts = [_HEADER]
    for rule in rules:
        parts.append(
            "| [%s](#%s) | `%s` | %s | %s | %s | %s |\n"
            % (rule.CODE, rule.CODE.lower(), rule.NAME, rule.SEVERITY, "on" if rule.DEFAULT_ENABLED else "off",
               "yes" if _fixable(rule) else "", rule.SUMMARY.replace("|", "\\|"))
        )
    parts.append(_EVIDENCE)
    for rule in rules:
        parts.append("\n## %s\n\n`%s` (%s%s)\n\n%s\n" % (
            rule.CODE, rule.NAME, rule.SEVERITY, "" if rule.DEFAULT_ENABLED else ", off by default",
            _shift_headings(rule.documentation()),
        ))
    return "".join(parts)


def explain(rule: Type[Rule]) -> str:
    return "%s (%s): %s\nSeverity: %s%s\n\n%s\n" % (
        rule.CODE, rule.NAME, rule.SUMMARY, rule.SEVERITY,
        "" if rule.DEFAULT_ENABLED else " (off by default; enable with --extend-select %s)" % rule.CODE,
        rule.documentation(),
    )


def list_rules(rules: Sequence[Type[Rule]] = ALL_RULES) -> str:
    lines: List[str] = []
    for rule in rules:
        lines.append("%s  %-32s %s%s" % (rule.CODE, rule.NAME, rule.SUMMARY, "" if rule.DEFAULT_ENABLED else " [off by default]"))
    return "\n".join(lines) + "\n"
