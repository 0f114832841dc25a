"""Evidence photos: cleaned, stored once by content hash, readable by those who review them."""

from collections.abc import Sequence

from anyio import to_thread
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.db import insert_for
from api.errors import PhotoNotFound
from api.models import Claim, ClaimPhoto, Member, OrgUnit, Photo, utcnow
from api.photos import process_photo
from api.storage import PhotoStore, photo_key


def photo_links(photo_ids: Sequence[int]) -> tuple[str, ...]:
    """How evidence photos are referred to on ledger entries."""
    return tuple(f"photo:{pid}" for pid in photo_ids)


async def evidence_links(session: AsyncSession, photo_ids: Sequence[int]) -> tuple[str, ...]:
    """The links of existing photos; any unknown id is a clear 404."""
    if not photo_ids:
        return ()
    found = set(await session.scalars(select(Photo.id).where(col(Photo.id).in_(photo_ids))))
    missing = [pid for pid in photo_ids if pid not in found]
    if missing:
        raise PhotoNotFound(detail={"photo_ids": missing})
    return photo_links(photo_ids)


async def upload(
    session: AsyncSession, store: PhotoStore, principal: Principal, data: bytes
) -> tuple[Photo, int]:
    """Clean and store a photo; the same picture twice is one row. Returns it and its uses."""
    processed = await to_thread.run_sync(process_photo, data)
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
    uses = await session.scalar(
        select(func.count()).select_from(ClaimPhoto).where(col(ClaimPhoto.photo_id) == photo.id)
    )
    return photo, uses or 0


async def readable(session: AsyncSession, principal: Principal, photo_id: int) -> Photo:
    """The uploader, or a leader over the uploader or over anyone who claimed with it."""
    photo = await session.get(Photo, photo_id)
    if photo is None:
        raise PhotoNotFound()
    if photo.uploaded_by == principal.member_id:
        return photo
    members = (
        select(Claim.member_id)
        .join(ClaimPhoto, col(ClaimPhoto.claim_id) == col(Claim.id))
        .where(col(ClaimPhoto.photo_id) == photo_id)
    )
    paths = await session.scalars(
        select(OrgUnit.path)
        .join(Member, col(Member.unit_id) == col(OrgUnit.id))
        .where((col(Member.id) == photo.uploaded_by) | col(Member.id).in_(members))
    )
    if not any(principal.can(Action.read_members, path) for path in paths):
        raise PhotoNotFound()
    return photo
