# -*- coding: utf-8 -*-
"""Objects pickled by Python 2.7 for the unpickler's Python 2 compatibility tests.

This module is valid Python 2 and Python 3: run under Python 2.7 it pickles
``samples()`` with ``pickle`` and ``cPickle`` at protocols 0-2 and prints them
as JSON (``main``); imported under Python 3 it provides the same class names,
so that the unpickler finds ``py2_samples.OldStyle`` and friends.
"""

import collections
import datetime
import decimal


class OldStyle:
    """A classic class in Python 2 (INST/OBJ opcodes), an ordinary class in 3."""

    def __init__(self, x=None):
        self.x = x


class NewStyle(object):
    def __init__(self, x=None):
        self.x = x


class WithInitArgs:
    """A classic class with ``__getinitargs__``: the arguments go into INST/OBJ."""

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __getinitargs__(self):
        return (self.a, self.b)


class Slots2(object):
    __slots__ = ("a", "b")

    def __init__(self, a=None):
        self.a = a

    def __getstate__(self):
        return None, dict((name, getattr(self, name)) for name in self.__slots__ if hasattr(self, name))

    def __setstate__(self, state):
        for name, value in state[1].items():
            setattr(self, name, value)


def samples():
    """(name, value) pairs; only called under Python 2 (py2-only names inside)."""
    shared = [1, "shared"]
    recursive = []
    recursive.append(recursive)
    text = u"caf\xe9 \u20ac \U0001f600"
    return [
        ("str_ascii", "hello"),
        ("str_latin1", "caf\xe9 \x00\xff"),
        ("str_utf8", text.encode("utf-8")),
        ("str_long", "x" * 300 + "\xe9"),
        ("unicode", text),
        ("unicode_controls", u"a\nb\\c\x00\u0100"),
        ("int", 42),
        ("int_negative", -7),
        ("int_wide", 2 ** 31 + 5),
        ("long", 2 ** 100),
        ("long_negative", -(2 ** 70)),
        ("long_small", long(5)),  # noqa: F821 (Python 2)
        ("float", 1.5),
        ("float_negative_zero", -0.0),
        ("float_inf", float("inf")),
        ("float_tiny", 5e-324),
        ("bool", [True, False]),
        ("none", None),
        ("list", [1, "a", u"b", [2.5]]),
        ("tuple", (1, 2, 3, 4)),
        ("dict", {"a": 1, u"b": [2], 3: "c"}),
        ("set", set([1, 2, 3])),
        ("frozenset", frozenset(["x", u"y"])),
        ("datetime", datetime.datetime(2020, 5, 17, 13, 14, 15, 123456)),
        ("date", datetime.date(1999, 12, 31)),
        ("time", datetime.time(1, 2, 3, 4)),
        ("timedelta", datetime.timedelta(days=3, seconds=7, microseconds=9)),
        ("old_style", OldStyle([1, "two", u"three"])),
        ("new_style", NewStyle({"k": u"v"})),
        ("init_args", WithInitArgs(1, "x")),
        ("slots", Slots2(u"slot")),
        ("shared", [shared, shared]),
        ("recursive", recursive),
        ("xrange", xrange(1, 10, 2)),  # noqa: F821 (Python 2)
        ("exception", ValueError("bad", 3)),
        ("ordered_dict", collections.OrderedDict([("b", 1), ("a", 2)])),
        ("decimal", decimal.Decimal("1.25")),
        ("mixed", {"when": datetime.date(2001, 1, 1), "who": [OldStyle(u"\xe9"), NewStyle("\xe9")]}),
    ]


def main():
    import binascii
    import json
    import pickle

    import cPickle  # noqa: F401 (Python 2)

    out = []
    for name, value in samples():
        for module_name, module in (("pickle", pickle), ("cPickle", cPickle)):
            for protocol in (0, 1, 2):
                data = module.dumps(value, protocol)
                out.append([name, module_name, protocol, binascii.hexlify(data)])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
