"""Root URLs: fixed prefixes first, then the git and repo paths that start with a namespace."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from hub import views

urlpatterns = [
    path("api/health", views.health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("_/admin/", admin.site.urls),
    path("", include("hub.hf_urls")),
    path("", include("orgs.urls")),
    path("", include("sso.urls")),
    path("", include("webhooks.urls")),
    path("", include("search.urls")),
    path("", include("repos.urls")),
]
