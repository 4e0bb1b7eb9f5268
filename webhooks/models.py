"""Webhook subscriptions, the deliveries they are owed, and a log of every attempt.

A delivery is a row before it is a request: fan-out stores it, a worker claims it with a
conditional UPDATE and a lease, and the retry schedule is its `next_attempt_at` column
(never a Celery countdown, SECURITY.md 8).
"""

from __future__ import annotations

import secrets

from django.db import models

from orgs.models import Organization, User


def new_public_id() -> str:
    """24 hex characters, the shape of the public hub's webhook ids (a MongoDB ObjectId)."""
    return secrets.token_hex(12)


def new_message_id() -> str:
    """The Standard Webhooks `webhook-id`: one per delivery, the same on every retry."""
    return f"msg_{secrets.token_hex(16)}"


class WatchedType(models.TextChoices):
    USER = "user"
    ORG = "org"
    MODEL = "model"
    DATASET = "dataset"


class Domain(models.TextChoices):
    REPO = "repo"
    DISCUSSION = "discussion"


class Webhook(models.Model):
    """A subscription, owned by one user (`owner`) or by one organization (`org`).

    An organization's webhook belongs to the org, not to the admin who created it: every
    admin of the org manages it, one who loses the role loses it, and it hears only what the
    organization itself may read (public repos and its own).
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    org = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=2048)
    # Returned by the API (the public hub does the same) and used as the HMAC key.
    secret = models.CharField(max_length=200, blank=True, default="")
    # Also send the secret in clear as X-Webhook-Secret, for receivers written for the public hub.
    send_secret_header = models.BooleanField(default=False)
    domains = models.JSONField(default=list)
    disabled = models.BooleanField(default=False)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Events whose delivery ended in failure since the last success; auto-disable threshold.
    consecutive_failures = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner__isnull=False, org__isnull=True)
                | models.Q(owner__isnull=True, org__isnull=False),
                name="webhook_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"webhook {self.public_id} -> {self.url}"

    @property
    def owner_name(self) -> str:
        """The user or organization the webhook belongs to (needs `owner`/`org__namespace`)."""
        return self.org.namespace.name if self.org_id else self.owner.username  # type: ignore[union-attr]


class WatchedItem(models.Model):
    """One `watched` entry; a row (not JSON) so fan-out finds subscribers with an index."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="watched")
    type = models.CharField(max_length=16, choices=WatchedType.choices)
    name = models.CharField(max_length=200)  # as shown: a namespace, or `ns/name` for repos
    name_lower = models.CharField(max_length=200, db_index=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint("webhook", "type", "name_lower", name="webhook_watched_unique")
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}"


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # final: retries exhausted, or an answer that retrying cannot change
    CANCELLED = "cancelled"  # the webhook was disabled before this could be sent


class Delivery(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    # The outbox row this delivery stems from: fan-out run twice creates nothing new.
    event_key = models.CharField(max_length=64, null=True, blank=True)
    is_test = models.BooleanField(default=False)
    action = models.CharField(max_length=16)
    scope = models.CharField(max_length=32)
    repo_name = models.CharField(max_length=200, blank=True, default="")
    # The exact bytes signed and sent; every retry sends the same body.
    body = models.TextField()
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.IntegerField(default=0)  # all attempts; numbers the log
    round_attempts = models.IntegerField(default=0)  # since the last (re)delivery request
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    # Last time a task was put on the queue for it; the sweep re-enqueues only stale ones.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_status = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint("webhook", "event_key", name="delivery_webhook_event_unique")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"delivery {self.message_id} ({self.state})"


class DeliveryAttempt(models.Model):
    """One HTTP request and what came back (or why none did)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.IntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.IntegerField(default=0)
    request_headers = models.JSONField(default=dict)  # X-Webhook-Secret stored masked
    response_status = models.IntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True, default="")  # capped when read
    error = models.CharField(max_length=500, blank=True, default="")
    outcome = models.CharField(max_length=16)  # succeeded | retry | failed | stale

    class Meta:
        ordering = ["-number", "-pk"]

    def __str__(self) -> str:
        return f"attempt {self.number} ({self.outcome})"


class FanOut(models.Model):
    """A repo event the webhooks still owe a fan-out: written before the fan-out task is
    queued and marked done by it, so a broker that loses the task (a Redis restart without
    persistence) loses nothing; the delivery sweep queues it again."""

    key = models.CharField(max_length=64, unique=True)  # dispatch.event_key()
    kind = models.CharField(max_length=32)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["done_at", "enqueued_at"])]

    def __str__(self) -> str:
        return f"fan-out {self.key} ({'done' if self.done_at else 'pending'})"
