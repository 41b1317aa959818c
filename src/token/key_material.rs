//! Private key material: generating it, and loading it into the signing
//! and verifying halves that jsonwebtoken uses.
//!
//! Asymmetric keys are PKCS#8 PEM files; HMAC secrets are base64url text.
//! The public half is always derived from the private key, so the two can
//! never disagree.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};

use super::KeyAlgorithm;

/// The shortest HMAC secret accepted, in bytes.
pub const MIN_HMAC_SECRET_BYTES: usize = 32;
/// The length of HMAC secrets Tessera generates, in bytes.
const GENERATED_HMAC_SECRET_BYTES: usize = 64;
/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;
const PEM_TAG: &str = "PRIVATE KEY";

/// A loaded key: its algorithm, the signing key and the verifying key.
pub struct KeyMaterial {
    /// The key's one algorithm.
    pub algorithm: KeyAlgorithm,
    /// Signs tokens.
    pub encoding: EncodingKey,
    /// Verifies tokens.
    pub decoding: DecodingKey,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl KeyMaterial {
    /// Generates new key material and returns the text of its key file.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<String, String> {
        let failed = |what: &str| format!("could not generate {algorithm} {what}");
        let der: Vec<u8> = match algorithm {
            KeyAlgorithm::EdDSA => Ed25519KeyPair::generate()
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(|_| failed("key"))?
                .as_ref()
                .to_vec(),
            KeyAlgorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(|_| failed("key"))?
                .as_ref()
                .to_vec(),
            KeyAlgorithm::RS256 => aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048)
                .and_then(|pair| pair.as_der())
                .map_err(|_| failed("key"))?
                .as_ref()
                .to_vec(),
            KeyAlgorithm::HS256 => {
                let mut secret = [0u8; GENERATED_HMAC_SECRET_BYTES];
                aws_lc_rs::rand::fill(&mut secret).map_err(|_| failed("secret"))?;
                return Ok(format!("{}\n", URL_SAFE_NO_PAD.encode(secret)));
            }
        };
        Ok(pem::encode(&pem::Pem::new(PEM_TAG, der)))
    }

    /// Loads key material from the text of a key file. The error says what
    /// is wrong without quoting the file.
    pub fn load(algorithm: KeyAlgorithm, file: &str) -> Result<Self, String> {
        if algorithm == KeyAlgorithm::HS256 {
            return Self::load_hmac(file);
        }
        let parsed = pem::parse(file).map_err(|_| "not a PEM file".to_owned())?;
        if parsed.tag() != PEM_TAG {
            return Err(format!(
                "expected a PKCS#8 \"{PEM_TAG}\" PEM block, found {:?}",
                parsed.tag()
            ));
        }
        let der = parsed.contents();
        let wrong = |_| format!("not a valid {algorithm} private key");
        let unusable = |_| format!("not a usable {algorithm} private key");
        let bytes = file.as_bytes();
        let (encoding, decoding) = match algorithm {
            KeyAlgorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(wrong)?;
                (
                    EncodingKey::from_ed_pem(bytes).map_err(unusable)?,
                    DecodingKey::from_ed_der(pair.public_key().as_ref()),
                )
            }
            KeyAlgorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(wrong)?;
                (
                    EncodingKey::from_ec_pem(bytes).map_err(unusable)?,
                    DecodingKey::from_ec_der(pair.public_key().as_ref()),
                )
            }
            KeyAlgorithm::RS256 => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der).map_err(wrong)?;
                if pair.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
                    return Err("RSA keys must have at least 2048 bits".to_owned());
                }
                (
                    EncodingKey::from_rsa_pem(bytes).map_err(unusable)?,
                    DecodingKey::from_rsa_der(pair.public_key().as_ref()),
                )
            }
            KeyAlgorithm::HS256 => return Self::load_hmac(file),
        };
        Ok(Self {
            algorithm,
            encoding,
            decoding,
        })
    }

    fn load_hmac(file: &str) -> Result<Self, String> {
        let secret = URL_SAFE_NO_PAD.decode(file.trim()).map_err(|_| {
            "an HS256 key file must hold the secret in unpadded base64url".to_owned()
        })?;
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(format!(
                "HMAC secrets must be at least {MIN_HMAC_SECRET_BYTES} bytes (this one has {})",
                secret.len()
            ));
        }
        Ok(Self {
            algorithm: KeyAlgorithm::HS256,
            encoding: EncodingKey::from_secret(&secret)
                .map_err(|_| "invalid HMAC secret".to_owned())?,
            decoding: DecodingKey::from_secret(&secret)
                .map_err(|_| "invalid HMAC secret".to_owned())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_round_trips_through_its_file() {
        for alg in KeyAlgorithm::ALL {
            let file = KeyMaterial::generate(alg).unwrap();
            let key = KeyMaterial::load(alg, &file).unwrap();
            assert_eq!(key.algorithm, alg);
            let header = jsonwebtoken::Header::new(alg.jwt());
            let claims = serde_json::json!({"sub": "x", "exp": 4_000_000_000u64});
            let token = jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap();
            let mut validation = jsonwebtoken::Validation::new(alg.jwt());
            validation.required_spec_claims.clear();
            let decoded: jsonwebtoken::TokenData<serde_json::Value> =
                jsonwebtoken::decode(&token, &key.decoding, &validation).unwrap();
            assert_eq!(decoded.claims["sub"], "x", "{alg}");
        }
    }

    #[test]
    fn wrong_algorithm_for_a_file_is_refused() {
        let ed = KeyMaterial::generate(KeyAlgorithm::EdDSA).unwrap();
        assert!(KeyMaterial::load(KeyAlgorithm::ES256, &ed).is_err());
        assert!(KeyMaterial::load(KeyAlgorithm::RS256, &ed).is_err());
        assert!(KeyMaterial::load(KeyAlgorithm::HS256, &ed).is_err());
    }

    #[test]
    fn short_hmac_secret_is_refused() {
        let short = URL_SAFE_NO_PAD.encode([7u8; 31]);
        let err = KeyMaterial::load(KeyAlgorithm::HS256, &short).unwrap_err();
        assert!(err.contains("at least 32 bytes"), "{err}");
        let exact = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert!(KeyMaterial::load(KeyAlgorithm::HS256, &exact).is_ok());
    }
}
