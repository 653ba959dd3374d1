"""Shopping carts: line items, totals, tax and shipping."""

from dataclasses import dataclass, field

from .config import FREE_SHIPPING_THRESHOLD, SHIPPING_FEE, TAX_RATE


@dataclass
class Item:
    """One line of a cart."""

    name: str
    unit_price: float
    quantity: int = 1

    def subtotal(self) -> float:
        return self.unit_price * self.quantity


@dataclass
class Cart:
    """A customer's cart."""

    items: list[Item] = field(default_factory=list)

    def add(self, name: str, unit_price: float, quantity: int = 1) -> None:
        """Add an item; adding the same name again increases its quantity."""
        for item in self.items:
            if item.name == name:
                item.quantity += quantity
                return
        self.items.append(Item(name, unit_price, quantity))

    def subtotal(self) -> float:
        return sum(item.subtotal() for item in self.items)

    def shipping(self) -> float:
        """Shipping is free from FREE_SHIPPING_THRESHOLD upwards, else SHIPPING_FEE."""
        return 0.0 if self.subtotal() >= FREE_SHIPPING_THRESHOLD else SHIPPING_FEE

    def total(self) -> float:
        """Subtotal plus tax plus shipping, rounded to cents."""
        return round(self.subtotal() * (1 + TAX_RATE) + self.shipping(), 2)
