"""The event catalogue: every type a webhook endpoint may subscribe to (docs/webhooks.md shows
each payload). An endpoint subscribes to exact types, to `prefix.*` patterns or to `*`."""

from __future__ import annotations

import fnmatch

EVENT_TYPES: dict[str, str] = {
    "session.created": "A sandbox or browser session started.",
    "session.terminated": "A session ended; `ended_reason` says why.",
    "command.exited": "A command of a session exited (foreground, background or a job's).",
    "workspace.created": "A workspace was created (or cloned, or imported).",
    "workspace.updated": "A workspace's name or template flag changed.",
    "workspace.deleted": "A workspace was deleted.",
    "workspace.snapshot.created": "A snapshot of a workspace was taken.",
    "workspace.snapshot.restored": "A workspace was restored from a snapshot.",
    "workspace.snapshot.deleted": "A snapshot was deleted.",
    "job.succeeded": "A background job succeeded.",
    "job.failed": "A background job failed for good.",
    "job.canceled": "A background job was canceled.",
    "billing.wallet.credited": "The wallet was credited (a Stripe top-up, or a subscription's paid invoice).",
    "billing.wallet.exhausted": "The wallet ran out; the account's sessions were ended.",
    "billing.plan.changed": "The account's plan changed.",
    "billing.subscription.renewed": "A subscription's invoice was paid: the plan runs to the period's end.",
    "billing.subscription.canceled": "The Stripe subscription ended: the account is back on the free plan.",
    "webhook.endpoint.disabled": "A webhook endpoint was disabled after failing repeatedly.",
    "assistant.usage.alert": "An assistant crossed a usage threshold (reserved for assistants).",
}


def unknown_types(patterns: list[str]) -> list[str]:
    """The patterns that match no type of the catalogue."""
    return [p for p in patterns if not any(fnmatch.fnmatchcase(t, p) for t in EVENT_TYPES)]


def subscribed(patterns: list[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)
