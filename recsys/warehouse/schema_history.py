"""Every change to the warehouse schema, in order (`migrations.apply_migrations` applies them).
A migration is never edited once released: a change is a new migration at the end."""

from __future__ import annotations

from recsys.warehouse.schema_recent import RECENT_MIGRATIONS
from recsys.warehouse.schema_types import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "source tables: items, events, dataset loads",
        (
            """
            CREATE TABLE IF NOT EXISTS items (
                item_id String,
                title String,
                genres Array(LowCardinality(String)),
                tags Array(String),
                year Nullable(UInt16),
                updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
            ) ENGINE = ReplacingMergeTree(updated_at)
            ORDER BY item_id
            """,
            # Deduplicated by (user_id, event_id): a re-sent event collapses into one row. Queries
            # that count or aggregate events read it with FINAL. fsync_after_insert makes an
            # acknowledged insert survive a crash of the machine, not only of the process.
            """
            CREATE TABLE IF NOT EXISTS events (
                event_id String,
                user_id String,
                item_id String,
                event_type LowCardinality(String),
                value Nullable(Float32),
                timestamp DateTime64(3, 'UTC'),
                ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
                source LowCardinality(String) DEFAULT 'api'
            ) ENGINE = ReplacingMergeTree
            ORDER BY (user_id, event_id)
            SETTINGS fsync_after_insert = 1, fsync_part_directory = 1
            """,
            """
            CREATE TABLE IF NOT EXISTS dataset_loads (
                fingerprint String,
                dataset String,
                items UInt64,
                events UInt64,
                loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
            ) ENGINE = ReplacingMergeTree(loaded_at)
            ORDER BY fingerprint
            """,
        ),
    ),
    Migration(
        2,
        "derived tables: interactions, exports, model versions",
        (
            """
            CREATE TABLE IF NOT EXISTS interactions (
                user_id String,
                item_id String,
                confidence Float32,
                events UInt32,
                disliked UInt8,
                last_at DateTime64(3, 'UTC')
            ) ENGINE = MergeTree
            ORDER BY (user_id, item_id)
            """,
            """
            CREATE TABLE IF NOT EXISTS user_recommendations (
                model_version LowCardinality(String),
                user_id String,
                rank UInt16,
                item_id String,
                score Float32,
                source LowCardinality(String)
            ) ENGINE = MergeTree
            PARTITION BY model_version
            ORDER BY (model_version, user_id, rank)
            """,
            """
            CREATE TABLE IF NOT EXISTS similar_items (
                model_version LowCardinality(String),
                item_id String,
                rank UInt16,
                similar_item_id String,
                score Float32,
                source LowCardinality(String)
            ) ENGINE = MergeTree
            PARTITION BY model_version
            ORDER BY (model_version, item_id, rank)
            """,
            """
            CREATE TABLE IF NOT EXISTS trending_items (
                model_version LowCardinality(String),
                rank UInt16,
                item_id String,
                score Float32
            ) ENGINE = MergeTree
            PARTITION BY model_version
            ORDER BY (model_version, rank)
            """,
            """
            CREATE TABLE IF NOT EXISTS model_versions (
                model_version String,
                status LowCardinality(String),
                algorithm LowCardinality(String),
                params String,
                metrics String,
                trained_at DateTime64(3, 'UTC'),
                published_at Nullable(DateTime64(3, 'UTC')),
                events_ingested_until DateTime64(3, 'UTC'),
                mlflow_run_id String,
                n_users UInt32,
                n_items UInt32,
                updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
            ) ENGINE = ReplacingMergeTree(updated_at)
            ORDER BY model_version
            """,
        ),
    ),
    Migration(
        3,
        "ratings on interactions (for evaluation), baseline metrics on model versions",
        (
            "ALTER TABLE interactions ADD COLUMN IF NOT EXISTS rating Nullable(Float32)",
            "ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS baseline_metrics String "
            "DEFAULT '{}'",
            "ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS decision String DEFAULT ''",
        ),
    ),
    Migration(
        4,
        "fold-in: the item side of each version, new-event counts by ingestion time",
        (
            # Events arrive in ingestion order, so each part spans a narrow ingested_at range:
            # "how many events since T" reads only the newest granules.
            "ALTER TABLE events ADD INDEX IF NOT EXISTS ingested_at_minmax ingested_at "
            "TYPE minmax GRANULARITY 1",
            "ALTER TABLE events MATERIALIZE INDEX ingested_at_minmax",
            # How the API scores users at request time for this version (recsys.foldin).
            "ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS fold_in String DEFAULT '{}'",
            # One row per item of a version, in the model's column order: what fold-in needs.
            """
            CREATE TABLE IF NOT EXISTS item_model (
                model_version LowCardinality(String),
                position UInt32,
                item_id String,
                factors Array(Float32),
                neighbour_positions Array(UInt32),
                neighbour_weights Array(Float32),
                term_positions Array(UInt32),
                term_weights Array(Float32),
                length_norm Float32
            ) ENGINE = MergeTree
            PARTITION BY model_version
            ORDER BY (model_version, position)
            """,
        ),
    ),
    Migration(
        5,
        "trending per time window",
        (
            # 'decayed': time-decayed popularity (the default list); '1d', '7d', '30d': weighted
            # event counts within that window before the newest event.
            "ALTER TABLE trending_items ADD COLUMN IF NOT EXISTS window LowCardinality(String) "
            "DEFAULT 'decayed'",
        ),
    ),
    Migration(
        6,
        "quarantined events; API write probes",
        (
            # Events left out of training, each with the first field that broke the rule
            # (recsys.events.validity) and why. origin 'writer': refused by a writer (a bulk load);
            # origin 'events': found invalid in the event log (other writers, old data, direct
            # SQL), rebuilt by every run. Ids are kept byte for byte, valid UTF-8 or not.
            """
            CREATE TABLE IF NOT EXISTS quarantined_events (
                origin LowCardinality(String),
                field LowCardinality(String),
                reason String,
                event_id String,
                user_id String,
                item_id String,
                event_type String,
                value Nullable(Float64),
                timestamp Nullable(DateTime64(3, 'UTC')),
                ingested_at DateTime64(3, 'UTC'),
                source LowCardinality(String),
                quarantined_at DateTime64(3, 'UTC') DEFAULT now64(3)
            ) ENGINE = ReplacingMergeTree(quarantined_at)
            PARTITION BY origin
            ORDER BY (origin, user_id, event_id)
            """,
            # The API's readiness probe writes here while its event writes are failing, to
            # learn when writes work again.
            """
            CREATE TABLE IF NOT EXISTS api_write_probes (
                probe String,
                at DateTime64(3, 'UTC') DEFAULT now64(3)
            ) ENGINE = ReplacingMergeTree(at)
            ORDER BY probe
            """,
        ),
    ),
    Migration(
        7,
        "roles of served versions",
        (
            # Which role a published version serves in: 'champion' (what every user gets today),
            # later a 'challenger' served beside it in an experiment. Rows published before
            # roles existed were the champion.
            "ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS role LowCardinality(String) "
            "DEFAULT if(status = 'published', 'champion', '')",
        ),
    ),
    Migration(
        8,
        "dead letters of the Kafka consumer",
        (
            # Messages the consumer could not store: not JSON, not an event, or an event that
            # breaks the rule. Keyed by where they were in the log, so a redelivered message is
            # one row; the raw bytes are kept for inspection and replay.
            """
            CREATE TABLE IF NOT EXISTS events_rejected (
                topic LowCardinality(String),
                partition UInt32,
                offset UInt64,
                raw String,
                reason String,
                message_at Nullable(DateTime64(3, 'UTC')),
                rejected_at DateTime64(3, 'UTC') DEFAULT now64(3)
            ) ENGINE = ReplacingMergeTree(rejected_at)
            ORDER BY (topic, partition, offset)
            """,
        ),
    ),
    Migration(
        9,
        "a living catalogue, content vocabularies, erasures",
        (
            # An item's life: a window it may be shown in (either end open), hidden by an
            # editor, or deleted. Deletion is a tombstone: the row stays, so events about the
            # item keep their meaning in history and training; it is never served again.
            "ALTER TABLE items ADD COLUMN IF NOT EXISTS available_from "
            "Nullable(DateTime64(3, 'UTC'))",
            "ALTER TABLE items ADD COLUMN IF NOT EXISTS available_until "
            "Nullable(DateTime64(3, 'UTC'))",
            "ALTER TABLE items ADD COLUMN IF NOT EXISTS hidden UInt8 DEFAULT 0",
            "ALTER TABLE items ADD COLUMN IF NOT EXISTS deleted UInt8 DEFAULT 0",
            # Each version's TF-IDF vocabulary (term, idf by column), so an item added after
            # training gets a content vector in the version's own space.
            """
            CREATE TABLE IF NOT EXISTS content_terms (
                model_version LowCardinality(String),
                position UInt32,
                term String,
                idf Float32
            ) ENGINE = MergeTree
            PARTITION BY model_version
            ORDER BY (model_version, position)
            """,
            # Erasures done, by a salted hash of the user id (never the id itself), so every
            # serving process forgets the user and an operator can show when it happened.
            """
            CREATE TABLE IF NOT EXISTS user_erasures (
                salt String,
                user_hash String,
                removed String,
                erased_at DateTime64(3, 'UTC') DEFAULT now64(3)
            ) ENGINE = MergeTree
            ORDER BY erased_at
            """,
        ),
    ),
    Migration(
        10,
        "erasure leaves no old parts behind",
        # A mutation rewrites parts and keeps the old ones for old_parts_lifetime (8 minutes by
        # default, a guard for writes not yet fsynced): an erased user would stay on disk until
        # then. These tables' inserts are acknowledged once durable, so old parts can go at once.
        tuple(
            f"ALTER TABLE {table} MODIFY SETTING old_parts_lifetime = 0"
            for table in ("events", "interactions", "user_recommendations")
            + ("quarantined_events", "events_rejected")
        ),
    ),
) + RECENT_MIGRATIONS
