"""The organization settings navigation: one ordered list of tabs, rendered by one include.

Every org settings page draws its side navigation with
`{% load org_settings %}{% org_settings_nav org "key" %}` (templates/orgs/_org_settings_nav.html),
so a new area appears on every page at once. An app adds its own tab from its
`AppConfig.ready()`, without touching the orgs templates:

    from orgs.settings_nav import OrgSettingsTab, register_org_settings_tab

    register_org_settings_tab(OrgSettingsTab(key="sso", label="SSO", path="/sso", order=60))

`path` is relative to `/organizations/{name}/settings` ("" is the main page, "#members" an
anchor on it, "/audit" a page of its own). Orders in use: general 10, members 20,
invitations 30, teams 40, tokens 50, webhooks 55 (webhooks app), SSO 60 (sso app),
audit log 70, usage 80 (quotas).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrgSettingsTab:
    key: str
    label: str
    path: str
    order: int


_TABS: dict[str, OrgSettingsTab] = {}


def register_org_settings_tab(tab: OrgSettingsTab) -> None:
    """Add (or replace, by key) a tab; idempotent, so a re-run `ready()` is harmless."""
    _TABS[tab.key] = tab


def org_settings_tabs() -> list[OrgSettingsTab]:
    return sorted(_TABS.values(), key=lambda t: (t.order, t.key))


for _tab in (
    OrgSettingsTab("general", "General", "#general", 10),
    OrgSettingsTab("members", "Members", "#members", 20),
    OrgSettingsTab("invitations", "Invitations", "#invitations", 30),
    OrgSettingsTab("teams", "Teams", "#teams", 40),
    OrgSettingsTab("tokens", "Access tokens", "/tokens", 50),
    OrgSettingsTab("audit", "Audit log", "/audit", 70),
):
    register_org_settings_tab(_tab)
