"""Typed settings from the environment (and an optional .env file)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypedDict

from dotenv import dotenv_values

MB = 1024 * 1024
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
# Marks a setting whose value must never reach a log (see bot/logging_setup.py).
SECRET = {"secret": True}


class ConfigError(Exception):
    """A setting is missing or malformed; the message says what to fix."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment."""

    data_dir: Path = Path("data")
    # Photos, QR codes, exports, caches; several processes need one shared path (NFS...).
    media_dir_override: Path | None = None
    # postgresql://… selects the PostgreSQL store (several processes); empty: DATA_DIR's store.
    database_url: str = field(default="", metadata=SECRET)
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    public_base_url: str = ""
    telegram_token: str = field(default="", metadata=SECRET)
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = field(default="", metadata=SECRET)
    admin_telegram_ids: frozenset[str] = field(default_factory=frozenset)
    telegram_max_rate: float = 30.0  # messages per second overall (Telegram's broadcast limit)
    zalo_oa_access_token: str = field(default="", metadata=SECRET)
    zalo_oa_refresh_token: str = field(default="", metadata=SECRET)
    zalo_app_id: str = ""
    zalo_app_secret: str = field(default="", metadata=SECRET)
    zalo_oa_secret_key: str = field(default="", metadata=SECRET)
    zalo_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"
    zalo_bot_token: str = field(default="", metadata=SECRET)
    zalo_bot_api_base_url: str = "https://bot-api.zaloplatforms.com"
    zalo_bot_webhook_secret: str = field(default="", metadata=SECRET)
    # Renew the OA access token this long before it expires (it lives about 25 hours).
    zalo_oa_renew_margin_hours: float = 1.0
    # "message_id": an answer to a user's message goes as a reply to it; "user_id": never.
    zalo_oa_reply_mode: str = "message_id"
    order_reminder_hours: float = 12.0
    order_expiry_hours: float = 24.0
    # A broadcast row claimed this long ago by a process that has not renewed its claim (it
    # died) is sent by another (several processes on one database; bot/services/outbox.py).
    broadcast_claim_seconds: float = 60.0
    log_level: str = "INFO"
    # Peers whose X-Forwarded-For names the real client (a reverse proxy); IPs or networks.
    trusted_proxies: tuple[str, ...] = ()
    # Anonymous web chat: messages per minute, upload bytes per hour. A whole commune may share
    # one carrier address, so the per-address caps are at least 10x the per-session ones.
    webchat_session_messages_per_minute: int = 20
    webchat_address_messages_per_minute: int = 300
    # All anonymous messages together: beyond this newcomers wait, registered users do not.
    webchat_anonymous_messages_per_minute: int = 1200
    webchat_session_upload_bytes_per_hour: int = 20 * MB
    webchat_address_upload_bytes_per_hour: int = 200 * MB
    media_sweep_grace_hours: float = 24.0  # an uploaded photo no record uses is removed after

    def secrets(self) -> list[str]:
        """The values of every secret setting that is set (tokens, keys, webhook secrets)."""
        return [
            str(getattr(self, f.name))
            for f in fields(self)
            if f.metadata.get("secret") and getattr(self, f.name)
        ]

    @property
    def media_dir(self) -> Path:
        """Where media files live: MEDIA_DIR, else DATA_DIR/media."""
        return self.media_dir_override or self.data_dir / "media"

    @property
    def base_url(self) -> str:
        """Where the bot's web server is reached from outside (links, QR codes)."""
        return self.public_base_url.rstrip("/") or f"http://{self.web_host}:{self.web_port}"

    @property
    def zalo_oa_enabled(self) -> bool:
        """Whether the Zalo Official Account channel has its credentials."""
        return bool(self.zalo_app_id and self.zalo_oa_secret_key and self.zalo_oa_access_token)


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Read settings from `environ` (default os.environ), with a .env file filling the gaps."""
    env: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    token = get("TELEGRAM_BOT_TOKEN")
    if token and not _TOKEN.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN looks wrong: it should be like 123456789:AAE... from @BotFather"
        )
    webhook_url = get("TELEGRAM_WEBHOOK_URL")
    secret = get("TELEGRAM_WEBHOOK_SECRET")
    if webhook_url and not webhook_url.startswith("https://"):
        raise ConfigError("TELEGRAM_WEBHOOK_URL must be an https:// address Telegram can reach")
    if webhook_url and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET must be set with the webhook: 16–256 letters, digits, _ or -"
        )
    port_text = get("WEB_PORT", "8080")
    if not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise ConfigError(
            f"WEB_PORT must be a port number (1–65535, or 0 for any free port), not {port_text!r}"
        )
    admins = {a.strip() for a in get("ADMIN_TELEGRAM_IDS").split(",") if a.strip()}
    bad = [a for a in admins if not a.lstrip("-").isdigit()]
    if bad:
        raise ConfigError(f"ADMIN_TELEGRAM_IDS must be numeric Telegram ids, not {bad[0]!r}")
    return Settings(
        data_dir=Path(get("DATA_DIR", "data")),
        media_dir_override=Path(get("MEDIA_DIR")) if get("MEDIA_DIR") else None,
        database_url=_database_url(get("DATABASE_URL")),
        web_host=get("WEB_HOST", "127.0.0.1"),
        web_port=int(port_text),
        public_base_url=get("PUBLIC_BASE_URL"),
        telegram_token=token,
        telegram_api_base_url=get("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot"),
        telegram_webhook_url=webhook_url,
        telegram_webhook_secret=secret,
        admin_telegram_ids=frozenset(admins),
        telegram_max_rate=_positive(
            get("TELEGRAM_MAX_RATE", "30"), "TELEGRAM_MAX_RATE", "messages per second"
        ),
        **_zalo(get),
        order_reminder_hours=_hours(get("ORDER_REMINDER_HOURS", "12"), "ORDER_REMINDER_HOURS"),
        order_expiry_hours=_hours(get("ORDER_EXPIRY_HOURS", "24"), "ORDER_EXPIRY_HOURS"),
        broadcast_claim_seconds=_positive(
            get("BROADCAST_CLAIM_SECONDS", "60"), "BROADCAST_CLAIM_SECONDS", "seconds"
        ),
        log_level=get("LOG_LEVEL", "INFO").upper(),
        **_web_limits(get),
    )


POSTGRES_SCHEMES = ("postgresql://", "postgres://")  # how a DATABASE_URL may begin


def _database_url(url: str) -> str:
    if url and not url.startswith(POSTGRES_SCHEMES):
        raise ConfigError("DATABASE_URL must be a postgresql:// address, or unset for DATA_DIR")
    return url


def _hours(text: str, name: str) -> float:
    return _positive(text, name, "hours")


def _positive(text: str, name: str, unit: str = "") -> float:
    """A positive number read from the environment, or a ConfigError naming `name`."""
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value <= 0:
        of_unit = f" of {unit}" if unit else ""
        raise ConfigError(f"{name} must be a positive number{of_unit}, not {text!r}")
    return value


class _WebLimits(TypedDict):
    trusted_proxies: tuple[str, ...]
    webchat_session_messages_per_minute: int
    webchat_address_messages_per_minute: int
    webchat_anonymous_messages_per_minute: int
    webchat_session_upload_bytes_per_hour: int
    webchat_address_upload_bytes_per_hour: int
    media_sweep_grace_hours: float


def _web_limits(get: Callable[..., str]) -> _WebLimits:
    """TRUSTED_PROXIES and the web chat's caps, checked (address caps >= 10x session caps)."""
    proxies = tuple(p.strip() for p in get("TRUSTED_PROXIES").split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"TRUSTED_PROXIES must list IP addresses or networks (10.0.0.0/8), not {proxy!r}"
            ) from None

    def positive(name: str, default: str) -> float:
        return _positive(get(name, default), name)

    limits: _WebLimits = {
        "trusted_proxies": proxies,
        "webchat_session_messages_per_minute": int(
            positive("WEBCHAT_SESSION_MESSAGES_PER_MINUTE", "20")
        ),
        "webchat_address_messages_per_minute": int(
            positive("WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE", "300")
        ),
        "webchat_anonymous_messages_per_minute": int(
            positive("WEBCHAT_ANONYMOUS_MESSAGES_PER_MINUTE", "1200")
        ),
        "webchat_session_upload_bytes_per_hour": int(
            positive("WEBCHAT_SESSION_UPLOAD_MB_PER_HOUR", "20") * MB
        ),
        "webchat_address_upload_bytes_per_hour": int(
            positive("WEBCHAT_ADDRESS_UPLOAD_MB_PER_HOUR", "200") * MB
        ),
        "media_sweep_grace_hours": positive("MEDIA_SWEEP_GRACE_HOURS", "24"),
    }
    pairs = [
        (
            "WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE",
            limits["webchat_address_messages_per_minute"],
            limits["webchat_session_messages_per_minute"],
        ),
        (
            "WEBCHAT_ADDRESS_UPLOAD_MB_PER_HOUR",
            limits["webchat_address_upload_bytes_per_hour"],
            limits["webchat_session_upload_bytes_per_hour"],
        ),
    ]
    for name, per_address, per_session in pairs:
        if per_address < 10 * per_session:
            raise ConfigError(
                f"{name} must be at least 10 times the per-session cap: many farmers may share "
                "one carrier address"
            )
    return limits


_ZALO_OA_VARS = ("ZALO_OA_ACCESS_TOKEN", "ZALO_APP_ID", "ZALO_OA_SECRET_KEY")


class _ZaloSettings(TypedDict):
    zalo_oa_access_token: str
    zalo_oa_refresh_token: str
    zalo_app_id: str
    zalo_app_secret: str
    zalo_oa_secret_key: str
    zalo_api_base_url: str
    zalo_oauth_base_url: str
    zalo_bot_token: str
    zalo_bot_api_base_url: str
    zalo_bot_webhook_secret: str
    zalo_oa_renew_margin_hours: float
    zalo_oa_reply_mode: str


ZALO_REPLY_MODES = ("message_id", "user_id")
RENEW_MARGIN_MAX = 12.0


def _zalo(get: Callable[..., str]) -> _ZaloSettings:
    """The ZALO_* settings, checked: a half-configured channel is an error, not silence."""
    values = {
        name: get(name)
        for name in (
            *_ZALO_OA_VARS,
            "ZALO_OA_REFRESH_TOKEN",
            "ZALO_APP_SECRET",
            "ZALO_BOT_TOKEN",
            "ZALO_BOT_WEBHOOK_SECRET",
        )
    }
    oa_set = [n for n in _ZALO_OA_VARS if values[n]]
    if oa_set and len(oa_set) < len(_ZALO_OA_VARS):
        missing = ", ".join(n for n in _ZALO_OA_VARS if not values[n])
        raise ConfigError(f"Zalo OA is half configured: also set {missing}")
    if values["ZALO_OA_REFRESH_TOKEN"] and not values["ZALO_APP_SECRET"]:
        raise ConfigError(
            "ZALO_APP_SECRET is needed to renew the Zalo OA token (ZALO_OA_REFRESH_TOKEN)"
        )
    bot_token = values["ZALO_BOT_TOKEN"]
    if bot_token and not re.fullmatch(r"[A-Za-z0-9_-]+:[A-Za-z0-9_-]+", bot_token):
        raise ConfigError(
            "ZALO_BOT_TOKEN looks wrong: it should be like 1234567890:AbCd... (Zalo Bot Manager)"
        )
    secret = values["ZALO_BOT_WEBHOOK_SECRET"]
    if secret and not re.fullmatch(r"[A-Za-z0-9_-]{8,256}", secret):
        raise ConfigError("ZALO_BOT_WEBHOOK_SECRET must be 8–256 letters, digits, _ or -")
    if secret and not get("PUBLIC_BASE_URL").startswith("https://"):
        raise ConfigError(
            "ZALO_BOT_WEBHOOK_SECRET needs an https:// PUBLIC_BASE_URL for Zalo to reach"
        )
    margin = _hours(get("ZALO_OA_RENEW_MARGIN_HOURS", "1"), "ZALO_OA_RENEW_MARGIN_HOURS")
    if margin > RENEW_MARGIN_MAX:
        # The token lives ~25 hours: a larger margin would renew it over and over.
        raise ConfigError(f"ZALO_OA_RENEW_MARGIN_HOURS must be at most {RENEW_MARGIN_MAX:g} hours")
    reply_mode = get("ZALO_OA_REPLY_MODE", "message_id").lower()
    if reply_mode not in ZALO_REPLY_MODES:
        raise ConfigError(f"ZALO_OA_REPLY_MODE must be message_id or user_id, not {reply_mode!r}")
    urls = {
        "ZALO_API_BASE_URL": get("ZALO_API_BASE_URL", "https://openapi.zalo.me"),
        "ZALO_OAUTH_BASE_URL": get("ZALO_OAUTH_BASE_URL", "https://oauth.zaloapp.com"),
        "ZALO_BOT_API_BASE_URL": get("ZALO_BOT_API_BASE_URL", "https://bot-api.zaloplatforms.com"),
    }
    for name, url in urls.items():
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"{name} must be an http(s):// address, not {url!r}")
    return {
        "zalo_oa_access_token": values["ZALO_OA_ACCESS_TOKEN"],
        "zalo_oa_refresh_token": values["ZALO_OA_REFRESH_TOKEN"],
        "zalo_app_id": values["ZALO_APP_ID"],
        "zalo_app_secret": values["ZALO_APP_SECRET"],
        "zalo_oa_secret_key": values["ZALO_OA_SECRET_KEY"],
        "zalo_api_base_url": urls["ZALO_API_BASE_URL"].rstrip("/"),
        "zalo_oauth_base_url": urls["ZALO_OAUTH_BASE_URL"].rstrip("/"),
        "zalo_bot_token": bot_token,
        "zalo_bot_api_base_url": urls["ZALO_BOT_API_BASE_URL"].rstrip("/"),
        "zalo_bot_webhook_secret": secret,
        "zalo_oa_renew_margin_hours": margin,
        "zalo_oa_reply_mode": reply_mode,
    }
