from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from orgs.settings_nav import OrgSettingsTab, register_org_settings_tab
        from repos import events
        from webhooks import handlers

        # The org settings pages' Webhooks tab (/organizations/{name}/settings/webhooks).
        register_org_settings_tab(OrgSettingsTab("webhooks", "Webhooks", "/webhooks", 55))

        for event_type in (
            events.RepoCreated,
            events.RepoUpdated,
            events.RepoDeleted,
            events.RepoConfigChanged,
            events.DiscussionChanged,
        ):
            events.subscribe(event_type, handlers.on_repo_event)
