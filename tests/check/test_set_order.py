"""set_order.same_up_to_set_order: what it proves, what it refuses, and that a proof holds.

Permuted pickles are made two ways: for real, by the C pickler in child processes
under other PYTHONHASHSEED values; and by hand, by permuting the elements of a
set body found with pickletools.genops (a tokenizer independent of ours).  Every
proof is checked against the real unpickler and the reference analyzer: the
golden loads equal to the current pickle and names the same globals.
"""

import dataclasses
import itertools
import pickle
import pickletools
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_serialcompat.reference.analyzer import analyze
from pytest_serialcompat.check import graph_compare
from pytest_serialcompat.check.set_order import same_up_to_set_order

PROTOCOLS = range(2, pickle.HIGHEST_PROTOCOL + 1)


def assert_proof_holds(golden: bytes, fresh: bytes) -> None:
    """What a proof promises: the same value and the same object graph (what replay then
    passes unloaded), from the same globals."""
    assert pickle.loads(golden) == pickle.loads(fresh)
    assert graph_compare.same(pickle.loads(golden), pickle.loads(fresh))
    assert sorted(analyze(golden).globals) == sorted(analyze(fresh).globals)


# ------------------------------------------------------------ real hash seeds

CHILD = r'''
import pickle, sys
value = {"tags": {"alpha", "beta", "gamma", "delta", "epsilon"},
         "frozen": frozenset({b"one", b"two", b"three", b"four"}),
         "mixed": [frozenset({"x", "y", "z"}), 7, {"k": {"p", "q", "r", "s"}}]}
# protocol 2 writes bytes as _codecs.encode(...) calls, which are not literals
text_only = {key: v for key, v in value.items() if key != "frozen"}
sys.stdout.write(repr([pickle.dumps(text_only if p == 2 else value, p)
                       for p in range(2, pickle.HIGHEST_PROTOCOL + 1)]))
'''


def child_pickles(seed: int):
    out = subprocess.run([sys.executable, "-c", CHILD], env={"PYTHONHASHSEED": str(seed)},
                         check=True, stdout=subprocess.PIPE).stdout
    return dict(zip(PROTOCOLS, eval(out)))  # a list of bytes literals we just wrote


def test_pickles_written_under_other_hash_seeds_are_proven():
    reference = child_pickles(0)
    differing = 0
    for seed in range(1, 9):
        for protocol, golden in child_pickles(seed).items():
            fresh = reference[protocol]
            if golden == fresh:
                continue
            differing += 1
            assert same_up_to_set_order(golden, fresh), (seed, protocol)
            assert_proof_holds(golden, fresh)
    assert differing >= 8  # the seeds really did reorder the sets


# ------------------------------------------------------------- by hand


def set_bodies(data: bytes):
    """(start, stop, elements) of each run of literal elements closed by ADDITEMS, FROZENSET
    or APPENDS, found with pickletools; an element is (offset, end) of literal + memo store."""
    ops = [(o.name, pos) for o, _arg, pos in pickletools.genops(data)]
    ends = [pos for _name, pos in ops[1:]] + [len(data)]
    literal = {"SHORT_BINUNICODE", "BINUNICODE", "SHORT_BINBYTES", "BINBYTES", "BININT",
               "BININT1", "BININT2", "LONG1", "BINFLOAT", "NONE", "NEWTRUE", "NEWFALSE"}
    store = {"MEMOIZE", "BINPUT", "LONG_BINPUT"}
    bodies = []
    for i, (name, _pos) in enumerate(ops):
        if name != "MARK":
            continue
        j, elements = i + 1, []
        while j < len(ops) and ops[j][0] in literal:
            k = j + 1 if j + 1 < len(ops) and ops[j + 1][0] in store else j
            elements.append((ops[j][1], ends[j], ends[k]))
            j = k + 1
        if j < len(ops) and ops[j][0] in ("ADDITEMS", "FROZENSET", "APPENDS") and len(elements) > 1:
            bodies.append((ops[i + 1][1], ops[j][1], elements))
    return bodies


def permuted(data: bytes, body, order) -> bytes:
    """``data`` with the body's literals reordered; memo stores keep their places."""
    start, stop, elements = body
    literals = [data[a:b] for a, b, _c in elements]
    stores = [data[b:c] for _a, b, c in elements]
    middle = b"".join(literals[k] + stores[i] for i, k in enumerate(order))
    assert len(middle) == stop - start
    return data[:start] + middle + data[stop:]


def reorders(data: bytes, bodies):
    """Every pickle with one body's elements rotated by one."""
    for body in bodies:
        n = len(body[2])
        yield permuted(data, body, [(i + 1) % n for i in range(n)])


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("value", [
    {"a", "bb", "ccc"},
    frozenset({b"x", b"yy", b"zzz", b"w"}),
    [{"nested", "set"}, {"k": frozenset({"v", "w"})}],
    {1, 2, 3, 300, 70000, 2 ** 70, -5},
    {1.5, None, True, "mixed", b"bytes"},
    [{"a", "bb"}, {"c", "dd"}, frozenset({"e", "ff"}), frozenset({"g", "hh"})],
], ids=["str", "bytes", "nested", "ints", "mixed", "class-from-memo"])
def test_reordered_set_bodies_are_proven(value, protocol):
    fresh = pickle.dumps(value, protocol)
    bodies = [b for b in set_bodies(fresh) if protocol >= 4 or _feeds_a_set(fresh, b)]
    if protocol == 2 and any(type(v) is bytes for v in value):
        assert not bodies  # protocol 2 writes bytes as _codecs.encode calls: not literals
    else:
        assert bodies
    for golden in reorders(fresh, bodies):
        if golden == fresh:
            continue
        assert same_up_to_set_order(golden, fresh)
        assert_proof_holds(golden, fresh)


def _feeds_a_set(data: bytes, body) -> bool:
    return b"set\n" in data[max(0, body[0] - 40):body[0]]


@dataclasses.dataclass
class Holder:
    items: list
    meta: dict


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_lists_tuples_and_dicts_are_not_sets(protocol):
    value = Holder(["a", "bb", "ccc"], {"k1": "v1", "k2": "v2"})
    fresh = pickle.dumps(value, protocol)
    # the list's elements in another order: same length, same literals, not a set
    lists = [b for b in set_bodies(fresh) if not _feeds_a_set(fresh, b)]
    assert lists
    for golden in reorders(fresh, lists):
        assert not same_up_to_set_order(golden, fresh)
        assert pickle.loads(golden) != pickle.loads(fresh)
    # a dict's keys swapped with its values (same bytes, another meaning)
    swapped = fresh.replace(b"k1", b"@@").replace(b"v1", b"k1").replace(b"@@", b"v1")
    assert not same_up_to_set_order(swapped, fresh)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_set_element_read_again_elsewhere(protocol):
    """A str in a set and in another place is one object: pickled once in the set body,
    read back by memo slot.  Reordering the body moves it to another slot, so the read
    must follow it (as the pickler's own output under another hash seed does)."""
    shared = "".join(["sha", "red"])  # one str object, not interned with anything
    value = [{shared, "other", "third"}, shared]
    fresh = pickle.dumps(value, protocol)
    assert fresh.count(b"shared") == 1
    start, stop, elements = body = set_bodies(fresh)[0]
    read_at = fresh.rindex(b"h")  # BINGET <slot of 'shared'>, after the set
    assert read_at > stop
    home = next(k for k, (a, b, _c) in enumerate(elements) if fresh[a:b].endswith(b"shared"))

    def slot_of(k):  # the memo slot element k's store fills
        return fresh[elements[k][1] + 1] if protocol < 4 else fresh[read_at + 1] - home + k

    assert slot_of(home) == fresh[read_at + 1]
    for order in itertools.permutations(range(len(elements))):
        golden = permuted(fresh, body, list(order))
        if golden == fresh:
            continue
        moved_to = order.index(home)
        if moved_to == home:  # 'shared' kept its slot: the read is right as it is
            assert same_up_to_set_order(golden, fresh)
            assert_proof_holds(golden, fresh)
            continue
        # the read left alone now reads another element: not proven, and rightly so
        assert not same_up_to_set_order(golden, fresh)
        assert pickle.loads(golden)[1] != "shared"
        # the read following the element: proven
        followed = golden[:read_at + 1] + bytes((slot_of(moved_to),)) + golden[read_at + 2:]
        assert same_up_to_set_order(followed, fresh)
        assert_proof_holds(followed, fresh)


def memo_slots(data: bytes):
    """Offset of each memo store -> the slot it fills (pickletools, not our tokenizer)."""
    slots, filled = {}, set()
    for opcode, arg, pos in pickletools.genops(data):
        if opcode.name == "MEMOIZE":
            slots[pos] = len(filled)
        elif opcode.name in ("BINPUT", "LONG_BINPUT"):
            slots[pos] = arg
        else:
            continue
        filled.add(slots[pos])
    return slots


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_read_of_a_slot_not_stored_yet_is_not_proven(protocol):
    first, second = "".join(["tw", "in"]), "".join(["twi", "n"])  # equal, two objects
    value = [{first, "x"}, first, {second, "y"}]
    fresh = pickle.dumps(value, protocol)
    assert fresh.count(b"twin") == 2
    one, two = set_bodies(fresh)
    read_at = fresh.index(b"h", one[1], two[0])  # the read of `first`, between the sets
    golden = permuted(permuted(fresh, one, [1, 0]), two, [1, 0])
    slots = memo_slots(fresh)

    def twin_slot(body):  # where `twin` went in the golden (stores keep their places)
        elements = body[2]
        for k in range(2):
            literal = fresh[elements[1 - k][0]:elements[1 - k][1]]  # element now at position k
            if literal.endswith(b"twin"):
                return slots[elements[k][1]]
        raise AssertionError

    followed = golden[:read_at + 1] + bytes((twin_slot(one),)) + golden[read_at + 2:]
    assert same_up_to_set_order(followed, fresh)
    assert_proof_holds(followed, fresh)
    # the same literal, but from the second set, which the unpickler has not built yet
    early = golden[:read_at + 1] + bytes((twin_slot(two),)) + golden[read_at + 2:]
    assert not same_up_to_set_order(early, fresh)
    with pytest.raises(Exception):
        pickle.loads(early)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_anything_but_literals_in_a_body_is_not_proven(protocol):
    fresh = pickle.dumps({"os", "aa", "bbbbbb"}, protocol)
    # same length, but the body now names a global: never proven
    if protocol >= 4:
        golden = fresh.replace(b"\x8c\x06bbbbbb", b"\x8c\x02os\x93N\x94N")
    else:
        golden = fresh.replace(b"X\x06\x00\x00\x00bbbbbb", b"cos\nsep\n)R0")
    assert len(golden) == len(fresh) and golden != fresh
    assert not same_up_to_set_order(golden, fresh)


def test_what_is_never_proven():
    fresh = pickle.dumps({"a", "b", "c"}, 4)
    assert not same_up_to_set_order(fresh, fresh)  # equal bytes need no proof
    assert not same_up_to_set_order(fresh[:-1], fresh)
    assert not same_up_to_set_order(b"", fresh)
    old = pickle.dumps({"a", "b", "c"}, 1)  # protocol 1 has no PROTO header: not proven
    reordered = list(reorders(old, set_bodies(old)))
    assert reordered and all(pickle.loads(r) == pickle.loads(old) for r in reordered)
    assert not any(same_up_to_set_order(r, old) for r in reordered)
    other_protocol = pickle.dumps({"a", "b", "c"}, 5)
    assert not same_up_to_set_order(other_protocol, fresh)


# ------------------------------------------------------------- fuzzing

values = st.recursive(
    st.one_of(st.text(max_size=6), st.binary(max_size=6), st.integers(), st.none(),
              st.frozensets(st.text(max_size=4), min_size=2, max_size=6),
              st.sets(st.one_of(st.text(max_size=4), st.integers()), min_size=2, max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values, protocol=st.sampled_from(list(PROTOCOLS)), seed=st.integers(0, 2 ** 32),
       edits=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), max_size=4))
def test_any_proof_holds(value, protocol, seed, edits):
    """Random reorders and random byte edits: whatever is proven loads equal, same globals."""
    fresh = pickle.dumps(value, protocol)
    rng = random.Random(seed)
    candidates = []
    for body in set_bodies(fresh):
        order = list(range(len(body[2])))
        rng.shuffle(order)
        candidates.append(permuted(fresh, body, order))
    edited = bytearray(candidates[-1] if candidates else fresh)
    for at, byte in edits:
        edited[at % len(edited)] = byte
    candidates.append(bytes(edited))
    for golden in candidates:
        if same_up_to_set_order(golden, fresh):
            assert_proof_holds(golden, fresh)


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_body_storing_into_another_memo_slot_is_not_proven(protocol):
    value = [{"a", "bb"}, {"c", "dd"}]  # the second set reads the class back from the memo
    fresh = pickle.dumps(value, protocol)
    body = set_bodies(fresh)[0]
    class_slot = fresh[fresh.index(b"set\n") + 5]  # the BINPUT right after the GLOBAL
    assert bytes((ord("h"), class_slot)) in fresh
    golden = permuted(fresh, body, [1, 0])
    start, _stop, elements = body
    store_at = start + elements[1][1] - elements[1][0]  # after the literal now first
    assert golden[store_at] == ord("q")
    hijacked = golden[:store_at + 1] + bytes((class_slot,)) + golden[store_at + 2:]
    assert not same_up_to_set_order(hijacked, fresh)
    with pytest.raises(TypeError):  # the second "set" would be built by calling a str
        pickle.loads(hijacked)



class SetOfShared:
    """Reduces to set(items) with a list that the pickle also holds elsewhere."""

    def __init__(self, items):
        self.items = items

    def __reduce__(self):
        return set, (self.items,)


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_list_fed_to_set_and_read_elsewhere_is_not_proven(protocol):
    items = ["a", "bb", "ccc"]
    fresh = pickle.dumps([SetOfShared(items), items], protocol)
    body = set_bodies(fresh)[0]
    assert _feeds_a_set(fresh, body)
    golden = permuted(fresh, body, [2, 0, 1])
    assert not same_up_to_set_order(golden, fresh)
    assert pickle.loads(golden)[1] != items  # the list itself comes back in another order


@pytest.mark.skipif(pickle.HIGHEST_PROTOCOL < 5, reason="needs protocols 4 and 5")
def test_a_remembered_proof_answers_only_for_the_same_bytes():
    value = {"tags": {"alpha", "beta", "gamma", "delta"}, "n": 7}
    fresh4, fresh5 = pickle.dumps(value, 4), pickle.dumps(value, 5)
    assert fresh4[2:] == fresh5[2:]  # the PROTO argument aside, the same bytes
    body = set_bodies(fresh4)[0]
    golden4 = next(g for g in reorders(fresh4, [body]) if g != fresh4)
    golden5 = golden4[:1] + fresh5[1:2] + golden4[2:]
    assert same_up_to_set_order(golden4, fresh4)
    assert same_up_to_set_order(golden5, fresh5)          # proven with the protocol 4 twin
    assert_proof_holds(golden5, fresh5)
    assert not same_up_to_set_order(golden5, fresh4)      # another protocol: never
    tampered = golden4.replace(b"\x07", b"\x08")           # n = 8: not the same object
    assert tampered != golden4
    assert not same_up_to_set_order(tampered, fresh4)
    assert same_up_to_set_order(golden4, fresh4)          # and the proof still stands
