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
    path("organizations/<str:name>/sso/saml/acs", views.org_saml_acs, name="org-saml-acs"),
    path("organizations/<str:name>/sso/saml/finish", views.org_saml_finish, name="org-saml-finish"),
    path(
        "organizations/<str:name>/sso/saml/metadata",
        views.org_saml_metadata,
        name="org-saml-metadata",
    ),
    path("organizations/<str:name>/settings/sso", views.org_settings, name="org-settings"),
    path("sso/login", views.instance_login, name="login"),
    path("sso/callback", views.instance_callback, name="callback"),
    path("sso/saml/acs", views.instance_saml_acs, name="saml-acs"),
    path("sso/saml/finish", views.instance_saml_finish, name="saml-finish"),
    path("sso/saml/metadata", views.instance_saml_metadata, name="saml-metadata"),
    path("sso/org", views.login_by_org, name="login-by-org"),
    path("settings/sso", views.my_sso, name="mine"),
    path("settings/sso/tokens", views.my_token_authorization, name="token-authorization"),
    path("_/sso", views.site_settings, name="site-settings"),
]
