"""Evidence photos: cleaned, stored once by content hash, readable by those who review them.

Reuse (重复证据): every use of a photo as evidence — a claim, a micro-wish's completion, an
appeal, a deduction — is an `EvidenceUse` under the photo's near-copy group. A photo joins the
group of an earlier photo whose perceptual hash is at most `NEAR_BITS` bits away: the candidates
are found by equality on one of the hash's four 16-bit quarters (`PhotoBand`, indexed), at most
`CANDIDATES` of them, so an upload never scans the photos. Two hashes up to three bits apart
always share a quarter; farther ones (up to `NEAR_BITS`) are found when a quarter is intact.
"""

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Insert,
    Integer,
    String,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.db import insert_for
from api.errors import PhotoFileMissing, PhotoNotFound
from api.models import (
    Claim,
    ClaimPhoto,
    EvidenceKind,
    EvidenceUse,
    Member,
    OrgUnit,
    Photo,
    PhotoBand,
    PhotoUpload,
    ScoreEntry,
    id_of,
    utcnow,
)
from api.models.base import UTCDateTime
from api.photos import PhotoDecoder
from api.reads import Read, adopt, columns_of
from api.storage import PhotoStore, photo_key

log = logging.getLogger("api.photos")

NEAR_BITS = 6
CANDIDATES = 64
_BANDS = 4
_BITS = 64
_PHOTO_LINK = re.compile(r"photo:[1-9][0-9]{0,17}")


def photo_links(photo_ids: Sequence[int]) -> tuple[str, ...]:
    """How evidence photos are referred to on ledger entries."""
    return tuple(f"photo:{pid}" for pid in photo_ids)


async def evidence_links(
    session: AsyncSession, principal: Principal, photo_ids: Sequence[int]
) -> tuple[str, ...]:
    """The links of photos the principal uploaded; any other id is a 404, the same whether the
    photo does not exist or is someone else's (so ids reveal nothing).

    The photos are kept as the principal's own for the request: the answer that shows them
    (`readable_among`) does not read them again."""
    if not photo_ids:
        return ()
    uploaded = await _UPLOADED_BY.all(
        session, {"photo_ids": list(photo_ids), "member_id": principal.member_id}
    )
    own = _own_photos(session)
    for row in uploaded:
        photo = adopt(session, Photo, row)
        own[principal.member_id, id_of(photo)] = photo
    missing = [pid for pid in photo_ids if (principal.member_id, pid) not in own]
    if missing:
        raise PhotoNotFound(detail={"photo_ids": missing})
    return photo_links(photo_ids)


def _own_photos(session: AsyncSession) -> dict[tuple[int, int], Photo]:
    """The photos found uploaded by a member in this session, by (member, photo)."""
    own: dict[tuple[int, int], Photo] = session.info.setdefault("own_photos", {})
    return own


# Built once, as the other statements of evidence: every claim's submission and answer runs
# them, only their values change.
_UPLOADED_BY = Read(
    sa_select(*columns_of(Photo))
    .join(PhotoUpload, col(PhotoUpload.photo_id) == col(Photo.id))
    .where(
        col(PhotoUpload.photo_id).in_(bindparam("photo_ids", expanding=True)),
        col(PhotoUpload.member_id) == bindparam("member_id"),
    )
)


@dataclass(frozen=True)
class Uploaded:
    photo: Photo
    in_claims: int  # claims using this very photo
    as_evidence: int  # uses of the photo or a near copy, anywhere


async def upload(
    session: AsyncSession,
    principal: Principal,
    *,
    data: bytes,
    store: PhotoStore,
    decoder: PhotoDecoder,
) -> Uploaded:
    """Clean and store a photo; the same picture twice is one row. Returns it and its uses."""
    processed = await decoder.process(data)
    key = photo_key(processed.sha256, processed.extension)
    await store.put(key, processed.content, processed.content_type)
    insert = insert_for(session)
    created = await session.scalar(
        insert(Photo)
        .values(
            sha256=processed.sha256,
            storage_key=key,
            content_type=processed.content_type,
            size=len(processed.content),
            width=processed.width,
            height=processed.height,
            uploaded_by=principal.member_id,
            phash=_signed(processed.phash),
            original_id=await _original_of(session, processed.phash),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
        .returning(col(Photo.id))
    )
    if created is not None:
        session.add_all(
            PhotoBand(band=band, value=value, photo_id=created)
            for band, value in enumerate(_bands(processed.phash))
        )
    photo = await session.scalar(select(Photo).where(col(Photo.sha256) == processed.sha256))
    assert photo is not None
    # The same picture from another member is the same row, and now theirs too.
    await session.execute(
        insert(PhotoUpload)
        .values(photo_id=photo.id, member_id=principal.member_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["photo_id", "member_id"])
    )
    in_claims = await session.scalar(
        select(func.count()).select_from(ClaimPhoto).where(col(ClaimPhoto.photo_id) == photo.id)
    )
    as_evidence = await session.scalar(
        select(func.count())
        .select_from(EvidenceUse)
        .where(col(EvidenceUse.original_id) == (photo.original_id or photo.id))
    )
    return Uploaded(photo, in_claims or 0, as_evidence or 0)


def _signed(phash: int) -> int:
    """The 64-bit hash as the signed integer a BIGINT column holds."""
    return phash - (1 << _BITS) if phash >= 1 << (_BITS - 1) else phash


def _bands(phash: int) -> list[int]:
    width = _BITS // _BANDS
    return [(phash >> (width * band)) & ((1 << width) - 1) for band in range(_BANDS)]


async def _original_of(session: AsyncSession, phash: int) -> int | None:
    """The group of the nearest stored photo at most `NEAR_BITS` bits away, if any."""
    candidates = await session.execute(
        select(Photo.id, Photo.phash, Photo.original_id)
        .join(PhotoBand, col(PhotoBand.photo_id) == col(Photo.id))
        .where(
            or_(
                *(
                    and_(col(PhotoBand.band) == band, col(PhotoBand.value) == value)
                    for band, value in enumerate(_bands(phash))
                )
            )
        )
        .limit(CANDIDATES)
    )
    nearest: tuple[int, int] | None = None
    for photo_id, other, original_id in candidates:
        assert photo_id is not None and other is not None
        distance = ((other % (1 << _BITS)) ^ phash).bit_count()
        if distance <= NEAR_BITS and (nearest is None or distance < nearest[0]):
            nearest = (distance, original_id or photo_id)
    return nearest[1] if nearest else None


# --- uses as evidence --------------------------------------------------------------------------


async def record_uses(
    session: AsyncSession,
    kind: EvidenceKind,
    ref_id: int,
    photo_ids: Sequence[int],
    now: datetime | None = None,
) -> None:
    """The photos are evidence of this claim, wish, appeal or deduction (once per photo)."""
    if not photo_ids:
        return
    await session.execute(
        _RECORD_USES[session.get_bind().dialect.name],
        {"photo_ids": list(photo_ids), "kind": str(kind), "ref_id": ref_id, "now": now or utcnow()},
    )


def _recording_uses(
    insert_of: Callable[[Any], postgresql.Insert] | Callable[[Any], sqlite.Insert],
) -> Insert:
    """`record_uses`'s INSERT in one database's dialect (of the table: the ORM's would take
    the values as rows of a bulk insert)."""
    return (
        insert_of(EvidenceUse.__table__)  # type: ignore[attr-defined]
        .from_select(
            ["photo_id", "original_id", "kind", "ref_id", "created_at"],
            sa_select(
                col(Photo.id),
                func.coalesce(col(Photo.original_id), col(Photo.id)),
                bindparam("kind", type_=String()),
                bindparam("ref_id", type_=Integer()),
                bindparam("now", type_=UTCDateTime()),
            ).where(col(Photo.id).in_(bindparam("photo_ids", expanding=True))),
        )
        .on_conflict_do_nothing(index_elements=["kind", "ref_id", "photo_id"])
    )


_RECORD_USES = {
    "postgresql": _recording_uses(postgresql.insert),
    "sqlite": _recording_uses(sqlite.insert),
}


async def release_uses(session: AsyncSession, kind: EvidenceKind, ref_ids: Sequence[int]) -> None:
    """These no longer stand as evidence (a claim rejected or withdrawn)."""
    if ref_ids:
        await session.execute(
            delete(EvidenceUse).where(
                col(EvidenceUse.kind) == kind, col(EvidenceUse.ref_id).in_(list(ref_ids))
            )
        )


async def reuse_counts(
    session: AsyncSession, kind: EvidenceKind, ref_ids: Sequence[int]
) -> dict[int, int]:
    """For each of these, how often its photos (or near copies) are evidence elsewhere.

    One read whatever the flood: the page's own uses, each with its group's count (indexed).
    """
    if not ref_ids:
        return {}
    own = await _USES_WITH_GROUP_COUNTS.all(session, {"kind": kind, "ref_ids": list(ref_ids)})
    mine = Counter((ref, group) for ref, group, _ in own)
    uses = {group: count for _, group, count in own}
    reused: Counter[int] = Counter()
    for (ref, group), times in mine.items():
        reused[ref] += uses[group] - times
    return dict(reused)


_GROUP = EvidenceUse.__table__.alias("group_use")  # type: ignore[attr-defined]
_USES_WITH_GROUP_COUNTS = Read(
    sa_select(
        col(EvidenceUse.ref_id),
        col(EvidenceUse.original_id),
        sa_select(func.count())
        .select_from(_GROUP)
        .where(_GROUP.c.original_id == col(EvidenceUse.original_id))
        .scalar_subquery(),
    ).where(
        col(EvidenceUse.kind) == bindparam("kind"),
        col(EvidenceUse.ref_id).in_(bindparam("ref_ids", expanding=True)),
    )
)


async def by_id(session: AsyncSession, photo_id: int) -> Photo:
    """A photo whatever the principal: only for a signed link, whose issue checked access."""
    photo = await session.get(Photo, photo_id)
    if photo is None:
        raise PhotoNotFound()
    return photo


async def readable(session: AsyncSession, principal: Principal, photo_id: int) -> Photo:
    """An uploader, the member a deduction it proves was recorded against (they are told why
    they lost points), or a leader over any of them or over anyone who claimed with it."""
    photo = (await readable_among(session, principal, photo_ids=[photo_id])).get(photo_id)
    if photo is None:
        raise PhotoNotFound()
    return photo


async def readable_among(
    session: AsyncSession, principal: Principal, *, photo_ids: Iterable[int]
) -> dict[int, Photo]:
    """Those of the photos the principal may see (`readable`), by id; one query for a page."""
    own = _own_photos(session)
    readable: dict[int, Photo] = {}
    unknown = []
    for photo_id in sorted(set(photo_ids)):
        if (principal.member_id, photo_id) in own:
            readable[photo_id] = own[principal.member_id, photo_id]
        else:
            unknown.append(photo_id)
    if not unknown:
        return readable
    for row in await _PEOPLE_OF_PHOTOS.all(session, {"ids": unknown}):
        member_id, is_own, path = row[_PHOTO_END:]
        if (is_own and member_id == principal.member_id) or principal.can(
            Action.read_members, path
        ):
            photo = adopt(session, Photo, row[:_PHOTO_END])
            readable[id_of(photo)] = photo
    return readable


_PHOTO_IDS: BindParameter[int] = bindparam("ids", expanding=True)
# Whose each photo is: its uploaders (their own), the members who claimed with it, and the
# members a deduction it proves was recorded against (their own too).
_PEOPLE = union_all(
    sa_select(
        col(PhotoUpload.photo_id).label("photo_id"),
        col(PhotoUpload.member_id).label("member_id"),
        literal(True).label("own"),
    ).where(col(PhotoUpload.photo_id).in_(_PHOTO_IDS)),
    sa_select(col(ClaimPhoto.photo_id), col(Claim.member_id), literal(False))
    .join(Claim, col(Claim.id) == col(ClaimPhoto.claim_id))
    .where(col(ClaimPhoto.photo_id).in_(_PHOTO_IDS)),
    sa_select(col(EvidenceUse.photo_id), col(ScoreEntry.member_id), literal(True))
    .join(ScoreEntry, col(ScoreEntry.id) == col(EvidenceUse.ref_id))
    .where(
        col(EvidenceUse.kind) == EvidenceKind.deduction,
        col(EvidenceUse.photo_id).in_(_PHOTO_IDS),
        col(ScoreEntry.member_id).is_not(None),
    ),
).subquery()
_PHOTO_END = len(columns_of(Photo))
_PEOPLE_OF_PHOTOS = Read(
    sa_select(*columns_of(Photo), _PEOPLE.c.member_id, _PEOPLE.c.own, col(OrgUnit.path))
    .join(_PEOPLE, _PEOPLE.c.photo_id == col(Photo.id))
    .join(Member, col(Member.id) == _PEOPLE.c.member_id)
    .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
)


async def stored_bytes(store: PhotoStore, photo: Photo) -> bytes:
    """The photo's bytes. A row whose file is gone (a store restored from an older backup, a
    bucket emptied by hand) is the operator's problem: logged for them, and the member is told
    the picture is lost rather than getting a bare 500."""
    try:
        return await store.get(photo.storage_key)
    except KeyError:
        log.error("photo %s: no file under %s", photo.id, photo.storage_key)
        raise PhotoFileMissing() from None


def photo_ids_in(evidence: Iterable[str]) -> list[int]:
    """The photos a ledger entry's evidence names (`photo_links`), in its order."""
    return [int(link[6:]) for link in evidence if _PHOTO_LINK.fullmatch(link)]
