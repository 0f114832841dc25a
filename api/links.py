"""Signed URLs to routes of ours that a client loads without a Bearer header.

The mini-program's `<image src>`, `wx.downloadFile` and share cards cannot send one. Whoever may
see a resource is decided when its URL is issued: a router checks access, then asks
`LinksDep.url_for(route_name, ttl=…, **path_params)`. The route declares `SignedLinkDep`, which
refuses (403 `link_invalid`, `link_expired`) a URL signed for another path, forged or expired,
and answers with `cache_control(link)` so that no cache keeps it past its expiry. What is signed
is the URL's path (`api/signing.py`), so a signature for one photo opens no other.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

from api.config import Settings
from api.deps import SettingsDep
from api.models import utcnow
from api.signing import SignedLink, sign_link, verify_link

# Far beyond any expiry we sign, and a bound on what a forged query makes us hash.
_MAX_EXPIRES = 10**11


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Links:
    """Issues signed URLs to this app's routes, as the client reaches the API."""

    request: Request
    settings: Settings
    now: datetime

    def url_for(self, name: str, *, ttl: timedelta, **path_params: str | int) -> SignedUrl:
        """`name`: the route's own name (`name=` on its decorator), unique in the app."""
        url = self.request.url_for(name, **path_params)
        link = sign_link(self.settings, url.path, now=self.now, ttl=ttl)
        public = self.settings.api_public_url.rstrip("/")
        where = f"{public}{url.path}" if public else str(url)
        return SignedUrl(f"{where}?{urlencode(link.query())}", link.expires_at)


async def get_links(request: Request, settings: SettingsDep) -> Links:
    return Links(request, settings, utcnow())


LinksDep = Annotated[Links, Depends(get_links)]


async def signed_link(
    request: Request,
    settings: SettingsDep,
    expires: Annotated[int, Query(ge=0, le=_MAX_EXPIRES, description="链接到期时间")],
    signature: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="链接签名")],
) -> SignedLink:
    """The link this request came by, verified for this very path."""
    verify_link(settings, request.url.path, expires=expires, signature=signature, now=utcnow())
    return SignedLink(expires, signature)


SignedLinkDep = Annotated[SignedLink, Depends(signed_link)]


def cache_control(link: SignedLink) -> str:
    """Cacheable by the phone alone, and never past the link's expiry."""
    left = max(0, link.expires - int(utcnow().timestamp()))
    return f"private, max-age={left}"
