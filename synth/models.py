"""Everything up to a stored, quality-checked candidate: domains, seeds, teachers, runs, candidates."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from synth.plugins import PROVIDERS, TECHNIQUES


def validate_base_url(value: str) -> None:
    """Parsed exactly as the SDK clients will parse it, and its host checked (synth/teachers/endpoint.py)."""
    from synth.teachers.endpoint import UnsafeEndpoint, check_endpoint

    try:
        check_endpoint(value)
    except UnsafeEndpoint as error:
        raise ValidationError(str(error)) from None


class Domain(models.Model):
    """A clinical domain that generation is steered toward and coverage is measured against."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    icd10_chapter = models.CharField(
        "ICD-10-CM chapter",
        max_length=2,
        blank=True,
        validators=[RegexValidator(r"^([1-9]|1[0-9]|2[0-2])$", "Give an ICD-10-CM chapter number, 1 to 22.")],
        help_text="Chapter number, e.g. 9 for diseases of the circulatory system.",
    )
    high_risk = models.BooleanField(default=False, help_text="High-risk domains are reviewed in full.")
    target_share = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of kept candidates this domain should reach, 0 to 1 (e.g. 0.1 for 10 %).",
    )
    keywords = models.TextField(
        blank=True,
        help_text="Comma-separated words that place a candidate in this domain whatever its chapter, "
        "e.g. child, infant, pediatric (for domains such as pediatrics or rare diseases).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SeedTask(models.Model):
    """A human-written example task that generation starts from."""

    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="seed_tasks")
    instruction = models.TextField()
    input = models.TextField(blank=True)
    output = models.TextField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain", "id"]

    def __str__(self) -> str:
        return self.instruction[:80]


def teacher_providers() -> list[tuple[str, str]]:
    """The registered teacher providers (synth/teachers/): a callable, so adding one needs no migration."""
    return [(name, provider.label) for name, provider in PROVIDERS.items()]


class Teacher(models.Model):
    """A configured teacher model. The API key is never stored: only the name of its variable."""

    class Provider(models.TextChoices):
        """The built-in providers, for code that names one; the choices are every registered provider."""

        OFFLINE = "offline", "Offline (built in, no language model)"
        OPENAI = "openai", "OpenAI or OpenAI-compatible"
        ANTHROPIC = "anthropic", "Anthropic"

    name = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=20, choices=teacher_providers, default=Provider.OFFLINE)
    model = models.CharField(
        max_length=200, blank=True, help_text="e.g. gpt-4.1, claude-sonnet-4-5, llama3.1"
    )
    # A CharField: URLField refuses the bare host names GPU servers often have (http://gpu-host:8000/v1).
    base_url = models.CharField(
        max_length=300,
        blank=True,
        validators=[validate_base_url],
        help_text="For OpenAI-compatible servers, e.g. http://localhost:8000/v1 (vLLM).",
    )
    api_key_env = models.CharField(
        "API key variable",
        max_length=100,
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Z][A-Z0-9_]*_API_KEY$",
                "Give the name of an environment variable ending in _API_KEY, e.g. OPENAI_API_KEY.",
            )
        ],
        help_text="Name of the environment variable holding the key. The key itself is never stored.",
    )
    temperature = models.FloatField(default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)])
    max_tokens = models.PositiveIntegerField(default=1024, validators=[MinValueValidator(1)])
    concurrency = models.PositiveIntegerField(
        default=4, validators=[MinValueValidator(1)], help_text="Calls in flight at once, per worker."
    )
    timeout_seconds = models.FloatField(
        "timeout (seconds)", default=60.0, validators=[MinValueValidator(1.0)], help_text="Per call."
    )
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    tokens_per_minute = models.PositiveIntegerField(null=True, blank=True)
    price_input_per_mtok = models.DecimalField(
        "price per million input tokens", max_digits=10, decimal_places=4, default=Decimal(0)
    )
    price_output_per_mtok = models.DecimalField(
        "price per million output tokens", max_digits=10, decimal_places=4, default=Decimal(0)
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"


def technique_choices() -> list[tuple[str, str]]:
    """Every registered technique (synth/techniques/), so that adding one needs no migration."""
    return [(name, technique.label) for name, technique in TECHNIQUES.items()]


class GenerationRun(models.Model):
    # The techniques as constants, for code and tests that name one (tests/synth/quality/conftest.py).
    # Choices come from the registry (technique_choices): a new technique need not be added here.
    class Technique(models.TextChoices):
        SELF_INSTRUCT = "self_instruct", "Self-Instruct"
        EVOL_INSTRUCT = "evol_instruct", "Evol-Instruct"
        DISTILLATION = "distillation", "Distillation"
        BACKTRANSLATION = "backtranslation", "Backtranslation"
        PREFERENCE = "preference", "Preference pairs"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    technique = models.CharField(max_length=30, choices=technique_choices)
    teacher = models.ForeignKey(Teacher, on_delete=models.PROTECT, related_name="runs")
    domains = models.ManyToManyField(Domain, blank=True, help_text="None chosen means every domain.")
    requested_count = models.PositiveIntegerField()
    sample_rate = models.FloatField(help_text="Share of candidates that pass the gate sent to review.")
    options = models.JSONField(default=dict, blank=True)
    use_batch_api = models.BooleanField(
        "use the provider's batch API",
        default=False,
        help_text="OpenAI Batch or Anthropic Message Batches: half the price, results within a day.",
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.QUEUED)
    error = models.TextField(blank=True)
    # Why the run made fewer candidates than asked, when its technique ran out of material
    # (e.g. "3 documents, one instruction each"), as the technique said it.
    stop_reason = models.TextField(blank=True)
    # The review-sampling rule that was applied to the run, each time one was (written by review when
    # it samples the run): {"policy": name or "", "rate": ..., "rules": [...], ...}.
    sampling_rules = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Progress, updated as the run goes, so the run page can show it live.
    generated_count = models.PositiveIntegerField(default=0)
    discarded_count = models.PositiveIntegerField(default=0)  # dropped by the technique's own rules
    filtered_count = models.PositiveIntegerField(default=0)
    sampled_count = models.PositiveIntegerField(default=0)
    steps_done = models.PositiveIntegerField(default=0)  # a resumed run starts at the next step
    teacher_calls = models.PositiveIntegerField(default=0)
    failed_calls = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(0))

    class Meta:
        ordering = ["-created_at"]
        permissions = [("launch_run", "Can launch and cancel generation runs")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sample_rate__gte=0, sample_rate__lte=1), name="run_sample_rate_0_1"
            ),
            models.CheckConstraint(condition=models.Q(requested_count__gte=1), name="run_requests_something"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} · {self.get_technique_display()} · {self.teacher.name}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def progress_percent(self) -> int:
        if not self.requested_count:
            return 0
        return min(100, round(100 * self.generated_count / self.requested_count))


class Candidate(models.Model):
    """One generated record, with where it came from and what the quality gate said."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting the quality gate"
        PASSED = "passed", "Passed the quality gate"
        FILTERED = "filtered", "Filtered by the quality gate"

    run = models.ForeignKey(GenerationRun, on_delete=models.PROTECT, related_name="candidates")
    # Position within the run: a resumed run continues from the last one, never repeats one.
    sequence = models.PositiveIntegerField()
    domain = models.ForeignKey(Domain, null=True, on_delete=models.PROTECT, related_name="candidates")
    technique = models.CharField(max_length=30, choices=technique_choices)
    instruction = models.TextField()
    input = models.TextField(blank=True)
    output = models.TextField()
    # Preference pairs only: the response the judge ranked lower; `output` holds the higher-ranked one.
    rejected_output = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING)
    # Passed the gate but flagged (e.g. PHI findings): shown to reviewers with the flag, and kept out
    # of exports unless a physician's edit replaced the text.
    held_back = models.BooleanField(default=False)
    # The PHI screen (synth.quality.phi.SCREEN_VERSION) that found none of its texts holds PHI, as the
    # gate stamped it; blank: PHI found, or not screened. The export's last gate screens again unless
    # this is the current screen.
    phi_free_under = models.CharField(max_length=16, blank=True)
    filter_reason = models.CharField(max_length=50, blank=True)
    content_hash = models.CharField(max_length=64, db_index=True)
    teacher_provider = models.CharField(max_length=20, choices=teacher_providers)
    teacher_model = models.CharField(max_length=200)
    # Prompt template and version, rendered prompt, raw reply, tokens, latency.
    provenance = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [models.UniqueConstraint(fields=["run", "sequence"], name="candidate_unique_sequence")]
        indexes = [models.Index(fields=["status", "content_hash"])]

    def __str__(self) -> str:
        return f"Candidate {self.pk}: {self.instruction[:60]}"

    @property
    def is_pair(self) -> bool:
        return bool(self.rejected_output)

    @property
    def teacher_label(self) -> str:
        """How the source is shown to people: offline output is never passed off as a model's."""
        if self.teacher_provider == Teacher.Provider.OFFLINE:
            return "offline (built-in, not a language model)"
        return f"{self.teacher_provider} · {self.teacher_model}"


class QuerySet(models.Model):
    """Questions an administrator uploaded or typed in, for Distillation runs to answer."""

    name = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=200, blank=True, help_text="Uploaded file name, if any.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Query(models.Model):
    query_set = models.ForeignKey(QuerySet, on_delete=models.CASCADE, related_name="queries")
    line = models.PositiveIntegerField(help_text="Line (row) in the uploaded file.")
    text = models.TextField()
    input = models.TextField(blank=True)
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.PROTECT)
    # PHI findings from the screen on import: a query with any is held back and never sent to a teacher.
    held_back = models.BooleanField(default=False)
    phi_findings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["query_set", "line"]
        verbose_name_plural = "queries"

    def __str__(self) -> str:
        return self.text[:80]


class SourceDocument(models.Model):
    """A de-identified document or answer uploaded for Backtranslation; PHI-screened on upload."""

    title = models.CharField(max_length=200)
    text = models.TextField()
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.PROTECT)
    # PHI findings from the screen: a document with any is held back and never sent to a teacher.
    held_back = models.BooleanField(default=False)
    phi_findings = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class RunChunk(models.Model):
    """A slice of a run's candidates that one worker generates; chunks of a run run in parallel."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting for a provider batch"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_sequence = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING)
    # Step numbers whose records are stored: a resumed chunk re-runs only the others.
    steps_done = models.JSONField(default=list, blank=True)
    claims = models.PositiveIntegerField(default=0)  # times a worker took it (more than 1: resumed)
    lease_until = models.DateTimeField(null=True, blank=True)  # extended while a worker is alive
    # Attempts in a row that ended without finishing the chunk (an error, a lost worker); back to 0
    # when one ends normally. Past GENERATION_CHUNK_MAX_ATTEMPTS the chunk fails its run.
    unfinished_attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="chunk_unique_index")]

    def __str__(self) -> str:
        return f"Run {self.run_id} chunk {self.index}"


class ProviderBatch(models.Model):
    """A set of a chunk's calls sent as one OpenAI Batch or Anthropic Message Batch (synth/batches.py)."""

    class Status(models.TextChoices):
        PREPARING = "preparing", "Being submitted"
        SUBMITTED = "submitted", "Submitted, waiting for results"
        COLLECTED = "collected", "Results collected"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.PREPARING, Status.SUBMITTED)

    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="batches")
    chunk = models.ForeignKey(RunChunk, on_delete=models.CASCADE, related_name="batches")
    teacher = models.ForeignKey(Teacher, on_delete=models.PROTECT, related_name="batches")
    status = models.CharField(max_length=20, choices=Status, default=Status.PREPARING)
    # The provider's ids, each saved the moment the provider returns it, before anything else happens.
    input_file_id = models.CharField(max_length=200, blank=True)  # OpenAI only
    provider_batch_id = models.CharField(max_length=200, blank=True)
    provider_status = models.CharField(max_length=50, blank=True)
    # {custom_id: {"key", "messages", "template", "schema", "temperature", "max_tokens", "seed"}}
    requests = models.JSONField(default=dict)
    request_count = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)  # the provider's request counts, last seen
    submit_attempts = models.PositiveIntegerField(default=0)
    polls = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)  # also the claim of the task checking it
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        verbose_name_plural = "provider batches"

    def __str__(self) -> str:
        return f"Run {self.run_id} chunk batch {self.provider_batch_id or self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class TeacherCall(models.Model):
    """One request sent to a teacher: tokens, cost, latency, and what went wrong if it failed."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(GenerationRun, null=True, on_delete=models.CASCADE, related_name="calls")
    key = models.CharField(max_length=200, help_text="Names the call within its run, for resuming.")
    attempt = models.PositiveIntegerField(default=1)
    provider = models.CharField(max_length=20, choices=teacher_providers)
    model = models.CharField(max_length=200)
    template = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status)
    reason = models.CharField(max_length=50, blank=True)  # refusal, cut_off, unparseable, rate_limited, ...
    message = models.TextField(blank=True)
    request = models.JSONField(default=list)  # the messages sent
    response_text = models.TextField(blank=True)  # kept for failed and unparseable replies too
    data = models.JSONField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(0))
    latency_ms = models.PositiveIntegerField(default=0)
    # Set when the call went through a provider batch; its cost is then at the batch discount.
    batch = models.ForeignKey(
        ProviderBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            # One paid, usable answer per call: a resumed run reuses it instead of asking again.
            models.UniqueConstraint(
                fields=["run", "key"], condition=models.Q(status="ok"), name="one_answer_per_call"
            ),
            # A batch's results are collected once, however often the collection is resumed.
            models.UniqueConstraint(fields=["batch", "key"], name="one_result_per_batch_request"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class DiscardedText(models.Model):
    """Something a technique's own rules dropped before it became a candidate, and why."""

    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="discards")
    reason = models.CharField(max_length=50)  # e.g. rouge_l_novelty, needs_media
    text = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.reason}: {self.text[:60]}"


class QualityResult(models.Model):
    """One quality check's verdict on one candidate, with its evidence."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="quality_results")
    check_name = models.CharField(max_length=50)
    passed = models.BooleanField()
    # Passed, but with something a reviewer must see (PHI findings, an unverified code or drug).
    flagged = models.BooleanField(default=False)
    # A measured value where the check has one (ROUGE-L novelty, near-duplicate similarity).
    score = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["candidate", "check_name"], name="one_result_per_check")
        ]

    def __str__(self) -> str:
        verdict = "fail" if not self.passed else "flagged" if self.flagged else "pass"
        return f"{self.check_name}: {verdict}"


class MinHashSignature(models.Model):
    """A persisted MinHash signature of one corpus text, so the near-duplicate index can be rebuilt.

    `scheme` names everything the values depend on (datasketch's permutation scheme and seed, the
    number of permutations, the shingles and their hash): signatures of different schemes are never
    compared, and changing a dedup setting simply makes new ones.
    """

    class Kind(models.TextChoices):
        SEED_TASK = "seed_task", "Seed task"
        CANDIDATE = "candidate", "Candidate"
        REVISION = "revision", "Approved revision"
        PAIR = "pair", "Preference pair"

    kind = models.CharField(max_length=20, choices=Kind)
    object_id = models.PositiveBigIntegerField()
    scheme = models.CharField(max_length=100)
    hashvalues = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scheme", "kind", "object_id"], name="one_signature_per_text")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} ({self.scheme})"


class KnowledgeFact(models.Model):
    """An admin-curated fact the gate checks candidates against (dose ranges, contraindications)."""

    class Kind(models.TextChoices):
        DOSE_RANGE = "dose_range", "Dose range (one dose)"
        MAX_DAILY_DOSE = "max_daily_dose", "Maximum daily dose"
        CONTRAINDICATION = "contraindication", "Contraindication"

    drug = models.CharField(max_length=200, help_text="As it is written in text, e.g. metformin.")
    kind = models.CharField(max_length=30, choices=Kind)
    low = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    high = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True, help_text="mg, mcg, g or units")
    condition = models.CharField(
        max_length=200,
        blank=True,
        help_text="For a contraindication: the condition, e.g. severe renal impairment.",
    )
    source = models.CharField(
        max_length=300, help_text="Where the fact comes from, e.g. a label or guideline."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["drug", "kind"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="contraindication") | ~models.Q(condition=""),
                name="fact_contraindication_names_condition",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="contraindication")
                | (~models.Q(unit="") & (models.Q(low__isnull=False) | models.Q(high__isnull=False))),
                name="fact_dose_has_unit_and_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug}: {self.get_kind_display()}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.kind == self.Kind.CONTRAINDICATION and not self.condition:
            raise ValidationError({"condition": "Name the condition in which the drug is contraindicated."})
        if self.kind != self.Kind.CONTRAINDICATION:
            if not self.unit:
                raise ValidationError({"unit": "Give the unit of the dose, e.g. mg."})
            if self.low is None and self.high is None:
                raise ValidationError({"high": "Give at least the highest dose."})
            if self.low is not None and self.high is not None and self.low > self.high:
                raise ValidationError({"low": "The lowest dose is above the highest."})
