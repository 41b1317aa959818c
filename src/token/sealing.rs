//! Sealing private key material for the store: AES-256-GCM under a
//! key-encryption key (KEK), with a random 96-bit nonce per seal and the
//! key's `kid` and `alg` bound as associated data, so a sealed key moved to
//! another `kid` or algorithm does not open.
//!
//! The KEK is 32 bytes: `TESSERA_KEK` (base64url), or a file (`keys/kek` by
//! default) created with 32 random bytes, mode 0600, when absent. Every
//! instance sharing a store must share the KEK. A sealed value is
//! `base64url(nonce ‖ ciphertext ‖ tag)`; it holds no plaintext.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::KeyAlgorithm;

/// The length of a KEK in bytes.
pub const KEK_BYTES: usize = 32;
/// The length of a nonce in bytes (96 bits, as GCM wants).
const NONCE_BYTES: usize = 12;

/// Why a KEK could not be had, or a sealed key not opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The KEK is not 32 bytes of base64url, or its file cannot be used.
    #[error("{0}")]
    Kek(String),
    /// The sealed key does not open under this KEK for this `kid` and
    /// `alg` (another KEK, or the value was altered or moved).
    #[error(
        "key {kid}: it does not open with this KEK (another KEK, or the stored key was altered)"
    )]
    Open {
        /// The key that did not open.
        kid: String,
    },
    /// Sealing failed (the random generator).
    #[error("sealing failed")]
    Seal,
}

/// A key-encryption key. `Debug` never shows it.
pub struct Kek(RandomizedNonceKey);

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek([redacted])")
    }
}

impl Kek {
    /// A KEK from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != KEK_BYTES {
            return Err(SealError::Kek(format!(
                "a KEK is {KEK_BYTES} bytes, this one {}",
                bytes.len()
            )));
        }
        RandomizedNonceKey::new(&AES_256_GCM, bytes)
            .map(Self)
            .map_err(|_| SealError::Kek("the KEK is not a valid AES-256 key".into()))
    }

    /// A fresh random KEK.
    pub fn random() -> Result<Self, SealError> {
        Self::from_bytes(&random_bytes()?)
    }

    /// A KEK from base64url text (`TESSERA_KEK`).
    pub fn from_base64url(text: &str) -> Result<Self, SealError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| SealError::Kek("TESSERA_KEK is not base64url (no padding)".into()))?;
        Self::from_bytes(&bytes).map_err(|err| SealError::Kek(format!("TESSERA_KEK: {err}")))
    }

    /// The KEK of `TESSERA_KEK` when set (`env`), otherwise of `file`,
    /// which is created with 32 random bytes (mode 0600) when absent.
    pub fn load(env: Option<&str>, file: &Path) -> Result<Self, SealError> {
        Self::load_or(env, file, true)
    }

    /// [`Kek::load`], but an absent file is an error: for tools that must
    /// not invent a KEK the stored ring was never sealed with.
    pub fn load_existing(env: Option<&str>, file: &Path) -> Result<Self, SealError> {
        Self::load_or(env, file, false)
    }

    fn load_or(env: Option<&str>, file: &Path, create: bool) -> Result<Self, SealError> {
        if let Some(text) = env.filter(|text| !text.is_empty()) {
            return Self::from_base64url(text);
        }
        let shown = file.display();
        match std::fs::read(file) {
            Ok(bytes) => {
                Self::from_bytes(&bytes).map_err(|err| SealError::Kek(format!("{shown}: {err}")))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && create => {
                let bytes = random_bytes()?;
                if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                    crate::private_fs::create_dir(dir)
                        .map_err(|err| SealError::Kek(format!("{}: {err}", dir.display())))?;
                }
                let mut out = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(file)
                    .map_err(|err| SealError::Kek(format!("{shown}: {err}")))?;
                out.write_all(&bytes)
                    .and_then(|()| out.sync_all())
                    .map_err(|err| SealError::Kek(format!("{shown}: {err}")))?;
                Self::from_bytes(&bytes)
            }
            Err(err) => Err(SealError::Kek(format!("{shown}: {err}"))),
        }
    }

    /// Seals `secret` (a key file's text) for `kid` and `alg`.
    pub fn seal(&self, kid: &str, alg: KeyAlgorithm, secret: &[u8]) -> Result<String, SealError> {
        let mut in_out = secret.to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(associated(kid, alg)), &mut in_out)
            .map_err(|_| SealError::Seal)?;
        let mut sealed = nonce.as_ref().to_vec();
        sealed.extend_from_slice(&in_out);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Opens what [`Kek::seal`] sealed for the same `kid` and `alg`.
    pub fn open(&self, kid: &str, alg: KeyAlgorithm, sealed: &str) -> Result<Vec<u8>, SealError> {
        let fail = || SealError::Open {
            kid: kid.to_owned(),
        };
        let mut bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| fail())?;
        if bytes.len() < NONCE_BYTES {
            return Err(fail());
        }
        let mut in_out = bytes.split_off(NONCE_BYTES);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| fail())?;
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(associated(kid, alg)), &mut in_out)
            .map_err(|_| fail())?;
        Ok(plain.to_vec())
    }
}

/// The associated data: `kid`, a zero byte, `alg` (a `kid` holds no zero
/// byte, so the split is unambiguous).
fn associated(kid: &str, alg: KeyAlgorithm) -> Vec<u8> {
    let mut aad = kid.as_bytes().to_vec();
    aad.push(0);
    aad.extend_from_slice(alg.as_str().as_bytes());
    aad
}

/// 32 random bytes.
fn random_bytes() -> Result<[u8; KEK_BYTES], SealError> {
    let mut bytes = [0u8; KEK_BYTES];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| SealError::Kek("the random generator failed".into()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> Kek {
        Kek::from_bytes(&[byte; KEK_BYTES]).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn sealed_keys_open_only_with_their_kek_kid_and_alg() {
        let secret = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n";
        let sealed = kek(1)
            .seal("eddsa-1", KeyAlgorithm::EdDSA, secret)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            kek(1).open("eddsa-1", KeyAlgorithm::EdDSA, &sealed).ok(),
            Some(secret.to_vec())
        );
        let refused = |result: Result<Vec<u8>, SealError>| matches!(result, Err(SealError::Open { kid }) if kid.starts_with("eddsa"));
        assert!(refused(kek(2).open(
            "eddsa-1",
            KeyAlgorithm::EdDSA,
            &sealed
        )));
        assert!(refused(kek(1).open(
            "eddsa-2",
            KeyAlgorithm::EdDSA,
            &sealed
        )));
        assert!(matches!(
            kek(1).open("eddsa-1", KeyAlgorithm::ES256, &sealed),
            Err(SealError::Open { .. })
        ));
        let mut altered = sealed.into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap_or_default();
        assert!(refused(kek(1).open(
            "eddsa-1",
            KeyAlgorithm::EdDSA,
            &altered
        )));
    }

    #[test]
    fn a_sealed_value_holds_no_plaintext_and_never_repeats() {
        let secret = b"a secret that must not show through the sealing";
        let first = kek(1)
            .seal("k", KeyAlgorithm::HS256, secret)
            .unwrap_or_default();
        let second = kek(1)
            .seal("k", KeyAlgorithm::HS256, secret)
            .unwrap_or_default();
        assert_ne!(first, second, "a fresh nonce every time");
        let raw = URL_SAFE_NO_PAD.decode(&first).unwrap_or_default();
        assert!(!raw.windows(8).any(|w| secret.windows(8).any(|s| s == w)));
        assert!(!first.contains("secret"));
    }

    #[test]
    fn the_kek_comes_from_the_environment_or_a_private_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let file = dir.path().join("keys").join("kek");
        let created = Kek::load(None, &file).map(|_| ());
        assert_eq!(created, Ok(()));
        let mode = std::fs::metadata(&file).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        assert_eq!(std::fs::read(&file).map(|b| b.len()).ok(), Some(KEK_BYTES));
        // The same file gives the same KEK.
        let sealed = Kek::load(None, &file)
            .and_then(|k| k.seal("k", KeyAlgorithm::EdDSA, b"x"))
            .unwrap_or_default();
        assert!(
            Kek::load(None, &file)
                .and_then(|k| k.open("k", KeyAlgorithm::EdDSA, &sealed))
                .is_ok()
        );
        // The environment wins, and must be 32 bytes of base64url.
        let env = URL_SAFE_NO_PAD.encode([7u8; KEK_BYTES]);
        assert!(
            Kek::load(Some(&env), &file)
                .and_then(|k| k.open("k", KeyAlgorithm::EdDSA, &sealed))
                .is_err()
        );
        for bad in ["short", "!!!", &URL_SAFE_NO_PAD.encode([7u8; 16])] {
            assert!(
                matches!(Kek::load(Some(bad), &file), Err(SealError::Kek(_))),
                "{bad}"
            );
        }
        std::fs::write(&file, b"too short").unwrap_or_default();
        assert!(matches!(Kek::load(None, &file), Err(SealError::Kek(_))));
        let absent = dir.path().join("absent");
        assert!(matches!(
            Kek::load_existing(None, &absent),
            Err(SealError::Kek(_))
        ));
        assert!(!absent.exists(), "load_existing never creates a KEK");
    }
}
