"""The Hugging Face Hub HTTP contract, in one file (hf-api-contract.md)."""

from __future__ import annotations

from django.urls import path, re_path

from orgs.api import org_tokens as org_tokens_api
from orgs.api import orgs as orgs_api  # --- orgs and access requests ---
from orgs.api.views import WhoamiApi
from repos.api import access_requests as access_api  # --- orgs and access requests ---
from repos.api import commit as commit_api  # --- write side ---
from repos.api import discussions as discussions_api  # --- discussions and pull requests ---
from repos.api import info as info_api
from repos.api import refs_write
from repos.api.cards import ValidateYamlApi
from repos.api.likes import RepoLikeApi, RepoLikersApi, UserLikesApi
from repos.api.repo_settings import RepoMoveApi, RepoSettingsApi
from repos.api.resolve import resolve
from repos.api.usage import (  # --- quotas and usage ---
    NamespaceUsageApi,
    OrgUsageApi,
    QuotaAdminApi,
    RepoStorageListApi,
)
from repos.api.views import RepoCreateApi, RepoDeleteApi
from repos.git import http as git_http
from repos.lfs import api as lfs_api
from repos.lfs import multipart as lfs_multipart
from search.api import views as search_api  # --- search ---
from webhooks.api import views as webhooks_api

# `/{ns}/{name}` for models, `/datasets/{ns}/{name}` for datasets; `.git` optional.
REPO = r"(?P<prefix>datasets/)?(?P<namespace>[A-Za-z0-9][A-Za-z0-9_.-]*)/(?P<name>[A-Za-z0-9_.-]+?)"
# `/api/{models|datasets}/{ns}/{name}`
API_REPO = (
    r"api/(?P<plural>models|datasets)/"
    r"(?P<namespace>[A-Za-z0-9][A-Za-z0-9_.-]*)/(?P<name>[A-Za-z0-9_.-]+?)"
)


def _kinded(view):  # type: ignore[no-untyped-def]
    """Turn the optional `datasets/` prefix into the `kind` argument."""

    def wrapper(request, prefix=None, **kwargs):  # type: ignore[no-untyped-def]
        return view(request, kind="dataset" if prefix else "model", **kwargs)

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    wrapper.__name__ = view.__name__
    return wrapper


urlpatterns = [
    # huggingface_hub HfApi.whoami -> GET /api/whoami-v2
    path("api/whoami-v2", WhoamiApi.as_view(), name="whoami"),
    # HfApi.create_repo -> POST /api/repos/create; delete_repo -> DELETE /api/repos/delete
    path("api/repos/create", RepoCreateApi.as_view(), name="repo-create"),
    path("api/repos/delete", RepoDeleteApi.as_view(), name="repo-delete"),
    # --- read side (repo info, tree, paths-info, refs, commits, resolve) ---
    # model_info / dataset_info / repo_info [revision=...]
    re_path(rf"^{API_REPO}$", info_api.repo_info, name="repo-info"),
    re_path(
        rf"^{API_REPO}/revision/(?P<revision>.+)$",
        info_api.repo_info_revision,
        name="repo-info-revision",
    ),
    # list_repo_tree, get_paths_info, list_repo_refs, list_repo_commits
    re_path(rf"^{API_REPO}/tree/(?P<tail>.+)$", info_api.repo_tree, name="repo-tree"),
    re_path(rf"^{API_REPO}/paths-info/(?P<revision>.+)$", info_api.paths_info, name="paths-info"),
    re_path(rf"^{API_REPO}/refs$", info_api.repo_refs, name="repo-refs"),
    re_path(rf"^{API_REPO}/commits/(?P<revision>.+)$", info_api.repo_commits, name="repo-commits"),
    re_path(rf"^{API_REPO}/xet-(?P<mode>read|write)-token/(?P<revision>.*)$", info_api.xet_token,
            name="xet-token"),
    # hf_hub_download / snapshot_download / HfFileSystem reads
    re_path(rf"^{REPO}/resolve/(?P<tail>.+)$", _kinded(resolve), name="resolve"),
    # --- lifecycle, listing, likes ---
    # HfApi.move_repo; update_repo_settings; _validate_yaml (before a README commit)
    path("api/repos/move", RepoMoveApi.as_view(), name="repo-move"),
    re_path(rf"^{API_REPO}/settings$", RepoSettingsApi.as_view(), name="repo-settings"),
    path("api/validate-yaml", ValidateYamlApi.as_view(), name="validate-yaml"),
    # --- search ---
    # list_models / list_datasets (search/api: the search backend answers them)
    path("api/models", search_api.ModelListApi.as_view(), name="model-list"),
    path("api/datasets", search_api.DatasetListApi.as_view(), name="dataset-list"),
    # facet counts for a listing query; the Hub's tag catalogue; the header's suggestions
    path("api/models/facets", search_api.ModelFacetsApi.as_view(), name="model-facets"),
    path("api/datasets/facets", search_api.DatasetFacetsApi.as_view(), name="dataset-facets"),
    path("api/models-tags-by-type", search_api.ModelTagsByTypeApi.as_view(),
         name="models-tags-by-type"),
    path("api/quicksearch", search_api.QuickSearchApi.as_view(), name="quicksearch"),
    # --- end search ---
    # unlike (DELETE), like (POST: older clients, UI); list_repo_likers; list_liked_repos
    re_path(rf"^{API_REPO}/like$", RepoLikeApi.as_view(), name="repo-like"),
    re_path(rf"^{API_REPO}/likers$", RepoLikersApi.as_view(), name="repo-likers"),
    path("api/users/<str:username>/likes", UserLikesApi.as_view(), name="user-likes"),
    # --- end lifecycle, listing, likes ---
    # --- orgs and access requests ---
    # get_organization_overview, list_organization_members (contract 1.1); our org API
    path("api/organizations/new", orgs_api.OrgCreateApi.as_view(), name="org-create"),
    path("api/organizations/<str:name>/overview", orgs_api.OrgOverviewApi.as_view(),
         name="org-overview"),
    path("api/organizations/<str:name>/settings", orgs_api.OrgSettingsApi.as_view(),
         name="org-settings"),
    path("api/organizations/<str:name>/members", orgs_api.OrgMemberListApi.as_view(),
         name="org-members"),
    path("api/organizations/<str:name>/members/<str:username>", orgs_api.OrgMemberApi.as_view(),
         name="org-member"),
    path("api/organizations/<str:name>/leave", orgs_api.OrgLeaveApi.as_view(), name="org-leave"),
    path("api/organizations/<str:name>/invitations", orgs_api.OrgInvitationCreateApi.as_view(),
         name="org-invite"),
    re_path(r"^api/invitations/(?P<token>[A-Za-z0-9_-]+)/(?P<answer>accept|decline)$",
            orgs_api.InvitationAnswerApi.as_view(), name="invitation-answer"),
    path("api/organizations/<str:name>/teams", orgs_api.OrgTeamListApi.as_view(),
         name="org-teams"),
    path("api/organizations/<str:name>/teams/<str:team>", orgs_api.OrgTeamApi.as_view(),
         name="org-team"),
    path("api/organizations/<str:name>/teams/<str:team>/members/<str:username>",
         orgs_api.OrgTeamMemberApi.as_view(), name="org-team-member"),
    # our own: the access tokens that reach an org, for its admins (orgs/org_tokens.py)
    path("api/organizations/<str:name>/tokens", org_tokens_api.OrgTokenListApi.as_view(),
         name="org-tokens"),
    path("api/organizations/<str:name>/tokens/<str:token_id>",
         org_tokens_api.OrgTokenApi.as_view(), name="org-token"),
    path("api/organizations/<str:name>/tokens/<str:token_id>/restore",
         org_tokens_api.OrgTokenRestoreApi.as_view(), name="org-token-restore"),
    re_path(r"^api/organizations/(?P<name>[^/]+)/teams/(?P<team>[^/]+)/repos/"
            r"(?P<plural>models|datasets)/(?P<repo>[^/]+)$",
            access_api.TeamRepoApi.as_view(), name="org-team-repo"),
    # list_*_access_requests; accept/reject/cancel_access_request; grant_access (1.9)
    re_path(rf"^{API_REPO}/user-access-request/(?P<status>pending|accepted|rejected)$",
            access_api.AccessRequestListApi.as_view(), name="access-request-list"),
    re_path(rf"^{API_REPO}/user-access-request/handle$",
            access_api.AccessRequestHandleApi.as_view(), name="access-request-handle"),
    re_path(rf"^{API_REPO}/user-access-request/grant$",
            access_api.AccessRequestGrantApi.as_view(), name="access-request-grant"),
    re_path(rf"^{API_REPO}/ask-access$", access_api.AccessRequestCreateApi.as_view(),
            name="access-request-create"),
    # the request form on a gated repo's page
    re_path(rf"^{REPO}/ask-access$", _kinded(access_api.ask_access), name="ask-access"),
    # --- end orgs and access requests ---
    # --- quotas and usage ---
    # HfApi.list_user_repos: every repo of the caller (or of an org) with its storage
    path("api/settings/repositories", RepoStorageListApi.as_view(), name="repo-storage-list"),
    path("api/organizations/<str:name>/settings/repositories", RepoStorageListApi.as_view(),
         name="org-repo-storage-list"),
    # our usage documents (self, org admins, site admins) and the site admins' quota overrides
    path("api/users/<str:name>/usage", NamespaceUsageApi.as_view(), name="user-usage"),
    path("api/organizations/<str:name>/usage", OrgUsageApi.as_view(), name="org-usage"),
    path("api/admin/quotas/<str:name>", QuotaAdminApi.as_view(), name="quota-admin"),
    # --- end quotas and usage ---
    # Git LFS transfers through signed hrefs (the batch API hands them out).
    path("api/lfs/objects/<str:oid>", lfs_api.object_transfer, name="lfs-object"),
    path("api/lfs/verify", lfs_api.verify, name="lfs-verify"),
    # --- webhooks ---
    # HfApi.list_webhooks / create_webhook / get_webhook / update_webhook / delete_webhook /
    # enable_webhook / disable_webhook (contract 1.10)
    path("api/settings/webhooks", webhooks_api.WebhookListCreateApi.as_view(),
         name="webhook-list"),
    path("api/settings/webhooks/<str:webhook_id>", webhooks_api.WebhookDetailApi.as_view(),
         name="webhook-detail"),
    path("api/settings/webhooks/<str:webhook_id>/enable",
         webhooks_api.WebhookEnableApi.as_view(), name="webhook-enable"),
    path("api/settings/webhooks/<str:webhook_id>/disable",
         webhooks_api.WebhookDisableApi.as_view(), name="webhook-disable"),
    # --- write side (commit API, branches, tags) ---
    # The revision is the rest of the path (quoted with safe="", so it may hold "/").
    # create_commit: preupload, then the NDJSON commit (upload_file, upload_folder, delete_*)
    re_path(rf"^{API_REPO}/preupload/(?P<rev>.+)$", commit_api.preupload, name="preupload"),
    re_path(rf"^{API_REPO}/commit/(?P<rev>.+)$", commit_api.commit, name="commit"),
    # create_branch / delete_branch; create_tag (path = target) / delete_tag; super_squash_history
    re_path(rf"^{API_REPO}/branch/(?P<rev>.+)$", refs_write.branch, name="branch"),
    re_path(rf"^{API_REPO}/tag/(?P<rev>.+)$", refs_write.tag, name="tag"),
    re_path(rf"^{API_REPO}/super-squash/(?P<rev>.+)$", refs_write.super_squash,
            name="super-squash"),
    # LFS multipart upload: part PUTs and the completion POST (signed links from the batch API)
    path("api/lfs/multipart/<str:oid>/<int:part>", lfs_multipart.part_put,
         name="lfs-multipart-part"),
    path("api/lfs/multipart/<str:oid>", lfs_multipart.complete, name="lfs-multipart-complete"),
    # --- end write side ---
    # --- discussions and pull requests (contract 1.8) ---
    # get_repo_discussions / create_discussion / create_pull_request; get_discussion_details;
    # comment_discussion, rename_discussion, change_discussion_status, merge_pull_request,
    # edit_discussion_comment, hide_discussion_comment
    re_path(rf"^{API_REPO}/discussions$", discussions_api.DiscussionListApi.as_view(),
            name="discussion-list"),
    re_path(rf"^{API_REPO}/discussions/(?P<num>[0-9]+)$",
            discussions_api.DiscussionDetailApi.as_view(), name="discussion-detail"),
    re_path(rf"^{API_REPO}/discussions/(?P<num>[0-9]+)/comment$",
            discussions_api.DiscussionCommentApi.as_view(), name="discussion-comment"),
    re_path(rf"^{API_REPO}/discussions/(?P<num>[0-9]+)/title$",
            discussions_api.DiscussionTitleApi.as_view(), name="discussion-title"),
    re_path(rf"^{API_REPO}/discussions/(?P<num>[0-9]+)/status$",
            discussions_api.DiscussionStatusApi.as_view(), name="discussion-status"),
    re_path(rf"^{API_REPO}/discussions/(?P<num>[0-9]+)/merge$",
            discussions_api.DiscussionMergeApi.as_view(), name="discussion-merge"),
    re_path(rf"^{API_REPO}/discussions/(?P<num>[0-9]+)/comment/(?P<comment_id>[0-9a-fA-F]+)/edit$",
            discussions_api.DiscussionCommentEditApi.as_view(), name="discussion-comment-edit"),
    re_path(rf"^{API_REPO}/discussions/(?P<num>[0-9]+)/comment/(?P<comment_id>[0-9a-fA-F]+)/hide$",
            discussions_api.DiscussionCommentHideApi.as_view(), name="discussion-comment-hide"),
    # --- end discussions and pull requests ---
    # Git smart HTTP and the LFS API under the repo's git URL.
    re_path(rf"^{REPO}(?:\.git)?/info/refs$", _kinded(git_http.info_refs), name="git-info-refs"),
    re_path(
        rf"^{REPO}(?:\.git)?/(?P<service>git-upload-pack|git-receive-pack)$",
        _kinded(git_http.service_rpc),
        name="git-rpc",
    ),
    re_path(
        rf"^{REPO}(?:\.git)?/info/lfs/objects/batch$", _kinded(lfs_api.batch), name="lfs-batch"
    ),
    re_path(
        rf"^{REPO}(?:\.git)?/info/lfs/locks(?:/(?P<rest>.+))?$",
        _kinded(lfs_api.locks),
        name="lfs-locks",
    ),
]
