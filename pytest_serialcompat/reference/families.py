"""Curated data reconstructors of the third-party libraries people pickle.

A *family* is one library's exact globals that its own ``__reduce__`` methods
write, each with the use the stream makes of it:

* ``CALL``: a reconstructor the loader calls with data (``numpy.core.multiarray
  ._reconstruct(cls, shape, typecode)``).  ``classes`` lists the argument
  positions that must be classes the stream may construct (the reconstructor
  makes an instance of that class: ``ndarray.__new__(cls, ...)``); ``nones``
  lists positions that must be ``None`` (where another value would make the
  callee open a file); ``types`` lists positions where a class allowed to the
  stream may stand for data (``numpy.dtype(numpy.record, ...)``).  Any other
  argument that is a bare global refuses the call: no reconstructor here takes
  a callable.
* ``CONSTRUCT``: a class the loader creates without ``__init__`` (``NEWOBJ``,
  ``copyreg.__newobj__``) and gives its state with the class's own
  ``__setstate__`` -- the library's deserializer.

A user enables a family by its name in ``serialcompat_allow`` (``numpy``,
``pandas``, ``pytz``, ``dateutil``, ``zoneinfo``): that library's entries and
nothing else; a family name is not a module prefix.  ``zoneinfo`` (the stdlib
module and its ``backports.zoneinfo`` twin for Python 3.8) is on by default:
its entries read the time-zone database by a validated key, like the stdlib
table.  ``pandas`` includes ``pytz`` and ``dateutil``, whose time zones pandas
1.x-2.x put into its own timestamps and indexes.

Names are spelled as each version pickles them: numpy 1.x ``numpy.core.*``,
numpy 2.x ``numpy._core.*`` (and numpy 2 reading 1.x pickles through its
``numpy.core`` shim); pandas 1.x-2.x by defining module, pandas 3.x by its
top-level exports.  Both spellings are listed wherever one object has two.

Importing this module imports none of these libraries.
"""

from types import MappingProxyType
from typing import Dict, Iterable, Mapping, NamedTuple, Tuple

Global = Tuple[str, str]

CALL = "call"
CONSTRUCT = "construct"


class Reconstructor(NamedTuple):
    use: str                       # CALL or CONSTRUCT
    why: str                       # what the global does, for docs and reports
    classes: Tuple[int, ...] = ()  # CALL: argument positions that are classes it constructs
    nones: Tuple[int, ...] = ()    # CALL: argument positions that must be None
    types: Tuple[int, ...] = ()    # CALL: argument positions that may hold an allowed class as a value


class Family(NamedTuple):
    name: str
    library: str                   # what the docs call it
    entries: Mapping[Global, Reconstructor]
    includes: Tuple[str, ...] = ()
    default: bool = False          # on without serialcompat_allow


def _split(dotted: str) -> Global:
    """``"pkg.mod:Qual.name"`` -> ``("pkg.mod", "Qual.name")``."""
    module, _, qualname = dotted.partition(":")
    return module, qualname


def _add(table: Dict[Global, Reconstructor], names: Iterable[str], entry: Reconstructor) -> None:
    for name in names:
        table[_split(name)] = entry


# --- numpy -------------------------------------------------------------------------------
_numpy: Dict[Global, Reconstructor] = {}
for _core in ("numpy.core", "numpy._core"):
    _add(_numpy, [_core + ".multiarray:_reconstruct"], Reconstructor(
        CALL, "an empty array of the given ndarray class (ndarray.__new__); BUILD then sets its data",
        classes=(0,)))
    _add(_numpy, [_core + ".multiarray:scalar"], Reconstructor(
        CALL, "a numpy scalar from its dtype and raw bytes"))
    _add(_numpy, [_core + ".numeric:_frombuffer"], Reconstructor(
        CALL, "an array over the given bytes, dtype and shape (protocol 5)"))
    _add(_numpy, [_core + ".records:recarray", _core + ".records:record"], Reconstructor(
        CONSTRUCT, "record array / record scalar class"))
_add(_numpy, ["numpy:dtype"], Reconstructor(
    CALL, "a dtype from its type code (or scalar type); BUILD then sets byte order and fields", types=(0,)))
_add(_numpy, ["numpy.ma.core:_mareconstruct"], Reconstructor(
    CALL, "an empty masked array of the given classes; BUILD then sets data and mask", classes=(0, 1)))
_add(_numpy, ["numpy:ndarray", "numpy:recarray", "numpy.rec:recarray", "numpy:record", "numpy.rec:record",
              "numpy.ma:MaskedArray", "numpy.ma.core:MaskedArray", "numpy:matrix",
              "numpy.matrixlib.defmatrix:matrix", "numpy.ma.core:mvoid"],
     Reconstructor(CONSTRUCT, "array class (constructed by a reconstructor, state set by its __setstate__)"))

# --- pandas ------------------------------------------------------------------------------
_pandas: Dict[Global, Reconstructor] = {}
_add(_pandas, ["pandas.core.indexes.base:_new_Index"], Reconstructor(
    CALL, "an Index of the given class from its data dict (cls.__new__(cls, **d))", classes=(0,)))
_add(_pandas, ["pandas.core.indexes.datetimes:_new_DatetimeIndex"], Reconstructor(
    CALL, "a DatetimeIndex of the given class from its data dict", classes=(0,)))
_add(_pandas, ["pandas.core.indexes.interval:_new_IntervalIndex"], Reconstructor(
    CALL, "an IntervalIndex of the given class from its data dict", classes=(0,)))
_add(_pandas, ["pandas.core.indexes.period:_new_PeriodIndex"], Reconstructor(
    CALL, "a PeriodIndex of the given class from its data dict", classes=(0,)))
_add(_pandas, ["pandas._libs.internals:_unpickle_block"], Reconstructor(
    CALL, "a block of a BlockManager from its values, placement and ndim"))
_add(_pandas, ["pandas._libs.arrays:__pyx_unpickle_NDArrayBacked"], Reconstructor(
    CALL, "a pandas array of the given class (cls.__new__) with the state that follows", classes=(0,)))
_add(_pandas, ["pandas._libs.tslibs.timestamps:_unpickle_timestamp"], Reconstructor(
    CALL, "a Timestamp from its integer value, freq, tz and resolution"))
_add(_pandas, ["pandas._libs.tslibs.timedeltas:_timedelta_unpickle"], Reconstructor(
    CALL, "a Timedelta from its integer value and resolution"))
_add(_pandas, ["pandas._libs.tslibs.nattype:__nat_unpickle", "pandas._libs.tslibs.nattype:_nat_unpickle"],
     Reconstructor(CALL, "the NaT singleton"))
_add(_pandas, ["pandas._libs.tslibs.period:Period", "pandas:Period",
               "pandas._libs.interval:Interval", "pandas:Interval"],
     Reconstructor(CALL, "a scalar from its value and frequency / bounds"))
_add(_pandas, ["pandas.core.dtypes.dtypes:PeriodDtype", "pandas:PeriodDtype"], Reconstructor(
    CALL, "a PeriodDtype from its frequency string"))
_add(_pandas, ["pandas.core.arrays.string_:StringDtype", "pandas:StringDtype"], Reconstructor(
    CALL, "a StringDtype from its storage name and NA value"))
_add(_pandas, ["pandas.core.internals.managers:BlockManager", "pandas.core.internals.managers:SingleBlockManager"],
     Reconstructor(CALL, "a block manager from its blocks and axes (pandas 3.x calls it, 1.x-2.x construct "
                   "it and BUILD its state)"))
_OFFSETS = (
    "DateOffset", "Day", "Hour", "Minute", "Second", "Milli", "Micro", "Nano", "Tick",
    "BusinessDay", "BusinessHour", "CustomBusinessDay", "CustomBusinessHour",
    "MonthEnd", "MonthBegin", "BusinessMonthEnd", "BusinessMonthBegin",
    "CustomBusinessMonthEnd", "CustomBusinessMonthBegin", "SemiMonthEnd", "SemiMonthBegin",
    "Week", "WeekOfMonth", "LastWeekOfMonth", "QuarterEnd", "QuarterBegin", "BQuarterEnd",
    "BQuarterBegin", "YearEnd", "YearBegin", "BYearEnd", "BYearBegin", "FY5253", "FY5253Quarter",
    "Easter", "HalfYearEnd", "HalfYearBegin", "BHalfYearEnd", "BHalfYearBegin",
)
_add(_pandas, ["pandas._libs.tslibs.offsets:" + name for name in _OFFSETS], Reconstructor(
    CALL, "a date offset from its n, normalize and parameters"))
_PANDAS_CLASSES = {
    "pandas.core.frame": ("DataFrame",),
    "pandas.core.series": ("Series",),
    "pandas.core.indexes.base": ("Index",),
    "pandas.core.indexes.range": ("RangeIndex",),
    "pandas.core.indexes.multi": ("MultiIndex",),
    "pandas.core.indexes.datetimes": ("DatetimeIndex",),
    "pandas.core.indexes.timedeltas": ("TimedeltaIndex",),
    "pandas.core.indexes.period": ("PeriodIndex",),
    "pandas.core.indexes.interval": ("IntervalIndex",),
    "pandas.core.indexes.category": ("CategoricalIndex",),
    "pandas.core.indexes.numeric": ("Int64Index", "UInt64Index", "Float64Index", "NumericIndex"),
    "pandas.core.arrays.categorical": ("Categorical",),
    "pandas.core.arrays.datetimes": ("DatetimeArray",),
    "pandas.core.arrays.timedeltas": ("TimedeltaArray",),
    "pandas.core.arrays.period": ("PeriodArray",),
    "pandas.core.arrays.interval": ("IntervalArray",),
    "pandas.core.arrays.boolean": ("BooleanArray",),
    "pandas.core.arrays.integer": ("IntegerArray",),
    "pandas.core.arrays.floating": ("FloatingArray",),
    "pandas.core.arrays.string_": ("StringArray",),
    "pandas.core.dtypes.dtypes": ("CategoricalDtype", "DatetimeTZDtype", "IntervalDtype"),
}
for _module, _names in _PANDAS_CLASSES.items():
    for _name in _names:
        _spellings = [_module + ":" + _name,  # pandas 3.x pickles the public name
                      ("pandas.arrays:" if _name.endswith("Array") else "pandas:") + _name]
        _add(_pandas, _spellings, Reconstructor(
            CONSTRUCT, "pandas data class (constructed, state set by its __setstate__)"))

# --- time zones --------------------------------------------------------------------------
_zoneinfo: Dict[Global, Reconstructor] = {}
for _module in ("zoneinfo", "backports.zoneinfo", "backports.zoneinfo._zoneinfo", "backports.zoneinfo._czoneinfo"):
    _add(_zoneinfo, [_module + ":ZoneInfo"], Reconstructor(
        CONSTRUCT, "time-zone class (named as the owner of ZoneInfo._unpickle)"))
    _add(_zoneinfo, [_module + ":ZoneInfo._unpickle"], Reconstructor(
        CALL, "a ZoneInfo by key, read from the time-zone database (the key is validated)"))

_pytz: Dict[Global, Reconstructor] = {}
_add(_pytz, ["pytz:_p"], Reconstructor(
    CALL, "a pytz time zone by name and offsets, from pytz's own database (pytz.timezone)"))
_add(_pytz, ["pytz:_UTC"], Reconstructor(CALL, "the pytz UTC singleton"))
_add(_pytz, ["pytz:FixedOffset"], Reconstructor(CALL, "a fixed-offset pytz zone from minutes"))

_dateutil: Dict[Global, Reconstructor] = {}
_add(_dateutil, ["dateutil.tz.tz:tzutc", "dateutil.tz:tzutc"], Reconstructor(CALL, "the UTC zone"))
_add(_dateutil, ["dateutil.tz.tz:tzoffset", "dateutil.tz:tzoffset"], Reconstructor(
    CALL, "a fixed-offset zone from a name and seconds"))
_add(_dateutil, ["dateutil.tz.tz:tzlocal", "dateutil.tz:tzlocal"], Reconstructor(CALL, "the local zone"))
_add(_dateutil, ["dateutil.tz.tz:tzstr", "dateutil.tz:tzstr"], Reconstructor(
    CALL, "a zone parsed from a TZ-variable string"))
_add(_dateutil, ["dateutil.tz.tz:tzfile", "dateutil.tz:tzfile"], Reconstructor(
    CALL, "tzfile(None, filename): the file name is only a label, the zone data follows as BUILD state "
    "(a first argument would be opened as a file)", nones=(0,)))


FAMILIES: Mapping[str, Family] = MappingProxyType({
    "numpy": Family("numpy", "NumPy", MappingProxyType(_numpy)),
    "pandas": Family("pandas", "pandas", MappingProxyType(_pandas), includes=("pytz", "dateutil")),
    "zoneinfo": Family("zoneinfo", "zoneinfo and backports.zoneinfo", MappingProxyType(_zoneinfo),
                       default=True),
    "pytz": Family("pytz", "pytz", MappingProxyType(_pytz)),
    "dateutil": Family("dateutil", "python-dateutil (dateutil.tz)", MappingProxyType(_dateutil)),
})
"""Family name -> :class:`Family`."""

ALIASES: Mapping[str, str] = MappingProxyType({"backports.zoneinfo": "zoneinfo", "dateutil.tz": "dateutil"})
"""Other names a user may write for a family."""

# global -> (family name, entry), over every family
OWNER: Mapping[Global, Tuple[str, Reconstructor]] = MappingProxyType({
    key: (family.name, value) for family in FAMILIES.values() for key, value in family.entries.items()
})


def family_of(name: str):
    """The family a ``serialcompat_allow`` word names, or None."""
    return FAMILIES.get(ALIASES.get(name, name))


def enabled(words: Iterable[str]) -> Tuple[str, ...]:
    """The names of the families on for these allow words (defaults and inclusions added)."""
    names = [f.name for f in FAMILIES.values() if f.default]
    work = [w for w in words]
    while work:
        family = family_of(work.pop())
        if family is not None and family.name not in names:
            names.append(family.name)
            work.extend(family.includes)
    return tuple(sorted(names))
