"""Contract: the linter reads the very store the plugin writes (real plugin, real linter CLI)."""

import subprocess
import sys
import textwrap

from plugin_app import make_app, run
from pytest_serialcompat.environment import CURRENT

# In-process pytester runs drop modules first imported during a run; importing the
# reference modules here keeps one copy of each for every run.
from pytest_serialcompat.reference import allowlist, analyzer, canonical_json, tree  # noqa: F401

TAG = CURRENT.tag

MODELS = '''
class Order:
    def __init__(self, number, lines):
        self.number = number
        self.lines = lines


class Line:
    def __init__(self, sku, quantity):
        self.sku = sku
        self.quantity = quantity
'''

TESTS = '''
from myapp.models import Line, Order


def test_order(serialcompat):
    serialcompat.check(Order(7, [Line("nail", 3)]), "shop/orders/open", formats=("pickle",))
'''


def lint(app):
    return subprocess.run([sys.executable, "-m", "serialcompat_lint", "--no-cache", "--select", "SC110",
                           str(app.path)], cwd=str(app.path), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)


def test_the_linter_flags_a_class_move_in_the_plugins_own_store(pytester, monkeypatch):
    app = make_app(pytester, monkeypatch, MODELS, TESTS)
    run(app, "--serialcompat-update").assert_outcomes(passed=1)
    clean = lint(app)
    assert clean.returncode == 0, clean.stdout

    # the class moves; the tests follow it, old data does not
    (app.path / "myapp" / "orders.py").write_text(textwrap.dedent(MODELS).split("\n\nclass Line")[0])
    (app.path / "myapp" / "models.py").write_text(
        "class Line" + textwrap.dedent(MODELS).split("\n\nclass Line")[1])
    (app.path / "tests" / "test_app.py").write_text(textwrap.dedent(TESTS).replace(
        "from myapp.models import Line, Order", "from myapp.models import Line\nfrom myapp.orders import Order"))

    moved = lint(app)
    assert moved.returncode == 1, moved.stdout
    out = moved.stdout
    assert "SC110" in out
    assert "myapp.models.Order" in out and "it is now myapp.orders.Order" in out
    assert "`from myapp.orders import Order` in the module myapp.models" in out
    assert "golden 'shop/orders/open'" in out  # a nested sample name
    assert "%s-p2.pickle" % TAG in out and "%s.manifest.json" % TAG in out
    assert "myapp.models.Line" not in out  # still defined where the goldens expect it
    # the plugin agrees: replay diagnoses the same move
    result = run(app, "--serialcompat")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*class moved*"])

    # the fix both print: re-export at the old path
    with open(str(app.path / "myapp" / "models.py"), "a") as handle:
        handle.write("\n\nfrom myapp.orders import Order  # noqa: E402,F401 (old pickles)\n")
    fixed = lint(app)
    assert fixed.returncode == 0, fixed.stdout
    run(app, "--serialcompat").assert_outcomes(passed=1)
