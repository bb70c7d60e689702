//! `touch_keys` only moves `last_used_at` forward.

use crate::fixtures::*;
use keyway_core::change::Record;
use keyway_core::ids::KeyId;
use keyway_store::Store;

#[tokio::test]
async fn last_used_never_moves_backwards() {
    let s = store();
    let w = world(&s, "acme").await;
    let k = bare_key(&w.app);
    let other = bare_key(&w.app);
    s.apply(&[insert(Record::Key(k.clone())), insert(Record::Key(other.clone()))], &[]).await.unwrap();
    let last_used = |id: KeyId| {
        let s = s.clone();
        async move { s.key(&id).await.unwrap().unwrap().last_used_at }
    };

    s.touch_keys(&[(k.id.clone(), at(2_000))]).await.unwrap();
    assert_eq!(last_used(k.id.clone()).await, Some(at(2_000)));
    // Older: ignored, even in the same batch as a newer one.
    s.touch_keys(&[(k.id.clone(), at(1_000)), (other.id.clone(), at(500))]).await.unwrap();
    assert_eq!(last_used(k.id.clone()).await, Some(at(2_000)));
    assert_eq!(last_used(other.id.clone()).await, Some(at(500)));
    // One nanosecond newer moves it.
    let later = at(2_000) + chrono::Duration::nanoseconds(1);
    s.touch_keys(&[(k.id.clone(), later), (k.id.clone(), at(1_500))]).await.unwrap();
    assert_eq!(last_used(k.id.clone()).await, Some(later));
    // Unknown ids are ignored.
    s.touch_keys(&[(KeyId::generate(), at(9_000))]).await.unwrap();
    s.touch_keys(&[]).await.unwrap();
}
