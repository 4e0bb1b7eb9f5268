"""The webhook form of the settings pages. The services validate again (URL safety,
watched items, secret); their errors are shown on the form."""

from __future__ import annotations

from typing import Any

from django import forms

from webhooks.models import Domain, Webhook

WATCHED_HELP = "One per line: user:NAME, org:NAME, model:NAMESPACE/NAME or dataset:NAMESPACE/NAME."


class WebhookForm(forms.Form):
    url = forms.CharField(
        max_length=2048,
        label="Target URL",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/hub"}),
    )
    watched = forms.CharField(
        label="Watched users, organizations and repos",
        help_text=WATCHED_HELP,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
    )
    domains = forms.MultipleChoiceField(
        choices=Domain.choices,
        initial=list(Domain.values),
        widget=forms.CheckboxSelectMultiple,
        help_text="repo: creation, deletion, pushes, settings. discussion: discussions and PRs.",
    )
    secret = forms.CharField(
        max_length=200,
        required=False,
        strip=False,
        help_text=(
            "Signs every request (Standard Webhooks webhook-signature). A whsec_ secret is "
            "used as its base64-decoded bytes."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    send_secret_header = forms.BooleanField(
        required=False,
        label="Also send the secret in an X-Webhook-Secret header",
        help_text="For receivers written for the public hub, which check that header.",
    )

    def clean_watched(self) -> list[dict[str, str]]:
        items = []
        for line in self.cleaned_data["watched"].splitlines():
            line = line.strip()
            if not line:
                continue
            kind, sep, name = line.partition(":")
            if not sep or not name.strip():
                raise forms.ValidationError(f"{line!r} is not TYPE:NAME. {WATCHED_HELP}")
            items.append({"type": kind.strip().lower(), "name": name.strip()})
        if not items:
            raise forms.ValidationError("Watch at least one user, organization or repo.")
        return items

    @staticmethod
    def initial_for(webhook: Webhook) -> dict[str, Any]:
        return {
            "url": webhook.url,
            "watched": "\n".join(f"{w.type}:{w.name}" for w in webhook.watched.all()),
            "domains": list(webhook.domains),
            "secret": webhook.secret,
            "send_secret_header": webhook.send_secret_header,
        }
