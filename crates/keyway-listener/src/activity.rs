//! What one connection is doing, kept in a few atomics that the request
//! path updates without locks or timers, and the watchdog that turns it
//! into deadlines.
//!
//! A connection is *serving* while a request is in flight (from the
//! parsed head until its response body is written), and otherwise
//! *waiting*: for the first byte of its next request (the idle timeout),
//! or, once that byte came, for the rest of the head (the header-read
//! timeout). A new connection starts as if its first byte had come, so a
//! client that connects and says nothing is closed after the header-read
//! timeout. Independently, a write that stays blocked because the client
//! does not read is bounded by the send timeout. The body of a request is
//! policed by [`crate::request_body`], which can answer with a status.

use crate::settings::ListenerSettings;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::time::Instant;

/// Milliseconds since the first call in this process (monotonic).
pub fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    // +1 so that 0 can mean "not set".
    u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX >> 2) + 1
}

/// Set in `mark` once a request head has started arriving.
const HEAD_STARTED: u64 = 1 << 62;
const TIME_MASK: u64 = HEAD_STARTED - 1;

/// One connection's activity.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicU32,
    /// When the connection last became idle (ms), with [`HEAD_STARTED`]
    /// set once the next request's first byte came.
    mark: AtomicU64,
    /// When the current write started blocking (ms), 0 when not blocked.
    write_blocked_since: AtomicU64,
}

/// Why the watchdog closed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// The request head did not arrive in time.
    HeaderRead,
    /// A kept-alive connection waited too long for its next request.
    Idle,
    /// The client stopped reading its response.
    Send,
}

impl Expired {
    /// Metric label and log word.
    pub fn as_str(self) -> &'static str {
        match self {
            Expired::HeaderRead => "header_read",
            Expired::Idle => "idle",
            Expired::Send => "send",
        }
    }
}

impl Activity {
    /// A connection accepted now, waiting for its first request head.
    pub fn new() -> Self {
        Self {
            in_flight: AtomicU32::new(0),
            mark: AtomicU64::new(now_ms() | HEAD_STARTED),
            write_blocked_since: AtomicU64::new(0),
        }
    }

    /// A request head was parsed: the connection is serving.
    pub fn begin_request(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A response was written (or abandoned).
    pub fn end_request(&self) {
        if self.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.mark.store(now_ms(), Ordering::Relaxed);
        }
    }

    /// Whether no request is in flight.
    pub fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0
    }

    /// Bytes arrived from the client.
    pub fn on_read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let mark = self.mark.load(Ordering::Relaxed);
            if mark & HEAD_STARTED == 0 {
                self.mark.store(now_ms() | HEAD_STARTED, Ordering::Relaxed);
            }
        }
    }

    /// A write to the client could not proceed.
    pub fn on_write_blocked(&self) {
        if self.write_blocked_since.load(Ordering::Relaxed) == 0 {
            self.write_blocked_since.store(now_ms(), Ordering::Relaxed);
        }
    }

    /// A write to the client proceeded.
    pub fn on_write_progress(&self) {
        if self.write_blocked_since.load(Ordering::Relaxed) != 0 {
            self.write_blocked_since.store(0, Ordering::Relaxed);
        }
    }

    /// The earliest deadline now in force, in ms, and what it guards;
    /// `None` while serving with writes flowing.
    fn deadline(&self, s: &ListenerSettings) -> Option<(u64, Expired)> {
        let mut next: Option<(u64, Expired)> = None;
        let blocked = self.write_blocked_since.load(Ordering::Relaxed);
        if blocked != 0 {
            next = Some((blocked + ms(s.send_timeout), Expired::Send));
        }
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let mark = self.mark.load(Ordering::Relaxed);
            let waiting = if mark & HEAD_STARTED != 0 {
                ((mark & TIME_MASK) + ms(s.header_read_timeout), Expired::HeaderRead)
            } else {
                (mark + ms(s.idle_timeout), Expired::Idle)
            };
            if next.is_none_or(|(t, _)| waiting.0 < t) {
                next = Some(waiting);
            }
        }
        next
    }
}

impl Default for Activity {
    fn default() -> Self {
        Self::new()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX >> 4)
}

/// Resolves when `activity` passes one of its deadlines.
///
/// The request path only stores atomics and never wakes the watchdog, so
/// a deadline that appears while it sleeps (a head starting, a write
/// blocking, a response ending) is found at its next wake. It therefore
/// never sleeps longer than the shortest timeout: every new deadline is
/// "its event + one timeout", which is never before that wake, so each
/// is met exactly. A connection wakes about once per shortest timeout
/// (10 s by default), not once per request.
pub async fn watchdog(activity: &Activity, settings: &ListenerSettings) -> Expired {
    let longest_sleep = ms(settings.header_read_timeout.min(settings.send_timeout).min(settings.idle_timeout)).max(1);
    loop {
        let now = now_ms();
        let nap = match activity.deadline(settings) {
            Some((at, why)) if at <= now => return why,
            Some((at, _)) => (at - now).min(longest_sleep),
            None => longest_sleep,
        };
        tokio::time::sleep(Duration::from_millis(nap)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ListenerSettings {
        ListenerSettings {
            header_read_timeout: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(1000),
            send_timeout: Duration::from_millis(300),
            ..ListenerSettings::defaults("test")
        }
    }

    #[test]
    fn a_new_connection_has_the_header_deadline() {
        let a = Activity::new();
        let (at, why) = a.deadline(&settings()).unwrap();
        assert_eq!(why, Expired::HeaderRead);
        assert!(at <= now_ms() + 100);
    }

    #[test]
    fn serving_has_no_deadline_until_a_write_blocks() {
        let a = Activity::new();
        a.begin_request();
        assert_eq!(a.deadline(&settings()), None);
        a.on_write_blocked();
        assert_eq!(a.deadline(&settings()).map(|d| d.1), Some(Expired::Send));
        a.on_write_progress();
        assert_eq!(a.deadline(&settings()), None);
    }

    #[test]
    fn after_a_response_idle_then_header_deadlines_apply() {
        let a = Activity::new();
        a.begin_request();
        a.end_request();
        assert_eq!(a.deadline(&settings()).map(|d| d.1), Some(Expired::Idle));
        a.on_read();
        assert_eq!(a.deadline(&settings()).map(|d| d.1), Some(Expired::HeaderRead));
        a.begin_request();
        a.on_read(); // body bytes while serving change nothing
        assert_eq!(a.deadline(&settings()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_blocks_while_the_watchdog_sleeps_is_still_caught_on_time() {
        let a = std::sync::Arc::new(Activity::new());
        let s = ListenerSettings { header_read_timeout: Duration::from_secs(10), ..settings() };
        let dog = {
            let (a, s) = (a.clone(), s.clone());
            tokio::spawn(async move { watchdog(&a, &s).await })
        };
        // The watchdog is asleep on the 10 s header deadline when the
        // request starts and its response write blocks.
        tokio::time::sleep(Duration::from_millis(50)).await;
        a.begin_request();
        a.on_write_blocked();
        let blocked = Instant::now();
        assert_eq!(dog.await.unwrap(), Expired::Send);
        let waited = blocked.elapsed();
        assert!(waited >= Duration::from_millis(300) && waited < Duration::from_millis(400), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_that_starts_while_the_watchdog_sleeps_on_idle_is_still_caught_on_time() {
        let a = std::sync::Arc::new(Activity::new());
        a.begin_request();
        a.end_request(); // idle: 1000 ms deadline, header-read is 100 ms
        let s = settings();
        let dog = {
            let (a, s) = (a.clone(), s.clone());
            tokio::spawn(async move { watchdog(&a, &s).await })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        a.on_read();
        let started = Instant::now();
        assert_eq!(dog.await.unwrap(), Expired::HeaderRead);
        assert!(started.elapsed() < Duration::from_millis(110), "{:?}", started.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_fires_at_the_deadline() {
        let a = Activity::new();
        let s = settings();
        let started = Instant::now();
        assert_eq!(watchdog(&a, &s).await, Expired::HeaderRead);
        assert!(started.elapsed() >= Duration::from_millis(99));
    }
}
