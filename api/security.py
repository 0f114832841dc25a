"""Our own tokens: HS256 JWTs for access and binding, opaque single-use refresh tokens.

The algorithm is pinned: a token whose header names anything but HS256 (including `none`) is
refused before its signature is looked at, and `exp` and `sub` are required.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
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


def issue_jwt(secret: str, subject: str, token_type: TokenType, ttl: timedelta) -> IssuedToken:
    now = utcnow()
    expires_at = now + ttl
    claims = {"sub": subject, "typ": token_type, "iat": now, "exp": expires_at}
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
    return subject


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
INVITE_LENGTH = 8


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
