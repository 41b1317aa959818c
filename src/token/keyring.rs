//! [`KeyRing`]: the loaded keys a service signs and verifies with (built
//! from the stored ring by [`super::RingDocument::open`]), and the keys
//! directory format of earlier versions.
//!
//! That directory holds `keyring.json`, which lists every key (`kid`,
//! algorithm, creation time) and names the active one, and each key's
//! private material in `<kid>.key`, mode 0600. The service reads it only
//! once, to import it into the store; the writers stay for tools and tests
//! that need such a directory. Several keys may verify; exactly one signs.
//! A `KeyRing` is read-only; changing it means building a new one.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{KeyAlgorithm, KeyError, KeyMaterial};
use super::{KeySet, VerifyingKey};
use tessera_verify::ParseError;

const MANIFEST: &str = "keyring.json";

/// A key id: 1..=64 of `[A-Za-z0-9_-]`, so it is always a safe file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Kid(String);

tessera_verify::validated_string!(Kid, ParseError);

impl Kid {
    /// Validates a key id.
    pub fn parse(value: impl Into<String>) -> Result<Self, ParseError> {
        let value = value.into();
        if tessera_verify::is_id_text(&value, 1..=64) {
            Ok(Self(value))
        } else {
            Err(ParseError::new(
                "key id",
                "a kid is 1 to 64 characters of A-Z a-z 0-9 - _",
            ))
        }
    }

    /// A fresh id such as `eddsa-20261129-3f9a0c1e`.
    pub(crate) fn generate(algorithm: KeyAlgorithm, now: DateTime<Utc>) -> Result<Self, KeyError> {
        let mut random = [0u8; 4];
        aws_lc_rs::rand::fill(&mut random)
            .map_err(|_| KeyError::Generation("random generator failed".into()))?;
        let suffix = hex::encode(random);
        let alg = algorithm.as_str().to_ascii_lowercase();
        Self::parse(format!("{alg}-{}-{suffix}", now.format("%Y%m%d")))
            .map_err(|err| KeyError::Generation(err.reason))
    }
}

/// What the manifest says about one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Key id, sent in the token header.
    pub kid: Kid,
    /// The key's one algorithm.
    pub alg: KeyAlgorithm,
    /// When the key was generated.
    pub created_at: DateTime<Utc>,
    /// When the key was retired; a retired key no longer verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
}

/// What a key is used for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens (and verifies).
    Active,
    /// Verifies tokens signed earlier.
    Verifying,
    /// Verifies nothing any more.
    Retired,
}

impl KeyStatus {
    /// The status as shown by `tessera keys list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Verifying => "verifying",
            Self::Retired => "retired",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    active: Kid,
    keys: Vec<KeyInfo>,
}

/// A key's facts and its key file's text (`None` for a retired key).
pub type KeyPart = (KeyInfo, Option<String>);

/// One loaded key.
struct Entry {
    info: KeyInfo,
    material: KeyMaterial,
}

/// The loaded keys: every key that may verify, and the one that signs.
pub struct KeyRing {
    active: Arc<Entry>,
    /// The encoded JWS header of the active key, computed once.
    active_header: String,
    keys: HashMap<Kid, Arc<Entry>>,
    /// Every key of the manifest, retired ones included.
    infos: Vec<KeyInfo>,
    /// The verifying keys, built once.
    keyset: Arc<KeySet>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active.info.kid)
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyRing {
    /// Loads the keyring of `dir`; with no manifest there, first generates
    /// an EdDSA key. Returns the keyring and the id of a key it generated.
    pub fn load_or_init(dir: &Path, now: DateTime<Utc>) -> Result<(Self, Option<Kid>), KeyError> {
        if Self::has_manifest(dir) {
            return Ok((Self::load(dir)?, None));
        }
        let info = Self::generate(dir, KeyAlgorithm::EdDSA, now)?;
        Ok((Self::load(dir)?, Some(info.kid)))
    }

    /// Whether `dir` holds a keys manifest (`keyring.json`).
    pub fn has_manifest(dir: &Path) -> bool {
        manifest_path(dir).exists()
    }

    /// Loads the keyring of `dir`, checking every key file.
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let (active, keys) = Self::read_dir(dir)?;
        Self::from_parts(keys, &active, |reason| KeyError::Manifest {
            path: manifest_path(dir),
            reason,
        })
    }

    /// The manifest of `dir` and each key with its file's text (`None` for
    /// retired keys, whose files are not read).
    pub fn read_dir(dir: &Path) -> Result<(Kid, Vec<KeyPart>), KeyError> {
        let manifest = read_manifest(dir)?.ok_or_else(|| KeyError::Manifest {
            path: manifest_path(dir),
            reason: "missing: run `tessera keys generate` or start the server once".into(),
        })?;
        let mut keys = Vec::with_capacity(manifest.keys.len());
        for info in manifest.keys {
            let text = match info.retired_at {
                Some(_) => None,
                None => {
                    let path = key_path(dir, &info.kid);
                    Some(
                        fs::read_to_string(&path)
                            .map_err(|source| KeyError::Io { path, source })?,
                    )
                }
            };
            keys.push((info, text));
        }
        Ok((manifest.active, keys))
    }

    /// A keyring from its keys (each with its key file's text; `None` only
    /// for retired keys) and the id of the active one. `invalid` words a
    /// problem of the list itself for where it came from.
    pub fn from_parts(
        parts: Vec<KeyPart>,
        active: &Kid,
        invalid: impl Fn(String) -> KeyError,
    ) -> Result<Self, KeyError> {
        let mut keys = HashMap::new();
        let mut infos = Vec::with_capacity(parts.len());
        for (info, text) in parts {
            infos.push(info.clone());
            if info.retired_at.is_some() {
                continue;
            }
            let text = text.ok_or_else(|| invalid(format!("key {} has no material", info.kid)))?;
            let material = KeyMaterial::load(info.alg, &text).map_err(|err| KeyError::Invalid {
                kid: info.kid.to_string(),
                reason: err.reason,
            })?;
            let entry = Arc::new(Entry { info, material });
            if keys.insert(entry.info.kid.clone(), entry).is_some() {
                return Err(invalid("a kid is listed twice".into()));
            }
        }
        let active = keys.get(active).cloned().ok_or_else(|| {
            invalid(format!(
                "the active key {active} is not listed or is retired"
            ))
        })?;
        let header = serde_json::json!({
            "typ": "JWT",
            "alg": active.info.alg.as_str(),
            "kid": active.info.kid.as_str(),
        });
        let keyset = Arc::new(KeySet::new(keys.values().map(|entry| VerifyingKey {
            kid: entry.info.kid.to_string(),
            alg: entry.info.alg,
            decoding: entry.material.decoding.clone(),
            public_jwk: entry.material.public_jwk.clone(),
        })));
        Ok(Self {
            active_header: URL_SAFE_NO_PAD.encode(header.to_string()),
            active,
            keys,
            infos,
            keyset,
        })
    }

    /// Generates a key of `algorithm` in `dir` and makes it the active one;
    /// the keys already there keep verifying.
    pub fn generate(
        dir: &Path,
        algorithm: KeyAlgorithm,
        now: DateTime<Utc>,
    ) -> Result<KeyInfo, KeyError> {
        create_private_dir(dir)?;
        let mut keys = read_manifest(dir)?.map(|m| m.keys).unwrap_or_default();
        let kid = Kid::generate(algorithm, now)?;
        let file = KeyMaterial::generate(algorithm)?;
        write_private_file(&key_path(dir, &kid), file.as_bytes())?;
        let info = KeyInfo {
            kid: kid.clone(),
            alg: algorithm,
            created_at: now,
            retired_at: None,
        };
        keys.push(info.clone());
        write_manifest(dir, &Manifest { active: kid, keys })?;
        Ok(info)
    }

    /// A new active key of the active key's algorithm; the others keep
    /// verifying.
    pub fn rotate(dir: &Path, now: DateTime<Utc>) -> Result<KeyInfo, KeyError> {
        let current = Self::load(dir)?;
        Self::generate(dir, current.active().0.alg, now)
    }

    /// Retires `kid`: it stops verifying. The active key cannot be retired.
    pub fn retire(dir: &Path, kid: &str, now: DateTime<Utc>) -> Result<KeyInfo, KeyError> {
        let path = manifest_path(dir);
        let invalid = |reason: String| KeyError::Manifest {
            path: path.clone(),
            reason,
        };
        let mut manifest = read_manifest(dir)?.ok_or_else(|| invalid("missing".into()))?;
        if manifest.active.as_str() == kid {
            return Err(invalid(format!(
                "{kid} is the active key: rotate first, then retire it once its tokens have expired"
            )));
        }
        let info = manifest
            .keys
            .iter_mut()
            .find(|info| info.kid.as_str() == kid)
            .ok_or_else(|| invalid(format!("no key {kid}")))?;
        if info.retired_at.is_none() {
            info.retired_at = Some(now);
        }
        let retired = info.clone();
        write_manifest(dir, &manifest)?;
        Ok(retired)
    }

    /// The verifying keys (every key that is not retired).
    pub fn keyset(&self) -> &KeySet {
        &self.keyset
    }

    /// The verifying keys, shared.
    pub fn shared_keyset(&self) -> Arc<KeySet> {
        self.keyset.clone()
    }

    /// Every key of the manifest with its status, oldest first.
    pub fn statuses(&self) -> Vec<(&KeyInfo, KeyStatus)> {
        let mut all: Vec<_> = self
            .infos
            .iter()
            .map(|info| {
                let status = if info.retired_at.is_some() {
                    KeyStatus::Retired
                } else if info.kid == self.active.info.kid {
                    KeyStatus::Active
                } else {
                    KeyStatus::Verifying
                };
                (info, status)
            })
            .collect();
        all.sort_by_key(|(info, _)| (info.created_at, info.kid.clone()));
        all
    }

    /// The signing key.
    pub fn active(&self) -> (&KeyInfo, &KeyMaterial) {
        (&self.active.info, &self.active.material)
    }

    /// The base64url JWS header of tokens the active key signs.
    pub fn active_header(&self) -> &str {
        &self.active_header
    }

    /// A verifying key by id.
    pub fn get(&self, kid: &Kid) -> Option<(&KeyInfo, &KeyMaterial)> {
        self.keys
            .get(kid)
            .map(|entry| (&entry.info, &entry.material))
    }
}

fn manifest_path(dir: &Path) -> PathBuf {
    dir.join(MANIFEST)
}

fn key_path(dir: &Path, kid: &Kid) -> PathBuf {
    dir.join(format!("{kid}.key"))
}

fn read_manifest(dir: &Path) -> Result<Option<Manifest>, KeyError> {
    let path = manifest_path(dir);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(KeyError::Io { path, source }),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|err| KeyError::Manifest {
            path,
            reason: err.to_string(),
        })
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), KeyError> {
    let path = manifest_path(dir);
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyError::Io { path, source }
    };
    let text = serde_json::to_string_pretty(manifest).map_err(|err| KeyError::Manifest {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    crate::private_fs::restrict_file(&tmp).map_err(io(&tmp))?;
    file.write_all(text.as_bytes()).map_err(io(&tmp))?;
    file.write_all(b"\n").map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, &path).map_err(io(&path))
}

fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: dir.to_path_buf(),
        source,
    };
    crate::private_fs::create_dir(dir).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn first_load_generates_an_eddsa_key_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let (ring, created) = KeyRing::load_or_init(dir.path(), Utc::now()).unwrap();
        let kid = created.unwrap();
        let (info, _) = ring.active();
        assert_eq!(info.kid, kid);
        assert_eq!(info.alg, KeyAlgorithm::EdDSA);
        let mode = fs::metadata(key_path(dir.path(), &kid))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let (again, created) = KeyRing::load_or_init(dir.path(), Utc::now()).unwrap();
        assert_eq!(created, None);
        assert_eq!(again.active().0.kid, kid);
    }

    #[test]
    fn generate_activates_the_new_key_and_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let (_, first) = KeyRing::load_or_init(dir.path(), Utc::now()).unwrap();
        let second = KeyRing::generate(dir.path(), KeyAlgorithm::ES256, Utc::now()).unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        assert_eq!(ring.active().0.kid, second.kid);
        assert_eq!(ring.active().0.alg, KeyAlgorithm::ES256);
        assert!(ring.get(&first.unwrap()).is_some());
        assert_eq!(ring.statuses().len(), 2);
    }

    #[test]
    fn jwks_round_trips_and_never_shows_private_or_hmac_material() {
        let dir = tempfile::tempdir().unwrap();
        let now = chrono::Utc::now();
        for alg in KeyAlgorithm::ALL {
            KeyRing::generate(dir.path(), alg, now).unwrap();
        }
        let ring = KeyRing::load(dir.path()).unwrap();
        let local = ring.keyset().clone();
        assert_eq!(local.len(), 4);
        let document = local.jwks();
        let keys = document["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 3, "the HMAC key is not published");
        for key in keys {
            assert_eq!(key["use"], "sig");
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(key.get(private).is_none(), "{private} published");
            }
        }
        let parsed = crate::token::KeySet::from_jwks(&document).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed.jwks(), document);
    }

    #[test]
    fn kids_are_safe_file_names() {
        assert!(Kid::parse("../../dev/null").is_err());
        assert!(Kid::parse("' OR 1=1--").is_err());
        assert!(Kid::parse("x".repeat(65)).is_err());
        assert!(Kid::parse("eddsa-20261129-0a1b2c3d").is_ok());
    }

    #[test]
    fn a_damaged_keyring_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MANIFEST), "{not json").unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("invalid key manifest"), "{err}");
    }
}
