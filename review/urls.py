from django.urls import path

from review.views import dashboard, queue

app_name = "review"
urlpatterns = [
    path("review/", queue.review_page, name="review"),
    path("review/assignments/<int:pk>/decide/", queue.decide, name="decide"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("exports/", dashboard.export_create, name="export_create"),
    path("exports/<int:pk>/download/", dashboard.export_download, name="export_download"),
]
