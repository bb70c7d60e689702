//! `Signature-Input` and `Signature` (RFC 9421 section 4), read with an
//! RFC 8941 structured-field parser.

use super::component::Component;
use super::refusal::{Missing, SignatureMalformed, SignatureRefusal};
use sfv::{BareItem, Dictionary, InnerList, ListEntry, Parser};

/// The longest nonce accepted, bytes (bounds the nonce store's memory).
pub const MAX_NONCE_LEN: usize = 256;

/// One signature's covered components and parameters, as its
/// `Signature-Input` member declares them.
#[derive(Clone, Debug, PartialEq)]
pub struct SignatureInput {
    /// The label (`sig1`).
    pub label: String,
    /// The covered components, in order.
    pub components: Vec<Component>,
    /// `created`, Unix seconds.
    pub created: Option<u64>,
    /// `expires`, Unix seconds.
    pub expires: Option<u64>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `keyid`.
    pub keyid: Option<String>,
    /// `alg`.
    pub alg: Option<String>,
    /// The `@signature-params` value: the member re-serialized as RFC 8941
    /// serializes an inner list with its parameters.
    pub signature_params: String,
}

fn dictionary(headers: &http::HeaderMap, name: &'static str) -> Result<Dictionary, SignatureRefusal> {
    let malformed = |e: String| {
        SignatureRefusal::Malformed(if name == "signature-input" {
            SignatureMalformed::SignatureInput(e)
        } else {
            SignatureMalformed::Signature(e)
        })
    };
    let mut lines = Vec::new();
    for v in headers.get_all(name) {
        lines.push(v.to_str().map_err(|_| malformed("not visible ASCII".into()))?);
    }
    if lines.is_empty() {
        return Err(SignatureRefusal::HeadersMissing(Missing::Header(if name == "signature-input" {
            "Signature-Input"
        } else {
            "Signature"
        })));
    }
    Parser::new(&lines.join(", ")).parse::<Dictionary>().map_err(|e| malformed(e.to_string()))
}

fn integer(item: &BareItem, name: &'static str) -> Result<u64, SignatureRefusal> {
    item.as_integer()
        .and_then(|i| u64::try_from(i64::from(i)).ok())
        .ok_or(SignatureRefusal::Malformed(SignatureMalformed::ParameterType(name)))
}

fn string(item: &BareItem, name: &'static str) -> Result<String, SignatureRefusal> {
    item.as_string().map(|s| s.as_str().to_owned()).ok_or(SignatureRefusal::Malformed(SignatureMalformed::ParameterType(name)))
}

impl SignatureInput {
    /// Reads the first signature of `Signature-Input` that `Signature`
    /// also carries, and its signature bytes.
    pub fn from_headers(headers: &http::HeaderMap) -> Result<(SignatureInput, Vec<u8>), SignatureRefusal> {
        let inputs = dictionary(headers, "signature-input")?;
        let signatures = dictionary(headers, "signature")?;
        let Some((label, entry)) = inputs.iter().find(|(label, _)| signatures.contains_key(*label)).or(inputs.first()) else {
            return Err(SignatureRefusal::Malformed(SignatureMalformed::SignatureInput("no member".into())));
        };
        let ListEntry::InnerList(list) = entry else {
            return Err(SignatureRefusal::Malformed(SignatureMalformed::SignatureInput(format!("{label} is not an inner list"))));
        };
        let signature = match signatures.get(label) {
            None => return Err(SignatureRefusal::HeadersMissing(Missing::Label(label.as_str().to_owned()))),
            Some(ListEntry::Item(item)) => item.bare_item.as_byte_sequence().map(<[u8]>::to_vec),
            Some(ListEntry::InnerList(_)) => None,
        };
        let signature = signature.ok_or_else(|| {
            SignatureRefusal::Malformed(SignatureMalformed::Signature(format!("{label} is not a byte sequence")))
        })?;
        Ok((SignatureInput::from_inner_list(label.as_str(), list)?, signature))
    }

    /// Reads one `Signature-Input` member.
    pub fn from_inner_list(label: &str, list: &InnerList) -> Result<SignatureInput, SignatureRefusal> {
        let mut components: Vec<Component> = Vec::with_capacity(list.items.len());
        for item in &list.items {
            let name = item.bare_item.as_string().ok_or(SignatureRefusal::Malformed(SignatureMalformed::ComponentNotString))?;
            if let Some((param, _)) = item.params.first() {
                return Err(SignatureRefusal::Malformed(SignatureMalformed::UnsupportedComponent(format!(
                    "\"{}\";{}",
                    name.as_str(),
                    param.as_str()
                ))));
            }
            let component = Component::from_name(name.as_str())?;
            if components.contains(&component) {
                return Err(SignatureRefusal::Malformed(SignatureMalformed::DuplicateComponent(name.as_str().to_owned())));
            }
            components.push(component);
        }
        let mut input = SignatureInput {
            label: label.to_owned(),
            components,
            created: None,
            expires: None,
            nonce: None,
            keyid: None,
            alg: None,
            signature_params: serialize(list),
        };
        for (key, value) in &list.params {
            match key.as_str() {
                "created" => input.created = Some(integer(value, "created")?),
                "expires" => input.expires = Some(integer(value, "expires")?),
                "nonce" => input.nonce = Some(string(value, "nonce")?),
                "keyid" => input.keyid = Some(string(value, "keyid")?),
                "alg" => input.alg = Some(string(value, "alg")?),
                _ => {}
            }
        }
        if input.nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_LEN) {
            return Err(SignatureRefusal::Malformed(SignatureMalformed::NonceTooLong { limit: MAX_NONCE_LEN }));
        }
        Ok(input)
    }

    /// Whether the signature covers `component`.
    pub fn covers(&self, component: &Component) -> bool {
        self.components.contains(component)
    }
}

fn serialize(list: &InnerList) -> String {
    let mut out = sfv::ListSerializer::new();
    {
        let mut inner = out.inner_list();
        inner.items(&list.items);
        let _ = inner.finish().parameters(&list.params);
    }
    out.finish().unwrap_or_default()
}
