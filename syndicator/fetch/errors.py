"""Errors of the fetch stage.

One exception type carries everything the worker needs to decide what to do next
(retry or not, and when) and everything an operator needs to read in a log line.
"""

from __future__ import annotations

from syndicator.errors import SyndicatorError


class FetchError(SyndicatorError):
    """A fetch that produced no usable response.

    `retryable` tells the scheduler whether trying again later can help (timeouts, 5xx,
    429) or not (404, refused address, oversized body); `retry_after` is the upstream's
    own Retry-After in seconds when it sent one.
    """

    def __init__(
        self,
        source_id: str,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{source_id}: {url}: {reason}")
        self.source_id = source_id
        self.url = url
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class AddressRefused(FetchError):
    """The address guard refused to connect (loopback, private, link-local, metadata …).

    Never retryable: the same host will resolve to the same kind of address next time,
    and a rebinding attacker must not get another try.
    """

    def __init__(self, source_id: str, url: str, reason: str) -> None:
        super().__init__(source_id, url, reason, retryable=False)


class RobotsRefused(FetchError):
    """robots.txt does not let us fetch the URL (`syndicator.fetch.robots`): its rules
    disallow it for our product token, or it could not be read (a 5xx or a network error,
    which RFC 9309 says to take as complete disallow for now).

    Not retryable by the job: the rules are cached (at most a day); the page is tried again
    on a later poll, against the rules then in force.
    """

    def __init__(self, source_id: str, url: str, reason: str) -> None:
        super().__init__(source_id, url, reason, retryable=False)
