"""Org and gating pages that touch repos: a team's repos (from the org settings page) and
the access-request review page of a gated repo."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import HubError, NotFoundError
from orgs.org_services import org_get, require_org_admin, team_get
from repos import pages
from repos.access_requests import access_request_handle, access_request_list
from repos.models import AccessRequest, RepoKind
from repos.selectors import repo_get
from repos.teams import org_repo_find, team_repo_add, team_repo_remove


@login_required
@require_POST
def team_repos(request: HttpRequest, name: str, team: str) -> HttpResponse:
    """POST action=add|remove, repo, kind: change a team's repos (org admins)."""
    try:
        org = org_get(name=name)
        require_org_admin(request.user, org)
    except HubError:
        raise Http404("Not found") from None
    back = f"/organizations/{org.name}/settings#teams"
    try:
        t = team_get(org=org, name=team)
        kind = request.POST.get("kind", RepoKind.MODEL)
        repo = org_repo_find(org=org, full_id=request.POST.get("repo", ""),
                             kind=kind if kind in RepoKind.values else RepoKind.MODEL)
        if request.POST.get("action") == "remove":
            team_repo_remove(actor=request.user, team=t, repo=repo)
        else:
            team_repo_add(actor=request.user, team=t, repo=repo)
    except HubError as exc:
        messages.error(request, exc.message)
    return redirect(back)


STATUSES = [s.value for s in AccessRequest.Status]


@login_required
@require_http_methods(["GET", "POST"])
def access_requests_page(
    request: HttpRequest, kind: str, namespace: str, name: str
) -> HttpResponse:
    """Pending, accepted and rejected requests of a gated repo, with accept/reject buttons
    (for those who may write to the repo; others get the 404 page)."""
    from repos.views import KIND_LABEL

    try:
        repo = repo_get(user=request.user, kind=kind, namespace=namespace, name=name)
        status = request.GET.get("status", "pending")
        if status not in STATUSES:
            status = "pending"
        if request.method == "POST":
            try:
                access_request_handle(
                    actor=request.user,
                    repo=repo,
                    status=request.POST.get("status", ""),
                    request_id=request.POST.get("id"),
                    rejection_reason=request.POST.get("reason") or None,
                )
            except NotFoundError:
                raise
            except HubError as exc:
                messages.error(request, exc.message)
            return redirect(f"/{repo.url_path}/access-requests?status={status}")
        rows = list(access_request_list(actor=request.user, repo=repo, status=status)[:500])
    except HubError:
        raise Http404("Not found") from None
    revision = repo.default_branch
    context = {
        "repo": repo,
        "header": pages.repo_header_get(repo=repo, viewer=request.user),
        "kind_label": KIND_LABEL[RepoKind(repo.kind)],
        "tab": "settings",
        "revision": revision,
        "rev_q": pages.quote_rev(revision),
        "status": status,
        "statuses": STATUSES,
        "rows": rows,
    }
    return render(request, "repos/access_requests.html", context)
