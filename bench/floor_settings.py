"""The product's settings, with one more page: the floor of this stack (bench/floor_urls.py).

review_load.py serves the product with these, so the floor and the review cycle run under the same
gunicorn, middleware, sessions and database, and differ only in what the view does."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
