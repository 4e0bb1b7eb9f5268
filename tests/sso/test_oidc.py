"""OpenID Connect sign-in, round trip against a live provider on loopback."""

from __future__ import annotations

import pytest
from django.test import Client

from orgs.models import AuditEvent, Membership, User
from orgs.services import user_create
from sso.models import SSOAuthRequest, SSOIdentity
from tests.sso.conftest import World, callback_url, oidc_sign_in
from tests.sso.oidc_idp import OIDCProvider

pytestmark = pytest.mark.django_db


def _member_role(user: User, world: World) -> str | None:
    return (
        Membership.objects.filter(org=world.org, user=user).values_list("role", flat=True).first()
    )


def test_first_sign_in_creates_user_and_membership_with_mapped_role(
    world: World, idp: OIDCProvider
) -> None:
    client = Client()
    answer = oidc_sign_in(
        client,
        idp,
        next_url="/acme",
        sub="u-100",
        email="ada@acme.test",
        email_verified=True,
        preferred_username="ada",
        name="Ada L",
        groups=["ml-writers", "everyone"],
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/acme"
    user = User.objects.get(username="ada")
    assert user.fullname == "Ada L"
    assert not user.has_usable_password()
    assert _member_role(user, world) == "write"
    assert SSOIdentity.objects.get(provider=world.provider, subject="u-100").user == user
    assert client.get("/settings/tokens").status_code == 200  # signed in
    verbs = list(AuditEvent.objects.filter(actor=user).values_list("verb", flat=True))
    assert "sso.login" in verbs
    event = AuditEvent.objects.get(verb="sso.login", actor=user)
    assert event.details["role"] == "write"
    assert event.namespace_name == "acme"


def test_role_change_at_idp_updates_role_on_next_sign_in(world: World, idp: OIDCProvider) -> None:
    oidc_sign_in(Client(), idp, sub="u-1", preferred_username="bob", groups=["ml-writers"])
    bob = User.objects.get(username="bob")
    assert _member_role(bob, world) == "write"
    oidc_sign_in(Client(), idp, sub="u-1", preferred_username="bob", groups=["ml-admins"])
    assert _member_role(bob, world) == "admin"
    oidc_sign_in(Client(), idp, sub="u-1", preferred_username="bob", groups=[])
    assert _member_role(bob, world) == "read"  # the default role
    assert User.objects.filter(username__startswith="bob").count() == 1
    roles = AuditEvent.objects.filter(verb="org.member.role", target_name="bob")
    assert {(e.details["old"], e.details["new"]) for e in roles} == {
        ("write", "admin"),
        ("admin", "read"),
    }


def test_no_role_refuses_sign_in(world: World, idp: OIDCProvider) -> None:
    world.provider.default_role = "none"
    world.provider.save()
    answer = oidc_sign_in(Client(), idp, sub="u-2", preferred_username="carol", groups=["other"])
    assert answer.status_code == 403
    assert b"not assigned a role" in answer.content
    assert not User.objects.filter(username="carol").exists()
    assert AuditEvent.objects.filter(verb="sso.login_failed").exists()


def test_username_collision_gets_a_suffix_and_never_takes_the_account(
    world: World, idp: OIDCProvider
) -> None:
    existing = user_create(username="dave", password="a long password 123", email="dave@home.test")
    oidc_sign_in(Client(), idp, sub="u-3", preferred_username="dave", email="dave@acme.test")
    new = SSOIdentity.objects.get(subject="u-3").user
    assert new.pk != existing.pk
    assert new.username == "dave-2"
    existing.refresh_from_db()
    assert existing.has_usable_password()


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"preferred_username": "../../Ünïcode Name!!"}, "Unicode-Name"),
        ({"preferred_username": "api"}, "user"),  # reserved -> fallback
        ({"email": "x.y+tag@acme.test"}, "x-y-tag"),
    ],
)
def test_usernames_are_derived_safely(
    world: World, idp: OIDCProvider, claims: dict, expected: str
) -> None:
    oidc_sign_in(Client(), idp, sub=f"s-{expected}", **claims)
    assert SSOIdentity.objects.get(subject=f"s-{expected}").user.username == expected


def test_unverified_email_does_not_link_an_existing_account(
    world: World, idp: OIDCProvider
) -> None:
    victim = user_create(username="erin", password="a long password 123", email="erin@acme.test")
    oidc_sign_in(
        Client(),
        idp,
        sub="u-4",
        email="erin@acme.test",
        email_verified=False,
        preferred_username="erin",
    )
    assert SSOIdentity.objects.get(subject="u-4").user.pk != victim.pk


def test_verified_email_links_and_turns_the_password_off(world: World, idp: OIDCProvider) -> None:
    from orgs.services import token_create

    local = user_create(username="fay", password="a long password 123", email="Fay@acme.test")
    token, _ = token_create(user=local, name="old", role="write")
    answer = oidc_sign_in(Client(), idp, sub="u-5", email="fay@acme.test", email_verified=True)
    assert answer.status_code == 302
    assert SSOIdentity.objects.get(subject="u-5").user.pk == local.pk
    local.refresh_from_db()
    token.refresh_from_db()
    assert not local.has_usable_password()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(verb="sso.link", target_id=str(local.pk)).exists()


def test_signed_in_user_links_their_own_account(world: World, idp: OIDCProvider) -> None:
    me = user_create(username="gus", password="a long password 123")
    client = Client()
    client.force_login(me)
    oidc_sign_in(client, idp, sub="u-6", preferred_username="someone-else")
    assert SSOIdentity.objects.get(subject="u-6").user.pk == me.pk
    me.refresh_from_db()
    assert me.has_usable_password()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("bad_signature", "signature is not valid"),
        ("wrong_audience", "aud"),
        ("expired", "exp"),
        ("wrong_nonce", "nonce"),
        ("wrong_issuer", "iss"),
    ],
)
def test_bad_id_tokens_are_refused(
    world: World, idp: OIDCProvider, tamper: str, reason: str
) -> None:
    idp.tamper = tamper
    client = Client()
    answer = oidc_sign_in(client, idp, sub="u-7", preferred_username="hank")
    assert answer.status_code == 403, tamper
    assert not User.objects.filter(username="hank").exists()
    assert client.get("/settings/tokens").status_code == 302  # not signed in
    failure = AuditEvent.objects.get(verb="sso.login_failed")
    assert failure.namespace_name == "acme"
    assert reason in failure.details["reason"], failure.details["reason"]


def test_replayed_state_is_refused(world: World, idp: OIDCProvider) -> None:
    client = Client()
    url = callback_url(client, idp, sub="u-8", preferred_username="ivy")
    assert client.get(url).status_code == 302
    client.logout()
    # The same state again (even with a fresh session that knows it): refused.
    session = client.session
    session["hub_sso_pending"] = [url.split("state=")[1]]
    session.save()
    again = client.get(url)
    assert again.status_code == 403
    assert b"already used" in again.content


def test_state_from_another_browser_is_refused(world: World, idp: OIDCProvider) -> None:
    url = callback_url(Client(), idp, sub="u-9", preferred_username="jo")
    other = Client()
    answer = other.get(url)
    assert answer.status_code == 403
    assert b"not started in this browser" in answer.content
    assert not User.objects.filter(username="jo").exists()


def test_expired_request_is_refused(world: World, idp: OIDCProvider) -> None:
    from datetime import timedelta

    from django.utils import timezone

    client = Client()
    url = callback_url(client, idp, sub="u-10", preferred_username="kim")
    SSOAuthRequest.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    answer = client.get(url)
    assert answer.status_code == 403
    assert b"expired" in answer.content


def test_idp_error_is_shown_and_audited(world: World, idp: OIDCProvider) -> None:
    client = Client()
    start = client.get("/organizations/acme/sso/login")
    state = start["Location"].split("state=")[1].split("&")[0]
    answer = client.get(f"/organizations/acme/sso/callback?error=access_denied&state={state}")
    assert answer.status_code == 403
    assert b"access_denied" in answer.content


def test_disabled_or_missing_provider_is_404(world: World, idp: OIDCProvider) -> None:
    world.provider.enabled = False
    world.provider.save()
    assert Client().get("/organizations/acme/sso/login").status_code == 404
    assert Client().get("/organizations/nope/sso/login").status_code == 404
    assert Client().get("/sso/login").status_code == 404


def test_instance_provider_signs_in_without_membership(db, idp: OIDCProvider) -> None:
    from sso.services import provider_update
    from tests.sso.oidc_idp import CLIENT_ID, CLIENT_SECRET

    provider_update(
        actor=None,
        org=None,
        data={
            "protocol": "oidc",
            "issuer": idp.url,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
        },
    )
    page = Client().get("/login")
    assert b'href="/sso/login"' in page.content
    answer = oidc_sign_in(Client(), idp, org=None, sub="i-1", preferred_username="lee")
    assert answer.status_code == 302
    lee = User.objects.get(username="lee")
    assert not Membership.objects.filter(user=lee).exists()


def test_login_page_offers_org_sso(world: World) -> None:
    page = Client().get("/login?org=acme")
    assert b"Sign in with Acme Corp SSO" in page.content
    assert (
        Client().get("/sso/org?org=acme&next=/acme")["Location"]
        == "/organizations/acme/sso/login?next=%2Facme"
    )
