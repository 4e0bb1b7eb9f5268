"""Account pages: sign up, sign in, sign out, access tokens. Thin: forms in, services out."""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LogoutView
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.errors import ConflictError, HubError, NotFoundError
from orgs.audit import VERBS, AuditFilters, audit_export_lines, audit_list
from orgs.forms import SignupForm, TokenCreateForm
from orgs.models import AccessToken, AuditEvent
from orgs.org_tokens import org_blocks_for_user
from orgs.selectors import token_list
from orgs.services import token_create, token_revoke, user_create
from orgs.tokens import ENTITY_TYPES, PERMISSIONS, REPO_CONTENT_READ


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: `next` when it stays on this site, else home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.ALLOW_SIGNUP:
        return render(request, "orgs/signup.html", {"closed": True}, status=403)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = user_create(
                username=d["username"],
                password=d["password"],
                email=d["email"],
                fullname=d["fullname"],
            )
        except ConflictError as exc:
            form.add_error("username", exc.message)
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_next_url(request))
    return render(request, "orgs/signup.html", {"form": form, "next": _next_url(request)})


@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    # The user manager looks names up ignoring case, so `dvuser` signs in as `DVUser`.
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect(_next_url(request))
    return render(request, "orgs/login.html", {"form": form, "next": _next_url(request)})


# POST only (Django's LogoutView answers GET with 405), so `<img src=/logout>` in a card
# cannot sign anyone out (SECURITY.md 27).
signout = LogoutView.as_view(next_page="/")


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; a POST creates one and shows its secret in this response only.

    The secret is rendered straight into the POST answer rather than carried through a
    redirect, so it is never written to the session or any other store.
    """
    # From an org's token page: a fine-grained token scoped to that org, ready to fill in.
    org_name = request.GET.get("org", "").strip()[:42] if request.method == "GET" else ""
    prefill = {"type": "org", "name": org_name, "perms": [REPO_CONTENT_READ]} if org_name else None
    initial = {"role": AccessToken.Role.FINE_GRAINED, "name": org_name} if prefill else None
    form = TokenCreateForm(request.POST or None, initial=initial)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        fine = d["role"] == AccessToken.Role.FINE_GRAINED
        try:
            created, secret = token_create(
                user=request.user,
                name=d["name"],
                role=d["role"],
                scopes=form.scope_specs() if fine else (),
                expires_at=d["expires_on"],
            )
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            form = TokenCreateForm()
    blocks = org_blocks_for_user(user=request.user)  # type: ignore[arg-type]
    tokens_shown = list(token_list(user=request.user))
    for token in tokens_shown:
        token.blocked_in = blocks.get(token.pk, [])  # type: ignore[attr-defined]
    context = {
        "form": form,
        "tokens": tokens_shown,
        "created": created,
        "secret": secret,
        "scope_rows": form.scope_rows(prefill),
        "entity_types": ENTITY_TYPES,
        "permissions": PERMISSIONS,
        "now": timezone.now(),
    }
    response = render(request, "orgs/tokens.html", context)
    response["Cache-Control"] = "no-store"  # the page may hold a secret
    return response


@login_required
@require_POST
def token_delete(request: HttpRequest, token_id: int) -> HttpResponse:
    # Already revoked (a double click) or never theirs: the list shows the truth either way.
    with suppress(NotFoundError):
        token_revoke(user=request.user, token_id=token_id)
    return HttpResponseRedirect("/settings/tokens")


def settings_home(request: HttpRequest) -> HttpResponse:
    return redirect("orgs:tokens")


# --- audit log ------------------------------------------------------------------------------

AUDIT_PAGE_LIMIT = 200


def audit_page_context(
    request: HttpRequest, *, events: QuerySet[AuditEvent], filters: AuditFilters, base_url: str
) -> dict[str, object]:
    """What templates/orgs/_audit_filters.html and _audit_table.html need; an org's audit
    page builds its context with this from `audit_list(namespace=..., filters=...)`."""
    query = urlencode(filters.as_query())
    return {
        "events": list(events[:AUDIT_PAGE_LIMIT]),
        "limit": AUDIT_PAGE_LIMIT,
        "filters": filters,
        "query": query,
        "base_url": base_url,
        "export_url": f"{base_url}/export",
        "verbs": VERBS,
    }


def audit_export_response(events: QuerySet[AuditEvent], filename: str) -> StreamingHttpResponse:
    """The events as JSON lines, streamed (no page limit)."""
    response = StreamingHttpResponse(
        audit_export_lines(events), content_type="application/x-ndjson"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def audit_mine(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own events: what they did, and what happened in their namespace."""
    filters = AuditFilters.from_query(request.GET)
    context = audit_page_context(
        request,
        events=audit_list(user=request.user, filters=filters),  # type: ignore[arg-type]
        filters=filters,
        base_url="/settings/audit",
    )
    context.update(
        heading="Security log",
        intro="Sign-ins, tokens, and changes to your repositories and webhooks.",
        settings_nav=True,
    )
    return render(request, "orgs/audit.html", context)


@login_required
@require_GET
def audit_mine_export(request: HttpRequest) -> HttpResponse:
    filters = AuditFilters.from_query(request.GET)
    events = audit_list(user=request.user, filters=filters)  # type: ignore[arg-type]
    return audit_export_response(events, "audit.jsonl")


def _staff_only(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise Http404  # the site log's existence is nobody else's business


@login_required
@require_GET
def audit_site(request: HttpRequest) -> HttpResponse:
    """Every event on the hub, for site admins."""
    _staff_only(request)
    filters = AuditFilters.from_query(request.GET)
    context = audit_page_context(
        request, events=audit_list(filters=filters), filters=filters, base_url="/_/audit"
    )
    context.update(heading="Audit log", intro="Every recorded event on this hub, newest first.")
    return render(request, "orgs/audit.html", context)


@login_required
@require_GET
def audit_site_export(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    return audit_export_response(
        audit_list(filters=AuditFilters.from_query(request.GET)), "hub-audit.jsonl"
    )
