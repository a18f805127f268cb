from django.urls import path

from review.views import adjudication, batches, coverage, dashboard, queue, records

app_name = "review"
urlpatterns = [
    path("review/", queue.review_page, name="review"),
    path("review/assignments/<int:pk>/decide/", queue.decide, name="decide"),
    path("review/assignments/<int:pk>/draft/", queue.draft, name="draft"),
    path("review/prefetch/", queue.prefetch, name="prefetch"),
    path("review/undo/", queue.undo, name="undo"),
    path("review/guidelines/", queue.guidelines, name="guidelines"),
    path("adjudication/", adjudication.adjudication_list, name="adjudication_list"),
    path("adjudication/<int:pk>/", adjudication.adjudication_item, name="adjudicate"),
    path("batches/", batches.batch_list, name="batch_list"),
    path("batches/<int:pk>/", batches.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/release/", batches.batch_release, name="batch_release"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("records/", records.record_list, name="records"),
    path("records/<int:pk>/", records.record_detail, name="record"),
    path("dashboard/coverage/", coverage.coverage, name="coverage"),
    path("exports/", dashboard.export_create, name="export_create"),
    path("exports/<int:pk>/download/", dashboard.export_download, name="export_download"),
    path("exports/<int:pk>/files/<path:name>", dashboard.export_file, name="export_file"),
]
