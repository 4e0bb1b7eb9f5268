"""Webhook settings pages (a user's, and an organization's for its admins), and this hub's
API beside the HF-compatible one (which lives in hub/hf_urls.py): the delivery log,
redeliver and test for every webhook, and the whole webhook API for organizations at
/api/organizations/{name}/settings/webhooks (same requests and answers as the user-level
paths; huggingface_hub has no call for them)."""

from __future__ import annotations

from django.urls import URLPattern, path

from webhooks import views
from webhooks.api import views as api


def _pages(prefix: str, suffix: str) -> list[URLPattern]:
    """The settings pages under `prefix` (named `<name><suffix>`)."""
    detail = f"{prefix}/<str:webhook_id>"
    delivery = f"{detail}/deliveries/<str:delivery_id>"
    return [
        path(prefix, views.webhooks_page, name=f"list{suffix}"),
        path(f"{prefix}/new", views.webhook_new, name=f"new{suffix}"),
        path(detail, views.webhook_page, name=f"detail{suffix}"),
        path(f"{detail}/enable", views.webhook_enable, name=f"enable{suffix}"),
        path(f"{detail}/disable", views.webhook_disable, name=f"disable{suffix}"),
        path(f"{detail}/delete", views.webhook_remove, name=f"delete{suffix}"),
        path(f"{detail}/test", views.webhook_test, name=f"test{suffix}"),
        path(delivery, views.delivery_page, name=f"delivery{suffix}"),
        path(f"{delivery}/redeliver", views.delivery_redeliver_view, name=f"redeliver{suffix}"),
    ]


def _log_api(prefix: str, suffix: str) -> list[URLPattern]:
    """Delivery log, redeliver and test (not part of the public hub's contract)."""
    detail = f"{prefix}/<str:webhook_id>"
    return [
        path(f"{detail}/deliveries", api.DeliveryListApi.as_view(), name=f"api-deliveries{suffix}"),
        path(
            f"{detail}/deliveries/<str:delivery_id>",
            api.DeliveryDetailApi.as_view(),
            name=f"api-delivery{suffix}",
        ),
        path(
            f"{detail}/deliveries/<str:delivery_id>/redeliver",
            api.DeliveryRedeliverApi.as_view(),
            name=f"api-redeliver{suffix}",
        ),
        path(f"{detail}/test", api.WebhookTestApi.as_view(), name=f"api-test{suffix}"),
    ]


ORG_API = "api/organizations/<str:name>/settings/webhooks"

app_name = "webhooks"
urlpatterns = [
    *_pages("settings/webhooks", ""),
    *_pages("organizations/<str:name>/settings/webhooks", "-org"),
    *_log_api("api/settings/webhooks", ""),
    *_log_api(ORG_API, "-org"),
    # The org's counterparts of hub/hf_urls.py's /api/settings/webhooks paths.
    path(ORG_API, api.WebhookListCreateApi.as_view(), name="api-list-org"),
    path(f"{ORG_API}/<str:webhook_id>", api.WebhookDetailApi.as_view(), name="api-detail-org"),
    path(
        f"{ORG_API}/<str:webhook_id>/enable",
        api.WebhookEnableApi.as_view(),
        name="api-enable-org",
    ),
    path(
        f"{ORG_API}/<str:webhook_id>/disable",
        api.WebhookDisableApi.as_view(),
        name="api-disable-org",
    ),
]
