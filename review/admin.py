from django.contrib import admin

from review.models import Adjudication, Assignment, Decision, Export, ItemRevision, ReviewItem
from synth.admin import ReadOnlyAdmin


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ["pk", "candidate", "status", "final_verdict", "required_reviews", "decided_at"]
    list_filter = ["status", "final_verdict"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "item", "reviewer", "verdict", "reasons", "created_at"]
    list_filter = ["verdict"]


@admin.register(ItemRevision)
class ItemRevisionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "item", "number", "author", "created_at"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "item", "reviewer", "status", "claimed_at", "lease_expires_at"]


@admin.register(Adjudication)
class AdjudicationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "item", "adjudicator", "verdict", "created_at"]


@admin.register(Export)
class ExportAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "format", "status", "record_count", "created_by", "created_at"]
