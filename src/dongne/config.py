"""Settings, read once from the environment (``DONGNE_*``): the only place env vars are read."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///dongne.db"
DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused in production
"""The secrets' default: fine on a laptop, refused when ``DONGNE_ENVIRONMENT=production``."""
OPENSTREETMAP_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
PASSWORD_HASH_FLOORS = {"password_hash_time_cost": 2, "password_hash_memory_kib": 19_456}
"""The cheapest argon2id production accepts: OWASP's minimum (2 passes over 19 MiB)."""


DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "login": (30, 10),
    "pin": (20, 5),
    "payment_code": (60, 20),
    "payment": (600, 60),
}
"""Requests a minute (per client address, per account) of each abuse-limited rule: a shop's
counter or a carrier's NAT puts many people behind one address, so clients get more."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DONGNE_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; SQLite in the working directory unless set",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_read_url: str | None = Field(
        default=None,
        description="a standby for reads that may lag a moment (the log's read API, wallet"
        " history), e.g. the pair's hosts with target_session_attrs=prefer-standby; unset,"
        " every read goes to database_url",
    )
    environment: Literal["development", "production"] = "development"

    pin_hmac_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        description="keys the HMAC that stores payment PINs; kept outside the database",
    )
    identity_hmac_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        description="keys the HMAC that stores national identity numbers and CIs",
    )
    password_hash_time_cost: int = Field(
        default=3,
        ge=1,
        le=20,
        description="argon2id passes over memory per password hash; the default is argon2-cffi's"
        " (RFC 9106's low-memory profile); production refuses less than 2",
    )
    password_hash_memory_kib: int = Field(
        default=65_536,
        ge=1_024,
        le=4_194_304,
        description="argon2id memory per password hash, in KiB (64 MiB by default); production"
        " refuses less than 19,456 (19 MiB). Tests set both low to hash in milliseconds",
    )
    access_token_minutes: int = Field(default=60, ge=1, le=24 * 60)
    pin_attempts_max: int = Field(default=5, ge=1, le=20)
    payment_batch_max: int = Field(
        default=64,
        ge=1,
        le=1000,
        description="the most counter payments the server commits in one transaction;"
        " 1: each payment in a transaction of its own",
    )
    payment_batch_linger_ms: float = Field(
        default=2.0,
        ge=0,
        le=50,
        description="how long a batch of payments waits for more after its first one arrives;"
        " 0: it takes those already waiting (under load, the next batch gathers while one"
        " commits). 2 ms by default: at half the peak rate the batches stay small without it,"
        " and the p99 latency there was 3 times as long (docs/performance.md)",
    )
    purchase_batch_max: int = Field(
        default=64,
        ge=1,
        le=1000,
        description="the most voucher purchases the API commits in one transaction;"
        " 1: each purchase in a transaction of its own",
    )
    purchase_batch_linger_ms: float = Field(
        default=2.0,
        ge=0,
        le=50,
        description="how long a batch of purchases waits for more after its first one"
        " arrives; 0: it takes those already waiting",
    )
    login_failures_max: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="wrong passwords for one login within the window before log-ins pause",
    )
    login_failure_window_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="the window, opened by a login's first wrong password, that failures count in",
    )
    payment_code_seconds: int = Field(default=180, ge=30, le=600)
    dynamic_qr_seconds: int = Field(
        default=300,
        ge=30,
        le=3600,
        description="a merchant's dynamic QR code (one sale's amount) can be paid this long",
    )
    webhook_retry_max: int = Field(default=8, ge=1, le=30)
    webhook_allow_private_addresses: bool | None = Field(
        default=None,
        description="let partners' webhooks go to loopback, private, link-local, multicast and"
        " reserved addresses; unset, allowed in development and refused in production (SSRF)",
    )
    payment_intent_approval_minutes: int = Field(
        default=30,
        ge=1,
        le=7 * 24 * 60,
        description="a partner's payment intent awaits the citizen's approval this long, then"
        " expires",
    )

    log_origin: str = Field(
        default="dongne.localhost/log",
        description="the log's origin line (C2SP tlog-checkpoint); also the signing key's name",
        pattern=r"^[^\s+]+$",
    )
    log_signer_key_path: str | None = Field(
        default=None,
        description="the operator's signed-note private key file; on SQLite, <database>.log-key"
        " beside the database (created on first use) unless set",
    )
    token_file: str | None = Field(
        default=None,
        description="where `dongne login` keeps its token (mode 0600); by default <database>.token"
        " beside a SQLite database, else $XDG_CONFIG_HOME/dongne/token",
    )
    xdg_config_home: str | None = Field(
        default=None,
        validation_alias="XDG_CONFIG_HOME",
        description="the user's configuration folder (freedesktop.org); ~/.config unless set",
    )
    log_checkpoint_interval_seconds: float = Field(
        default=1.0,
        ge=0.0,
        description="a new checkpoint at most this often while leaves are waiting",
    )
    log_witnesses: list[str] = Field(
        default_factory=list,
        description="witnesses the log pushes checkpoints to, each '<url> <verifier key>'",
    )
    log_witness_quorum: int = Field(
        default=0, ge=0, description="cosignatures a checkpoint needs to count as witnessed"
    )
    log_auditor_token_sha256: list[str] = Field(
        default_factory=list,
        description="SHA-256 (hex) of the bearer tokens that may read entry bundles",
    )

    sale_queue_admissions_per_second: float = Field(
        default=0.0,
        ge=0.0,
        le=100_000.0,
        description="buyers the sale queue admits per second during a sale; 0 turns it off",
    )
    sale_queue_burst: int = Field(
        default=100,
        ge=0,
        le=1_000_000,
        description="buyers admitted at once when a sale window opens, and the most a quiet"
        " line saves up",
    )
    sale_queue_month_start_days: int = Field(
        default=3, ge=0, le=28, description="the first N Seoul days of a month are a sale"
    )
    sale_queue_abandon_seconds: int = Field(
        default=30, ge=5, le=3600, description="a waiting buyer silent this long loses their place"
    )
    sale_queue_admission_seconds: int = Field(
        default=120, ge=10, le=3600, description="how long an admitted buyer has to buy"
    )

    settlement_fee_tiers: list[tuple[int | None, int]] = Field(
        default_factory=list,
        description="merchant fee by annual revenue: [[up_to_revenue_won or null, rate_bp], …]"
        " in rising order, the last open (null); empty: no fee. Zeropay's tiers are"
        " [[800000000, 0], [1200000000, 30], [null, 50]]",
    )
    fraud_repeat_count: int = Field(
        default=3, ge=2, le=1000, description="payments by one citizen to one merchant that alert"
    )
    fraud_repeat_window_minutes: int = Field(
        default=60, ge=1, le=7 * 24 * 60, description="… when made within this many minutes"
    )
    fraud_round_amount_unit_won: int = Field(
        default=10_000, ge=1, description="a payment that is a multiple of this is round"
    )
    fraud_round_amount_min_won: int = Field(
        default=100_000, ge=1, description="round payments below this never alert"
    )
    fraud_round_after_purchase_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="a round payment this soon after a purchase"
    )
    fraud_spike_ratio_percent: int = Field(
        default=500,
        ge=100,
        description="a merchant's day of voucher takings above this % of its usual day alerts",
    )
    fraud_spike_baseline_days: int = Field(
        default=28, ge=1, le=365, description="the days before that make the usual day"
    )
    fraud_spike_min_takings_won: int = Field(
        default=1_000_000, ge=0, description="days with less than this never count as a spike"
    )
    fraud_alert_holds_settlement: bool = Field(
        default=False, description="hold the merchant's settlement as soon as an alert opens"
    )
    fraud_check_online: bool = Field(
        default=True,
        description="check each payment made over the API against the fraud rules right after"
        " answering it; off: only `dongne fraud scan` (the batch) checks payments",
    )

    map_tiles_url: str = Field(
        default=OPENSTREETMAP_TILES,
        description="the directory map's tile URL template ({z}/{x}/{y}, {s} for subdomains);"
        " empty: no tiles, the markers on a blank background (a closed network)",
        pattern=r"^(https?://[^/\s]+/\S*)?$",
    )
    map_tiles_attribution: str = Field(
        default="© OpenStreetMap contributors",
        max_length=200,
        description="the credit the tiles' licence asks for, shown in the map's corner",
    )
    geocoder: Literal["off", "nominatim"] = Field(
        default="off",
        description="how `dongne merchant geocode` finds merchants' coordinates from their"
        " addresses: off, or a Nominatim server (DONGNE_NOMINATIM_URL)",
    )
    nominatim_url: str = Field(
        default="https://nominatim.openstreetmap.org",
        pattern=r"^https?://\S+$",
        description="the Nominatim server; OpenStreetMap's allows one request a second",
    )
    geocoder_user_agent: str = Field(
        default="dongne-directory",
        max_length=200,
        pattern=r"^[ -~]+$",  # an HTTP header: printable ASCII
        description="who asks, as Nominatim's usage policy wants: name the city's operator"
        " (printable ASCII, e.g. 'dongne siheung.go.kr')",
    )
    geocoder_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    ready_max_sequencing_lag_seconds: float = Field(
        default=60.0,
        gt=0,
        description="/readyz fails while a committed transaction has waited this long for its"
        " leaf in the log (the sequencer is behind)",
    )
    prometheus_multiproc_dir: str | None = Field(
        default=None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="prometheus-client's folder for the metrics of several server processes;"
        " set, /metrics adds up every process's",
    )
    access_log: bool = Field(
        default=False,
        description="an access line a request (logger dongne.access), as `dongne serve"
        " --access-log` sets; off by default: about a fifth of the HTTP layer's CPU a request",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="the server's and worker's JSON log lines at this level up"
    )
    rate_limits_enabled: bool | None = Field(
        default=None,
        description="count log-in, PIN, payment-code and payment requests per client and per"
        " account; unset, on in production and off in development",
    )
    rate_limits: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description="requests a minute per rule, [per client address, per account]: rules"
        " login, pin, payment_code, payment",
    )

    @property
    def allow_private_webhook_addresses(self) -> bool:
        """``webhook_allow_private_addresses``, or its default for the environment."""
        if self.webhook_allow_private_addresses is None:
            return self.environment != "production"
        return self.webhook_allow_private_addresses

    @property
    def rate_limits_on(self) -> bool:
        """``rate_limits_enabled``, or its default for the environment."""
        if self.rate_limits_enabled is None:
            return self.environment == "production"
        return self.rate_limits_enabled

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Self:
        if self.environment == "production":
            for name in ("pin_hmac_key", "identity_hmac_key"):
                secret: SecretStr = getattr(self, name)
                if secret.get_secret_value() == DEVELOPMENT_SECRET:
                    raise ValueError(f"DONGNE_{name.upper()} must be set in production")
            for name, floor in PASSWORD_HASH_FLOORS.items():
                if getattr(self, name) < floor:
                    raise ValueError(f"DONGNE_{name.upper()} is at least {floor} in production")
        return self
