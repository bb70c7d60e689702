//! Analytics reads on connections of their own: a few read-only
//! connections, each with its own page cache, over which one rollup read
//! is split by bucket range (see `rollup_split`) and run in parallel.
//!
//! Why: a cold read of a month of rollups is page reads from disk, one
//! at a time per connection (SQLite reads a page when it needs it), and
//! the rows of one range are scattered through the file (they were
//! written minute by minute among the call log's pages). Several
//! connections keep several reads in flight, and the CPU work (stepping,
//! merging sketches) runs on both cores. Reads no longer hold the log
//! connection's mutex either, so the call-log writer never waits for an
//! analytics query.
//!
//! Each part is its own read transaction. Under the gateway's
//! `LiveRollups` gate (held while analytics reads, so no flush commits
//! meanwhile) they all see the same rows; without it, a flush committing
//! between two parts is seen by the later part only, as a read a moment
//! later would be.

use super::{connect, rollup_read, rollup_split, run, spawn, SqliteStore};
use crate::StoreError;
use keyway_core::rollup::{RollupQuery, RollupRow};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Read connections of a file database.
pub(crate) const READERS: usize = 4;
/// Page cache of each (KiB): the hour rows of a week of per-key counts
/// (~4 MiB of index, split four ways) or a month of per-key day rows with
/// their sketches (~12 MiB) stay cached for the next query. Filled only
/// by analytics reads.
const CACHE_KIB: i64 = 8 * 1024;

/// The connections analytics reads on.
pub(crate) struct Readers {
    conns: Vec<Arc<Mutex<Connection>>>,
}

impl Readers {
    /// [`READERS`] read-only connections to the database file at `path`.
    pub(crate) fn open(path: &Path) -> Result<Readers, StoreError> {
        let conns = (0..READERS)
            .map(|_| {
                let conn = connect::open_file(path)?;
                connect::tune_for_reads(&conn, CACHE_KIB)?;
                Ok(Arc::new(Mutex::new(conn)))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Readers { conns })
    }

    /// Reads on `conn` alone (an in-memory database, which another
    /// connection could not see).
    pub(crate) fn shared(conn: &Arc<Mutex<Connection>>) -> Readers {
        Readers { conns: vec![Arc::clone(conn)] }
    }

    /// `q` read as [`rollup_read::query`] does, split over the
    /// connections: every part but the first starts on the blocking pool
    /// at once, the first runs here, then the answers are joined in order.
    /// With one connection, the one read, unsplit.
    pub(crate) async fn rollups(&self, q: RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        if let [conn] = self.conns.as_slice() {
            return run(conn, move |c| rollup_read::query(c, &q)).await;
        }
        let split = rollup_split::split(&q, self.conns.len());
        let mut parts = split.parts.into_iter().zip(&self.conns);
        let Some((first, first_conn)) = parts.next() else {
            return Ok(Vec::new());
        };
        let rest: Vec<_> = parts.map(|(part, conn)| spawn(conn, move |c| rollup_read::query(c, &part))).collect();
        let mut answers = Vec::with_capacity(rest.len() + 1);
        answers.push(run(first_conn, move |c| rollup_read::query(c, &first)).await);
        for part in rest {
            answers.push(part.await);
        }
        let answers = answers.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(rollup_split::join(answers, split.straddles))
    }
}

impl SqliteStore {
    /// How many connections analytics reads on (1 for an in-memory
    /// database).
    pub fn analytics_readers(&self) -> usize {
        self.readers.conns.len()
    }
}
