"""Settings pages for webhooks: list, create, edit, enable/disable, delete, delivery log,
redeliver and test. Every change is a CSRF-protected POST that calls one service.

The same pages serve a user's webhooks (/settings/webhooks) and an organization's
(/organizations/{name}/settings/webhooks, for its admins; anyone else gets the 404 page, as
for the org's other settings). Every view takes that optional `name`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import HubError, NotFoundError, PermissionDeniedError
from orgs.models import Organization
from orgs.org_services import org_get
from webhooks.forms import WebhookForm
from webhooks.models import Delivery, Webhook
from webhooks.selectors import delivery_get, delivery_list, webhook_get, webhook_list
from webhooks.services import (
    delivery_redeliver,
    webhook_create,
    webhook_delete,
    webhook_send_test,
    webhook_set_disabled,
    webhook_update,
)


class _Owner:
    """Whose webhooks a page shows: the signed-in user's, or an organization's."""

    def __init__(self, org: Organization | None) -> None:
        self.org = org
        self.base = f"/organizations/{org.name}/settings/webhooks" if org else "/settings/webhooks"

    def context(self, **extra: Any) -> dict[str, Any]:
        return {"org": self.org, "base": self.base, **extra}


def _owner(request: HttpRequest, name: str | None) -> _Owner:
    """The owner in the path; the 404 page for an unknown org and for non-admins."""
    if name is None:
        return _Owner(None)
    try:
        org = org_get(name=name)
        webhook_list(actor=request.user, org=org)  # raises unless the user is an org admin
    except (NotFoundError, PermissionDeniedError):
        raise Http404("Not found") from None
    return _Owner(org)


def _mine(request: HttpRequest, owner: _Owner, webhook_id: str) -> Webhook:
    """The owner's webhook, or the 404 page (anyone else's looks the same)."""
    try:
        return webhook_get(actor=request.user, webhook_id=webhook_id, org=owner.org)
    except (NotFoundError, PermissionDeniedError) as exc:
        raise Http404(exc.message) from None


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"  # pages show the webhook's secret
    return response


@login_required
def webhooks_page(request: HttpRequest, name: str | None = None) -> HttpResponse:
    owner = _owner(request, name)
    webhooks = list(webhook_list(actor=request.user, org=owner.org))
    return render(request, "webhooks/list.html", owner.context(webhooks=webhooks))


@login_required
@require_http_methods(["GET", "POST"])
def webhook_new(request: HttpRequest, name: str | None = None) -> HttpResponse:
    owner = _owner(request, name)
    initial = {"watched": f"org:{owner.org.name}"} if owner.org else None
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            webhook = webhook_create(
                actor=request.user,
                url=d["url"],
                watched=d["watched"],
                domains=d["domains"],
                secret=d["secret"],
                send_secret_header=d["send_secret_header"],
                org=owner.org,
            )
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Webhook created.")
            return HttpResponseRedirect(f"{owner.base}/{webhook.public_id}")
    context = owner.context(form=form, webhook=None)
    return _no_store(render(request, "webhooks/form.html", context))


@login_required
@require_http_methods(["GET", "POST"])
def webhook_page(request: HttpRequest, webhook_id: str, name: str | None = None) -> HttpResponse:
    owner = _owner(request, name)
    webhook = _mine(request, owner, webhook_id)
    form = WebhookForm(request.POST or None, initial=WebhookForm.initial_for(webhook))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            webhook_update(
                actor=request.user,
                webhook=webhook,
                url=d["url"],
                watched=d["watched"],
                domains=d["domains"],
                secret=d["secret"],
                send_secret_header=d["send_secret_header"],
            )
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Webhook saved.")
            return HttpResponseRedirect(f"{owner.base}/{webhook.public_id}")
    context = owner.context(
        form=form, webhook=webhook, deliveries=delivery_list(webhook=webhook, limit=30)
    )
    return _no_store(render(request, "webhooks/form.html", context))


def _action(request: HttpRequest, name: str | None, webhook_id: str, verb: str) -> HttpResponse:
    owner = _owner(request, name)
    webhook = _mine(request, owner, webhook_id)
    target = f"{owner.base}/{webhook.public_id}"
    try:
        if verb == "delete":
            webhook_delete(actor=request.user, webhook=webhook)
            messages.success(request, "Webhook deleted.")
            return HttpResponseRedirect(owner.base)
        if verb == "test":
            delivery = webhook_send_test(actor=request.user, webhook=webhook)
            messages.success(request, "Test event queued.")
            return HttpResponseRedirect(f"{target}/deliveries/{delivery.message_id}")
        webhook_set_disabled(actor=request.user, webhook=webhook, disabled=verb == "disable")
        messages.success(request, f"Webhook {verb}d.")
    except HubError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(target)


@login_required
@require_POST
def webhook_enable(request: HttpRequest, webhook_id: str, name: str | None = None) -> HttpResponse:
    return _action(request, name, webhook_id, "enable")


@login_required
@require_POST
def webhook_disable(request: HttpRequest, webhook_id: str, name: str | None = None) -> HttpResponse:
    return _action(request, name, webhook_id, "disable")


@login_required
@require_POST
def webhook_remove(request: HttpRequest, webhook_id: str, name: str | None = None) -> HttpResponse:
    return _action(request, name, webhook_id, "delete")


@login_required
@require_POST
def webhook_test(request: HttpRequest, webhook_id: str, name: str | None = None) -> HttpResponse:
    return _action(request, name, webhook_id, "test")


def _delivery(
    request: HttpRequest, owner: _Owner, webhook_id: str, delivery_id: str
) -> tuple[Webhook, Delivery]:
    webhook = _mine(request, owner, webhook_id)
    try:
        return webhook, delivery_get(webhook=webhook, message_id=delivery_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from None


@login_required
def delivery_page(
    request: HttpRequest, webhook_id: str, delivery_id: str, name: str | None = None
) -> HttpResponse:
    owner = _owner(request, name)
    webhook, delivery = _delivery(request, owner, webhook_id, delivery_id)
    context = owner.context(webhook=webhook, delivery=delivery)
    return render(request, "webhooks/delivery.html", context)


@login_required
@require_POST
def delivery_redeliver_view(
    request: HttpRequest, webhook_id: str, delivery_id: str, name: str | None = None
) -> HttpResponse:
    owner = _owner(request, name)
    webhook, delivery = _delivery(request, owner, webhook_id, delivery_id)
    try:
        delivery_redeliver(actor=request.user, delivery=delivery)
        messages.success(request, "Delivery queued again.")
    except HubError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(f"{owner.base}/{webhook.public_id}/deliveries/{delivery_id}")
