//! A file database: created with its directory, in WAL mode, and reopened
//! with its data and without re-running migrations.

use crate::fixtures::*;
use keyway_core::change::Record;
use keyway_core::ids::KeyId;
use keyway_core::records::LogQuery;
use keyway_store::sqlite::SqliteStore;
use keyway_store::Store;
use std::path::PathBuf;

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        TempDir(std::env::temp_dir().join(format!("keyway-store-test-{}", KeyId::generate())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn migrations(path: &std::path::Path) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT version, applied_at FROM schema_migrations ORDER BY version").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn reopening_keeps_data_and_skips_applied_migrations() {
    let dir = TempDir::new();
    let path = dir.0.join("nested").join("keyway.db");
    let (w, k, apis) = {
        let s = SqliteStore::open(&path).unwrap();
        let w = world(&s, "acme").await;
        let k = key(&w.app);
        s.apply(&[insert(Record::Key(k.clone()))], &[audit_entry(at(0), k.id.as_str())]).await.unwrap();
        s.insert_calls(&[call(at(0))]).await.unwrap();
        let mut ai = prompt_api(&w.tenant, "/ai");
        (ai.kind, ai.prompt) = (keyway_core::model::ApiKind::Ai, None);
        let apis = vec![api(&w.tenant, "/orders"), prompt_api(&w.tenant, "/summary"), ai];
        s.apply(&apis.iter().map(|a| insert(Record::Api(a.clone()))).collect::<Vec<_>>(), &[]).await.unwrap();
        (w, k, apis)
    };
    assert!(path.exists());
    let applied = migrations(&path);
    assert!(!applied.is_empty());
    let mode: String = rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");

    std::thread::sleep(std::time::Duration::from_millis(5));
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(migrations(&path), applied, "reopening must not re-run or re-record migrations");
    let dump = s.load_all().await.unwrap();
    assert_eq!(dump.tenants, vec![w.tenant]);
    assert_eq!(dump.users, vec![w.user]);
    assert_eq!(dump.apps, vec![w.app]);
    assert_eq!(dump.keys, vec![k]);
    assert_eq!(dump.keys[0].ai_limits(), &ai_limits(), "a key's AI limits survive a reopen");
    assert_eq!(dump.apps[0].ai, ai_limits());
    assert_eq!(dump.tenants[0].ai, ai_limits());
    assert_eq!(dump.apis, apis, "kind and prompt survive a reopen");
    assert_eq!(s.calls(&LogQuery::default()).await.unwrap().len(), 1);
    assert_eq!(s.audit(&Default::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn two_stores_on_one_file_see_each_other() {
    let dir = TempDir::new();
    let path = dir.0.join("keyway.db");
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    let w = world(&a, "acme").await;
    assert_eq!(b.tenant(&w.tenant.id).await.unwrap(), Some(w.tenant));
    // b's call-log connection and a's main connection write concurrently.
    let calls = [call(at(0))];
    let changes = [insert(Record::Key(bare_key(&w.app)))];
    let (x, y) = tokio::join!(b.insert_calls(&calls), a.apply(&changes, &[]));
    x.unwrap();
    y.unwrap();
    assert_eq!(a.calls(&LogQuery::default()).await.unwrap().len(), 1);
    assert_eq!(b.keys_of_app(&w.app.id).await.unwrap().len(), 1);
}

#[cfg(unix)]
#[tokio::test]
async fn data_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new();
    let path = dir.0.join("keyway.db");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    {
        let s = SqliteStore::open(&path).unwrap();
        world(&s, "acme").await;
        for f in ["keyway.db", "keyway.db-wal", "keyway.db-shm"] {
            assert_eq!(mode(&dir.0.join(f)), 0o600, "{f}");
        }
    }
    // A database left readable by an older version is narrowed on open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _s = SqliteStore::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[tokio::test]
async fn checkpoint_copies_committed_writes_into_the_database_file() {
    let dir = TempDir::new();
    let path = dir.0.join("keyway.db");
    let s = SqliteStore::open(&path).unwrap();
    let w = world(&s, "acme").await;
    let keys: Vec<_> = (0..200).map(|_| insert(Record::Key(key(&w.app)))).collect();
    s.apply(&keys, &[]).await.unwrap();
    // In WAL mode the database file only grows when a checkpoint copies
    // pages into it; the admin connection's own checkpoint waits for 64 MiB.
    let before = std::fs::metadata(&path).unwrap().len();
    s.checkpoint().await.unwrap();
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(after > before, "database file {before} -> {after} bytes");
    assert_eq!(s.load_all().await.unwrap().keys.len(), 200);
}

#[tokio::test]
async fn a_key_without_ai_limits_stores_no_ai_json() {
    let dir = TempDir::new();
    let path = dir.0.join("keyway.db");
    let s = SqliteStore::open(&path).unwrap();
    let w = world(&s, "acme").await;
    let (bare, full) = (bare_key(&w.app), key(&w.app));
    s.apply(&[insert(Record::Key(bare.clone())), insert(Record::Key(full.clone()))], &[]).await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let ai = |id: &KeyId| -> Option<String> {
        conn.query_row("SELECT ai FROM api_keys WHERE id = ?1", [id.as_str()], |r| r.get(0)).unwrap()
    };
    assert_eq!(ai(&bare.id), None, "NULL: nothing to parse when the keys load");
    assert!(ai(&full.id).is_some_and(|j| j.contains("\"tokens_per_minute\":90000")));
    assert_eq!(s.load_all().await.unwrap().keys.iter().find(|k| k.id == bare.id).map(|k| k.ai_limits().is_empty()), Some(true));
}
