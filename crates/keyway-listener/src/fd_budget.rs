//! File descriptors are what a flood of connections exhausts first; once
//! they are gone, no listener can accept anything, the admin API's
//! health check included. At start the soft limit is raised to the hard
//! one, and the gateway's connection limit is fitted inside what is left
//! after the admin listener and a reserve for the store, logs and
//! upstream pools, so the admin listener keeps answering when the
//! gateway is saturated.

/// Descriptors kept for everything but client connections.
pub const RESERVE: u64 = 256;

/// Raises the soft open-files limit to the hard limit where allowed and
/// returns the soft limit now in force (`None` where it cannot be read).
pub fn raise_open_files_limit() -> Option<u64> {
    let (soft, hard) = rlimit::Resource::NOFILE.get().ok()?;
    if soft < hard && rlimit::Resource::NOFILE.set(hard, hard).is_ok() {
        return Some(hard);
    }
    Some(soft)
}

/// The most gateway connections that fit in `open_files` descriptors,
/// given the admin listener's limit. Each proxied gateway connection may
/// hold a second descriptor for its upstream connection.
pub fn gateway_connections_that_fit(open_files: u64, admin_connections: usize) -> usize {
    let left = open_files.saturating_sub(RESERVE).saturating_sub(admin_connections as u64);
    usize::try_from(left / 2).unwrap_or(usize::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_share_leaves_room_for_admin_and_upstreams() {
        assert_eq!(gateway_connections_that_fit(20_000, 100), (20_000 - 256 - 100) / 2);
        assert_eq!(gateway_connections_that_fit(100, 100), 1);
    }

    #[test]
    fn the_limit_can_be_read() {
        assert!(raise_open_files_limit().is_some_and(|n| n > 0));
    }
}
