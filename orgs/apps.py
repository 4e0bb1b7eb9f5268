from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from orgs import audit  # noqa: F401 (connects the sign-in/sign-out receivers)
