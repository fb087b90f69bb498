"""Class-bearing values shaped like the goldens of bench_plugin.py, for bench_analyze --classes.

``models``: dataclasses (an order with a customer, lines, an Enum status, a
date, a frozenset of labels and a dict); ``plain``: plain classes whose parts
point back at their owner.  Both insertion orders of the dicts, 40 values each.
"""

import dataclasses
import datetime
import enum
import pickle

WORDS = ("bm_classes",)  # the allow word of a golden (the module the pickles name)


class Status(enum.Enum):
    OPEN = "open"
    PAID = "paid"
    SHIPPED = "shipped"


@dataclasses.dataclass
class Customer:
    id: int
    name: str
    email: str


@dataclasses.dataclass
class Line:
    sku: str
    quantity: int
    price_cents: int


@dataclasses.dataclass
class Order:
    id: int
    customer: Customer
    lines: list
    status: Status
    created: datetime.date
    notes: str
    labels: frozenset
    meta: dict


def order(n, reverse):
    meta = [("channel", "web"), ("region", "eu-%d" % (n % 4)), ("priority", n % 3)]
    if reverse:
        meta.reverse()
    return Order(n, Customer(n % 97, "customer-%d" % (n % 97), "c%d@example.org" % (n % 97)),
                 [Line("sku-%d-%d" % (n, i), i + 1, 100 * (i + n % 5)) for i in range(1 + n % 6)],
                 list(Status)[n % 3], datetime.date(2020, 1, 1) + datetime.timedelta(days=n),
                 "order %d" % n, frozenset({"priority", "gift", "fragile", "bulk"}), dict(meta))


class Account:
    def __init__(self, n, reverse):
        self.id = n
        self.owner = Person(n)
        self.entries = [Entry(self, i) for i in range(1 + n % 4)]
        self.branch = Branch(self)
        settings = [("currency", "EUR"), ("limit", 1000), ("alerts", bool(n % 2))]
        self.settings = dict(reversed(settings) if reverse else settings)


class Person:
    def __init__(self, n):
        self.id, self.name = n, "person-%d" % n


class Entry:
    def __init__(self, account, i):
        self.account, self.index, self.amount, self.memo = account, i, 10 * i, "entry %d" % i


class Branch:
    def __init__(self, account):
        self.account, self.owner, self.city = account, account.owner, "city-%d" % (account.id % 7)


def goldens(name, protocol):
    build = order if name == "models" else Account
    return [pickle.dumps(build(n, reverse), protocol) for reverse in (False, True) for n in range(20)]
