//! The request itself, checked before routing: a path the gateway can
//! route and forward without ambiguity. Percent-escapes must be whole
//! (`%` and two hex digits), decode to valid UTF-8, and never to a
//! control character (NUL included). Encoded slashes (`%2F`) and
//! backslashes (`%5C`) are kept as sent and never decoded for routing;
//! see [`crate::stages::route`] for dot segments.

use crate::percent::escape_at;
use keyway_core::refusals::Malformed;
use keyway_core::Refusal;

/// Checks `path`'s percent-encoding without allocating.
pub fn check_path(path: &str) -> Result<(), Refusal> {
    let b = path.as_bytes();
    let mut i = 0;
    // A multi-byte UTF-8 sequence in progress: bytes so far, and its length.
    let mut seq = [0u8; 4];
    let (mut have, mut need) = (0usize, 0usize);
    while i < b.len() {
        let byte = if b[i] == b'%' {
            let Some(byte) = escape_at(&b[i..]) else {
                return Err(bad(path, "a % not followed by two hex digits"));
            };
            i += 3;
            byte
        } else {
            i += 1;
            b[i - 1]
        };
        if byte < 0x20 || byte == 0x7f {
            return Err(bad(path, "a control character (such as NUL) once decoded"));
        }
        if need > 0 {
            seq[have] = byte;
            have += 1;
            if have == need {
                if std::str::from_utf8(&seq[..need]).is_err() {
                    return Err(bad(path, "percent-escapes that do not decode to UTF-8"));
                }
                (have, need) = (0, 0);
            }
            continue;
        }
        if byte >= 0x80 {
            need = match byte {
                0xc2..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf4 => 4,
                _ => return Err(bad(path, "percent-escapes that do not decode to UTF-8")),
            };
            seq[0] = byte;
            have = 1;
        }
    }
    if need > 0 {
        return Err(bad(path, "percent-escapes that do not decode to UTF-8"));
    }
    Ok(())
}

fn bad(path: &str, what: &str) -> Refusal {
    Refusal::request_malformed(Malformed::Path { path, what })
}

#[cfg(test)]
mod tests {
    use super::check_path;

    #[test]
    fn well_formed_paths_pass() {
        for p in ["/", "/a/b", "/caf%C3%A9", "/a%2Fb", "/%e2%82%ac", "/%F0%9F%98%80", "/a%20b", "/ok~._-"] {
            assert!(check_path(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn broken_escapes_nul_and_bad_utf8_are_refused() {
        for p in ["/%zz", "/%", "/a%2", "/%00", "/a%0a", "/%ff", "/%C3", "/%C3%28", "/%c0%af", "/%ed%a0%80", "/%7f"] {
            let r = check_path(p).unwrap_err();
            assert_eq!(r.code, keyway_core::ErrorCode::RequestMalformed, "{p}");
        }
    }
}
