"""Writes for single sign-on: provider configuration, sign-in completion (just-in-time
accounts, identity linking, role mapping), token authorization.

Account rule at sign-in (the IdP subject is the identity, never a user name):
1. An identity already linked to (provider, subject) signs in as its user.
2. Otherwise, a user signed in in the browser that started the flow links the identity to
   their account (they proved both sides).
3. Otherwise, when the IdP vouches for the email (OIDC `email_verified: true`, or the admin
   marked the provider `trust_email`) and exactly one active, non-staff account has that
   email, the identity is linked to it. The hub never verified that account's email, so
   whoever set it may not own it: the link turns the account's password off and revokes
   its tokens (the password hash change also ends its other sessions).
4. Otherwise a new account is created with a user name derived from the claims (never an
   existing one: a taken name gets a numeric suffix) and no password.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import BadRequestError, ConflictError, PermissionDeniedError, ValidationError
from orgs.audit import audit_log
from orgs.models import AccessToken, Membership, Namespace, Organization, OrgRole, User
from orgs.names import RESERVED_NAMESPACES
from orgs.org_services import member_add, member_set_role, require_org_admin
from orgs.permissions import forget_grants
from orgs.services import user_create
from sso.models import NO_ROLE, Protocol, SSOIdentity, SSOProvider, TokenAuthorization

Actor = Any  # User | AnonymousUser | None (None: the command line)

_ROLE_RANK = {OrgRole.READ: 1, OrgRole.CONTRIBUTOR: 2, OrgRole.WRITE: 3, OrgRole.ADMIN: 4}
MAX_RULES = 100
SESSION_HOURS_MAX = 24 * 30


class SSOSignInError(PermissionDeniedError):
    """The IdP's answer was refused (bad signature, replay, expired...): 403, audited."""


@dataclass(frozen=True)
class SignInClaims:
    """What a verified IdP answer says about the person, whatever the protocol."""

    subject: str
    email: str = ""
    email_verified: bool = False
    username: str = ""
    fullname: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)


# --- configuration ---------------------------------------------------------------------------


def require_site_admin(actor: Actor) -> None:
    if actor is not None and not (actor.is_authenticated and actor.is_superuser):
        raise PermissionDeniedError("Only site admins manage the instance-wide SSO provider.")


def require_provider_admin(actor: Actor, org: Organization | None) -> None:
    if org is None:
        require_site_admin(actor)
    else:
        require_org_admin(actor, org)


def provider_get(*, org: Organization | None) -> SSOProvider | None:
    qs = SSOProvider.objects.select_related("org__namespace")
    return qs.filter(org=org).first() if org is not None else qs.filter(org__isnull=True).first()


def _clean_rules(rules: Any) -> list[dict[str, str]]:
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise ValidationError(f"roleMapping: a list of at most {MAX_RULES} rules.")
    out = []
    for rule in rules:
        if not isinstance(rule, dict):
            raise ValidationError('roleMapping: each rule is {"value": ..., "role": ...}.')
        value, role = rule.get("value"), rule.get("role")
        if not isinstance(value, str) or not value.strip() or len(value) > 255:
            raise ValidationError("roleMapping: each rule needs a value (1-255 characters).")
        if role not in OrgRole.values:
            raise ValidationError(f"roleMapping: role must be one of {', '.join(OrgRole.values)}.")
        out.append({"value": value.strip(), "role": role})
    return out


_TEXT_FIELDS = {
    "displayName": ("display_name", 80),
    "issuer": ("oidc_issuer", 500),
    "clientId": ("oidc_client_id", 255),
    "scopes": ("oidc_scopes", 255),
    "groupsClaim": ("oidc_groups_claim", 100),
    "metadataUrl": ("saml_idp_metadata_url", 500),
    "spEntityId": ("saml_sp_entity_id", 500),
    "groupsAttribute": ("saml_attr_groups", 200),
    "emailAttribute": ("saml_attr_email", 200),
    "usernameAttribute": ("saml_attr_username", 200),
}
_BOOL_FIELDS = {"enabled": "enabled", "required": "required", "trustEmail": "trust_email"}
METADATA_MAX = 1024 * 1024
CHANGED = "(changed)"  # what the audit log records for a secret or a large value


def _apply(provider: SSOProvider, data: dict[str, Any]) -> dict[str, Any]:
    """Copy validated fields from the API's camelCase input; returns what changed (secrets
    as "(changed)")."""
    changes: dict[str, Any] = {}

    def put(attr: str, value: Any, shown: Any = None) -> None:
        if getattr(provider, attr) != value:
            setattr(provider, attr, value)
            changes[attr] = value if shown is None else shown

    if "protocol" in data:
        if data["protocol"] not in Protocol.values:
            raise ValidationError("protocol must be oidc or saml.")
        put("protocol", data["protocol"])
    for key, (attr, limit) in _TEXT_FIELDS.items():
        if key in data and data[key] is not None:
            value = data[key]
            if not isinstance(value, str) or len(value) > limit or "\x00" in value:
                raise ValidationError(f"{key}: a string of at most {limit} characters.")
            put(attr, value.strip())
    for key, attr in _BOOL_FIELDS.items():
        if key in data and data[key] is not None:
            if not isinstance(data[key], bool):
                raise ValidationError(f"{key} must be true or false.")
            put(attr, data[key])
    if data.get("clientSecret"):
        from sso.sealing import secret_seal

        secret = data["clientSecret"]
        if not isinstance(secret, str) or len(secret) > 1000:
            raise ValidationError("clientSecret: a string of at most 1000 characters.")
        provider.oidc_client_secret_enc = secret_seal(secret)
        provider.oidc_client_secret_last4 = secret[-4:]
        changes["client_secret"] = CHANGED
    if "metadataXml" in data and data["metadataXml"] is not None:
        xml = data["metadataXml"]
        if not isinstance(xml, str) or len(xml) > METADATA_MAX:
            raise ValidationError("metadataXml: at most 1 MiB of XML.")
        put("saml_idp_metadata_xml", xml.strip(), CHANGED)
    if "roleMapping" in data and data["roleMapping"] is not None:
        put("role_rules", _clean_rules(data["roleMapping"]))
    if "defaultRole" in data and data["defaultRole"] is not None:
        if data["defaultRole"] not in [*OrgRole.values, NO_ROLE]:
            raise ValidationError(f"defaultRole must be one of {', '.join(OrgRole.values)}, none.")
        put("default_role", data["defaultRole"])
    if "sessionHours" in data and data["sessionHours"] is not None:
        hours = data["sessionHours"]
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 720:
            raise ValidationError(f"sessionHours: 1 to {SESSION_HOURS_MAX}.")
        put("session_hours", hours)
    return changes


def _validate(provider: SSOProvider) -> None:
    if provider.protocol == Protocol.OIDC:
        if not provider.oidc_issuer or not provider.oidc_client_id:
            raise ValidationError("OpenID Connect needs issuer and clientId.")
        if not provider.oidc_issuer.startswith(("https://", "http://")):
            raise ValidationError("issuer must be an http(s) URL.")
        if "openid" not in provider.oidc_scopes.split():
            raise ValidationError("scopes must include openid.")
    else:
        from sso.saml import idp_entity_id_of

        if not provider.saml_idp_metadata_xml:
            raise ValidationError("SAML needs the IdP metadata (metadataXml or metadataUrl).")
        provider.saml_idp_entity_id = idp_entity_id_of(provider.saml_idp_metadata_xml)
    if provider.org_id is None and provider.required:
        raise ValidationError("required applies to organizations only.")


@transaction.atomic
def provider_update(*, actor: Actor, org: Organization | None, data: dict[str, Any]) -> SSOProvider:
    """Create or change the org's (or the instance's) provider from API-shaped `data`.

    A metadata URL is fetched now and its XML stored (save again to refresh). Turning
    `required` on needs the acting admin to have signed in through this provider once, so
    a broken configuration cannot lock the org out.
    """
    require_provider_admin(actor, org)
    if not isinstance(data, dict):
        raise BadRequestError("Send a JSON object.")
    provider = provider_get(org=org)
    created = provider is None
    if provider is None:
        provider = SSOProvider(org=org)
    was_required = provider.required
    changes = _apply(provider, data)
    if data.get("metadataUrl") and not data.get("metadataXml"):
        from sso.fetch import fetch_text

        provider.saml_idp_metadata_xml = fetch_text(provider.saml_idp_metadata_url)[:METADATA_MAX]
        changes["saml_idp_metadata_xml"] = "(fetched)"
    _validate(provider)
    if provider.required and not was_required:
        actor_user = actor if actor is not None and actor.is_authenticated else None
        if actor_user is not None and not actor_user.is_superuser:
            linked = (
                provider.pk is not None
                and SSOIdentity.objects.filter(provider=provider, user=actor_user).exists()
            )
            if not linked:
                raise ConflictError(
                    "Sign in through this organization's SSO once before requiring it, so a "
                    "broken configuration cannot lock you out."
                )
    provider.save()
    if created or changes:
        audit_log(
            verb="sso.config.create" if created else "sso.config.update",
            actor=actor,
            target_type="sso_provider",
            target_id=provider.pk,
            target_name=provider.label,
            namespace=org.namespace_id if org else None,
            details={k: v for k, v in changes.items() if k != "saml_idp_metadata_xml"}
            | (
                {"metadata": changes["saml_idp_metadata_xml"]}
                if "saml_idp_metadata_xml" in changes
                else {}
            ),
        )
    return provider


@transaction.atomic
def provider_delete(*, actor: Actor, org: Organization | None) -> None:
    """Remove the provider, its linked identities and token authorizations for the org."""
    require_provider_admin(actor, org)
    provider = provider_get(org=org)
    if provider is None:
        return
    audit_log(
        verb="sso.config.delete",
        actor=actor,
        target_type="sso_provider",
        target_id=provider.pk,
        target_name=provider.label,
        namespace=org.namespace_id if org else None,
    )
    if org is not None:
        TokenAuthorization.objects.filter(org=org).delete()
    provider.delete()


# --- sign-in -------------------------------------------------------------------------------

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def username_candidates(claims: SignInClaims) -> list[str]:
    """Safe user names to try, best first: the IdP's user name, the email's local part."""
    bases = []
    for raw in (claims.username, claims.email.split("@", 1)[0] if claims.email else ""):
        text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
        text = _NAME_CHARS.sub("-", text).strip("-_")
        text = re.sub(r"-{2,}", "-", text)[:36].strip("-_")
        if text and text.lower() not in RESERVED_NAMESPACES:
            bases.append(text)
    bases.append("user")
    return list(dict.fromkeys(bases))


def _create_user(claims: SignInClaims) -> User:
    for base in username_candidates(claims):
        for n in range(0, 50):
            name = base if n == 0 else f"{base}-{n + 1}"
            if Namespace.objects.filter(name__iexact=name).exists():
                continue
            try:
                with transaction.atomic():
                    return user_create(
                        username=name,
                        password=None,
                        email=claims.email[:254],
                        fullname=claims.fullname[:120],
                    )
            except (ConflictError, BadRequestError):
                continue
    return user_create(username=f"user-{secrets.token_hex(4)}", password=None, email=claims.email)


def _link_by_email(provider: SSOProvider, claims: SignInClaims) -> User | None:
    if not claims.email or not (claims.email_verified or provider.trust_email):
        return None
    matches = list(
        User.objects.filter(email__iexact=claims.email, is_active=True, is_staff=False)[:2]
    )
    if len(matches) != 1 or SSOIdentity.objects.filter(provider=provider, user=matches[0]).exists():
        return None
    user = matches[0]
    user.set_unusable_password()
    user.save(update_fields=["password"])
    revoked = AccessToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit_log(
        verb="sso.link",
        actor=None,
        actor_name=user.username,
        target=user,
        details={"provider": provider.label, "by": "verified email", "tokens_revoked": revoked},
    )
    return user


def mapped_role(provider: SSOProvider, groups: tuple[str, ...]) -> str | None:
    """The strongest role a rule grants for these groups, else the default (None: no role)."""
    best = None
    values = set(groups)
    for rule in provider.role_rules or ():
        if rule.get("value") in values and rule.get("role") in _ROLE_RANK:
            role = rule["role"]
            if best is None or _ROLE_RANK[role] > _ROLE_RANK[best]:
                best = role
    if best is not None:
        return best
    return None if provider.default_role == NO_ROLE else provider.default_role


def _sync_membership(provider: SSOProvider, user: User, role: str) -> str:
    org = provider.org
    assert org is not None
    membership = Membership.objects.filter(org=org, user=user).first()
    if membership is None:
        member_add(actor=None, org=org, user=user, role=role)
        return role
    if membership.role != role:
        try:
            member_set_role(actor=None, org=org, username=user.username, role=role)
        except BadRequestError:  # the last admin keeps the role until another admin exists
            return membership.role
    return role


@transaction.atomic
def sign_in_complete(
    *, provider: SSOProvider, claims: SignInClaims, link_user: User | None
) -> tuple[User, str | None]:
    """Find, link or create the user for verified claims and bring its org role in line
    with the role mapping. Returns (user, role in the org or None for the instance)."""
    if not claims.subject or len(claims.subject) > 255:
        raise SSOSignInError("The identity provider sent no usable subject.")
    role = mapped_role(provider, claims.groups) if provider.org_id else None
    if provider.org_id and role is None:
        raise SSOSignInError(
            f"Your account at the identity provider is not assigned a role in {provider.org.name}."
        )
    identity = (
        SSOIdentity.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, subject=claims.subject)
        .first()
    )
    how = "identity"
    if identity is not None:
        user = identity.user
    else:
        user = None
        if link_user is not None:
            if SSOIdentity.objects.filter(provider=provider, user=link_user).exists():
                raise SSOSignInError(
                    "Your account is already linked to another identity at this provider."
                )
            user, how = link_user, "signed-in session"
        if user is None:
            user = _link_by_email(provider, claims)
            how = "verified email"
        if user is None:
            user, how = _create_user(claims), "created"
        try:
            with transaction.atomic():
                identity = SSOIdentity.objects.create(
                    provider=provider, user=user, subject=claims.subject
                )
        except IntegrityError:  # a concurrent first sign-in of the same subject won
            raise SSOSignInError("This sign-in raced another one; try again.") from None
    if not user.is_active:
        raise SSOSignInError("This account is disabled.")
    identity.email = claims.email[:254]
    identity.groups = list(claims.groups)[:200]
    identity.last_login_at = timezone.now()
    identity.save(update_fields=["email", "groups", "last_login_at"])
    if provider.org_id and role is not None:
        role = _sync_membership(provider, user, role)
    forget_grants(user)
    audit_log(
        verb="sso.login",
        actor=user,
        target=user,
        namespace=provider.org.namespace_id if provider.org_id else None,
        details={
            "provider": provider.label,
            "protocol": provider.protocol,
            "account": how,
            **({"role": role} if role else {}),
        },
    )
    return user, role


def sign_in_failed(*, provider: SSOProvider | None, reason: str) -> None:
    audit_log(
        verb="sso.login_failed",
        actor=None,
        target_type="sso_provider",
        target_id=provider.pk if provider else "",
        target_name=provider.label if provider else "",
        namespace=provider.org.namespace_id if provider and provider.org_id else None,
        details={"reason": reason[:300]},
    )


# --- tokens ------------------------------------------------------------------------------


def token_authorize_for_session(*, token: AccessToken, namespace_ids: set[int]) -> list[str]:
    """Authorize `token` for the orgs (by namespace) the session holds SSO sign-ins for."""
    orgs = list(
        Organization.objects.select_related("namespace").filter(namespace_id__in=namespace_ids)
    )
    names = []
    for org in orgs:
        _, created = TokenAuthorization.objects.get_or_create(token=token, org=org)
        if created:
            names.append(org.name)
            audit_log(
                verb="sso.token.authorize",
                actor=token.user,
                target_type="token",
                target_id=token.pk,
                target_name=token.name,
                namespace=org.namespace_id,
            )
    return names


def token_authorize(
    *, user: User, token_id: int, org: Organization, session_org_ids: set[int]
) -> None:
    """Authorize one of the user's tokens for `org`: needs a valid SSO sign-in for it now."""
    if org.namespace_id not in session_org_ids:
        raise PermissionDeniedError(f"Sign in through {org.name}'s SSO first.")
    token = AccessToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if token is None:
        raise BadRequestError("No such token.")
    token_authorize_for_session(token=token, namespace_ids={org.namespace_id})


def token_deauthorize(*, user: User, token_id: int, org: Organization) -> None:
    deleted, _ = TokenAuthorization.objects.filter(
        token_id=token_id, token__user=user, org=org
    ).delete()
    if deleted:
        audit_log(
            verb="sso.token.deauthorize",
            actor=user,
            target_type="token",
            target_id=token_id,
            namespace=org.namespace_id,
        )
