"""Secret redaction: the one place that blanks API keys out of text we show, save or log.

Two kinds of secret are removed: anything shaped like an Anthropic API key (`sk-ant-…`,
whoever's it is) and, when given, the exact key in use (a gateway or proxy may echo it back
in any shape). Error cards, exports, the one-line traceback and `redact_secret` on error
values all go through `redact`, so a new secret pattern added here covers every sink.
"""

from __future__ import annotations

import re

__all__ = ["KEY_PLACEHOLDER", "PATTERNS", "redact", "redact_report", "secret_name"]

#: What the exact key in use is replaced by.
KEY_PLACEHOLDER = "[API key]"

#: An Anthropic API key, whoever's (the one key shape `redact` and `PATTERNS` both use).
_KEY_SHAPE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}")
_MIN_SECRET = 8  # shorter "secrets" would blank out ordinary words


def redact(text: str, secret: str | None = None) -> str:
    """`text` with `secret` (if given and at least 8 characters) and every API-key-shaped
    string blanked out."""
    if secret and len(secret) >= _MIN_SECRET and secret in text:
        text = text.replace(secret, KEY_PLACEHOLDER)
    return _KEY_SHAPE.sub("sk-ant-…", text) if "sk-ant-" in text else text


# ---- notebook context (claude_nb.context): every secret shape, with a visible mark
#
# Context sent to the model (variables, cells, tracebacks) is masked more widely than error
# text: the common key and token shapes, and `name = value` assignments whose name says
# key / token / secret / password / credential. Each becomes `[redacted <what>]`, and the
# caller gets the list of what was masked for the preview card.

# Order matters: the more specific shapes first (an Anthropic key is also `sk-...`).
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE "
        r"KEY-----|.*\Z)", re.DOTALL)),
    ("Anthropic API key", _KEY_SHAPE),
    ("OpenAI API key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    ("AWS secret key", re.compile(
        r"(?i)(?<=aws_secret_access_key)(\s*[=:]\s*['\"]?)[A-Za-z0-9/+=]{40}")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("Slack webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
)

_SECRET_PARTS = frozenset({"secret", "secrets", "password", "passwd", "pwd", "passphrase",
                           "credential", "credentials", "token", "apikey", "auth"})
_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
# `password = "hunter2"`, `API_TOKEN: abc...`, `"client_secret": "..."`, `env["X_TOKEN"] = …`;
# the name decides (secret_name), the value must look like one (not a number, call, None).
_ASSIGNMENT = re.compile(
    r"""(\b[A-Za-z_][\w\-]*)(['"]?\]?\s*(?:=|:)\s*)(['"]?)([^\s'",;)}]{4,})\3""")
_NOT_A_VALUE = re.compile(r"^(?:None|True|False|null|true|false|[\d.e+\-]+|[\w.]+\(.*|"
                          r"os\.environ.*|getpass.*|\[redacted.*)$")


def secret_name(name: str) -> bool:
    """Whether a variable, attribute or key name says its value is a secret (`api_key`,
    `GITHUB_TOKEN`, `db_password`, `aws_credentials`; not `key`, `max_tokens`)."""
    parts = [p.lower() for p in _PARTS.findall(name)]
    if any(p in _SECRET_PARTS for p in parts):
        return True
    return (len(parts) > 1 and parts[-1] in ("key", "keys")) or "private" in parts


def redact_report(text: str) -> tuple[str, list[str]]:
    """`text` with every secret-shaped string replaced by `[redacted <what>]`, and the list
    of what was masked (one label per occurrence)."""
    found: list[str] = []

    def mark(label: str) -> str:
        found.append(label)
        return f"[redacted {label}]"

    for label, pattern in PATTERNS:
        keep = label == "AWS secret key"  # its match starts with the kept `= ` part

        def masked(m: re.Match[str], label: str = label, keep: bool = keep) -> str:
            return (m.group(1) if keep else "") + mark(label)

        text = pattern.sub(masked, text)

    def assignment(m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(4)
        if not secret_name(name) or _NOT_A_VALUE.match(value):
            return m.group(0)
        return f"{name}{m.group(2)}{m.group(3)}{mark(f'value of {name}')}{m.group(3)}"

    return _ASSIGNMENT.sub(assignment, text), found
