"""Org settings pages beyond the main one: the org's audit log (browse, filter, export) and
the access tokens that reach the org (list, revoke or restore their access).

Org admins only (site admins count as admins of every org); anyone else gets the 404 page,
as for the main settings page. A token works too (the export is meant for scripts): the
same rule as every admin action, a write token or a fine-grained one with
`org.members.manage` on the org.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from common.errors import HubError
from orgs.audit import AuditFilters, audit_list
from orgs.models import Organization
from orgs.org_services import org_get, require_org_admin
from orgs.org_tokens import org_token_list, org_token_restore, org_token_revoke
from orgs.views import audit_export_response, audit_page_context


def org_for_admin(request: HttpRequest, name: str) -> Organization:
    """The org, when the requester administers it; Http404 otherwise (hides the page)."""
    try:
        org = org_get(name=name)
        require_org_admin(request.user, org)
    except HubError:
        raise Http404("Not found") from None
    return org


@login_required
@require_GET
def org_audit(request: HttpRequest, name: str) -> HttpResponse:
    """The org's events: members, roles, invitations, teams, its repos, access decisions,
    settings; filter by verb, actor, target and dates."""
    org = org_for_admin(request, name)
    filters = AuditFilters.from_query(request.GET)
    context = audit_page_context(
        request,
        events=audit_list(namespace=org.namespace_id, filters=filters),
        filters=filters,
        base_url=f"/organizations/{org.name}/settings/audit",
    )
    context.update(
        org=org,
        heading=f"{org.name} audit log",
        intro="Membership, roles, invitations, teams, tokens, repositories, access requests "
        "and settings of this organization, newest first.",
    )
    return render(request, "orgs/audit.html", context)


@login_required
@require_GET
def org_audit_export(request: HttpRequest, name: str) -> HttpResponse:
    """The filtered events as JSON lines (no page limit), streamed."""
    org = org_for_admin(request, name)
    events = audit_list(namespace=org.namespace_id, filters=AuditFilters.from_query(request.GET))
    return audit_export_response(events, f"{org.name}-audit.jsonl")


# --- access tokens that reach the org (orgs/org_tokens.py) ----------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def org_tokens(request: HttpRequest, name: str) -> HttpResponse:
    """The live tokens of the org's people that can act in it; POST action=revoke|restore
    with `token` (an id) cuts one off the org or lets it back in."""
    org = org_for_admin(request, name)
    if request.method == "POST":
        token_id = request.POST.get("token", "")
        try:
            if request.POST.get("action") == "restore":
                token = org_token_restore(actor=request.user, org=org, token_id=token_id)
                messages.success(
                    request, f"“{token.name}” of {token.user.username} works here again."
                )
            else:
                token = org_token_revoke(actor=request.user, org=org, token_id=token_id)
                messages.success(
                    request,
                    f"“{token.name}” of {token.user.username} no longer has access to {org.name}.",
                )
        except HubError as exc:
            messages.error(request, exc.message)
        return redirect(f"/organizations/{org.name}/settings/tokens")
    rows = org_token_list(actor=request.user, org=org)
    return render(
        request,
        "orgs/org_tokens.html",
        {
            "org": org,
            "active_rows": [r for r in rows if not r.blocked],
            "blocked_rows": [r for r in rows if r.blocked],
            "now": timezone.now(),
        },
    )
