from django.apps import AppConfig


class DatasetsSvcConfig(AppConfig):
    name = "datasets_svc"
    verbose_name = "Dataset viewer"
