"""What a subscriber checks on a push: the signature our hub sends verifies, and any
change to the body, the secret or the header does not."""

from __future__ import annotations

import hashlib
import hmac

from syndicator.hub.signature import sign, verify


def test_our_signature_verifies_and_names_sha256() -> None:
    header = sign(b"s3cret", b"<feed/>")
    assert header == "sha256=" + hmac.new(b"s3cret", b"<feed/>", hashlib.sha256).hexdigest()
    assert verify(b"s3cret", b"<feed/>", header)


def test_a_changed_body_secret_or_header_does_not_verify() -> None:
    header = sign(b"s3cret", b"<feed/>")
    assert not verify(b"s3cret", b"<feed />", header)
    assert not verify(b"other", b"<feed/>", header)
    assert not verify(b"s3cret", b"<feed/>", header[:-1] + ("0" if header[-1] != "0" else "1"))
    assert not verify(b"s3cret", b"<feed/>", None)
    assert not verify(b"s3cret", b"<feed/>", "")
    assert not verify(b"s3cret", b"<feed/>", "md5=" + hashlib.md5(b"x").hexdigest())
    assert not verify(b"s3cret", b"<feed/>", "garbage")


def test_other_methods_a_hub_may_use_are_accepted() -> None:
    for method in ("sha1", "sha384", "sha512"):
        digest = hmac.new(b"k", b"body", method).hexdigest()
        assert verify(b"k", b"body", f"{method}={digest}")
        assert verify(b"k", b"body", f"{method.upper()}={digest.upper()}")
