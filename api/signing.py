"""Signatures the service makes for itself: short-lived links and codes only it can issue.

One key per purpose, derived from `DATA_KEY` (or, where that is empty in development, from the
JWT secret), so a signature made for one purpose — a check-in code, a photo link — is never
accepted for another.

A signed link lets a client load one resource without a Bearer header until it expires: the
mini-program's `<image src>`, `wx.downloadFile` and share cards cannot send one. The link carries
`expires` (Unix seconds) and `signature` (HMAC-SHA256 of the purpose, the resource and the
expiry); `verify_link` refuses a link for any other resource, after its expiry, or forged.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from api.config import Settings
from api.errors import LinkExpired, LinkInvalid

SIGNATURE_BYTES: Final = 16  # 128 bits: unguessable, and short enough for a QR code or a URL


def _key(settings: Settings, purpose: str) -> bytes:
    material = settings.data_key.get_secret_value() or settings.jwt_secret.get_secret_value()
    return hashlib.sha256(f"pioneer-points {purpose}\0".encode() + material.encode()).digest()


def mac(settings: Settings, purpose: str, message: str) -> str:
    """The URL-safe signature of `message` for `purpose`."""
    digest = hmac.new(_key(settings, purpose), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).rstrip(b"=").decode()


def matches(settings: Settings, purpose: str, message: str, signature: str) -> bool:
    # compare_digest raises on non-ASCII text: such a signature is no signature of ours.
    return signature.isascii() and hmac.compare_digest(mac(settings, purpose, message), signature)


@dataclass(frozen=True)
class SignedLink:
    expires: int  # Unix seconds
    signature: str

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)

    def query(self) -> dict[str, str]:
        return {"expires": str(self.expires), "signature": self.signature}


def sign_link(settings: Settings, resource: str, *, now: datetime, ttl: timedelta) -> SignedLink:
    """A link to `resource` (its path, e.g. `photos/12`) good until `now + ttl`."""
    expires = int((now + ttl).timestamp())
    return SignedLink(expires, mac(settings, "link", f"{resource}\0{expires}"))


def verify_link(
    settings: Settings, resource: str, *, expires: int, signature: str, now: datetime
) -> None:
    """Refuse a link that was not signed for `resource` and this expiry, or has expired."""
    if not matches(settings, "link", f"{resource}\0{expires}", signature):
        raise LinkInvalid()
    if now.timestamp() >= expires:
        raise LinkExpired()
