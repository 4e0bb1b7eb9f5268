from django.apps import AppConfig


class ReposConfig(AppConfig):
    name = "repos"

    def ready(self) -> None:
        from orgs.permissions import register_accepted_repos
        from orgs.settings_nav import OrgSettingsTab, register_org_settings_tab
        from orgs.tokens import register_repo_lookup
        from repos import events
        from repos.access_requests import accepted_repo_ids
        from repos.quotas import on_repo_changed
        from repos.selectors import repo_for_token_scope

        # orgs cannot import repos: fine-grained token scopes find repos through this.
        register_repo_lookup(repo_for_token_scope)
        # ... and `can_download` learns of accepted access requests through this.
        register_accepted_repos(accepted_repo_ids)
        # Storage usage: the org settings tab; a push or commit re-measures the repo (a task).
        register_org_settings_tab(OrgSettingsTab("usage", "Usage", "/usage", 80))
        events.subscribe(events.RepoCreated, on_repo_changed)
        events.subscribe(events.RepoUpdated, on_repo_changed)
