"""The secret rules: provider key formats, private keys, JWTs, credentials in URLs and
high-entropy assignments to secret-named keys.

The provider formats follow the prefixes each provider documents (and that gitleaks' and
detect-secrets' rule sets match): OpenAI `sk-proj-`/`sk-svcacct-`/`sk-admin-` and the older
`sk-...T3BlbkFJ...`, Anthropic `sk-ant-api03-`/`sk-ant-admin01-`, AWS `AKIA`/`ASIA` key ids and
`aws_secret_access_key` values, GitHub `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_`/`github_pat_`, GitLab
`glpat-`, Slack `xox?-` tokens and webhook URLs, Stripe `sk_live_`/`rk_live_` (and `_test_`),
Google `AIza`, Hugging Face `hf_`. The generic rules (URL passwords, assignments) skip values that
read as placeholders (`<...>`, `${...}`, `your_...`, `example`, `xxxx`, `****`, `changeme`) and
assignments whose value is not random enough.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    pattern: re.Pattern[str]
    group: int = 0  # the part of the match that is the secret
    generic: bool = False  # a generic rule: placeholders and low-entropy values are skipped


@dataclass(frozen=True)
class Match:
    rule: Rule
    start: int
    end: int
    secret: str


RULES: tuple[Rule, ...] = (
    Rule(
        "private_key",
        "Private key (PEM)",
        re.compile(
            r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----"
            r"(?:[\s\S]{0,16000}?-----END \1PRIVATE KEY\2-----|[A-Za-z0-9+/=\s\\n]{40,})"
        ),
    ),
    Rule(
        "anthropic_api_key", "Anthropic API key", re.compile(r"\bsk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{32,}")
    ),
    Rule(
        "openai_api_key",
        "OpenAI API key",
        re.compile(
            r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{32,}"
            r"|\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b"
        ),
    ),
    Rule("aws_access_key_id", "AWS access key id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")),
    Rule(
        "aws_secret_access_key",
        "AWS secret access key",
        re.compile(
            r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        group=1,
    ),
    Rule(
        "github_token",
        "GitHub token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{80,255})\b"),
    ),
    Rule("gitlab_token", "GitLab personal access token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    Rule("slack_token", "Slack token", re.compile(r"\bxox[abposr]-(?:[0-9]+-)+[A-Za-z0-9-]{8,}")),
    Rule(
        "slack_webhook",
        "Slack webhook URL",
        re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9+/_-]{20,}"),
    ),
    Rule("stripe_key", "Stripe secret key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    Rule("google_api_key", "Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    Rule("huggingface_token", "Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{34,}\b")),
    Rule(
        "jwt",
        "JSON Web Token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}"),
    ),
    Rule(
        "url_password",
        "Password in a URL",
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@\"'<>]{0,100}:([^\s@/\"'<>]{3,200})@[\w.-]+"),
        group=1,
        generic=True,
    ),
    Rule(
        "secret_assignment",
        "High-entropy value assigned to a secret-named key",
        re.compile(
            r"(?i)\b[\w.-]*(?:password|passwd|secret|api_?key|access_?token|auth_?token|private_?key|token)"
            r"[\"']?\s*(?:=|:|=>)\s*[\"']([^\"'\s]{12,200})[\"']"
        ),
        group=1,
        generic=True,
    ),
)

# One cheap search before the rules: text without any of these holds no secret.
QUICK = re.compile(
    r"PRIVATE KEY|sk-|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|glpat-|xox|hooks\.slack|_live_|_test_"
    r"|AIza|hf_|eyJ|://|(?i:secret|passw|token|api_?key|private_?key)"
)
PLACEHOLDER = re.compile(
    r"^(?:pass(?:word)?|passwd|pwd|secret|token|user(?:name)?|admin|test|pa\$\$word)$|^[<\[{(]|\$\{|\$[A-Z_]+|%\(|\{\{|your|example|sample|dummy|placeholder|changeme|redacted|xxxx|\*\*\*|\.\.\.|…",
    re.IGNORECASE,
)
MIN_ENTROPY = 3.0  # bits per character of a generic secret (random keys: 4 to 6)


def entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _plausible(rule: Rule, secret: str) -> bool:
    if not rule.generic:
        return True
    if PLACEHOLDER.search(secret) or "[REDACTED" in secret:
        return False
    if rule.id == "url_password":
        return len(set(secret)) > 2
    return (
        entropy(secret) >= MIN_ENTROPY
        and any(c.isdigit() for c in secret)
        and any(c.isalpha() for c in secret)
    )


def find(text: str) -> Iterator[Match]:
    """The secrets in `text`, in order, none overlapping (the first rule to claim a span keeps it)."""
    if not text or QUICK.search(text) is None:
        return
    taken: list[tuple[int, int]] = []
    found: list[Match] = []
    for rule in RULES:
        for m in rule.pattern.finditer(text):
            start, end = m.span(rule.group)
            if any(start < e and s < end for s, e in taken):
                continue
            secret = m.group(rule.group)
            if not _plausible(rule, secret):
                continue
            taken.append((start, end))
            found.append(Match(rule, start, end, secret))
    yield from sorted(found, key=lambda f: f.start)


def masked_text(text: str) -> str:
    """`text` with every secret in it masked."""
    found = list(find(text))
    pieces, cursor = [], 0
    for m in found:
        pieces += [text[cursor : m.start], masked(m)]
        cursor = m.end
    return "".join(pieces) + text[cursor:]


def masked(match: Match) -> str:
    """What may be shown of a secret: its format's prefix (`sk-p`, `AKIA`, `ghp_`; nothing of a
    password or a generic value) and its length."""
    shown = "" if match.rule.generic else match.secret[: min(4, len(match.secret) // 4)]
    return f"{shown}…({len(match.secret)} chars)"


def excerpt(text: str, match: Match, found: list[Match], width: int = 40) -> str:
    """The text around a secret on one line; it and every other secret of `found` (all those in
    `text`) that reaches into view are masked, even when the window's edge cuts them."""
    lo, hi = max(0, match.start - width), min(len(text), match.end + width)
    pieces, cursor = [], lo
    for m in found:
        if m.end <= lo or m.start >= hi:
            continue
        pieces.append(text[cursor : max(cursor, m.start)])
        pieces.append(masked(m))
        cursor = max(cursor, m.end)
    pieces.append(text[cursor:hi] if cursor < hi else "")
    out = " ".join("".join(pieces).split())
    return ("…" if lo > 0 else "") + out + ("…" if max(hi, cursor) < len(text) else "")
