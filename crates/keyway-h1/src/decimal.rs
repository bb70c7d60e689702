//! Unsigned numbers in decimal, without the formatting machinery: lengths
//! in heads and latencies in evidence are written on every request.

/// `n` in decimal ASCII, written into the end of `buf`.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn writes_every_width() {
        for n in [0, 7, 10, 99, 100, 65_535, u64::MAX] {
            assert_eq!(decimal(n, &mut [0; 20]), n.to_string().as_bytes());
        }
    }
}
