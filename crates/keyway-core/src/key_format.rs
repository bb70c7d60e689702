//! The API key text: `kw_<env>_<30 base62 random><6 base62 checksum>`.
//!
//! The checksum is CRC-32 (IEEE, as zlib's `crc32`) of everything before
//! it, written as six base62 digits, most significant first. A client or a
//! secret scanner can tell a typo from an unknown key without asking
//! anyone. Keys are stored only as an HMAC-SHA256 digest under a server
//! secret, plus a display prefix (`kw_live_` and four random characters).

use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

/// The base62 alphabet, in the order the checksum uses.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Number of random base62 characters in a key.
pub const RANDOM_LEN: usize = 30;
/// Number of base62 checksum characters at the end of a key.
pub const CHECKSUM_LEN: usize = 6;
/// Total length of a `live` or `test` key.
pub const KEY_LEN: usize = 8 + RANDOM_LEN + CHECKSUM_LEN;
/// Number of random characters shown in the display prefix.
pub const PREFIX_RANDOM_CHARS: usize = 4;

/// The environment a key belongs to; a gateway accepts one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KeyEnv {
    /// Production keys, `kw_live_…`.
    #[default]
    Live,
    /// Test keys, `kw_test_…`.
    Test,
}

impl KeyEnv {
    /// `live` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyEnv::Live => "live",
            KeyEnv::Test => "test",
        }
    }

    /// Parses `live` or `test`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "live" => Some(KeyEnv::Live),
            "test" => Some(KeyEnv::Test),
            _ => None,
        }
    }

    /// The leading text of keys of this environment, e.g. `kw_live_`.
    pub fn key_lead(self) -> &'static str {
        match self {
            KeyEnv::Live => "kw_live_",
            KeyEnv::Test => "kw_test_",
        }
    }
}

impl fmt::Display for KeyEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a piece of text is not a well-formed Keyway key. Each reason is
/// judged from the text alone, so telling it to the caller discloses
/// nothing about stored keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyTextProblem {
    /// Not `kw_live_` or `kw_test_` at the start.
    UnknownPrefix,
    /// The length is not 44 characters.
    WrongLength {
        /// The length found.
        found: usize,
    },
    /// A character outside base62 after the prefix.
    BadCharacter {
        /// Zero-based position of the first bad character.
        position: usize,
    },
    /// Checksum does not match: a typo or a truncated copy.
    BadChecksum,
}

impl fmt::Display for KeyTextProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyTextProblem::UnknownPrefix => {
                write!(f, "a Keyway key starts with kw_live_ or kw_test_")
            }
            KeyTextProblem::WrongLength { found } => write!(
                f,
                "a Keyway key is {KEY_LEN} characters long, this one is {found}: it may be truncated or have extra characters"
            ),
            KeyTextProblem::BadCharacter { position } => {
                write!(f, "character {} is not a letter or digit: keys hold only 0-9, A-Z and a-z after the prefix", position + 1)
            }
            KeyTextProblem::BadChecksum => write!(f, "the key's checksum does not match: it was mistyped or mangled when copied"),
        }
    }
}

/// A key whose text is well formed (prefix, length, alphabet, checksum).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    /// The environment from the key's prefix.
    pub env: KeyEnv,
    /// The whole key text.
    pub text: &'a str,
}

impl ParsedKey<'_> {
    /// The display prefix, e.g. `kw_live_7Hq2`: safe to show and log.
    pub fn display_prefix(&self) -> &str {
        &self.text[..8 + PREFIX_RANDOM_CHARS]
    }
}

/// Six base62 digits of the CRC-32 of `body`, most significant first.
pub fn checksum(body: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = u64::from(crc32fast::hash(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        // n % 62 < 62 always, so the index is in range.
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// Makes a new random key of the given environment.
pub fn generate(env: KeyEnv) -> String {
    let mut rng = rand::rngs::OsRng;
    let mut text = String::with_capacity(KEY_LEN);
    text.push_str(env.key_lead());
    for _ in 0..RANDOM_LEN {
        text.push(char::from(BASE62[rng.gen_range(0..62)]));
    }
    let sum = checksum(&text);
    text.extend(sum.iter().map(|b| char::from(*b)));
    text
}

/// Checks key text without consulting any store.
pub fn parse(text: &str) -> Result<ParsedKey<'_>, KeyTextProblem> {
    let env = if text.starts_with("kw_live_") {
        KeyEnv::Live
    } else if text.starts_with("kw_test_") {
        KeyEnv::Test
    } else {
        return Err(KeyTextProblem::UnknownPrefix);
    };
    if let Some(position) = text.bytes().enumerate().skip(8).find(|(_, b)| !b.is_ascii_alphanumeric()).map(|(i, _)| i) {
        return Err(KeyTextProblem::BadCharacter { position });
    }
    if text.len() != KEY_LEN {
        return Err(KeyTextProblem::WrongLength { found: text.chars().count() });
    }
    let (body, sum) = text.split_at(KEY_LEN - CHECKSUM_LEN);
    if checksum(body).as_slice() != sum.as_bytes() {
        return Err(KeyTextProblem::BadChecksum);
    }
    Ok(ParsedKey { env, text })
}

/// True when the text looks like it was meant to be a Keyway key
/// (used to tell "a key in the wrong place" from unrelated values).
pub fn looks_like_key(text: &str) -> bool {
    text.starts_with("kw_live_") || text.starts_with("kw_test_")
}

/// A 32-byte keyed digest of a key, the only form in which keys are stored.
pub type KeyDigest = [u8; 32];

/// Computes keys' stored digests under the server secret.
#[derive(Clone)]
pub struct KeyHasher {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHasher(<secret>)")
    }
}

impl KeyHasher {
    /// A hasher keyed with the server secret (any length; 32 bytes advised).
    pub fn new(secret: &[u8]) -> Self {
        #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
        let mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        Self { mac }
    }

    /// HMAC-SHA256(secret, key text).
    pub fn digest(&self, key_text: &str) -> KeyDigest {
        let mut mac = self.mac.clone();
        mac.update(key_text.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Compares two digests in constant time.
pub fn digests_equal(a: &KeyDigest, b: &KeyDigest) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_slice(), b.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_have_the_documented_shape() {
        for env in [KeyEnv::Live, KeyEnv::Test] {
            let k = generate(env);
            assert_eq!(k.len(), 44);
            let p = parse(&k).unwrap();
            assert_eq!(p.env, env);
            assert_eq!(p.display_prefix().len(), 12);
            assert!(p.display_prefix().starts_with(env.key_lead()));
        }
    }

    #[test]
    fn checksum_matches_zlib_crc32_in_base62() {
        // crc32("kw_live_" + 30 zeros) computed independently with zlib.
        let body = format!("kw_live_{}", "0".repeat(30));
        let crc = crc32fast::hash(body.as_bytes());
        let mut n = u64::from(crc);
        let mut digits = Vec::new();
        while n > 0 {
            digits.push(BASE62[(n % 62) as usize]);
            n /= 62;
        }
        while digits.len() < 6 {
            digits.push(b'0');
        }
        digits.reverse();
        assert_eq!(checksum(&body).as_slice(), digits.as_slice());
        // Known value: zlib.crc32(b"123456789") == 0xCBF43926.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn known_key_from_python_zlib_parses() {
        // Built with Python: zlib.crc32(b"kw_live_7Hq2" + b"a" * 26) in base62.
        let k = "kw_live_7Hq2aaaaaaaaaaaaaaaaaaaaaaaaaa0DHnDK";
        let p = parse(k).unwrap();
        assert_eq!(p.display_prefix(), "kw_live_7Hq2");
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let k = generate(KeyEnv::Live);
        let bytes = k.as_bytes();
        for i in 8..k.len() {
            let mut b = bytes.to_vec();
            b[i] = if b[i] == b'a' { b'b' } else { b'a' };
            let t = String::from_utf8(b).unwrap();
            assert_eq!(parse(&t), Err(KeyTextProblem::BadChecksum), "typo at {i}");
        }
    }

    #[test]
    fn malformed_texts_are_named() {
        assert_eq!(parse("sk-abc"), Err(KeyTextProblem::UnknownPrefix));
        let k = generate(KeyEnv::Live);
        assert_eq!(parse(&k[..40]), Err(KeyTextProblem::WrongLength { found: 40 }));
        let bad = format!("{}!{}", &k[..10], &k[11..]);
        assert_eq!(parse(&bad), Err(KeyTextProblem::BadCharacter { position: 10 }));
    }

    #[test]
    fn digest_depends_on_secret_and_compares_equal() {
        let k = generate(KeyEnv::Test);
        let a = KeyHasher::new(b"one").digest(&k);
        let b = KeyHasher::new(b"two").digest(&k);
        assert!(!digests_equal(&a, &b));
        assert!(digests_equal(&a, &KeyHasher::new(b"one").digest(&k)));
    }
}
