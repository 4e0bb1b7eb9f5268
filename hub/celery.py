"""The Celery app: Redis in production, a persisted SQLite broker in the embedded profile."""

from __future__ import annotations

import os

from celery import Celery

from hub import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

broker.register()

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
