"""The analyzer's BUILD and cost findings (issue 21), on bytes CPython writes and on crafted ones.

Each refusal has a twin that must pass: what pickle itself writes for ordinary
data stays free of these findings.
"""

import decimal
import fractions
import pickle
import random

import pytest

from pytest_serialcompat.reference import opcodes as op
from pytest_serialcompat.reference.analyzer import Limits, analyze
from pytest_serialcompat.reference.errors import MalformedPickle


def u(text):
    raw = text.encode()
    return op.BINUNICODE + len(raw).to_bytes(4, "little") + raw


def sg(module, name):
    return u(module) + u(name) + op.STACK_GLOBAL


def p4(*parts):
    return op.PROTO + b"\x04" + b"".join(parts) + op.STOP


def kinds(data, **limits):
    return sorted({(f.kind, f.reason.split(" (")[0]) for f in analyze(
        data, allow=["tests"], tree=False, limits=Limits(**limits) if limits else None).unsafe})


class Plain:
    pass


def test_what_pickle_writes_for_ordinary_data_has_no_build_or_cost_finding():
    plain = Plain()
    plain.__dict__.update({"a": 1, 2: "int key", (3, 4): "tuple key"})
    modulus = (1 << 61) - 1
    rng = random.Random(21)
    values = [
        fractions.Fraction(1, 3), fractions.Fraction("1e300"), decimal.Decimal("1.5E+9999"),
        {rng.getrandbits(200) for _ in range(2000)},                  # big ints: distinct hashes
        {modulus * k + 5 for k in range(1, 60)},                      # 59 of one hash: under the limit
        {float(i) / 7 for i in range(2000)}, frozenset((i, "x") for i in range(500)),
        {rng.getrandbits(100): i for i in range(500)}, bytearray(b"ab" * 100),
        plain,
    ]
    for value in values:
        for protocol in (2, 4):
            data = pickle.dumps(value, protocol=protocol)
            found = [f for f in analyze(data, allow=["tests"], tree=False).unsafe if f.kind in ("build", "cost")]
            assert found == [], (value, protocol, found)


def test_a_dunder_key_is_found_in_a_dict_or_a_slots_state_whatever_the_other_keys():
    obj = sg("tests", "Plain") + op.EMPTY_TUPLE + op.NEWOBJ
    hook = u("__reduce_ex__") + op.NONE
    for state in (op.EMPTY_DICT + op.MARK + op.BININT1 + b"\x01" + op.NONE + hook + op.SETITEMS,
                  op.NONE + op.EMPTY_DICT + op.MARK + hook + op.SETITEMS + op.TUPLE2):
        assert ("build", "BUILD sets the special attribute '__reduce_ex__'") in kinds(p4(obj, state, op.BUILD))


def test_one_object_gets_one_build():
    obj = sg("tests", "Plain") + op.EMPTY_TUPLE + op.NEWOBJ
    data = p4(obj, op.EMPTY_DICT, op.BUILD, op.EMPTY_DICT, op.BUILD)
    assert ("build", "a second BUILD on one tests.Plain object") in kinds(data)
    assert not kinds(p4(obj, op.EMPTY_DICT, op.BUILD))


def test_colliding_keys_are_found_in_sets_frozensets_dicts_and_set_calls():
    modulus = (1 << 61) - 1
    ints = b"".join(op.LONG1 + bytes([12]) + (k * modulus + 5).to_bytes(12, "little", signed=True)
                    for k in range(1, 70))
    values = b"".join(op.LONG1 + bytes([12]) + (k * modulus + 5).to_bytes(12, "little", signed=True) + op.NONE
                      for k in range(1, 70))
    shapes = {
        "set": p4(op.EMPTY_SET + op.MARK + ints + op.ADDITEMS),
        "frozenset": p4(op.MARK + ints + op.FROZENSET),
        "dict": p4(op.EMPTY_DICT + op.MARK + values + op.SETITEMS),
        "set(list)": (op.PROTO + b"\x02" + op.GLOBAL + b"builtins\nset\n" + op.EMPTY_LIST + op.MARK + ints
                      + op.APPENDS + op.TUPLE1 + op.REDUCE + op.STOP),
    }
    for shape, data in shapes.items():
        found = kinds(data)
        assert any(kind == "cost" for kind, _ in found), (shape, found)
        assert not any(kind == "cost" for kind, _ in kinds(data, max_hash_collisions=100)), shape


def test_the_node_limit_bounds_memory_in_both_modes():
    data = p4(op.EMPTY_LIST + op.MARK + op.EMPTY_DICT * 5000 + op.APPENDS)
    for tree_mode in (True, False):
        with pytest.raises(MalformedPickle, match="more than max_nodes=1000"):
            analyze(data, tree=tree_mode, limits=Limits(max_nodes=1000))
    assert analyze(data, tree=False, limits=Limits(max_nodes=5002)).safe
