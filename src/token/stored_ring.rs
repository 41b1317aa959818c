//! The key ring as a store keeps it: one JSON document with a version, the
//! active `kid`, and every key's public facts with its private part sealed
//! under the KEK ([`super::sealing`]). Retired keys keep their facts but
//! lose their material. The store only compares and swaps the text.
//!
//! [`RingDocument::open`] turns a document into a [`KeyRing`], failing on
//! the first key the KEK cannot open, named by its `kid`.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Kek, KeyAlgorithm, KeyError, KeyInfo, KeyMaterial, KeyRing, Kid, SealError};

/// One key in the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedKey {
    /// Key id.
    pub kid: Kid,
    /// Its one algorithm.
    pub alg: KeyAlgorithm,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last became the active key, if it ever did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<DateTime<Utc>>,
    /// When it last stopped signing (another key became active), if it
    /// did; its tokens expire at most the longest token lifetime later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// When it was retired, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
    /// The key file's text sealed under the KEK; absent once retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

/// The stored key ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingDocument {
    /// Increases with every change; instances poll it.
    pub version: u64,
    /// The key that signs.
    pub active: Kid,
    /// Every key, retired ones included.
    pub keys: Vec<SealedKey>,
}

/// Where a key stands in its life: published (in the JWKS, verifies, does
/// not sign) → active (signs; one at a time) → retired (gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Verifies and is published, does not sign.
    Published,
    /// Signs.
    Active,
    /// Neither verifies nor is published.
    Retired,
}

impl KeyState {
    /// The state as the API and CLI show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

/// Why a change to the ring is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingChangeError {
    /// No key with this id.
    #[error("no key {0}")]
    UnknownKid(String),
    /// The change contradicts the key's state (retiring the active key,
    /// activating a retired one).
    #[error("{0}")]
    Conflict(String),
}

/// The most keys that verify (published or active) one ring holds.
pub const MAX_LIVE_KEYS: usize = 32;
/// The most retired keys whose facts a ring remembers.
pub const MAX_RETIRED_KEPT: usize = 64;

/// Why a stored ring cannot be used or changed.
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    /// The change contradicts the ring.
    #[error(transparent)]
    Change(#[from] RingChangeError),
    /// A key does not open with this KEK.
    #[error(transparent)]
    Sealed(#[from] SealError),
    /// The document or a key in it is not usable.
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl RingDocument {
    /// A first ring: one active key of `alg`.
    pub fn generate(alg: KeyAlgorithm, now: DateTime<Utc>, kek: &Kek) -> Result<Self, RingError> {
        let mut key = new_key(alg, now, kek)?;
        key.activated_at = Some(now);
        Ok(Self {
            version: 1,
            active: key.kid.clone(),
            keys: vec![key],
        })
    }

    /// The key that signs.
    pub fn active_key(&self) -> Option<&SealedKey> {
        self.keys.iter().find(|key| key.kid == self.active)
    }

    /// The state of `key` in this ring.
    pub fn state(&self, key: &SealedKey) -> KeyState {
        if key.retired_at.is_some() {
            KeyState::Retired
        } else if key.kid == self.active {
            KeyState::Active
        } else {
            KeyState::Published
        }
    }

    fn find_mut(&mut self, kid: &str) -> Result<&mut SealedKey, RingChangeError> {
        self.keys
            .iter_mut()
            .find(|key| key.kid.as_str() == kid)
            .ok_or_else(|| RingChangeError::UnknownKid(kid.to_owned()))
    }

    /// Adds a new key of `alg`, published; active at once with `activate`.
    /// Returns its id. The version moves on.
    pub fn add(
        &mut self,
        alg: KeyAlgorithm,
        activate: bool,
        now: DateTime<Utc>,
        kek: &Kek,
    ) -> Result<Kid, RingError> {
        let live = self
            .keys
            .iter()
            .filter(|key| key.retired_at.is_none())
            .count();
        if live >= MAX_LIVE_KEYS {
            return Err(RingChangeError::Conflict(format!(
                "the ring already holds {live} keys that verify (at most {MAX_LIVE_KEYS}): retire some first"
            ))
            .into());
        }
        let key = new_key(alg, now, kek)?;
        let kid = key.kid.clone();
        self.keys.push(key);
        self.version += 1;
        if activate {
            self.switch_active(&kid, now);
        }
        Ok(kid)
    }

    /// Makes `kid` (a listed, unretired key) the active one, marking the
    /// former active key as deactivated now.
    fn switch_active(&mut self, kid: &Kid, now: DateTime<Utc>) {
        let former = self.active.clone();
        for key in &mut self.keys {
            if key.kid == former {
                key.deactivated_at = Some(now);
            }
            if &key.kid == kid {
                key.activated_at = Some(now);
                key.deactivated_at = None;
            }
        }
        self.active = kid.clone();
    }

    /// Makes a published key the one that signs; the former active key
    /// stays published (it still verifies what it signed).
    pub fn activate(&mut self, kid: &str, now: DateTime<Utc>) -> Result<(), RingChangeError> {
        let already = self.active.as_str() == kid;
        let key = self.find_mut(kid)?;
        if key.retired_at.is_some() {
            return Err(RingChangeError::Conflict(format!(
                "{kid} is retired and cannot sign again"
            )));
        }
        if !already {
            let kid = key.kid.clone();
            self.switch_active(&kid, now);
            self.version += 1;
        }
        Ok(())
    }

    /// Retires a key: it stops verifying and its private part is dropped.
    /// The active key cannot be retired.
    pub fn retire(&mut self, kid: &str, now: DateTime<Utc>) -> Result<(), RingChangeError> {
        if self.active.as_str() == kid {
            return Err(RingChangeError::Conflict(format!(
                "{kid} is the active key: activate another first"
            )));
        }
        let key = self.find_mut(kid)?;
        if key.retired_at.is_none() {
            key.retired_at = Some(now);
            key.sealed = None;
            self.version += 1;
            self.forget_oldest_retired();
        }
        Ok(())
    }

    /// Keeps the facts of the [`MAX_RETIRED_KEPT`] most recently retired
    /// keys, so the document stays small however long the service runs.
    fn forget_oldest_retired(&mut self) {
        let mut retired: Vec<(DateTime<Utc>, Kid)> = self
            .keys
            .iter()
            .filter_map(|key| key.retired_at.map(|at| (at, key.kid.clone())))
            .collect();
        let excess = retired.len().saturating_sub(MAX_RETIRED_KEPT);
        if excess == 0 {
            return;
        }
        retired.sort();
        let forgotten: Vec<Kid> = retired
            .into_iter()
            .take(excess)
            .map(|(_, kid)| kid)
            .collect();
        self.keys.retain(|key| !forgotten.contains(&key.kid));
    }

    /// Every key sealed again under `new`, after opening it with `old`.
    pub fn reseal(&mut self, old: &Kek, new: &Kek) -> Result<(), RingError> {
        for key in &mut self.keys {
            if let Some(sealed) = &key.sealed {
                let secret = old.open(key.kid.as_str(), key.alg, sealed)?;
                key.sealed = Some(new.seal(key.kid.as_str(), key.alg, &secret)?);
            }
        }
        self.version += 1;
        Ok(())
    }

    /// The ring of a keys directory (`keyring.json` and `*.key`), sealed:
    /// the same `kid`s, the same active key. A directory key became active
    /// when it was generated and stopped signing when the next one was, so
    /// those are its activation and deactivation times.
    pub fn from_dir(dir: &Path, kek: &Kek) -> Result<Self, RingError> {
        let (active, mut keys) = KeyRing::read_dir(dir)?;
        keys.sort_by_key(|(info, _)| info.created_at);
        let next_created: Vec<Option<DateTime<Utc>>> = (0..keys.len())
            .map(|i| keys.get(i + 1).map(|(info, _)| info.created_at))
            .collect();
        let keys = keys
            .into_iter()
            .zip(next_created)
            .map(|((info, text), next_created)| {
                let sealed = text
                    .map(|text| kek.seal(info.kid.as_str(), info.alg, text.as_bytes()))
                    .transpose()?;
                let is_active = info.kid == active;
                Ok(SealedKey {
                    kid: info.kid,
                    alg: info.alg,
                    created_at: info.created_at,
                    activated_at: Some(info.created_at),
                    deactivated_at: if is_active { None } else { next_created },
                    retired_at: info.retired_at,
                    sealed,
                })
            })
            .collect::<Result<_, SealError>>()?;
        Ok(Self {
            version: 1,
            active,
            keys,
        })
    }

    /// The keyring, every non-retired key opened with `kek`.
    pub fn open(&self, kek: &Kek) -> Result<KeyRing, RingError> {
        let mut parts = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            let text = match (&key.retired_at, &key.sealed) {
                (Some(_), _) | (None, None) => None,
                (None, Some(sealed)) => {
                    let bytes = kek.open(key.kid.as_str(), key.alg, sealed)?;
                    Some(String::from_utf8(bytes).map_err(|_| SealError::Open {
                        kid: key.kid.to_string(),
                    })?)
                }
            };
            let info = KeyInfo {
                kid: key.kid.clone(),
                alg: key.alg,
                created_at: key.created_at,
                retired_at: key.retired_at,
            };
            parts.push((info, text));
        }
        Ok(KeyRing::from_parts(parts, &self.active, |reason| {
            KeyError::Invalid {
                kid: self.active.to_string(),
                reason: format!("the stored key ring: {reason}"),
            }
        })?)
    }

    /// The document as stored.
    pub fn to_json(&self) -> Result<String, KeyError> {
        serde_json::to_string(self).map_err(|err| KeyError::Generation(err.to_string()))
    }

    /// A stored document.
    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        serde_json::from_str(text).map_err(|err| KeyError::Invalid {
            kid: "-".into(),
            reason: format!("the stored key ring is not valid: {err}"),
        })
    }
}

/// A fresh key of `alg`, sealed, not yet active.
fn new_key(alg: KeyAlgorithm, now: DateTime<Utc>, kek: &Kek) -> Result<SealedKey, RingError> {
    let kid = Kid::generate(alg, now)?;
    let text = KeyMaterial::generate(alg)?;
    Ok(SealedKey {
        sealed: Some(kek.seal(kid.as_str(), alg, text.as_bytes())?),
        kid,
        alg,
        created_at: now,
        activated_at: None,
        deactivated_at: None,
        retired_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_rotation_publishes_activates_and_retires() {
        let (old, new) = (kek(1), kek(2));
        let t0 = Utc::now();
        let mut doc = RingDocument::generate(KeyAlgorithm::EdDSA, t0, &old)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let first = doc.active.clone();
        let v1 = doc.version;
        let second = doc
            .add(KeyAlgorithm::ES256, false, t0, &old)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(doc.version > v1);
        let states = |doc: &RingDocument| {
            doc.keys
                .iter()
                .map(|k| (k.kid.clone(), doc.state(k)))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            states(&doc),
            vec![
                (first.clone(), KeyState::Active),
                (second.clone(), KeyState::Published)
            ]
        );
        let ring = doc.open(&old).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(ring.active().0.kid, first, "a published key does not sign");
        assert!(
            ring.get(&second).is_some(),
            "it verifies and is in the JWKS"
        );

        assert_eq!(
            doc.retire(first.as_str(), t0),
            Err(RingChangeError::Conflict(format!(
                "{first} is the active key: activate another first"
            )))
        );
        assert_eq!(
            doc.activate("nope", t0),
            Err(RingChangeError::UnknownKid("nope".into()))
        );
        assert_eq!(doc.activate(second.as_str(), t0), Ok(()));
        assert_eq!(
            doc.keys[0].deactivated_at,
            Some(t0),
            "the former key stopped signing"
        );
        assert_eq!(doc.keys[1].activated_at, Some(t0));
        assert_eq!(doc.retire(first.as_str(), t0), Ok(()));
        assert_eq!(
            states(&doc),
            vec![
                (first.clone(), KeyState::Retired),
                (second.clone(), KeyState::Active)
            ]
        );
        assert!(
            doc.keys[0].sealed.is_none(),
            "a retired key's private part is dropped"
        );
        assert!(matches!(
            doc.activate(first.as_str(), t0),
            Err(RingChangeError::Conflict(_))
        ));

        doc.reseal(&old, &new)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(doc.open(&old).is_err());
        let ring = doc.open(&new).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(ring.active().0.kid, second);
        assert!(ring.get(&first).is_none());
    }

    #[test]
    fn a_ring_holds_a_bounded_number_of_keys() {
        let kek = kek(1);
        let t0 = Utc::now();
        let mut doc = RingDocument::generate(KeyAlgorithm::HS256, t0, &kek)
            .unwrap_or_else(|e| unreachable!("{e}"));
        for _ in 1..MAX_LIVE_KEYS {
            doc.add(KeyAlgorithm::HS256, false, t0, &kek)
                .unwrap_or_else(|e| unreachable!("{e}"));
        }
        assert!(matches!(
            doc.add(KeyAlgorithm::HS256, false, t0, &kek),
            Err(RingError::Change(RingChangeError::Conflict(_)))
        ));
        // Retiring makes room; only the latest retired keys are remembered.
        for round in 0..3 {
            let published: Vec<Kid> = doc
                .keys
                .iter()
                .filter(|key| doc.state(key) == KeyState::Published)
                .map(|key| key.kid.clone())
                .collect();
            for (n, kid) in published.iter().enumerate() {
                let at = t0 + chrono::Duration::seconds(round * 100 + n as i64);
                assert_eq!(doc.retire(kid.as_str(), at), Ok(()));
            }
            while doc.keys.iter().filter(|k| k.retired_at.is_none()).count() < MAX_LIVE_KEYS {
                doc.add(KeyAlgorithm::HS256, false, t0, &kek)
                    .unwrap_or_else(|e| unreachable!("{e}"));
            }
        }
        // 3 × 31 retired, 64 remembered: the first 29 retired are forgotten.
        let retired: Vec<_> = doc.keys.iter().filter_map(|k| k.retired_at).collect();
        assert_eq!(retired.len(), MAX_RETIRED_KEPT);
        let oldest_kept = retired.iter().min().copied();
        assert_eq!(
            oldest_kept,
            Some(t0 + chrono::Duration::seconds(29)),
            "the oldest retired were forgotten"
        );
    }

    fn kek(byte: u8) -> Kek {
        Kek::from_bytes(&[byte; super::super::KEK_BYTES]).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn a_generated_ring_round_trips_through_its_json_and_signs() {
        for alg in [
            KeyAlgorithm::EdDSA,
            KeyAlgorithm::ES256,
            KeyAlgorithm::RS256,
            KeyAlgorithm::HS256,
        ] {
            let doc = RingDocument::generate(alg, Utc::now(), &kek(1))
                .unwrap_or_else(|e| unreachable!("{e}"));
            let json = doc.to_json().unwrap_or_default();
            let back = RingDocument::from_json(&json).unwrap_or_else(|e| unreachable!("{e}"));
            assert_eq!(back, doc);
            let ring = back.open(&kek(1)).unwrap_or_else(|e| unreachable!("{e}"));
            assert_eq!(ring.active().0.kid, doc.active);
            assert!(ring.active().1.sign(b"message").is_ok());
            // The stored text holds no private key material in clear: no
            // 16-character run of the key file appears in it.
            let sealed = doc.keys[0].sealed.clone().unwrap_or_default();
            let secret = kek(1)
                .open(doc.active.as_str(), alg, &sealed)
                .map(|bytes| String::from_utf8(bytes).unwrap_or_default())
                .unwrap_or_default();
            assert!(secret.len() > 32, "{alg:?}");
            let body: String = secret.lines().filter(|l| !l.starts_with("-----")).collect();
            for start in (0..body.len().saturating_sub(16)).step_by(8) {
                assert!(
                    !json.contains(&body[start..start + 16]),
                    "{alg:?} leaks its key"
                );
            }
            assert!(!json.contains("PRIVATE KEY"), "{alg:?}");
        }
    }

    #[test]
    fn the_wrong_kek_names_the_first_kid_it_cannot_open() {
        let doc = RingDocument::generate(KeyAlgorithm::EdDSA, Utc::now(), &kek(1))
            .unwrap_or_else(|e| unreachable!("{e}"));
        match doc.open(&kek(2)) {
            Err(RingError::Sealed(SealError::Open { kid })) => {
                assert_eq!(kid, doc.active.to_string())
            }
            other => unreachable!("{other:?}"),
        }
    }

    #[test]
    fn a_keys_directory_migrates_with_its_kids_and_active_key() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let now = Utc::now();
        let first = KeyRing::generate(dir.path(), KeyAlgorithm::EdDSA, now)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let second = KeyRing::generate(dir.path(), KeyAlgorithm::ES256, now)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let third = KeyRing::generate(dir.path(), KeyAlgorithm::EdDSA, now)
            .unwrap_or_else(|e| unreachable!("{e}"));
        KeyRing::retire(dir.path(), first.kid.as_str(), now)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let on_disk = KeyRing::load(dir.path()).unwrap_or_else(|e| unreachable!("{e}"));

        let doc =
            RingDocument::from_dir(dir.path(), &kek(3)).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(doc.active, third.kid);
        let retired = doc.keys.iter().find(|k| k.kid == first.kid);
        assert!(retired.is_some_and(|k| k.sealed.is_none() && k.retired_at.is_some()));
        let ring = doc.open(&kek(3)).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(ring.active().0.kid, third.kid);
        assert!(
            ring.get(&second.kid).is_some(),
            "the older key keeps verifying"
        );
        assert!(ring.get(&first.kid).is_none(), "the retired key does not");
        assert_eq!(
            ring.keyset().jwks(),
            on_disk.keyset().jwks(),
            "the same published keys"
        );
    }
}
