"""The data model: everything here is pickled into caches and job queues."""

import dataclasses
import datetime
import enum
from typing import Dict, List, Optional

# Location moved to inventory/locations.py in 1.1.0.  Pickles written by 1.0.0 name
# inventory.models.Location: the re-export keeps them loading.
from .locations import Location  # noqa: F401


class Category(enum.Enum):
    TOOLS = "tools"
    GARDEN = "garden"
    KITCHEN = "kitchen"


@dataclasses.dataclass
class Product:
    """A catalogue entry (dataclass: pickled by attribute, JSON via its fields)."""

    sku: str
    name: str
    price_cents: int
    category: Category
    tags: List[str] = dataclasses.field(default_factory=list)
    discontinued: Optional[datetime.date] = None
    # added in 1.1.0 with a default: 1.0.0 data lacks it, and reads the class default
    weight_grams: int = 0


class Money:
    """An amount of money with a custom __reduce__: pickled as Money(cents, currency)."""

    def __init__(self, cents: int, currency: str = "EUR"):
        self.cents = cents
        self.currency = currency

    def __reduce__(self):
        return (Money, (self.cents, self.currency))

    def __eq__(self, other):
        return type(other) is Money and (self.cents, self.currency) == (other.cents, other.currency)

    def __repr__(self):
        return "Money(%d, %r)" % (self.cents, self.currency)


class Stock:
    """Stock levels with a versioned state.

    Version 1 stored a plain ``{sku: count}`` dict; version 2 adds where each
    product is kept.  ``__setstate__`` upgrades old state, so caches written
    by the previous release still load.
    """

    STATE_VERSION = 2

    def __init__(self, counts: Optional[Dict[str, int]] = None,
                 locations: Optional[Dict[str, Location]] = None):
        self.counts = dict(counts or {})
        self.locations = dict(locations or {})

    def __getstate__(self):
        return {"version": self.STATE_VERSION, "counts": self.counts, "locations": self.locations}

    def __setstate__(self, state):
        if state.get("version", 1) == 1:
            state = {"counts": state["counts"], "locations": {}}
        self.counts = state["counts"]
        self.locations = state["locations"]

    def __eq__(self, other):
        return type(other) is Stock and (self.counts, self.locations) == (
            other.counts, other.locations)

    def __repr__(self):
        return "Stock(%r, %r)" % (self.counts, self.locations)


@dataclasses.dataclass
class Shipment:
    """A shipment with its own JSON codec (to_json / from_json)."""

    reference: str
    lines: Dict[str, int]
    shipped_at: datetime.datetime
    value: Money

    def to_json(self):
        return {
            "reference": self.reference,
            "lines": self.lines,
            "shipped_at": self.shipped_at.isoformat(),
            "value": {"cents": self.value.cents, "currency": self.value.currency},
        }

    @classmethod
    def from_json(cls, data):
        return cls(
            reference=data["reference"],
            lines=dict(data["lines"]),
            shipped_at=datetime.datetime.fromisoformat(data["shipped_at"]),
            value=Money(data["value"]["cents"], data["value"]["currency"]),
        )
