"""Team (resource group) repos: which repos of an org a team's members work on.

The team and its members live in orgs (orgs/org_services.py); the link to repos lives
here, since orgs cannot import repos.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from common.errors import BadRequestError, NotFoundError
from orgs.audit import audit_log
from orgs.models import Organization, Team, User
from orgs.org_services import require_org_admin
from repos.models import Repo, TeamRepo


def team_repo_list(*, team: Team) -> QuerySet[Repo]:
    return Repo.objects.filter(team_links__team=team).select_related("owner").order_by("name")


def team_repos_by_team(*, org: Organization) -> dict[int, list[Repo]]:
    """Every team's repos in one query (the org settings page)."""
    result: dict[int, list[Repo]] = {}
    links = TeamRepo.objects.filter(team__org=org).select_related("repo__owner")
    for link in links.order_by("repo__name"):
        result.setdefault(link.team_id, []).append(link.repo)
    return result


def org_repo_find(*, org: Organization, full_id: str, kind: str) -> Repo:
    """A repo of the org by `name` or `org/name` (a team holds only its org's repos)."""
    namespace, sep, name = full_id.strip().partition("/")
    if not sep:
        namespace, name = org.name, namespace
    if namespace.lower() != org.name.lower():
        raise BadRequestError(f"A team holds repos of {org.name} only.")
    repo = Repo.objects.filter(owner_id=org.namespace_id, kind=kind, name__iexact=name).first()
    if repo is None:
        raise NotFoundError(f"{org.name}/{name} not found.")
    return repo


@transaction.atomic
def team_repo_add(*, actor: User | AnonymousUser | None, team: Team, repo: Repo) -> None:
    require_org_admin(actor, team.org)
    if repo.owner_id != team.org.namespace_id:
        raise BadRequestError(f"A team holds repos of {team.org.name} only.")
    try:
        with transaction.atomic():
            TeamRepo.objects.get_or_create(team=team, repo=repo)
    except IntegrityError:  # added concurrently: done already
        pass
    audit_log(verb="org.team.repo.add", actor=actor, target=repo, details={"team": team.name})


@transaction.atomic
def team_repo_remove(*, actor: User | AnonymousUser | None, team: Team, repo: Repo) -> None:
    require_org_admin(actor, team.org)
    deleted, _ = TeamRepo.objects.filter(team=team, repo=repo).delete()
    if not deleted:
        raise NotFoundError(f"{repo.full_name} is not in team {team.name}.")
    audit_log(verb="org.team.repo.remove", actor=actor, target=repo, details={"team": team.name})
