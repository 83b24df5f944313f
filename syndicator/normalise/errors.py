"""The one exception type of the normalise stage.

A separate module so that every other module here can raise it without import cycles.
"""

from syndicator.errors import SyndicatorError


class NormaliseError(SyndicatorError):
    """An upstream entry (or an argument) the normalise stage cannot turn into an Article.

    Reasons: the entry cannot be identified (no guid and no http(s) link), a URL that is not
    an absolute http(s) URL where one is required, a naive `fetched_at`, an unknown time zone.
    The message always names the offending value.
    """
