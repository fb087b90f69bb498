"""SC110: a class referenced by the golden store is no longer defined where the goldens expect it."""
import json
import os
from pathlib import Path
from typing import Any, Iterator, List, Tuple

from pytest_serialcompat.project import find_definitions
from pytest_serialcompat.store import MANIFEST_KIND

from ..golden import defines, line_of, read_store
from ..model import ProjectExample, Rule


def _manifest(*globals_, sample="order") -> str:
    """A manifest as the plugin writes it (one pickle golden naming ``globals_``)."""
    return json.dumps({
        "kind": MANIFEST_KIND, "manifest_version": 2, "interpreter": "cpython3.12", "sample": sample,
        "goldens": {"cpython3.12-p4.pickle": {"format": "pickle", "protocol": 4,
                                              "globals": [list(g) for g in globals_]}},
    }, sort_keys=True, separators=(",", ":"))


_ORDER = "tests/__serialcompat__/order/cpython3.12.manifest.json"
_MANIFEST = _manifest(("shop.models", "Order"))


class GoldenClassMoved(Rule):
    """
    ## What it does
    Reads the manifests of the pytest-serialcompat golden store
    (`tests/__serialcompat__/<sample>/<interpreter>.manifest.json`, configurable with
    `golden-store`; read with the plugin's own store package), old releases' frozen
    generations (`<sample>/releases/<version>/`) included, and flags every class or
    function a golden pickle names (`[module, qualname]`) that the project's source no longer
    defines or re-exports at that module path, naming the golden files and where the class
    is defined now.  It reads the source with libcst and never
    imports project code, so it is fast enough for a pre-commit hook: the quick twin of the
    plugin's replay check.

    ## Why is this bad?
    A pickle stores classes by module and qualified name.  Moving or renaming a class makes every
    stored pickle that refers to it fail with `AttributeError: Can't get attribute` or
    `ModuleNotFoundError`, including the data your users already have on disk.

    ## Example
    ```python
    # shop/models.py used to define Order; it moved to shop/orders.py
    from decimal import Decimal
    ```

    ## Use instead
    ```python
    # shop/models.py: keep the old path importable
    from shop.orders import Order  # re-export for existing pickles
    ```
    """

    CODE = "SC110"
    NAME = "golden-class-moved"
    SUMMARY = "A class referenced by the golden store is no longer defined at its module path."
    SEVERITY = "error"
    PROJECT_RULE = True
    VALID = [
        ProjectExample({"shop/__init__.py": "", "shop/models.py": "class Order:\n    pass\n", _ORDER: _MANIFEST}, 0),
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Order:\n    pass\n", "shop/models.py": "from shop.orders import Order\n", _ORDER: _MANIFEST}, 0),
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Order:\n    pass\n", "shop/models.py": "from .orders import *\n", _ORDER: _MANIFEST}, 0),
        ProjectExample({"tests/__serialcompat__/d/cpython3.12.manifest.json": _manifest(("collections", "OrderedDict"))}, 0),
    ]
    INVALID = [
        ProjectExample({"shop/__init__.py": "", "shop/models.py": "class Invoice:\n    pass\n", _ORDER: _MANIFEST}, 1),
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Order:\n    pass\n", _ORDER: _MANIFEST}, 1),
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Other:\n    pass\n", "shop/models.py": "from shop.orders import Order\n", _ORDER: _MANIFEST}, 1),
        ProjectExample({"shop/__init__.py": "", "shop/models.py": "class Order:\n    pass\n", _ORDER: _manifest(("shop.models", "Order.Line"))}, 1),
        # nested sample names, and an old manifest's dotted names
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Order:\n    pass\n", "tests/__serialcompat__/shop/order/cpython3.8.manifest.json": _MANIFEST.replace('[["shop.models","Order"]]', '["shop.models.Order"]')}, 1),
        # an old release's frozen generation names the class, today's goldens do not
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Order:\n    pass\n", "tests/__serialcompat__/order/cpython3.12.manifest.json": _manifest(("shop.orders", "Order")), "tests/__serialcompat__/order/releases/1.2.0/cpython3.12.manifest.json": _MANIFEST}, 1),
    ]

    def check_project(self) -> Iterator[Tuple[str, int, str]]:
        """(manifest path, line, message) for every golden global that no longer resolves."""
        root = self.settings.root
        store = os.path.join(root, self.settings.golden_store)
        entries, problems = read_store(store, root)
        for path, problem in problems:
            yield path, 1, problem
        answers = {}
        for entry in entries:
            key = (entry.module, entry.qualname)
            if key not in answers:
                answers[key] = defines(root, entry.module, entry.qualname)
            if answers[key] is False:
                yield entry.manifest, line_of(entry.manifest, entry.qualname), _message(root, entry)

    def check(self, ctx: Any) -> Iterator[Any]:
        return iter(())


def _message(root: str, entry) -> str:
    files = ", ".join(entry.goldens[:4]) + (" and %d more" % (len(entry.goldens) - 4)
                                            if len(entry.goldens) > 4 else "")
    now = [d for d in find_definitions(Path(root), entry.qualname, limit=5)
           if d.qualname == entry.qualname]
    if len(now) == 1:
        where = now[0]
        fix = ("it is now %s.%s: re-export it at the old path (`from %s import %s` in the "
               "module %s), or re-record the goldens" % (where.module, where.qualname, where.module,
                                                         where.qualname.split(".")[0], entry.module))
    else:
        fix = "re-export it at the old path, or re-record the goldens"
    return ("golden %r (%s) pickles %s.%s, which the project no longer defines or re-exports "
            "at that module path: replaying it will fail; %s"
            % (entry.sample, files, entry.module, entry.qualname, fix))
