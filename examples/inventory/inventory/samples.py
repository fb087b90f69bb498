"""Declarative samples for pytest-serialcompat ([tool.serialcompat] in pyproject.toml).

A name maps to an object, or to a zero-argument factory called afresh each run.
"""

import datetime

from .models import Category, Location, Money, Product, Shipment, Stock


def hammer() -> Product:
    return Product("T-100", "Claw hammer", 1299, Category.TOOLS, ["steel", "16oz"],
                   weight_grams=450)


def stock() -> Stock:
    return Stock({"T-100": 12, "G-7": 3}, {"T-100": Location("north", 4, 2)})


def shipment() -> Shipment:
    return Shipment("SH-2024-0007", {"T-100": 2, "G-7": 1},
                    datetime.datetime(2024, 3, 1, 14, 30), Money(4550))


SAMPLES = {
    "product/hammer": hammer,
    "product/retired-rake": Product("G-7", "Leaf rake", 899, Category.GARDEN,
                                    discontinued=datetime.date(2023, 12, 31)),
    "location": Location("north", 4, 2),
    "money": Money(1999, "USD"),
    "stock": stock,
    "shipment": shipment,
    "settings": {"currency": "EUR", "low_stock": 5, "warehouses": ["north", "south"]},
}
