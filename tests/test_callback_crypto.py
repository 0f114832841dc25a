"""Safe-mode pushes: the official WeChat test vector decrypts; a wrong signature is refused."""

import hashlib
from datetime import UTC, datetime

import httpx
import pytest

from api.errors import CallbackRefused
from api.services.callbacks import PushApp, WeChatApp, parse, push_app
from tests.conftest import make_settings

# WeChat's published test vector (shared/docs/WECHAT.md, shared/docs/wechat_vector.txt).
ENCRYPT = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="  # noqa: E501
QUERY = {
    "encrypt_type": "aes",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
}
# The vector was signed in 2014: it is checked against a clock of its own time.
SIGNED_AT = datetime.fromtimestamp(1409735669, UTC)


def vector_app() -> PushApp:
    settings = make_settings(
        "sqlite+aiosqlite:///:memory:",
        wechat_app_id="wx2c2769f8efd9abc2",
        wechat_callback_token="spamtest",
        wechat_encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    )
    return push_app(settings, WeChatApp.mini)


def body() -> bytes:
    xml = f"<xml><ToUserName>toUser</ToUserName><Encrypt><![CDATA[{ENCRYPT}]]></Encrypt></xml>"
    return xml.encode()


def test_the_official_vector_decrypts_to_its_text_message() -> None:
    message = parse(vector_app(), body(), QUERY, now=SIGNED_AT)
    assert message["MsgType"] == "text"
    assert message["Content"] == "abcdteT"


def test_a_wrong_message_signature_is_refused() -> None:
    with pytest.raises(CallbackRefused):
        parse(vector_app(), body(), {**QUERY, "msg_signature": "0" * 40}, now=SIGNED_AT)


def test_the_same_vector_works_in_json_format() -> None:
    json_body = ('{"ToUserName": "toUser", "Encrypt": "' + ENCRYPT + '"}').encode()
    assert parse(vector_app(), json_body, QUERY, now=SIGNED_AT)["Content"] == "abcdteT"


async def test_pushes_are_refused_while_no_callback_token_is_configured(
    client: httpx.AsyncClient,
) -> None:
    # The default test settings have no callback token: an empty token must not verify anything.
    signature = hashlib.sha1("".join(sorted(["", "1", "n"])).encode()).hexdigest()
    response = await client.get(
        "/api/v1/wechat/callback",
        params={"timestamp": "1", "nonce": "n", "signature": signature, "echostr": "x"},
    )
    assert response.status_code == 403
