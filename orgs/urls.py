"""Account pages. Every first segment here is a reserved namespace (orgs/names.py)."""

from __future__ import annotations

from django.urls import path

from orgs import org_settings_views, org_views, views

app_name = "orgs"
urlpatterns = [
    path("signup", views.signup, name="signup"),
    path("login", views.signin, name="login"),
    path("logout", views.signout, name="logout"),
    path("settings", views.settings_home, name="settings"),
    path("settings/tokens", views.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke", views.token_delete, name="token-revoke"),
    path("settings/audit", views.audit_mine, name="audit"),
    path("settings/audit/export", views.audit_mine_export, name="audit-export"),
    # --- organizations ---
    path("organizations/new", org_views.org_new, name="org-new"),
    path("organizations/<str:name>/settings", org_views.org_settings, name="org-settings"),
    path(
        "organizations/<str:name>/settings/tokens",
        org_settings_views.org_tokens,
        name="org-tokens",
    ),
    path(
        "organizations/<str:name>/settings/audit",
        org_settings_views.org_audit,
        name="org-audit",
    ),
    path(
        "organizations/<str:name>/settings/audit/export",
        org_settings_views.org_audit_export,
        name="org-audit-export",
    ),
    path("organizations/<str:name>/leave", org_views.org_leave, name="org-leave"),
    path("organizations/<str:name>/avatar", org_views.org_avatar, name="org-avatar"),
    path(
        "organizations/<str:name>/invitations/<str:token>",
        org_views.invitation_page,
        name="org-invitation",
    ),
    path("settings/organizations", org_views.my_orgs, name="my-orgs"),
    # --- end organizations ---
    path("_/audit", views.audit_site, name="site-audit"),
    path("_/audit/export", views.audit_site_export, name="site-audit-export"),
]
