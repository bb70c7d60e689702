//! The crate's codes are the catalog's: each parses as a code of
//! `keyway-core`, in the credential or key stage, with the same
//! disclosure flag; and every token and signature code of stage 3 is one
//! of them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

use keyway_core::codes::Stage;
use keyway_core::ErrorCode;
use keyway_credentials::Code;

#[test]
fn every_code_is_a_catalog_code_with_the_same_disclosure() {
    for code in Code::ALL {
        let core = ErrorCode::parse(code.as_str()).unwrap_or_else(|| panic!("{code} is not in the catalog"));
        assert!(matches!(core.stage(), Stage::Credential | Stage::Key), "{code}");
        assert_eq!(core.caller_proven(), code.caller_proven(), "{code}");
        assert_eq!(core.status(), 401, "{code}");
    }
}

#[test]
fn every_token_and_signature_code_of_stage_3_is_covered() {
    let ours: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    for core in ErrorCode::ALL.iter().filter(|c| c.stage() == Stage::Key) {
        let name = core.as_str();
        let ours_to_cover = name.starts_with("token_") || name.starts_with("signature_") || name == "request_timestamp_skewed";
        assert_eq!(ours.contains(&name), ours_to_cover, "{name}");
    }
}
