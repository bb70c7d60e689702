//! The signature base (RFC 9421 section 2.5): one line per covered
//! component, `"name": value`, then the `@signature-params` line.

use super::input::SignatureInput;
use super::refusal::SignatureRefusal;
use super::request::SignedRequest;

/// The signature base of `input` over `request`, exactly as RFC 9421
/// section 2.5 builds it (lines joined by `\n`, no trailing newline).
/// It depends on the request alone, never on a key.
pub fn signature_base(request: &SignedRequest<'_>, input: &SignatureInput) -> Result<String, SignatureRefusal> {
    let mut base = String::with_capacity(64 * (input.components.len() + 1));
    for component in &input.components {
        base.push('"');
        base.push_str(component.name());
        base.push_str("\": ");
        component.write_value(request, &mut base)?;
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&input.signature_params);
    Ok(base)
}
