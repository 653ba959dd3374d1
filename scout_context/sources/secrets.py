"""Redact credentials from source text before it goes into a prompt or the run log.

A secret value is replaced by `[REDACTED:<kind>]` plus the newlines it spanned, so the
file is still packed and every other line keeps its number. What is found:

- fixed shapes, each from the provider's documented format (the whole token goes):
  PEM private key blocks, AWS access key ids, GitHub, GitLab (`glpat-`, `gldt-`,
  `glrt-`, ...), Slack (`xox?-`, `xapp-`), Stripe, Google (`AIza`), OpenAI (`sk-proj-`
  and kin, `T3BlbkFJ`, or 32+ unbroken characters), Anthropic, Hugging Face, npm, PyPI,
  Shopify, DigitalOcean, SendGrid, Twilio (`SK`/`AC` + 32 hex), Telegram bot and
  Mailchimp tokens, JWTs;
- values inside a known structure (the structure stays): Slack and Discord webhook
  URLs, passwords in `scheme://user:password@host`, Azure `AccountKey=` and
  `SharedAccessKey=`, `Authorization: Bearer|Basic|Token`, `X-Api-Key:`-style headers,
  `.netrc` and `.pgpass` passwords, Docker `"auth"`, `curl -u user:password`;
- assignments (`=`, `:`, `=>`, `:=`; .env, YAML, JSON, Python, JS, shell, TOML, INI)
  whose name looks like `*_KEY`, `*SECRET*`, `*TOKEN*`, `*PASSWORD*`, `PASSWD`, `PWD`
  and whose value looks random: no placeholder, not made of words, a letter and a
  digit (or a symbol, for a password) in one run, high Shannon entropy, at least 12
  characters (8 for a password); such a value with an AWS secret access key's shape
  under an AWS or access name is reported as `aws-secret-access-key`.

`scrub` prepares a run log record: the values of the credential variables scout-context
reads (SECRET_VARIABLES) become `***`, then every text is redacted.

Speed: every scan is a regex whose pattern starts with a literal, which `re` finds with
memchr (or a fast substring search); a pattern that starts with a character class or an
alternation of different characters is matched at every position, about ten times
slower. So the token scans start at a rare character of the prefix (`_`, `-`, `I`, `J`,
`G.`, `K`, `C`, `:AA`) and check the characters before it with a look-behind, the
structure scans at a literal of the structure (`Key=`, `uthorization`, a header's `-`, `machine`,
`"auth"`, curl's `-u`, a line's `\n` for .pgpass), and the assignment scans at `k`/`K` (key,
token), `cret`/`CRET` (secret) or `w`/`W` (password, passwd, pwd), the rest of the name
matched without regard to case.
"""

from __future__ import annotations

import base64
import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# The credentials scout-context itself is given; `scrub` removes their values from what it stores.
SECRET_VARIABLES = ("SCOUT_API_KEY", "GITHUB_TOKEN", "GH_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


@dataclass(frozen=True, slots=True)
class Redaction:
    line: int  # 1-based line where the secret starts
    kind: str


# Fixed-shape tokens, one scan per anchor (the last `_` or `-` of the prefix, else a rare
# letter or literal of the shape); the look-behind checks the rest of the prefix and that
# no `[\w-]` comes before it. The named group's name is the kind; the whole token, prefix
# included, is replaced.
_TOKEN_SCANS = tuple(
    re.compile(pattern, re.VERBOSE)
    for pattern in (
        r"""_(?=[A-Za-z0-9]{16})(?:
            (?P<github_token>(?<=(?<![\w-])gh[pousr]_)[A-Za-z0-9]{36,251}+|(?<=(?<![\w-])github_pat_)\w{82,251}+)
          | (?P<huggingface_token>(?<=(?<![\w-])hf_)[A-Za-z0-9]{30,40}+)
          | (?P<npm_token>(?<=(?<![\w-])npm_)[A-Za-z0-9]{36})
          | (?P<stripe_key>(?<=(?<![\w-])[sr]k_(?:live|test)_)[A-Za-z0-9]{16,247}+)
          | (?P<shopify_token>(?<=(?<![\w-])shp(?:at|ss|ca|pa)_)[a-fA-F0-9]{32})
          | (?P<digitalocean_token>(?<=(?<![\w-])do[por]_v1_)[a-f0-9]{64})
        )(?![\w-])""",
        r"""-(?:(?=[\w-]{10})(?:
            (?P<anthropic_api_key>(?<=(?<![\w-])sk-ant-)[\w-]{20,250}+)
          | (?P<openai_api_key>(?<=(?<![\w-])sk-)(?!ant-)(?:
                (?:proj|svcacct|admin)-[\w-]{40,250}+         # project, service account, admin keys
              | (?=[\w-]{0,250}T3BlbkFJ)[\w-]{20,250}+        # any key with OpenAI's marker
              | [A-Za-z0-9]{32,250}+))                        # legacy: one unbroken run, never a CSS name
          | (?P<gitlab_token>(?:(?<=(?<![\w-])glpat-)|(?<=(?<![\w-])gldt-)|(?<=(?<![\w-])glrt-)|(?<=(?<![\w-])glptt-)
                |(?<=(?<![\w-])glft-)|(?<=(?<![\w-])glsoat-)|(?<=(?<![\w-])glcbt-)|(?<=(?<![\w-])glimt-)
                |(?<=(?<![\w-])gloas-)|(?<=(?<![\w-])glagent-))[\w-]{20,300}+(?:\.[0-9a-z]{9})?)
          | (?P<slack_token>(?:(?<=(?<![\w-])xox[abeoprs]-)|(?<=(?<![\w-])xapp-))(?=[\w-]{0,250}\d)[A-Za-z0-9-]{10,250}+)
          | (?P<pypi_token>(?<=(?<![\w-])pypi-)(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[\w-]{50,1000}+)
        )|(?P<mailchimp_api_key>(?<=(?<![\w-])[0-9a-f]{32}-)us\d{1,2}))(?![\w-])""",
        r"""I(?:
            (?P<aws_access_key_id>(?<=(?<![\w-])A[KSB]I)A[A-Z2-7]{16})
          | (?P<google_api_key>(?<=(?<![\w-])AI)za[\w-]{35})
        )(?![\w-])""",
        r"J(?P<jwt>(?<=(?<![\w-])eyJ)[\w-]{8,4096}+\.eyJ[\w-]{8,8192}+\.[\w-]{0,4096}+)(?![\w-])",
        r"G\.(?<=(?<![\w-])SG\.)(?P<sendgrid_api_key>[\w-]{22}\.[\w-]{43})(?![\w-])",
        r"K(?<=(?<![\w-])SK)(?P<twilio_key>[0-9a-f]{32})(?![\w-])",
        r"C(?<=(?<![\w-])AC)(?P<twilio_key>[0-9a-f]{32})(?![\w-])",
        r""":AA(?:(?<=(?<![\w-])\d{8}:AA)|(?<=(?<![\w-])\d{9}:AA)|(?<=(?<![\w-])\d{10}:AA))
            (?P<telegram_bot_token>[\w-]{33})(?![\w-])""",
    )
)

# Credentials inside a known structure: the named group `value` is replaced, the structure
# around it stays; the pattern's last named group before it (or the scan's kind) names it.
_TOKEN68 = r"[\w\-.~+/]{8,2048}+=*+(?![\w\-.~+/=])"  # an HTTP credential (RFC 7235 token68)
_VALUE_SCANS = tuple(
    (kind, re.compile(pattern, re.VERBOSE))
    for kind, pattern in (
        # Azure storage and Service Bus / Event Hubs connection strings
        (
            "azure-connection-key",
            r"""Key=(?:(?<=AccountKey=)|(?<=SharedAccessKey=))
            (?P<value>[A-Za-z0-9+/]{40,128}={0,2})(?![A-Za-z0-9+/=])""",
        ),
        # `Authorization: Bearer <token>` or `Basic <base64 of user:password>`, in any quoting
        # and any case (HTTP's names are case-insensitive: actions/checkout writes `AUTHORIZATION: basic`)
        (
            "authorization-header",
            rf"""(?i:uthorization)(?<=(?i:authorization))["']?[ \t]*[:=][ \t]*["']?
            (?P<scheme>(?i:bearer|basic|token))[ \t]+(?P<value>{_TOKEN68})""",
        ),
        # `X-Api-Key: <key>` and its kin (X-Auth-Token, Private-Token, X-Access-Token, ...)
        (
            "api-key-header",
            rf"""-(?i:(?<=api-)key|(?<=auth-)token|(?<=access-)token|(?<=private-)token|(?<=api-)token)
            [ \t]*:[ \t]*(?P<value>{_TOKEN68})""",
        ),
        # .netrc: `machine <host> [login <user>] [account <a>] password <secret>`, one line or several
        (
            "netrc-password",
            r"""machine(?<![\w-]machine)[ \t]+[^\s]{1,253}(?:\s+(?:login|account|port)[ \t]+(?P<user>[^\s]{1,256})){0,3}
            \s+password[ \t]+(?P<value>[^\s]{1,256})""",
        ),
        # Docker's config.json: `"auth": "<base64 of user:password>"`
        ("docker-auth", r'''"auth"[ \t]*:[ \t]*"(?P<value>[A-Za-z0-9+/]{8,4096}={0,2})"'''),
        # `curl -u user:password` (or `--user`): found at the option, the command checked after
        (
            "curl-password",
            r"""-(?<=[ \t]-)(?:u|-user)(?:[ \t]+|=)["']?(?P<user>[^\s:"'$]{1,128}):(?P<value>[^\s"']{1,256})""",
        ),
    )
)
# .pgpass: `host:port:database:user:password`, one entry a line (the first line has no `\n`
# before it, hence two scans).
_PGPASS_LINE = r"""(?P<host>\*|[\w.-]{1,253}+):(?:\d{1,5}|\*):[\w.*-]{1,256}:(?P<user>[\w.*@-]{1,256}):
    (?P<value>(?:\\.|[^\s:\\]){6,256}+)(?=\r?\n|\Z)"""
_PGPASS = (re.compile(_PGPASS_LINE, re.VERBOSE), re.compile(r"\n" + _PGPASS_LINE, re.VERBOSE))

_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?P<body>(?:(?!-----)[\s\S]){1,20000}?)(?=-----END[A-Z0-9 ]{0,40}PRIVATE KEY)"
    r"|(?P<open>(?:[ \t]*\r?\n[ \t]*(?:[\w-]+: [^\n]*|[A-Za-z0-9+/=]{40,}+))+))"
)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40}")

_URL = re.compile(
    r"://(?:(?P<user>[^\s:/?#@'\"`<>\[\]]{0,64}):(?P<password>[^\s:/?#@'\"`<>\[\]]{1,256}+)@"
    r"|hooks\.slack\.com/(?:services|workflows|triggers)/(?P<webhook>[\w+/-]{20,256}+)"
    r"|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/(?P<discord>[\w-]{60,68}+)(?![\w-]))"
)

# Assignment scans: each starts at a keyword of the name, in lower or upper case. A bare
# (unquoted) value must end its line, as in .env, YAML, INI and shell files.
_KEYWORDS = (
    (("k", "K"), r"ey|(?<=tok)en"),
    (("cret", "CRET"), r"(?<=secret)"),
    (("w", "W"), r"(?<=passw)(?:or)?d|(?<=pw)d"),
)
_ASSIGN_TAIL = r"""["']?                             # closing quote of a key (JSON, PHP)
    (?:[ \t]*:[ \t]*[A-Za-z_][\w.\[\], |]{0,64}?)?  # type annotation: `token: str = ...`
    (?P<op>[ \t]*+(?:=>|:=|=(?!=)|:(?![:=]))[ \t]*+)
    (?:[bBrRuU]{0,2}(?P<q>["'`])(?P<quoted>[^"'`\\\s]{1,512}+)(?P=q)(?![\w"'`\[])
      |(?P<bare>[^\s"'`,;()\[\]{}<>]{1,256}+)(?=[ \t]*+(?:\#[^\n]*)?(?:\r?\n|\r|\Z)))"""
_ASSIGN_SCANS = tuple(
    re.compile(rf"(?P<name>{anchor}(?i:(?:{rest})[\w-]{{0,64}}+)){_ASSIGN_TAIL}", re.VERBOSE)
    for anchors, rest in _KEYWORDS
    for anchor in anchors
)

_NAME_OK = re.compile(r"secret|token(?!iz)|passw|pwd|(?:[_-]|api)key$")
_CAMEL_KEY = re.compile(r"[a-z0-9]Key$")
_PASSWORD_NAME = re.compile(r"passw|pwd")
_PLACEHOLDER = re.compile(
    r"example|xxxx|your|change_?-?me|placeholder|dummy|fake|sample|redacted|test|secret|passw"
    r"|\.\.\.|[<>{}\[\]\\]|\$\{|\$\(\w[\w ]*\)|^\$\w+$|^[./~]|://",
    re.IGNORECASE,
)
_CODE_VALUE = re.compile(r"[A-Za-z_][\w.]*(?:\*\*\w+)?")  # `other_name`, `self.size**2`
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_SEPARATORS = re.compile(r"[_\-.:/]+")
_CAPITALIZED_WORD = re.compile(r"[A-Z][a-z]{2,}")
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")
_NAME_CHARS = re.compile(r"[\w-]*")
_CURL = re.compile(r"(?<![\w-])curl\b")
_LETTER, _DIGIT, _SYMBOL = re.compile("[A-Za-z]"), re.compile("[0-9]"), re.compile(r"[^\w\s]")


def scrub(value: Any) -> Any:
    """`value` (text, or lists and dicts of it, as in a run log record) fit to store: each
    known secret (the values of SECRET_VARIABLES in the environment) replaced by `***`,
    then every text redacted."""
    known = sorted({v for v in map(os.environ.get, SECRET_VARIABLES) if v and len(v) >= 4}, key=len, reverse=True)

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            for secret in known:
                item = item.replace(secret, "***")
            return redact(item)[0]
        if isinstance(item, dict):
            return {key: clean(inner) for key, inner in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(inner) for inner in item]
        return item

    return clean(value)


def redact(text: str) -> tuple[str, list[Redaction]]:
    """`text` with every secret value replaced, and where each one started; never raises."""
    spans = sorted(_find(text), key=lambda s: (s[0], s[2] == "generic-assignment", -s[1]))
    parts: list[str] = []
    found: list[Redaction] = []
    pos = line = 0
    for start, end, kind in spans:
        if start < pos:
            continue
        line += text.count("\n", pos, start)
        parts += text[pos:start], f"[REDACTED:{kind}]", "\n" * text.count("\n", start, end)
        found.append(Redaction(line + 1, kind))
        line += text.count("\n", start, end)
        pos = end
    if not found:
        return text, []
    parts.append(text[pos:])
    return "".join(parts), found


def _find(text: str) -> Iterator[tuple[int, int, str]]:
    """Candidate (start, end, kind) spans, overlapping ones included."""
    for scan in _TOKEN_SCANS:
        for m in scan.finditer(text):
            if (token := m.lastgroup) is None:  # every alternative is a named group
                continue
            start = m.start() - len(_name_before(text, m.start()))
            if not _PLACEHOLDER.search(m[token]) and _entropy(text[start : m.end()]) >= 3.0:
                yield start, m.end(), token.replace("_", "-")
    for kind, scan in _VALUE_SCANS:
        for m in scan.finditer(text):
            if _credential(kind, m):
                yield m.start("value"), m.end("value"), kind
    first = _PGPASS[0].match(text)
    for m in ([first] if first else []) + [*_PGPASS[1].finditer(text)] if ":" in text else ():
        if _credential("pgpass-password", m):
            yield m.start("value"), m.end("value"), "pgpass-password"
    for m in _PRIVATE_KEY.finditer(text):
        if (key := m.lastgroup) is None:  # every alternative is a named group
            continue
        body = m[key]
        if _BASE64_RUN.search(body) and "[REDACTED:" not in body:
            yield m.start(key), m.end(), "private-key"
    for m in _URL.finditer(text):
        if m["password"] and _url_password(m["user"], m["password"]):
            yield m.start("password"), m.end("password"), "url-password"
        elif m["webhook"] or m["discord"]:
            group = "webhook" if m["webhook"] else "discord"
            yield m.start(group), m.end(group), "slack-webhook" if m["webhook"] else "discord-webhook"
    for scan in _ASSIGN_SCANS:
        for m in scan.finditer(text):
            group = "quoted" if m["quoted"] else "bare"
            value = m[group]
            if group == "bare" and m["op"][0] in " \t" and m["op"].strip() == "=" and _CODE_VALUE.fullmatch(value):
                continue  # `token = other_name` is code, not an INI value
            if assigned := _assignment_kind(_name_before(text, m.start()) + m["name"], value):
                yield m.start(group), m.end(group), assigned


def _name_before(text: str, pos: int) -> str:
    """The part of a name that ends at `pos` (at most 64 characters back)."""
    head = text[max(0, pos - 64) : pos][::-1]
    return head[: _NAME_CHARS.match(head).end()][::-1]  # type: ignore[union-attr]  # a `*` pattern always matches


def _assignment_kind(name: str, value: str) -> str | None:
    lower = name.lower()
    if not (_NAME_OK.search(lower) or _CAMEL_KEY.search(name)) or "public" in lower:
        return None
    password = _PASSWORD_NAME.search(lower) is not None
    if not _random_value(value, password):
        return None
    if _AWS_SECRET.fullmatch(value) and ("aws" in lower or "access" in lower):
        return "aws-secret-access-key"
    return "generic-assignment"


def _random_value(value: str, password: bool) -> bool:
    """At least 12 characters (8 for a password), a letter and a digit (or a symbol for a
    password), high entropy, and not a placeholder, a dotted name or a string of words
    (`_tool_message_v2_content`, `Qwen2VLForConditionalGeneration`); other than a password,
    one run between separators holds both a letter and a digit."""
    if len(value) < (8 if password else 12) or _PLACEHOLDER.search(value) or _DOTTED_NAME.fullmatch(value):
        return False
    if not _LETTER.search(value) or not (_DIGIT.search(value) or (password and _SYMBOL.search(value))):
        return False
    if _entropy(value) < (2.5 if password else 3.0):
        return False
    parts = _SEPARATORS.split(value)
    if not password and not any(_LETTER.search(part) and _DIGIT.search(part) for part in parts):
        return False  # `pk_2024_users`: words and numbers joined, no random run
    words = sum(len(part) for part in parts if part.isalpha())
    capitalized = sum(len(word) for word in _CAPITALIZED_WORD.findall(value))
    return max(words, capitalized) < 0.6 * len(value)


def _credential(kind: str, m: re.Match[str]) -> bool:
    """Whether a structural match holds a real value: an HTTP credential or header key that
    looks random, `Basic` and Docker `auth` values that decode to `user:password`, a
    password that is not a placeholder, a plain word or the user name again."""
    value = m["value"]
    if kind in ("docker-auth", "authorization-header") and (kind == "docker-auth" or m["scheme"].lower() == "basic"):
        user, colon, password = _base64_text(value).partition(":")
        return bool(colon and user and password) and _url_password(user, password)
    if kind in ("authorization-header", "api-key-header", "azure-connection-key"):
        return len(value) >= 16 and not _PLACEHOLDER.search(value) and _entropy(value) >= 3.0
    if kind == "curl-password":
        return _url_password(m["user"], value) and _CURL.search(_command(m.string, m.start())) is not None
    if kind == "pgpass-password" and not (m["host"] == "*" or _LETTER.search(m["host"])):
        return False  # `12:30:45:00:00` is no entry: a host has a name
    return _url_password(m.groupdict().get("user") or "", value) and len(value) >= 6


def _command(text: str, pos: int) -> str:
    """The shell command that `pos` is in, as far as 400 characters back (a newline after
    a backslash continues it)."""
    start, end = max(0, pos - 400), pos
    while (newline := text.rfind("\n", start, end)) >= 0:
        if text[newline - 1 : newline] != "\\" and text[newline - 2 : newline] != "\\\r":
            return text[newline + 1 : pos]
        end = newline
    return text[start:pos]


def _base64_text(value: str) -> str:
    """`value` decoded from base64 as text ("" when it is not)."""
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ""


def _url_password(user: str, password: str) -> bool:
    """Not a placeholder, not the user name again, not one plain word (`pass`, `TOKEN`)."""
    plain = password.isalpha() and (password.islower() or password.isupper() or password.istitle())
    return not (plain or password == user or _PLACEHOLDER.search(password))


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())
