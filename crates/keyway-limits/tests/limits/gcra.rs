use super::{key, limiter, XorShift, T0};
use keyway_limits::{Clock, ManualClock, RateDecision, RateLimit, RateLimiter};

const TEN_PER_MINUTE: RateLimit = RateLimit { requests: 10, per_seconds: 60 };

#[test]
fn a_full_bucket_admits_exactly_the_limit_at_once() {
    let (_clock, limiter) = limiter();
    let k = key("a");
    for i in 1..=10u64 {
        let d = limiter.check(&k, TEN_PER_MINUTE);
        assert_eq!(
            d,
            RateDecision {
                allowed: true,
                limit: TEN_PER_MINUTE,
                remaining: 10 - i,
                reset_after_ms: 6_000 * i,
                retry_after_ms: 0
            },
            "request {i}"
        );
    }
    let refused = limiter.check(&k, TEN_PER_MINUTE);
    assert_eq!(
        refused,
        RateDecision { allowed: false, limit: TEN_PER_MINUTE, remaining: 0, reset_after_ms: 60_000, retry_after_ms: 6_000 }
    );
}

#[test]
fn one_more_passes_exactly_one_emission_interval_later_and_refusals_cost_nothing() {
    let (clock, limiter) = limiter();
    let k = key("a");
    for _ in 0..10 {
        assert!(limiter.check(&k, TEN_PER_MINUTE).allowed);
    }
    // Hammering while refused must not push the refill back.
    for _ in 0..100 {
        assert!(!limiter.check(&k, TEN_PER_MINUTE).allowed);
    }
    clock.set(T0 + 5_999);
    let early = limiter.check(&k, TEN_PER_MINUTE);
    assert!(!early.allowed);
    assert_eq!((early.retry_after_ms, early.reset_after_ms), (1, 54_001));

    clock.set(T0 + 6_000);
    let d = limiter.check(&k, TEN_PER_MINUTE);
    assert_eq!(d, RateDecision { allowed: true, limit: TEN_PER_MINUTE, remaining: 0, reset_after_ms: 60_000, retry_after_ms: 0 });
    assert!(!limiter.check(&k, TEN_PER_MINUTE).allowed);
}

#[test]
fn partial_refill_reports_exact_remaining_and_reset() {
    let (clock, limiter) = limiter();
    let k = key("a");
    for _ in 0..10 {
        limiter.check(&k, TEN_PER_MINUTE);
    }
    // 13 s later, two intervals have come back (TAT - now = 47 s).
    clock.set(T0 + 13_000);
    let peek = limiter.peek(&k, TEN_PER_MINUTE);
    let d = limiter.check(&k, TEN_PER_MINUTE);
    assert_eq!(peek, d, "peek predicts check");
    assert_eq!((d.allowed, d.remaining, d.reset_after_ms, d.retry_after_ms), (true, 1, 53_000, 0));
    // A full refill after reset_after_ms.
    clock.set(T0 + 13_000 + 53_000);
    assert_eq!(limiter.check(&k, TEN_PER_MINUTE).remaining, 9);
}

#[test]
fn keys_are_independent() {
    let (_clock, limiter) = limiter();
    let one = RateLimit::new(1, 60);
    assert!(limiter.check(&key("a"), one).allowed);
    assert!(!limiter.check(&key("a"), one).allowed);
    assert!(limiter.check(&key("b"), one).allowed);
}

#[test]
fn degenerate_limits_refuse_everything() {
    let (_clock, limiter) = limiter();
    for limit in [RateLimit::new(0, 60), RateLimit::new(10, 0)] {
        assert!(!limit.is_valid());
        let d = limiter.check(&key("a"), limit);
        assert!(!d.allowed, "{limit:?}");
        assert!(d.retry_after_ms > 0);
    }
}

/// Exact GCRA in rational arithmetic (time scaled by `requests`), written
/// independently of the crate: the reference the limiter must match.
struct Reference {
    tat: i128,
    n: i128,
    w_ms: i128,
}

impl Reference {
    fn new(limit: RateLimit) -> Self {
        Self { tat: i128::MIN / 4, n: i128::from(limit.requests), w_ms: i128::from(limit.per_seconds) * 1000 }
    }

    fn check(&mut self, now_ms: u64) -> bool {
        let now = i128::from(now_ms) * self.n;
        let t = self.w_ms; // T = w/n, scaled by n
        let tat = self.tat.max(now);
        if tat - now > (self.n - 1) * t {
            return false;
        }
        self.tat = tat + t;
        true
    }
}

/// Checks every arrival, returns the allowed timestamps; asserts each
/// decision matches the reference when `exact`.
fn run(limit: RateLimit, arrivals: &[u64], exact: bool) -> Vec<u64> {
    let clock = std::sync::Arc::new(ManualClock::new(T0));
    let limiter = keyway_limits::InMemoryRateLimiter::new(clock.clone());
    let mut reference = Reference::new(limit);
    let mut allowed = Vec::new();
    for &t in arrivals {
        clock.set(t);
        let d = limiter.check(&key("k"), limit);
        if exact {
            assert_eq!(d.allowed, reference.check(t), "at t0+{} ms", t - T0);
        }
        if d.allowed {
            allowed.push(clock.now_millis());
        }
    }
    allowed
}

/// For admitted requests i < j: `t_j - t_i >= (j - i - n + 1) * T`, i.e.
/// any interval of length L holds at most `n + floor(L / T)` of them.
fn assert_gcra_spacing(limit: RateLimit, allowed: &[u64]) {
    let n = i128::from(limit.requests);
    let w_ms = i128::from(limit.per_seconds) * 1000;
    for i in 0..allowed.len() {
        for j in i + 1..allowed.len().min(i + 4 * limit.requests as usize) {
            let gap = i128::from(allowed[j] - allowed[i]);
            let k = (j - i) as i128;
            // gap >= (k - n + 1) * w / n, without division.
            assert!(gap * n >= (k - n + 1) * w_ms, "requests {i} and {j}: {gap} ms apart");
        }
    }
}

/// Largest number of admitted requests in any half-open window [t, t + len).
fn max_in_window(allowed: &[u64], len: u64) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..allowed.len() {
        while allowed[hi] - allowed[lo] >= len {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

#[test]
fn every_millisecond_across_window_edges_matches_exact_gcra() {
    // One attempt per ms for four windows: the burst, then one per T.
    let arrivals: Vec<u64> = (0..240_000).map(|ms| T0 + ms).collect();
    let allowed = run(TEN_PER_MINUTE, &arrivals, true);
    let burst: Vec<u64> = (0..10).map(|ms| T0 + ms).collect();
    assert_eq!(&allowed[..10], &burst[..]);
    let expected_tail: Vec<u64> = (1..=39).map(|i| T0 + 6_000 * i).collect();
    assert_eq!(&allowed[10..], &expected_tail[..]);
    assert_gcra_spacing(TEN_PER_MINUTE, &allowed);
    // No edge burst: within any emission interval, never more than the limit.
    assert_eq!(max_in_window(&allowed, 6_000), 10);
    // The documented bound for a whole window: a burst of n, then n - 1 more.
    assert_eq!(max_in_window(&allowed, 60_000), 19);
}

#[test]
fn random_arrivals_match_exact_gcra_and_respect_its_bounds() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut t = T0;
    let mut arrivals = Vec::new();
    for _ in 0..60_000 {
        // Mostly close together (bursts), sometimes long pauses.
        t += match rng.next_u64() % 10 {
            0 => rng.next_u64() % 60_000,
            1..=3 => rng.next_u64() % 3_000,
            _ => rng.next_u64() % 50,
        };
        arrivals.push(t);
    }
    let allowed = run(TEN_PER_MINUTE, &arrivals, true);
    assert!(allowed.len() > 1_000, "the limiter admits: {}", allowed.len());
    assert_gcra_spacing(TEN_PER_MINUTE, &allowed);
    assert!(max_in_window(&allowed, 6_000) <= 10);
    assert!(max_in_window(&allowed, 60_000) <= 19);
    // Long-run rate: over the whole span, at most n + span / T.
    let span = allowed[allowed.len() - 1] - allowed[0];
    assert!(allowed.len() as u64 <= 10 + span / 6_000);
}

#[test]
fn intervals_that_are_not_whole_milliseconds_never_exceed_the_rate() {
    // T = 1/7 s is not an integer number of ms (nor ns): rounding must err
    // on the strict side.
    let limit = RateLimit::new(7, 1);
    let arrivals: Vec<u64> = (0..100_000).map(|ms| T0 + ms).collect();
    let allowed = run(limit, &arrivals, false);
    assert_gcra_spacing(limit, &allowed);
    assert!(max_in_window(&allowed, 1_000) <= 13);
    let span = allowed[allowed.len() - 1] - allowed[0];
    assert!(allowed.len() as u64 * 1_000 <= 7 * 1_000 + span * 7);
    // And it is not stricter than ~1 request per 100 s of drift.
    assert!(allowed.len() >= 7 + 99 * 7, "{}", allowed.len());
}

#[test]
fn idle_entries_are_evicted() {
    let (clock, limiter) = limiter();
    for i in 0..100 {
        limiter.check(&key(&format!("k{i}")), TEN_PER_MINUTE);
    }
    assert_eq!(limiter.len(), 100);
    clock.advance(5_999);
    assert_eq!(limiter.evict_idle(), 0);
    clock.advance(1);
    assert_eq!(limiter.evict_idle(), 100);
    assert!(limiter.is_empty());
}

#[test]
fn memory_stays_bounded_without_explicit_eviction() {
    let (clock, limiter) = limiter();
    let one_per_second = RateLimit::new(1, 1);
    for i in 0..300_000u64 {
        clock.set(T0 + i);
        limiter.check(&key(&i.to_string()), one_per_second);
    }
    // At most ~1000 keys are live; stale ones wait for their shard's sweep
    // (32 shards, every 1024 operations or as many as the shard holds).
    assert!(limiter.len() <= 1_000 + 32 * 2 * 1_024, "{}", limiter.len());
}
