"""The context redactor: each secret shape becomes a visible `[redacted …]` mark, names that
say secret mask their values, ordinary text and numbers stay."""

from __future__ import annotations

import pytest

from claude_nb.protocol.redact import redact_report, secret_name

SHAPES = [
    ("Anthropic API key", "sk-ant-api03-" + "A1b2C3d4" * 5),
    ("OpenAI API key", "sk-proj-" + "Zy9" * 12),
    ("OpenAI API key", "sk-" + "a" * 48),
    ("AWS access key", "AKIAIOSFODNN7EXAMPLE"),
    ("GitHub token", "ghp_" + "Ab1" * 12),
    ("GitHub token", "github_pat_11ABCDEFG0" + "x" * 40),
    ("Slack token", "xoxb-123456789012-abcdefABCDEF"),
    ("Slack webhook", "https://hooks.slack.com/services/T000/B000/XXXXXXXX"),
    ("JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P"),
]


@pytest.mark.parametrize("label,secret", SHAPES)
def test_each_shape_is_masked_with_its_label(label: str, secret: str) -> None:
    text, found = redact_report(f"before {secret} after")
    assert secret not in text and f"[redacted {label}]" in text
    assert text.startswith("before ") and text.endswith(" after") and found == [label]


def test_aws_secret_and_private_keys() -> None:
    text, found = redact_report("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert "wJalr" not in text and found == ["AWS secret key"]
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----"
    text, found = redact_report(f"key:\n{pem}\nnext line")
    assert "MIIE" not in text and text.endswith("next line") and found == ["private key"]
    cut, _ = redact_report("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk")  # unterminated
    assert "b3Bl" not in cut


def test_assignments_by_name() -> None:
    text, found = redact_report('password = "hunter22"\nDB_TOKEN: s3cr3t-value\nuser = "bob"')
    assert "hunter22" not in text and "s3cr3t" not in text and 'user = "bob"' in text
    assert found == ["value of password", "value of DB_TOKEN"]
    for harmless in ("max_tokens = 1024", "api_key = None", "token = os.environ['T']",
                     "api_key = getpass.getpass()", "n_tokens: 12"):
        assert redact_report(harmless) == (harmless, [])


@pytest.mark.parametrize("name,secret", [
    ("api_key", True), ("OPENAI_API_KEY", True), ("apiKey", True), ("github_token", True),
    ("db_password", True), ("aws_credentials", True), ("client_secret", True),
    ("key", False), ("max_tokens", False), ("tokenizer", False), ("monkey", False),
    ("df", False)])
def test_secret_names(name: str, secret: bool) -> None:
    assert secret_name(name) is secret


def test_subscript_assignments() -> None:
    text, found = redact_report("os.environ['MY_SERVICE_TOKEN'] = 'env-value-123'\n"
                                'cfg["db_password"]="pw-4567"')
    assert "env-value-123" not in text and "pw-4567" not in text and len(found) == 2
