"""Event subscribers: each only queues the fan-out task (STYLE.md 2.4), after writing down
that it is owed (dispatch.fan_out_enqueue), so a broker restart cannot lose it."""

from __future__ import annotations

from repos import events
from webhooks.dispatch import fan_out_enqueue


def on_repo_event(event: events.Event) -> None:
    fan_out_enqueue(event=event)
