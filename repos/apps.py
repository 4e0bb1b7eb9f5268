from django.apps import AppConfig


class ReposConfig(AppConfig):
    name = "repos"

    def ready(self) -> None:
        from orgs.tokens import register_repo_lookup
        from repos.selectors import repo_for_token_scope

        # orgs cannot import repos: fine-grained token scopes find repos through this.
        register_repo_lookup(repo_for_token_scope)
