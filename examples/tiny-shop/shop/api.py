"""A minimal JSON-over-HTTP front for carts."""

import json
from http.server import BaseHTTPRequestHandler

from .cart import Cart

CARTS: dict[str, Cart] = {}


class CartHandler(BaseHTTPRequestHandler):
    """POST /carts/<id>/items adds an item; GET /carts/<id> returns the total."""

    def do_GET(self) -> None:
        cart = CARTS.get(self.path.rsplit("/", 1)[-1], Cart())
        self._reply({"subtotal": cart.subtotal(), "shipping": cart.shipping(), "total": cart.total()})

    def do_POST(self) -> None:
        cart_id = self.path.split("/")[2]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        CARTS.setdefault(cart_id, Cart()).add(body["name"], body["unit_price"], body.get("quantity", 1))
        self._reply({"items": len(CARTS[cart_id].items)})

    def _reply(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
