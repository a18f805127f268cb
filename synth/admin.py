from django.contrib import admin

from core.admin import ReadOnlyAdmin
from synth.models import (
    Candidate,
    DiscardedText,
    Domain,
    GenerationRun,
    KnowledgeFact,
    ProviderBatch,
    QualityResult,
    Query,
    QuerySet,
    RunChunk,
    SeedTask,
    SourceDocument,
    Teacher,
    TeacherCall,
)
from synth.quality.regate import regate


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "icd10_chapter", "high_risk", "target_share"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(SeedTask)
class SeedTaskAdmin(admin.ModelAdmin):
    list_display = ["instruction", "domain", "is_active"]
    list_filter = ["domain", "is_active"]
    search_fields = ["instruction"]


@admin.register(Teacher)
class TeacherAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "model", "base_url", "api_key_env"]
    fieldsets = [
        (None, {"fields": ["name", "provider", "model", "base_url", "api_key_env"]}),
        ("Sampling", {"fields": ["temperature", "max_tokens"]}),
        (
            "Limits",
            {"fields": ["concurrency", "requests_per_minute", "tokens_per_minute", "timeout_seconds"]},
        ),
        ("Prices (USD)", {"fields": ["price_input_per_mtok", "price_output_per_mtok"]}),
    ]


class QualityResultInline(admin.TabularInline):
    model = QualityResult
    extra = 0
    can_delete = False
    readonly_fields = ["check_name", "passed", "flagged", "score", "reason", "evidence"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GenerationRun)
class GenerationRunAdmin(ReadOnlyAdmin):
    change_list_template = "admin/synth/generationrun/change_list.html"
    list_display = [
        "pk",
        "technique",
        "teacher",
        "status",
        "generated_count",
        "filtered_count",
        "sampled_count",
        "created_at",
    ]
    list_filter = ["status", "technique"]


@admin.register(Candidate)
class CandidateAdmin(ReadOnlyAdmin):
    list_display = ["pk", "run", "domain", "status", "filter_reason", "held_back", "instruction"]
    list_filter = ["status", "held_back", "technique", "domain"]
    search_fields = ["instruction"]
    inlines = [QualityResultInline]
    actions = ["regate_selected"]

    @admin.action(description="Re-run the quality gate on the selected candidates", permissions=["regate"])
    def regate_selected(self, request, queryset):
        summary = regate(candidates=queryset)
        self.message_user(
            request,
            f"Re-gated {summary.checked} candidate(s): {summary.now_passed} passed "
            f"({summary.now_held_back} held back), {summary.now_filtered} filtered; {summary.changed} changed.",
        )

    def has_regate_permission(self, request) -> bool:
        return request.user.has_perm("synth.launch_run")


@admin.register(KnowledgeFact)
class KnowledgeFactAdmin(admin.ModelAdmin):
    """The facts table the gate checks candidates against; re-gate after changing it."""

    list_display = ["drug", "kind", "low", "high", "unit", "condition", "source", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["drug", "condition", "source"]


@admin.register(DiscardedText)
class DiscardedTextAdmin(ReadOnlyAdmin):
    list_display = ["pk", "run", "reason", "text"]
    list_filter = ["reason"]
    search_fields = ["text"]


class QueryInline(admin.TabularInline):
    model = Query
    extra = 0
    fields = ["line", "text", "input", "domain", "held_back", "phi_findings"]
    readonly_fields = fields

    # Queries come in through the query sets page, which checks and PHI-screens every row; one typed
    # or changed here would skip the screen on the way in.
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(QuerySet)
class QuerySetAdmin(admin.ModelAdmin):
    """Query sets for Distillation (uploads go through the run pages, which check every row)."""

    list_display = ["name", "source", "created_at"]
    search_fields = ["name"]
    inlines = [QueryInline]


@admin.register(SourceDocument)
class SourceDocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "domain", "held_back", "created_at"]
    list_filter = ["held_back", "domain"]
    search_fields = ["title"]
    # The PHI screen's verdict is the screen's, not an editor's.
    readonly_fields = ["held_back", "phi_findings", "created_by", "created_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # add through the documents page, which screens the text


@admin.register(RunChunk)
class RunChunkAdmin(ReadOnlyAdmin):
    list_display = ["run", "index", "first_sequence", "size", "status", "claims", "lease_until"]
    list_filter = ["status"]


@admin.register(ProviderBatch)
class ProviderBatchAdmin(ReadOnlyAdmin):
    list_display = ["pk", "run", "chunk", "teacher", "provider_batch_id", "request_count", "status",
                    "provider_status", "polls", "next_check_at"]  # fmt: skip
    list_filter = ["status"]
    search_fields = ["provider_batch_id"]
    exclude = ["requests"]  # every prompt of the batch: see its calls instead


@admin.register(TeacherCall)
class TeacherCallAdmin(ReadOnlyAdmin):
    list_display = ["pk", "run", "key", "attempt", "provider", "model", "status", "reason", "input_tokens",
                    "output_tokens", "cost", "latency_ms"]  # fmt: skip
    list_filter = ["status", "reason", "provider"]
    search_fields = ["key", "message"]
