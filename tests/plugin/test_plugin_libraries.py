"""Third-party data: library versions in manifests, diagnoses at the library boundary (pytester).

The goldens are real numpy, pandas and zoneinfo pickles recorded here; another
library version is what the manifest says recorded them (an edited manifest, as
a recording with numpy 1.0.0 would have written it) or, for the 3.8 backport, a
golden naming ``backports.zoneinfo`` as Python 3.8 pickles it.  The real
cross-version runs (numpy 1.24 on 3.8, numpy 2 on 3.13) are in
tests/matrix/test_matrix_libraries.py.
"""

import json
import pickle

import pytest

from plugin_app import INI, make_app, run, write_golden
from pytest_serialcompat.environment import CURRENT

numpy = pytest.importorskip("numpy")
pandas = pytest.importorskip("pandas")
try:  # imported once, here: in-process pytester runs drop what a run imported first, and
    import pydantic  # a PyO3 module (pydantic_core) cannot be initialised twice on 3.8
except ImportError:
    pydantic = None

TAG = CURRENT.tag
STORE = "tests/__serialcompat__"

MODELS = '''
import dataclasses

import numpy


@dataclasses.dataclass(eq=False)
class Basket:
    name: str
    weights: numpy.ndarray

    def __eq__(self, other):
        return (type(other) is Basket and other.name == self.name
                and numpy.array_equal(other.weights, self.weights))
'''

TESTS = '''
import numpy
import pandas

from myapp.models import Basket

WEIGHTS = [1, 2, 3]
PRICES = [1.5, 2.5]


def test_basket(serialcompat):
    serialcompat.check(Basket("fruit", numpy.array(WEIGHTS)), "basket", formats=("pickle",),
                       protocols=(4,))


def test_series(serialcompat):
    serialcompat.check(pandas.Series(PRICES, index=["a", "b"]), "series", formats=("pickle",),
                       protocols=(4,))
'''


@pytest.fixture
def app(pytester, monkeypatch):
    return make_app(pytester, monkeypatch, MODELS, TESTS)


def _manifest(app, name):
    return app.path / STORE / name / ("%s.manifest.json" % TAG)


def _recorded_with(app, name, library, version):
    """Rewrite the manifest as a recording with ``library`` at ``version`` would have."""
    path = _manifest(app, name)
    data = json.loads(path.read_text())
    for entry in data["goldens"].values():
        entry["libraries"][library] = version
    path.write_text(json.dumps(data))


def test_manifests_record_the_library_versions_a_golden_names(app):
    run(app, "--serialcompat-update").assert_outcomes(passed=2)
    basket = json.loads(_manifest(app, "basket").read_text())["goldens"]["%s-p4.pickle" % TAG]
    series = json.loads(_manifest(app, "series").read_text())["goldens"]["%s-p4.pickle" % TAG]
    # the project's own package (myapp) and the standard library are no library
    assert basket["libraries"] == {"numpy": numpy.__version__}
    assert series["libraries"] == {"numpy": numpy.__version__, "pandas": pandas.__version__}


def test_a_failure_names_the_versions_that_recorded_and_read_the_golden(app):
    run(app, "--serialcompat-update").assert_outcomes(passed=2)
    _recorded_with(app, "basket", "numpy", "1.0.0")
    tests = app.path / "tests" / "test_app.py"
    tests.write_text(tests.read_text().replace("WEIGHTS = [1, 2, 3]", "WEIGHTS = [1, 2, 4]"))
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*(c) loads but is not equal*",
        "*Recorded with numpy 1.0.0, read here with numpy %s.*" % numpy.__version__,
    ])


def test_a_library_objects_state_is_summarised_at_its_boundary(app):
    # a changed Series runs NDFrame.__setstate__, which the gate allows by name only
    app.makeini(INI + "serialcompat_allow = numpy pandas\n")
    run(app, "--serialcompat-update").assert_outcomes(passed=2)
    _recorded_with(app, "series", "pandas", "1.5.3")
    tests = app.path / "tests" / "test_app.py"
    tests.write_text(tests.read_text().replace("PRICES = [1.5, 2.5]", "PRICES = [1.5, 3.5]"))
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=1, failed=1)
    text = result.stdout.str()
    assert ("pandas.Series: its pickled state changed between pandas 1.5.3 and %s; "
            "the golden loads, but not as the same pandas.Series object. Those are "
            "pandas's private internals, not the project's." % pandas.__version__) in text
    assert "This is the library's data format, not your code (do not edit the installed " \
           "package). Options:" in text
    assert "record such goldens on the oldest pandas version you support" in text
    assert "__setstate__" not in text
    assert "_mgr" not in text   # no private paths


ZONE_TESTS = '''
import zoneinfo


def test_zone(serialcompat):
    serialcompat.check(zoneinfo.ZoneInfo("Europe/Paris"), "zone", formats=("pickle",),
                       protocols=(2,))
'''


def _as_python38_pickles_it(data: bytes) -> bytes:
    """The same zone pickled by Python 3.8's backports.zoneinfo (it names its own module;
    protocol 2 has no frames, so the name is the only difference)."""
    old, new = b"czoneinfo\n", b"cbackports.zoneinfo\n"
    assert data.count(old) == 1
    return data.replace(old, new)


def test_a_backports_zoneinfo_golden_gets_the_mapping_to_zoneinfo(pytester, monkeypatch):
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        import backports.zoneinfo  # noqa: F401
        pytest.skip("backports.zoneinfo is installed here: the golden would load")
    except ImportError:
        pass
    app = make_app(pytester, monkeypatch, MODELS, ZONE_TESTS)
    data = _as_python38_pickles_it(pickle.dumps(zoneinfo.ZoneInfo("Europe/Paris"), 2))
    write_golden(app, "zone", "cpython3.8-p2.pickle", data, "cpython3.8",
                 {"format": "pickle", "protocol": 2,
                  "libraries": {"backports.zoneinfo": "0.2.1"}})
    result = run(app, "--serialcompat")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "class moved" not in text
    assert "a library's data across its versions (not the project's code)" in text
    assert ("The golden names backports.zoneinfo.ZoneInfo, backports.zoneinfo.ZoneInfo._unpickle,"
            " which do not import here (ModuleNotFoundError: No module named 'backports'): they "
            "are backports.zoneinfo's, recorded with backports.zoneinfo 0.2.1, not installed "
            "here.") in text
    assert "map backports.zoneinfo to zoneinfo wherever this data is read on Python 3.9+ (the " \
        "application's Unpickler.find_class, and below for the test)" in text
    assert "backports.zoneinfo is the Python 3.8 backport of the standard library's zoneinfo" \
        in text
    assert "      backports.zoneinfo = zoneinfo" in text
    assert "Verified: with this mapping the golden loads and equals the current object." in text
    # following the fix line makes it pass
    app.makeini(INI + "serialcompat_renames = backports.zoneinfo = zoneinfo\n")
    run(app, "--serialcompat").assert_outcomes(passed=1)


PYDANTIC_MODELS = '''
import datetime
import enum
from typing import List, Tuple

import pydantic


class Unit(enum.Enum):
    KG = "kg"
    LB = "lb"


class Line(pydantic.BaseModel):
    sku: str
    weight: float
    unit: Unit = Unit.KG


class Order(pydantic.BaseModel):
    number: int
    placed: datetime.datetime
    lines: List[Line]
    tags: Tuple[str, ...] = ()
    note: bytes = b""
'''

PYDANTIC_TESTS = '''
import datetime

from myapp.models import Line, Order, Unit


def test_order(serialcompat):
    order = Order(number=7, placed=datetime.datetime(2024, 5, 1, 12, 30),
                  lines=[Line(sku="A-1", weight=1.5), Line(sku="B-2", weight=3.0, unit=Unit.LB)],
                  tags=("gift", "express"), note=b"ring twice")
    serialcompat.check(order, "order", formats=("json",))
'''


def test_pydantic_v2_models_get_a_json_golden(pytester, monkeypatch):
    if pydantic is None or not pydantic.VERSION.startswith("2."):
        pytest.skip("pydantic v2 only")
    app = make_app(pytester, monkeypatch, PYDANTIC_MODELS, PYDANTIC_TESTS)
    run(app, "--serialcompat-update").assert_outcomes(passed=1)
    golden = app.path / STORE / "order" / ("%s.json" % TAG)
    assert json.loads(golden.read_text()) == {
        "number": 7, "placed": "2024-05-01T12:30:00", "tags": ["gift", "express"],
        "note": "ring twice",
        "lines": [{"sku": "A-1", "weight": 1.5, "unit": "kg"},
                  {"sku": "B-2", "weight": 3.0, "unit": "lb"}]}
    manifest = json.loads(_manifest(app, "order").read_text())
    assert manifest["goldens"]["%s.json" % TAG]["codec"] == \
        "Order (pydantic model_dump/model_validate_json)"
    run(app, "--serialcompat").assert_outcomes(passed=1)
    # a renamed field: the golden no longer validates, and the keys say why
    models = app.path / "myapp" / "models.py"
    models.write_text(models.read_text().replace("    sku: str", "    code: str"))
    tests = app.path / "tests" / "test_app.py"
    tests.write_text(tests.read_text().replace("sku=", "code="))
    result = run(app, "--serialcompat")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*(b) state changed*", "*$.lines[[]0[]].sku*"])


def test_passing_goldens_name_the_library_versions_they_crossed_in_the_report(app, tmp_path):
    from cli_run import serialcompat_cli

    run(app, "--serialcompat-update").assert_outcomes(passed=2)
    _recorded_with(app, "basket", "numpy", "1.0.0")
    report = tmp_path / "replay.json"
    run(app, "--serialcompat", "--serialcompat-report=%s" % report).assert_outcomes(passed=2)
    results = {r["name"]: r for r in json.loads(report.read_text())["results"]}
    crossed = "recorded with numpy 1.0.0, read here with numpy %s" % numpy.__version__
    assert results["basket"]["detail"] == crossed
    assert results["series"]["detail"] == ""
    status, out, err = serialcompat_cli("report", report)
    assert status == 0, err
    assert "note: recorded on %s, replayed on %s: %s" % (TAG, TAG, crossed) in out
    status, out, err = serialcompat_cli("report", report, "--json", tmp_path / "m.json")
    cells = json.loads((tmp_path / "m.json").read_text())["tables"][0]["cells"]
    assert [c["libraries"] for c in cells] == [[crossed]]
