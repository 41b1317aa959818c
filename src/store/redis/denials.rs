//! The deny-list on Redis: one key per entry,
//! `{<group key>}:deny:<j:jti | s:sid>` (the layout is
//! `tessera_verify::stored::redis_denial_key`, shared with renderers),
//! expiring by itself (`PXAT`) once nothing it covers can be valid. The
//! hash tag puts a group's entries in its record's Cluster slot, so one
//! `MGET` reads the record and the token's `jti` and `sid` entries.

use chrono::{DateTime, Utc};
use tessera_verify::Claims;
use tessera_verify::feed::Denial;
use tessera_verify::stored::{redis_denial_key, redis_token_keys, token_values};

use super::{RedisStore, unavailable};
use crate::domain::GroupId;
use crate::store::{StoreError, TokenState};

impl RedisStore {
    pub(super) async fn put_denial(
        &self,
        id: &GroupId,
        denial: &Denial,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = redis_denial_key(&self.prefix, id, denial);
        let at = until.timestamp_millis().max(1);
        self.deadline(|mut conn| async move {
            // Never shortens an entry already there: set it if absent,
            // else push its expiry out to `at` if that is later.
            let (_, _): (Option<String>, u64) = redis::pipe()
                .cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("NX")
                .arg("PXAT")
                .arg(at)
                .cmd("PEXPIREAT")
                .arg(&key)
                .arg(at)
                .arg("GT")
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn read_token_state(&self, claims: &Claims) -> Result<TokenState, StoreError> {
        // One `MGET` of the record and the entries: all in one slot.
        let keys = redis_token_keys(&self.prefix, claims);
        self.deadline(|mut conn| async move {
            let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let (stored, denied) = token_values(values);
            Ok(TokenState { stored, denied })
        })
        .await
    }
}
