"""Settings read from the environment (and an optional `.env` file)."""

from datetime import timedelta
from functools import lru_cache
from typing import Literal, Self
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.logs import REDACTED, redact
from api.photos import (
    MAX_PIXELS_JPEG,
    MAX_PIXELS_PNG,
    MAX_PIXELS_PROGRESSIVE_JPEG,
    MAX_PIXELS_WEBP,
    MAX_UPLOAD_BYTES,
    PhotoLimits,
)

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-secret-change-me"})
DEV_JWT_SECRET = "dev-secret-change-me"
MIN_PROD_SECRET_LENGTH = 32
# Any of these set means the service talks to real WeChat users, whatever ENV says: our own
# secrets must then be real too.
WECHAT_CREDENTIALS = (
    "wechat_app_id",
    "wechat_app_secret",
    "wechat_callback_token",
    "wechat_encoding_aes_key",
    "service_app_id",
    "service_app_secret",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Literal["dev", "prod"] = "dev"
    database_url: str = "sqlite+aiosqlite:///./data/pioneer.db"
    # PostgreSQL connections each API process keeps open, and how many more it may open for a
    # burst (closed again once used): about as many as the requests it serves at once.
    database_pool_size: int = Field(default=20, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    # Migrations run as the role that owns the tables; the service, as one that owns nothing.
    migration_database_url: str = ""
    port: int = 8000
    # /docs, /redoc and /openapi.json are served in dev; in prod only when this says so.
    docs_in_prod: bool = False

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_minutes: int = Field(default=120, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)
    # A login ends this long after it began, however often it is refreshed.
    session_max_days: int = Field(default=90, ge=1)
    # A rotated refresh token presented again this soon gets the pair it was rotated into
    # (a phone waking up with two requests); later, or once that pair is spent, it is reuse.
    refresh_grace_seconds: int = Field(default=20, ge=0, le=300)
    binding_ticket_minutes: int = Field(default=10, ge=1)
    invite_code_days: int = Field(default=7, ge=1)
    # 扫码登录 of the PC console: how long its QR code may be confirmed and redeemed, and how
    # long the console's own login lasts (shorter than a phone's: a PC is shared more often).
    console_ticket_minutes: int = Field(default=5, ge=1, le=30)
    console_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # The https prefix the mini-program is configured to open for the console's QR code
    # (扫普通链接二维码打开小程序); empty: the bare `pioneer-console:<ticket>` for wx.scanCode.
    console_link_base: str = Field(default="", max_length=200)
    # The built console (`npm run build` in web/), served at /admin.
    console_dir: str = "web/dist"

    wechat_app_id: str = ""
    wechat_app_secret: SecretStr = SecretStr("")
    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    wechat_timeout_seconds: float = Field(default=5.0, gt=0)
    wechat_busy_retries: int = Field(default=2, ge=0)
    wechat_retry_backoff_seconds: float = Field(default=0.2, ge=0)

    # Each WeChat app pushes to its own path with its own token and safe-mode key.
    wechat_callback_token: SecretStr = SecretStr("")
    wechat_encoding_aes_key: SecretStr = SecretStr("")
    miniprogram_state: Literal["developer", "trial", "formal"] = "formal"
    service_app_id: str = ""
    service_app_secret: SecretStr = SecretStr("")
    service_callback_token: SecretStr = SecretStr("")
    service_encoding_aes_key: SecretStr = SecretStr("")
    # Doubling backoff from `delivery_backoff_seconds`, capped at `delivery_backoff_max_seconds`:
    # 30 attempts keep a delivery alive through about two hours of WeChat being down.
    delivery_max_attempts: int = Field(default=30, ge=1)
    delivery_backoff_seconds: float = Field(default=5.0, ge=0)
    delivery_backoff_max_seconds: float = Field(default=300.0, ge=0)
    delivery_lease_seconds: int = Field(default=60, ge=1)
    # Calls to WeChat per second by every worker process together (on PostgreSQL they share
    # one pace; on SQLite there is one process); 0: no limit.
    delivery_rate_per_second: float = Field(default=0, ge=0, description="0: no limit")
    # Deliveries one worker has on their way at once, so that a call always waits for the
    # pace's next slot; on SQLite, which writes one at a time, one.
    delivery_concurrency: int = Field(default=4, ge=1, le=16)
    # The worker's CPU priority below the API's (Unix nice): on a shared machine, phone requests
    # come first and the outbox is sent with what they leave; 0 keeps the same priority.
    worker_nice: int = Field(default=10, ge=0, le=19)
    # Encrypts secrets we must keep (WeCom robot webhook keys); required in production.
    data_key: SecretStr = SecretStr("")
    robot_posts_per_minute: int = Field(default=20, ge=1, description="WeCom: 20/min per robot")
    robot_max_attempts: int = Field(default=8, ge=1)
    app_page_base: str = Field(default="", description="link to the mini-program's 公示 page")
    # 小程序码 and URL Links: the mini-program version they open ("trial" for a trial build) and
    # whether WeChat checks that the code's page is published (off until the page is).
    wxa_env_version: Literal["release", "trial", "develop"] = "release"
    wxacode_check_path: bool = True
    # How long a signed share image or poster link works, and a URL Link (WeChat: 30 days at most).
    share_link_minutes: int = Field(default=30, ge=1, le=24 * 60)
    url_link_days: int = Field(default=30, ge=2, le=30)
    # The load benchmark's baseline endpoint (one indexed read, one insert); off in service.
    probe_endpoint: bool = False
    # 组织生活: the https prefix the mini-program is configured to open (扫普通链接二维码打开小程序)
    # for scan-in codes (empty: the bare code, for wx.scanCode only); the check-in radius around
    # a meeting's place where the meeting sets none (0: off), and the window that flags several
    # members checking in from one client address (0: off).
    checkin_link_base: str = Field(default="", max_length=200)
    checkin_radius_meters: int = Field(default=0, ge=0)
    checkin_burst_seconds: float = Field(default=3.0, ge=0)

    timezone: str = "Asia/Shanghai"
    appeal_window_days: int = Field(default=7, ge=1)
    # 公示期: how many days, counting the day of publication, a board stays posted for objections.
    publicity_days: int = Field(default=7, ge=1, le=30)
    # A member's claims of one item waiting for review at once: a flood cannot fill the inbox.
    max_pending_claims_per_item: int = Field(default=10, ge=1)
    photo_dir: str = Field(default="./data/photos", description="PHOTO_STORE=local: the directory")

    # Where photo bytes live (api/storage.py): a local directory, or an S3-compatible bucket
    # (Tencent COS, Aliyun OSS, MinIO) that every API process shares.
    photo_store: Literal["local", "s3"] = Field(
        default="local", description="local: PHOTO_DIR; s3: the S3_* bucket"
    )
    s3_endpoint_url: str = Field(
        default="",
        max_length=300,
        description="the store's endpoint as the API reaches it (empty: AWS from S3_REGION)",
    )
    s3_public_endpoint_url: str = Field(
        default="",
        max_length=300,
        description="the endpoint phones reach, named in presigned URLs (empty: S3_ENDPOINT_URL)",
    )
    s3_bucket: str = Field(default="", max_length=63, description="required with PHOTO_STORE=s3")
    s3_region: str = Field(default="us-east-1", max_length=64)
    s3_access_key_id: str = Field(
        default="", description="empty: the SDK's own chain (AWS_* variables, instance role)"
    )
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_addressing_style: Literal["auto", "virtual", "path"] = Field(
        default="auto", description="COS and OSS: virtual; MinIO: path"
    )
    s3_key_prefix: str = Field(
        default="",
        pattern=r"^([A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*)?$",
        max_length=100,
        description="objects are stored under this folder of the bucket (e.g. pioneer/photos)",
    )
    s3_timeout_seconds: float = Field(default=10.0, gt=0)
    # Photos reach the mini-program as short-lived signed URLs (`<image src>` sends no Bearer
    # header): by default a route of ours that reads the store; with S3_PRESIGN, a presigned
    # GetObject URL, which needs a bucket that phones can reach.
    s3_presign: bool = Field(
        default=False, description="photo URLs presigned at the store instead of served by the API"
    )
    photo_link_seconds: int = Field(
        default=600, ge=10, le=86_400, description="how long a photo's URL loads without a token"
    )
    # The origin phones reach the API at, for the links it signs; behind a proxy the request's
    # own origin may be an internal one.
    api_public_url: str = Field(
        default="",
        max_length=200,
        pattern=r"^(https?://[^/?#\s]+(/[^?#\s]*)?)?$",
        description="e.g. https://api.example.cn (empty: the origin of each request)",
    )

    # What one request may send (api/limits.py): bodies are refused by their declared and their
    # streamed size, per route, before anything parses or stores them.
    body_max_bytes: int = Field(default=64 * 1024, ge=1024, description="JSON and other bodies")
    photo_max_bytes: int = Field(default=MAX_UPLOAD_BYTES, ge=1024)
    roster_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Pixels a photo may declare, by what decoding it costs (see api/photos.py), and how many
    # photos one process decodes at once.
    photo_max_pixels_jpeg: int = Field(default=MAX_PIXELS_JPEG, ge=1)
    photo_max_pixels_progressive_jpeg: int = Field(default=MAX_PIXELS_PROGRESSIVE_JPEG, ge=1)
    photo_max_pixels_png: int = Field(default=MAX_PIXELS_PNG, ge=1)
    photo_max_pixels_webp: int = Field(default=MAX_PIXELS_WEBP, ge=1)
    photo_decodes: int = Field(default=1, ge=1)

    # Attempts per window and client (api/rate_limits.py), counted in the database so that they
    # hold across API processes; 0 turns a limit off.
    rate_window_seconds: int = Field(default=600, ge=1)
    login_per_account: int = Field(default=20, ge=0)
    login_per_address: int = Field(default=300, ge=0)
    bind_per_ticket: int = Field(default=5, ge=0, description="a ticket's whole life")
    bind_per_account: int = Field(default=10, ge=0)
    bind_per_address: int = Field(default=100, ge=0)
    uploads_per_member: int = Field(default=60, ge=0)
    uploads_per_address: int = Field(default=300, ge=0)
    console_tickets_per_address: int = Field(default=60, ge=0)
    # Proxies of ours in front of the service that append to X-Forwarded-For; 0: the address the
    # connection comes from is the client's.
    trusted_proxy_hops: int = Field(default=0, ge=0)

    # Operations (api/logs.py, api/metrics.py): where the processes listen, how they log, who
    # may read the metrics, and how old the worker's last loop may be before /readyz says so.
    bind_host: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    metrics_token: SecretStr = SecretStr("")
    worker_port: int = Field(default=0, ge=0, le=65535, description="0: no HTTP server")
    worker_stale_seconds: int = Field(default=300, ge=0, description="0: not checked")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets_with_real_users(self) -> Self:
        configured = [name.upper() for name in WECHAT_CREDENTIALS if self._is_set(name)]
        if self.env != "prod" and not configured:
            return self
        reason = f"WeChat is configured ({', '.join(configured)})" if configured else "ENV=prod"
        if _weak(self.jwt_secret):
            raise ValueError(
                "JWT_SECRET must be set to a random value of at least "
                f"{MIN_PROD_SECRET_LENGTH} characters when {reason}"
            )
        if self.data_key.get_secret_value() and _weak(self.data_key):
            raise ValueError(
                f"DATA_KEY must be empty or a random value of at least {MIN_PROD_SECRET_LENGTH} "
                f"characters when {reason}"
            )
        return self

    def _is_set(self, name: str) -> bool:
        value = getattr(self, name)
        return bool(value.get_secret_value() if isinstance(value, SecretStr) else value)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.env != "prod":
            return self
        if not self.wechat_app_id or not self.wechat_app_secret.get_secret_value():
            raise ValueError("WECHAT_APP_ID and WECHAT_APP_SECRET are required when ENV=prod")
        if len(self.data_key.get_secret_value()) < MIN_PROD_SECRET_LENGTH:
            raise ValueError(
                f"DATA_KEY must be a random value of at least {MIN_PROD_SECRET_LENGTH} characters "
                "when ENV=prod (it encrypts the group robots' webhook keys)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_an_incomplete_photo_store(self) -> Self:
        if self.photo_store == "s3" and not self.s3_bucket:
            raise ValueError("S3_BUCKET is required when PHOTO_STORE=s3")
        if self.s3_presign and self.photo_store != "s3":
            raise ValueError("S3_PRESIGN needs PHOTO_STORE=s3")
        if bool(self.s3_access_key_id) != bool(self.s3_secret_access_key.get_secret_value()):
            raise ValueError("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together")
        return self

    def printable(self) -> dict[str, object]:
        """Every setting as in force, for the startup line: a secret says only whether it is
        set, and a URL shows no password and no query values."""
        shown: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "(set)" if value.get_secret_value() else ""
            elif isinstance(value, str):
                value = redact(_without_password(value))
            shown[name.upper()] = value
        return shown

    @property
    def migrations_url(self) -> str:
        return self.migration_database_url or self.database_url

    @property
    def docs_enabled(self) -> bool:
        return self.env != "prod" or self.docs_in_prod

    @property
    def dev_login_enabled(self) -> bool:
        """The fake WeChat login exists only in dev, and only without real credentials."""
        return self.env == "dev" and not self.wechat_app_id

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def access_token_ttl(self) -> timedelta:
        return timedelta(minutes=self.access_token_minutes)

    @property
    def refresh_token_ttl(self) -> timedelta:
        return timedelta(days=self.refresh_token_days)

    @property
    def session_max_age(self) -> timedelta:
        return timedelta(days=self.session_max_days)

    @property
    def refresh_grace(self) -> timedelta:
        return timedelta(seconds=self.refresh_grace_seconds)

    @property
    def photo_limits(self) -> PhotoLimits:
        return PhotoLimits(
            max_bytes=self.photo_max_bytes,
            max_pixels_jpeg=self.photo_max_pixels_jpeg,
            max_pixels_progressive_jpeg=self.photo_max_pixels_progressive_jpeg,
            max_pixels_png=self.photo_max_pixels_png,
            max_pixels_webp=self.photo_max_pixels_webp,
        )

    @property
    def photo_link_ttl(self) -> timedelta:
        return timedelta(seconds=self.photo_link_seconds)

    @property
    def rate_window(self) -> timedelta:
        return timedelta(seconds=self.rate_window_seconds)

    @property
    def binding_ticket_ttl(self) -> timedelta:
        return timedelta(minutes=self.binding_ticket_minutes)

    @property
    def invite_code_ttl(self) -> timedelta:
        return timedelta(days=self.invite_code_days)

    @property
    def console_ticket_ttl(self) -> timedelta:
        return timedelta(minutes=self.console_ticket_minutes)

    @property
    def console_session_max_age(self) -> timedelta:
        return timedelta(hours=self.console_session_hours)


def _without_password(text: str) -> str:
    """`postgresql+asyncpg://app:pw@db/x` → `postgresql+asyncpg://app:***@db/x`."""
    parts = urlsplit(text)
    if not parts.password:
        return text
    netloc = parts.netloc.replace(f":{parts.password}@", f":{REDACTED}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _weak(secret: SecretStr) -> bool:
    value = secret.get_secret_value()
    return value in PLACEHOLDER_SECRETS or len(value) < MIN_PROD_SECRET_LENGTH


@lru_cache
def get_settings() -> Settings:
    return Settings()
