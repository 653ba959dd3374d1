from shop.cart import Cart


def test_free_shipping_from_threshold():
    cart = Cart()
    cart.add("book", 60.0)
    assert cart.shipping() == 0.0


def test_total_includes_tax_and_fee():
    cart = Cart()
    cart.add("pen", 10.0)
    assert cart.total() == 16.95
