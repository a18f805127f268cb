from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from review.views.accounts import LogoutView
from review.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("runs/", include("synth.urls")),
    path("", include("review.urls")),
]
