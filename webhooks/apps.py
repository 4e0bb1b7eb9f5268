from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from repos import events
        from webhooks import handlers

        for event_type in (
            events.RepoCreated,
            events.RepoUpdated,
            events.RepoDeleted,
            events.RepoConfigChanged,
        ):
            events.subscribe(event_type, handlers.on_repo_event)
