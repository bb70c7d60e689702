//! Which IP the caller really is: the peer address, unless the peer is a
//! trusted proxy, in which case the nearest untrusted address in
//! `x-forwarded-for` (or `Forwarded: for=`) counted from the right.

use http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// `ip` as text, as `Display` writes it. IPv4, the common case, without
/// the formatting machinery (its `Display` cost ~1,300 instructions, and
/// an address is written twice per request: the call-log row and
/// `x-forwarded-for`).
pub fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut s = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        if octet >= 100 {
            s.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            s.push(char::from(b'0' + octet / 10 % 10));
        }
        s.push(char::from(b'0' + octet % 10));
    }
    s
}

/// Resolves client IPs given the configured trusted proxies.
#[derive(Clone, Debug, Default)]
pub struct ClientIpResolver {
    trusted: Vec<IpNet>,
}

impl ClientIpResolver {
    /// A resolver trusting `trusted` proxies.
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// Whether `peer` is a trusted proxy, whose forwarding headers are
    /// extended rather than replaced.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        !self.trusted.is_empty() && self.is_trusted(canonical(peer))
    }

    /// The client IP for a connection from `peer` with these headers.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if self.trusted.is_empty() || !self.is_trusted(peer) {
            return peer;
        }
        let mut hops: Vec<IpAddr> = Vec::new();
        for v in headers.get_all("x-forwarded-for") {
            if let Ok(s) = v.to_str() {
                hops.extend(s.split(',').filter_map(|h| parse_hop(h.trim())));
            }
        }
        if hops.is_empty() {
            for v in headers.get_all("forwarded") {
                if let Ok(s) = v.to_str() {
                    hops.extend(s.split(',').filter_map(forwarded_for));
                }
            }
        }
        // Walk from the nearest hop outwards; the first untrusted one is the client.
        for hop in hops.iter().rev() {
            if !self.is_trusted(*hop) {
                return *hop;
            }
        }
        hops.first().copied().unwrap_or(peer)
    }
}

/// IPv4-mapped IPv6 peers (`::ffff:1.2.3.4`) are reported as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    // "[2001:db8::1]:443" or "1.2.3.4:5678"
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    s.rsplit_once(':').and_then(|(h, _)| h.parse().ok()).map(canonical)
}

fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        k.eq_ignore_ascii_case("for").then(|| parse_hop(v.trim())).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_text_is_display() {
        for ip in ["0.0.0.0", "127.0.0.1", "10.20.100.255", "9.99.199.200", "::1", "2001:db8::8a2e:370:7334", "::ffff:1.2.3.4"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_the_headers_say() {
        let r = ClientIpResolver::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let h = headers(&[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(r.resolve("203.0.113.9".parse().unwrap(), &h), "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn trusted_proxy_chain_is_walked_from_the_right() {
        let r = ClientIpResolver::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(r.resolve("10.0.0.2".parse().unwrap(), &h), "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn forwarded_header_is_understood() {
        let r = ClientIpResolver::new(vec!["127.0.0.1/32".parse().unwrap()]);
        let h = headers(&[("forwarded", "for=\"[2001:db8::7]:4711\";proto=https")]);
        assert_eq!(r.resolve("127.0.0.1".parse().unwrap(), &h), "2001:db8::7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn mapped_ipv6_peers_read_as_ipv4() {
        let r = ClientIpResolver::default();
        assert_eq!(r.resolve("::ffff:192.0.2.1".parse().unwrap(), &HeaderMap::new()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
