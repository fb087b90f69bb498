"""SC110: a class referenced by the golden store is no longer defined where the goldens expect it."""
import os
from typing import Any, Iterator, List, Tuple

from ..golden import defines, read_store
from ..model import ProjectExample, Rule

_MANIFEST = '{"globals": [["shop.models", "Order"]], "version": 1}\n'


class GoldenClassMoved(Rule):
    """
    ## What it does
    Reads the manifests of the pytest-serialcompat golden store
    (`tests/__serialcompat__/<sample>/manifest.json`, configurable with `golden-store`) and
    flags every `[module, qualname]` in their `"globals"` lists that the project's source no
    longer defines or re-exports at that module path.  It reads the source with libcst and never
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
        ProjectExample({"shop/__init__.py": "", "shop/models.py": "class Order:\n    pass\n", "tests/__serialcompat__/order/manifest.json": _MANIFEST}, 0),
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Order:\n    pass\n", "shop/models.py": "from shop.orders import Order\n", "tests/__serialcompat__/order/manifest.json": _MANIFEST}, 0),
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Order:\n    pass\n", "shop/models.py": "from .orders import *\n", "tests/__serialcompat__/order/manifest.json": _MANIFEST}, 0),
        ProjectExample({"tests/__serialcompat__/d/manifest.json": '{"globals": [["collections", "OrderedDict"]]}'}, 0),
    ]
    INVALID = [
        ProjectExample({"shop/__init__.py": "", "shop/models.py": "class Invoice:\n    pass\n", "tests/__serialcompat__/order/manifest.json": _MANIFEST}, 1),
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Order:\n    pass\n", "tests/__serialcompat__/order/manifest.json": _MANIFEST}, 1),
        ProjectExample({"shop/__init__.py": "", "shop/orders.py": "class Other:\n    pass\n", "shop/models.py": "from shop.orders import Order\n", "tests/__serialcompat__/order/manifest.json": _MANIFEST}, 1),
        ProjectExample({"shop/__init__.py": "", "shop/models.py": "class Order:\n    pass\n", "tests/__serialcompat__/order/manifest.json": '{"globals": [["shop.models", "Order.Line"]]}'}, 1),
    ]

    def check_project(self) -> Iterator[Tuple[str, int, str]]:
        """(manifest path, line, message) for every golden global that no longer resolves."""
        root = self.settings.root
        store = os.path.join(root, self.settings.golden_store)
        entries, problems = read_store(store)
        for path, problem in problems:
            yield path, 1, problem
        answers = {}
        for entry in entries:
            key = (entry.module, entry.qualname)
            if key not in answers:
                answers[key] = defines(root, entry.module, entry.qualname)
            if answers[key] is False:
                sample = os.path.basename(os.path.dirname(entry.manifest))
                yield (
                    entry.manifest,
                    entry.line,
                    "golden %r pickles %s.%s, which the project no longer defines or re-exports at "
                    "that module path: replaying it will fail (re-export it, or re-record the "
                    "golden)" % (sample, entry.module, entry.qualname),
                )

    def check(self, ctx: Any) -> Iterator[Any]:
        return iter(())
