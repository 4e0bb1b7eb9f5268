"""Settings pages for webhooks: list, create, edit, enable/disable, delete, delivery log,
redeliver and test. Every change is a CSRF-protected POST that calls one service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import HubError, NotFoundError
from webhooks.forms import WebhookForm
from webhooks.models import Webhook
from webhooks.selectors import delivery_get, delivery_list, webhook_get, webhook_list
from webhooks.services import (
    delivery_redeliver,
    webhook_create,
    webhook_delete,
    webhook_send_test,
    webhook_set_disabled,
    webhook_update,
)


def _mine(request: HttpRequest, webhook_id: str) -> Webhook:
    """The signed-in user's webhook, or the 404 page (anyone else's looks the same)."""
    try:
        return webhook_get(actor=request.user, webhook_id=webhook_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from None


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"  # pages show the webhook's secret
    return response


@login_required
def webhooks_page(request: HttpRequest) -> HttpResponse:
    webhooks = list(webhook_list(actor=request.user))
    return render(request, "webhooks/list.html", {"webhooks": webhooks})


@login_required
@require_http_methods(["GET", "POST"])
def webhook_new(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None)
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
            )
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Webhook created.")
            return HttpResponseRedirect(f"/settings/webhooks/{webhook.public_id}")
    return _no_store(render(request, "webhooks/form.html", {"form": form, "webhook": None}))


@login_required
@require_http_methods(["GET", "POST"])
def webhook_page(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = _mine(request, webhook_id)
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
            return HttpResponseRedirect(f"/settings/webhooks/{webhook.public_id}")
    context = {
        "form": form,
        "webhook": webhook,
        "deliveries": delivery_list(webhook=webhook, limit=30),
    }
    return _no_store(render(request, "webhooks/form.html", context))


def _action(request: HttpRequest, webhook_id: str, verb: str) -> HttpResponse:
    webhook = _mine(request, webhook_id)
    target = f"/settings/webhooks/{webhook.public_id}"
    try:
        if verb == "delete":
            webhook_delete(actor=request.user, webhook=webhook)
            messages.success(request, "Webhook deleted.")
            return HttpResponseRedirect("/settings/webhooks")
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
def webhook_enable(request: HttpRequest, webhook_id: str) -> HttpResponse:
    return _action(request, webhook_id, "enable")


@login_required
@require_POST
def webhook_disable(request: HttpRequest, webhook_id: str) -> HttpResponse:
    return _action(request, webhook_id, "disable")


@login_required
@require_POST
def webhook_remove(request: HttpRequest, webhook_id: str) -> HttpResponse:
    return _action(request, webhook_id, "delete")


@login_required
@require_POST
def webhook_test(request: HttpRequest, webhook_id: str) -> HttpResponse:
    return _action(request, webhook_id, "test")


@login_required
def delivery_page(request: HttpRequest, webhook_id: str, delivery_id: str) -> HttpResponse:
    webhook = _mine(request, webhook_id)
    try:
        delivery = delivery_get(webhook=webhook, message_id=delivery_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from None
    return render(request, "webhooks/delivery.html", {"webhook": webhook, "delivery": delivery})


@login_required
@require_POST
def delivery_redeliver_view(
    request: HttpRequest, webhook_id: str, delivery_id: str
) -> HttpResponse:
    webhook = _mine(request, webhook_id)
    try:
        delivery = delivery_get(webhook=webhook, message_id=delivery_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from None
    try:
        delivery_redeliver(actor=request.user, delivery=delivery)
        messages.success(request, "Delivery queued again.")
    except HubError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(f"/settings/webhooks/{webhook.public_id}/deliveries/{delivery_id}")
