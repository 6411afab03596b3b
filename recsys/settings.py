"""All configuration, read once from environment variables (see README "Configuration")."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recsys.events.validity import DEFAULT_EPOCH
from recsys.foldin.blend import DEFAULT_COLLAB_WEIGHT, DEFAULT_MIN_INTERACTIONS

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    # Confidence added to a (user, item) pair by one event of each type. Ratings are scaled by
    # their value (a 5-star rating adds 5 * 0.8 = 4.0); dislikes remove the pair entirely.
    "view_start": 1.0,
    "view_complete": 3.0,
    "rating": 0.8,
    "like": 4.0,
    "add_to_list": 2.0,
    "search": 0.5,
    "dislike": 0.0,
}


class Settings(BaseSettings):
    """Environment-driven settings shared by the pipeline, the API and the CLI."""

    model_config = SettingsConfigDict(env_prefix="RECSYS_", extra="ignore", populate_by_name=True)

    home: Path = Field(default=Path(".recsys"), description="Folder for all local state.")
    clickhouse_url: str | None = Field(
        default=None,
        description="chdb:///abs/dir (embedded, default under home) or http://user:pw@host:8123/db",
    )
    clickhouse_cluster: str = Field(
        default="",
        pattern=r"^\w*$",
        description="a ClickHouse cluster's name: the schema's replicated, sharded form "
        "(recsys.warehouse.cluster); needs a server URL",
    )
    dataset: str = Field(default="synthetic", description="synthetic | movielens:<dir or name>")
    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "RECSYS_MLFLOW_TRACKING_URI"),
    )

    # The default dataset: big enough to be interesting, small enough that `recsys up` serves
    # its first personal recommendations in seconds.
    synthetic_users: int = Field(default=10_000, ge=1)
    synthetic_items: int = Field(default=3_000, ge=1)
    synthetic_events: int = Field(default=500_000, ge=1)
    synthetic_seed: int = 42

    top_k: int = Field(default=50, ge=1, le=1000, description="Recommendations exported per user.")
    trending_half_life_days: float = Field(default=7.0, gt=0)
    decay_half_life_days: float = Field(
        default=0.0, ge=0, description="Time decay of interaction weights (0: off)."
    )
    ease_max_items: int = Field(
        default=15_000, ge=1, description="EASE's dense inverse is skipped above this many items."
    )
    min_improve: float = Field(
        default=0.0,
        ge=0,
        description="NDCG@10 a retrained model must gain over the published one (offline).",
    )
    collab_weight: float = Field(default=DEFAULT_COLLAB_WEIGHT, ge=0, le=1)
    min_interactions_for_collab: int = Field(default=DEFAULT_MIN_INTERACTIONS, ge=0)

    lock_timeout_seconds: float = Field(
        default=120.0, gt=0, description="Longest wait for the embedded warehouse's lock."
    )
    warehouse_linger_seconds: float = Field(
        default=1.0, ge=0,
        description="How long a process keeps the embedded engine open after a session when "
        "nobody else waits for it (0: close at once).",
    )  # fmt: skip
    quality_epoch: datetime = Field(
        default=DEFAULT_EPOCH, description="Events before this are invalid (quarantined)."
    )
    quality_max_invalid_rate: float = Field(
        default=0.01, ge=0, le=1,
        description="Share of invalid or duplicated rows the blocking checks tolerate: fewer are "
        "quarantined and reported; more stop the run (a corrupted batch).",
    )  # fmt: skip
    api_fresh_users_max: int = Field(
        default=100_000, ge=1,
        description="Users with events newer than the model the API tracks exactly; past it, "
        "the oldest are kept in a Bloom filter (a false positive costs one fold-in read).",
    )  # fmt: skip
    api_user_cache_size: int = Field(
        default=20_000, ge=1, description="Users whose fold-in results and histories are cached."
    )
    quality_min_coverage: float = Field(
        default=0.01, ge=0, le=1, description="Least catalogue share the top-K lists must cover."
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    dagster_port: int = Field(default=3000, ge=1, le=65535)
    mlflow_port: int = Field(
        default=5000, ge=1, le=65535, description="Where `recsys up` serves the MLflow UI."
    )
    dagster_url: str | None = Field(
        default=None,
        description="The Dagster UI as a browser reaches it (default http://127.0.0.1:<port>).",
    )
    mlflow_ui_url: str | None = Field(
        default=None,
        description="The MLflow UI as a browser reaches it (default: the tracking URI if it is "
        "a server, else http://127.0.0.1:<mlflow_port>).",
    )
    api_reload_seconds: float = Field(
        default=2.0, gt=0, description="How often the API checks for a newly published model."
    )
    api_url: str | None = Field(
        default=None,
        description="Where the pipeline tells the API a version was published "
        "(default http://<api_host>:<api_port>).",
    )
    admin_token: str | None = Field(
        default=None, description="Bearer token the API's /admin endpoints require, if set."
    )
    erasure_key: SecretStr | None = Field(
        default=None,
        description="Secret key of the erasure records' keyed hashes (HMAC-SHA256 of the user "
        "id); kept outside the warehouse. Unset: `<home>/erasure-key`, created once.",
    )
    erasure_retired_keys: SecretStr | None = Field(
        default=None,
        description="Earlier erasure keys, comma-separated, still used to recognise the "
        "records made under them (after a rotation).",
    )
    dagster_home_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("DAGSTER_HOME", "RECSYS_DAGSTER_HOME"),
        description="The Dagster instance's folder, as every Dagster process reads it "
        "(DAGSTER_HOME; default <home>/dagster).",
    )
    retrain_threshold: int = Field(
        default=50, ge=1, description="New events that make the sensor request a retrain."
    )
    retrain_sensor_seconds: int = Field(
        default=15, ge=1, description="How often the retrain sensor counts new events."
    )
    retrain_cron: str = Field(default="0 3 * * *", description="The nightly retrain schedule.")
    retrain_timezone: str = "UTC"
    automation_on: bool = Field(
        default=True,
        description="Whether the retrain sensor and schedule start switched on (the UI's "
        "toggles override this per deployment).",
    )
    pipeline_executor: Literal["in_process", "multiprocess", "k8s"] = Field(
        default="in_process", description="Where full_pipeline's steps run: all in the run's "
        "process (no start-up per step), a process each, or a Kubernetes pod each.",
    )  # fmt: skip
    step_values_url: str = Field(
        default="", description="Where steps hand values on (default: DAGSTER_HOME/storage); an "
        "object store (s3://bucket/path with s3fs...) when steps run in separate pods.",
    )  # fmt: skip
    generation_buckets: int = Field(
        default=1, ge=1, le=1024, description="User buckets of user_recommendations: a step each."
    )
    serving_reads: Literal["memory", "warehouse"] = Field(
        default="memory",
        description="memory: the API loads each published version whole; warehouse: it reads "
        "users' lists, similar items and catalogue entries per request (cached), for catalogues "
        "too large to hold (meant for a ClickHouse server).",
    )
    api_max_body_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="Largest request body the API accepts."
    )
    api_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a connection may take to send a request's headers before the "
        "API closes it (slow clients; idle kept-alive connections close after 5 s).",
    )
    fold_in_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Longest a request waits to read a user's new events for fold-in; after "
        "that it is served the precomputed list without the items it touched.",
    )

    # How models are evaluated offline (tuning, test scoring, champion against challenger).
    evaluation_split: Literal["temporal", "global_time", "random", "leave_last_out"] = Field(
        default="temporal",
        description="temporal: each user's latest 20% held out; global_time: one cut for "
        "everyone; random: a seeded random 20% per user; leave_last_out: each user's last pair.",
    )
    relevance_min_rating: float = Field(
        default=4.0, ge=0.0, le=5.0,
        description="A held-out rating counts as relevant from these stars (0: every pair).",
    )  # fmt: skip

    # Measuring online: impressions, attribution, experiments, exploration and demotion.
    api_log_impressions: bool = Field(
        default=True, description="Record every list served in the `impressions` table."
    )
    api_impression_queue: int = Field(
        default=100_000, ge=1, description="Lists held for writing; more are dropped (counted)."
    )
    api_impression_flush_seconds: float = Field(
        default=0.5, gt=0, description="How often queued impressions are written."
    )
    attribution_hours: float = Field(
        default=24.0, gt=0, le=24 * 90,
        description="An engagement within this long after an impression is credited to it.",
    )  # fmt: skip
    experiments_file: Path | None = Field(
        default=None, description="YAML file of experiments (`experiments: [...]`)."
    )
    experiment_results_cron: str = Field(
        default="0 * * * *", description="When `experiment_results` recomputes (hourly)."
    )
    exploration_share: float = Field(
        default=0.0, ge=0.0, le=0.5,
        description="Share of list slots given to rarely shown items (0: none).",
    )  # fmt: skip
    demote_after_impressions: int = Field(
        default=0, ge=0,
        description="Demote an item shown this many times to a user who never took it (0: off).",
    )  # fmt: skip

    # The Kafka consumer (`python -m recsys consume`; `recsys up` starts it when servers are set).
    # Further librdkafka properties: RECSYS_KAFKA_PROPERTY_<NAME>, "_" for "." (SASL, TLS...).
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers (host:port,...); unset: no consumer."
    )
    kafka_events_topic: str = "recsys.events"
    kafka_items_topic: str = Field(
        default="recsys.items",
        description='Catalogue changes: an item\'s fields and item_id; {"deleted": true} removes.',
    )
    kafka_group: str = "recsys"
    kafka_batch_size: int = Field(
        default=5_000, ge=1, description="Messages stored (and committed) together."
    )
    kafka_metrics_port: int = Field(
        default=9108, ge=0, description="The consumer's /metrics and /health port (0: none)."
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, home: Path) -> Path:
        # Every process (UI, daemon, run workers, API) must agree on one folder whatever its cwd.
        return home.expanduser().resolve()

    @model_validator(mode="after")
    def _cluster_needs_a_server(self) -> Settings:
        if self.clickhouse_cluster and not (self.clickhouse_url or "").startswith("http"):
            raise ValueError(
                "RECSYS_CLICKHOUSE_CLUSTER needs a ClickHouse server: set RECSYS_CLICKHOUSE_URL "
                "to http(s)://user:password@host:8123/database (the embedded engine is one node)"
            )
        return self

    @property
    def warehouse_url(self) -> str:
        return self.clickhouse_url or f"chdb://{self.home / 'warehouse'}"

    @property
    def api_base_url(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::") else self.api_host
        return f"http://{host}:{self.api_port}"

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def tracking_is_server(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))

    @property
    def mlflow_ui(self) -> str:
        if self.mlflow_ui_url:
            return self.mlflow_ui_url.rstrip("/")
        if self.tracking_is_server:
            return self.tracking_uri.rstrip("/")
        return f"http://127.0.0.1:{self.mlflow_port}"

    @property
    def dagster_ui(self) -> str:
        return (self.dagster_url or f"http://127.0.0.1:{self.dagster_port}").rstrip("/")

    @property
    def quality_dir(self) -> Path:
        """The Great Expectations project the checks write (validations, Data Docs)."""
        return self.home / "quality"

    @property
    def data_docs_site(self) -> Path:
        return data_docs_site(self.quality_dir)

    @property
    def mlflow_artifacts_dir(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def dagster_home(self) -> Path:
        """Where the Dagster instance lives: DAGSTER_HOME when set (the pipeline writes there,
        wherever it is), else inside the home."""
        if self.dagster_home_dir is not None:
            return self.dagster_home_dir.expanduser().resolve()
        return self.home / "dagster"

    @property
    def datasets_dir(self) -> Path:
        return self.home / "datasets"


def data_docs_site(quality_dir: Path) -> Path:
    """Where Great Expectations builds the Data Docs site of the project at `quality_dir`."""
    return quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
