//! The policy of `admin-api.md` over RFC 9421 HMAC signatures, checked
//! in the order the disclosure rule asks: what the request lacks, then
//! the HMAC, and only then the time window, the body digest and the
//! nonce.

use super::base::signature_base;
use super::component::Component;
use super::digest;
use super::hmac_key::{HmacKey, HmacKeys};
use super::input::SignatureInput;
use super::nonce::{NonceStore, NonceStoreError};
use super::refusal::{InvalidCause, Missing, SignatureMalformed, SignatureRefusal, Skew, TimeParameter};
use super::request::SignedRequest;
use crate::Code;
use std::sync::LazyLock;

/// The default `created` window, seconds.
pub const DEFAULT_WINDOW_SECONDS: u64 = 300;

/// Verifies HMAC-signed requests for one API (its `hmac.window_seconds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureVerifier {
    window: u64,
}

impl Default for SignatureVerifier {
    fn default() -> Self {
        SignatureVerifier { window: DEFAULT_WINDOW_SECONDS }
    }
}

/// A request whose signature verified and whose nonce was new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The HMAC key's id (`hk_...`): names the app.
    pub key_id: String,
    /// The signature's label.
    pub label: String,
    /// `created`, Unix seconds.
    pub created: u64,
    /// The nonce.
    pub nonce: String,
    /// The covered components' names.
    pub covered: Vec<String>,
}

/// Why [`SignatureVerifier::verify`] did not verify a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The request is refused.
    Refused(SignatureRefusal),
    /// The nonce store could not answer: no verdict (an internal error,
    /// not the caller's fault).
    NonceStore(NonceStoreError),
}

impl VerifyError {
    /// The refusal's code, or `None` for a store failure.
    pub fn code(&self) -> Option<Code> {
        match self {
            VerifyError::Refused(r) => Some(r.code()),
            VerifyError::NonceStore(_) => None,
        }
    }
}

impl From<SignatureRefusal> for VerifyError {
    fn from(r: SignatureRefusal) -> Self {
        VerifyError::Refused(r)
    }
}

/// Keyed with no real key: an unknown `keyid` costs the same HMAC.
static NO_KEY: LazyLock<HmacKey> = LazyLock::new(|| HmacKey::from_bytes(&[0u8; 32]));

impl SignatureVerifier {
    /// A verifier whose `created` window is `window_seconds` either side
    /// of server time.
    pub fn new(window_seconds: u64) -> Self {
        SignatureVerifier { window: window_seconds }
    }

    /// The window, seconds.
    pub fn window(&self) -> u64 {
        self.window
    }

    /// Every check but the nonce, at `now` (Unix seconds): for
    /// `keyway diagnose`, which must not spend a nonce. The gateway calls
    /// [`SignatureVerifier::verify`].
    pub fn check_without_nonce<K: HmacKeys + ?Sized>(
        &self,
        request: &SignedRequest<'_>,
        keys: &K,
        now: u64,
    ) -> Result<Verified, SignatureRefusal> {
        let (input, signature) = SignatureInput::from_headers(request.headers)?;
        if let Some(alg) = input.alg.as_deref().filter(|a| *a != "hmac-sha256") {
            return Err(SignatureRefusal::Malformed(SignatureMalformed::Algorithm(alg.to_owned())));
        }
        let created = input.created.ok_or(SignatureRefusal::HeadersMissing(Missing::Parameter("created")))?;
        let nonce = input.nonce.clone().ok_or(SignatureRefusal::HeadersMissing(Missing::Parameter("nonce")))?;
        let key_id = input.keyid.clone().ok_or(SignatureRefusal::HeadersMissing(Missing::Parameter("keyid")))?;
        let mut required = vec![("@method", Component::Method), ("@authority", Component::Authority), ("@path", Component::Path)];
        if request.has_query() {
            required.push(("@query", Component::Query));
        }
        if request.has_body() {
            required.push(("content-digest", Component::Field("content-digest".into())));
        }
        if let Some((name, _)) = required.iter().find(|(_, c)| !input.covers(c)) {
            return Err(SignatureRefusal::HeadersMissing(Missing::Component(name)));
        }
        let base = signature_base(request, &input)?;
        let declared_digests = match input.covers(&Component::Field("content-digest".into())) {
            true => Some(digest::declared(request.headers)?),
            false => None,
        };
        // The same HMAC work whether or not the key exists.
        let (key, known) = match keys.hmac_key(&key_id) {
            Some(k) => (k, true),
            None => (&*NO_KEY, false),
        };
        let matches = key.verify(base.as_bytes(), &signature);
        if !known {
            return Err(SignatureRefusal::invalid(base, InvalidCause::UnknownKey));
        }
        if !matches {
            return Err(SignatureRefusal::invalid(base, InvalidCause::Mismatch));
        }
        // The caller has proven it holds the key: details from here on.
        self.check_times(created, input.expires, now)?;
        if let Some((algorithm, computed)) = declared_digests.and_then(|d| digest::mismatch(&d, request.body)) {
            return Err(SignatureRefusal::invalid(base, InvalidCause::BodyDigestMismatch { algorithm, computed }));
        }
        Ok(Verified {
            key_id,
            label: input.label,
            created,
            nonce,
            covered: input.components.iter().map(|c| c.name().to_owned()).collect(),
        })
    }

    fn check_times(&self, created: u64, expires: Option<u64>, now: u64) -> Result<(), SignatureRefusal> {
        let skew = |parameter, at: u64| Skew { parameter, at, now, window: self.window, skew: now as i64 - at as i64 };
        if created.abs_diff(now) > self.window {
            return Err(SignatureRefusal::TimestampSkewed(skew(TimeParameter::Created, created)));
        }
        match expires {
            Some(at) if at < now => Err(SignatureRefusal::TimestampSkewed(skew(TimeParameter::Expires, at))),
            _ => Ok(()),
        }
    }

    /// Verifies `request` at `now` with `keys`, then records its nonce in
    /// `nonces`, refusing one seen inside the window.
    pub async fn verify<K: HmacKeys + ?Sized, N: NonceStore + ?Sized>(
        &self,
        request: &SignedRequest<'_>,
        keys: &K,
        nonces: &N,
        now: u64,
    ) -> Result<Verified, VerifyError> {
        let verified = self.check_without_nonce(request, keys, now)?;
        let until = verified.created.saturating_add(self.window);
        match nonces.insert_if_new(&verified.key_id, &verified.nonce, now, until).await {
            Ok(true) => Ok(verified),
            Ok(false) => Err(VerifyError::Refused(SignatureRefusal::Replayed { nonce: verified.nonce, window: self.window })),
            Err(e) => Err(VerifyError::NonceStore(e)),
        }
    }
}
