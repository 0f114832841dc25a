"""Our own tokens: HS256 JWTs for access and binding, opaque single-use refresh tokens.

The algorithm is pinned: a token whose header names anything but HS256 (including `none`) is
refused before its signature is looked at, and `exp` and `sub` are required. An access token
also names its login (`sid`), which must still be alive when it is used.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from jose import ExpiredSignatureError, JWTError, jwt

from api.errors import AppError, InvalidToken, TokenExpired
from api.models.base import utcnow

ALGORITHM = "HS256"
TokenType = Literal["access", "bind"]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def issue_jwt(
    secret: str,
    subject: str,
    token_type: TokenType,
    ttl: timedelta,
    *,
    session_id: int | None = None,
    issued_at: datetime | None = None,
    not_after: datetime | None = None,
) -> IssuedToken:
    """A signed token; the same arguments give the same token (no random claim)."""
    now = issued_at or utcnow()
    expires_at = min(now + ttl, not_after) if not_after else now + ttl
    claims: dict[str, object] = {"sub": subject, "typ": token_type, "iat": now, "exp": expires_at}
    if session_id is not None:
        claims["sid"] = session_id
    return IssuedToken(jwt.encode(claims, secret, algorithm=ALGORITHM), expires_at)


def read_jwt(
    secret: str,
    token: str,
    token_type: TokenType,
    *,
    invalid: type[AppError] = InvalidToken,
    expired: type[AppError] = TokenExpired,
) -> str:
    """Return the subject of a valid token of the given type, or raise."""
    return str(_claims(secret, token, token_type, invalid, expired)["sub"])


def read_access_token(secret: str, token: str) -> tuple[int, int]:
    """The member and the login of a valid access token, or raise."""
    member_id, login_id, expires = _access_claims(secret, token)
    # As the token's first check did (python-jose): expired once its second has passed.
    if expires < int(utcnow().timestamp()):
        raise TokenExpired()
    return member_id, login_id


# A phone presents the same access token on every request until it expires: its signature and
# claims are checked once per process (a tenth of a signed-in request's CPU), its expiry on
# every use. Only verified tokens are kept; whether the login is still alive is the principal
# query's, on every request.
@lru_cache(maxsize=4096)
def _access_claims(secret: str, token: str) -> tuple[int, int, int]:
    claims = _claims(secret, token, "access", InvalidToken, TokenExpired)
    subject, login = claims.get("sub"), claims.get("sid")
    if not isinstance(subject, str) or not subject.isdigit() or not isinstance(login, int):
        raise InvalidToken()
    expires = claims["exp"]
    assert isinstance(expires, int | float | str)  # python-jose has read it as a number
    return int(subject), login, int(expires)


def _claims(
    secret: str,
    token: str,
    token_type: TokenType,
    invalid: type[AppError],
    expired: type[AppError],
) -> dict[str, object]:
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise invalid()
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require_exp": True, "require_sub": True, "require_iat": True},
        )
    except ExpiredSignatureError as exc:
        raise expired() from exc
    except JWTError as exc:
        raise invalid() from exc
    subject = claims.get("sub")
    if claims.get("typ") != token_type or not isinstance(subject, str) or not subject:
        raise invalid()
    return claims


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def successor_refresh_token(secret: str, token: str) -> str:
    """The refresh token `token` rotates into.

    Derived rather than random, so a token presented twice within the grace window is answered
    with the same successor although only hashes are stored; only the holder of `token` (and
    of our secret) can derive it.
    """
    digest = hmac.new(secret.encode(), b"refresh-rotation\0" + token.encode(), "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
INVITE_LENGTH = 8


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
