"""The audit log: who did what to which target, from where.

Services call `audit_log(...)` after their checks pass, inside their transaction when they
have one, so a rolled-back change leaves no record. The request's address and user agent
reach them through a context variable set by `AuditContextMiddleware`: services take no
request argument. Outside a request (CLI, workers) those fields stay empty.

    audit_log(
        verb="org.member.add",          # <entity>.<what happened>, see VERBS
        actor=request_user,             # User, AnonymousUser or None (the system)
        target=membership_or_repo,      # any model instance; or target_type/id/name
        namespace=org_namespace,        # Namespace, its id, or None: inferred from target
        details={"role": "write"},      # small JSON; never a secret
    )
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from orgs.models import AuditEvent, Namespace, User

USER_AGENT_MAX = 200

# Every verb a service records (the filter's suggestions; tests/orgs/test_org_audit.py checks
# that each org.* and repo.access.* verb recorded is listed). A new verb goes here too.
VERBS = (
    "user.login",
    "user.login_failed",
    "user.logout",
    "token.create",
    "token.revoke",
    "repo.create",
    "repo.delete",
    "repo.visibility",
    "repo.gating",
    "repo.rename",
    "repo.transfer",
    "repo.access.request",  # a user asked for access to a gated repo
    "repo.access.handle",  # a maintainer accepted, rejected or reset a request
    "repo.access.grant",  # a maintainer let a user in without a request
    "webhook.create",
    "webhook.update",
    "webhook.delete",
    "webhook.enable",
    "webhook.disable",
    "org.create",
    "org.update",  # settings: full name, default visibility
    "org.avatar",
    "org.member.add",  # added by an admin or the CLI, or joined through an invitation
    "org.member.role",
    "org.member.remove",
    "org.member.leave",
    "org.invite",
    "org.invite.cancel",
    "org.invite.decline",
    "org.team.create",
    "org.team.update",
    "org.team.delete",
    "org.team.member",  # added to a team, or its team role changed
    "org.team.member.remove",
    "org.team.repo.add",
    "org.team.repo.remove",
    "org.token.revoke",  # an org admin cut a member's token off the org
    "org.token.restore",
    "quota.set",  # a site admin (or the CLI) changed a namespace's storage quota
    "sso.login",  # signed in through an org's (or the instance's) identity provider
    "sso.login_failed",  # an IdP answer refused: signature, replay, expiry, no role...
    "sso.link",  # an IdP identity linked to an existing account by verified email
    "sso.config.create",
    "sso.config.update",
    "sso.config.delete",
    "sso.token.authorize",  # a token allowed into an org that requires SSO
    "sso.token.deauthorize",
)


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    user_agent: str


_context: ContextVar[RequestContext | None] = ContextVar("audit_request_context", default=None)


def _trusted(address: str) -> bool:
    allowed = settings.FORWARDED_ALLOW_IPS
    return "*" in allowed or address in allowed


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the X-Forwarded-For client when the peer is a trusted proxy.

    Walk X-Forwarded-For from the right (the entries our own proxies appended) and take
    the first address that is not a trusted proxy: what a client wrote further left is
    not believed.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "") or "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if remote is None or not forwarded or not _trusted(remote):
        return remote
    hops = [h for h in (p.strip() for p in forwarded.split(",")) if h]
    for hop in reversed(hops):
        address = _valid_ip(hop)
        if address is None:
            return remote  # a malformed entry: trust nothing to its left
        if not _trusted(address):
            return address
    return _valid_ip(hops[0]) if hops else remote


class AuditContextMiddleware:
    """Makes the request's client address and user agent available to `audit_log`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        agent = request.META.get("HTTP_USER_AGENT", "") or ""
        reset = _context.set(
            RequestContext(ip=client_ip(request), user_agent=agent[:USER_AGENT_MAX])
        )
        try:
            return self.get_response(request)
        finally:
            _context.reset(reset)


def _namespace_of(target: Any) -> int | None:
    if isinstance(target, Namespace):
        return int(target.pk)
    if isinstance(target, User):
        return target.namespace_id  # type: ignore[no-any-return]
    owner_id = getattr(target, "owner_id", None)
    if isinstance(owner_id, int):
        # Repos are owned by namespaces; webhooks by users, whose namespace is theirs.
        owner = getattr(type(target), "owner", None)
        related = getattr(getattr(owner, "field", None), "related_model", None)
        if related is User:
            return User.objects.filter(pk=owner_id).values_list("namespace_id", flat=True).first()
        return owner_id
    return None


def _target_fields(target: Any) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    kind = getattr(target, "audit_type", None) or target._meta.model_name
    name = (
        getattr(target, "full_name", None)
        or getattr(target, "username", None)
        or getattr(target, "name", None)
        or str(target)
    )
    return str(kind), str(target.pk), str(name)[:200]


def audit_log(
    *,
    verb: str,
    actor: User | AnonymousUser | None = None,
    target: Any = None,
    target_type: str | None = None,
    target_id: str | int | None = None,
    target_name: str | None = None,
    namespace: Namespace | int | None = None,
    details: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Append one event. The actor's token (id and name, never its secret) is taken from
    `actor.access_token`; the address and user agent from the current request, if any.

    `namespace` scopes the event for org admins; when omitted it is the target's owner
    namespace (a repo's owner, a user's own namespace, a namespace itself).
    """
    user = actor if actor is not None and actor.is_authenticated else None
    token = getattr(user, "access_token", None)
    kind, pk, name = _target_fields(target)
    namespace_id: int | None
    if isinstance(namespace, Namespace):
        namespace_id = namespace.pk
    elif namespace is not None:
        namespace_id = int(namespace)
    else:
        namespace_id = _namespace_of(target)
    namespace_name = ""
    if isinstance(namespace, Namespace):
        namespace_name = namespace.name
    elif namespace_id is not None:
        namespace_name = (
            Namespace.objects.filter(pk=namespace_id).values_list("name", flat=True).first() or ""
        )
    context = _context.get()
    return AuditEvent.objects.create(
        actor=user,
        actor_name=(user.username if user is not None else (actor_name or ""))[:150],
        token_id=token.pk if token is not None else None,
        token_name=token.name if token is not None else "",
        verb=verb,
        target_type=target_type if target_type is not None else kind,
        target_id=str(target_id) if target_id is not None else pk,
        target_name=target_name if target_name is not None else name,
        namespace_id=namespace_id,
        namespace_name=namespace_name,
        ip=context.ip if context else None,
        user_agent=context.user_agent if context else "",
        details=details or {},
    )


# --- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    """What the audit pages filter on; every field optional."""

    verb: str = ""  # exact ("repo.delete") or a prefix ending in "." ("repo.")
    actor: str = ""  # actor user name, ignoring case
    target: str = ""  # part of the target's name, ignoring case
    since: date | None = None
    until: date | None = None  # inclusive

    @classmethod
    def from_query(cls, query: Any) -> AuditFilters:
        """From a QueryDict (or dict); bad dates are ignored rather than refused."""

        def day(key: str) -> date | None:
            try:
                return date.fromisoformat((query.get(key) or "").strip())
            except ValueError:
                return None

        return cls(
            verb=(query.get("verb") or "").strip()[:64],
            actor=(query.get("actor") or "").strip()[:150],
            target=(query.get("target") or "").strip()[:200],
            since=day("since"),
            until=day("until"),
        )

    def as_query(self) -> dict[str, str]:
        out = {"verb": self.verb, "actor": self.actor, "target": self.target}
        out["since"] = self.since.isoformat() if self.since else ""
        out["until"] = self.until.isoformat() if self.until else ""
        return {k: v for k, v in out.items() if v}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def audit_list(
    *,
    namespace: Namespace | int | None = None,
    user: User | None = None,
    filters: AuditFilters | None = None,
) -> QuerySet[AuditEvent]:
    """Events, newest first, narrowed to one namespace (an org's log), to one user's own
    events (`user`: what they did, and what happened in their namespace), or all (site
    admins: neither given). The caller decides who may see which."""
    qs = AuditEvent.objects.all()
    if namespace is not None:
        qs = qs.filter(namespace_id=namespace.pk if isinstance(namespace, Namespace) else namespace)
    if user is not None:
        qs = qs.filter(Q(actor_id=user.pk) | Q(namespace_id=user.namespace_id))
    f = filters or AuditFilters()
    if f.verb:
        qs = qs.filter(verb__startswith=f.verb) if f.verb.endswith(".") else qs.filter(verb=f.verb)
    if f.actor:
        qs = qs.filter(actor_name__iexact=f.actor)
    if f.target:
        qs = qs.filter(target_name__icontains=f.target)
    if f.since:
        qs = qs.filter(created_at__gte=_day_start(f.since))
    if f.until:
        qs = qs.filter(created_at__lt=_day_start(f.until + timedelta(days=1)))
    return qs.order_by("-created_at", "-id")


def audit_event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "createdAt": event.created_at.isoformat(),
        "verb": event.verb,
        "actor": {"id": event.actor_id, "name": event.actor_name},
        "token": {"id": event.token_id, "name": event.token_name} if event.token_id else None,
        "target": {"type": event.target_type, "id": event.target_id, "name": event.target_name},
        "namespace": {"id": event.namespace_id, "name": event.namespace_name}
        if event.namespace_id
        else None,
        "ip": event.ip,
        "userAgent": event.user_agent,
        "details": event.details,
    }


def audit_export_lines(events: QuerySet[AuditEvent]) -> Iterator[bytes]:
    """JSON lines, one event each; reads the rows in chunks so memory stays bounded."""
    for event in events.iterator(chunk_size=500):
        yield json.dumps(audit_event_json(event), separators=(",", ":")).encode() + b"\n"


# --- sign-in, sign-out (Django's signals: the hub's pages and the admin's alike) -----------


@receiver(user_logged_in, dispatch_uid="orgs.audit.logged_in")
def _on_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit_log(verb="user.login", actor=user, target=user)


@receiver(user_logged_out, dispatch_uid="orgs.audit.logged_out")
def _on_logout(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        audit_log(verb="user.logout", actor=user, target=user)


@receiver(user_login_failed, dispatch_uid="orgs.audit.login_failed")
def _on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already masked the password in `credentials`; only the user name is kept.
    attempted = str(credentials.get("username") or "")[:150]
    known = User.objects.filter(username__iexact=attempted).first() if attempted else None
    audit_log(
        verb="user.login_failed",
        actor=None,
        actor_name=attempted,
        target=known,
        target_type=None if known else "user",
        target_name=None if known else attempted,
    )
