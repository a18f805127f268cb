from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to where its work is."""
    user = request.user
    if user.has_perm("synth.launch_run"):
        return redirect("synth:run_list")
    if user.has_perm("review.review_item"):
        return redirect("review:review")
    if user.has_perm("review.view_dashboard"):
        return redirect("review:dashboard")
    return render(request, "no_role.html", status=403)
