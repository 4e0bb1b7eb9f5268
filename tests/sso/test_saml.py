"""SAML 2.0 sign-in: pysaml2 as the identity provider, the hub's real views as the SP."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest
from django.test import Client

from orgs.models import AuditEvent, Membership, User
from orgs.org_services import org_create
from orgs.services import user_create
from sso.models import SSOIdentity, SSOProvider
from sso.services import provider_update
from tests.conftest import require_tool
from tests.sso.saml_idp import IDP_ENTITY_ID, SAMLProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def saml_world(tmp_path, db):  # type: ignore[no-untyped-def]
    require_tool("xmlsec1")
    idp = SAMLProvider(tmp_path)
    admin = user_create(username="globex-admin", password=None)
    org = org_create(actor=admin, name="globex", fullname="Globex")
    provider = provider_update(
        actor=admin,
        org=org,
        data={
            "protocol": "saml",
            "metadataXml": idp.metadata_xml,
            "roleMapping": [{"value": "eng", "role": "write"}, {"value": "leads", "role": "admin"}],
            "defaultRole": "read",
        },
    )
    return idp, org, provider


def _last_failure() -> str:
    event = AuditEvent.objects.filter(verb="sso.login_failed").first()
    return event.details["reason"] if event else ""


def _start(client: Client) -> str:
    start = client.get("/organizations/globex/sso/login?next=/globex")
    assert start.status_code == 302, start.content[:300]
    assert start["Location"].startswith("https://idp.saml.test/sso?SAMLRequest=")
    return start["Location"]


def _post(client: Client, form: dict[str, str]):  # type: ignore[no-untyped-def]
    acs = urlsplit(form["acs"]).path
    return client.post(
        acs, {"SAMLResponse": form["SAMLResponse"], "RelayState": form["RelayState"]}
    )


def saml_sign_in(client: Client, idp: SAMLProvider, subject: str, **attributes: list[str]):  # type: ignore[no-untyped-def]
    location = _start(client)
    sp_metadata = client.get("/organizations/globex/sso/saml/metadata").content.decode()
    form = idp.answer(location, sp_metadata, subject=subject, attributes=attributes)
    acs = _post(client, form)
    assert acs.status_code == 302, acs.content[:500]
    assert "/sso/saml/finish?state=" in acs["Location"]
    return client.get(acs["Location"])


def test_sp_metadata_and_entity(saml_world) -> None:  # type: ignore[no-untyped-def]
    _, _, provider = saml_world
    assert provider.saml_idp_entity_id == IDP_ENTITY_ID
    xml = Client().get("/organizations/globex/sso/saml/metadata")
    assert xml.status_code == 200
    assert b"http://testserver/organizations/globex/sso/saml/acs" in xml.content


def test_first_sign_in_creates_user_with_mapped_role_and_updates_it(saml_world) -> None:  # type: ignore[no-untyped-def]
    idp, org, provider = saml_world
    client = Client()
    answer = saml_sign_in(
        client, idp, "emp-42", email=["nia@globex.test"], username=["nia"], groups=["eng"]
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/globex"
    nia = User.objects.get(username="nia")
    assert SSOIdentity.objects.get(provider=provider, subject="emp-42").user == nia
    assert Membership.objects.get(org=org, user=nia).role == "write"
    assert client.get("/settings/tokens").status_code == 200
    saml_sign_in(Client(), idp, "emp-42", username=["nia"], groups=["eng", "leads"])
    assert Membership.objects.get(org=org, user=nia).role == "admin"
    event = AuditEvent.objects.filter(verb="sso.login", actor=nia).first()
    assert event.details["protocol"] == "saml"


def test_response_signed_by_another_key_is_refused(saml_world) -> None:  # type: ignore[no-untyped-def]
    idp, _, _ = saml_world
    client = Client()
    location = _start(client)
    sp_metadata = client.get("/organizations/globex/sso/saml/metadata").content.decode()
    form = idp.answer(location, sp_metadata, subject="x", attributes={}, sign_with_evil_key=True)
    answer = _post(client, form)
    assert answer.status_code == 403
    assert "Failed to verify signature" in _last_failure()
    assert not SSOIdentity.objects.exists()
    assert AuditEvent.objects.filter(verb="sso.login_failed", namespace_name="globex").exists()


def test_unsigned_assertion_is_refused(saml_world) -> None:  # type: ignore[no-untyped-def]
    idp, _, _ = saml_world
    client = Client()
    location = _start(client)
    sp_metadata = client.get("/organizations/globex/sso/saml/metadata").content.decode()
    form = idp.answer(location, sp_metadata, subject="x", attributes={}, sign_assertion=False)
    assert _post(client, form).status_code == 403
    assert "Signature missing" in _last_failure()
    assert not SSOIdentity.objects.exists()


def test_tampered_assertion_is_refused(saml_world) -> None:  # type: ignore[no-untyped-def]
    idp, _, _ = saml_world
    client = Client()
    location = _start(client)
    sp_metadata = client.get("/organizations/globex/sso/saml/metadata").content.decode()
    form = idp.answer(location, sp_metadata, subject="mallory", attributes={"groups": ["eng"]})
    xml = base64.b64decode(form["SAMLResponse"]).replace(b"mallory", b"globex-admin")
    form["SAMLResponse"] = base64.b64encode(xml).decode()
    assert _post(client, form).status_code == 403
    assert "Failed to verify signature" in _last_failure()
    assert not SSOIdentity.objects.exists()


def test_replayed_response_is_refused(saml_world) -> None:  # type: ignore[no-untyped-def]
    idp, _, _ = saml_world
    client = Client()
    location = _start(client)
    sp_metadata = client.get("/organizations/globex/sso/saml/metadata").content.decode()
    form = idp.answer(location, sp_metadata, subject="emp-1", attributes={"username": ["oz"]})
    first = _post(client, form)
    assert first.status_code == 302
    again = _post(Client(), form)
    assert again.status_code == 403
    assert b"already used" in again.content
    # Finishing from another browser (login CSRF) is refused; the starter finishes once.
    assert Client().get(first["Location"]).status_code == 403
    assert client.get(first["Location"]).status_code == 302
    assert client.get(first["Location"]).status_code == 403


def test_response_to_another_request_is_refused(saml_world) -> None:  # type: ignore[no-untyped-def]
    idp, _, _ = saml_world
    client = Client()
    location = _start(client)
    sp_metadata = client.get("/organizations/globex/sso/saml/metadata").content.decode()
    form = idp.answer(
        location, sp_metadata, subject="x", attributes={}, in_response_to="id-forged-request"
    )
    assert _post(client, form).status_code == 403
    assert "Unsolicited response" in _last_failure()


def test_unsolicited_response_is_refused(saml_world) -> None:  # type: ignore[no-untyped-def]
    idp, _, _ = saml_world
    client = Client()
    location = _start(client)
    sp_metadata = client.get("/organizations/globex/sso/saml/metadata").content.decode()
    form = idp.answer(location, sp_metadata, subject="x", attributes={})
    form["RelayState"] = ""
    assert _post(client, form).status_code == 403


def test_expired_assertion_is_refused(saml_world) -> None:  # type: ignore[no-untyped-def]
    import time_machine

    idp, _, _ = saml_world
    client = Client()
    location = _start(client)
    sp_metadata = client.get("/organizations/globex/sso/saml/metadata").content.decode()
    form = idp.answer(location, sp_metadata, subject="late", attributes={})
    import datetime

    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=8)):
        answer = _post(client, form)
    assert answer.status_code == 403
    assert "too old" in _last_failure()
    assert not SSOIdentity.objects.exists()


def test_bad_metadata_is_refused_by_the_api(saml_world) -> None:  # type: ignore[no-untyped-def]
    import json

    from orgs.services import token_create

    admin = User.objects.get(username="globex-admin")
    _, secret = token_create(user=admin, name="t", role="write")
    for xml in ("<not-xml", "<EntityDescriptor xmlns='urn:oasis:names:tc:SAML:2.0:metadata'/>"):
        answer = Client().put(
            "/api/organizations/globex/sso",
            json.dumps({"metadataXml": xml}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert answer.status_code == 422, answer.content
    assert SSOProvider.objects.get(org__namespace__name="globex").saml_idp_metadata_xml.startswith(
        "<"
    )


@pytest.mark.usefixtures("data_dir")
def test_saml_sign_in_satisfies_sso_required(saml_world) -> None:  # type: ignore[no-untyped-def]
    from orgs.org_services import member_add
    from repos.services import repo_create

    idp, org, provider = saml_world
    admin = User.objects.get(username="globex-admin")
    repo_create(actor=admin, namespace="globex", name="plans", private=True)
    provider.required = True
    provider.save()
    member = user_create(username="ray", password="a long password 123")
    member_add(actor=None, org=org, user=member, role="write")
    client = Client()
    client.force_login(member)
    assert client.get("/api/models/globex/plans").status_code == 403
    saml_sign_in(client, idp, "emp-ray", groups=["eng"])
    assert client.get("/api/models/globex/plans").status_code == 200
