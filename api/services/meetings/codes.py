"""Scan-in codes: what the secretary's screen shows as a QR code, rotating every 30 s.

A code names the meeting and a 30-second slot and is signed by the service (HMAC-SHA256 with a
key derived from `DATA_KEY`, or from the JWT secret where that is empty), so only the service
can make one and a code is good for the slot it was shown in and the next one. It is shaped as
a link under `CHECKIN_LINK_BASE`, the prefix the mini-program is configured to open
(扫普通链接二维码打开小程序), so WeChat's own scanner opens the mini-program with it, and
`wx.scanCode` reads the same text.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from api import signing
from api.config import Settings
from api.errors import CheckinCodeExpired, CheckinCodeInvalid

_PURPOSE = "check-in code"
ROTATE_SECONDS = 30
LINK_PARAMETER = "c"
MAX_SCANNED = 1024
_CODE = re.compile(r"^(\d{1,10})\.(\d{1,12})\.([A-Za-z0-9_-]{22})$")


@dataclass(frozen=True)
class CheckinCode:
    meeting_id: int
    slot: int
    signature: str

    @property
    def text(self) -> str:
        return f"{self.meeting_id}.{self.slot}.{self.signature}"


@dataclass(frozen=True)
class ShownCode:
    code: CheckinCode
    content: str  # what the QR code holds: the link, or the bare code without a link base
    refresh_at: datetime  # when the screen should show the next code
    expires_at: datetime  # when this one stops being accepted


def parse_checkin_code(scanned: str) -> CheckinCode | None:
    """The check-in code in a scanned text, or None if it holds none; the signature is not
    checked here. Takes the bare code, the link, or the link percent-encoded as WeChat hands
    it to the mini-program (the `q` of its launch options)."""
    text = scanned.strip()
    if len(text) > MAX_SCANNED:
        return None
    if "%" in text:
        text = unquote(text)
    if "?" in text:
        try:
            query = parse_qs(urlsplit(text).query)
        except ValueError:
            return None
        values = query.get(LINK_PARAMETER)
        if not values:
            return None
        text = values[0]
    found = _CODE.match(text)
    if found is None:
        return None
    meeting_id, slot, signature = found.groups()
    return CheckinCode(int(meeting_id), int(slot), signature)


def slot_of(moment: datetime) -> int:
    return int(moment.timestamp()) // ROTATE_SECONDS


def sign_checkin_code(settings: Settings, meeting_id: int, moment: datetime) -> CheckinCode:
    slot = slot_of(moment)
    return CheckinCode(meeting_id, slot, _signature(settings, meeting_id, slot))


def shown_code(settings: Settings, meeting_id: int, now: datetime) -> ShownCode:
    code = sign_checkin_code(settings, meeting_id, now)
    slot_start = datetime.fromtimestamp(code.slot * ROTATE_SECONDS, UTC)
    return ShownCode(
        code,
        _link(settings, code),
        slot_start + timedelta(seconds=ROTATE_SECONDS),
        slot_start + timedelta(seconds=2 * ROTATE_SECONDS),
    )


def check_signature(settings: Settings, code: CheckinCode) -> None:
    if not signing.matches(
        settings, _PURPOSE, _message(code.meeting_id, code.slot), code.signature
    ):
        raise CheckinCodeInvalid()


def check_fresh(code: CheckinCode, now: datetime) -> None:
    """Accepted in the slot it was shown in and the next; a later slot was never shown."""
    current = slot_of(now)
    if code.slot > current:
        raise CheckinCodeInvalid()
    if code.slot < current - 1:
        raise CheckinCodeExpired()


def _message(meeting_id: int, slot: int) -> str:
    return f"checkin:{meeting_id}:{slot}"


def _signature(settings: Settings, meeting_id: int, slot: int) -> str:
    return signing.mac(settings, _PURPOSE, _message(meeting_id, slot))


def _link(settings: Settings, code: CheckinCode) -> str:
    base = settings.checkin_link_base
    if not base:
        return code.text
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urlencode({LINK_PARAMETER: code.text})}"
