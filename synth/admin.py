from django.contrib import admin

from synth.models import (
    Candidate,
    DiscardedText,
    Domain,
    GenerationRun,
    KnowledgeFact,
    QualityResult,
    SeedTask,
    Teacher,
)
from synth.quality.regate import regate


class ReadOnlyAdmin(admin.ModelAdmin):
    """Generated records and their history are changed by the pipeline, never by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
        ("Limits", {"fields": ["concurrency", "requests_per_minute", "tokens_per_minute"]}),
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
