"""One redaction rule: secret-looking keys, URL credentials, ``${VAR}`` secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lockgate import redact
from lockgate.redact import REDACTED, redact_text, redact_value
from lockgate.settings import load_definitions


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    redact.forget_secrets()
    yield
    redact.forget_secrets()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "GET https://api.example.com/items?api_key=k3y&page=2 failed",
            "GET https://api.example.com/items?api_key=[redacted]&page=2 failed",
        ),
        (
            "https://h/x?page=1&access_token=abc#top",
            "https://h/x?page=1&access_token=[redacted]#top",
        ),
        (
            "https://h/x?key=abc&sig=def&signature=g&auth=h&limit=5",
            "https://h/x?key=[redacted]&sig=[redacted]&signature=[redacted]&auth=[redacted]&limit=5",
        ),
        (
            "https://h/x?X-Amz-Signature=abc&X-Amz-Credential=def",
            "https://h/x?X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted]",
        ),
        ("https://u:pw@h/x?password=p", "https://u:[redacted]@h/x?password=[redacted]"),
        ("https://ghp_0123456789abcdefghij@github.com/o/r", "https://[redacted]@github.com/o/r"),
        ("ssh://git@github.com/o/r", "ssh://git@github.com/o/r"),
        (
            "https://example.com:8443/items?page=2&from=a@b",
            "https://example.com:8443/items?page=2&from=a@b",
        ),
        ("header Authorization: Bearer abcdef123456", "header Authorization: Bearer [redacted]"),
        ("/items?token=xyz", "/items?token=[redacted]"),
    ],
)
def test_credentials_in_urls_and_text_are_redacted(text: str, shown: str) -> None:
    assert redact_text(text) == shown


def test_secret_keys_are_redacted_at_any_depth_and_ordinary_keys_stay() -> None:
    run = {
        "id": 3,
        "run_key": "2024-01-01",
        "config": {"api_token": "t0k3n", "db_password": "hunter2", "limit": 10, "author": "ann"},
        "trigger": {"http": {"url": "https://h/x?apikey=zz"}},
        "headers": [{"X-Api-Key": "abc"}],
        "empty_secret": "",
    }
    shown = redact_value("", run)
    assert shown == {
        "id": 3,
        "run_key": "2024-01-01",
        "config": {"api_token": REDACTED, "db_password": REDACTED, "limit": 10, "author": "ann"},
        "trigger": {"http": {"url": f"https://h/x?apikey={REDACTED}"}},
        "headers": [{"X-Api-Key": REDACTED}],
        "empty_secret": "",
    }
    assert run["config"]["api_token"] == "t0k3n"  # the original is not changed


def test_values_interpolated_into_secret_places_are_hidden_wherever_they_appear(
    tmp_path: Path,
) -> None:
    (tmp_path / "lockgate.yaml").write_text(
        "jobs:\n"
        "  pull:\n"
        '    command: ["curl", "-H", "X-Custom: ${HEADER_VALUE}", "https://h/${API_TOKEN}/x"]\n'
        "    config:\n"
        "      warehouse_password: ${WH}\n"
        "      region: ${REGION}\n"
        "sensors:\n"
        "  api:\n"
        "    kind: http\n"
        "    url: https://${BASIC}@h.example/items?code=${CODE}&page=${PAGE}\n"
        "    headers:\n"
        "      X-Custom: ${HEADER_VALUE}\n"
        "    params:\n"
        "      key: ${PARAM_KEY}\n"
        "    target: pull\n"
    )
    env = {
        "HEADER_VALUE": "hdr-value-1",
        "API_TOKEN": "tok-value-2",
        "WH": "wh-value-3",
        "REGION": "eu-west",
        "BASIC": "usr:basic-value-4",
        "CODE": "code-value-5",
        "PAGE": "2",
        "PARAM_KEY": "param-value-6",
    }
    load_definitions(tmp_path / "lockgate.yaml", environ=env)
    text = redact_text("failed: " + " ".join(env.values()))
    for name, value in env.items():
        if name in ("REGION", "PAGE"):
            assert value in text  # interpolated into ordinary places: not a secret
        else:
            assert value not in text, name


def test_a_remembered_secret_is_hidden_percent_encoded_too() -> None:
    redact.remember_secret("p@ss w/rd+1")
    for shown in ("p%40ss%20w%2Frd%2B1", "p%40ss%20w/rd%2B1", "p%40ss+w%2Frd%2B1"):
        text = redact_text(f"GET https://h.example/v1/{shown}/items failed")
        assert "ss" not in text.replace("https", "") and REDACTED in text, text
