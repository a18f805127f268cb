"""The one exception type of the review queue's services, and its 404 variant."""


class ReviewError(Exception):
    """A decision cannot be stored; the message tells the reviewer what to do."""


class NotYours(ReviewError):
    """The assignment or item is not this user's to see: views answer 404, revealing nothing."""
