"""The product's URLs plus /floor/: the least an authenticated page can do on this stack, as a
baseline for the review cycle. It checks the session and user (as every product page does), runs one
indexed SELECT (a review item by primary key) and renders a tiny template."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns
from review.models import ReviewItem

TEMPLATE = engines["django"].from_string("<p>Item {{ item.pk }}: {{ item.status }}</p>")


@login_required
def floor(request: HttpRequest) -> HttpResponse:
    item = ReviewItem.objects.only("status").filter(pk=int(request.GET.get("item", 1))).first()
    return HttpResponse(TEMPLATE.render({"item": item}, request))


urlpatterns = [path("floor/", floor), *product_urlpatterns]
