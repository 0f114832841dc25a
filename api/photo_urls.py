"""How the API shows a photo: its id and a URL that loads it without a token for a while.

A URL is issued only for a photo the principal may see (`services.photos.readable_among`), at
the moment the answer is built; it then opens the photo for anyone holding it until it expires
(`PHOTO_LINK_SECONDS`). It is our signed route `GET /photos/{id}/content` or, with
`S3_PRESIGN`, a GetObject URL presigned at the bucket.
"""

from collections.abc import Iterable, Sequence
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import Principal
from api.config import Settings
from api.deps import SettingsDep
from api.links import Links, LinksDep
from api.models import Appeal, Photo, ScoreEntry, id_of
from api.schemas.appeals import AppealOut
from api.schemas.ledger import EntryOut
from api.schemas.photos import PhotoUrlOut
from api.services.names import appeal_labels, entry_labels
from api.services.photos import photo_ids_in, readable_among
from api.storage import PhotoStore, S3PhotoStore

# The name of the signed route that serves a photo's bytes (api/routers/photos.py).
CONTENT_ROUTE = "photo_content"

Shown = dict[int, PhotoUrlOut]


class PhotoUrls:
    def __init__(self, links: Links, store: PhotoStore, settings: Settings) -> None:
        self._links = links
        self._ttl = settings.photo_link_ttl
        self._presigner = store if settings.s3_presign and isinstance(store, S3PhotoStore) else None

    async def shown(
        self, session: AsyncSession, principal: Principal, photo_ids: Iterable[int]
    ) -> Shown:
        """The photos among `photo_ids` the principal may see, each with its URL."""
        photos = await readable_among(session, principal, photo_ids=photo_ids)
        return {photo_id: await self._link(photo) for photo_id, photo in photos.items()}

    async def _link(self, photo: Photo) -> PhotoUrlOut:
        if self._presigner is not None:
            url = await self._presigner.presigned_url(
                photo.storage_key, content_type=photo.content_type, ttl=self._ttl
            )
            expires_at = self._links.now + self._ttl
            return PhotoUrlOut(id=id_of(photo), url=url, url_expires_at=expires_at)
        signed = self._links.url_for(CONTENT_ROUTE, ttl=self._ttl, photo_id=id_of(photo))
        return PhotoUrlOut(id=id_of(photo), url=signed.url, url_expires_at=signed.expires_at)


def among(photo_ids: Iterable[int], shown: Shown) -> list[PhotoUrlOut]:
    """Of `photo_ids`, in their order, those that are shown."""
    return [shown[photo_id] for photo_id in dict.fromkeys(photo_ids) if photo_id in shown]


async def entries_out(
    session: AsyncSession, principal: Principal, urls: PhotoUrls, entries: Sequence[ScoreEntry]
) -> list[EntryOut]:
    """Ledger entries with the photos their evidence names that the principal may see."""
    cited = {id_of(e): photo_ids_in(e.evidence) for e in entries}
    shown = await urls.shown(session, principal, (p for ids in cited.values() for p in ids))
    labels = await entry_labels(session, [id_of(e) for e in entries])
    return [
        EntryOut.model_validate(
            {
                **e.model_dump(),
                **vars(labels[id_of(e)]),
                "evidence": cited[id_of(e)],
                "photos": among(cited[id_of(e)], shown),
            }
        )
        for e in entries
    ]


async def appeals_out(
    session: AsyncSession, principal: Principal, urls: PhotoUrls, appeals: Sequence[Appeal]
) -> list[AppealOut]:
    """Appeals with their member's and item's names and the photos the principal may see."""
    shown = await urls.shown(session, principal, (p for a in appeals for p in a.evidence))
    labels = await appeal_labels(session, [id_of(a) for a in appeals])
    return [
        AppealOut.model_validate(
            {**a.model_dump(), **vars(labels[id_of(a)]), "photos": among(a.evidence, shown)}
        )
        for a in appeals
    ]


async def get_photo_urls(request: Request, links: LinksDep, settings: SettingsDep) -> PhotoUrls:
    store: PhotoStore = request.app.state.photos
    return PhotoUrls(links, store, settings)


PhotoUrlsDep = Annotated[PhotoUrls, Depends(get_photo_urls)]
