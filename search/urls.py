"""Search pages. `models`, `datasets` and `search` are reserved namespaces (orgs/names.py)."""

from __future__ import annotations

from django.urls import path

from search import views

app_name = "search"

urlpatterns = [
    path("models", views.model_list, name="models"),
    path("datasets", views.dataset_list, name="datasets"),
]
