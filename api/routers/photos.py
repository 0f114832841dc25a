"""Evidence photo upload and download, and the signed URLs that show photos without a token."""

from typing import Annotated

from fastapi import Depends, Request, Response

from api.contract import binary
from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep, Uploader
from api.limits import photo_too_large
from api.links import SignedLinkDep, cache_control
from api.models import id_of
from api.photo_urls import CONTENT_ROUTE, PhotoUrlsDep
from api.photos import PhotoDecoder
from api.routers import DomainRouter
from api.schemas.photos import PhotoOut
from api.services import photos as service
from api.storage import PhotoStore
from api.uploads import read_file, upload_body

router = DomainRouter(prefix="/photos", tags=["照片"])
PHOTO = binary("image/jpeg", "image/png", "image/webp", description="照片（存储时的格式）")


def _store(request: Request) -> PhotoStore:
    store: PhotoStore = request.app.state.photos
    return store


async def _photo(request: Request, _uploader: Uploader, settings: SettingsDep) -> bytes:
    limit = settings.photo_max_bytes
    return await read_file(request, max_bytes=limit, too_large=photo_too_large(limit))


@router.post(
    "",
    status_code=201,
    summary="上传证明照片（去除位置等元数据后按内容存储）",
    description=(
        "上传一张 JPEG、PNG 或 WebP 照片，"
        "去除位置等元数据并重新编码后按内容存储。返回照片 id 与临时链接。"
    ),
    openapi_extra=upload_body("JPEG、PNG 或 WebP，不超过 10 MB"),
)
async def upload(
    principal: Uploader,
    data: Annotated[bytes, Depends(_photo)],
    request: Request,
    session: SessionDep,
    urls: PhotoUrlsDep,
) -> PhotoOut:
    decoder: PhotoDecoder = request.app.state.photo_decoder
    uploaded = await service.upload(
        session, principal, data=data, store=_store(request), decoder=decoder
    )
    photo = uploaded.photo
    shown = await urls.shown(session, principal, [id_of(photo)])
    return PhotoOut(
        **shown[id_of(photo)].model_dump(),
        sha256=photo.sha256,
        content_type=photo.content_type,
        width=photo.width,
        height=photo.height,
        size=photo.size,
        used_in_claims=uploaded.in_claims,
        used_as_evidence=uploaded.as_evidence,
    )


@router.get(
    "/{photo_id}",
    summary="查看照片",
    description="须登录：照片的原始内容（存储时的格式）；只有能看到该照片所属记录的人可以查看。",
    response_class=Response,
    responses=PHOTO,
)
async def download(
    photo_id: int, request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    photo = await service.readable(session, principal, photo_id)
    content = await service.stored_bytes(_store(request), photo)
    return Response(content=content, media_type=photo.content_type)


@router.get(
    "/{photo_id}/content",
    name=CONTENT_ROUTE,
    summary="按临时链接加载照片（无需登录凭证；链接由返回照片的接口签发）",
    description=(
        "小程序 <image> 无法带登录令牌：返回照片的接口签发有时限的链接，凭链接中的签名读取。"
    ),
    response_class=Response,
    responses=PHOTO,
)
async def content(
    photo_id: int, link: SignedLinkDep, request: Request, session: SessionDep
) -> Response:
    photo = await service.by_id(session, photo_id)
    data = await service.stored_bytes(_store(request), photo)
    return Response(
        content=data, media_type=photo.content_type, headers={"Cache-Control": cache_control(link)}
    )
