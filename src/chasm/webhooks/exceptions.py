from __future__ import annotations

from chasm.kit.errors import ChasmError, NotFound


class WebhookNotFound(NotFound):
    code = "webhook_not_found"

    def __init__(self, webhook_id: object) -> None:
        super().__init__(f"Webhook {webhook_id} not found")


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"

    def __init__(self, delivery_id: object) -> None:
        super().__init__(f"Webhook delivery {delivery_id} not found")


class UnknownEventType(ChasmError):
    status_code = 400
    code = "unknown_event_type"


class WebhookUrlRefused(ChasmError):
    """The URL is not http(s), does not resolve, or resolves to a private address (SSRF)."""

    status_code = 400
    code = "webhook_url_refused"


class DeliveryStateConflict(ChasmError):
    status_code = 409
    code = "delivery_state_conflict"
