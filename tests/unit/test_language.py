"""Which language an error is told in, and the telling: the code stays."""
import pytest
from hypothesis import given, strategies as st
from marshmallow import fields, validate

from shared import auth, language
from shared.errors import Conflict, Invalid
from shared.fields import In


@pytest.mark.parametrize("header, expected", [
    ("zh-CN", "zh-CN"),
    ("zh", "zh-CN"),
    ("zh-Hans", "zh-CN"),
    ("zh-Hans-CN", "zh-CN"),
    ("ZH-cn", "zh-CN"),
    ("en", "en"),
    ("en-US", "en"),
    ("en-GB,en;q=0.9", "en"),
    ("en;q=0.5, zh-CN;q=0.9", "zh-CN"),
    ("zh-CN;q=0.4, en;q=0.8", "en"),
    ("zh-CN;q=0.8, en;q=0.8", "zh-CN"),         # equal quality: the order sent
    ("fr-FR, en;q=0.3", "en"),                  # the best one we have
    ("zh-TW, en;q=0.5", "en"),                  # Traditional is not zh-CN
    (" en ; q=1.0 ", "en"),
    ("en;Q=0.7", "en"),
])
def test_accept_language_picks_the_best_language_we_have(header, expected):
    assert language.chosen(header) == expected


@pytest.mark.parametrize("header", [
    None, "", "fr", "zh-TW", "zh-Hant", "*", "en;q=0", "en;q=2", "en;q=abc",
    "en;q=0.5x", ",,;;", "*, en;q=0.5",
])
def test_a_header_naming_nothing_we_have_falls_through(header):
    assert language.chosen(header) == "zh-CN"
    assert language.chosen(header, registered="en") == "en"


def test_the_header_beats_the_registered_language():
    assert language.chosen("zh-CN", registered="en") == "zh-CN"
    assert language.chosen("en", registered="zh-CN") == "en"
    assert language.chosen(None, registered="klingon") == "zh-CN"


@given(st.text(max_size=300))
def test_any_header_chooses_a_language_and_never_fails(header):
    assert language.chosen(header) in language.LANGUAGES


def test_a_company_token_carries_its_language():
    key = auth.SigningKey.generate()
    keys = auth.StaticKeys({key.kid: key.public_key})
    token = auth.issue_token(key, "company", "c1", lang="en")
    assert auth.authenticate(f"Bearer {token}", None, keys).language == "en"
    plain = auth.issue_token(key, "company", "c2")
    assert auth.authenticate(f"Bearer {plain}", None, keys).language is None


def test_an_error_is_told_in_chinese_with_the_same_code():
    error = Conflict("a report that is merged cannot take 'accept'").to_dict()["error"]
    told = language.told(error, "zh-CN")
    assert told == {"code": "conflict", "message": "状态为 merged 的报案不能执行“accept”",
                    "fields": {}}
    assert language.told(error, "en") == error


class Sample(In):
    name = fields.String(required=True, validate=validate.Length(1, 5))
    rating = fields.Integer(validate=validate.Range(1, 5))
    kind = fields.String(validate=validate.OneOf(["a", "b"]))
    tags = fields.List(fields.String(validate=validate.Regexp(r"\A[a-z]+\Z")))


def test_marshmallow_field_messages_are_told_in_chinese_at_every_depth():
    from marshmallow import ValidationError
    with pytest.raises(ValidationError) as exc:
        Sample().load({"name": "toolong", "rating": 9, "kind": "c", "tags": ["ok", "X"],
                       "extra": 1})
    error = Invalid("the request does not validate", exc.value.messages).to_dict()["error"]
    told = language.told(error, "zh-CN")
    assert told["code"] == "invalid"
    assert told["message"] == "请求未通过校验"
    assert told["fields"] == {
        "name": ["长度必须在 1 到 5 之间。"],
        "rating": ["必须大于或等于 1 且小于或等于 5。"],
        "kind": ["必须是以下之一：a, b。"],
        "tags": {1: ["字符串不符合要求的格式。"]},
        "extra": ["未知字段。"],
    }
    with pytest.raises(ValidationError) as exc:
        Sample().load({})
    assert language.told(Invalid("x", exc.value.messages).to_dict()["error"],
                         "zh-CN")["fields"] == {"name": ["缺少必填字段。"]}


@pytest.mark.parametrize("english, chinese", [
    ("Must be greater than or equal to 1.", "必须大于或等于 1。"),
    ("Must be greater than 1.", "必须大于 1。"),
    ("Must be greater than 1 and less than or equal to 5.", "必须大于 1 且小于或等于 5。"),
    ("Must be greater than or equal to 1 and less than 5.", "必须大于或等于 1 且小于 5。"),
    ("Not a valid aware datetime.", "不是有效的带时区偏移的日期时间。"),
    ("gateway did not answer within 2.5s; try again", "gateway 服务在 2.5 秒内未响应，请重试"),
    ("field name '$where' is not allowed", "不允许使用字段名 '$where'"),
])
def test_the_most_specific_template_matches(english, chinese):
    assert language.say(english, "zh-CN") == chinese


def test_a_message_the_catalogue_lacks_stays_in_english():
    assert language.say("no such thing anywhere", "zh-CN") == "no such thing anywhere"
    assert language.said({"db": "ServerSelectionTimeoutError"}, "zh-CN") == {
        "db": "ServerSelectionTimeoutError"}
