"""Unit tests of the plugin's building blocks (store, renames, settings, codecs, diffs, paths)."""

import dataclasses
import datetime
import enum
import json
import marshal
import pickle
import subprocess
import threading
import typing

import attr
import pytest
from hypothesis import given, strategies as st

from pytest_serialcompat import environment, store as store_mod
from pytest_serialcompat.check.json_codecs import find_codec
from pytest_serialcompat.check.plan import marshal_problem
from pytest_serialcompat.check.graph_compare import compare
from pytest_serialcompat.diagnosis.picklability import find_unpicklable
from pytest_serialcompat.renames import RenameError, Renames, format_rule
from pytest_serialcompat.results import MANIFEST, WRITE, DELETE, StoreRequest
from pytest_serialcompat.session import records_from_wire, records_to_wire
from pytest_serialcompat.results import Ask, GoldenResult, Records
from pytest_serialcompat.settings import SettingsError, parse_protocols, parse_required


# ----------------------------------------------------------------- store


@pytest.mark.parametrize("fmt, protocol, filename", [
    ("pickle", 4, "cpython3.8-p4.pickle"),
    ("marshal", 4, "cpython3.8-v4.marshal"),
    ("json", None, "cpython3.8.json"),
])
def test_golden_file_names_round_trip(fmt, protocol, filename):
    assert store_mod.golden_filename(fmt, protocol, "cpython3.8") == filename
    assert store_mod.parse_filename(filename) == (fmt, protocol, "cpython3.8")


@pytest.mark.parametrize("filename", [
    "cpython3.8.manifest.json", "cpython3.8-p4.pickle.obtained",
    "cpython3.8-p4.pickle.cpython3.13.obtained", ".cpython3.8-p4.pickle.x.tmp",
    "notes.txt", "cpython-p4.pickle",
])
def test_other_files_are_not_goldens(filename):
    assert store_mod.parse_filename(filename) is None


def test_obtained_files_name_the_replaying_interpreter():
    name = store_mod.obtained_filename("cpython3.8-p4.pickle", "cpython3.13")
    assert name == "cpython3.8-p4.pickle.cpython3.13.obtained"
    assert store_mod.is_obtained_for(name, "cpython3.8-p4.pickle")
    assert not store_mod.is_obtained_for(name, "cpython3.8-p2.pickle")
    assert not store_mod.is_obtained_for("cpython3.8-p4.pickle.notes.obtained", "cpython3.8-p4.pickle")


@pytest.mark.parametrize("name", ["user", "models/user", "test_x.test_y[a-b]", "a/b/c_1"])
def test_valid_names(name):
    assert store_mod.name_problem(name) is None


@pytest.mark.parametrize("name", ["", "../etc", "a/../b", "/abs", "a//b", ".hidden", "a b", "x" * 201])
def test_invalid_names(name):
    assert store_mod.name_problem(name) is not None


@given(st.text(max_size=80))
def test_sanitized_names_are_valid(text):
    assert store_mod.name_problem(store_mod.sanitize_name(text)) is None


def test_atomic_write_and_manifest_merge(tmp_path):
    store = store_mod.Store(tmp_path)
    store.apply(StoreRequest(WRITE, "user/cpython3.8-p4.pickle", b"abc"))
    assert (tmp_path / "user" / "cpython3.8-p4.pickle").read_bytes() == b"abc"
    assert [p.name for p in (tmp_path / "user").iterdir()] == ["cpython3.8-p4.pickle"]  # no temp left
    header = {"interpreter": "cpython3.8", "plugin_version": "9"}
    store.apply(StoreRequest(MANIFEST, sample="user", interpreter="cpython3.8", header=header,
                             entries={"cpython3.8-p4.pickle": {"sha256": "1"}}))
    store.apply(StoreRequest(MANIFEST, sample="user", interpreter="cpython3.8", header=header,
                             entries={"cpython3.8-p5.pickle": {"sha256": "2"}}))
    manifest = json.loads((tmp_path / "user" / "cpython3.8.manifest.json").read_text())
    assert manifest["goldens"] == {"cpython3.8-p4.pickle": {"sha256": "1"},
                                   "cpython3.8-p5.pickle": {"sha256": "2"}}
    assert manifest["kind"] == store_mod.MANIFEST_KIND and manifest["sample"] == "user"
    # canonical: sorted keys, no spaces
    text = (tmp_path / "user" / "cpython3.8.manifest.json").read_text()
    assert text == json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    assert store.goldens("user")[0].filename == "cpython3.8-p4.pickle"
    assert store.samples() == ["user"]
    # removing every entry removes the manifest
    store.apply(StoreRequest(MANIFEST, sample="user", interpreter="cpython3.8",
                             entries={"cpython3.8-p4.pickle": None, "cpython3.8-p5.pickle": None}))
    assert not (tmp_path / "user" / "cpython3.8.manifest.json").exists()
    store.apply(StoreRequest(DELETE, "user/cpython3.8-p4.pickle"))
    assert store.goldens("user") == []


def test_one_walk_finds_samples_generations_and_leftovers(tmp_path):
    """The session's single walk agrees with listing each folder on its own."""
    files = [
        "user/cpython3.8-p4.pickle", "user/cpython3.8.manifest.json",
        "user/cpython3.8-p4.pickle.cpython3.13.obtained",
        "user/.cpython3.8-p4.pickle.unfinished-abc123.tmp",       # a killed write's leftover
        "user/releases/1.0.0/cpython3.8-p2.pickle",                 # a frozen generation
        "user/releases/1.0.0/cpython3.8.manifest.json",
        "user/releases/notaversion/cpython3.8-p2.pickle",
        "area/shelf/item/cpython3.13.json",                         # nested, no manifest yet
        "area/notes.txt",                                           # a folder, not a sample
        "gone/releases/0.9/cpython3.8-p2.pickle",                   # only old releases left
        ".hidden/cpython3.8-p4.pickle",                             # hidden folders are skipped
        "releases/cpython3.8-p4.pickle",                            # a sample may be named so at the top
    ]
    for relpath in files:
        path = tmp_path.joinpath(*relpath.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    store = store_mod.Store(tmp_path)
    walked = store.walk()
    assert walked.samples == ["area/shelf/item", "releases", "user"]
    assert walked.leftovers == ["user/.cpython3.8-p4.pickle.unfinished-abc123.tmp"]
    assert [(g.sample, g.version) for g in walked.generations] == [("gone", "0.9"), ("user", "1.0.0")]
    for name in walked.samples + ["user/releases/1.0.0"]:
        assert walked.goldens(name) == store.goldens(name)
        assert walked.names(name) == store.listing(name)[1]
    assert store.scan() == (walked.samples, walked.leftovers)
    assert store_mod.generations.all_frozen(store) == walked.generations
    assert walked.names("nowhere") == frozenset() and walked.goldens("nowhere") == []
    assert store_mod.Store(tmp_path / "absent").walk().samples == []


def test_emptied_folders_are_removed_up_to_the_root_and_no_further(tmp_path):
    store = store_mod.Store(tmp_path / "store")
    for relpath in ("retired/001/x.pickle", "retired/002/x.pickle", "kept/003/x.pickle",
                    "area/shelf/item/x.pickle", "area/other/y.pickle"):
        path = store.path(relpath)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for relpath in ("retired/001/x.pickle", "retired/002/x.pickle", "area/shelf/item/x.pickle"):
        store.path(relpath).unlink()
    (tmp_path / "store" / "kept" / "003" / "x.pickle").unlink()
    store.remove_empty_folders("retired/001", "retired/002", "area/shelf/item")
    assert not (tmp_path / "store" / "retired").exists()        # both samples went, then it
    assert not (tmp_path / "store" / "area" / "shelf").exists()
    assert (tmp_path / "store" / "area" / "other" / "y.pickle").exists()  # not empty: stays
    assert (tmp_path / "store" / "kept" / "003").is_dir()         # not asked for: stays
    store.remove_empty_folders("kept/003")
    assert not (tmp_path / "store" / "kept").exists() and (tmp_path / "store").is_dir()


def test_goldens_sorted_by_version_not_text(tmp_path):
    store = store_mod.Store(tmp_path)
    for tag in ("cpython3.10", "cpython3.9", "cpython3.13", "cpython3.8"):
        store.apply(StoreRequest(WRITE, "s/%s-p2.pickle" % tag, b"x"))
    assert [g.interpreter for g in store.goldens("s")] == [
        "cpython3.8", "cpython3.9", "cpython3.10", "cpython3.13"]


def test_bad_manifest_is_a_store_error(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "cpython3.8.manifest.json").write_text("{not json")
    with pytest.raises(store_mod.StoreError, match="not valid JSON"):
        store_mod.Store(tmp_path).manifest("s", "cpython3.8")
    (tmp_path / "s" / "cpython3.8.manifest.json").write_text("[1, 2]")
    with pytest.raises(store_mod.StoreError, match="not a serialcompat manifest"):
        store_mod.Store(tmp_path).manifest("s", "cpython3.8")


def test_records_survive_the_wire_as_json():
    records = Records(
        [GoldenResult("u", "pickle", 4, "cpython3.8", "u/cpython3.8-p4.pickle", "failed", "not-equal",
                      "msg", "fix", "t.py::t")],
        [Ask("u", ("pickle", "json"), None, "t.py::t")],
        [StoreRequest(WRITE, "u/x", bytes(range(256)), reason="new")],
    )
    wire = json.loads(json.dumps(records_to_wire(records)))  # what pytest-reportlog/xdist carry
    assert records_from_wire(wire) == records


# --------------------------------------------------------------- environment


def test_ci_detection():
    assert environment.ci_variable({}) is None
    assert environment.ci_variable({"CI": "false"}) is None
    assert environment.ci_variable({"CI": "0", "GITHUB_ACTIONS": "true"}) == "GITHUB_ACTIONS=true"
    assert environment.ci_variable({"JENKINS_URL": "http://j"}) == "JENKINS_URL=http://j"


def test_interpreter_tag():
    tag = environment.CURRENT.tag
    assert environment.parse_tag(tag)[1] == tuple(__import__("sys").version_info[:2])
    assert environment.parse_tag("cpython3.10") == ("cpython", (3, 10))
    assert environment.parse_tag("manifest") is None


# -------------------------------------------------------------- settings


def test_protocols_and_required_pythons():
    assert parse_protocols([], 5) == (2, 3, 4, 5)
    assert parse_protocols(["4-5", "0"], 5) == (0, 4, 5)
    assert parse_protocols(["2", "9"], 5) == (2,)
    with pytest.raises(SettingsError):
        parse_protocols(["x"], 5)
    assert parse_required(["3.8", "cpython3.13"]) == ("cpython3.8", "cpython3.13")
    with pytest.raises(SettingsError):
        parse_required(["three"])


# --------------------------------------------------------------- renames


def test_renames_full_module_and_colon_forms():
    renames = Renames.from_lines([
        "myapp.models.User = myapp.accounts.User",
        "old.pkg = new.pkg  # comment",
        "a.b:Outer.Inner = c:Inner",
    ])
    assert renames.apply("myapp.models", "User") == ("myapp.accounts", "User")
    assert renames.apply("myapp.models", "Group") == ("myapp.models", "Group")
    assert renames.apply("old.pkg.sub", "X") == ("new.pkg.sub", "X")
    assert renames.apply("old.pkgs", "X") == ("old.pkgs", "X")
    assert renames.apply("a.b", "Outer.Inner") == ("c", "Inner")
    nested = Renames.from_lines(["m.Outer.Inner = n.Outer.Inner"])
    assert nested.apply("m", "Outer.Inner") == ("n", "Outer.Inner")
    with pytest.raises(RenameError, match="cannot parse"):
        Renames.from_lines(["no equals sign"])
    assert format_rule(("a", "B"), ("c", "D")) == "a.B = c.D"


# ---------------------------------------------------------------- codecs


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Line:
    sku: str
    qty: int
    when: datetime.date
    level: Level = Level.LOW


@dataclasses.dataclass
class Order:
    lines: typing.List[Line]
    notes: typing.Optional[str] = None
    index: typing.Dict[str, Line] = dataclasses.field(default_factory=dict)
    tags: typing.FrozenSet[str] = frozenset()


class Custom:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return type(other) is Custom and other.value == self.value

    def to_json(self):
        return json.dumps({"v": self.value})

    @classmethod
    def from_json(cls, text):
        return cls(json.loads(text)["v"])


lines = st.builds(Line, st.text(max_size=5), st.integers(), st.dates(), st.sampled_from(Level))


@given(st.builds(Order, st.lists(lines, max_size=3), st.none() | st.text(max_size=5),
                 st.dictionaries(st.text(max_size=3), lines, max_size=2),
                 st.frozensets(st.text(max_size=3), max_size=3)))
def test_dataclass_codec_round_trips(order):
    codec = find_codec(order)
    value = codec.to_json(order)
    assert json.loads(json.dumps(value)) == value  # plain JSON
    assert codec.from_json(json.loads(json.dumps(value))) == order


def test_method_codec_with_text_and_native_data():
    codec = find_codec(Custom(3))
    assert codec.explicit
    assert codec.to_json(Custom(3)) == {"v": 3}
    assert codec.from_json({"v": 3}) == Custom(3)
    assert find_codec({"a": [1, "x", None]}).name == "plain JSON data"
    assert find_codec({1: "non-str key"}) is None
    assert find_codec((1, 2)) is None


def test_dataclass_codec_rejects_unknown_fields():
    codec = find_codec(Line("a", 1, datetime.date(2020, 1, 1)))
    with pytest.raises(Exception, match="no field extra"):
        codec.from_json({"sku": "a", "qty": 1, "when": "2020-01-01", "extra": 1})


# ----------------------------------------------------------- marshal types


def test_marshal_problem_names_the_path():
    assert marshal_problem({"a": [1, (2.5, b"x", None)], "c": frozenset({1})}) is None
    assert marshal_problem(compile("1", "f", "eval")) is None
    problem = marshal_problem({"a": [1, Level.LOW]})
    assert problem.startswith("obj['a'][1]: ") and "Level" in problem
    assert marshal_problem(bytearray(b"x")) is not None  # marshal would turn it into bytes
    assert marshal.loads(marshal.dumps(StopIteration)) is StopIteration
    assert marshal_problem(StopIteration) is None


# ------------------------------------------------------------- object diff


class Account:
    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __eq__(self, other):
        return type(other) is Account and vars(self) == vars(other)


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y


def object_diff(old, new, **options):
    return compare(old, new, **options).lines()


def test_object_diff_paths():
    old = Account(name="a", items=[1, 2, {"k": 1}], gone=1)
    new = Account(name="b", items=[1, 2, {"k": 2}], added=2)
    lines = object_diff(old, new)
    assert "obj.gone: only in golden (= 1)" in lines
    assert "obj.added: only in current (= 2)" in lines
    assert "obj.name: 'a' != 'b'" in lines
    assert "obj.items[2]['k']: 1 != 2" in lines
    assert object_diff([1], (1,)) == ["obj: type list (golden) != tuple (current)"]
    assert object_diff(Account(a=1), Account(a=1)) == []
    assert object_diff(Slotted(1, 2), Slotted(1, 3)) == ["obj.y: 2 != 3"]
    # no __eq__ of its own: the same state is the same object
    assert object_diff(Slotted(1, 2), Slotted(1, 2)) == []


def test_object_diff_is_capped_with_a_count_of_the_rest():
    lines = object_diff(list(range(100)), list(range(1, 101)), limit=5)
    assert lines[:5] == ["obj[%d]: %d != %d" % (i, i, i + 1) for i in range(5)]
    assert lines[5:] == ["... and 95 more differences"]


# ------------------------------------------------------------ picklability


class Cache:
    def __init__(self):
        self._lock = threading.Lock()
        self.items = {"a": 1}


class Service:
    def __init__(self):
        self.name = "svc"
        self.cache = Cache()


def test_find_unpicklable_names_the_path():
    offender = find_unpicklable(Service())
    assert offender.path == "obj.cache._lock"
    assert offender.type_name == "_thread.lock"
    assert str(offender).startswith("obj.cache._lock: _thread.lock (TypeError:")
    with pytest.raises(TypeError):  # the oracle agrees that it does not pickle
        pickle.dumps(Service())


def test_find_unpicklable_local_function_and_clean_object():
    def local():
        return 1

    offender = find_unpicklable({"jobs": [1, local]})
    assert offender.path == "obj['jobs'][1]"
    assert "local" in offender.type_name
    assert find_unpicklable({"fine": [1, 2, Level.HIGH]}) is None


@attr.s(eq=True)
class AttrsRecord:
    """A real attrs class: fields with an init=False cache that is not state."""

    when = attr.ib(type=datetime.date)
    level = attr.ib(type=Level)
    cache = attr.ib(init=False, factory=dict, eq=False)


def test_attrs_classes_use_their_fields():
    obj = AttrsRecord(datetime.date(2021, 5, 6), Level.HIGH)
    codec = find_codec(obj)
    assert "attrs fields" in codec.name
    assert codec.to_json(obj) == {"when": "2021-05-06", "level": 2}
    assert codec.from_json({"when": "2021-05-06", "level": 2}) == obj


def test_standard_library_paths_are_not_project_refactors(tmp_path):
    from pytest_serialcompat.diagnosis import messages as diagnosis, moved_class

    assert moved_class.is_stdlib_module("pathlib._local")
    assert moved_class.is_stdlib_module("collections.abc")
    assert not moved_class.is_stdlib_module("pytest_serialcompat.store")
    assert not moved_class.is_stdlib_module("myapp.models")
    gone = moved_class.Missing(
        ("pathlib._local", "PurePosixPath"), "ModuleNotFoundError: No module named 'pathlib._local'", True
    )
    message, fix = diagnosis.moved([gone], [None], tmp_path, None, "cpython3.13")
    assert "standard-library path of cpython3.13" in message
    assert "oldest Python you support" in fix
    assert "re-export" not in fix


# --- the safety gate's per-session memory ------------------------------------------------------

@dataclasses.dataclass
class GatedPoint:
    x: int
    y: datetime.date


HERE = (GatedPoint.__module__.split(".")[0],)  # this test module's top-level name


def _analysis(data, allow=HERE):
    from pytest_serialcompat.check import safety

    return safety.analyze(data, allow, tree=False)


def test_gate_reuses_decisions_and_still_refuses_what_it_did_not_verify():
    from pytest_serialcompat.check import safety

    gate = safety.Gate(Renames.from_lines([]))
    values = [GatedPoint(n, datetime.date(2020, 1, 1 + n)) for n in range(3)]
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):  # unframed (0-3) and framed streams
        first = gate.decide(_analysis(pickle.dumps(values[0], protocol)), HERE)
        assert first.safe
        for value in values:
            data = pickle.dumps(value, protocol)
            verdict = gate.decide(_analysis(data), HERE)
            # the memoized decision is the decision made from scratch
            fresh = safety.decide(verdict.analysis, HERE, Renames.from_lines([]))
            assert (verdict.targets, verdict.refused, verdict.protocol) == (
                fresh.targets, fresh.refused, fresh.protocol)
            assert gate.load(data, verdict) == value
    # a prefix list that no longer allows our module is another decision, not a cache hit
    refused = gate.decide(_analysis(pickle.dumps(values[0], 4), ()), ())
    assert not refused.safe
    assert any("GatedPoint" in r.name for r in refused.refused)
    # the guarded loader resolves only verified globals, whatever its memory holds
    for protocol in (2, 4):
        verified = gate.decide(_analysis(pickle.dumps(1, protocol)), HERE)
        with pytest.raises(pickle.UnpicklingError, match="not verified"):
            gate.load(pickle.dumps(values[0], protocol), verified)


OtherRun = subprocess.run  # a project name that is really subprocess.run


def _constructs(module: str, name: str) -> bytes:
    """A protocol 4 pickle that constructs ``module.name`` (STACK_GLOBAL, EMPTY_TUPLE, NEWOBJ)."""
    def text(value):
        return b"\x8c" + bytes([len(value)]) + value.encode()
    return b"\x80\x04" + text(module) + text(name) + b"\x93)\x81."


def test_verdicts_of_one_decision_are_verified_and_resolved_once_and_alike():
    from pytest_serialcompat.check import safety

    gate = safety.Gate(Renames.from_lines([]))
    alias = _constructs(GatedPoint.__module__, "OtherRun")
    first = gate.decide(_analysis(alias), HERE)
    assert first.safe  # by its name, a project class: only resolving it shows what it is
    refused = gate.verify(first)
    assert refused and "subprocess.run" in refused[0].reason
    refused.clear()  # the caller's list: what the gate remembers is not changed by it
    second = gate.decide(_analysis(alias), HERE)
    assert second.checks is first.checks  # one remembered decision
    assert [r.reason for r in gate.verify(second)] == [r.reason for r in safety.Gate(
        Renames.from_lines([])).verify(first)]
    assert gate.all_resolve(second.targets)  # it imports: refused for what it is, not missing
    missing = gate.decide(_analysis(_constructs(GatedPoint.__module__, "NoSuchPoint")), HERE)
    assert not gate.all_resolve(missing.targets) and not gate.all_resolve(missing.targets)
    point = gate.decide(_analysis(pickle.dumps(GatedPoint(1, datetime.date(2020, 1, 1)), 4)), HERE)
    assert point.safe and gate.verify(point) == [] and gate.all_resolve(point.targets)


def test_gate_resolution_names_missing_modules_and_attributes():
    from pytest_serialcompat.check import safety

    gate = safety.Gate(Renames.from_lines([]))
    assert gate.resolve(("datetime", "date")).obj is datetime.date
    missing = gate.resolve(("no_such_module_xyz", "Thing"))
    assert missing.obj is None and missing.module_missing
    assert "No module named 'no_such_module_xyz'" in missing.problem
    gone = gate.resolve(("datetime", "NoSuchClass"))
    assert not gone.module_missing and "AttributeError" in gone.problem
    assert gate.resolve(("datetime", "NoSuchClass")) is gone  # resolved once per session


def test_protocol_2_python_2_names_are_mapped_before_the_memory_is_consulted():
    from pytest_serialcompat.check import safety

    gate = safety.Gate(Renames.from_lines([]))
    # written as Python 2 would: __builtin__.set and copy_reg._reconstructor
    data = pickle.dumps({1, 2}, 2, fix_imports=True)
    verdict = gate.decide(_analysis(data), ())
    assert verdict.safe
    assert ("builtins", "set") in verdict.targets
    assert gate.load(data, verdict) == {1, 2}


class Bag:
    def __init__(self, **attrs):
        self.__dict__.update(attrs)


def shape_changes(old, new, root="obj"):
    """Attributes on one side only, as replay reports them for (b)."""
    return compare(old, new, root=root).of_kind("shape")


class SlottedBag:
    __slots__ = ("a", "b")


def test_shape_changes_name_attribute_paths_on_either_side():

    old = Bag(items=[Bag(a=1, stale=2)], meta={"k": Bag(x=1)}, same=Bag(v=(Bag(deep=1),)))
    new = Bag(items=[Bag(a=1)], meta={"k": Bag(x=1, added=[3])}, same=Bag(v=(Bag(deep=1),)))
    assert shape_changes(old, new) == [  # in the order of the attributes
        "obj.items[0].stale: only in golden (= 2)",
        "obj.meta['k'].added: only in current (= [3])",
    ]
    assert shape_changes(new, new) == []
    one, two = SlottedBag(), SlottedBag()
    one.a = two.a = 1
    one.b = 2
    assert shape_changes([one], [two], root="x") == ["x[0].b: only in golden (= 2)"]
    # a cycle is walked once
    loop_a, loop_b = Bag(), Bag()
    loop_a.me, loop_b.me = loop_a, loop_b
    assert shape_changes(loop_a, loop_b) == []


class SlotsAndDict(SlottedBag):
    """Slots from the base class and a __dict__ of its own."""


class Masked:
    """Attribute access hides the real instance dict: the walk must read the real one."""

    def __init__(self, **attrs):
        for name, value in attrs.items():
            setattr(self, name, value)

    def __getattribute__(self, name):
        if name == "__dict__":
            return {}
        return object.__getattribute__(self, name)


class TaggedDict(dict):
    pass


def test_shape_changes_read_every_kind_of_instance_state():

    one, two = SlotsAndDict(), SlotsAndDict()
    one.a = two.a = 1
    two.b = 2  # a slot
    one.extra = 3  # the __dict__
    assert shape_changes(one, two) == ["obj.extra: only in golden (= 3)",
                                       "obj.b: only in current (= 2)"]
    assert shape_changes(Masked(kept=1, gone=2), Masked(kept=1)) == ["obj.gone: only in golden (= 2)"]
    # a dict subclass is walked by key, its values' attributes included
    old, new = TaggedDict(k=Bag(x=1)), TaggedDict(k=Bag(x=1, y=2))
    assert shape_changes(old, new) == ["obj['k'].y: only in current (= 2)"]
    # the same class seen again (its plan remembered) is read the same way
    assert shape_changes([Bag(a=1), Bag(a=1, b=2)], [Bag(a=1), Bag(a=1)]) == [
        "obj[1].b: only in golden (= 2)"]


def test_project_names_follow_packages_added_during_the_session(pytester):
    from pytest_serialcompat.plugin import STATE_KEY

    pytester.mkpydir("shop")
    config = pytester.parseconfigure("--serialcompat")
    state = getattr(config, STATE_KEY)
    assert state.project_names() == {"shop"}
    assert state.project_names() == {"shop"}  # asked again: the same answer
    pytester.mkpydir("billing")               # a package appears at the rootdir
    assert state.project_names() == {"billing", "shop"}
    (pytester.path / "src" / "ledger").mkdir(parents=True)
    (pytester.path / "src" / "ledger" / "books.py").write_text("")
    assert state.project_names() == {"billing", "ledger", "shop"}
    names = state.project_names()
    names.add("mutated")                      # a caller's copy, not the session's
    assert state.project_names() == {"billing", "ledger", "shop"}
