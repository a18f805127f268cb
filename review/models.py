"""Everything from sampling to export. Decisions and edits are append-only: nothing here is deleted."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from synth.models import Candidate, GenerationRun


class Verdict(models.TextChoices):
    ACCEPT = "accept", "Accept"
    EDIT = "edit", "Edit"
    REJECT = "reject", "Reject"


APPROVING_VERDICTS = (Verdict.ACCEPT, Verdict.EDIT)


class Preference(models.TextChoices):
    """A physician's choice on a preference pair, named by the candidate field holding the response.

    A pair is accepted (or edited: the edit applies to the preferred response) with `output`,
    `rejected_output` or `tie`; "both unacceptable" is a reject with `neither`.
    """

    OUTPUT = "output", "The judge's preferred response"
    REJECTED_OUTPUT = "rejected_output", "The judge's other response"
    TIE = "tie", "Tie"
    NEITHER = "neither", "Both unacceptable"


class RejectReason(models.TextChoices):
    FACTUALLY_WRONG = "factually_wrong", "Factually wrong"
    UNSAFE = "unsafe", "Unsafe"
    PHI = "phi", "Contains PHI"
    OFF_DOMAIN = "off_domain", "Off-domain"
    LOW_QUALITY = "low_quality", "Low quality"
    DUPLICATE = "duplicate", "Duplicate"
    OTHER = "other", "Other (say why)"


class Batch(models.Model):
    """The candidates of one run that passed the gate; a sample of them is reviewed."""

    run = models.OneToOneField(GenerationRun, on_delete=models.PROTECT, related_name="batch")
    sample_rate = models.FloatField()
    passed_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the data lead releases the unreviewed remainder of the batch (acceptance sampling);
    # released-but-unreviewed records are marked as such in every export.
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"Batch of run {self.run_id}"


class ReviewItem(models.Model):
    """A sampled candidate waiting for (or holding) physicians' verdicts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        DECIDED = "decided", "Decided"
        NEEDS_ADJUDICATION = "needs_adjudication", "Reviewers disagree"

    candidate = models.OneToOneField(Candidate, on_delete=models.PROTECT, related_name="review_item")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="items")
    required_reviews = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=30, choices=Status, default=Status.PENDING)
    final_verdict = models.CharField(max_length=10, choices=Verdict, blank=True)
    final_preference = models.CharField(max_length=20, choices=Preference, blank=True)
    final_revision = models.ForeignKey(
        "ItemRevision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        permissions = [
            ("review_item", "Can review items"),
            ("adjudicate_item", "Can settle items where reviewers disagree"),
        ]
        indexes = [models.Index(fields=["status", "id"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(required_reviews__gte=1), name="item_needs_a_review"),
        ]

    def __str__(self) -> str:
        return f"Item {self.pk}"

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.DECIDED and self.final_verdict in APPROVING_VERDICTS


class ItemRevision(models.Model):
    """A physician's edited version of an item; the original candidate text is never changed."""

    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()  # 1, 2, ...; the candidate itself is version 0
    based_on = models.PositiveIntegerField()  # the version the author was looking at
    instruction = models.TextField()
    input = models.TextField(blank=True)
    output = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "number"]
        constraints = [models.UniqueConstraint(fields=["item", "number"], name="one_revision_per_number")]

    def __str__(self) -> str:
        return f"Item {self.item_id} v{self.number}"


class Assignment(models.Model):
    """A reviewer's claim on an item: a lease that expires if they walk away."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Claimed"
        SUBMITTED = "submitted", "Submitted"

    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="assignments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)
    claimed_at = models.DateTimeField(auto_now_add=True)
    lease_expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            # A reviewer never gets the same item twice.
            models.UniqueConstraint(fields=["item", "reviewer"], name="one_assignment_per_reviewer"),
        ]
        indexes = [models.Index(fields=["reviewer", "status"])]

    def __str__(self) -> str:
        return f"Item {self.item_id} → {self.reviewer}"


class Decision(models.Model):
    """One reviewer's verdict on one item. One per assignment: a retried submit stores nothing new."""

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="decision")
    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions")
    verdict = models.CharField(max_length=10, choices=Verdict)
    preference = models.CharField(max_length=20, choices=Preference, blank=True)  # pairs only
    reasons = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    revision = models.ForeignKey(ItemRevision, null=True, blank=True, on_delete=models.PROTECT)
    seconds_spent = models.PositiveIntegerField(null=True, blank=True)  # from claim (or page view) to submit
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(verdict="edit") | models.Q(revision__isnull=False),
                name="edit_has_revision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.verdict} item {self.item_id}"


class Adjudication(models.Model):
    """A senior physician's final verdict on an item whose reviewers disagreed."""

    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="adjudications")
    adjudicator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=10, choices=Verdict)
    preference = models.CharField(max_length=20, choices=Preference, blank=True)  # pairs only
    revision = models.ForeignKey(ItemRevision, null=True, blank=True, on_delete=models.PROTECT)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Adjudication of item {self.item_id}"


class Export(models.Model):
    class Kind(models.TextChoices):
        SFT = "sft", "SFT (conversational messages)"

    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON Lines"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind, default=Kind.SFT)
    format = models.CharField(max_length=10, choices=Format, default=Format.JSONL)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    error = models.TextField(blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    record_count = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("export_data", "Can create and download exports"),
            ("view_dashboard", "Can see the pipeline dashboard"),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.kind}, {self.format})"
