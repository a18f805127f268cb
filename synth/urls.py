from django.urls import path

from synth import views

app_name = "synth"
urlpatterns = [
    path("", views.run_list, name="run_list"),
    path("new/", views.run_new, name="run_new"),
    path("new/estimate/", views.run_estimate, name="run_estimate"),
    path("queries/", views.query_sets, name="query_sets"),
    path("documents/", views.documents, name="documents"),
    path("documents/upload/", views.documents_upload, name="documents_upload"),
    path("<int:pk>/", views.run_detail, name="run_detail"),
    path("<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("<int:pk>/texts/", views.run_texts, name="run_texts"),
]
