from __future__ import annotations

app_name = "repos"
urlpatterns: list = []
