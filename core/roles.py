"""The product's roles (Django groups) and the check every view makes."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect

PHYSICIAN = "Physician"
SENIOR_PHYSICIAN = "Senior physician"
DATA_LEAD = "Data lead"
ADMINISTRATOR = "Administrator"

# What each role may do; a migration gives each group these permissions.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    PHYSICIAN: ["review.review_item"],
    SENIOR_PHYSICIAN: ["review.review_item", "review.adjudicate_item"],
    DATA_LEAD: ["review.view_dashboard", "review.export_data", "review.release_batch"],
    ADMINISTRATOR: [
        "synth.launch_run",
        *(
            f"synth.{action}_{model}"
            for model in ("domain", "seedtask", "teacher", "knowledgefact")
            for action in ("add", "change", "delete", "view")
        ),
        *(f"synth.view_{model}" for model in ("generationrun", "candidate", "qualityresult")),
        "review.view_dashboard",
        "review.export_data",
        *(
            f"review.{action}_{model}"
            for model in ("reviewerguideline", "samplingpolicy", "samplingrule")
            for action in ("add", "change", "delete", "view")
        ),
        "auditlog.view_logentry",
    ],
}


def ensure_roles(**kwargs) -> None:
    """Create the role groups with their permissions where missing.

    Runs after every `migrate` (and flush), so a permission added to ROLE_PERMISSIONS reaches its
    group without a migration of its own; and before anything that needs the groups (the demo data,
    the tests' users), where one query finds them complete and nothing more is done.
    """
    from django.contrib.auth.models import Group, Permission

    wanted = {
        (role, *dotted.split(".")) for role, permissions in ROLE_PERMISSIONS.items() for dotted in permissions
    }
    granted = Group.permissions.through.objects.filter(group__name__in=ROLE_PERMISSIONS).values_list(
        "group__name", "permission__content_type__app_label", "permission__codename"
    )
    if wanted <= set(granted):
        return
    by_name = {
        (permission.content_type.app_label, permission.codename): permission
        for permission in Permission.objects.select_related("content_type").filter(
            codename__in={codename for _role, _app, codename in wanted}
        )
    }
    missing = sorted(f"{app}.{codename}" for _role, app, codename in wanted if (app, codename) not in by_name)
    if missing:
        raise Permission.DoesNotExist(f"No permission {', '.join(missing)}: run `manage.py migrate`.")
    for role in ROLE_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(by_name[app, codename] for r, app, codename in wanted if r == role))


def _to_login(request: HttpRequest) -> HttpResponse:
    """Send a signed-out user to the login page, and back here afterwards.

    An htmx request (an autosave, a decision) must not swap the login page into a fragment: the whole
    page goes to the login, and `next` is the page the user was on, not the fragment's endpoint.
    """
    if getattr(request, "htmx", False):
        page = urlsplit(request.htmx.current_url or "")
        back = page.path + (f"?{page.query}" if page.query else "") if page.path else "/"
        return HttpResponseClientRedirect(redirect_to_login(back).url)
    return redirect_to_login(request.get_full_path())


def role_required(permission: str) -> Callable:
    """Anonymous users go to the login page; signed-in users without the permission get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return _to_login(request)
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        checked.required_permission = permission  # read by the permission-matrix test
        return checked

    return decorator
