"""Storage usage pages: the user's (/settings/usage), an org's (org settings, Usage tab),
and the site admins' quota pages (/_/quotas, /_/quotas/{name}) with the override form."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from common.errors import HubError
from common.sizes import format_bytes
from orgs.models import Namespace
from repos.models import NamespaceQuota
from repos.quotas import (
    Usage,
    namespace_for_usage,
    namespace_usage,
    parse_quota,
    quota_set,
    repo_storage_list,
)

TOP_REPOS = 10


class QuotaForm(forms.Form):
    quota = forms.CharField(
        max_length=40,
        label="Quota",
        help_text="Bytes or a size with a unit (500MB, 10GiB); 'unlimited'; or 'default' for "
        "the hub's default quota of its kind.",
    )


class QuotaNamespaceForm(QuotaForm):
    name = forms.CharField(max_length=42, label="User or organization")
    field_order = ["name", "quota"]


def _context(request: HttpRequest, usage: Usage, **extra: object) -> dict[str, object]:
    quota = usage.quota.bytes
    return {
        "usage": usage,
        "namespace": usage.namespace,
        "used": format_bytes(usage.used_bytes),
        "git": format_bytes(usage.git_bytes),
        "lfs": format_bytes(usage.lfs_bytes),
        "quota": format_bytes(quota),
        "meter_max": quota if quota is not None else max(usage.used_bytes, 1),
        "meter_high": int(quota * 0.9) if quota is not None else None,
        "repos": [
            {
                "row": row,
                "total": format_bytes(row.total),
                "git": format_bytes(row.git_bytes),
                "lfs": format_bytes(row.lfs_bytes),
            }
            for row in repo_storage_list(namespace=usage.namespace, limit=TOP_REPOS)
        ],
        "top": TOP_REPOS,
        "site_admin": request.user.is_superuser,
        **extra,
    }


@login_required
@require_GET
def usage_mine(request: HttpRequest) -> HttpResponse:
    namespace = request.user.namespace
    if namespace is None:  # an account made outside the hub (createsuperuser) owns nothing
        raise Http404("Not found")
    usage = namespace_usage(namespace=namespace)
    return render(request, "repos/usage.html", _context(request, usage, nav="user"))


@login_required
@require_GET
def usage_org(request: HttpRequest, name: str) -> HttpResponse:
    """The org's usage, for its admins and site admins; everyone else gets the 404 page."""
    try:
        namespace = namespace_for_usage(viewer=request.user, name=name, kind=Namespace.Kind.ORG)
    except HubError:
        raise Http404("Not found") from None
    usage = namespace_usage(namespace=namespace)
    org = namespace.org
    return render(request, "repos/usage.html", _context(request, usage, nav="org", org=org))


def _site_admin_only(request: HttpRequest) -> None:
    if not request.user.is_superuser:
        raise Http404("Not found")  # as /_/audit: nobody else's business


@login_required
@require_http_methods(["GET", "POST"])
def quotas_site(request: HttpRequest) -> HttpResponse:
    """Every quota override, and a form to set one for any user or organization."""
    _site_admin_only(request)
    form = QuotaNamespaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            quota = parse_quota(form.cleaned_data["quota"])
            quota_set(actor=request.user, namespace=form.cleaned_data["name"], quota=quota)
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Quota of {form.cleaned_data['name']} saved.")
            return redirect(f"/_/quotas/{form.cleaned_data['name']}")
    overrides = [
        {"row": q, "quota": format_bytes(q.quota_bytes or None)}
        for q in NamespaceQuota.objects.select_related("namespace", "set_by").order_by(
            "namespace__name"
        )
    ]
    return render(request, "repos/quotas.html", {"form": form, "overrides": overrides})


@login_required
@require_http_methods(["GET", "POST"])
def quota_site(request: HttpRequest, name: str) -> HttpResponse:
    """One namespace's usage with the quota override form (site admins)."""
    _site_admin_only(request)
    try:
        namespace = namespace_for_usage(viewer=request.user, name=name, kind=None)
    except HubError:
        raise Http404("Not found") from None
    form = QuotaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            quota_set(
                actor=request.user,
                namespace=namespace.name,
                quota=parse_quota(form.cleaned_data["quota"]),
            )
        except HubError as exc:
            form.add_error("quota", exc.message)
        else:
            messages.success(request, f"Quota of {namespace.name} saved.")
            return redirect(f"/_/quotas/{namespace.name}")
    usage = namespace_usage(namespace=namespace)
    return render(
        request, "repos/usage.html", _context(request, usage, nav="site", quota_form=form)
    )
