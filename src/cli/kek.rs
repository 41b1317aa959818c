//! Finding the key-encryption key at start-up, and creating it only when
//! that cannot hide the wrong-KEK case.

use super::Failure;
use crate::config::KeyRingArgs;
use crate::store::GroupStore;
use crate::token::{Kek, RingDocument};

/// The KEK `ring` names. When none is given yet (no `TESSERA_KEK`, no
/// file), one is created, unless the store already holds a key ring: that
/// ring was sealed under another process's KEK, and a new one could never
/// open it (exit code 2, naming the active kid). A store that does not
/// answer cannot tell; the KEK is then created and a mismatch shows when
/// the ring is read.
pub async fn kek_or_first(ring: &KeyRingArgs, store: &dyn GroupStore) -> Result<Kek, Failure> {
    if ring.kek_given() {
        return Ok(ring.kek(false)?);
    }
    if let Ok(Some(text)) = store.key_ring().await {
        let kid = RingDocument::from_json(&text)
            .map(|doc| doc.active.to_string())
            .unwrap_or_else(|_| "-".to_owned());
        return Err(Failure::wrong_kek(format!(
            "no key-encryption key at {} and no TESSERA_KEK, but the store holds a key ring \
             (active key {kid}) sealed under one: give this process the KEK every other \
             instance uses (TESSERA_KEK, or --kek-file / TESSERA_KEK_FILE). Nothing was changed",
            ring.kek_path().display()
        )));
    }
    Ok(ring.kek(true)?)
}
