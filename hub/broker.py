"""The embedded profile's persisted broker: kombu's SQLAlchemy transport, polled faster.

kombu passes every transport option of this transport to `create_engine`, so the poll
interval is set on a subclass instead.
"""

from __future__ import annotations

from kombu.transport.sqlalchemy import Transport as SqlaTransport


class Transport(SqlaTransport):
    polling_interval = 0.1


def register() -> None:
    """Make `hubsqla+sqlite:///...` broker URLs resolve to this transport."""
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES.setdefault("hubsqla", "hub.broker:Transport")
