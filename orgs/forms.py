"""Account forms. Field checks call the same validators as the services, so a bad name or a
weak password is reported on its field; the service still enforces them on its own."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password

from common.errors import BadRequestError
from orgs.models import AccessToken
from orgs.names import validate_namespace_name


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


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"placeholder": "my-laptop"})
    )
    role = forms.ChoiceField(
        choices=[
            (AccessToken.Role.READ, "Read: download and clone, including private repos"),
            (AccessToken.Role.WRITE, "Write: also push, upload and create repos"),
        ],
        initial=AccessToken.Role.READ,
        widget=forms.RadioSelect,
    )
