"""Write real pickles of third-party data types into tests/data/thirdparty/.

Run it in a throw-away virtualenv per (Python, library versions); each run
writes one folder named after the interpreter and the versions it found,
``cp38-numpy1.24.4-pandas2.0.3/``, holding ``<sample>-p<protocol>.pickle``
files and an ``index.json`` that says which library, version and sample made
each file.  See tests/data/thirdparty/README.md for the runs that made the
committed files.

The tests import :data:`SAMPLES` from this module to rebuild each sample and
compare it with what a golden loads (only where the library is installed);
the analyzer tests read the files with no third-party library at all.
"""

import datetime
import json
import os
import pickle
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "thirdparty")
PROTOCOLS = (2, 4, 5)


def _numpy():
    import numpy as np

    point = np.dtype([("x", "<i4"), ("y", "<f8")])
    return {
        "array_float": lambda: np.array([1.5, -2.0, 3.25]),
        "array_int_2d_fortran": lambda: np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
        "array_bool": lambda: np.array([True, False, True]),
        "array_str": lambda: np.array(["ab", "c"]),
        "array_complex": lambda: np.array([1 + 2j, 3 - 1j]),
        "array_object": lambda: np.array([1, "a", None], dtype=object),
        "array_datetime64": lambda: np.array(["2024-01-02", "2024-03-04"], dtype="datetime64[D]"),
        "array_structured": lambda: np.array([(1, 2.5), (3, 4.5)], dtype=point),
        "recarray": lambda: np.rec.array([(1, 2.5), (3, 4.5)], dtype=point),
        "masked_array": lambda: np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False]),
        "scalar_float64": lambda: np.float64(1.5),
        "scalar_int32": lambda: np.int32(-7),
        "scalar_bool": lambda: np.bool_(True),
        "scalar_datetime64": lambda: np.datetime64("2024-01-02T03:04:05"),
        "scalar_timedelta64": lambda: np.timedelta64(90, "s"),
        "dtype_float": lambda: np.dtype("float64"),
        "dtype_structured": lambda: point,
        "dtype_datetime": lambda: np.dtype("datetime64[ns]"),
    }


def _pandas():
    import numpy as np
    import pandas as pd

    return {
        "dataframe": lambda: pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5], "c": ["x", "y", "z"]}),
        "dataframe_datetime": lambda: pd.DataFrame(
            {"when": pd.to_datetime(["2024-01-01", "2024-01-02"]), "n": [1, 2]}),
        "series": lambda: pd.Series([1.0, 2.0, np.nan], index=["a", "b", "c"], name="s"),
        "index": lambda: pd.Index(["a", "b", "c"]),
        "range_index": lambda: pd.RangeIndex(0, 10, 2),
        "multi_index": lambda: pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"]),
        "datetime_index_utc": lambda: pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC"),
        "categorical": lambda: pd.Categorical(["a", "b", "a"], categories=["a", "b", "c"]),
        "categorical_index": lambda: pd.CategoricalIndex(["x", "y", "x"]),
        "period_index": lambda: pd.period_range("2024-01", periods=3, freq="M"),
        "interval_index": lambda: pd.interval_range(0, 3),
        "timestamp": lambda: pd.Timestamp("2024-01-02 03:04:05"),
        "timestamp_utc": lambda: pd.Timestamp("2024-01-02 03:04:05", tz="UTC"),
        "timedelta": lambda: pd.Timedelta("1 days 02:03:04"),
        "period": lambda: pd.Period("2024-03", freq="M"),
        "nat": lambda: pd.NaT,
        "offset_day": lambda: pd.offsets.Day(2),
        "offset_month_end": lambda: pd.offsets.MonthEnd(),
        "offset_business_day": lambda: pd.offsets.BusinessDay(3),
    }


def _zoneinfo():
    if sys.version_info >= (3, 9):
        from zoneinfo import ZoneInfo
    else:
        from backports.zoneinfo import ZoneInfo

    return {
        "zone": lambda: ZoneInfo("Europe/Paris"),
        "datetime_zoned": lambda: datetime.datetime(2024, 7, 1, 12, 30, tzinfo=ZoneInfo("America/New_York")),
    }


def _dateutil():
    from dateutil import tz

    return {
        "tzutc": lambda: tz.tzutc(),
        "tzoffset": lambda: tz.tzoffset("EST", -18000),
        "datetime_tzoffset": lambda: datetime.datetime(2024, 1, 2, 3, 4, tzinfo=tz.tzoffset(None, 3600)),
    }


def _pytz():
    import pytz

    return {
        "utc": lambda: pytz.utc,
        "zone": lambda: pytz.timezone("Europe/Paris"),
        "datetime_localized": lambda: pytz.timezone("Europe/Paris").localize(datetime.datetime(2024, 7, 1, 12)),
    }


# library (the distribution's import name) -> sample name -> factory
LIBRARIES = {"numpy": _numpy, "pandas": _pandas, "zoneinfo": _zoneinfo, "dateutil": _dateutil, "pytz": _pytz}


def samples(library):
    """Sample name -> factory for ``library`` (raises ImportError when it is missing)."""
    return LIBRARIES[library]()


def _version(library):
    if library == "zoneinfo":
        if sys.version_info >= (3, 9):
            return "stdlib"
        import backports.zoneinfo

        return "backports"
    module = __import__(library)
    return getattr(module, "__version__", "unknown")


def main():
    versions = {}
    for library in LIBRARIES:
        try:
            __import__("backports.zoneinfo" if library == "zoneinfo" and sys.version_info < (3, 9) else library)
        except ImportError:
            continue
        versions[library] = _version(library)
    folder = "cp%d%d-" % sys.version_info[:2] + "-".join(
        "%s%s" % (lib, ver) for lib, ver in versions.items() if lib in ("numpy", "pandas"))
    target = os.path.join(OUT, folder)
    os.makedirs(target, exist_ok=True)
    index = {"python": "%d.%d.%d" % sys.version_info[:3], "versions": versions, "files": {}}
    for library in versions:
        for name, factory in samples(library).items():
            for protocol in PROTOCOLS:
                if protocol > pickle.HIGHEST_PROTOCOL:
                    continue
                filename = "%s-%s-p%d.pickle" % (library, name, protocol)
                with open(os.path.join(target, filename), "wb") as f:
                    f.write(pickle.dumps(factory(), protocol))
                index["files"][filename] = {"library": library, "sample": name, "protocol": protocol}
    with open(os.path.join(target, "index.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")
    print(target, len(index["files"]))


if __name__ == "__main__":
    main()
