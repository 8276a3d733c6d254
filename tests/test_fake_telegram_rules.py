"""The fake Telegram's rules in detail: entity parsing, spec checks and the getUpdates queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.fakes import FakeTelegram
from tests.fakes.markdown import parse_markdown_v2
from tests.fakes.markup import EntityParseError, parse_html
from tests.fakes.spec import UploadedFile, load_spec

USER = 777


@pytest.mark.parametrize(
    ("source", "plain", "entities"),
    [
        ("<b>Lúa</b> tốt", "Lúa tốt", [{"type": "bold", "offset": 0, "length": 3}]),
        ("<B>x</B>", "x", [{"type": "bold", "offset": 0, "length": 1}]),
        ("a > b", "a > b", []),
        ("a &amp; b &lt; &#39;c&#x27; &quot;", "a & b < 'c' \"", []),
        ("😀<i>x</i>", "😀x", [{"type": "italic", "offset": 2, "length": 1}]),
        (
            '<a href="https://x.vn/?a=1&amp;b=2">giá</a>',
            "giá",
            [{"type": "text_link", "offset": 0, "length": 3, "url": "https://x.vn/?a=1&b=2"}],
        ),
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            [
                {"type": "spoiler", "offset": 0, "length": 1},
                {"type": "spoiler", "offset": 1, "length": 1},
            ],
        ),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "python"}],
        ),
        (
            "<b>a<i>b</i></b>",
            "ab",
            [
                {"type": "bold", "offset": 0, "length": 2},
                {"type": "italic", "offset": 1, "length": 1},
            ],
        ),
    ],
)
def test_html_that_telegram_accepts(
    source: str, plain: str, entities: list[dict[str, Any]]
) -> None:
    assert parse_html(source) == (plain, entities)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("Giá < 5", 'Unsupported start tag "" at byte offset 5'),  # offsets count UTF-8 bytes
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>a", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>a</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("</b>", "Unexpected end tag"),
        ("<b", "Unclosed start tag"),
        ('<a href="x>y</a>', "Unclosed start tag"),
        ("a & b", "Unsupported HTML entity at byte offset 2"),
        ("&nbsp;", "Unsupported HTML entity"),
        ("<span>x</span>", 'must have class "tg-spoiler"'),
        ("<tg-emoji>x</tg-emoji>", 'must have attribute "emoji-id"'),
    ],
)
def test_html_that_telegram_rejects(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert error in str(caught.value)


def test_markdown_v2_needs_reserved_characters_escaped() -> None:
    plain, entities = parse_markdown_v2(r"*đậm* _nghiêng_ giá 5\.000đ [xem](https://x.vn/a\)b)")
    assert plain == "đậm nghiêng giá 5.000đ xem"
    assert [e["type"] for e in entities] == ["bold", "italic", "text_link"]
    assert entities[2]["url"] == "https://x.vn/a)b"
    assert parse_markdown_v2("`a.b` ```py\nx.y```")[0] == "a.b x.y"
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("Giá 5.000đ")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity"):
        parse_markdown_v2("*chưa đóng")


def test_spec_coerces_form_values_and_reports_problems() -> None:
    spec = load_spec()
    assert spec.version == "Bot API 10.1"
    params, issues = spec.coerce_params(
        "sendMessage",
        {"chat_id": "-100123", "text": "42", "disable_notification": "true", "colour": "x"},
        {},
    )
    assert params["chat_id"] == -100123 and params["text"] == "42"
    assert params["disable_notification"] is True
    assert issues.hard == [] and issues.soft == ["unknown parameter 'colour'"]
    _, issues = spec.coerce_params("sendMessage", {"text": "x", "protect_content": "maybe"}, {})
    assert 'field "protect_content" must be of type Boolean' in issues.hard
    assert "chat_id is empty" in issues.hard


def test_spec_checks_json_objects_structurally() -> None:
    spec = load_spec()

    def markup_issues(markup: Any) -> tuple[list[str], list[str]]:
        raw = {"chat_id": 1, "text": "x", "reply_markup": markup}
        issues = spec.coerce_params("sendMessage", raw, {})[1]
        return issues.hard, issues.soft

    assert markup_issues('{"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}') == (
        [],
        [],
    )
    assert markup_issues("{not json") == (
        ["can't parse reply keyboard markup JSON object"],
        [],
    )
    assert markup_issues({"inline_keyboard": [[{"text": "chỉ chữ"}]]})[0] == [
        "Text buttons are unallowed in the inline keyboard"
    ]
    two_actions = {"inline_keyboard": [[{"text": "a", "callback_data": "b", "url": "https://x"}]]}
    assert "exactly one action" in markup_issues(two_actions)[0][0]
    assert markup_issues({"inline_keyboard": [[{"text": "a", "url": "javascript:x"}]]})[0] == [
        "BUTTON_URL_INVALID"
    ]
    keyboard = {"keyboard": [["Có", {"text": "SĐT", "request_contact": True}]], "oops": 1}
    assert markup_issues(keyboard) == (
        [],
        ["reply_markup: unknown field 'oops' in ReplyKeyboardMarkup"],
    )
    assert markup_issues({"keyboard": [[{"request_contact": True}]]})[0] == [
        "can't parse reply keyboard markup: Can't find field \"text\" in KeyboardButton"
    ]


def test_spec_picks_input_media_subtype_and_checks_attachments() -> None:
    spec = load_spec()
    media = json.dumps([{"type": "photo", "media": "attach://a"}, {"type": "video", "media": "x"}])
    upload = UploadedFile("a", "a.png", "image/png", b"png")
    assert (
        spec.coerce_params("sendMediaGroup", {"chat_id": 1, "media": media}, {"a": upload})[1].hard
        == []
    )
    issues = spec.coerce_params("sendMediaGroup", {"chat_id": 1, "media": media}, {})[1]
    assert issues.hard == ["can't parse media: file attach://a not found in the request"]
    bad_type = json.dumps([{"type": "photo", "media": "x", "duration": 3}])
    soft = spec.coerce_params("sendMediaGroup", {"chat_id": 1, "media": bad_type}, {})[1].soft
    assert soft == ["media[0]: unknown field 'duration' in InputMediaPhoto"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A started fake checking its own answers."""
    async with FakeTelegram(self_check=True) as server:
        yield server
    assert server.fake_errors == []


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    """A plain HTTP client for raw Bot API calls."""
    async with ClientSession() as session:
        yield session


async def call(
    http: ClientSession, fake: FakeTelegram, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    """POST a JSON Bot API call and return (status, body)."""
    async with http.post(f"{fake.base_url}{fake.token}/{method}", json=params) as response:
        return response.status, await response.json()


async def test_requests_in_any_encoding_are_accepted(
    fake: FakeTelegram, http: ClientSession
) -> None:
    async with http.get(f"{fake.base_url}{fake.token}/getMe") as response:
        assert (await response.json())["result"]["is_bot"] is True
    form = {"chat_id": str(USER), "text": "qua form"}
    async with http.post(f"{fake.base_url}{fake.token}/sendmessage", data=form) as response:
        assert response.status == 200
    status, body = await call(http, fake, "sendMessage", chat_id=USER, text="qua JSON")
    assert status == 200 and body["result"]["chat"]["id"] == USER
    assert [m["text"] for m in fake.messages_to(USER)] == ["qua form", "qua JSON"]
    assert fake.violations == []


async def test_unknown_method_and_wrong_token(fake: FakeTelegram, http: ClientSession) -> None:
    status, body = await call(http, fake, "sendTelepathy", chat_id=USER)
    assert (status, body["description"]) == (404, "Not Found")
    async with http.get(f"{fake.base_url}123:wrong/getMe") as response:
        assert response.status == 401
    assert fake.violations == [
        "sendTelepathy: Not Found",
        "call with a wrong token to getMe",
    ]


async def test_get_updates_honours_offset_and_limit(
    fake: FakeTelegram, http: ClientSession
) -> None:
    ids = [fake.send_text(USER, f"tin {n}") for n in range(3)]
    _, body = await call(http, fake, "getUpdates", limit=2)
    assert [u["update_id"] for u in body["result"]] == ids[:2]
    _, body = await call(http, fake, "getUpdates", offset=ids[1] + 1)
    assert [u["message"]["text"] for u in body["result"]] == ["tin 2"]
    _, body = await call(http, fake, "getUpdates")  # the confirmed ones are gone for good
    assert [u["update_id"] for u in body["result"]] == [ids[2]]
    _, body = await call(http, fake, "getUpdates", offset=ids[2] + 1, timeout=0)
    assert body["result"] == []


async def test_long_poll_returns_an_update_pushed_while_waiting(
    fake: FakeTelegram, http: ClientSession
) -> None:
    poll = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    update_id = fake.send_text(USER, "/start")
    _, body = await poll
    [update] = body["result"]
    assert update["update_id"] == update_id
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]


async def test_second_poller_ends_the_first_with_a_conflict(
    fake: FakeTelegram, http: ClientSession
) -> None:
    first = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(call(http, fake, "getUpdates", timeout=0))
    status, body = await first
    assert status == 409 and "terminated by other getUpdates request" in body["description"]
    assert (await second)[0] == 200
    assert len(fake.violations) == 1


async def test_wait_idle_fails_when_nobody_fetches_updates(fake: FakeTelegram) -> None:
    fake.send_text(USER, "alo")
    with pytest.raises(AssertionError, match="1 update"):
        await fake.wait_idle(timeout=0.2)


async def test_callback_answers_must_match_a_press(
    fake: FakeTelegram, http: ClientSession
) -> None:
    await call(
        http,
        fake,
        "sendMessage",
        chat_id=USER,
        text="Chọn",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    )
    fake.send_callback(USER, "a")
    [query_id] = fake.unanswered_callbacks()
    assert (await call(http, fake, "answerCallbackQuery", callback_query_id=query_id))[0] == 200
    status, body = await call(http, fake, "answerCallbackQuery", callback_query_id=query_id)
    assert status == 400 and "query ID is invalid" in body["description"]
    assert fake.unanswered_callbacks() == [] and len(fake.violations) == 1


async def test_injected_server_error_and_album_size(
    fake: FakeTelegram, http: ClientSession
) -> None:
    fake.fail_next("sendMessage", error_code=500, times=2)
    for _ in range(2):
        status, body = await call(http, fake, "sendMessage", chat_id=USER, text="x")
        assert (status, body["description"]) == (500, "Internal Server Error")
    assert (await call(http, fake, "sendMessage", chat_id=USER, text="x"))[0] == 200
    photo = fake.add_file(b"png", file_id="known-photo")
    one = [{"type": "photo", "media": photo}]
    status, _ = await call(http, fake, "sendMediaGroup", chat_id=USER, media=one)
    assert status == 400
    assert fake.violations == [
        "sendMediaGroup: Bad Request: wrong number of media in the album: 2-10 items are allowed"
    ]


async def test_button_labels_escaped_as_html_are_violations(
    fake: FakeTelegram, http: ClientSession
) -> None:
    plain = {"inline_keyboard": [[{"text": 'Giữ “Na <loại 1> & "ngon"”', "callback_data": "k"}]]}
    await call(http, fake, "sendMessage", chat_id=USER, text="ok", reply_markup=plain)
    assert fake.violations == []  # a label is plain text: <, & and " are shown as typed
    escaped = {"inline_keyboard": [[{"text": "Giữ “Na &lt;loại 1&gt;”", "callback_data": "k"}]]}
    status, _body = await call(
        http, fake, "sendMessage", chat_id=USER, text="x", reply_markup=escaped
    )
    assert status == 200  # Telegram accepts it, and shows "&lt;" to the user
    assert fake.violations == [
        "sendMessage: button label escaped as HTML: 'Giữ “Na &lt;loại 1&gt;”'"
    ]
