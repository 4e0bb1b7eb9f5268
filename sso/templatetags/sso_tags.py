"""`{% sso_login_buttons next %}`: the sign-in page's single sign-on choices."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template

from sso.models import SSOProvider

register = template.Library()


@register.inclusion_tag("sso/_login_buttons.html")
def sso_login_buttons(next_url: str = "", org_name: str = "") -> dict[str, Any]:
    """The instance provider's button, a button for `org_name`'s provider when it has one
    (/login?org=acme), and a box to reach any organization's SSO by name."""
    query = f"?{urlencode({'next': next_url})}" if next_url and next_url != "/" else ""
    providers = list(
        SSOProvider.objects.select_related("org__namespace").filter(enabled=True, org__isnull=True)
    )
    if org_name:
        providers += list(
            SSOProvider.objects.select_related("org__namespace").filter(
                enabled=True, org__namespace__name__iexact=org_name
            )
        )
    any_org = SSOProvider.objects.filter(enabled=True, org__isnull=False).exists()
    return {"providers": providers, "query": query, "next": next_url, "any_org": any_org}
