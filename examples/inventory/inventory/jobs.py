"""Background jobs, run in worker processes (multiprocessing with the spawn start method)."""

from .models import Stock


def restock(stock: Stock, sku: str, amount: int) -> Stock:
    """Return a copy of ``stock`` with ``amount`` more of ``sku``."""
    counts = dict(stock.counts)
    counts[sku] = counts.get(sku, 0) + amount
    return Stock(counts, stock.locations)
