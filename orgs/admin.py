"""Admin: the audit log, read-only (no add, change or delete from any screen)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from orgs.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "created_at",
        "actor_name",
        "token_name",
        "verb",
        "target_type",
        "target_name",
        "namespace_name",
        "ip",
    )
    list_filter = ("verb",)
    search_fields = ("actor_name", "target_name", "namespace_name")
    date_hierarchy = "created_at"
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
