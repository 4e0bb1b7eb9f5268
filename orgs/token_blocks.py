"""Which orgs have cut a token off (OrgTokenBlock), looked up once per token object.

orgs/permissions.py asks `token_blocked_in` before letting a token act in a namespace; the
answer is cached on the token object, which lives for one request, so a request pays at
most one small query, and only when it reaches a check beyond public reads.
"""

from __future__ import annotations

from collections.abc import Iterable

from orgs.models import AccessToken, Namespace, OrgTokenBlock

_ATTR = "_hub_org_blocks"


def blocked_namespace_ids(token: AccessToken) -> frozenset[int]:
    """The org namespaces `token` was cut off from (cached on the token object)."""
    cached = getattr(token, _ATTR, None)
    if cached is None:
        cached = frozenset(
            OrgTokenBlock.objects.filter(token_id=token.pk).values_list(
                "org__namespace_id", flat=True
            )
        )
        setattr(token, _ATTR, cached)
    return cached  # type: ignore[no-any-return]


def token_blocked_in(token: AccessToken | None, namespace_id: int | None) -> bool:
    return (
        token is not None
        and namespace_id is not None
        and namespace_id in blocked_namespace_ids(token)
    )


def repo_ids_in(namespace_ids: Iterable[int]) -> set[int]:
    """Ids of the repos the namespaces own (through the reverse relation: orgs cannot
    import repos); for taking a blocked org's team repos out of a listing scope."""
    ids = list(namespace_ids)
    if not ids:
        return set()
    rows = Namespace.objects.filter(pk__in=ids, repos__isnull=False).values_list(
        "repos__id", flat=True
    )
    return set(rows)
