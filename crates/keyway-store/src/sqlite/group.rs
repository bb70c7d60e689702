//! Group commit: admin writes that arrive while another is committing
//! wait their turn together and commit in one transaction, one WAL append
//! for all of them. Each writer keeps its own result: its changes run in
//! a savepoint of their own, so one writer's constraint failure rolls back
//! that writer's changes only, and nobody's answer comes before the
//! transaction holding its changes has committed.

use super::apply;
use super::errors::{sqlite_error, sqlite_error_ref};
use crate::StoreError;
use keyway_core::change::Change;
use keyway_core::records::AuditEntry;
use rusqlite::{Connection, TransactionBehavior};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Writes queued for the next group, shared by every clone of the store.
#[derive(Default)]
pub(crate) struct Queue {
    pending: Mutex<Vec<Job>>,
    next: std::sync::atomic::AtomicU64,
}

/// One caller's write: its changes and audit entries, and where its
/// result goes.
pub(crate) struct Job {
    ticket: u64,
    changes: Vec<Change>,
    audit: Vec<AuditEntry>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

impl Queue {
    /// Queues a write: its ticket, and the receiver that gets its result
    /// once a group holding it has committed (or failed).
    pub(crate) fn push(&self, changes: Vec<Change>, audit: Vec<AuditEntry>) -> (u64, oneshot::Receiver<Result<(), StoreError>>) {
        let ticket = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (done, result) = oneshot::channel();
        lock(&self.pending).push(Job { ticket, changes, audit, done });
        (ticket, result)
    }

    /// Takes the write with this ticket back if no group has taken it
    /// yet: then it will never be written. False when a group has it (its
    /// result is coming).
    pub(crate) fn withdraw(&self, ticket: u64) -> bool {
        let mut pending = lock(&self.pending);
        let before = pending.len();
        pending.retain(|j| j.ticket != ticket);
        pending.len() < before
    }

    /// Every write queued so far, in arrival order.
    fn take(&self) -> Vec<Job> {
        std::mem::take(&mut *lock(&self.pending))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while pushing or taking leaves the Vec whole: keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// With the connection held: commits every queued write as one group
/// and answers each writer. Nothing queued (another caller's run took
/// this caller's write into its group) is nothing to do.
pub(crate) fn commit_queued(conn: &mut Connection, queue: &Arc<Queue>) {
    let jobs = queue.take();
    if jobs.is_empty() {
        return;
    }
    let results = run_group(conn, &jobs);
    for (job, result) in jobs.into_iter().zip(results) {
        // A caller that stopped waiting has nobody to tell.
        let _ = job.done.send(result);
    }
}

/// Runs `jobs` in one transaction, each in its own savepoint: the result
/// of each, in order. A failed commit fails every job that had succeeded.
fn run_group(conn: &mut Connection, jobs: &[Job]) -> Vec<Result<(), StoreError>> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return jobs.iter().map(|_| Err(sqlite_error_ref(&e))).collect(),
    };
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        results.push(in_savepoint(&mut tx, job));
    }
    if let Err(e) = tx.commit() {
        for r in results.iter_mut().filter(|r| r.is_ok()) {
            *r = Err(sqlite_error_ref(&e));
        }
    }
    results
}

/// One job's writes in a savepoint, released when they all succeed and
/// rolled back (dropping it) when one fails.
fn in_savepoint(tx: &mut rusqlite::Transaction<'_>, job: &Job) -> Result<(), StoreError> {
    let sp = tx.savepoint().map_err(sqlite_error)?;
    apply::write_all(&sp, &job.changes, &job.audit)?;
    sp.commit().map_err(sqlite_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_taken_back_is_never_in_a_group() {
        let q = Queue::default();
        let (first, _r1) = q.push(Vec::new(), Vec::new());
        let (second, _r2) = q.push(Vec::new(), Vec::new());
        assert!(q.withdraw(first));
        assert!(!q.withdraw(first), "already gone");
        let taken = q.take();
        assert_eq!(taken.iter().map(|j| j.ticket).collect::<Vec<_>>(), vec![second]);
        assert!(!q.withdraw(second), "a group has it");
    }
}
