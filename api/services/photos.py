"""Evidence photos: cleaned, stored once by content hash, readable by those who review them."""

from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.db import insert_for
from api.errors import PhotoNotFound
from api.models import Claim, ClaimPhoto, Member, OrgUnit, Photo, PhotoUpload, utcnow
from api.photos import PhotoDecoder
from api.storage import PhotoStore, photo_key


def photo_links(photo_ids: Sequence[int]) -> tuple[str, ...]:
    """How evidence photos are referred to on ledger entries."""
    return tuple(f"photo:{pid}" for pid in photo_ids)


async def evidence_links(
    session: AsyncSession, principal: Principal, photo_ids: Sequence[int]
) -> tuple[str, ...]:
    """The links of photos the principal uploaded; any other id is a 404, the same whether the
    photo does not exist or is someone else's (so ids reveal nothing)."""
    if not photo_ids:
        return ()
    own = set(
        await session.scalars(
            select(PhotoUpload.photo_id).where(
                col(PhotoUpload.photo_id).in_(photo_ids),
                col(PhotoUpload.member_id) == principal.member_id,
            )
        )
    )
    missing = [pid for pid in photo_ids if pid not in own]
    if missing:
        raise PhotoNotFound(detail={"photo_ids": missing})
    return photo_links(photo_ids)


async def upload(
    session: AsyncSession,
    principal: Principal,
    *,
    data: bytes,
    store: PhotoStore,
    decoder: PhotoDecoder,
) -> tuple[Photo, int]:
    """Clean and store a photo; the same picture twice is one row. Returns it and its uses."""
    processed = await decoder.process(data)
    key = photo_key(processed.sha256, processed.extension)
    await store.put(key, processed.content, processed.content_type)
    insert = insert_for(session)
    await session.execute(
        insert(Photo)
        .values(
            sha256=processed.sha256,
            storage_key=key,
            content_type=processed.content_type,
            size=len(processed.content),
            width=processed.width,
            height=processed.height,
            uploaded_by=principal.member_id,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    photo = await session.scalar(select(Photo).where(col(Photo.sha256) == processed.sha256))
    assert photo is not None
    # The same picture from another member is the same row, and now theirs too.
    await session.execute(
        insert(PhotoUpload)
        .values(photo_id=photo.id, member_id=principal.member_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["photo_id", "member_id"])
    )
    uses = await session.scalar(
        select(func.count()).select_from(ClaimPhoto).where(col(ClaimPhoto.photo_id) == photo.id)
    )
    return photo, uses or 0


async def readable(session: AsyncSession, principal: Principal, photo_id: int) -> Photo:
    """An uploader, or a leader over an uploader or over anyone who claimed with it."""
    photo = await session.get(Photo, photo_id)
    if photo is None:
        raise PhotoNotFound()
    uploaders = select(PhotoUpload.member_id).where(col(PhotoUpload.photo_id) == photo_id)
    if principal.member_id in set(await session.scalars(uploaders)):
        return photo
    members = (
        select(Claim.member_id)
        .join(ClaimPhoto, col(ClaimPhoto.claim_id) == col(Claim.id))
        .where(col(ClaimPhoto.photo_id) == photo_id)
    )
    paths = await session.scalars(
        select(OrgUnit.path)
        .join(Member, col(Member.unit_id) == col(OrgUnit.id))
        .where(col(Member.id).in_(uploaders) | col(Member.id).in_(members))
    )
    if not any(principal.can(Action.read_members, path) for path in paths):
        raise PhotoNotFound()
    return photo
