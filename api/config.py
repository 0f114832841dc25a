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
    delivery_rate_per_second: float = Field(default=0, ge=0, description="0: no limit")
    # The worker's CPU priority below the API's (Unix nice): on a shared machine, phone requests
    # come first and the outbox is sent with what they leave; 0 keeps the same priority.
    worker_nice: int = Field(default=10, ge=0, le=19)
    # Encrypts secrets we must keep (WeCom robot webhook keys); required in production.
    data_key: SecretStr = SecretStr("")
    robot_posts_per_minute: int = Field(default=20, ge=1, description="WeCom: 20/min per robot")
    robot_max_attempts: int = Field(default=8, ge=1)
    app_page_base: str = Field(default="", description="link to the mini-program's 公示 page")
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
    # A member's claims of one item waiting for review at once: a flood cannot fill the inbox.
    max_pending_claims_per_item: int = Field(default=10, ge=1)
    photo_dir: str = "./data/photos"

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
    def rate_window(self) -> timedelta:
        return timedelta(seconds=self.rate_window_seconds)

    @property
    def binding_ticket_ttl(self) -> timedelta:
        return timedelta(minutes=self.binding_ticket_minutes)

    @property
    def invite_code_ttl(self) -> timedelta:
        return timedelta(days=self.invite_code_days)


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
