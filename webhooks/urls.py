"""Webhook settings pages, and this hub's delivery-log API beside the HF-compatible one
(which lives in hub/hf_urls.py)."""

from __future__ import annotations

from django.urls import path

from webhooks import views
from webhooks.api import views as api

app_name = "webhooks"
urlpatterns = [
    path("settings/webhooks", views.webhooks_page, name="list"),
    path("settings/webhooks/new", views.webhook_new, name="new"),
    path("settings/webhooks/<str:webhook_id>", views.webhook_page, name="detail"),
    path("settings/webhooks/<str:webhook_id>/enable", views.webhook_enable, name="enable"),
    path("settings/webhooks/<str:webhook_id>/disable", views.webhook_disable, name="disable"),
    path("settings/webhooks/<str:webhook_id>/delete", views.webhook_remove, name="delete"),
    path("settings/webhooks/<str:webhook_id>/test", views.webhook_test, name="test"),
    path(
        "settings/webhooks/<str:webhook_id>/deliveries/<str:delivery_id>",
        views.delivery_page,
        name="delivery",
    ),
    path(
        "settings/webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/redeliver",
        views.delivery_redeliver_view,
        name="redeliver",
    ),
    # API (not part of the public hub's contract)
    path(
        "api/settings/webhooks/<str:webhook_id>/deliveries",
        api.DeliveryListApi.as_view(),
        name="api-deliveries",
    ),
    path(
        "api/settings/webhooks/<str:webhook_id>/deliveries/<str:delivery_id>",
        api.DeliveryDetailApi.as_view(),
        name="api-delivery",
    ),
    path(
        "api/settings/webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/redeliver",
        api.DeliveryRedeliverApi.as_view(),
        name="api-redeliver",
    ),
    path(
        "api/settings/webhooks/<str:webhook_id>/test", api.WebhookTestApi.as_view(), name="api-test"
    ),
]
