"""Single sign-on: provider configurations, linked identities, sign-in attempts, and the
tokens authorized for an organization that requires SSO."""

from __future__ import annotations

from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce

from orgs.models import AccessToken, Organization, OrgRole, User


class Protocol(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    SAML = "saml", "SAML 2.0"


NO_ROLE = "none"
DEFAULT_ROLE_CHOICES = [*OrgRole.choices, (NO_ROLE, "No role (refuse sign-in)")]


class SSOProvider(models.Model):
    """One identity provider: an organization's (`org` set, configured by its admins) or the
    instance's (`org` empty, one at most, configured by site admins).

    The OIDC client secret is stored encrypted (sso/secrets.py) and never shown back in
    full. `role_rules` is a list of `{"value": <group or claim value>, "role": <org role>}`;
    the strongest matching role wins, `default_role` applies when none matches.
    """

    org = models.OneToOneField(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="sso_provider"
    )
    protocol = models.CharField(max_length=8, choices=Protocol.choices, default=Protocol.OIDC)
    enabled = models.BooleanField(default=True)
    display_name = models.CharField(max_length=80, blank=True, default="")
    # OpenID Connect
    oidc_issuer = models.URLField(max_length=500, blank=True, default="")
    oidc_client_id = models.CharField(max_length=255, blank=True, default="")
    oidc_client_secret_enc = models.TextField(blank=True, default="")
    oidc_client_secret_last4 = models.CharField(max_length=4, blank=True, default="")
    oidc_scopes = models.CharField(max_length=255, blank=True, default="openid email profile")
    oidc_groups_claim = models.CharField(max_length=100, blank=True, default="groups")
    # SAML 2.0
    saml_idp_metadata_url = models.URLField(max_length=500, blank=True, default="")
    saml_idp_metadata_xml = models.TextField(blank=True, default="")
    saml_idp_entity_id = models.CharField(max_length=500, blank=True, default="")
    saml_sp_entity_id = models.CharField(max_length=500, blank=True, default="")
    saml_attr_groups = models.CharField(max_length=200, blank=True, default="groups")
    saml_attr_email = models.CharField(max_length=200, blank=True, default="email")
    saml_attr_username = models.CharField(max_length=200, blank=True, default="username")
    # Policy
    trust_email = models.BooleanField(default=False)
    role_rules = models.JSONField(default=list, blank=True)
    default_role = models.CharField(max_length=16, default=OrgRole.READ)
    required = models.BooleanField(default=False)
    session_hours = models.PositiveIntegerField(default=24)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # At most one instance-wide provider (org NULL); OneToOne covers the orgs.
            models.UniqueConstraint(Coalesce("org", Value(0)), name="sso_provider_one_per_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.protocol} for {self.org.name if self.org_id else 'the instance'}"

    @property
    def label(self) -> str:
        if self.display_name:
            return self.display_name
        return f"{self.org.display_name} SSO" if self.org_id else "Single sign-on"

    @property
    def base_path(self) -> str:
        """Where this provider's sign-in, callback and SAML endpoints live."""
        return f"/organizations/{self.org.name}/sso" if self.org_id else "/sso"

    @property
    def login_path(self) -> str:
        return f"{self.base_path}/login"


class SSOIdentity(models.Model):
    """A user's account at one provider (`subject`: OIDC `sub` / SAML NameID)."""

    provider = models.ForeignKey(SSOProvider, on_delete=models.CASCADE, related_name="identities")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sso_identities")
    subject = models.CharField(max_length=255)
    email = models.CharField(max_length=254, blank=True, default="")
    groups = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("provider", "subject", name="sso_identity_subject_unique"),
            models.UniqueConstraint("provider", "user", name="sso_identity_user_unique"),
        ]


class SSOAuthRequest(models.Model):
    """One sign-in attempt between the redirect to the IdP and its answer: single use.

    `state` (OIDC) or the AuthnRequest ID (SAML, checked as InResponseTo) names it; the
    browser session that started it keeps the same value, so an answer is only accepted
    by the session that asked (no login CSRF) and only once (`used_at`, claimed with a
    conditional UPDATE).
    """

    provider = models.ForeignKey(SSOProvider, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=128, unique=True)
    nonce = models.CharField(max_length=128, blank=True, default="")
    code_verifier = models.CharField(max_length=128, blank=True, default="")
    next_url = models.CharField(max_length=1000, blank=True, default="/")
    link_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # SAML: the ACS keeps the verified claims here; the same-site `finish` step signs in.
    result = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class TokenAuthorization(models.Model):
    """An access token allowed into an organization that requires SSO. Created while the
    token's owner holds a valid SSO session for the org (at token creation, or from
    /settings/sso); it lasts as long as the token does."""

    token = models.ForeignKey(AccessToken, on_delete=models.CASCADE, related_name="+")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint("token", "org", name="sso_token_org_unique")]
