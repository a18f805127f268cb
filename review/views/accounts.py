"""Logging out: Django's view, plus clearing what the browser kept of the user's work."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse


class LogoutView(auth_views.LogoutView):
    """A ward computer is shared: the next user of the browser must find nothing of this one's work.

    static/kept-work.js clears the kept work when the logout form is sent; this header clears the
    site's storage again where the browser honours it (HTTPS, or localhost), for a page whose script
    did not run.
    """

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"storage"'
        return response
