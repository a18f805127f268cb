"""Everything from sampling to export. Decisions and edits are append-only: nothing here is deleted."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from review.exports.formats import format_choices
from synth.models import Candidate, GenerationRun, technique_choices


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
    acceptance_threshold = models.FloatField(default=0.9)
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
        permissions = [("release_batch", "Can release a batch's unreviewed remainder")]

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
    # A hint for the claim, kept by review.queue under the item's row lock: when the item may next have
    # a free reviewer slot (the earliest lease that could expire). Empty or past means "look at it".
    # The claim re-counts live assignments before taking a slot, so a stale hint costs a look, never
    # a double assignment; with it the claim skips items in other reviewers' hands without subqueries.
    available_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        permissions = [
            ("review_item", "Can review items"),
            ("adjudicate_item", "Can settle items where reviewers disagree"),
        ]
        indexes = [
            models.Index(fields=["status", "id"]),
            # The claim walks pending items in id order: a small index of only those keeps it fast
            # however many decided items pile up.
            models.Index(fields=["id"], condition=models.Q(status="pending"), name="review_item_pending"),
            # "Left for you" looks up the pending items full for now (a hint in the future): a handful.
            models.Index(
                fields=["available_at"], condition=models.Q(status="pending"), name="review_item_pending_hint"
            ),
        ]
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
    # The PHI screen's findings on the revision's whole text (instruction, input, response, and a pair's
    # other response): an edit releases a held-back candidate only when this is empty.
    phi_findings = models.JSONField(default=list, blank=True)
    has_phi = models.BooleanField(default=False)
    # The PHI screen that found none of its texts holds PHI (as synth's Candidate.phi_free_under).
    phi_free_under = models.CharField(max_length=16, blank=True)
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
        # The reviewer passed the item on (not their specialty, unsure): it goes to other reviewers and
        # never back to them (the assignment stays, so the claim never offers it to them again).
        SKIPPED = "skipped", "Skipped"
        # The reviewer asked the senior physicians a question: the item waits for the answer, its slot
        # kept for this reviewer, who then decides.
        DISCUSSING = "discussing", "Flagged for discussion"

    class SkipReason(models.TextChoices):
        NOT_MY_SPECIALTY = "not_my_specialty", "Not my specialty"
        UNSURE = "unsure", "I am unsure"

    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="assignments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)
    claimed_at = models.DateTimeField(auto_now_add=True)
    lease_expires_at = models.DateTimeField()
    # When the item was first put in front of the reviewer (it may be claimed ahead, prefetched):
    # the time spent on it counts from here.
    shown_at = models.DateTimeField(null=True, blank=True)
    # Preference pairs: True when the judge's preferred response is shown second (as B).
    pair_swapped = models.BooleanField(default=False)
    skip_reason = models.CharField(max_length=20, choices=SkipReason, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A reviewer never gets the same item twice.
            models.UniqueConstraint(fields=["item", "reviewer"], name="one_assignment_per_reviewer"),
        ]
        indexes = [
            models.Index(fields=["reviewer", "status"]),
            models.Index(fields=["item", "status", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"Item {self.item_id} → {self.reviewer}"


class StandingDecisions(models.Manager):
    """Decisions that stand: one its reviewer undid, or revised (superseded by a newer decision), stays
    in `Decision.history`, not here."""

    def get_queryset(self):
        return super().get_queryset().filter(undone_at__isnull=True, superseded_at__isnull=True)


class Decision(models.Model):
    """One reviewer's verdict on one item. One standing decision per assignment: a retried submit
    stores nothing new; an undone decision stays on record (undone_at) and the reviewer decides again."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="decisions")
    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions")
    verdict = models.CharField(max_length=10, choices=Verdict)
    preference = models.CharField(max_length=20, choices=Preference, blank=True)  # pairs only
    reasons = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    revision = models.ForeignKey(ItemRevision, null=True, blank=True, on_delete=models.PROTECT)
    # SHA-256 of the text an approving verdict stands for (review.settling.text_digest: its edit, or the
    # candidate's text with the chosen response); empty for a rejection. Settling and the agreement
    # report compare approving reviewers' texts by it.
    text_digest = models.CharField(max_length=64, blank=True)
    seconds_spent = models.PositiveIntegerField(null=True, blank=True)  # from claim (or page view) to submit
    # Submitted after the lease expired and another reviewer had taken the item meanwhile: kept as an
    # extra verdict (agreement statistics see it) but it does not settle the item.
    extra = models.BooleanField(default=False)
    undone_at = models.DateTimeField(null=True, blank=True)
    # A revision (from the reviewer's own list of decisions) is a new decision naming the one it
    # replaces; the old one keeps its verdict and is marked superseded. Both stay on record.
    # (No reverse accessor: the audit trail would read it on every decision it records.)
    supersedes = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    superseded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StandingDecisions()
    history = models.Manager()  # noqa: DJ012 (every decision ever made, undone ones included)

    class Meta:
        ordering = ["created_at"]
        base_manager_name = "history"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(verdict="edit") | models.Q(revision__isnull=False),
                name="edit_has_revision",
            ),
            models.UniqueConstraint(
                fields=["assignment"],
                condition=models.Q(undone_at__isnull=True, superseded_at__isnull=True),
                name="one_standing_decision_per_assignment",
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


class Discussion(models.Model):
    """A reviewer's question to the senior physicians about an item they hold, and the answer.

    While it is open the reviewer's assignment waits (Assignment.Status.DISCUSSING); once answered, the
    reviewer reads the answer and decides the item themselves.
    """

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="discussions")
    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="discussions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    question = models.TextField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # One open question per assignment: a retried "flag" stores one.
            models.UniqueConstraint(
                fields=["assignment"],
                condition=models.Q(answered_at__isnull=True),
                name="one_open_discussion_per_assignment",
            ),
        ]

    def __str__(self) -> str:
        return f"Discussion of item {self.item_id}"


class ReviewDraft(models.Model):
    """A reviewer's unsent work on an item they hold, autosaved so a closed tab loses nothing."""

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="draft")
    panel = models.CharField(max_length=10, blank=True)  # "edit" or "reject": what was open
    instruction = models.TextField(blank=True)
    input = models.TextField(blank=True)
    output = models.TextField(blank=True)
    edited = models.BooleanField(default=False)  # the edit fields hold the reviewer's text
    reasons = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    preference = models.CharField(max_length=20, choices=Preference, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Draft on {self.assignment}"


class ReviewerGuideline(models.Model):
    """Guidelines for reviewers, written by the administrator; the page shows the newest."""

    title = models.CharField(max_length=200, default="Reviewer guidelines")
    body = models.TextField(help_text="Plain text; blank lines separate paragraphs.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title


class SamplingPolicy(models.Model):
    """How much of a run's output physicians review: set by the administrator per run, or the default."""

    name = models.CharField(max_length=100)
    run = models.OneToOneField(
        GenerationRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sampling_policy",
        help_text="Leave empty for the default policy (the newest such), used by runs without one of their own.",
    )
    rate = models.FloatField(
        default=0.1,
        help_text="Share of each stratum (domain and technique) reviewed, 0–1, unless a rule says otherwise.",
    )
    min_per_stratum = models.PositiveIntegerField(
        default=1, help_text="At least this many per stratum (all of them if it has fewer)."
    )
    overlap_fraction = models.FloatField(
        default=0.0, help_text="Share of sampled items reviewed independently by several physicians, 0–1."
    )
    overlap_reviewers = models.PositiveSmallIntegerField(
        default=2, help_text="How many physicians review an overlap item."
    )
    acceptance_threshold = models.FloatField(
        default=0.9,
        help_text="A batch may be released when the lower Wilson bound of its acceptance rate reaches this.",
    )

    class Meta:
        verbose_name_plural = "sampling policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate__gte=0, rate__lte=1)
                & models.Q(overlap_fraction__gte=0, overlap_fraction__lte=1),
                name="policy_rates_are_shares",
            ),
            models.CheckConstraint(condition=models.Q(overlap_reviewers__gte=2), name="overlap_needs_two"),
        ]

    def __str__(self) -> str:
        return self.name if self.run_id is None else f"{self.name} (run {self.run_id})"


class SamplingRule(models.Model):
    """A policy's own rate for one domain, one technique, or one domain-and-technique stratum."""

    policy = models.ForeignKey(SamplingPolicy, on_delete=models.CASCADE, related_name="rules")
    domain = models.ForeignKey("synth.Domain", null=True, blank=True, on_delete=models.CASCADE)
    technique = models.CharField(max_length=30, choices=technique_choices, blank=True)
    rate = models.FloatField(help_text="0–1")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gte=0, rate__lte=1), name="rule_rate_is_a_share"),
        ]

    def __str__(self) -> str:
        return f"{self.domain or 'any domain'} × {self.technique or 'any technique'}: {self.rate:.0%}"


class Export(models.Model):
    """One export: its settings (filters included), progress while it is built, and what it produced."""

    class Kind(models.TextChoices):
        SFT = "sft", "SFT (supervised fine-tuning)"
        DPO = "dpo", "DPO (preference pairs)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        # Nothing to write (no record matched, or the last gate withheld them all): no folder, no download.
        EMPTY = "empty", "Empty"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind, default=Kind.SFT)
    # Choices come from the registry (review/exports/formats/): a new format needs no migration.
    format = models.CharField(max_length=10, choices=format_choices, default="jsonl")
    # Every setting of the export (style, filters, split, seed), as review.exports.settings parses them.
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    error = models.TextField(blank=True)  # why it failed (what to fix), or why it is empty
    file_name = models.CharField(max_length=200, blank=True)  # the export's folder under EXPORT_ROOT
    record_count = models.PositiveIntegerField(default=0)
    # Progress while building: records written out of the records the filters select.
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # The worker building it extends the lease as it writes; a RUNNING export whose lease ran out lost
    # its worker and is built again (attempts counts the builds; only the latest may finish it).
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)  # of manifest.json, which holds each file's
    manifest = models.JSONField(default=dict, blank=True)
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
