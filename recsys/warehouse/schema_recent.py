"""The migrations since 11 (`schema_history` lists every migration; these are appended to it):
measuring online (11), the evaluation protocol beside a model's metrics (12)."""

from __future__ import annotations

from recsys.warehouse.schema_types import Migration

RECENT_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        11,
        "impressions, experiments and their results",
        (
            # The list a request was answered from, so an engagement can be tied to it.
            "ALTER TABLE events ADD COLUMN IF NOT EXISTS request_id String DEFAULT ''",
            # One row per list shown (items as an array, in order: position = index + 1): the
            # API writes thousands of lists a second, far fewer rows than one per item.
            """
            CREATE TABLE IF NOT EXISTS impressions (
                request_id String,
                user_id String,
                surface LowCardinality(String),
                items Array(String),
                model_version LowCardinality(String),
                experiment LowCardinality(String),
                variant LowCardinality(String),
                shown_at DateTime64(3, 'UTC')
            ) ENGINE = MergeTree
            PARTITION BY toYYYYMM(shown_at)
            ORDER BY (user_id, shown_at)
            SETTINGS old_parts_lifetime = 0
            """,
            # Experiments defined through the API (the YAML file's are read from the file);
            # the newest row per name wins, so every API process sees the same definition.
            """
            CREATE TABLE IF NOT EXISTS experiments (
                name String,
                definition String,
                deleted UInt8 DEFAULT 0,
                updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
            ) ENGINE = ReplacingMergeTree(updated_at)
            ORDER BY name
            """,
            # Every computation of an experiment's results, kept: CTR by variant and model
            # version over time. model_version '' is the variant over all its versions.
            """
            CREATE TABLE IF NOT EXISTS experiment_results (
                experiment String,
                computed_at DateTime64(3, 'UTC'),
                variant String,
                model_version String,
                users UInt64,
                impressions UInt64,
                clicks UInt64,
                conversions UInt64,
                engaged_users UInt64,
                ctr Float64,
                ctr_low Float64,
                ctr_high Float64,
                conversion Float64,
                conversion_low Float64,
                conversion_high Float64,
                lift Nullable(Float64),
                lift_low Nullable(Float64),
                lift_high Nullable(Float64),
                p_value Nullable(Float64),
                srm_p_value Float64
            ) ENGINE = MergeTree
            ORDER BY (experiment, computed_at, variant, model_version)
            """,
            # Promotions and retirements, with the evidence they were made on.
            """
            CREATE TABLE IF NOT EXISTS experiment_decisions (
                experiment String,
                action LowCardinality(String),
                model_version String,
                reason String,
                evidence String,
                decided_at DateTime64(3, 'UTC') DEFAULT now64(3)
            ) ENGINE = MergeTree
            ORDER BY (experiment, decided_at)
            """,
        ),
    ),
    Migration(
        12,
        "the evaluation protocol that produced a model's metrics",
        ("ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS evaluation String DEFAULT ''",),
    ),
    Migration(
        13,
        "why a learned ranker placed each item: the features that lifted it most",
        (
            "ALTER TABLE user_recommendations ADD COLUMN IF NOT EXISTS "
            "lifted_by Array(LowCardinality(String)) DEFAULT []",
            "ALTER TABLE user_recommendations ADD COLUMN IF NOT EXISTS "
            "lifts Array(Float32) DEFAULT []",
        ),
    ),
    Migration(
        14,
        "a version's serving bundles (the two-stage ranker's item sides, features and booster)",
        (
            """
            CREATE TABLE IF NOT EXISTS model_bundles (
                model_version LowCardinality(String),
                name LowCardinality(String),
                data String
            ) ENGINE = MergeTree
            PARTITION BY model_version
            ORDER BY (model_version, name)
            """,
        ),
    ),
    Migration(
        15,
        "which generation bucket wrote each recommendation, so a retried bucket replaces its own",
        ("ALTER TABLE user_recommendations ADD COLUMN IF NOT EXISTS bucket UInt16 DEFAULT 0",),
    ),
    Migration(
        16,
        "erasure records by a keyed hash alone: no salt beside it, no counts",
        # A salted hash beside its salt can be reversed by trying plausible ids. The records
        # made so far lose their salt (and so anything that could be matched against them);
        # new ones carry an HMAC under a key kept outside the warehouse (recsys.erasure.keys).
        (
            "ALTER TABLE user_erasures ADD COLUMN IF NOT EXISTS key_id String DEFAULT ''",
            "ALTER TABLE user_erasures RENAME COLUMN IF EXISTS user_hash TO user_mac",
            "ALTER TABLE user_erasures DROP COLUMN IF EXISTS salt",
            "ALTER TABLE user_erasures DROP COLUMN IF EXISTS removed",
            "ALTER TABLE user_erasures MODIFY SETTING old_parts_lifetime = 0",
        ),
    ),
)
