"""ZALO_* settings: defaults, and a clear error for a half-configured channel."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

OA = {"ZALO_OA_ACCESS_TOKEN": "tok", "ZALO_APP_ID": "4321", "ZALO_OA_SECRET_KEY": "key"}


def test_defaults_run_no_zalo_channel() -> None:
    settings = load_settings({}, env_file=None)
    assert not settings.zalo_oa_enabled and not settings.zalo_bot_token
    assert settings.zalo_api_base_url == "https://openapi.zalo.me"
    assert settings.zalo_oauth_base_url == "https://oauth.zaloapp.com"
    assert settings.zalo_bot_api_base_url == "https://bot-api.zaloplatforms.com"
    assert settings.zalo_oa_reply_mode == "message_id"
    assert settings.zalo_oa_renew_margin_hours == 1.0


def test_reply_mode_and_renewal_margin() -> None:
    env = {**OA, "ZALO_OA_REPLY_MODE": "User_ID ", "ZALO_OA_RENEW_MARGIN_HOURS": "2.5"}
    settings = load_settings(env, env_file=None)
    assert settings.zalo_oa_reply_mode == "user_id"
    assert settings.zalo_oa_renew_margin_hours == 2.5


def test_both_zalo_channels_configured() -> None:
    env = {**OA, "ZALO_BOT_TOKEN": "1234567890:AbCd-ef_GH", "ZALO_API_BASE_URL": "http://x/"}
    settings = load_settings(env, env_file=None)
    assert settings.zalo_oa_enabled and settings.zalo_bot_token == "1234567890:AbCd-ef_GH"
    assert settings.zalo_api_base_url == "http://x"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ZALO_APP_ID": "4321"}, "ZALO_OA_ACCESS_TOKEN, ZALO_OA_SECRET_KEY"),
        ({**OA, "ZALO_OA_REFRESH_TOKEN": "r"}, "ZALO_APP_SECRET"),
        ({"ZALO_BOT_TOKEN": "no colon"}, "ZALO_BOT_TOKEN looks wrong"),
        ({"ZALO_BOT_TOKEN": "1:a", "ZALO_BOT_WEBHOOK_SECRET": "short"}, "8–256"),
        ({"ZALO_BOT_TOKEN": "1:a", "ZALO_BOT_WEBHOOK_SECRET": "long-enough"}, "PUBLIC_BASE_URL"),
        ({"ZALO_API_BASE_URL": "openapi.zalo.me"}, "ZALO_API_BASE_URL must be"),
        ({"ZALO_OA_REPLY_MODE": "reply"}, "ZALO_OA_REPLY_MODE must be message_id or user_id"),
        ({"ZALO_OA_RENEW_MARGIN_HOURS": "0"}, "ZALO_OA_RENEW_MARGIN_HOURS must be a positive"),
        ({"ZALO_OA_RENEW_MARGIN_HOURS": "30"}, "ZALO_OA_RENEW_MARGIN_HOURS must be at most 12"),
    ],
)
def test_bad_zalo_settings_are_explained(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env, env_file=None)
