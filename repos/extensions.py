"""Extension points through which consumer apps add to repos' API answers and pages.

`repos` may not import its consumers (search, datasets_svc, webhooks: STYLE.md 2.1), yet
model_info's `tags`, `pipeline_tag` and `library_name` come from search's card index, and
the repo page shows search's metadata sidebar. So a consumer registers a function here
from its AppConfig.ready(), and repos calls every registered function:

- info providers add fields to ModelInfo/DatasetInfo objects (model_info, listings);
- panel providers add a server-rendered panel (template + context) to a page, e.g. the
  sidebar of the repo card page or a section of the home page.

A provider must be cheap (a few queries for a whole page of repos), must not raise for a
missing or broken index row (it returns nothing for that repo), and its panel context is
fully evaluated, so templates trigger no queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from repos.models import Repo

# (repos, commit) -> {repo id: fields to merge into that repo's info object}. `commit` is
# the revision model_info was asked for (one repo); None for listings (default branch).
InfoProvider = Callable[..., Mapping[int, Mapping[str, Any]]]


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


# (request, **page arguments) -> a Panel, or None when there is nothing to show.
PanelProvider = Callable[..., Panel | None]

_info_providers: list[InfoProvider] = []
_panel_providers: dict[str, list[PanelProvider]] = {}


def register_info_provider(provider: InfoProvider) -> None:
    if provider not in _info_providers:
        _info_providers.append(provider)


def info_extras(repos: Sequence[Repo], *, commit: str | None = None) -> dict[int, dict[str, Any]]:
    """Fields every provider adds, per repo id (later providers win on a shared key)."""
    out: dict[int, dict[str, Any]] = {r.pk: {} for r in repos}
    if not repos:
        return out
    for provider in _info_providers:
        for repo_id, extra in provider(repos, commit=commit).items():
            out.setdefault(repo_id, {}).update(extra)
    return out


def register_panel(page: str, provider: PanelProvider) -> None:
    """`page` is "repo_card" (kwargs: repo, can_write) or "home" (no kwargs)."""
    providers = _panel_providers.setdefault(page, [])
    if provider not in providers:
        providers.append(provider)


def panels(page: str, request: HttpRequest, **kwargs: Any) -> list[Panel]:
    found = (provider(request, **kwargs) for provider in _panel_providers.get(page, []))
    return [p for p in found if p is not None]
