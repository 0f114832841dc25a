"""Signed links and codes: only the service makes them, each for one resource and purpose."""

from datetime import timedelta

import pytest

from api import signing
from api.errors import LinkExpired, LinkInvalid
from api.models import utcnow
from tests.conftest import make_settings

SETTINGS = make_settings("sqlite+aiosqlite://")


def test_a_link_opens_its_resource_until_it_expires() -> None:
    now = utcnow()
    link = signing.sign_link(SETTINGS, "photos/12", now=now, ttl=timedelta(minutes=10))
    signing.verify_link(
        SETTINGS, "photos/12", expires=link.expires, signature=link.signature, now=now
    )
    with pytest.raises(LinkExpired):
        signing.verify_link(
            SETTINGS,
            "photos/12",
            expires=link.expires,
            signature=link.signature,
            now=now + timedelta(minutes=10, seconds=1),
        )


def test_a_link_opens_no_other_resource_nor_a_later_expiry() -> None:
    now = utcnow()
    link = signing.sign_link(SETTINGS, "photos/12", now=now, ttl=timedelta(minutes=10))
    with pytest.raises(LinkInvalid):
        signing.verify_link(
            SETTINGS, "photos/13", expires=link.expires, signature=link.signature, now=now
        )
    with pytest.raises(LinkInvalid):
        signing.verify_link(
            SETTINGS, "photos/12", expires=link.expires + 3600, signature=link.signature, now=now
        )


def test_a_signature_is_good_for_its_purpose_and_key_only() -> None:
    signature = signing.mac(SETTINGS, "link", "photos/12\x001")
    assert signing.matches(SETTINGS, "link", "photos/12\x001", signature)
    assert not signing.matches(SETTINGS, "check-in code", "photos/12\x001", signature)
    other = make_settings("sqlite+aiosqlite://", data_key="another-data-key-0123456789abcdef!")
    assert not signing.matches(other, "link", "photos/12\x001", signature)


def test_a_signature_that_is_not_ascii_is_refused_not_an_error() -> None:
    assert not signing.matches(SETTINGS, "link", "photos/12\x001", "签名")
    with pytest.raises(LinkInvalid):
        signing.verify_link(SETTINGS, "photos/12", expires=1, signature="é" * 22, now=utcnow())
