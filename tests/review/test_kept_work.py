"""The scope and key a reviewer's page gets for the work their browser keeps, and logging out.

What the browser does with them is tests/browser/test_review_kept_work.py."""

import re

from django.urls import reverse

from review.kept_work import kept_work_key, kept_work_scope


def holder(page: str) -> tuple[str, str]:
    match = re.search(r'id="kept-work" hidden data-scope="([0-9a-f]+)" data-key="([A-Za-z0-9+/=]+)"', page)
    return match.group(1), match.group(2)


def test_the_review_page_gives_the_reviewer_their_own_opaque_scope_and_key(
    client, physician, physician2, review_items
):
    client.force_login(physician)
    response = client.get(reverse("review:review"))
    scope, key = holder(response.text)
    assert (scope, key) == (kept_work_scope(physician), kept_work_key(physician))
    assert f'data-kept-work-scope="{scope}"' in response.text  # every page knows whose work to keep
    assert physician.username not in scope and str(physician.pk) != scope
    assert "no-store" in response["Cache-Control"]  # the key is not left in the browser's cache

    client.force_login(physician2)
    other_scope, other_key = holder(client.get(reverse("review:review")).text)
    assert other_scope != scope and other_key != key


def test_the_scope_and_key_outlive_a_session_but_not_a_new_password(client, physician, review_items):
    client.force_login(physician)
    first = holder(client.get(reverse("review:review")).text)
    client.logout()
    client.force_login(physician)
    assert holder(client.get(reverse("review:review")).text) == first  # an expired session's work opens

    physician.set_password("a-new-password-for-the-ward")
    physician.save()
    client.force_login(physician)
    renewed = holder(client.get(reverse("review:review")).text)
    assert renewed[0] != first[0] and renewed[1] != first[1]


def test_logging_out_tells_the_browser_to_clear_the_site_storage(client, physician):
    client.force_login(physician)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert response["Clear-Site-Data"] == '"storage"'
    assert "_auth_user_id" not in client.session


def test_the_login_page_names_no_scope(client):
    assert "data-kept-work-scope" not in client.get(reverse("login")).text
