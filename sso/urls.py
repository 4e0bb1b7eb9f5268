"""SSO pages and API. `sso` is a reserved namespace (orgs/names.py), so /sso/... never
meets a user's repos."""

from __future__ import annotations

from django.urls import path

from sso import api, views

app_name = "sso"
urlpatterns = [
    path("api/organizations/<str:name>/sso", api.OrgSSOApi.as_view(), name="api-org"),
    path("api/sso", api.InstanceSSOApi.as_view(), name="api-instance"),
    path("organizations/<str:name>/sso/login", views.org_login, name="org-login"),
    path("organizations/<str:name>/sso/callback", views.org_callback, name="org-callback"),
    path("organizations/<str:name>/settings/sso", views.org_settings, name="org-settings"),
    path("sso/login", views.instance_login, name="login"),
    path("sso/callback", views.instance_callback, name="callback"),
    path("sso/org", views.login_by_org, name="login-by-org"),
    path("settings/sso", views.my_sso, name="mine"),
    path("settings/sso/tokens", views.my_token_authorization, name="token-authorization"),
    path("_/sso", views.site_settings, name="site-settings"),
]
