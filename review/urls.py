from django.urls import path

from review.views import adjudication, batches, coverage, dashboard, discussions, figures, queue, workspace

app_name = "review"
urlpatterns = [
    path("review/", queue.review_page, name="review"),
    path("review/assignments/<int:pk>/decide/", queue.decide, name="decide"),
    path("review/assignments/<int:pk>/draft/", queue.draft, name="draft"),
    path("review/assignments/<int:pk>/skip/", queue.skip, name="skip"),
    path("review/assignments/<int:pk>/discuss/", queue.discuss, name="discuss"),
    path("review/mine/", workspace.my_reviews, name="my_reviews"),
    path("review/mine/<int:pk>/", workspace.my_decision, name="my_decision"),
    path("review/discussions/", workspace.discussions, name="my_discussions"),
    path("review/discussions/<int:pk>/resume/", workspace.resume, name="resume_discussed"),
    path("review/figures/", workspace.figures, name="my_figures"),
    path("discussions/", discussions.discussion_list, name="discussion_list"),
    path("discussions/<int:pk>/answer/", discussions.answer, name="answer_discussion"),
    path("review/undo/", queue.undo, name="undo"),
    path("review/guidelines/", queue.guidelines, name="guidelines"),
    path("adjudication/", adjudication.adjudication_list, name="adjudication_list"),
    path("adjudication/<int:pk>/", adjudication.adjudication_item, name="adjudicate"),
    path("batches/", batches.batch_list, name="batch_list"),
    path("batches/<int:pk>/", batches.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/release/", batches.batch_release, name="batch_release"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/coverage/", coverage.coverage, name="coverage"),
    path("dashboard/reviewers/", figures.reviewer_figures, name="reviewer_figures"),
    path("exports/", dashboard.export_create, name="export_create"),
    path("exports/preview/", dashboard.export_preview, name="export_preview"),
    path("exports/<int:pk>/download/", dashboard.export_download, name="export_download"),
    path("exports/<int:pk>/files/<path:name>", dashboard.export_file, name="export_file"),
]
