"""The language an error is told in, and the telling.

Messages are written in English where they are raised: the English text is
the key of the catalogue (shared/messages.py). An error is put into the
caller's language only at the edge, in shared/http.py, so no rule, schema or
service needs to know who is asking. A message made from parts (an f-string)
is found by its template, "a report that is {status} cannot take '{action}'",
and its parts are carried over into the translation.

The language: the best one the caller's `Accept-Language` names that we
have; else the language the company registered (the `lang` claim of its
token); else zh-CN, since the product is Simplified Chinese first. The
`code` of an error never changes with the language.
"""
import re
import string
from functools import lru_cache

from shared.messages import ZH_CN

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
CATALOGUES = {"zh-CN": ZH_CN}
SOURCE = "en"       # the language the code writes its messages in

# Tags naming Simplified Chinese; zh-TW, zh-HK and zh-Hant are Traditional,
# which we do not have, so they do not choose zh-CN.
SIMPLIFIED = ("zh", "zh-cn", "zh-sg", "zh-hans")
QUALITY = re.compile(r"\A(0(\.\d{0,3})?|1(\.0{0,3})?)\Z")
MAX_HEADER = 1024   # a longer Accept-Language is read up to here


def supported(tag):
    """Our language for one language tag, or None."""
    tag = tag.strip().lower()
    if tag in SIMPLIFIED or tag.startswith(("zh-hans-", "zh-cn-")):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def preferred(header):
    """The language an Accept-Language header asks for, best quality first
    (RFC 9110 §12.5.4), or None: when it names none we have, or only `*`
    (any language: ours to choose). A malformed entry is skipped, never an error."""
    ranked = []
    for position, item in enumerate((header or "")[:MAX_HEADER].split(",")):
        tag, *params = item.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                quality = float(value) if QUALITY.match(value.strip()) else -1.0
        if quality > 0 and tag.strip():
            ranked.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        if tag == "*":
            return None
        language = supported(tag)
        if language:
            return language
    return None


def chosen(accept_language=None, registered=None):
    """The header's language, else the company's registered one, else zh-CN."""
    return (preferred(accept_language)
            or (registered if registered in LANGUAGES else None)
            or DEFAULT)


def _pattern(template):
    """A regular expression matching what `template.format(...)` makes."""
    parts, names = [r"\A"], []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(f"(?P<{name}>.*?)" if name not in names else f"(?P={name})")
            names.append(name)
    parts.append(r"\Z")
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=None)
def _templates(language):
    """The catalogue's templates (keys with `{name}` parts), the most literal
    text first, so that the most specific one matches."""
    found = [(key, _pattern(key)) for key in CATALOGUES[language]
             if any(name is not None for _, name, _, _ in string.Formatter().parse(key))]
    return sorted(found, key=lambda kp: -len(re.sub(r"\{[^}]*\}", "", kp[0])))


def say(text, language):
    """One message in `language`: the catalogue's exact entry, else the entry
    whose template it fits; a message the catalogue lacks stays in English
    (tests/unit/test_messages.py fails for any the code can raise)."""
    if not isinstance(text, str) or language not in CATALOGUES:
        return text
    catalogue = CATALOGUES[language]
    if text in catalogue:
        return catalogue[text]
    for key, pattern in _templates(language):
        match = pattern.match(text)
        if match:
            return catalogue[key].format(**match.groupdict())
    return text


def said(messages, language):
    """The field messages of an error, in any nesting marshmallow makes
    ({field: [text]}, {field: {index: [text]}}, nested schemas); the field
    names themselves are names, not words, and stay."""
    if isinstance(messages, dict):
        return {k: said(v, language) for k, v in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [said(v, language) for v in messages]
    return say(messages, language)


def told(error, language):
    """An error body's {"code", "message", "fields"} in `language`."""
    if language == SOURCE:
        return error
    return dict(error, message=say(error.get("message"), language),
                fields=said(error.get("fields") or {}, language))
