"""Organization pages: new org, settings (general, members, invitations, teams), the
invitation page, the avatar, and the user's list of orgs. Thin: forms in, services out.

Team repos are added and removed by repos (repos/org_views.py), which may touch repos.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.errors import HubError, NotFoundError
from orgs.models import Organization, OrgRole, Team, TeamRole
from orgs.org_selectors import (
    invitation_list_for_user,
    invitation_list_pending,
    is_org_admin,
    membership_list,
    org_list_for_user,
    org_role_of,
)
from orgs.org_services import (
    avatar_dir,
    invitation_accept,
    invitation_cancel,
    invitation_create,
    invitation_decline,
    invitation_get,
    member_leave,
    member_remove,
    member_set_role,
    org_avatar_set,
    org_create,
    org_get,
    org_update,
    team_create,
    team_delete,
    team_get,
    team_member_remove,
    team_member_set,
)


class OrgNewForm(forms.Form):
    name = forms.CharField(
        max_length=42,
        help_text="Letters, digits, '-' and '_'. Its repos live at /name/repo.",
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
    fullname = forms.CharField(max_length=120, required=False, label="Full name (optional)")
    default_private = forms.BooleanField(
        required=False, label="Make new repositories private by default"
    )


class OrgGeneralForm(forms.Form):
    fullname = forms.CharField(max_length=120, required=False, label="Full name")
    default_private = forms.BooleanField(
        required=False, label="Make new repositories private by default"
    )
    avatar = forms.FileField(
        required=False, help_text="PNG, JPEG or GIF, at most 1 MB. Empty: initials."
    )


class InviteForm(forms.Form):
    who = forms.CharField(max_length=254, label="User name or email address")
    role = forms.ChoiceField(choices=OrgRole.choices, initial=OrgRole.READ)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=64, label="New team")
    description = forms.CharField(max_length=300, required=False)


def _org_or_404(name: str) -> Organization:
    try:
        return org_get(name=name)
    except NotFoundError:
        raise Http404("Not found") from None


@login_required
@require_http_methods(["GET", "POST"])
def org_new(request: HttpRequest) -> HttpResponse:
    form = OrgNewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            org = org_create(
                actor=request.user,
                name=d["name"].strip(),
                fullname=d["fullname"],
                default_private=d["default_private"],
            )
        except HubError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(request, f"Created {org.name}. Invite your team next.")
            return redirect(f"/organizations/{org.name}/settings")
    return render(request, "orgs/new.html", {"form": form})


def _settings_context(request: HttpRequest, org: Organization, **forms_: object) -> dict:
    from django.db.models import Prefetch

    from orgs.models import TeamMember

    teams = list(
        Team.objects.filter(org=org).prefetch_related(
            Prefetch("members", queryset=TeamMember.objects.select_related("user")),
            # repos.TeamRepo rows, through the reverse accessor (orgs cannot import repos).
            "repo_links__repo__owner",
        )
    )
    return {
        "org": org,
        "members": list(membership_list(org=org)),
        "invitations": list(invitation_list_pending(org=org)),
        "teams": teams,
        "roles": OrgRole.choices,
        "team_roles": TeamRole.choices,
        "general_form": forms_.get("general_form")
        or OrgGeneralForm(
            initial={"fullname": org.fullname, "default_private": org.default_private}
        ),
        "invite_form": forms_.get("invite_form") or InviteForm(),
        "team_form": forms_.get("team_form") or TeamForm(),
        "invited": forms_.get("invited"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def org_settings(request: HttpRequest, name: str) -> HttpResponse:
    """Everything an org admin manages, on one page; each form posts a `form` field."""
    org = _org_or_404(name)
    if not is_org_admin(user=request.user, org=org):
        raise Http404("Not found")
    action = request.POST.get("form", "")
    extra: dict[str, object] = {}
    try:
        if action == "general":
            general = OrgGeneralForm(request.POST, request.FILES)
            extra["general_form"] = general
            if general.is_valid():
                d = general.cleaned_data
                org_update(
                    actor=request.user,
                    org=org,
                    fullname=d["fullname"],
                    default_private=d["default_private"],
                )
                if d["avatar"] is not None:
                    org_avatar_set(actor=request.user, org=org, data=d["avatar"].read())
                messages.success(request, "Settings saved.")
                return redirect(f"/organizations/{org.name}/settings")
        elif action == "invite":
            invite = InviteForm(request.POST)
            extra["invite_form"] = invite
            if invite.is_valid():
                who = invite.cleaned_data["who"].strip()
                by_email = "@" in who
                invitation = invitation_create(
                    actor=request.user,
                    org=org,
                    role=invite.cleaned_data["role"],
                    username=None if by_email else who,
                    email=who if by_email else None,
                )
                extra["invited"] = invitation
                extra["invite_form"] = InviteForm()
        elif action == "cancel-invitation":
            invitation_cancel(
                actor=request.user, org=org, invitation_id=int(request.POST.get("id", 0))
            )
            return redirect(f"/organizations/{org.name}/settings#invitations")
        elif action == "role":
            member_set_role(
                actor=request.user,
                org=org,
                username=request.POST.get("user", ""),
                role=request.POST.get("role", ""),
            )
            messages.success(request, "Role changed.")
            return redirect(f"/organizations/{org.name}/settings#members")
        elif action == "remove":
            member_remove(actor=request.user, org=org, username=request.POST.get("user", ""))
            messages.success(request, "Member removed.")
            return redirect(f"/organizations/{org.name}/settings#members")
        elif action == "team":
            team_form = TeamForm(request.POST)
            extra["team_form"] = team_form
            if team_form.is_valid():
                team_create(
                    actor=request.user,
                    org=org,
                    name=team_form.cleaned_data["name"],
                    description=team_form.cleaned_data["description"],
                )
                return redirect(f"/organizations/{org.name}/settings#teams")
        elif action in ("team-member", "team-member-remove", "team-delete"):
            team = team_get(org=org, name=request.POST.get("team", ""))
            if action == "team-member":
                team_member_set(
                    actor=request.user,
                    team=team,
                    username=request.POST.get("user", "").strip(),
                    role=request.POST.get("role", TeamRole.READ),
                )
            elif action == "team-member-remove":
                team_member_remove(
                    actor=request.user, team=team, username=request.POST.get("user", "")
                )
            else:
                team_delete(actor=request.user, team=team)
            return redirect(f"/organizations/{org.name}/settings#teams")
    except HubError as exc:
        form = extra.get(
            {"general": "general_form", "invite": "invite_form", "team": "team_form"}.get(
                action, ""
            )
        )
        if not isinstance(form, forms.Form):
            messages.error(request, exc.message)
            return redirect(f"/organizations/{org.name}/settings")
        form.add_error(None, exc.message)
    return render(request, "orgs/settings.html", _settings_context(request, org, **extra))


@login_required
@require_POST
def org_leave(request: HttpRequest, name: str) -> HttpResponse:
    org = _org_or_404(name)
    try:
        member_leave(actor=request.user, org=org)
    except HubError as exc:
        messages.error(request, exc.message)
        return redirect("/settings/organizations")
    messages.success(request, f"You left {org.name}.")
    return redirect("/settings/organizations")


@login_required
@require_http_methods(["GET", "POST"])
def invitation_page(request: HttpRequest, name: str, token: str) -> HttpResponse:
    """The invitee's page: accept or decline (POST), never a state change on GET."""
    try:
        invitation = invitation_get(token=token)
    except NotFoundError:
        raise Http404("Not found") from None
    if invitation.org.name.lower() != name.lower():
        raise Http404("Not found")
    if request.method == "POST":
        try:
            if request.POST.get("answer") == "accept":
                invitation_accept(actor=request.user, token=token)
                messages.success(request, f"Welcome to {invitation.org.name}.")
                return redirect(f"/{invitation.org.name}")
            invitation_decline(actor=request.user, token=token)
            messages.success(request, "Invitation declined.")
            return redirect("/settings/organizations")
        except HubError as exc:
            messages.error(request, exc.message)
    mine = invitation.invitee_id == request.user.pk or (
        invitation.invitee_id is None
        and invitation.email.lower() == (request.user.email or "").lower()
    )
    return render(request, "orgs/invitation.html", {"invitation": invitation, "mine": mine})


@login_required
@require_GET
def my_orgs(request: HttpRequest) -> HttpResponse:
    """Settings: the orgs the user belongs to, with its role, and invitations waiting."""
    return render(
        request,
        "orgs/my_orgs.html",
        {
            "memberships": list(org_list_for_user(user=request.user)),
            "invitations": list(invitation_list_for_user(user=request.user)),  # type: ignore[arg-type]
        },
    )


_COLORS = ("#6366f1", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6")


@require_GET
def org_avatar(request: HttpRequest, name: str) -> HttpResponse:
    """The uploaded image, or an SVG of the org's initials (generated, never uploaded)."""
    org = _org_or_404(name)
    if org.avatar:
        path = avatar_dir() / org.avatar
        if path.is_file():
            response = FileResponse(path.open("rb"))
            response["Content-Type"] = {
                "png": "image/png",
                "jpg": "image/jpeg",
                "gif": "image/gif",
            }.get(path.suffix.lstrip("."), "application/octet-stream")
            response["X-Content-Type-Options"] = "nosniff"
            response["Cache-Control"] = "public, max-age=300"
            return response
    words = [w for w in (org.fullname or org.name).replace("-", " ").split() if w]
    initials = "".join(w[0] for w in words[:2]).upper() or "?"
    color = _COLORS[org.namespace_id % len(_COLORS)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        f'<rect width="96" height="96" rx="18" fill="{color}"/>'
        '<text x="48" y="60" font-family="system-ui,sans-serif" font-size="38" '
        f'font-weight="700" text-anchor="middle" fill="#fff">{escape(initials)}</text></svg>'
    )
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "public, max-age=300"
    return response


def org_profile_context(request: HttpRequest, org: Organization) -> dict[str, object]:
    """What templates/orgs/profile.html needs besides the repos (repos/views.py profile)."""
    return {
        "org": org,
        "org_members": list(membership_list(org=org)),
        "viewer_role": org_role_of(user=request.user, org=org),
        "viewer_is_admin": is_org_admin(user=request.user, org=org),
    }
