from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_migrate, post_save

        from repos import events, extensions
        from repos.models import Like, Repo
        from search import counts, handlers, providers

        events.subscribe(events.RepoCreated, handlers.on_repo_created)
        events.subscribe(events.RepoUpdated, handlers.on_repo_updated)
        events.subscribe(events.RepoConfigChanged, handlers.on_repo_config_changed)
        events.subscribe(events.RepoDeleted, handlers.on_repo_deleted)
        post_save.connect(handlers.on_repo_saved, sender=Repo, dispatch_uid="search-repo-saved")
        post_save.connect(handlers.on_like_saved, sender=Like, dispatch_uid="search-like-saved")
        post_delete.connect(
            handlers.on_like_deleted, sender=Like, dispatch_uid="search-like-deleted"
        )
        # Facet count triggers, after every migrate (SQLite drops them when it rebuilds a table).
        post_migrate.connect(counts.ensure_facet_counts, sender=self, dispatch_uid="search-counts")
        # model_info's tags/pipeline_tag/library_name, the repo page sidebar, home sections.
        extensions.register_info_provider(providers.info_fields)
        extensions.register_panel("repo_card", providers.card_panel)
        extensions.register_panel("home", providers.trending_panel)
