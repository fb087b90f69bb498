"""Where products are kept (moved here from inventory.models in 1.1.0)."""


class Location:
    """Where a product sits: a __slots__ class (no __dict__)."""

    __slots__ = ("warehouse", "aisle", "shelf")

    def __init__(self, warehouse: str, aisle: int, shelf: int):
        self.warehouse = warehouse
        self.aisle = aisle
        self.shelf = shelf

    def __eq__(self, other):
        return type(other) is Location and (self.warehouse, self.aisle, self.shelf) == (
            other.warehouse, other.aisle, other.shelf)

    def __repr__(self):
        return "Location(%r, %d, %d)" % (self.warehouse, self.aisle, self.shelf)
