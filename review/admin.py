from django.contrib import admin

from core.admin import ReadOnlyAdmin
from review.models import (
    Adjudication,
    Assignment,
    Batch,
    Decision,
    Discussion,
    Export,
    ItemRevision,
    ReviewerGuideline,
    ReviewItem,
    SamplingPolicy,
    SamplingRule,
)
from review.sampling import apply_policy, policy_for


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ["pk", "candidate", "status", "final_verdict", "required_reviews", "decided_at"]
    list_filter = ["status", "final_verdict"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "item",
        "reviewer",
        "verdict",
        "preference",
        "reasons",
        "extra",
        "undone_at",
        "superseded_at",
        "created_at",
    ]
    list_filter = ["verdict"]

    def get_queryset(self, request):
        return Decision.history.all()  # undone and superseded decisions too: the whole record


@admin.register(ItemRevision)
class ItemRevisionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "item", "number", "author", "created_at"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "item", "reviewer", "status", "skip_reason", "claimed_at", "lease_expires_at"]


@admin.register(Discussion)
class DiscussionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "item", "reviewer", "created_at", "answered_by", "answered_at"]


@admin.register(Adjudication)
class AdjudicationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "item", "adjudicator", "verdict", "created_at"]


@admin.register(Export)
class ExportAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "format", "status", "record_count", "created_by", "created_at"]


@admin.register(ReviewerGuideline)
class ReviewerGuidelineAdmin(admin.ModelAdmin):
    list_display = ["title", "updated_at"]


class SamplingRuleInline(admin.TabularInline):
    model = SamplingRule
    extra = 1


@admin.register(SamplingPolicy)
class SamplingPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "run", "rate", "min_per_stratum", "overlap_fraction", "overlap_reviewers"]
    inlines = [SamplingRuleInline]


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = ["pk", "run", "sample_rate", "passed_count", "acceptance_threshold", "released_at"]
    actions = ["apply_sampling_policy"]

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) or self.has_sample_permission(request)

    def has_sample_permission(self, request) -> bool:
        return request.user.has_perm("review.change_samplingpolicy")

    @admin.action(
        permissions=["sample"],
        description="Sample more by the run's policy (or the default); nothing sampled is removed",
    )
    def apply_sampling_policy(self, request, queryset):
        for batch in queryset.select_related("run"):
            policy = policy_for(batch.run)
            if policy is None:
                self.message_user(
                    request, f"{batch}: no sampling policy exists yet; add one first.", "warning"
                )
                continue
            apply_policy(batch, policy)
            self.message_user(request, f"{batch}: sampled by {policy}.")
