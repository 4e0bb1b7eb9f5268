"""Repo pages. Order matters: hub/hf_urls.py (git, API) is included before this file, fixed
prefixes come before the `{ns}/...` patterns, and `/resolve/` belongs to repos/api."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from repos import discussion_views, org_views, usage_views, views
from repos.models import RepoKind

app_name = "repos"

# The same name rules as hub/hf_urls.py, so a page and its git URL name one repo.
NAMESPACE = r"(?P<namespace>[A-Za-z0-9][A-Za-z0-9_.-]*)"
NAME = r"(?P<name>[A-Za-z0-9_.-]+?)"


def _repo_pages(prefix: str, kind: str) -> list[URLPattern]:
    repo = f"^{prefix}{NAMESPACE}/{NAME}"
    k = {"kind": kind}
    return [
        re_path(rf"{repo}$", views.repo_card, k, name=f"{kind}-card"),
        re_path(rf"{repo}/tree(?:/(?P<tail>.+))?$", views.repo_tree, k, name=f"{kind}-tree"),
        re_path(rf"{repo}/blob/(?P<tail>.+)$", views.repo_blob, k, name=f"{kind}-blob"),
        re_path(rf"{repo}/raw/(?P<tail>.+)$", views.repo_raw, k, name=f"{kind}-raw"),
        re_path(
            rf"{repo}/commits(?:/(?P<tail>.+))?$", views.repo_commits, k, name=f"{kind}-commits"
        ),
        re_path(rf"{repo}/commit/(?P<sha>[^/]+)$", views.repo_commit, k, name=f"{kind}-commit"),
        re_path(rf"{repo}/refs$", views.repo_refs, k, name=f"{kind}-refs"),
        re_path(rf"{repo}/like$", views.repo_like, k, name=f"{kind}-like"),
        re_path(rf"{repo}/settings$", views.repo_settings, k, name=f"{kind}-settings"),
        re_path(rf"{repo}/upload$", views.repo_upload, k, name=f"{kind}-upload"),
        re_path(rf"{repo}/access-requests$", org_views.access_requests_page, k,
                name=f"{kind}-access-requests"),  # --- orgs and access requests ---
        # --- discussions and pull requests (the Community tab) ---
        re_path(rf"{repo}/discussions$", discussion_views.discussion_list_page, k,
                name=f"{kind}-discussions"),
        re_path(rf"{repo}/discussions/new$", discussion_views.discussion_new_page, k,
                name=f"{kind}-discussion-new"),
        re_path(rf"{repo}/discussions/(?P<num>[0-9]+)$", discussion_views.discussion_page, k,
                name=f"{kind}-discussion"),
        re_path(rf"{repo}/discussions/(?P<num>[0-9]+)/files$",
                discussion_views.discussion_files_page, k, name=f"{kind}-discussion-files"),
    ]


urlpatterns = [
    path("", views.home, name="home"),
    path("new", views.repo_new, {"kind": RepoKind.MODEL}, name="new-model"),
    path("new-dataset", views.repo_new, {"kind": RepoKind.DATASET}, name="new-dataset"),
    path("organizations/<str:name>/teams/<str:team>/repos", org_views.team_repos,
         name="team-repos"),  # --- orgs and access requests ---
    # --- quotas and usage ---
    path("settings/usage", usage_views.usage_mine, name="usage"),
    path("organizations/<str:name>/settings/usage", usage_views.usage_org, name="org-usage"),
    path("_/quotas", usage_views.quotas_site, name="site-quotas"),
    path("_/quotas/<str:name>", usage_views.quota_site, name="site-quota"),
    *_repo_pages("datasets/", RepoKind.DATASET),
    *_repo_pages("", RepoKind.MODEL),
    re_path(rf"^{NAMESPACE}$", views.profile, name="profile"),
]
