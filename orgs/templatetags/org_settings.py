"""`{% org_settings_nav org "active-key" %}`: the side navigation of every org settings page."""

from __future__ import annotations

from typing import Any

from django import template

from orgs.models import Organization
from orgs.settings_nav import org_settings_tabs

register = template.Library()


@register.inclusion_tag("orgs/_org_settings_nav.html")
def org_settings_nav(org: Organization, active: str = "general") -> dict[str, Any]:
    base = f"/organizations/{org.name}/settings"
    return {
        "org": org,
        "tabs": [
            {"key": t.key, "label": t.label, "url": base + t.path, "active": t.key == active}
            for t in org_settings_tabs()
        ],
    }
