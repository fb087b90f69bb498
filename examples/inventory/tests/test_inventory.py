"""Serialization compatibility of the inventory model (run with --serialcompat)."""

from inventory import jobs, samples
from inventory.models import Category, Location, Product, Stock


def test_catalogue(serialcompat):
    catalogue = [samples.hammer(), Product("K-3", "Whisk", 450, Category.KITCHEN)]
    serialcompat.check(catalogue, "catalogue")


def test_stock_pickles_and_marshal_settings(serialcompat):
    serialcompat.check(samples.stock(), "stock-in-cache", protocols=(4, 5))
    # tuples survive pickle and marshal, not JSON: ask for exactly the formats that apply
    serialcompat.check({"low_stock": 5, "locations": [("north", 4, 2)]}, "settings-cache",
                       formats=("pickle", "marshal"))


def test_old_stock_state_still_loads():
    # version-1 state, as the previous release wrote it
    old = Stock.__new__(Stock)
    old.__setstate__({"counts": {"T-100": 1}})
    assert old == Stock({"T-100": 1})


def test_restock_job_is_spawn_safe(serialcompat):
    before = Stock({"T-100": 1}, {"T-100": Location("north", 4, 2)})
    after = serialcompat.check_spawn_safe(jobs.restock, before, "T-100", 5)
    assert after.counts == {"T-100": 6}
    assert after.locations == before.locations
