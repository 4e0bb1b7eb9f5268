"""The webhook API: the public hub's paths for huggingface_hub (hf-api-contract.md 1.10),
plus the delivery log, redeliver and test endpoints of this hub.

An organization's webhooks answer the same requests with the same shapes under
/api/organizations/{name}/settings/webhooks (this hub's own paths: huggingface_hub only
knows the user-level ones), for the org's admins. Every view takes that optional `name`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import BadRequestError
from orgs.models import Organization
from orgs.org_services import org_get
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.selectors import delivery_get, delivery_list, webhook_get, webhook_list
from webhooks.services import (
    delivery_redeliver,
    webhook_create,
    webhook_delete,
    webhook_send_test,
    webhook_set_disabled,
    webhook_update,
)


def _org(name: str | None) -> Organization | None:
    """The organization named in the path (404 when there is none), or None for /settings."""
    return org_get(name=name) if name is not None else None


def webhook_json(webhook: Webhook) -> dict[str, Any]:
    """`W` of the contract; extra keys (camelCase, as the hub's) are ignored by the client."""
    return {
        "id": webhook.public_id,
        "owner": {"type": "org" if webhook.org_id else "user", "name": webhook.owner_name},
        "url": webhook.url,
        "watched": [{"type": w.type, "name": w.name} for w in webhook.watched.all()],
        "domains": list(webhook.domains),
        "secret": webhook.secret or None,
        "disabled": webhook.disabled,
        "disabledReason": webhook.disabled_reason or None,
        "sendSecretHeader": webhook.send_secret_header,
        "createdAt": webhook.created_at.isoformat(),
    }


def attempt_json(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "startedAt": attempt.started_at.isoformat(),
        "durationMs": attempt.duration_ms,
        "outcome": attempt.outcome,
        "requestHeaders": attempt.request_headers,
        "responseStatus": attempt.response_status,
        "responseHeaders": attempt.response_headers,
        "responseBody": attempt.response_body,
        "error": attempt.error or None,
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.message_id,
        "event": {"action": delivery.action, "scope": delivery.scope},
        "repo": delivery.repo_name or None,
        "test": delivery.is_test,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "nextAttemptAt": delivery.next_attempt_at.isoformat()
        if delivery.state == "pending"
        else None,
        "lastStatus": delivery.last_status,
        "lastError": delivery.last_error or None,
        "createdAt": delivery.created_at.isoformat(),
        "requestBody": delivery.body,
        "attemptLog": [attempt_json(a) for a in delivery.attempt_log.all()],
    }


class WatchedSerializer(serializers.Serializer):
    type = serializers.CharField()
    name = serializers.CharField(max_length=200)


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.CharField(required=False, allow_null=True, default=None)
    jobSourceId = serializers.CharField(required=False, allow_null=True, default=None)
    watched = WatchedSerializer(many=True, required=False, default=None)
    domains = serializers.ListField(
        child=serializers.CharField(), required=False, allow_null=True, default=None
    )
    secret = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, default=None, trim_whitespace=False
    )
    sendSecretHeader = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("jobSourceId"):
            raise BadRequestError("Webhooks that run Jobs are not supported by this hub.")
        return attrs


class WebhookListCreateApi(APIView):
    """HfApi.list_webhooks -> GET /api/settings/webhooks (a bare array);
    HfApi.create_webhook -> POST /api/settings/webhooks -> {"webhook": W}."""

    def get(self, request: Request, name: str | None = None) -> Response:
        webhooks = webhook_list(actor=request.user, org=_org(name))
        return Response([webhook_json(w) for w in webhooks])

    def post(self, request: Request, name: str | None = None) -> Response:
        org = _org(name)
        s = WebhookInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        webhook = webhook_create(
            actor=request.user,
            url=d["url"],
            watched=d["watched"] or [],
            domains=d["domains"],
            secret=d["secret"],
            send_secret_header=bool(d["sendSecretHeader"]),
            org=org,
        )
        return Response({"webhook": webhook_json(webhook)})


class WebhookDetailApi(APIView):
    """HfApi.get_webhook -> GET, update_webhook -> POST, delete_webhook -> DELETE
    /api/settings/webhooks/{id}."""

    def get(self, request: Request, webhook_id: str, name: str | None = None) -> Response:
        webhook = webhook_get(actor=request.user, webhook_id=webhook_id, org=_org(name))
        return Response({"webhook": webhook_json(webhook)})

    def post(self, request: Request, webhook_id: str, name: str | None = None) -> Response:
        org = _org(name)
        webhook = webhook_get(actor=request.user, webhook_id=webhook_id, org=org)
        s = WebhookInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        webhook = webhook_update(
            actor=request.user,
            webhook=webhook,
            url=d["url"],
            watched=d["watched"],
            domains=d["domains"],
            secret=d["secret"],
            send_secret_header=d["sendSecretHeader"],
        )
        fresh = webhook_get(actor=request.user, webhook_id=webhook.public_id, org=org)
        return Response({"webhook": webhook_json(fresh)})

    def delete(self, request: Request, webhook_id: str, name: str | None = None) -> Response:
        webhook = webhook_get(actor=request.user, webhook_id=webhook_id, org=_org(name))
        webhook_delete(actor=request.user, webhook=webhook)
        return Response(status=204)


class WebhookEnableApi(APIView):
    """HfApi.enable_webhook -> POST /api/settings/webhooks/{id}/enable."""

    disabled = False

    def post(self, request: Request, webhook_id: str, name: str | None = None) -> Response:
        webhook = webhook_get(actor=request.user, webhook_id=webhook_id, org=_org(name))
        webhook_set_disabled(actor=request.user, webhook=webhook, disabled=self.disabled)
        return Response({"webhook": webhook_json(webhook)})


class WebhookDisableApi(WebhookEnableApi):
    """HfApi.disable_webhook -> POST /api/settings/webhooks/{id}/disable."""

    disabled = True


class DeliveryListApi(APIView):
    """GET /api/settings/webhooks/{id}/deliveries: the newest deliveries and their attempts."""

    def get(self, request: Request, webhook_id: str, name: str | None = None) -> Response:
        webhook = webhook_get(actor=request.user, webhook_id=webhook_id, org=_org(name))
        try:
            limit = min(max(int(request.query_params.get("limit", "50")), 1), 200)
        except ValueError:
            raise BadRequestError("limit must be a number.") from None
        return Response([delivery_json(d) for d in delivery_list(webhook=webhook, limit=limit)])


class DeliveryDetailApi(APIView):
    """GET /api/settings/webhooks/{id}/deliveries/{delivery id}."""

    def get(
        self, request: Request, webhook_id: str, delivery_id: str, name: str | None = None
    ) -> Response:
        webhook = webhook_get(actor=request.user, webhook_id=webhook_id, org=_org(name))
        return Response(delivery_json(delivery_get(webhook=webhook, message_id=delivery_id)))


class DeliveryRedeliverApi(APIView):
    """POST /api/settings/webhooks/{id}/deliveries/{delivery id}/redeliver (same webhook-id)."""

    def post(
        self, request: Request, webhook_id: str, delivery_id: str, name: str | None = None
    ) -> Response:
        webhook = webhook_get(actor=request.user, webhook_id=webhook_id, org=_org(name))
        delivery = delivery_get(webhook=webhook, message_id=delivery_id)
        delivery = delivery_redeliver(actor=request.user, delivery=delivery)
        return Response(
            delivery_json(delivery_get(webhook=webhook, message_id=delivery.message_id))
        )


class WebhookTestApi(APIView):
    """POST /api/settings/webhooks/{id}/test: queue a test payload; returns its delivery."""

    def post(self, request: Request, webhook_id: str, name: str | None = None) -> Response:
        webhook = webhook_get(actor=request.user, webhook_id=webhook_id, org=_org(name))
        delivery = webhook_send_test(actor=request.user, webhook=webhook)
        return Response(
            delivery_json(delivery_get(webhook=webhook, message_id=delivery.message_id))
        )
