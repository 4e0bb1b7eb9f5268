"""Account pages: sign up, sign in, sign out, access tokens. Thin: forms in, services out."""

from __future__ import annotations

from contextlib import suppress

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import ConflictError, HubError, NotFoundError
from orgs.forms import SignupForm, TokenCreateForm
from orgs.selectors import token_list
from orgs.services import token_create, token_revoke, user_create


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: `next` when it stays on this site, else home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.ALLOW_SIGNUP:
        return render(request, "orgs/signup.html", {"closed": True}, status=403)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = user_create(
                username=d["username"],
                password=d["password"],
                email=d["email"],
                fullname=d["fullname"],
            )
        except ConflictError as exc:
            form.add_error("username", exc.message)
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_next_url(request))
    return render(request, "orgs/signup.html", {"form": form, "next": _next_url(request)})


@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    # The user manager looks names up ignoring case, so `dvuser` signs in as `DVUser`.
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect(_next_url(request))
    return render(request, "orgs/login.html", {"form": form, "next": _next_url(request)})


# POST only (Django's LogoutView answers GET with 405), so `<img src=/logout>` in a card
# cannot sign anyone out (SECURITY.md 27).
signout = LogoutView.as_view(next_page="/")


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; a POST creates one and shows its secret in this response only.

    The secret is rendered straight into the POST answer rather than carried through a
    redirect, so it is never written to the session or any other store.
    """
    form = TokenCreateForm(request.POST or None)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = token_create(
                user=request.user, name=form.cleaned_data["name"], role=form.cleaned_data["role"]
            )
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            form = TokenCreateForm()
    context = {
        "form": form,
        "tokens": list(token_list(user=request.user)),
        "created": created,
        "secret": secret,
    }
    response = render(request, "orgs/tokens.html", context)
    response["Cache-Control"] = "no-store"  # the page may hold a secret
    return response


@login_required
@require_POST
def token_delete(request: HttpRequest, token_id: int) -> HttpResponse:
    # Already revoked (a double click) or never theirs: the list shows the truth either way.
    with suppress(NotFoundError):
        token_revoke(user=request.user, token_id=token_id)
    return HttpResponseRedirect("/settings/tokens")


def settings_home(request: HttpRequest) -> HttpResponse:
    return redirect("orgs:tokens")
