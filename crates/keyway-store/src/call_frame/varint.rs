//! LEB128 varints and a cursor over a frame's bytes.

use super::decode::FrameError;

/// Appends `n` as an unsigned LEB128 varint.
pub(super) fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends `n` zigzag-encoded, so small negative numbers stay short.
pub(super) fn put_i64(out: &mut Vec<u8>, n: i64) {
    put_u64(out, ((n << 1) ^ (n >> 63)) as u64);
}

/// Appends a length-prefixed text.
pub(super) fn put_text(out: &mut Vec<u8>, text: &str) {
    put_u64(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Reads a frame front to back; every read checks the bounds.
#[derive(Clone, Copy)]
pub(super) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(super) fn byte(&mut self) -> Result<u8, FrameError> {
        let (&b, tail) = self.rest.split_first().ok_or(FrameError::Truncated)?;
        self.rest = tail;
        Ok(b)
    }

    pub(super) fn u64(&mut self) -> Result<u64, FrameError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(FrameError::Malformed("varint too long"))
    }

    pub(super) fn i64(&mut self) -> Result<i64, FrameError> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A count or length that must fit what is left of the frame.
    pub(super) fn len(&mut self) -> Result<usize, FrameError> {
        let n = usize::try_from(self.u64()?).map_err(|_| FrameError::Truncated)?;
        if n > self.rest.len() {
            return Err(FrameError::Truncated);
        }
        Ok(n)
    }

    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if n > self.rest.len() {
            return Err(FrameError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(super) fn text(&mut self) -> Result<&'a str, FrameError> {
        let n = self.len()?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| FrameError::Malformed("text is not UTF-8"))
    }

    pub(super) fn f64(&mut self) -> Result<f64, FrameError> {
        let b: [u8; 8] = self.bytes(8)?.try_into().map_err(|_| FrameError::Truncated)?;
        Ok(f64::from_le_bytes(b))
    }
}
