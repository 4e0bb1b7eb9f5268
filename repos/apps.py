from django.apps import AppConfig


class ReposConfig(AppConfig):
    name = "repos"

    def ready(self) -> None:
        from orgs.permissions import register_accepted_repos
        from orgs.tokens import register_repo_lookup
        from repos.access_requests import accepted_repo_ids
        from repos.selectors import repo_for_token_scope

        # orgs cannot import repos: fine-grained token scopes find repos through this.
        register_repo_lookup(repo_for_token_scope)
        # ... and `can_download` learns of accepted access requests through this.
        register_accepted_repos(accepted_repo_ids)
