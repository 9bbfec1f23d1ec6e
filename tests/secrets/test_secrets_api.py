"""Secrets planted in stored chats are all found, listed masked (never the secret itself), and
redacted from the messages, titles and the search index; other accounts are never read."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from factories import make_chat, other_account_id, owner_account_id
from fastapi import FastAPI

from chasm.harvest.tool_text import tool_text
from chasm.secrets import rules

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4Jq0fY0kq2Gk3m7mB2c5PzW1nV0Qy8rT6uLhK9sJd3eFg7H"
    "\nq1W2e3R4t5Y6u7I8o9P0aSdFgHjKlZxCvBnM\n-----END RSA PRIVATE KEY-----"
)
# rule -> a planted secret (fake, of the real format)
PLANTED = {
    "openai_api_key": "sk-proj-Q7vX2mN9pL4kR8tY1wE6zA3sD5fG0hJ2kL9mN4bV7cX1zQ8w",
    "anthropic_api_key": "sk-ant-api03-Zr8Kq2Lm5Np9Tx3Vb7Wc1Yd4Fe6Gh0Jk2Ll5Mn8Pq1Rs4Tu7Vw0Xy3",
    "aws_access_key_id": "AKIAZ7QX3LM9PW2RT5VN",
    "github_token": "ghp_R2d2C3p0L7k9M4n6B8v1X5z3Q0w2E4r6T8y1",
    "slack_token": "xoxb-2048302211-4096601132-Hk8Lm3Np7Qr2St6Vw9Xy1Za4",
    "stripe_key": "sk_live_51Hx7Kq2Lm5Np9Tx3Vb7Wc1Yd4",
    "google_api_key": "AIzaSyD8kR2mN5pQ9tX3vB7wC1yE4fG6hJ0kL2m",
    "huggingface_token": "hf_Rk8Lm3Np7Qr2St6Vw9Xy1Za4Bc5De6Fg7Hj",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dQw4w9WgXcQ7kR2mN5pQ9tX3vB7wC1yE",
    "url_password": "Wq7#zK2vLp9x",
    "secret_assignment": "d8F2kL9mQ4xZ7vN1",
    "private_key": PEM,
}


@pytest.fixture
async def planted(app: FastAPI) -> dict[str, Any]:
    account = await owner_account_id(app)
    calls = [
        {
            "id": "t1",
            "name": "Bash",
            "input": {"command": f"curl -H 'Authorization: Bearer {PLANTED['jwt']}' https://api.example.com"},
            "output": f"GITHUB_TOKEN={PLANTED['github_token']}\nSLACK={PLANTED['slack_token']}",
        }
    ]
    leaky = await make_chat(
        app,
        account,
        [
            {
                "role": "user",
                "content": f"Use my key {PLANTED['openai_api_key']} and {PLANTED['anthropic_api_key']}",
            },
            {
                "role": "assistant",
                "content": "Reading .env",
                "thinking": f"aws id {PLANTED['aws_access_key_id']}",
                "tool_calls": calls,
                "tool_text": tool_text(calls),
            },
            {"role": "tool", "content": f"STRIPE={PLANTED['stripe_key']} GOOGLE={PLANTED['google_api_key']}"},
            {"role": "user", "content": f"HF {PLANTED['huggingface_token']}\n{PEM}"},
            {
                "role": "assistant",
                "content": f'db = "postgres://app:{PLANTED["url_password"]}@db.internal:5432/app"\n'
                f'password = "{PLANTED["secret_assignment"]}"',
            },
        ],
        title="Deploy with ghp_R2d2C3p0L7k9M4n6B8v1X5z3Q0w2E4r6T8y1",
    )
    clean = await make_chat(
        app,
        account,
        [
            {
                "role": "user",
                "content": 'Set api_key = "your_api_key_here" and connect to postgres://user:password@localhost/db;'
                ' the token is ${GITHUB_TOKEN}. password = "<your password>" sk-... AKIA is a prefix',
            }
        ],
        title="Placeholders only",
    )
    other = await make_chat(
        app, await other_account_id(app), [{"role": "user", "content": PLANTED["openai_api_key"]}]
    )
    return {"leaky": str(leaky), "clean": str(clean), "other": str(other)}


async def test_every_planted_secret_is_found_and_masked(
    client: httpx.AsyncClient, planted: dict[str, Any]
) -> None:
    response = await client.get("/api/v1/secrets")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {f["rule"] for f in body["findings"]} == set(PLANTED)
    assert {f["chat_id"] for f in body["findings"]} == {planted["leaky"]}  # no placeholder, no other account
    assert body["chats"] == 1 and body["total"] == len(body["findings"]) == len(PLANTED) + 1  # + the title
    fields = {(f["rule"], f["field"]) for f in body["findings"]}
    assert {("aws_access_key_id", "thinking"), ("jwt", "tool_calls"), ("github_token", "title")} <= fields
    text = json.dumps(body)
    for secret in PLANTED.values():
        assert secret not in text and secret[8:24] not in text  # not even a part of it
    openai = next(f for f in body["findings"] if f["rule"] == "openai_api_key")
    assert (
        openai["excerpt"].startswith("Use my key sk-p…(") and openai["role"] == "user" and openai["seq"] == 0
    )

    enveloped = (await client.get("/api/secrets", params={"limit": 2, "offset": 1})).json()
    assert enveloped["success"] is True
    assert enveloped["data"]["findings"] == body["findings"][1:3]


async def test_redaction_rewrites_messages_titles_and_the_index(
    client: httpx.AsyncClient, planted: dict[str, Any]
) -> None:
    async def total(q: str) -> int:
        found = await client.get("/api/search/messages", params={"q": f'"{q}"'})
        return int(found.json()["data"]["total"])

    assert await total(PLANTED["openai_api_key"]) == 1
    only_openai = await client.post("/api/v1/secrets/redact", json={"rules": ["openai_api_key"]})
    assert only_openai.status_code == 200, only_openai.text
    redacted = {"secrets_redacted": 1, "messages_rewritten": 1, "titles_rewritten": 0, "chats": 1}
    assert only_openai.json() == redacted
    assert await total(PLANTED["openai_api_key"]) == 0
    assert await total(PLANTED["anthropic_api_key"]) == 1  # the other rules' secrets are still there

    everything = (await client.post("/api/secrets/redact", json={})).json()["data"]
    assert everything["secrets_redacted"] == len(PLANTED) and everything["titles_rewritten"] == 1
    assert (await client.get("/api/v1/secrets")).json()["total"] == 0

    chat = (await client.get(f"/api/sessions/{planted['leaky']}")).json()["data"]
    text = json.dumps(chat)
    for secret in PLANTED.values():
        assert secret not in text
    assert chat["title"] == "Deploy with [REDACTED:github_token]"
    assert chat["messages"][0]["content"].startswith("Use my key [REDACTED:openai_api_key] and [REDACTED:")
    assert "[REDACTED:jwt]" in chat["messages"][1]["tool_calls"][0]["input"]["command"]
    found = await client.get("/api/search/messages", params={"q": "GITHUB_TOKEN", "tools": "only"})
    assert "ghp_" not in json.dumps(found.json())  # the tool text was rebuilt
    untouched = (await client.get(f"/api/sessions/{planted['clean']}")).json()["data"]
    assert "REDACTED" not in json.dumps(untouched)


async def test_bad_requests(client: httpx.AsyncClient, planted: dict[str, Any]) -> None:
    unknown = await client.post("/api/v1/secrets/redact", json={"rules": ["nope"]})
    assert unknown.status_code == 400 and "nope" in unknown.json()["message"]
    foreign = await client.get("/api/v1/secrets", params={"chat_id": planted["other"]})
    assert foreign.status_code == 404
    assert (
        await client.post("/api/v1/secrets/redact", json={"chat_id": planted["other"]})
    ).status_code == 404
    one = (await client.get("/api/v1/secrets", params={"chat_id": planted["clean"]})).json()
    assert one["findings"] == [] and one["messages_scanned"] == 1


def test_rules_skip_placeholders_and_low_entropy() -> None:
    assert [m.rule.id for m in rules.find('token = "aaaaaaaaaaaaaaaa" key: "${SECRET_KEY}"')] == []
    assert [m.rule.id for m in rules.find("mysql://root:password@localhost")] == []
    assert [m.rule.id for m in rules.find("redis://:Wq7zK2vLp9x@cache:6379")] == ["url_password"]
