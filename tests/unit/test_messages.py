"""The message catalogue is complete and Simplified.

Every message the code can raise at a caller is found by reading the code
(its syntax tree): the text given to an error class (and the texts of its
`fields`), to a RuleError or a marshmallow ValidationError, and the reasons
the `*_problem` functions return. Each must have a zh-CN entry. An f-string
is compared as its template: "a report that is {} cannot take '{}'".
Marshmallow's own messages are read from marshmallow itself, so a new
version that words one differently fails here too.
"""
import ast
import inspect
import string
from pathlib import Path

import pytest
from marshmallow import Schema, fields, validate
from werkzeug import exceptions

from shared import language
from shared.messages import ZH_CN

ROOT = Path(__file__).resolve().parents[2]
# The names an error is raised under: the ApiError family, the rules'
# refusal, marshmallow's, and the two helpers that raise one of them with
# the text they are given (`must` in case routes, `if_changed` a Conflict).
RAISERS = {"ApiError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
           "TooLarge", "Invalid", "Unavailable", "RuleError", "ValidationError",
           "must", "if_changed", "OAuthError"}
# The policy files' checks speak to the operator, in the log, when a service
# starts; no caller ever sees them.
OPERATOR_ONLY = {"shared/policy.py", *(str(p.relative_to(ROOT))
                                        for p in ROOT.glob("services/*/policy_schema.py"))}


def template(node):
    """The text of a literal or an f-string, each `{...}` part as `{}`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value.replace("{", "{{").replace("}", "}}")
                       if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = template(node.left), template(node.right)
        return None if left is None or right is None else left + right
    return None


def texts(node):
    """The message texts in an argument: itself, or the values of a fields
    dict (the keys are field names), at any depth."""
    found = template(node)
    if found is not None:
        yield found
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from texts(value)
    elif isinstance(node, ast.DictComp):
        yield from texts(node.value)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            yield from texts(element)


def raised_messages():
    """(where, template) of every message the code raises at a caller."""
    for path in sorted([*ROOT.glob("shared/**/*.py"), *ROOT.glob("services/**/*.py")]):
        where = str(path.relative_to(ROOT))
        if where in OPERATOR_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text(), where)):
            if isinstance(node, ast.Call):
                func = node.func
                name = getattr(func, "id", None) or getattr(func, "attr", None)
                if name not in RAISERS:
                    continue
                if name in ("must", "OAuthError"):     # (error code, description)
                    args = node.args[1:2]
                elif name == "ValidationError":     # its second argument is a field name
                    args = node.args[:1]
                else:
                    args = node.args + [k.value for k in node.keywords]
                for arg in args:
                    for text in texts(arg):
                        yield f"{where}:{node.lineno}", text
            elif isinstance(node, ast.FunctionDef) and node.name.endswith("_problem"):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        for text in texts(ret.value):
                            yield f"{where}:{ret.lineno}", text


def marshmallow_messages():
    """Every message marshmallow's fields, validators and schemas can give."""
    found = set(Schema._default_error_messages.values())
    for cls in vars(fields).values():
        if inspect.isclass(cls) and issubclass(cls, fields.Field):
            for klass in cls.__mro__:
                found.update(getattr(klass, "default_error_messages", {}).values())
    for cls in vars(validate).values():
        if inspect.isclass(cls) and issubclass(cls, validate.Validator) and cls not in (
                validate.Range, validate.Validator):
            found.update(value for name, value in vars(cls).items()
                         if name.startswith(("message", "default_message"))
                         and isinstance(value, str))
    # Range builds its texts from parts when made: every combination.
    for low in (True, False):
        for high in (True, False):
            r = validate.Range(0, 1, min_inclusive=low, max_inclusive=high)
            found.update((r.message_min, r.message_max, r.message_all))
    return found


def shape(text):
    """A message's template with its parts unnamed: "Length must be {} to {}."."""
    return "".join(literal.replace("{", "{{").replace("}", "}}") + ("" if name is None else "{}")
                   for literal, name, _, _ in string.Formatter().parse(text))


def names(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


SHAPES = {shape(key) for key in ZH_CN}


def test_the_code_raises_messages_and_the_reader_finds_them():
    found = {text for _, text in raised_messages()}
    assert "no such report" in found
    assert "a report that is {} cannot take '{}'" in found
    assert "must be an https URL" in found           # a *_problem reason
    assert "not allowed for a company" in found      # a fields dict comprehension
    assert len(found) > 80


def test_every_message_the_code_raises_has_a_chinese_entry():
    missing = sorted({f"{where}: {text!r}" for where, text in raised_messages()
                      if shape(text) not in SHAPES})
    assert not missing, "add these to shared/messages.py:\n" + "\n".join(missing)


def test_every_marshmallow_message_has_a_chinese_entry():
    missing = sorted(m for m in marshmallow_messages() if shape(m) not in SHAPES)
    assert not missing, "add these to shared/messages.py:\n" + "\n".join(missing)


@pytest.mark.parametrize("english", [
    exceptions.NotFound.description, exceptions.MethodNotAllowed.description,
    "internal error",
])
def test_the_edge_s_own_messages_have_a_chinese_entry(english):
    assert english in ZH_CN


@pytest.mark.parametrize("english, chinese", sorted(ZH_CN.items()))
def test_each_entry_keeps_its_parts(english, chinese):
    assert names(english) == names(chinese)
    assert chinese.format(**{n: "x" for n in names(chinese)})


def test_every_entry_is_simplified_chinese():
    opencc = pytest.importorskip("opencc")
    to_simplified = opencc.OpenCC("t2s")
    traditional = {k: v for k, v in ZH_CN.items() if to_simplified.convert(v) != v}
    assert not traditional, traditional
    assert to_simplified.convert("報案") == "报案"    # the converter does convert


def test_every_entry_is_written_in_chinese():
    untranslated = [k for k, v in ZH_CN.items()
                    if not any("\u4e00" <= c <= "\u9fff" for c in v)]
    assert not untranslated


def test_every_template_in_the_catalogue_can_be_matched():
    for key in ZH_CN:
        if names(key):
            sample = key.format(**{n: f"<{n}>" for n in names(key)})
            assert language.say(sample, "zh-CN") == ZH_CN[key].format(
                **{n: f"<{n}>" for n in names(key)}), key
