//! Where the node's background work runs, apart from the gateway workers.
//!
//! The [`IdleLane`] is a thread of its own under Linux's `SCHED_IDLE`
//! policy, driving a current-thread runtime whose blocking pool (where
//! SQLite works) inherits the policy. The kernel preempts an idle-policy
//! thread the moment a normal one wakes, so work there (call-log batches,
//! rollups, write-ahead-log checkpoints, `last_used_at` flushes, retention
//! purges) runs in the cores' idle time and never delays a request. A nice
//! value is not enough for that: it weights a thread's share, but under
//! EEVDF a running batch keeps the core for its whole slice (~1.5 ms on
//! two cores) before a woken worker gets it, and a checkpoint copying a
//! second of log back into the database took 2.8 ms at a time.
//!
//! The price: on a saturated core an idle thread gets next to nothing.
//! Work that must keep up there has a second way (the call-log writer's
//! catch-up lane, at [`WRITER_NICE`]); work that can wait (checkpoints,
//! whose backstop is SQLite's own automatic checkpoint on the writing
//! connections) simply waits.

use std::sync::Arc;
use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// The nice value of work that must keep up under load without being
/// idle-only (the call-log writer's own thread and catch-up lane): above
/// the gateway workers' 0, so that on a contended core it yields to
/// requests more than it takes; not the lowest (19), so that it still gets
/// ~10% of a busy core, more than the call log's ~6% share at saturation.
pub const WRITER_NICE: i32 = 10;

/// The idle-policy thread and its runtime; see the module docs. Shared
/// (`Arc`); the thread ends when the last holder drops it.
#[derive(Debug)]
pub struct IdleLane {
    handle: Handle,
    _stop: oneshot::Sender<()>,
}

impl IdleLane {
    /// Starts the lane, or `None` (logged) if its thread, its runtime or
    /// the policy cannot be had: callers then run their work where they are.
    pub fn start() -> Option<Arc<Self>> {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let spawned = std::thread::Builder::new().name("idle-lane".into()).spawn(move || {
            if !set_this_thread(Policy::Idle) {
                return;
            }
            match tokio::runtime::Builder::new_current_thread().enable_all().thread_name("idle-lane-io").build() {
                Ok(rt) => {
                    if handle_tx.send(rt.handle().clone()).is_ok() {
                        let _ = rt.block_on(stopped);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the idle lane's runtime could not start"),
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "the idle lane's thread could not start; background work runs at normal priority");
            return None;
        }
        let handle = handle_rx.recv().ok()?;
        Some(Arc::new(Self { handle, _stop: stop }))
    }

    /// The lane's runtime: spawn background work here.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

/// A scheduling policy a background thread takes for itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// `SCHED_IDLE`: runs only when nothing else wants the core.
    Idle,
    /// The normal policy at nice [`WRITER_NICE`].
    Writer,
}

/// Sets the calling thread's policy; best effort, logged when refused
/// (the thread then keeps what it had). Whether it was set.
pub(crate) fn set_this_thread(policy: Policy) -> bool {
    // thread-priority maps 0..=99 onto nice 19..=-20 for the normal
    // policy: 22 is nice 10 (`WRITER_NICE`). SCHED_IDLE takes no value.
    let (policy, priority) = match policy {
        Policy::Idle => (ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle), Ok(ThreadPriority::Min)),
        Policy::Writer => (
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
            ThreadPriorityValue::try_from(22u8).map(ThreadPriority::Crossplatform),
        ),
    };
    let set =
        priority.map(|p| thread_priority::unix::set_thread_priority_and_policy(thread_priority::thread_native_id(), p, policy));
    match set {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = ?e, ?policy, "a background thread keeps its scheduling priority");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, ?policy, "a background thread keeps its scheduling priority");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_lane_and_the_threads_it_starts_run_under_sched_idle() {
        let lane = IdleLane::start().expect("an unprivileged thread may always lower itself to SCHED_IDLE");
        let (tx, rx) = std::sync::mpsc::channel();
        lane.handle().spawn(async move {
            let own = thread_priority::unix::thread_schedule_policy().ok();
            let pool = tokio::task::spawn_blocking(|| thread_priority::unix::thread_schedule_policy().ok()).await.ok().flatten();
            let _ = tx.send((own, pool));
        });
        let policies = rx.recv_timeout(Duration::from_secs(10)).expect("the lane runs its tasks");
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        assert_eq!(policies, (Some(idle), Some(idle)), "the lane's thread, then its blocking pool");
    }

    #[test]
    fn the_lane_ends_when_its_last_holder_drops_it() {
        struct Dropped(std::sync::mpsc::Sender<()>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let lane = IdleLane::start().expect("lane");
        let (tx, rx) = std::sync::mpsc::channel();
        let guard = Dropped(tx);
        lane.handle().spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        drop(lane);
        rx.recv_timeout(Duration::from_secs(10)).expect("the runtime shut down and dropped its tasks");
    }
}
