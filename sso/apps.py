from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = "Single sign-on"

    def ready(self) -> None:
        from orgs.permissions import register_sso_gate
        from sso import policy

        register_sso_gate(policy.blocked_namespaces)
        policy.connect_signals()
        from orgs.settings_nav import OrgSettingsTab, register_org_settings_tab

        register_org_settings_tab(OrgSettingsTab(key="sso", label="SSO", path="/sso", order=60))
