"""Library families on real pickles: numpy, pandas, zoneinfo, dateutil.tz and pytz.

The pickles in tests/data/thirdparty/ were written by the libraries themselves
on their oldest and newest versions installable here (see the README there).
The analyzer tests need none of those libraries; the loading tests load every
golden whose library is installed through the gate and compare it with the
plain, unguarded load of the same bytes (and, where the versions match, with
the object the generator made).
"""

import json
import pickle
import sys
from pathlib import Path

import pytest

from data.make_thirdparty_pickles import samples
from pytest_serialcompat.diagnosis import messages as diagnosis
from pytest_serialcompat.check import safety
from pytest_serialcompat.reference import families
from pytest_serialcompat.reference.analyzer import analyze
from pytest_serialcompat.renames import Renames

DATA = Path(__file__).parent.parent / "data" / "thirdparty"
FAMILIES = {"numpy": ("numpy",), "pandas": ("numpy", "pandas"), "zoneinfo": (), "dateutil": ("dateutil",),
            "pytz": ("pytz",)}


def _corpus():
    for folder in sorted(DATA.iterdir()):
        if not folder.is_dir():
            continue
        index = json.loads((folder / "index.json").read_text())
        for filename, meta in sorted(index["files"].items()):
            yield pytest.param(folder / filename, meta, index, id="%s/%s" % (folder.name, filename))


CORPUS = list(_corpus())


def test_the_corpus_covers_each_library_on_old_and_new_versions():
    made = {(p.values[2]["python"][:3].rstrip("."), tuple(sorted(p.values[2]["versions"].items()))) for p in CORPUS}
    versions = {v for _py, vs in made for v in vs}
    assert {("numpy", "1.24.4"), ("pandas", "1.5.3"), ("pandas", "2.0.3"), ("zoneinfo", "backports")} <= versions
    assert any(lib == "numpy" and ver.startswith("2.") for lib, ver in versions)
    assert any(lib == "pandas" and ver.startswith("3.") for lib, ver in versions)
    libraries = {p.values[1]["library"] for p in CORPUS}
    assert libraries == set(FAMILIES)


@pytest.mark.parametrize("path, meta, index", CORPUS)
def test_each_real_pickle_is_safe_with_its_family_and_refused_without(path, meta, index):
    data = path.read_bytes()
    library = meta["library"]
    allowed = analyze(data, allow=FAMILIES[library], tree=False)
    assert allowed.unsafe == []
    if library == "zoneinfo":
        return  # on by default (the stdlib module and its 3.8 backport)
    refused = analyze(data, tree=False)
    assert refused.unsafe
    message, fix = diagnosis.unsafe(safety.decide(refused, (), None).refused)
    assert "serialcompat_allow = " in fix and "Denied globals" not in fix
    words = fix.split("serialcompat_allow = ", 1)[1].split(" (", 1)[0].split()
    assert set(words) <= set(FAMILIES[library]) | {"pytz", "dateutil"}
    assert "not enabled: a " in message


def u(text):
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE


def sg(module, name):
    return u(module) + u(name) + b"\x93"  # STACK_GLOBAL


def p4(body):
    return b"\x80\x04" + body + b"."


def test_a_family_name_is_not_a_prefix():
    # numpy.testing is numpy's, but not one of its data reconstructors
    hostile = p4(sg("numpy.testing._private.utils", "runstring") + u("1 + 1") + b"}\x86R")
    result = analyze(hostile, allow=["numpy"])
    assert [(u.module, u.qualname, u.use) for u in result.unsafe] == [
        ("numpy.testing._private.utils", "runstring", ""), ("numpy.testing._private.utils", "runstring", "call")]
    assert "REDUCE calls numpy.testing._private.utils.runstring, which is not allowed" in result.unsafe[1].reason
    _message, fix = diagnosis.unsafe(safety.decide(result, ("numpy",), None).refused)
    assert fix.startswith("The golden calls numpy.testing._private.utils.runstring: not a data reconstructor.")
    assert "serialcompat_allow" not in fix


def test_curated_reconstructors_check_their_call_shapes():
    def reconstruct(cls_module, cls_name):
        return p4(sg("numpy.core.multiarray", "_reconstruct") + sg(cls_module, cls_name) + b"K\x00\x85C\x01b\x87R")

    assert analyze(reconstruct("numpy", "ndarray"), allow=["numpy"]).safe
    # its class argument is constructed: a project subclass may stand there ...
    assert analyze(reconstruct("myapp.arrays", "Tagged"), allow=["numpy", "myapp"]).safe
    refused = analyze(reconstruct("myapp.arrays", "Tagged"), allow=["numpy"])
    assert "numpy.core.multiarray._reconstruct constructs myapp.arrays.Tagged, which is not allowed" in \
        refused.unsafe[-1].reason
    # ... and a computed value may not
    computed = p4(sg("numpy.core.multiarray", "_reconstruct") + sg("numpy", "dtype") + u("f8") + b"\x85R"
                  + b"K\x00\x85C\x01b\x87R")
    assert "needs a class as argument 1" in analyze(computed, allow=["numpy"]).unsafe[0].reason
    # dateutil's tzfile opens its first argument as a file: only None may stand there
    tzfile = p4(sg("dateutil.tz.tz", "tzfile") + u("/etc/passwd") + u("x") + b"\x86R")
    result = analyze(tzfile, allow=["dateutil"])
    assert "dateutil.tz.tz.tzfile argument 1 must be None" in result.unsafe[0].reason
    assert analyze(p4(sg("dateutil.tz.tz", "tzfile") + b"N" + u("x") + b"\x86R"), allow=["dateutil"]).safe


def test_family_entries_are_exact_and_documented():
    docs = (Path(__file__).parents[2] / "docs" / "analyzer.md").read_text()
    for family in families.FAMILIES.values():
        assert "`%s`" % family.name in docs
        for (module, qualname), entry in family.entries.items():
            assert entry.use in (families.CALL, families.CONSTRUCT)
            assert "%s.%s" % (module, qualname) in docs, (module, qualname)


# --- loading through the gate, where the library is installed --------------------------------

def _installed(library):
    try:
        return samples(library)
    except ImportError:
        return None


def _version(library):
    if library == "zoneinfo":
        return "stdlib" if sys.version_info >= (3, 9) else "backports"
    return __import__(library).__version__


GATE = safety.Gate(Renames.from_lines([]))
ALLOW = ("numpy", "pandas")  # the only setting a real app needs (pandas includes pytz and dateutil)


@pytest.mark.parametrize("path, meta, index", CORPUS)
def test_each_real_pickle_loads_through_the_gate_as_the_plain_loader_loads_it(path, meta, index):
    library = meta["library"]
    factories = _installed(library)
    if factories is None:
        pytest.skip("%s is not installed here" % library)
    data = path.read_bytes()
    if data[1] > pickle.HIGHEST_PROTOCOL:
        pytest.skip("protocol %d" % data[1])
    try:
        oracle = pickle.loads(data)
    except Exception as exc:  # the library itself cannot read its old pickle here: not the gate's business
        pytest.skip("%s %s cannot load this pickle: %s" % (library, _version(library), safety.exc_text(exc)))
    verdict = GATE.decide(analyze(data, allow=ALLOW, tree=False), ALLOW)
    assert verdict.refused == []
    assert GATE.verify(verdict) == []
    loaded = GATE.load(data, verdict)
    assert type(loaded) is type(oracle)
    assert pickle.dumps(loaded, 4) == pickle.dumps(oracle, 4)
    made_here = index["python"].rsplit(".", 1)[0] == "%d.%d" % sys.version_info[:2] and all(
        _version(lib) == version for lib, version in index["versions"].items() if _installed(lib) is not None)
    if made_here:
        assert same(loaded, factories[meta["sample"]]())


def same(a, b) -> bool:
    """Equal as the library defines it (numpy: dtype, data and mask; pandas: ``equals``)."""
    if type(a) is not type(b):
        return False
    import numpy as np

    if isinstance(a, np.ndarray):
        return bool(a.dtype == b.dtype and a.shape == b.shape
                    and np.ma.getdata(a).tobytes() == np.ma.getdata(b).tobytes() if a.dtype != object
                    else list(a) == list(b)) and np.array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b))
    if hasattr(a, "equals") and "pandas" in type(a).__module__:
        return bool(a.equals(b))
    return bool(a == b) or a is b


# --- a real app's goldens, recorded on 3.8 and 3.13, replayed with only numpy and pandas allowed ---

APP_SAMPLES = [("numpy", "array_structured"), ("numpy", "masked_array"), ("numpy", "scalar_datetime64"),
               ("pandas", "range_index"), ("pandas", "categorical"), ("pandas", "timestamp_utc"),
               ("pandas", "timedelta"),
               ("pandas", "period"), ("pandas", "offset_month_end"), ("zoneinfo", "datetime_zoned")]

APP_CONFTEST = '''
import numpy as np
import pandas as pd


def _same_array(a, b):
    return (type(a) is type(b) and a.dtype == b.dtype and np.array_equal(np.ma.getdata(a), np.ma.getdata(b))
            and np.array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b)))


def pytest_serialcompat_comparator(config, cls):
    if issubclass(cls, (pd.Series, pd.Index, pd.Categorical)):
        return lambda a, b: type(a) is type(b) and a.equals(b)
    if issubclass(cls, np.ndarray):
        return _same_array
    return None
'''

APP_TESTS = '''
import pytest

from thirdparty_samples import samples

SAMPLES = %r


@pytest.mark.parametrize("library, sample", SAMPLES)
def test_data(serialcompat, library, sample):
    serialcompat.check(samples(library)[sample](), "%%s-%%s" %% (library, sample), formats=("pickle",),
                       protocols=(2, 4))
''' % (APP_SAMPLES,)


def test_a_real_apps_library_goldens_replay_with_only_numpy_and_pandas_allowed(pytester, monkeypatch):
    """numpy 1.24 / pandas 2.0 goldens of Python 3.8 and numpy 2 / pandas 3 goldens of 3.13 replay here."""
    pytest.importorskip("numpy")
    pytest.importorskip("pandas")
    from plugin_app import INI, make_app, run, write_golden

    app = make_app(pytester, monkeypatch, "", APP_TESTS)
    (app.path / "conftest.py").write_text(APP_CONFTEST)
    (app.path / "thirdparty_samples.py").write_text(
        (Path(__file__).parent.parent / "data" / "make_thirdparty_pickles.py").read_text())
    run(app, "--serialcompat-update").assert_outcomes(passed=len(APP_SAMPLES))
    planted = 0
    for folder, producer in (("cp38-numpy1.24.4-pandas2.0.3", "cpython3.8"),
                             ("cp313-numpy2.5.5-pandas3.1.1", "cpython3.13")):
        if producer == "cpython%d.%d" % sys.version_info[:2]:
            continue  # this interpreter's own goldens were just recorded
        for library, sample in APP_SAMPLES:
            if library == "zoneinfo" and (producer == "cpython3.8") != (sys.version_info < (3, 9)):
                continue  # backports.zoneinfo and zoneinfo pickles name modules only one side has
            for protocol in (2, 5):
                source = DATA / folder / ("%s-%s-p%d.pickle" % (library, sample, protocol))
                if protocol > pickle.HIGHEST_PROTOCOL:
                    continue
                data = source.read_bytes()
                try:
                    pickle.loads(data)
                except Exception:  # numpy 1.x cannot read numpy 2's numpy._core names: a library limit
                    continue
                write_golden(app, "%s-%s" % (library, sample), "%s-p%d.pickle" % (producer, protocol),
                             data, producer)
                planted += 1
    assert planted >= 8
    # without the families, every library golden is refused, and the advice is the family names
    result = run(app, "--serialcompat")
    result.stdout.fnmatch_lines(["*serialcompat_allow = numpy (a library family, or an exact class)*"])
    assert "Denied globals" not in result.stdout.str()
    app.makeini(INI + "serialcompat_allow = numpy pandas\n")
    result = run(app, "--serialcompat")
    result.assert_outcomes(passed=len(APP_SAMPLES))
