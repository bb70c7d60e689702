//! Accept errors (out of file descriptors, mostly) are backed off
//! exponentially, counted, and logged at most once per interval with the
//! number of errors in between, so a flood does not flood the log.

use std::time::Duration;
use tokio::time::Instant;

/// First pause after an accept error.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// Longest pause.
const MAX_PAUSE: Duration = Duration::from_secs(1);
/// At most one log line per this interval.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Backoff and log state of one accept loop.
#[derive(Debug)]
pub struct AcceptErrors {
    listener: &'static str,
    pause: Duration,
    logged_at: Option<Instant>,
    unlogged: u64,
    counter: metrics::Counter,
}

impl AcceptErrors {
    /// State for the listener called `listener`; registers its counter at zero.
    pub fn new(listener: &'static str) -> Self {
        let counter = metrics::counter!("keyway_listener_accept_errors_total", "listener" => listener);
        counter.increment(0);
        Self { listener, pause: FIRST_PAUSE, logged_at: None, unlogged: 0, counter }
    }

    /// An accept succeeded: the next error starts over.
    pub fn succeeded(&mut self) {
        self.pause = FIRST_PAUSE;
    }

    /// Records `error`, logs if due, and returns how long to pause.
    pub fn failed(&mut self, error: &std::io::Error) -> Duration {
        self.counter.increment(1);
        let now = Instant::now();
        if self.logged_at.is_none_or(|t| now.duration_since(t) >= LOG_EVERY) {
            tracing::warn!(
                listener = self.listener,
                %error,
                suppressed = self.unlogged,
                "accept failed; backing off (a file-descriptor limit is the usual cause)"
            );
            self.logged_at = Some(now);
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
        let pause = self.pause;
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pauses_grow_to_a_ceiling_and_reset() {
        let mut a = AcceptErrors::new("test");
        let e = std::io::Error::other("EMFILE");
        let pauses: Vec<Duration> = (0..12).map(|_| a.failed(&e)).collect();
        assert_eq!(pauses[0], FIRST_PAUSE);
        assert!(pauses.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*pauses.last().unwrap(), MAX_PAUSE);
        assert_eq!(a.unlogged, 11, "only the first error of the interval is logged");
        a.succeeded();
        assert_eq!(a.failed(&e), FIRST_PAUSE);
    }
}
