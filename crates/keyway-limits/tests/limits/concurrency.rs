use super::{key, limiter};
use keyway_limits::{RateLimit, RateLimiter};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

#[test]
fn thirty_two_threads_on_one_key_admit_exactly_the_limit() {
    let (_clock, limiter) = limiter();
    let limit = RateLimit::new(1_000, 60);
    let allowed = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..32 {
            s.spawn(|| {
                for _ in 0..100 {
                    if limiter.check(&key("hot"), limit).allowed {
                        allowed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(allowed.load(Ordering::Relaxed), 1_000);
}

#[test]
fn thirty_two_threads_through_check_all_admit_exactly_the_tightest_limit() {
    let (_clock, limiter) = limiter();
    let checks = [
        (key("k"), RateLimit::new(500, 60)),
        (keyway_limits::LimitKey::new(keyway_limits::Level::Api, "api"), RateLimit::new(300, 60)),
    ];
    let allowed = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..32 {
            s.spawn(|| {
                for _ in 0..50 {
                    if limiter.check_all(&checks).is_ok() {
                        allowed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(allowed.load(Ordering::Relaxed), 300);
    // Refusals cost the key level nothing: exactly 200 left there.
    let left = (0..1_000).filter(|_| limiter.check(&checks[0].0, checks[0].1).allowed).count();
    assert_eq!(left, 200);
}
