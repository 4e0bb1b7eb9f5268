"""Account forms. Field checks call the same validators as the services, so a bad name or a
weak password is reported on its field; the service still enforces them on its own."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils import timezone

from common.errors import BadRequestError
from orgs.models import AccessToken
from orgs.names import validate_namespace_name
from orgs.tokens import ScopeSpec


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=42,
        help_text="Letters, digits, '-' and '_'. It is your namespace: /your-name/your-model.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    fullname = forms.CharField(max_length=120, required=False, label="Full name (optional)")
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        min_length=8,
        help_text="At least 8 characters.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        try:
            return validate_namespace_name(username)
        except BadRequestError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        validate_password(password)  # Django's ValidationError lands on this field
        return password


SCOPE_ROWS = 5  # scope rows the token page offers at once; a token may hold up to 50


class TokenCreateForm(forms.Form):
    """Name, role, optional expiry date; for fine-grained tokens, scope rows posted as
    `scope-N-type`, `scope-N-name` and one `scope-N-perm` per ticked permission."""

    name = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"placeholder": "my-laptop"})
    )
    role = forms.ChoiceField(
        choices=[
            (AccessToken.Role.READ, "Read: download and clone, including private repos"),
            (AccessToken.Role.WRITE, "Write: also push, upload and create repos"),
            (AccessToken.Role.FINE_GRAINED, "Fine-grained: only what the scopes below allow"),
        ],
        initial=AccessToken.Role.READ,
        widget=forms.RadioSelect,
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires after (optional)",
        help_text="The token stops working at the end of this day (UTC).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_expires_on(self) -> datetime | None:
        day: date | None = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        if day < timezone.now().date():
            raise forms.ValidationError("Choose today or a later day.")
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)

    def scope_specs(self) -> list[ScopeSpec]:
        """The filled-in scope rows (a row without a name is ignored)."""
        specs = []
        for i in range(SCOPE_ROWS):
            name = (self.data.get(f"scope-{i}-name") or "").strip()
            if not name:
                continue
            specs.append(
                ScopeSpec(
                    type=(self.data.get(f"scope-{i}-type") or "").strip(),
                    name=name,
                    permissions=tuple(self.data.getlist(f"scope-{i}-perm")),
                )
            )
        return specs

    def scope_rows(self, prefill: dict[str, object] | None = None) -> list[dict[str, object]]:
        """The rows to render, keeping what was posted when the form comes back with errors;
        on a fresh form, `prefill` fills the first row (a token for an org, from its page)."""
        rows = []
        if prefill and not self.data:
            rows.append({"index": 0, **prefill})
        for i in range(len(rows), SCOPE_ROWS):
            rows.append(
                {
                    "index": i,
                    "type": self.data.get(f"scope-{i}-type", "model") if self.data else "model",
                    "name": self.data.get(f"scope-{i}-name", "") if self.data else "",
                    "perms": self.data.getlist(f"scope-{i}-perm") if self.data else [],
                }
            )
        return rows
