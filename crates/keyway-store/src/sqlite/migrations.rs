//! The schema, as an ordered list of migrations, and the code that brings a
//! database up to date at open.
//!
//! Migration `n` (1-based) is `MIGRATIONS[n - 1]`. Applied versions are
//! recorded in `schema_migrations`; opening a database applies only the
//! versions it lacks. Never edit a migration that has shipped: append a new
//! one.
//!
//! Storage conventions used throughout:
//! - timestamps are RFC 3339 UTC text (the call log's are integer
//!   nanoseconds since the epoch, from migration 4) with exactly nine fractional digits
//!   (`2024-05-01T12:00:00.123456789Z`), so text order is time order;
//! - lists and nested structs are JSON text;
//! - enums are their serde names (`active`, `retired`, ...).

use crate::StoreError;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::codec::encode_time;
use super::errors::sqlite_error;

/// Every migration, oldest first. Version `i + 1` is `MIGRATIONS[i]`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the entity tables, the logs and admin tokens.
    r#"
CREATE TABLE tenants (
    id            TEXT PRIMARY KEY NOT NULL,
    slug          TEXT NOT NULL,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL,
    status_change TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX tenants_slug_uq ON tenants (slug);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    email         TEXT NOT NULL,
    role          TEXT NOT NULL,
    status        TEXT NOT NULL,
    status_change TEXT NOT NULL,
    password_hash TEXT,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX users_email_uq ON users (tenant_id, lower(email));
-- The target of apps' (owner_user_id, tenant_id) reference.
CREATE UNIQUE INDEX users_id_tenant_uq ON users (id, tenant_id);

CREATE TABLE apps (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    name          TEXT NOT NULL,
    owner_user_id TEXT NOT NULL,
    status        TEXT NOT NULL,
    status_change TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    FOREIGN KEY (owner_user_id, tenant_id) REFERENCES users (id, tenant_id)
);
CREATE INDEX apps_tenant ON apps (tenant_id, created_at);
CREATE INDEX apps_owner ON apps (owner_user_id, tenant_id);
-- The target of keys' (app_id, tenant_id) reference.
CREATE UNIQUE INDEX apps_id_tenant_uq ON apps (id, tenant_id);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY NOT NULL,
    app_id         TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    name           TEXT,
    prefix         TEXT NOT NULL,
    env            TEXT NOT NULL,
    digest         BLOB NOT NULL CHECK (length(digest) = 32),
    scopes         TEXT NOT NULL,
    allowed_ips    TEXT NOT NULL,
    expires_at     TEXT,
    revoked_at     TEXT,
    revoked_reason TEXT,
    revoked_by     TEXT,
    rotated_to     TEXT,
    grace_until    TEXT,
    rate_limit     TEXT,
    last_used_at   TEXT,
    created_at     TEXT NOT NULL,
    FOREIGN KEY (app_id, tenant_id) REFERENCES apps (id, tenant_id)
);
CREATE UNIQUE INDEX api_keys_digest_uq ON api_keys (digest);
CREATE INDEX api_keys_app ON api_keys (app_id, tenant_id);

CREATE TABLE apis (
    id                TEXT PRIMARY KEY NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    name              TEXT NOT NULL,
    version           TEXT NOT NULL,
    base_path         TEXT NOT NULL,
    host              TEXT,
    methods           TEXT NOT NULL,
    upstream          TEXT NOT NULL,
    auth              TEXT NOT NULL,
    key_locations     TEXT NOT NULL,
    requires_approval INTEGER NOT NULL,
    visibility        TEXT NOT NULL,
    required_scopes   TEXT NOT NULL,
    protocol          TEXT NOT NULL,
    status            TEXT NOT NULL,
    deprecated_at     TEXT,
    sunset_at         TEXT,
    retired_at        TEXT,
    successor_api_id  TEXT,
    created_at        TEXT NOT NULL
);
-- One live API per (host, base path); retired ones keep their row.
CREATE UNIQUE INDEX apis_route_uq ON apis (coalesce(host, ''), base_path) WHERE status <> 'retired';
CREATE INDEX apis_tenant ON apis (tenant_id, created_at);

CREATE TABLE call_log (
    id                  INTEGER PRIMARY KEY,
    request_id          TEXT NOT NULL,
    time                TEXT NOT NULL,
    tenant_id           TEXT,
    api_id              TEXT,
    app_id              TEXT,
    key_id              TEXT,
    key_prefix          TEXT,
    method              TEXT NOT NULL,
    path                TEXT NOT NULL,
    status              INTEGER NOT NULL,
    code                TEXT,
    client_ip           TEXT NOT NULL,
    latency_ms          REAL,
    upstream_latency_ms REAL,
    model               TEXT,
    prompt_tokens       INTEGER,
    completion_tokens   INTEGER,
    cost_usd            REAL,
    trace               TEXT NOT NULL
);
CREATE INDEX call_log_time ON call_log (time);
CREATE INDEX call_log_key_time ON call_log (key_id, time);
CREATE INDEX call_log_app_time ON call_log (app_id, time);
CREATE INDEX call_log_request ON call_log (request_id);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY NOT NULL,
    time          TEXT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    tenant_id     TEXT,
    before_json   TEXT,
    after_json    TEXT
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_resource_time ON audit_log (resource_id, time);
CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, time);

CREATE TABLE admin_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    digest     BLOB NOT NULL CHECK (length(digest) = 32),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX admin_tokens_digest_uq ON admin_tokens (digest);
"#,
    // 2: subscriptions, and scope rules per route of an API.
    r#"
ALTER TABLE apis ADD COLUMN scope_rules TEXT NOT NULL DEFAULT '[]';

CREATE TABLE subscriptions (
    id           TEXT PRIMARY KEY NOT NULL,
    api_id       TEXT NOT NULL REFERENCES apis (id),
    app_id       TEXT NOT NULL REFERENCES apps (id),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    status       TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_at   TEXT,
    decided_by   TEXT,
    reason       TEXT,
    created_at   TEXT NOT NULL
);
-- One subscription per (app, API); asking again reopens it.
CREATE UNIQUE INDEX subscriptions_app_api_uq ON subscriptions (app_id, api_id);
CREATE INDEX subscriptions_api ON subscriptions (api_id, created_at);
"#,
    // 3: limits on tenants, apps and APIs, quotas on keys, and quota usage.
    r#"
ALTER TABLE tenants ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
ALTER TABLE apps ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
ALTER TABLE apis ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
ALTER TABLE api_keys ADD COLUMN quota TEXT;

-- Requests counted against a quota, per subject and period; the gateway
-- flushes its in-memory counters here so a restart does not reset them.
CREATE TABLE quota_usage (
    level        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    period       TEXT NOT NULL,
    period_start TEXT NOT NULL,
    used         INTEGER NOT NULL,
    PRIMARY KEY (level, subject, period, period_start)
);
"#,
    // 4: the call log keyed by request id (time-ordered ULIDs), integer
    // nanosecond times, no secondary index; per-minute, hour and day
    // rollups answer analytics and tell the log reader where to look.
    // The old rows are copied (a table cannot change its primary key in
    // place); a request id stored twice keeps its first row.
    r#"
CREATE TABLE call_log_v4 (
    request_id          TEXT PRIMARY KEY NOT NULL,
    time                INTEGER NOT NULL,
    tenant_id           TEXT,
    api_id              TEXT,
    app_id              TEXT,
    key_id              TEXT,
    key_prefix          TEXT,
    method              TEXT NOT NULL,
    path                TEXT NOT NULL,
    status              INTEGER NOT NULL,
    code                TEXT,
    client_ip           TEXT NOT NULL,
    latency_ms          REAL,
    upstream_latency_ms REAL,
    model               TEXT,
    prompt_tokens       INTEGER,
    completion_tokens   INTEGER,
    cost_usd            REAL,
    trace               TEXT NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO call_log_v4
SELECT request_id,
       CAST(strftime('%s', substr(time, 1, 19)) AS INTEGER) * 1000000000 + CAST(substr(time, 21, 9) AS INTEGER),
       tenant_id, api_id, app_id, key_id, key_prefix, method, path, status, code, client_ip, latency_ms,
       upstream_latency_ms, model, prompt_tokens, completion_tokens, cost_usd, trace
FROM call_log ORDER BY id;
DROP TABLE call_log;
ALTER TABLE call_log_v4 RENAME TO call_log;

-- One row per (level, bucket, dimensions); '' for a dimension a call did
-- not reach. level: 0 minute, 1 hour, 2 day; bucket: unix seconds of its
-- start. Sketches are DDSketch JSON (latency in ms).
CREATE TABLE rollups (
    level             INTEGER NOT NULL,
    bucket            INTEGER NOT NULL,
    tenant_id         TEXT NOT NULL,
    api_id            TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    status_class      INTEGER NOT NULL,
    code              TEXT NOT NULL,
    requests          INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    latency           TEXT NOT NULL,
    upstream_latency  TEXT NOT NULL,
    PRIMARY KEY (level, bucket, tenant_id, api_id, app_id, key_id, status_class, code)
) WITHOUT ROWID;
CREATE INDEX rollups_key ON rollups (level, key_id, bucket);
CREATE INDEX rollups_app ON rollups (level, app_id, bucket);
CREATE INDEX rollups_code ON rollups (level, code, bucket);

-- Every call in [covered_from, watermark) (unix seconds) is counted in
-- rollups; calls from the watermark on are counted once the writer
-- flushes (or, after a crash, rebuilt from the raw rows at start); calls
-- before covered_from (stored before rollups existed) are not.
CREATE TABLE rollup_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    watermark    INTEGER NOT NULL,
    covered_from INTEGER NOT NULL
);
"#,
    // 5: two coarser grains of rollups, the same shape as `rollups`: per
    // key over every API and outcome (api_id and code '', status_class 0;
    // hour and day rows only), and per API and outcome without app or key
    // (app_id and key_id ''). Analytics reads the coarsest grain that
    // keeps what a query filters or groups by. Filled from the existing
    // rollups by `BACKFILLS` (sketches merge in Rust, not in SQL).
    r#"
CREATE TABLE rollups_by_key (
    level             INTEGER NOT NULL,
    bucket            INTEGER NOT NULL,
    tenant_id         TEXT NOT NULL,
    api_id            TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    status_class      INTEGER NOT NULL,
    code              TEXT NOT NULL,
    requests          INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    latency           BLOB NOT NULL,
    upstream_latency  BLOB NOT NULL,
    PRIMARY KEY (level, bucket, tenant_id, api_id, app_id, key_id, status_class, code)
) WITHOUT ROWID;
CREATE INDEX rollups_by_key_key ON rollups_by_key (level, key_id, bucket);
CREATE INDEX rollups_by_key_app ON rollups_by_key (level, app_id, bucket);

CREATE TABLE rollups_by_api (
    level             INTEGER NOT NULL,
    bucket            INTEGER NOT NULL,
    tenant_id         TEXT NOT NULL,
    api_id            TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    status_class      INTEGER NOT NULL,
    code              TEXT NOT NULL,
    requests          INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    latency           BLOB NOT NULL,
    upstream_latency  BLOB NOT NULL,
    PRIMARY KEY (level, bucket, tenant_id, api_id, app_id, key_id, status_class, code)
) WITHOUT ROWID;
"#,
    // 6: the call log as a rowid table keyed by `seq = (ms << 20) | n`
    // (ms: the request id's ULID millisecond; n: a counter within it, see
    // calls.rs), so the writer's sorted batches append to the table's
    // last page; `request_id` stays a column without an index. The rows
    // are copied by `legacy_calls::migrate_to_seq`, which then drops the old
    // table and renames this one.
    r#"
CREATE TABLE call_log_v6 (
    seq                 INTEGER PRIMARY KEY,
    request_id          TEXT NOT NULL,
    time                INTEGER NOT NULL,
    tenant_id           TEXT,
    api_id              TEXT,
    app_id              TEXT,
    key_id              TEXT,
    key_prefix          TEXT,
    method              TEXT NOT NULL,
    path                TEXT NOT NULL,
    status              INTEGER NOT NULL,
    code                TEXT,
    client_ip           TEXT NOT NULL,
    latency_ms          REAL,
    upstream_latency_ms REAL,
    model               TEXT,
    prompt_tokens       INTEGER,
    completion_tokens   INTEGER,
    cost_usd            REAL,
    trace               TEXT NOT NULL
);
"#,
    // 7: the counts of the two coarser grains without their sketches, as
    // covering indexes in time order: a query of counts (requests,
    // errors, tokens, cost) reads these narrow entries, never the sketch
    // bytes (two-thirds of a per-key row). Built by SQLite from the rows
    // already stored; kept by every write like any index.
    r#"
CREATE INDEX rollups_by_key_counts ON rollups_by_key
    (level, bucket, tenant_id, app_id, key_id, requests, errors, prompt_tokens, completion_tokens, cost_usd);
CREATE INDEX rollups_by_api_counts ON rollups_by_api
    (level, bucket, tenant_id, api_id, status_class, code, requests, errors, prompt_tokens, completion_tokens, cost_usd);
"#,
    // 8: the call log in frames (see `call_frame` and calls.rs): one row
    // per writer batch of up to 1,024 calls, their bounds in milliseconds
    // and one blob, instead of a row per call. Reads by time walk
    // `call_frames_lo`, which holds both bounds, so a frame is read only
    // when it overlaps. `legacy_calls::move_into_frames`
    // moves the rows of `call_log` over and drops it.
    r#"
CREATE TABLE call_frames (
    id    INTEGER PRIMARY KEY,
    lo_ms INTEGER NOT NULL,
    hi_ms INTEGER NOT NULL,
    rows  INTEGER NOT NULL,
    data  BLOB NOT NULL
);
CREATE INDEX call_frames_lo ON call_frames (lo_ms, hi_ms);
"#,
    // 9: a per-app grain, the same shape as `rollups` (api_id, key_id and
    // code '', status_class 0; hour and day rows only): a ranking or a
    // series of apps reads a row per app and bucket instead of one per
    // key (a month of apps by p99: ~200 day rows with sketches a day
    // instead of ~500). With the index of one app and the counts index,
    // as the per-key grain has. Filled from `rollups_by_key` by
    // `BACKFILLS`.
    r#"
CREATE TABLE rollups_by_app (
    level             INTEGER NOT NULL,
    bucket            INTEGER NOT NULL,
    tenant_id         TEXT NOT NULL,
    api_id            TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    status_class      INTEGER NOT NULL,
    code              TEXT NOT NULL,
    requests          INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    latency           BLOB NOT NULL,
    upstream_latency  BLOB NOT NULL,
    PRIMARY KEY (level, bucket, tenant_id, api_id, app_id, key_id, status_class, code)
) WITHOUT ROWID;
CREATE INDEX rollups_by_app_app ON rollups_by_app (level, app_id, bucket);
CREATE INDEX rollups_by_app_counts ON rollups_by_app
    (level, bucket, tenant_id, app_id, requests, errors, prompt_tokens, completion_tokens, cost_usd);
"#,
    // 10: AI providers and models of a tenant. A provider's credentials
    // are a JSON list whose secrets are AES-256-GCM sealed (hex), never
    // plain; targets, fallbacks and price are JSON too. Names are unique
    // per tenant among the records not deleted.
    r#"
CREATE TABLE ai_providers (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    base_url    TEXT,
    preset      TEXT,
    api_version TEXT,
    credentials TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE UNIQUE INDEX ai_providers_name_uq ON ai_providers (tenant_id, name) WHERE deleted_at IS NULL;

CREATE TABLE ai_models (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    targets     TEXT NOT NULL,
    fallbacks   TEXT NOT NULL,
    timeout_ms  INTEGER,
    price       TEXT,
    created_at  TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE UNIQUE INDEX ai_models_name_uq ON ai_models (tenant_id, name) WHERE deleted_at IS NULL;
"#,
    // 11: the AI fields of APIs, keys, apps and tenants. An API's kind
    // (`rest`, `ai`, `prompt`) and a prompt API's prompt (JSON); the AI
    // limits (allowed models, budget, tokens per minute) as JSON: NULL on
    // a key without any (most keys), `{}` on apps and tenants.
    r#"
ALTER TABLE apis ADD COLUMN kind TEXT NOT NULL DEFAULT 'rest';
ALTER TABLE apis ADD COLUMN prompt TEXT;
ALTER TABLE api_keys ADD COLUMN ai TEXT;
ALTER TABLE apps ADD COLUMN ai TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN ai TEXT NOT NULL DEFAULT '{}';
"#,
    // 12: counters by kind and start, so the minute counters of AI token
    // limits (period `tokens_minute`) that have ended are dropped without
    // a scan as newer ones are written.
    r#"
CREATE INDEX quota_usage_by_period ON quota_usage (period, period_start);
"#,
    // 13: trusted JWT issuers of a tenant (inline JWKS as JSON text, or a
    // URL), names unique per tenant among the live ones; the subjects of
    // tokens that are an app, and the issuers an API trusts, as JSON lists.
    r#"
CREATE TABLE jwt_issuers (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    name           TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    jwks_url       TEXT,
    jwks           TEXT,
    algorithms     TEXT NOT NULL,
    audiences      TEXT NOT NULL,
    leeway_seconds INTEGER NOT NULL,
    subject_claim  TEXT NOT NULL,
    scopes_claim   TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    deleted_at     TEXT
);
CREATE UNIQUE INDEX jwt_issuers_name_uq ON jwt_issuers (tenant_id, name) WHERE deleted_at IS NULL;
ALTER TABLE apps ADD COLUMN token_subjects TEXT NOT NULL DEFAULT '[]';
ALTER TABLE apis ADD COLUMN jwt_issuers TEXT NOT NULL DEFAULT '[]';
"#,
    // 14: client certificates bound to apps (mTLS) by the SHA-256 of their
    // DER, lowercase hex; a fingerprint binds at most one live binding.
    r#"
CREATE TABLE client_certificates (
    id                 TEXT PRIMARY KEY NOT NULL,
    app_id             TEXT NOT NULL REFERENCES apps (id),
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    sha256_fingerprint TEXT NOT NULL,
    scopes             TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    deleted_at         TEXT
);
CREATE UNIQUE INDEX client_certificates_fingerprint_uq ON client_certificates (sha256_fingerprint) WHERE deleted_at IS NULL;
CREATE INDEX client_certificates_by_app ON client_certificates (app_id);
"#,
    // 15: apps' HMAC signing keys (RFC 9421), the secret AES-256-GCM
    // sealed to the key's id (hex), never plain; scopes as a JSON list.
    // An API's HMAC settings (`{"window_seconds": n}`) as JSON, NULL for
    // the defaults.
    r#"
CREATE TABLE hmac_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    app_id      TEXT NOT NULL REFERENCES apps (id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    scopes      TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    revoked_by  TEXT
);
CREATE INDEX hmac_keys_app ON hmac_keys (app_id);
ALTER TABLE apis ADD COLUMN hmac TEXT;
"#,
];

/// Work a migration needs beyond SQL, run in the same transaction right
/// after the SQL of the version it names.
pub(crate) type Backfill = (i64, fn(&Connection) -> Result<(), StoreError>);

/// Every backfill, by version.
pub(crate) const BACKFILLS: &[Backfill] = &[
    (5, super::rollup_backfill::coarse_grains),
    (6, super::legacy_calls::migrate_to_seq),
    (8, super::legacy_calls::move_into_frames),
    (9, super::rollup_backfill::app_grain),
];

/// Brings `conn` up to date with `migrations` (and the `backfills` of the
/// versions applied); returns how many were applied. All pending
/// migrations run in one write transaction, so two processes opening the
/// same file cannot both apply one. Refuses a database whose schema is
/// newer than `migrations`.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[&str], backfills: &[Backfill]) -> Result<usize, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )
    .map_err(sqlite_error)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    let current: i64 = tx
        .query_row("SELECT max(version) FROM schema_migrations", [], |r| r.get::<_, Option<i64>>(0))
        .optional()
        .map_err(sqlite_error)?
        .flatten()
        .unwrap_or(0);
    let known = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    if current > known {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this build knows ({known}); upgrade Keyway"
        )));
    }
    let now = encode_time(&chrono::Utc::now()).map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut applied = 0;
    for (version, sql) in (1..).zip(migrations.iter()).skip(usize::try_from(current).unwrap_or(usize::MAX)) {
        tx.execute_batch(sql).map_err(|e| StoreError::Backend(format!("migration {version} failed: {e}")))?;
        for (_, backfill) in backfills.iter().filter(|(v, _)| *v == version) {
            backfill(&tx).map_err(|e| StoreError::Backend(format!("migration {version} failed: {e}")))?;
        }
        tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)", (version, &now))
            .map_err(sqlite_error)?;
        applied += 1;
    }
    tx.commit().map_err(sqlite_error)?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migrate_sql(conn: &mut Connection, migrations: &[&str]) -> Result<usize, StoreError> {
        migrate(conn, migrations, &[])
    }

    fn versions(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn applies_only_new_migrations() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate_sql(&mut conn, &["CREATE TABLE a (x)"]).unwrap(), 1);
        // Re-running the first would fail (the table exists), so success
        // here shows only the second one ran.
        assert_eq!(migrate_sql(&mut conn, &["CREATE TABLE a (x)", "CREATE TABLE b (y)"]).unwrap(), 1);
        assert_eq!(migrate_sql(&mut conn, &["CREATE TABLE a (x)", "CREATE TABLE b (y)"]).unwrap(), 0);
        assert_eq!(versions(&conn), vec![1, 2]);
    }

    #[test]
    fn a_failing_migration_leaves_nothing_behind() {
        let mut conn = Connection::open_in_memory().unwrap();
        let err = migrate_sql(&mut conn, &["CREATE TABLE a (x)", "CREATE TABLE oops ("]).unwrap_err();
        assert!(matches!(err, StoreError::Backend(ref m) if m.contains("migration 2")), "{err}");
        assert!(versions(&conn).is_empty());
        assert_eq!(migrate_sql(&mut conn, &["CREATE TABLE a (x)"]).unwrap(), 1);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_sql(&mut conn, &["CREATE TABLE a (x)", "CREATE TABLE b (y)"]).unwrap();
        let err = migrate_sql(&mut conn, &["CREATE TABLE a (x)"]).unwrap_err();
        assert!(matches!(err, StoreError::Backend(ref m) if m.contains("newer")), "{err}");
    }

    #[test]
    fn the_real_schema_applies() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn, MIGRATIONS, BACKFILLS).unwrap(), MIGRATIONS.len());
        let expected = (1..=i64::try_from(MIGRATIONS.len()).unwrap()).collect::<Vec<_>>();
        assert_eq!(versions(&conn), expected);
    }

    #[test]
    fn migration_4_copies_old_call_log_rows_with_integer_times() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &MIGRATIONS[..3], BACKFILLS).unwrap();
        conn.execute_batch(
            "INSERT INTO call_log (request_id, time, method, path, status, client_ip, trace) VALUES
             ('req_b', '2024-05-01T12:00:01.000000002Z', 'GET', '/x', 200, '::1', '[]'),
             ('req_a', '1969-12-31T23:59:59.500000000Z', 'GET', '/x', 200, '::1', '[]'),
             ('req_b', '2024-05-01T12:00:09.000000000Z', 'GET', '/y', 200, '::1', '[]');",
        )
        .unwrap();
        // Up to 7: the last version with a row table.
        assert_eq!(migrate(&mut conn, &MIGRATIONS[..7], BACKFILLS).unwrap(), 4);
        let mut stmt = conn.prepare("SELECT request_id, time, path FROM call_log ORDER BY request_id").unwrap();
        let rows: Vec<(String, i64, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            rows,
            vec![("req_a".into(), -500_000_000, "/x".into()), ("req_b".into(), 1_714_564_801_000_000_002, "/x".into())]
        );
        let indexes: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'call_log'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(indexes, 0, "the raw rows carry no secondary index");
    }

    #[test]
    fn migration_6_keys_old_call_log_rows_by_seq_and_they_stay_findable() {
        use keyway_core::ids::RequestId;
        use keyway_core::records::LogQuery;
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &MIGRATIONS[..5], BACKFILLS).unwrap();
        let ms = 1_714_564_801_000_i64;
        let id = |offset: i64| RequestId::at(chrono::DateTime::from_timestamp_millis(ms + offset).unwrap()).0;
        // Two ids in one millisecond, one minted a moment before its row's
        // time, and an id the gateway did not mint.
        let (a, b, c, d) = (id(0), id(0), id(-3), "req_b".to_owned());
        let mut insert = conn
            .prepare("INSERT INTO call_log (request_id, time, method, path, status, client_ip, trace) VALUES (?1, ?2, 'GET', ?3, 200, '::1', '[]')")
            .unwrap();
        for (rid, t, path) in [(&a, ms, "/a"), (&b, ms, "/b"), (&c, ms + 1, "/c"), (&d, ms + 2, "/d")] {
            insert.execute(rusqlite::params![rid, t * 1_000_000, path]).unwrap();
        }
        drop(insert);
        assert_eq!(migrate(&mut conn, &MIGRATIONS[..7], BACKFILLS).unwrap(), 2);
        let mut stmt = conn.prepare("SELECT seq, request_id FROM call_log ORDER BY seq").unwrap();
        let rows: Vec<(i64, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap();
        drop(stmt);
        let (first, second) = if a < b { (&a, &b) } else { (&b, &a) };
        assert_eq!(
            rows,
            vec![
                ((ms - 3) << 20, c.clone()),
                (ms << 20, first.clone()),
                ((ms << 20) + 1, second.clone()),
                // Not minted: placed by its time, after what is stored.
                ((ms + 2) << 20, d.clone()),
            ]
        );
        // Migration 8 moves them into frames, where they stay findable.
        assert_eq!(migrate(&mut conn, MIGRATIONS, BACKFILLS).unwrap(), MIGRATIONS.len() - 7);
        for (rid, path) in [(&a, "/a"), (&b, "/b"), (&c, "/c"), (&d, "/d")] {
            let found =
                super::super::calls::find(&conn, &LogQuery { request_id: Some(rid.clone()), ..Default::default() }).unwrap();
            assert_eq!(found.len(), 1, "{rid}");
            assert_eq!(found[0].path, path);
            assert_eq!(found[0].trace, keyway_core::Trace::default());
        }
        let since = chrono::DateTime::from_timestamp_millis(ms + 1).unwrap();
        let window = LogQuery { since: Some(since), limit: 10, ..Default::default() };
        let paths: Vec<String> = super::super::calls::find(&conn, &window).unwrap().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, vec!["/d", "/c"], "time ranges find rows whose id was minted before their time");
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'call_log'", [], |r| r.get(0)).unwrap();
        assert_eq!(tables, 0, "the row table is gone");
    }

    #[test]
    fn migration_9_builds_the_app_grain_from_the_per_key_rows() {
        use keyway_core::sketch::Sketch;
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &MIGRATIONS[..8], BACKFILLS).unwrap();
        let sketch = |v: &[f64]| {
            let mut s = Sketch::default();
            v.iter().for_each(|x| s.add(*x));
            s.encode()
        };
        // Two keys of one app and a key of another, in one hour and one day.
        let mut insert = conn
            .prepare("INSERT INTO rollups_by_key VALUES (?1, ?2, 'ten', '', ?3, ?4, 0, '', ?5, 1, 2, 0, 0.5, ?6, x'')")
            .unwrap();
        for (level, bucket, app, key, n, lat) in [
            (1, 3600, "app_a", "key_1", 2, sketch(&[1.0, 2.0])),
            (1, 3600, "app_a", "key_2", 1, sketch(&[3.0])),
            (1, 3600, "app_b", "key_3", 1, sketch(&[4.0])),
            (2, 0, "app_a", "key_1", 2, sketch(&[1.0, 2.0])),
            (2, 0, "app_a", "key_2", 1, sketch(&[3.0])),
        ] {
            insert.execute(rusqlite::params![level, bucket, app, key, n, lat]).unwrap();
        }
        drop(insert);
        assert_eq!(migrate(&mut conn, MIGRATIONS, BACKFILLS).unwrap(), MIGRATIONS.len() - 8);
        type Stored = (i64, i64, String, String, i64, i64, f64, Vec<u8>);
        let mut stmt = conn
            .prepare(
                "SELECT level, bucket, app_id, key_id, requests, prompt_tokens, cost_usd, latency FROM rollups_by_app \
                 ORDER BY level, bucket, app_id",
            )
            .unwrap();
        let rows: Vec<Stored> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, 3600, "app_a".into(), String::new(), 3, 4, 1.0, sketch(&[1.0, 2.0, 3.0])),
                (1, 3600, "app_b".into(), String::new(), 1, 2, 0.5, sketch(&[4.0])),
                (2, 0, "app_a".into(), String::new(), 3, 4, 1.0, sketch(&[1.0, 2.0, 3.0])),
            ]
        );
    }

    #[test]
    fn migration_5_builds_the_coarser_grains_from_stored_rollups() {
        use keyway_core::sketch::Sketch;
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &MIGRATIONS[..4], BACKFILLS).unwrap();
        let sketch = |v: &[f64]| {
            let mut s = Sketch::default();
            v.iter().for_each(|x| s.add(*x));
            s.encode()
        };
        // Two keys of one app, a key of another app, in one minute; one
        // key's hour, accepted and refused.
        let mut insert =
            conn.prepare("INSERT INTO rollups VALUES (?1, ?2, 'ten', 'api', ?3, ?4, ?5, ?6, ?7, 0, 1, 2, 0.5, ?8, x'')").unwrap();
        for (level, bucket, app, key, class, code, n, lat) in [
            (0, 60, "app_a", "key_1", 2, "ok", 2, sketch(&[1.0, 2.0])),
            (0, 60, "app_a", "key_2", 2, "ok", 1, sketch(&[3.0])),
            (0, 60, "app_b", "key_3", 2, "ok", 1, sketch(&[4.0])),
            (1, 0, "app_a", "key_1", 2, "ok", 2, sketch(&[1.0, 2.0])),
            (1, 0, "app_a", "key_1", 4, "key_revoked", 1, sketch(&[0.5])),
        ] {
            insert.execute(rusqlite::params![level, bucket, app, key, class, code, n, lat]).unwrap();
        }
        drop(insert);
        migrate(&mut conn, MIGRATIONS, BACKFILLS).unwrap();
        type Stored = (i64, i64, String, String, i64, i64, Vec<u8>);
        let rows = |table: &str| -> Vec<Stored> {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT level, bucket, app_id, key_id, requests, prompt_tokens, latency FROM {table} \
                     ORDER BY level, bucket, app_id, code"
                ))
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        // Per key: hours and days only, over every API and code.
        assert_eq!(rows("rollups_by_key"), vec![(1, 0, "app_a".into(), "key_1".into(), 3, 2, sketch(&[0.5, 1.0, 2.0]))]);
        // Per app (migration 9, from the per-key rows): hours and days only.
        assert_eq!(rows("rollups_by_app"), vec![(1, 0, "app_a".into(), String::new(), 3, 2, sketch(&[0.5, 1.0, 2.0]))]);
        assert_eq!(
            rows("rollups_by_api"),
            vec![
                (0, 60, String::new(), String::new(), 4, 3, sketch(&[1.0, 2.0, 3.0, 4.0])),
                (1, 0, String::new(), String::new(), 1, 1, sketch(&[0.5])),
                (1, 0, String::new(), String::new(), 2, 1, sketch(&[1.0, 2.0])),
            ]
        );
    }
}
