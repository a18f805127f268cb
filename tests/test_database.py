from django.db import connection


def test_it_runs_on_the_database_the_suite_was_asked_for(db, request):
    expected = "postgresql" if request.config.getoption("postgres") else "sqlite"
    assert connection.vendor == expected
