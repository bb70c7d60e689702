//! Admin tokens by digest.

use crate::fixtures::*;
use keyway_core::ids::AdminTokenId;
use keyway_store::{AdminToken, Store, StoreError};

#[tokio::test]
async fn tokens_are_found_by_digest_and_counted() {
    let s = store();
    assert_eq!(s.admin_token_count().await.unwrap(), 0);
    let t = AdminToken { id: AdminTokenId::generate(), name: "root".into(), digest: digest(), created_at: at(0) };
    s.insert_admin_token(&t).await.unwrap();
    assert_eq!(s.admin_token_by_digest(&t.digest).await.unwrap(), Some(t.clone()));
    assert_eq!(s.admin_token_by_digest(&digest()).await.unwrap(), None);
    assert_eq!(s.admin_token_count().await.unwrap(), 1);

    let twin = AdminToken { id: AdminTokenId::generate(), ..t.clone() };
    let err = s.insert_admin_token(&twin).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("digest")), "{err}");
    let same_id = AdminToken { digest: digest(), ..t };
    let err = s.insert_admin_token(&same_id).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("id")), "{err}");
    assert_eq!(s.admin_token_count().await.unwrap(), 1);
}
