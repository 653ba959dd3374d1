"""Redact credentials from source text before it goes into a prompt.

A secret value is replaced by `[REDACTED:<kind>]` plus the newlines it spanned, so the
file is still packed and every other line keeps its number. Three families are found:

- fixed shapes: PEM private key blocks, AWS access key ids, GitHub, GitLab, Slack,
  Stripe, Google, OpenAI, Anthropic, Hugging Face and npm tokens, JWTs, Slack webhook
  URLs and passwords in `scheme://user:password@host`;
- assignments (`=`, `:`, `=>`, `:=`; .env, YAML, JSON, Python, JS, shell, TOML, INI)
  whose name looks like `*_KEY`, `*SECRET*`, `*TOKEN*`, `*PASSWORD*`, `PASSWD`, `PWD`
  and whose value looks random (no placeholder, a letter and a digit or mixed case,
  high Shannon entropy, at least 12 characters or 8 for passwords);
- AWS secret access keys are assignments whose value has that key's shape.

Speed: every scan is a regex whose pattern starts with one literal character, which
`re` finds with memchr; a pattern that starts with a character class or an alternation
of different characters is matched at every position, about ten times slower. So the
token scans start at a rare character of the prefix (`_`, `-`, `I`, `J`) and check the
characters before it with a look-behind, and the assignment scans run on the lowercased
text, starting at `k` (key, token), `cret` (secret) and `w` (password, passwd, pwd).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Redaction:
    line: int  # 1-based line where the secret starts
    kind: str


# Fixed-shape tokens: (kind, prefixes, body). A match must not touch another `[\w-]`.
_TOKENS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("aws-access-key-id", ("AKIA", "ASIA", "ABIA"), r"[A-Z2-7]{16}"),
    ("google-api-key", ("AIza",), r"[\w-]{35}"),
    ("jwt", ("eyJ",), r"[\w-]{8,4096}+\.eyJ[\w-]{8,8192}+\.[\w-]{0,4096}+"),
    ("github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"[A-Za-z0-9]{36,251}+"),
    ("github-token", ("github_pat_",), r"\w{82,251}+"),
    ("huggingface-token", ("hf_",), r"[A-Za-z0-9]{30,40}+"),
    ("npm-token", ("npm_",), r"[A-Za-z0-9]{36}"),
    ("stripe-key", ("sk_live_", "rk_live_", "sk_test_", "rk_test_"), r"[A-Za-z0-9]{16,247}+"),
    ("anthropic-api-key", ("sk-ant-",), r"[\w-]{20,250}+"),
    ("openai-api-key", ("sk-",), r"[\w-]{20,250}+"),
    ("gitlab-token", ("glpat-",), r"[\w-]{20,300}+(?:\.[0-9a-z]{9})?"),
    ("slack-token", tuple(f"xox{c}-" for c in "abeoprs"), r"[A-Za-z0-9-]{10,250}+"),
)
_ANCHORS = "_-IJ"


def _token_scans() -> list[tuple[re.Pattern[str], list[tuple[str, str, int]]]]:
    """One regex per anchor character, which is the first of `_ANCHORS` in each prefix;
    the empty group `t<i>` says which (kind, prefix, anchor offset) matched."""
    scans = []
    for anchor in _ANCHORS:
        branches, rules = [], []
        for kind, prefixes, body in _TOKENS:
            for prefix in prefixes:
                at = min(prefix.index(c) for c in _ANCHORS if c in prefix)
                if prefix[at] != anchor:
                    continue
                head, rest = re.escape(prefix[: at + 1]), re.escape(prefix[at + 1 :])
                branches.append(rf"(?<=(?<![\w-]){head}){rest}{body}(?![\w-])(?P<t{len(rules)}>)")
                rules.append((kind, prefix, at))
        scans.append((re.compile(re.escape(anchor) + "(?:" + "|".join(branches) + ")"), rules))
    return scans


_TOKEN_SCANS = _token_scans()

_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?P<body>(?:(?!-----)[\s\S]){1,20000}?)(?=-----END[A-Z0-9 ]{0,40}PRIVATE KEY)"
    r"|(?P<open>(?:[ \t]*\r?\n[ \t]*(?:[\w-]+: [^\n]*|[A-Za-z0-9+/=]{40,}+))+))"
)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40}")

_URL = re.compile(
    r"://(?:[^\s:/?#@'\"`<>\[\]]{0,64}:(?P<password>[^\s:/?#@'\"`<>\[\]]{1,256}+)@"
    r"|hooks\.slack\.com/(?:services|workflows|triggers)/(?P<webhook>[\w+/-]{20,256}+))"
)

# Assignment scans run on lowercased text; each starts at a keyword of the name.
_ASSIGN_TAIL = (
    r"[\"']?"                                         # closing quote of a key (JSON, PHP)
    r"(?:[ \t]*:[ \t]*[a-z_][\w.\[\], |]{0,64}?)?"    # type annotation: `token: str = ...`
    r"[ \t]*+(?:=>|:=|=(?!=)|:(?![:=]))[ \t]*+"       # the operator
    r"(?:[bru]{0,2}(?P<q>[\"'`])(?P<quoted>[^\"'`\\\s]{1,512}+)(?P=q)"
    r"|(?P<bare>[^\s\"'`,;()\[\]{}<>]{1,256}+)(?![^\s,;]))"
)
_ASSIGN_SCANS = tuple(
    re.compile(rf"(?P<name>{head}[\w-]{{0,64}}+)" + _ASSIGN_TAIL)
    for head in (r"k(?:ey|(?<=tok)en)", r"cret(?<=secret)", r"w(?:(?<=passw)(?:or)?d|(?<=pw)d)")
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_NAME_OK = re.compile(r"secret|token(?!iz)|passw|pwd|(?:[_-]|api)key$")
_CAMEL_KEY = re.compile(r"[a-z0-9]Key$")
_PASSWORD_NAME = re.compile(r"passw|pwd")
_PLACEHOLDER = re.compile(
    r"example|xxxx|your|change_?-?me|placeholder|dummy|fake|sample|redacted|test|secret|passw"
    r"|\*\*\*|\.\.\.|[<>{}()\[\]\\]|\$[{(\w]|%[sd(]|^\$|^[./~]|://",
    re.IGNORECASE,
)
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")
_NAME_CHARS = re.compile(r"[\w-]*")
_UPPER, _LOWER, _DIGIT = re.compile("[A-Z]"), re.compile("[a-z]"), re.compile("[0-9]")


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
    for scan, rules in _TOKEN_SCANS:
        for m in scan.finditer(text):
            kind, prefix, at = rules[int(m.lastgroup[1:])]
            start = m.start() - at
            if _random_enough(text[start + len(prefix) : m.end()], 3.0, cased=kind != "aws-access-key-id"):
                yield start, m.end(), kind
    for m in _PRIVATE_KEY.finditer(text):
        body = m[m.lastgroup]
        if _BASE64_RUN.search(body) and "[REDACTED:" not in body:
            yield m.start(m.lastgroup), m.end(), "private-key"
    for m in _URL.finditer(text):
        if m["password"] and not _PLACEHOLDER.search(m["password"]):
            yield m.start("password"), m.end("password"), "url-password"
        elif m["webhook"]:
            yield m.start("webhook"), m.end("webhook"), "slack-webhook"
    lowered = text.lower()
    if len(lowered) != len(text):  # a few non-ASCII letters lowercase to two characters
        lowered = text.translate(_ASCII_LOWER)
    for scan in _ASSIGN_SCANS:
        for m in scan.finditer(lowered):
            value = "quoted" if m["quoted"] else "bare"
            name = _name_before(text, m.start()) + text[m.start() : m.end("name")]
            kind = _assignment_kind(name, text[m.start(value) : m.end(value)])
            if kind:
                yield m.start(value), m.end(value), kind


def _name_before(text: str, pos: int) -> str:
    """The part of a name that ends at `pos` (at most 64 characters back)."""
    head = text[max(0, pos - 64) : pos][::-1]
    return head[: _NAME_CHARS.match(head).end()][::-1]


def _assignment_kind(name: str, value: str) -> str | None:
    lower = name.lower()
    if not (_NAME_OK.search(lower) or _CAMEL_KEY.search(name)) or "public" in lower:
        return None
    password = _PASSWORD_NAME.search(lower) is not None
    if len(value) < (8 if password else 12) or _DOTTED_NAME.fullmatch(value):
        return None
    if not _random_enough(value, 2.5 if password else 3.0, cased=True):
        return None
    if _AWS_SECRET.fullmatch(value) and ("aws" in lower or "access" in lower):
        return "aws-secret-access-key"
    return "generic-assignment"


def _random_enough(value: str, min_entropy: float, *, cased: bool) -> bool:
    """No placeholder word, high entropy, and (when `cased`) a letter and a digit or
    both letter cases: identifiers, words and paths are not secrets."""
    if _PLACEHOLDER.search(value) or _entropy(value) < min_entropy:
        return False
    if not cased:
        return True
    upper, lower = _UPPER.search(value) is not None, _LOWER.search(value) is not None
    return (upper and lower) or ((upper or lower) and _DIGIT.search(value) is not None)


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())
