"""Declaring a resource's input once: pydantic models built from the types below.

A declaration such as ``name: Text(80, required=True) = ""`` is, at the same time,
- the validation the pages, the API and the CLI run (``Sector.read(data)``),
- the OpenAPI 3.1 component (``model_json_schema()``, read by ``api/openapi.py``),
- the per-field messages, in the reader's language (raised as ``InvalidInput``).

Why pydantic v2: its JSON Schema is draft 2020-12, which OpenAPI 3.1 takes as is, so
the document needs no converter; its validators run plain Python, so a field can ask
the database (an id that must exist) and keep the messages we already give. The
checks below keep the old readers' exact rules (blank text is "Required.", "5" from a
form is 5, a boolean must be a boolean), so a page, the API and the CLI still agree.

With ``partial=True`` (a PATCH) a missing key means "leave as is"; otherwise a
missing key takes its default or is required.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import available_timezones

import email_validator
from flask_babel import gettext as _
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema, create_model
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from zxcvbn import zxcvbn

from .errors import InvalidInput
from .extensions import db
from .ids import parse_id

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LANGUAGES = ("pt_BR", "en")
# Each language named in itself, so anyone finds theirs whatever the page speaks.
LANGUAGE_OPTIONS = (("pt_BR", "Português (Brasil)"), ("en", "English"))
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_EMAIL = 254
MAX_ID = 2**31 - 1

# Self-hosted teams name their machines under internal domains: ana@loja.local must be
# a login. email-validator refuses special-use names unless they leave its list, which
# its documentation allows; ".lan" and ".internal" are not on it, ".test" is accepted
# through ``test_environment`` below.
INTERNAL_DOMAINS = ("local", "lan", "internal", "test")
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
    name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name not in INTERNAL_DOMAINS]


def refuse(message) -> PydanticCustomError:
    """A field's refusal, already in the reader's language."""
    return PydanticCustomError("refused", "{message}", {"message": str(message)})


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def normalize_email(raw) -> str:
    """The one e-mail rule of pages, API, CLI and demo: lower case, internal domains allowed."""
    if not isinstance(raw, str) or not raw.strip():
        raise refuse(_("Required."))
    try:
        value = email_validator.validate_email(raw.strip(), check_deliverability=False,
                                               test_environment=True).normalized
    except email_validator.EmailNotValidError:
        raise refuse(_("Not a valid e-mail address.")) from None
    if len(value) > MAX_EMAIL:
        raise refuse(_("At most %(n)s characters.", n=MAX_EMAIL))
    return value.lower()


# Passwords: zxcvbn estimates how many guesses one takes, knowing common passwords, names,
# English words, sequences (12345678), repeats (aaaaaaaa), keyboard walks and dates, and the
# words of the user's own name and e-mail. Score 2 is ~10^6 guesses or more: out of reach of
# online guessing under the login limits. It is kept to the first characters because its time
# grows steeply with length (64 random characters take ~50 ms, 200 take seconds).
MIN_PASSWORD_SCORE = 2
PASSWORD_ESTIMATE_CHARS = 64
# What Brazilian passwords are made of and zxcvbn's English lists lack (senha123, mudar123).
COMMON_PASSWORD_WORDS = (
    "senha", "mudar", "trocar", "acesso", "entrar", "brasil", "atendimento", "suporte", "admin",
    "administrador", "usuario", "teste", "sistema", "bemvindo", "amor", "teamo", "deus", "jesus",
    "familia", "flamengo", "corinthians", "palmeiras", "saopaulo", "santos", "vasco", "gremio",
    "cruzeiro", "botafogo", "fluminense", "internacional",
)
_ESTIMATE = threading.Lock()  # zxcvbn keeps the words of the call in a module-level dictionary


def personal_words(name=None, email=None) -> tuple[str, ...]:
    """The words of a user's name and e-mail a password must not be built from."""
    words = []
    for value, is_email in ((name, False), (email, True)):
        if isinstance(value, str) and value.strip():
            value = value.strip().lower()
            words.append(value)
            if is_email:  # "com" or "br" says nothing of the user
                value = value.rpartition(".")[0] or value
            words.extend(part for part in re.split(r"[\s@._+-]+", value) if len(part) >= 3)
    return tuple(dict.fromkeys(words))


def check_password(raw, personal: tuple[str, ...] = ()) -> str:
    """The one password rule of pages, API and CLI: 8 to 200 characters, not guessable, not
    made of ``personal`` (the user's name and e-mail, ``personal_words``)."""
    if not isinstance(raw, str) or not raw:
        raise refuse(_("Required."))
    if len(raw) < MIN_PASSWORD:
        raise refuse(_("Use at least %(n)s characters.", n=MIN_PASSWORD))
    if len(raw) > MAX_PASSWORD:
        raise refuse(_("At most %(n)s characters.", n=MAX_PASSWORD))
    inside = [word for word in personal if word in raw.lower()]
    if not _strong(raw, personal) or (inside and not _strong(_without(raw, inside), personal)):
        if inside:  # "BiaSouza1" for Bia Souza: what is left besides her name is "1"
            raise refuse(_("Do not build the password from your name or e-mail."))
        raise refuse(_("This password is too easy to guess: avoid common passwords, sequences such as "
                       "12345678 and repeated characters. A few unrelated words make a good one."))
    return raw


def _strong(password: str, personal) -> bool:
    with _ESTIMATE:
        estimate = zxcvbn(password[:PASSWORD_ESTIMATE_CHARS], user_inputs=[*personal, *COMMON_PASSWORD_WORDS],
                          max_length=PASSWORD_ESTIMATE_CHARS)
    return estimate["score"] >= MIN_PASSWORD_SCORE


def _without(password: str, words) -> str:
    for word in sorted(words, key=len, reverse=True):
        password = re.sub(re.escape(word), "", password, flags=re.IGNORECASE)
    return password


def _password(raw, info):
    """In a declaration, the name and e-mail read before the password are the personal words."""
    data = info.data or {}
    return check_password(raw, personal_words(data.get("name"), data.get("email")))


# -- field types -------------------------------------------------------------
# Each returns an ``Annotated`` type: the JSON Schema keywords for the document and a
# validator that gives our messages. Pydantic's own checks then see a clean value.

def clean_text(raw, max_length: int | None = None, *, required: bool = False) -> str:
    """The one text rule: null is blank, stripped, no NUL, at most ``max_length``."""
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise refuse(_("Must be text."))
    value = raw.strip()
    if required and not value:
        raise refuse(_("Required."))
    if "\x00" in value:  # PostgreSQL refuses NUL in text; say so instead of failing later
        raise refuse(_("Contains characters that are not allowed."))
    if max_length is not None and len(value) > max_length:
        raise refuse(_("At most %(n)s characters.", n=max_length))
    return value


def Text(max_length, *, required: bool = False, **schema) -> Any:
    """Stripped text; null is blank; ``required`` means not blank. ``max_length`` is a
    number or the model's column (``Sector.name``), whose size then is the limit."""
    if not isinstance(max_length, int):
        max_length = max_length.property.columns[0].type.length
    return Annotated[str, Field(max_length=max_length, min_length=1 if required else None, **schema),
                     BeforeValidator(lambda raw: clean_text(raw, max_length, required=required))]


def _color(raw):
    if not isinstance(raw, str) or not COLOR.match(raw.strip()):
        raise refuse(_("Use a colour like #2f80ed."))
    return raw.strip().lower()


Color = Annotated[str, Field(pattern=COLOR.pattern, examples=["#2f80ed"]), BeforeValidator(_color)]


def _integer(minimum: int, maximum: int, raw):
    if raw is None:
        return None
    if isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", raw):
        raw = int(raw)  # what a form posts
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise refuse(_("Must be a whole number."))
    if not minimum <= raw <= maximum:
        raise refuse(_("Must be between %(min)s and %(max)s.", min=minimum, max=maximum))
    return raw


def Integer(minimum: int, maximum: int, **schema) -> Any:
    """A whole number in [minimum, maximum]; null (or a form's blank) means the default."""
    return Annotated[int | None, Field(ge=minimum, le=maximum, **schema),
                     BeforeValidator(lambda raw: _integer(minimum, maximum, None if raw == "" else raw))]


def _boolean(raw):
    if not isinstance(raw, bool):
        raise refuse(_("Must be true or false."))
    return raw


Boolean = Annotated[bool, BeforeValidator(_boolean)]


def _choice(options: tuple, required: bool, raw):
    if raw in (None, "") and not required:
        return None
    if raw not in options:
        raise refuse(_("Choose one of: %(options)s.", options=", ".join(options)))
    return raw


def Choice(options, *, required: bool = True, **schema) -> Any:
    options = tuple(options)
    allowed = list(options) + ([] if required else [None])
    return Annotated[Any, WithJsonSchema({"enum": allowed, **schema}), BeforeValidator(lambda raw: _choice(options, required, raw))]


Email = Annotated[str, WithJsonSchema({"type": "string", "format": "email", "minLength": 1, "maxLength": MAX_EMAIL}),
                  BeforeValidator(normalize_email)]
Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD), BeforeValidator(_password)]


def _timezone(raw):
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or raw not in timezones():
        raise refuse(_("Unknown time zone."))
    return raw


TimeZone = Annotated[str | None, Field(examples=["America/Sao_Paulo"]), BeforeValidator(_timezone)]


def clean_url(raw, *, required: bool) -> str:
    value = clean_text(raw, required=required)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 500:
        raise refuse(_("Use a full address starting with http:// or https://."))
    return value.rstrip("/")


# The softphone's addresses (SPEC §2, a user's SIP account). Browsers only reach a PBX over
# WebSocket, and over TLS outside loopback (a page on HTTPS may not open ws://; a password
# must not cross a network in clear): ws:// is for a Kamailio or Asterisk on this machine.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SIP_URI = re.compile(r"^sips?:(?P<user>[A-Za-z0-9_.!~*'()&=+$,;?/%-]+)@(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])"
                     r"(?::(?P<port>\d{1,5}))?$")


def _websocket_url(raw) -> str:
    value = clean_text(raw, 500, required=True)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("wss", "ws") or not host:
        raise refuse(_("Use the WebSocket address of your PBX, starting with wss://."))
    if parts.scheme == "ws" and host not in LOOPBACK_HOSTS:
        raise refuse(_("Use wss:// (ws:// only reaches this machine: 127.0.0.1 or localhost)."))
    return value


def _sip_uri(raw) -> str:
    value = clean_text(raw, 255, required=True)
    if not SIP_URI.match(value):
        raise refuse(_("Use a SIP address like sip:1001@pbx.example.com."))
    return value


WebSocketUrl = Annotated[str, Field(min_length=1, max_length=500, examples=["wss://pbx.example.com:8089/ws"]),
                         BeforeValidator(_websocket_url)]
SipUri = Annotated[str, Field(min_length=1, max_length=255, examples=["sip:1001@pbx.example.com"]),
                   BeforeValidator(_sip_uri)]


def sip_user(uri: str) -> str:
    """The user part of a SIP URI (``1001`` of ``sip:1001@pbx``)."""
    match = SIP_URI.match(uri or "")
    return match["user"] if match else ""


def _ids(model, unknown_message, raw):
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise refuse(_("Must be a list of ids."))
    wanted = set()
    for item in raw:
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item <= MAX_ID:
            raise refuse(_("Must be a list of ids."))
        wanted.add(item)
    rows = list(db.session.scalars(select(model).where(model.id.in_(wanted)))) if wanted else []
    if len(rows) != len(wanted):
        raise refuse(unknown_message)
    return rows


ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def Rows(model, unknown_message, **schema) -> Any:
    """A list of ids of existing ``model`` rows; the value read is the rows themselves."""
    return Annotated[Any, WithJsonSchema({"type": "array", "items": ID_SCHEMA, **schema}),
                     BeforeValidator(lambda raw: _ids(model, unknown_message(), raw))]


def _row(model, unknown_message, raw):
    if raw in (None, ""):
        return None
    ident = parse_id(raw) if isinstance(raw, (int, str)) and not isinstance(raw, bool) else None
    if ident is None:
        raise refuse(_("Must be an id."))
    found = db.session.get(model, ident)
    if found is None:
        raise refuse(unknown_message)
    return found


def RowId(model, unknown_message, **schema) -> Any:
    """One id of an existing ``model`` row, or null; the value read is the row (or None)."""
    return Annotated[Any, WithJsonSchema({"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID, **schema}),
                     BeforeValidator(lambda raw: _row(model, unknown_message(), raw))]


# -- the base of every declaration --------------------------------------------

class Schema(BaseModel):
    """Unknown keys are ignored (a client may send back what it read)."""

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True, populate_by_name=True)

    @classmethod
    def read(cls, data, *, partial: bool = False) -> dict:
        """The clean values, or ``InvalidInput`` with one message per field."""
        values, errors = cls.try_read(data, partial=partial)
        if errors:
            raise invalid(errors)
        return values

    @classmethod
    def try_read(cls, data, *, partial: bool = False) -> tuple[dict, dict]:
        """The clean values and the per-field messages, for a service that adds its own rules."""
        data = data if isinstance(data, dict) else {}
        model = cls.partial() if partial else cls
        try:
            instance = model.model_validate(data)
        except ValidationError as error:
            return _valid_part(model, data, error), messages(error)
        given = instance.model_fields_set if partial else model.model_fields
        return _values(instance, given), {}

    @classmethod
    def partial(cls) -> type["Schema"]:
        return _partial(cls)


def form_rules(model: type[BaseModel]) -> dict[str, dict]:
    """The HTML attributes a page's inputs take from a declaration (``required``,
    ``maxlength``, ``minlength``, ``min``, ``max``), so a form never restates a limit."""
    schema = model.model_json_schema()
    rules = {}
    for name, prop in schema.get("properties", {}).items():
        prop = next((p for p in prop.get("anyOf", ()) if p.get("type") != "null"), prop)
        attrs = {"required": name in schema.get("required", ()) or prop.get("minLength") == 1}
        attrs.update({html: prop[key] for key, html in (("maxLength", "maxlength"), ("minimum", "min"),
                                                         ("maximum", "max")) if key in prop})
        if prop.get("minLength", 0) > 1:
            attrs["minlength"] = prop["minLength"]
        rules[name] = attrs
    return rules


def invalid(errors: dict) -> InvalidInput:
    return InvalidInput(_("Please correct the highlighted fields."), fields=errors)


@lru_cache(maxsize=None)
def _partial(cls: type[Schema]) -> type[Schema]:
    """The PATCH twin: same fields and checks, nothing required, nothing defaulted."""
    fields = {name: (info.rebuild_annotation(), Field(default=None, description=info.description))
              for name, info in cls.model_fields.items()}
    name = cls.__name__.removesuffix("Create") + "Update"
    model = create_model(name, __base__=cls, __doc__="Only the fields given change.", **fields)
    model.model_config["json_schema_extra"] = _drop_defaults  # a missing key keeps the stored value
    return model


def _drop_defaults(schema: dict) -> None:
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


def _valid_part(model, data: dict, error: ValidationError) -> dict:
    """What passed, so a service can still run its own checks beside the messages."""
    failed = {e["loc"][0] for e in error.errors() if e["loc"]}
    rest = {k: v for k, v in data.items() if k not in failed}
    model = model if model.__name__.endswith("Update") else model.partial()
    try:
        instance = model.model_validate(rest)
    except ValidationError:
        return {}
    return _values(instance, instance.model_fields_set)


def _values(instance, names) -> dict:
    """Keyed as the client writes them (``global``, not the attribute ``global_``)."""
    fields = type(instance).model_fields
    return {fields[name].alias or name: getattr(instance, name) for name in names}


def messages(error: ValidationError) -> dict:
    """``{field: message}``; a nested key reads ``settings.base_url``."""
    result: dict = {}
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"] if not isinstance(part, int)) or "body"
        # Our types say why themselves; pydantic's own checks only ever see a missing key.
        if item["type"] == "refused":
            message = item["ctx"]["message"]
        else:
            message = _("Required.") if item["type"] == "missing" else _("Invalid value.")
        result.setdefault(key, message)
    return result
