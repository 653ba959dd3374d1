"""tiny-shop: carts, prices and shipping."""
