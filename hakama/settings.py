"""hakama's configuration: one settings class, built once at the edge and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("hakama-data")


class Settings(BaseSettings):
    """Every setting hakama reads, from `HAKAMA_*` environment variables or arguments.

    The data folder holds everything a running hakama keeps: the SQLite database, the history
    lake, uploads and secrets. Every command finds it the same way: `--data-dir`, else
    `HAKAMA_DATA_DIR`, else `./hakama-data`.
    """

    model_config = SettingsConfigDict(env_prefix="HAKAMA_", extra="ignore")

    environment: Literal["development", "production", "test"] = Field(
        "development", description="`production` refuses weak secrets and insecure cookies."
    )
    data_dir: Path = Field(
        DEFAULT_DATA_DIR, description="Folder of the database, lake, uploads and secrets."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the operational database; default SQLite in the data folder. "
        "PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    secret_key: str | None = Field(
        None, description="Key signing session cookies; default a random key kept in `secrets/`."
    )
    host: str = Field("127.0.0.1", description="Address `hakama serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `hakama serve` listens on.")
    default_language: Literal["ar", "fr", "en"] = Field(
        "fr", description="Language of a first visit."
    )
    timezone: str = Field("Africa/Casablanca", description="Time zone times are displayed in.")
    mqtt_url: str | None = Field(
        None, description="Broker the device subscriber connects to, e.g. `mqtt://127.0.0.1:1883`."
    )
    min_cell_count: int = Field(
        5, ge=1, description="Published counts below this are suppressed (privacy)."
    )
    open_data_licence: str = Field(
        "odc-odbl", description="Licence of the open datasets an admin did not set one for (a CKAN licence id)."
    )
    open_data_h3_resolution: int = Field(
        9, ge=5, le=12, description="Requests' positions in open data: centre of their H3 cell (9 ≈ 0.1 km²)."
    )
    open_data_by_commune: bool = Field(
        True,
        description="Each commune also publishes its own rows of the requests, service-level, sensor and records datasets.",
    )
    open_data_interval_minutes: int = Field(
        60, ge=0, description="How often `hakama serve` rebuilds the open datasets (0: never)."
    )
    alert_webhooks: list[str] = Field(
        default_factory=list,
        description="URLs that receive every alert opened or closed (JSON list in the environment).",
    )
    spark_master: str = Field(
        "local[2]",
        description="Spark master of `--engine spark`: `local[N]`, `spark://host:7077`, `yarn` or `k8s://https://host:port`.",
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description="Extra Spark configuration (JSON object in the environment), e.g. executor memory or S3 credentials.",
    )
    spark_lake_url: str | None = Field(
        None,
        description="The lake as Spark's executors read it (a shared folder or `s3a://bucket/lake`); default the local lake folder.",
    )
    indicators_interval_minutes: int = Field(
        15,
        ge=0,
        description="How often `hakama serve` recomputes indicators incrementally (0: never).",
    )
    indicators_dir: Path | None = Field(
        None,
        description="Folder of extra indicator definitions (YAML); default `indicators/` in the data folder.",
    )
    context_fetch_private: bool | None = Field(
        None,
        description="Fetch user @contexts from loopback or private addresses; default: yes, except in "
        "production (a client could otherwise make hakama call internal hosts).",
    )
    secure_cookies: bool = Field(
        False, description="Mark cookies `Secure` (HTTPS only); forced on in production."
    )
    records_max_file_mb: int = Field(
        1024, ge=1, description="Largest record file (CSV/XLSX) an import accepts, in MB."
    )
    records_max_push_mb: int = Field(
        16,
        ge=1,
        description="Largest body `POST /api/records/{type}` accepts, in MB (413 beyond it).",
    )
    record_types_dir: Path | None = Field(
        None,
        description="Folder of extra record types (YAML); default `record_types/` in the data folder.",
    )
    records_pull_interval_seconds: int = Field(
        60,
        ge=0,
        description="How often `hakama serve` looks for record sources due a pull (0: never).",
    )
    public_url: str | None = Field(
        None,
        description="Address citizens reach this hakama at (e.g. `https://hakama.example.ma`), used "
        "in the links notices carry; default `http://HOST:PORT`.",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server mail goes through (unset: mail is off)."
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_username: str | None = Field(None, description="SMTP login, if the server wants one.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_from: str | None = Field(None, description="Sender address of the mail hakama sends.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    report_delivery_interval_minutes: int = Field(
        60,
        ge=0,
        description="How often `hakama serve` looks for council reports due to subscribers "
        "(0: never; mail must be on).",
    )
    sms_gateway: Literal["json", "form", "twilio"] | None = Field(
        None,
        description="How SMS are sent (unset: SMS are off): `json` or `form` post "
        "`{to, from, text}` to `sms_url`; `twilio` uses Twilio's Messages API.",
    )
    sms_url: str | None = Field(
        None,
        description="The gateway's address: the webhook URL (`json`/`form`), or the API base for "
        "`twilio` (default `https://api.twilio.com`).",
    )
    sms_username: str | None = Field(
        None, description="Gateway login: Twilio's Account SID; for webhooks, HTTP basic user."
    )
    sms_token: str | None = Field(
        None,
        description="Gateway secret: Twilio's auth token; for webhooks, sent as a bearer token "
        "(or basic password with `sms_username`).",
    )
    sms_from: str | None = Field(None, description="Sender number or name SMS carry.")
    phone_country_code: str = Field(
        "212",
        pattern=r"^[1-9][0-9]{0,2}$",
        description="Country calling code of national phone numbers (06…, 07… in Morocco: 212).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level of the server's log lines (stderr, one line per event)."
    )
    log_json: bool = Field(
        False, description="Log one JSON object per line instead of text (for log collectors)."
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Also serve `/metrics` without sign-in on this port of `host` (for "
        "Prometheus); on the main port `/metrics` is staff-only.",
    )
    map_tiles: str | None = Field(
        None,
        description="Base layer of every map: a tile URL template, e.g. "
        "`https://tile.example.org/{z}/{x}/{y}.png` (`{s}` for subdomains). Default: none, or "
        "the MBTiles file imported with `hakama map tiles import` (served at `/tiles/`); the pages "
        "then stay offline. A Content-Security-Policy must allow the template's host for images.",
    )
    map_attribution: str = Field(
        "",
        description="Credit of the base layer shown on every map (required with `map_tiles`; "
        "default for an MBTiles file: its own `attribution`).",
    )

    @model_validator(mode="after")
    def _check_map_tiles(self) -> Settings:
        if self.map_tiles is not None:
            url = self.map_tiles.strip()
            if not url.startswith(("https://", "http://")) or not all(
                part in url for part in ("{z}", "{x}", "{y}")
            ):
                raise ValueError(
                    "HAKAMA_MAP_TILES must be an http(s) URL template with {z}, {x} and {y}"
                )
            if not self.map_attribution.strip():
                raise ValueError(
                    "HAKAMA_MAP_ATTRIBUTION is required with HAKAMA_MAP_TILES: tile providers "
                    "ask to be credited on the map"
                )
            self.map_tiles = url
        return self

    ngsi_temporal_max_instances: int = Field(
        10_000,
        ge=1,
        description="Most instances one attribute answers with in an NGSI-LD temporal answer; "
        "a longer history (or a larger `lastN`) is cut: 206 with `Content-Range: date-time "
        "<start>-<end>/<size>` (clause 6.3.10). The spec leaves the limit to the implementation.",
    )
    query_time_limit_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest a query filtering in Python (idPattern, q, geo) may run before it is "
        "answered 503; such queries run off the event loop.",
    )
    query_concurrency: int = Field(
        2, ge=1, description="How many such queries run at once (others wait their turn)."
    )
    query_queue: int = Field(
        32,
        ge=0,
        description="How many such queries may wait for their turn; beyond, they are answered "
        "503 at once with `Retry-After`.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins (e.g. `https://app.example.org`) other sites' scripts may call the "
        "API from, with an API key (no cookies); empty: no cross-origin access (JSON list).",
    )

    @model_validator(mode="after")
    def _refuse_weak_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key is not None and len(self.secret_key) < 32:
                raise ValueError("HAKAMA_SECRET_KEY must be at least 32 characters in production")
            self.secure_cookies = True
        return self

    @property
    def may_fetch_private(self) -> bool:
        if self.context_fetch_private is not None:
            return self.context_fetch_private
        return self.environment != "production"

    # Derived paths -------------------------------------------------------------------------

    @property
    def database(self) -> str:
        """The database URL in force (SQLite in the data folder unless told otherwise)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hakama.db').resolve()}"

    @property
    def base_url(self) -> str:
        """Where citizens reach this hakama (links in notices), without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def user_indicators_dir(self) -> Path:
        return self.indicators_dir or self.data_dir / "indicators"

    @property
    def user_record_types_dir(self) -> Path:
        return self.record_types_dir or self.data_dir / "record_types"

    @property
    def records_dir(self) -> Path:
        """Uploaded record files, staged rows and error reports of imports."""
        return self.data_dir / "records"

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    def ensure_dirs(self) -> None:
        for folder in (self.data_dir, self.lake_dir, self.uploads_dir, self.secrets_dir):
            folder.mkdir(parents=True, exist_ok=True)
