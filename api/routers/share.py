"""Sharing a board in the branch's WeChat group; what a scanned code opens."""

from typing import Annotated

from fastapi import Query, Request, Response

from api.contract import binary
from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep, WeChatDep
from api.errors import PosterUnavailable
from api.models import utcnow
from api.publication.fonts import FontMissing
from api.routers import DomainRouter
from api.schemas.share import OpenedOut, ShareOut, SharerOut, SharersIn
from api.services.share import cards, nudges, resolve, scenes
from api.services.share.cards import SharedImage
from api.signing import SignedLink

router = DomainRouter(tags=["分享与扫码"])
Expires = Annotated[int, Query(ge=0, le=2**40, description="链接过期时间（Unix 秒）")]
Signature = Annotated[
    str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="链接签名")
]
Scene = Annotated[
    str,
    Query(
        min_length=1,
        max_length=1024,
        description="小程序码的 scene（已 decodeURIComponent），或扫到的普通二维码内容 / 签到码",
    ),
]
PNG = binary("image/png", description="分享图片 PNG")


def _link(request: Request, name: str, publication_id: int, link: SignedLink) -> str:
    path = request.app.url_path_for(name, publication_id=publication_id)
    return f"{path}?expires={link.expires}&signature={link.signature}"


@router.get(
    "/periods/{period_id}/boards/{unit_id}/share",
    summary="分享公示到微信群：分享卡片的标题、路径、图片与海报（签名链接）",
    description="分享到微信群所需的卡片标题、小程序路径、卡片图片与海报（均为有时限的签名链接）。",
)
async def share(
    period_id: int,
    unit_id: int,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    wechat: WeChatDep,
) -> ShareOut:
    card = await cards.share_card(
        session, principal, settings, wechat, period_id=period_id, unit_id=unit_id, now=utcnow()
    )
    return ShareOut(
        title=card.title,
        path=card.path,
        entrance_path=card.entrance_path,
        image_url=_link(request, "share_card_image", card.publication_id, card.card),
        poster_url=_link(request, "share_poster_image", card.publication_id, card.poster),
        expires_at=card.card.expires_at,
        outside_link=card.outside_link,
    )


async def _image(
    session: SessionDep,
    settings: SettingsDep,
    wechat: WeChatDep,
    publication_id: int,
    kind: SharedImage,
    expires: int,
    signature: str,
) -> Response:
    try:
        png = await cards.signed_image(
            session,
            settings,
            wechat,
            publication_id=publication_id,
            kind=kind,
            expires=expires,
            signature=signature,
            now=utcnow(),
        )
    except FontMissing as exc:
        raise PosterUnavailable() from exc
    return Response(png, media_type="image/png")


@router.get(
    "/share/boards/{publication_id}/card.png",
    name="share_card_image",
    summary="分享卡片图片（5:4，签名链接，无需登录）",
    description="分享卡片的图片（5:4 PNG），凭签名链接读取，无需登录。",
    response_class=Response,
    responses=PNG,
)
async def card_image(
    publication_id: int,
    session: SessionDep,
    settings: SettingsDep,
    wechat: WeChatDep,
    expires: Expires,
    signature: Signature,
) -> Response:
    return await _image(
        session, settings, wechat, publication_id, SharedImage.card, expires, signature
    )


@router.get(
    "/share/boards/{publication_id}/poster.png",
    name="share_poster_image",
    summary="排名海报（签名链接，无需登录，供 wx.downloadFile / showShareImageMenu）",
    description=(
        "排名海报（PNG），凭签名链接读取，无需登录，供 wx.downloadFile 或 showShareImageMenu 使用。"
    ),
    response_class=Response,
    responses=PNG,
)
async def poster_image(
    publication_id: int,
    session: SessionDep,
    settings: SettingsDep,
    wechat: WeChatDep,
    expires: Expires,
    signature: Signature,
) -> Response:
    return await _image(
        session, settings, wechat, publication_id, SharedImage.poster, expires, signature
    )


@router.get(
    "/scenes/resolve",
    summary="扫码或从小程序码进入：该码对应的页面（公示、积分卡、签到）",
    description=(
        "小程序码或签到码的 scene 对应的页面与参数（公示榜、"
        "积分卡、会议签到）；内容不在查看范围内时返回 404。"
    ),
)
async def resolve_scene(
    scene: Scene, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> OpenedOut:
    opened = await resolve.resolve(session, principal, settings, scene)
    return OpenedOut(
        kind=opened.kind,
        page=opened.page,
        title=opened.title,
        period_id=opened.period_id,
        unit_id=opened.unit_id,
        member_id=opened.member_id,
        meeting_id=opened.meeting_id,
        code=opened.code,
    )


@router.get(
    "/members/{member_id}/card-code.png",
    summary="党员积分卡（一人一卡）的小程序码：扫码在小程序中打开该党员的积分卡",
    description="打开该党员积分卡的小程序码图片（JPEG 或 PNG）。",
    response_class=Response,
    responses=binary("image/jpeg", "image/png", description="小程序码图片"),
)
async def member_card_code(
    member_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    wechat: WeChatDep,
) -> Response:
    image = await scenes.member_card_code(session, principal, wechat, settings, member_id)
    return Response(image, media_type=scenes.media_type(image))


@router.get(
    "/org/units/{branch_id}/sharers",
    summary="公示生成时提醒分享到微信群的党员",
    description="公示生成时会收到提醒、把公示分享到微信群的党员。",
)
async def sharers(
    branch_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[SharerOut]:
    found = await nudges.sharers(session, principal, branch_id)
    return [SharerOut.model_validate(member) for member in found]


@router.put(
    "/org/units/{branch_id}/sharers",
    summary="指定公示生成时提醒分享的党员（支部书记总会收到提醒）",
    description="指定公示生成时提醒分享的党员（须为本支部在册党员）；支部书记总会收到提醒。",
)
async def name_sharers(
    branch_id: int, body: SharersIn, principal: CurrentPrincipal, session: SessionDep
) -> list[SharerOut]:
    named = await nudges.name_sharers(session, principal, branch_id, body.sharer_ids)
    return [SharerOut.model_validate(member) for member in named]
