"""Secret redaction: each kind is replaced in place and reported on its line, the line
count never changes, placeholders and ordinary code are left alone, and it never raises.

Every secret here is generated at run time from a seeded random source and a prefix, so
this file holds no literal that looks like a real credential.
"""

from __future__ import annotations

import base64
import json
import random
import string

import pytest
from hypothesis import given, settings, strategies as st

from scout_context.sources.secrets import Redaction, redact

_RNG = random.Random(1234)
UPPER, LOWER, DIGITS = string.ascii_uppercase, string.ascii_lowercase, string.digits


def rand(n: int, alphabet: str = "") -> str:
    """`n` random characters; by default cycling upper, lower, digit so that the value
    has every class and no words."""
    if alphabet:
        return "".join(_RNG.choice(alphabet) for _ in range(n))
    return "".join(_RNG.choice((UPPER, LOWER, DIGITS)[i % 3]) for i in range(n))


def b64url(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def pem(label: str, lines: int = 6) -> str:
    body = "\n".join(rand(64, UPPER + LOWER + DIGITS + "+/") for _ in range(lines))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


TOKENS = [
    ("aws-access-key-id", "AK" + "IA" + rand(16, UPPER + "234567")),
    ("aws-access-key-id", "AS" + "IA" + rand(16, UPPER + "234567")),
    ("github-token", "gh" + "p_" + rand(36)),
    ("github-token", "gh" + "o_" + rand(36)),
    ("github-token", "gh" + "u_" + rand(36)),
    ("github-token", "gh" + "s_" + rand(36)),
    ("github-token", "gh" + "r_" + rand(36)),
    ("github-token", "github" + "_pat_" + rand(22) + "_" + rand(59)),
    ("gitlab-token", "gl" + "pat-" + rand(20)),
    ("slack-token", "xo" + "xb-" + rand(12, DIGITS) + "-" + rand(13, DIGITS) + "-" + rand(24)),
    ("slack-token", "xo" + "xp-" + rand(12, DIGITS) + "-" + rand(12, DIGITS) + "-" + rand(12, DIGITS) + "-" + rand(32)),
    ("slack-token", "xo" + "xa-2-" + rand(12, DIGITS) + "-" + rand(24)),
    ("slack-token", "xo" + "xr-" + rand(12, DIGITS) + "-" + rand(24)),
    ("slack-token", "xo" + "xs-" + rand(12, DIGITS) + "-" + rand(24)),
    ("stripe-key", "sk" + "_live_" + rand(24)),
    ("stripe-key", "rk" + "_live_" + rand(99)),
    ("google-api-key", "AI" + "za" + rand(35)),
    ("openai-api-key", "sk" + "-" + rand(48)),
    ("openai-api-key", "sk" + "-proj-" + rand(74) + "_" + rand(80)),
    ("anthropic-api-key", "sk" + "-ant-api03-" + rand(93) + "AA"),
    ("huggingface-token", "hf" + "_" + rand(34, UPPER + LOWER)),
    ("npm-token", "np" + "m_" + rand(36)),
    (
        "jwt",
        b64url({"alg": "HS256", "typ": "JWT"})
        + "."
        + b64url({"sub": "1234567890", "iat": 1516239022})
        + "."
        + rand(43),
    ),
]


@pytest.mark.parametrize(("kind", "token"), TOKENS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TOKENS)])
@pytest.mark.parametrize("line", ['client = Client(auth="{}")', "export CI_CRED={}", "- `{}` was leaked", "{}"])
def test_each_token_shape_is_redacted_on_its_line(kind, token, line):
    text = "import os\n\n" + line.format(token) + "\nprint(1)\n"
    redacted, found = redact(text)
    assert redacted == "import os\n\n" + line.format(f"[REDACTED:{kind}]") + "\nprint(1)\n"
    assert found == [Redaction(3, kind)]


@pytest.mark.parametrize(
    "label",
    [
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ],
)
def test_private_key_block_keeps_its_lines(label):
    key = pem(label)
    text = f"# deploy key\nKEY = '''\n{key}\n'''\nprint('after')\n"
    redacted, found = redact(text)
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    assert (
        redacted == f"# deploy key\nKEY = '''\n{begin}[REDACTED:private-key]{chr(10) * 7}{end}\n'''\nprint('after')\n"
    )
    assert found == [Redaction(3, "private-key")]
    assert redacted.split("\n")[-2] == "print('after')" and redacted.count("\n") == text.count("\n")


def test_private_key_in_one_json_string_and_without_end_line():
    body = "\\n".join(rand(64, UPPER + LOWER + DIGITS + "+/") for _ in range(3))
    begin, end = "-----BEGIN " + "PRIVATE KEY-----", "-----END " + "PRIVATE KEY-----"
    text = f'{{"type": "service_account", "private_key": "{begin}\\n{body}\\n{end}\\n"}}\n'
    assert redact(text) == (
        f'{{"type": "service_account", "private_key": "{begin}[REDACTED:private-key]{end}\\n"}}\n',
        [Redaction(1, "private-key")],
    )
    cut = begin + "\n" + "\n".join(rand(64, UPPER + LOWER + DIGITS + "+/") for _ in range(4)) + "\n"
    assert redact(cut) == (begin + "[REDACTED:private-key]\n\n\n\n\n", [Redaction(1, "private-key")])


def test_pem_markers_in_code_are_not_a_key():
    begin, end = "-----BEGIN RSA " + "PRIVATE KEY-----", "-----END RSA " + "PRIVATE KEY-----"
    text = f'if line == "{begin}":\n    start = True\nelif line == "{end}":\n    done = True\n'
    assert redact(text) == (text, [])


def test_url_password_and_slack_webhook():
    password, hook = rand(20), "T" + rand(10, UPPER + DIGITS) + "/B" + rand(10, UPPER + DIGITS) + "/" + rand(24)
    text = f'DB = "postgres://app:{password}@db.internal:5432/app"\nHOOK = "https://hooks.slack.com/services/{hook}"\n'
    assert redact(text) == (
        (
            'DB = "postgres://app:[REDACTED:url-password]@db.internal:5432/app"\n'
            'HOOK = "https://hooks.slack.com/services/[REDACTED:slack-webhook]"\n'
        ),
        [Redaction(1, "url-password"), Redaction(2, "slack-webhook")],
    )


VALUE = rand(32)
ASSIGNMENTS = [
    "API_KEY={}",  # .env
    "export SERVICE_SECRET={}",  # shell
    'export SERVICE_SECRET="{}"',
    "  api_key: {}",  # YAML
    "  password: '{}'",
    '{{"client_secret": "{}", "id": 7}}',  # JSON
    'SECRET_KEY = "{}"',  # Python
    "self.auth_token = '{}'",
    'password: str = "{}"',
    "connect(host='db', password='{}')",
    'const apiKey = "{}";',  # JavaScript
    "  accessToken: `{}`,",
    'auth_token = "{}"  # TOML',
    "db_passwd = {}",  # INI value (a bare value after ` = ` must not be an identifier)
    "'db_password' => '{}',",  # PHP
    'apiKey := "{}"',  # Go
    "ANTHROPIC_KEY_FILE_PWD={}",
]


@pytest.mark.parametrize("form", ASSIGNMENTS)
def test_assignment_keeps_name_and_quotes(form):
    value = "9" + VALUE if form.startswith("db_passwd") else VALUE
    text = "x = 1\n" + form.format(value) + "\n"
    redacted, found = redact(text)
    assert redacted == "x = 1\n" + form.format("[REDACTED:generic-assignment]") + "\n"
    assert found == [Redaction(2, "generic-assignment")]


def test_password_needs_only_eight_characters_and_aws_secret_has_its_own_kind():
    secret = rand(40, UPPER + LOWER + DIGITS + "/+")
    text = f'DB_PASSWORD="k9#Tq2!x"\naws_secret_access_key = {secret}\nSECRET = "k9#Tq2!x"\n'
    assert redact(text) == (
        (
            'DB_PASSWORD="[REDACTED:generic-assignment]"\naws_secret_access_key = [REDACTED:aws-secret-access-key]\n'
            'SECRET = "k9#Tq2!x"\n'
        ),
        [Redaction(1, "generic-assignment"), Redaction(2, "aws-secret-access-key")],
    )


def test_django_secret_key_with_symbols():
    value = "django-insecure-" + rand(50, LOWER + DIGITS + "!@#$%^&*(-_=+)")
    expected = ("SECRET_KEY = '[REDACTED:generic-assignment]'\n", [Redaction(1, "generic-assignment")])
    assert redact(f"SECRET_KEY = '{value}'\n") == expected


def test_a_known_shape_in_an_assignment_is_reported_once_by_its_shape():
    token = "gh" + "p_" + rand(36)
    expected = ('GITHUB_TOKEN = "[REDACTED:github-token]"\n', [Redaction(1, "github-token")])
    assert redact(f'GITHUB_TOKEN = "{token}"\n') == expected


LEFT_ALONE = [
    'API_KEY = "changeme"',
    'API_KEY = "your-api-key-here"',
    'OPENAI_API_KEY = "sk-your-key-goes-here-1234567890"',
    'SECRET_KEY = "xxxxxxxxxxxxxxxxxxxxxxxx"',
    'SECRET_KEY = "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
    'TOKEN = "${GITHUB_TOKEN}"',
    "TOKEN=$GITHUB_TOKEN",
    'TOKEN = os.environ["GITHUB_TOKEN"]',
    'TOKEN = os.getenv("GITHUB_TOKEN", "")',
    "password = None",
    '{"token": null, "secret": true, "api_key": false}',
    'API_KEY = "<api-key>"',
    'API_KEY = ""',
    "def login(token: str, password: str | None = None) -> None:",
    "    token: str",
    "password = get_password(user)",
    "SECRET_KEY = settings.SECRET_KEY",
    'token_type = "bearer"',
    "max_tokens = 4096",
    'TOKEN_PATTERN = r"(?u)\\b\\w\\w+\\b"',
    'cache_key = f"{prefix}:{name}:{version}"',
    "weight_key=kFp8StaticTensorSym,",
    "activation_quant_key = kFp8DynamicTokenSym",
    "num_tokens = hf_config.patch_grid_length**2",
    '_X509_SUBJECT_TOKEN_TYPE = "urn:openai:params:oauth:token-type:x509"',
    'TOOL_MESSAGE_V2_CONTENT_KEY = "_tool_message_v2_content"',
    'ARCHITECTURE_KEY = "Qwen2VLForConditionalGeneration"',
    'password = "hunter2"',
    "    password: Available when the URI contains `User Information`.",
    "m = Model(db='postgres://user:pass@localhost:5432/foobar')",
    "broker = 'amqp://guest:guest@localhost:5672/'",
    'url = f"postgres://{user}:{password}@{host}/app"',
    'url = "postgres://app:${DB_PASSWORD}@db/app"',
    "gh" + "p_" + "x" * 36,
    "AK" + "IAIOSFODNN7" + "EXAMPLE",
    "the task-" + rand(30) + " id",
    "hf_hub_download(repo_id, filename)",
    "if key == 'value': pass",
]


@pytest.mark.parametrize("line", LEFT_ALONE)
def test_placeholders_and_ordinary_code_are_left_alone(line):
    text = line + "\n"
    assert redact(text) == (text, [])


def test_lines_and_kinds_across_a_file_and_idempotence():
    text = (
        "\n".join(
            [
                "# settings",
                "SECRET_KEY = '" + VALUE + "'",
                "KEY = '''",
                pem("RSA PRIVATE KEY", lines=10),
                "'''",
                "GH = 'gh" + "p_" + rand(36) + "'",
                "url = 'https://bot:" + rand(16) + "@ci.internal/hook'",
                "print('done')",
            ]
        )
        + "\n"
    )
    redacted, found = redact(text)
    assert found == [
        Redaction(2, "generic-assignment"),
        Redaction(4, "private-key"),
        Redaction(17, "github-token"),
        Redaction(18, "url-password"),
    ]
    assert redacted.count("\n") == text.count("\n")
    assert redacted.split("\n")[18] == "print('done')"
    assert redact(redacted) == (redacted, [])


FRAGMENTS = [
    "-----BEGIN RSA " + "PRIVATE KEY-----",
    "-----END RSA " + "PRIVATE KEY-----",
    "\n",
    "\r\n",
    " ",
    "'",
    '"',
    "=",
    ": ",
    "gh" + "p_",
    "sk" + "-",
    "sk" + "-ant-",
    "AK" + "IA",
    "AI" + "za",
    "ey" + "J",
    ".",
    "xo" + "xb-",
    "hf" + "_",
    "np" + "m_",
    "://",
    "u:",
    "@",
    "API_KEY",
    "password",
    "TOKEN",
    "secret",
    "\x00",
    "\udc80",
    "\udcff",
    "[REDACTED:jwt]",
    rand(40),
    rand(16),
    rand(64, UPPER + LOWER + DIGITS + "+/"),
    rand(12, DIGITS),
    pem("EC PRIVATE KEY", lines=2),
    "API_KEY=" + VALUE,
    'password: "' + VALUE + '"',
    "postgres://app:" + VALUE + "@db/app",
    *(token for _, token in TOKENS),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=20), max_size=40).map("".join))
def test_never_raises_keeps_newlines_and_is_idempotent(text):
    redacted, found = redact(text)
    assert redacted.count("\n") == text.count("\n")
    assert len(found) == redacted.count("[REDACTED:") - text.count("[REDACTED:")
    assert all(1 <= r.line <= text.count("\n") + 1 for r in found)
    assert redact(redacted) == (redacted, [])


@pytest.mark.parametrize(
    "text",
    [
        "a" * 300_000,
        "_" * 300_000,
        "-" * 300_000,
        "key=" * 60_000,
        "sk-" + "a1" * 150_000,
        "ey" + "J" * 300_000,
        ("-----BEGIN " + "PRIVATE KEY-----" + "A" * 100) * 2_000,
        "x://" + "u:" * 100_000,
        "\x00\udc80" * 100_000,
    ],
    ids=["letters", "underscores", "hyphens", "assignments", "long-sk", "jays", "begins", "colons", "nul-surrogates"],
)
def test_pathological_inputs_finish(text):
    redacted, _ = redact(text)
    assert redacted.count("\n") == text.count("\n")
