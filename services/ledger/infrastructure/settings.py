"""Configuration from the environment (``LEDGER_*``), with the embedded SQLite default."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.application.approval_policy import ApprovalPolicy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/ledger.sqlite3",
        description="sqlite:///path, postgresql://user@host:port/db[?schema=s], or memory://",
    )
    projections_url: str | None = Field(
        default=None,
        description="Where read models live; default: beside the events (same PostgreSQL "
        "database, or a sibling SQLite file).",
    )
    run_projections: bool = Field(
        default=True,
        description="Follow the log in this process (embedded default); turn off when a "
        "separate `ledger projections run` process does it.",
    )
    read_wait_seconds: float = Field(
        default=5.0, description="Longest a read waits for its min_position (seconds)."
    )
    max_body_bytes: int = Field(default=64 * 1024, description="Largest request body accepted")
    sequencer_cache_size: int = Field(
        default=5000,
        ge=16,
        description="Aggregates the sequencer keeps in memory (least recently used are dropped "
        "and read again from their latest snapshot)",
    )
    max_batch_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        description="Largest body of POST /v1/batches (up to 1,000 recording requests)",
    )
    commit_batch_max: int = Field(default=512, description="Most commands in one group commit")
    pool_size: int = Field(default=10, description="PostgreSQL connections per process")
    commit_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest a command waits for its event-store transaction; after it the "
        "answer is 503 outcome-unknown (retry with the same Idempotency-Key).",
    )
    request_deadline_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Every request answers by this deadline (until its response starts): "
        "503 store-unavailable for a read, 503 outcome-unknown for a write.",
    )
    store_wait_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Longest a request waits for a pooled PostgreSQL connection (event store "
        "and read store) before answering 503.",
    )
    store_statement_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest one read-store query may run before it is cancelled (503).",
    )
    store_recycle_seconds: float = Field(
        default=600.0,
        gt=0,
        description="Pooled PostgreSQL connections older than this are replaced.",
    )
    read_pool_size: int = Field(
        default=4,
        ge=1,
        le=50,
        description="Read-model connections per process for API reads; the projection runner "
        "adds 2 of its own (7 in a verify or rebuild).",
    )
    read_pool_overflow: int = Field(
        default=4, ge=0, description="Extra read-model connections allowed in bursts"
    )
    http_max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        description="Largest request line plus headers `ledger serve` reads (431 above it).",
    )
    http_header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest a client may take to send its headers (408)."
    )
    http_body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest a client may take to send its body (408)."
    )
    http_keep_alive_seconds: float = Field(
        default=5.0, ge=1, description="An idle kept-alive connection is closed after this."
    )
    sse_max_streams: int = Field(
        default=64, ge=1, description="Most open event streams (SSE) per process"
    )
    sse_max_streams_per_caller: int = Field(
        default=4, ge=1, description="Most open event streams (SSE) per token subject"
    )
    value_date_horizon_days: int = Field(
        default=7,
        ge=0,
        le=366,
        description="Latest value date accepted: this many days after today in the programme's "
        "time zone.",
    )
    timezone: str = Field(
        default="Asia/Almaty",
        description="The programme's time zone: value dates (and a reversal's default date) "
        "are calendar days there.",
    )
    approval_thresholds: dict[str, int] = Field(
        default_factory=lambda: {"KZT": 5_000_000_000},
        description="Per currency, in minor units: a disbursement above it waits for a second "
        'person (JSON, e.g. {"KZT": 5000000000}); a currency not listed always waits.',
    )
    approval_ttl_seconds: int = Field(
        default=72 * 3600, gt=0, description="How long a pending disbursement can be approved."
    )
    expiry_sweep_seconds: int = Field(
        default=60, gt=0, description="How often overdue pending disbursements are expired."
    )
    period_refresh_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Longest a process trusts its copy of the fiscal calendar (other processes' "
        "closes become visible within it); 0 reads it for every entry.",
    )

    # -- imports of bank statements and payment registers -----------------------------
    import_max_bytes: int = Field(
        default=20 * 1024 * 1024, gt=0, description="Largest statement or register accepted."
    )
    import_max_rows: int = Field(
        default=100_000, gt=0, description="Most documents or rows in one imported file."
    )
    import_knp_categories: dict[str, str] = Field(
        default_factory=lambda: {"710": "goods", "780": "services", "119": "other"},
        description="KNP payment-purpose code -> expenditure category for statement lines paid "
        'from a school\'s IIK (JSON, e.g. {"710": "equipment"}); a code not listed waits '
        "for a decision.",
    )

    def approval_policy(self) -> ApprovalPolicy:
        return ApprovalPolicy(
            dict(self.approval_thresholds), dt.timedelta(seconds=self.approval_ttl_seconds)
        )

    # -- authentication (see ledger.api.auth and README "Access control") --------------
    env: Literal["dev", "production"] = Field(
        default="dev",
        description="production refuses to start without real key material; dev creates a "
        "local signing secret under the data folder on first start.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 shared secret (at least 32 bytes in production)."
    )
    jwt_previous_secret: SecretStr | None = Field(
        default=None,
        description="During an HS256 rotation: the old secret, still accepted for verifying "
        "(never for minting) until the tokens it signed have expired; then remove it.",
    )
    jwt_secret_file: Path | None = Field(
        default=None,
        description="File holding the HS256 secret; dev default: jwt-secret beside the SQLite "
        "file (created on first start).",
    )
    jwks_url: str | None = Field(
        default=None, description="JWKS URL of an OpenID Connect provider (RS256/ES256 tokens)."
    )
    jwt_issuer: str | None = Field(
        default=None, description="Required `iss`; default for local HS256 tokens: grant-ledger."
    )
    jwt_audience: str | None = Field(
        default=None, description="Required `aud`; default for local HS256 tokens: grant-ledger."
    )
    jwt_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on exp/nbf/iat (seconds)."
    )
    jwt_max_lifetime_seconds: int = Field(
        default=31 * 86400,
        ge=60,
        le=366 * 86400,
        description="Longest a token may still be valid when presented (exp minus now, "
        "seconds); `ledger token --ttl` is capped to it too. A leaked token cannot outlive it.",
    )
    metrics_public: bool = Field(
        default=False, description="Serve /metrics without a token (else the metrics role)."
    )


# Aggregates stay cached between commands, and the application puts committed state
# back itself; a stale entry (another process wrote) shows up as a version conflict
# or a refusal, and the command is then decided again on state read from the store.
CACHE = {"AGGREGATE_CACHE_MAXSIZE": "5000", "AGGREGATE_CACHE_FASTFORWARD": "n"}


def eventsourcing_env(
    database_url: str,
    pool_size: int = 10,
    *,
    wait_seconds: float = 2.0,
    recycle_seconds: float = 600.0,
) -> dict[str, str]:
    """Translate one URL into the eventsourcing library's infrastructure settings."""
    return {**_store_env(database_url, pool_size, wait_seconds, recycle_seconds), **CACHE}


def _store_env(
    database_url: str, pool_size: int, wait_seconds: float, recycle_seconds: float
) -> dict[str, str]:
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path or path == ":memory:":
            msg = "an SQLite URL needs a file path (use memory:// for a throwaway store)"
            raise ValueError(msg)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
            "CREATE_TABLE": "y",
            "APPLICATION_RECORDER_TOPIC": "ledger.infrastructure.recorders:CheckedSQLiteRecorder",
        }
    if scheme in ("postgres", "postgresql"):
        query = parse_qs(parts.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pool_size),
            "ORIGINATOR_ID_TYPE": "uuid",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
            # A request waits this long for a pooled connection (the library's "connect
            # timeout" is the pool's wait): with the database down it answers 503 soon
            # instead of queueing for the library's 30 s default.
            "POSTGRES_CONNECT_TIMEOUT": str(max(1, round(wait_seconds))),
            # No ping before each use: it costs a round trip on every commit of the
            # sequencer. A connection the server closed (restart, failover) fails on
            # use, the library retries the call on a fresh one (and a write that may
            # have landed is re-decided under its idempotency key), and none outlives
            # the recycle age.
            "POSTGRES_CONN_MAX_AGE": str(recycle_seconds),
            # Past this many queued requests the pool refuses at once (503).
            "POSTGRES_MAX_WAITING": str(max(16, 4 * pool_size)),
            "CREATE_TABLE": "y",
            "APPLICATION_RECORDER_TOPIC": "ledger.infrastructure.recorders:CheckedPostgresRecorder",
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return env
    msg = f"unsupported database URL scheme {parts.scheme!r}"
    raise ValueError(msg)
