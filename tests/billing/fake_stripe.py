"""A small Stripe API on 127.0.0.1 (stdlib http.server in a thread) speaking Stripe's wire format
for what Chasm uses: form-encoded `POST /v1/checkout/sessions` answering a Checkout Session
object, and webhook events signed like Stripe's (`Stripe-Signature: t=...,v1=...`): a completed
checkout (a subscription checkout makes a customer and a subscription), a subscription's paid
invoice (the current API's shape: the subscription under `parent.subscription_details`), and a
deleted subscription."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`line_items[0][price_data][unit_amount]=1000`) as a dict."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass
class FakeStripe:
    api_key: str = "sk_test_fake"
    webhook_secret: str = "whsec_test_fake"
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscription_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # by checkout
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(6))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._reply(
                        401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
                    )
                    return
                if self.path != "/v1/checkout/sessions":
                    self._reply(
                        404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}}
                    )
                    return
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                params = _nest(parse_qsl(body, keep_blank_values=True))
                fake.requests.append(params)
                sid = "cs_test_" + secrets.token_hex(12)
                amount = None
                if params.get("mode") == "payment":
                    amount = int(params["line_items"]["0"]["price_data"]["unit_amount"])
                session = {
                    "id": sid,
                    "object": "checkout.session",
                    "mode": params.get("mode"),
                    "status": "open",
                    "payment_status": "unpaid",
                    "amount_total": amount,
                    "currency": "usd",
                    "client_reference_id": params.get("client_reference_id"),
                    "customer_email": params.get("customer_email"),
                    "metadata": params.get("metadata", {}),
                    "url": f"https://checkout.stripe.test/c/pay/{sid}",
                    "success_url": params.get("success_url"),
                    "cancel_url": params.get("cancel_url"),
                }
                fake.sessions[sid] = session
                fake.subscription_metadata[sid] = (params.get("subscription_data") or {}).get("metadata", {})
                self._reply(200, session)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def event(self, event_type: str, obj: dict[str, Any], event_id: str | None = None) -> tuple[bytes, str]:
        """A signed event of `event_type` about `obj`, and its Stripe-Signature header."""
        event = {
            "id": event_id or "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "data": {"object": obj},
        }
        payload = json.dumps(event).encode()
        return payload, sign(payload, self.webhook_secret)

    def completed_event(self, session_id: str, event_id: str | None = None) -> tuple[bytes, str]:
        """The `checkout.session.completed` event Stripe would send once the customer paid, and its
        Stripe-Signature header; a subscription checkout now has its customer and subscription."""
        session = {**self.sessions[session_id], "status": "complete", "payment_status": "paid"}
        if session["mode"] == "subscription" and not session.get("subscription"):
            customer, sub_id = "cus_" + secrets.token_hex(8), "sub_" + secrets.token_hex(8)
            self.subscriptions[sub_id] = {
                "id": sub_id,
                "object": "subscription",
                "customer": customer,
                "status": "active",
                "metadata": self.subscription_metadata.get(session_id, {}),
            }
            session |= {"customer": customer, "subscription": sub_id}
            self.sessions[session_id] = session
        return self.event("checkout.session.completed", session, event_id)

    def invoice(self, sub_id: str, amount_cents: int, period_start: int, period_end: int) -> dict[str, Any]:
        """A paid invoice of the subscription for one period."""
        sub = self.subscriptions[sub_id]
        return {
            "id": "in_" + secrets.token_hex(10),
            "object": "invoice",
            "customer": sub["customer"],
            "status": "paid",
            "amount_due": amount_cents,
            "amount_paid": amount_cents,
            "currency": "usd",
            "billing_reason": "subscription_cycle",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub_id, "metadata": sub["metadata"]},
            },
            "lines": {
                "object": "list",
                "data": [{"object": "line_item", "period": {"start": period_start, "end": period_end}}],
            },
        }

    def deleted_event(self, sub_id: str) -> tuple[bytes, str]:
        """`customer.subscription.deleted`: the subscription was canceled (or went unpaid)."""
        sub = self.subscriptions[sub_id] = {**self.subscriptions[sub_id], "status": "canceled"}
        return self.event("customer.subscription.deleted", sub)
