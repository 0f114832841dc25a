"""The mini-program's pages the service sends people to (the mini-program defines them).

A page path is relative (no leading `/`) and carries no parameters where WeChat takes a page
(`getwxacodeunlimit`, `generate_urllink`); `wx.navigateTo` and `onShareAppMessage` take the
absolute form with a query (`page_url`).
"""

from typing import Final
from urllib.parse import urlencode

SCAN: Final = "pages/scan/index"  # opens every 小程序码 and scanned code: resolves its scene
BOARD: Final = "pages/board/index"  # 公示榜: period_id, unit_id
SHARE: Final = "pages/board/share"  # the share screen of a board: period_id, unit_id
MEMBER_CARD: Final = "pages/member/card"  # 一人一卡: member_id
CHECKIN: Final = "pages/checkin/index"  # 会议签到: c (the scanned code)


def page_url(page: str, **query: int | str) -> str:
    """`/page?k=v…`, as `wx.navigateTo` and a share card's `path` take it."""
    return f"/{page}?{urlencode(query)}" if query else f"/{page}"


def page_query(**query: int | str) -> str:
    """The query of a page, as `generate_urllink` and `entrancePath` take it."""
    return urlencode(query)
