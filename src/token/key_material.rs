//! Private key material: generating it, and loading it into a kept signing
//! key (parsed once, not on every token) and the verifying key that
//! jsonwebtoken uses.
//!
//! Asymmetric keys are PKCS#8 PEM files; HMAC secrets are base64url text.
//! The public half is always derived from the private key, so the two can
//! never disagree.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value, json};

use super::{KeyAlgorithm, KeyError, TokenError};
use tessera_verify::ParseError;

/// The shortest HMAC secret accepted, in bytes.
pub const MIN_HMAC_SECRET_BYTES: usize = 32;
/// The length of HMAC secrets Tessera generates, in bytes.
const GENERATED_HMAC_SECRET_BYTES: usize = 64;
/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;
const PEM_TAG: &str = "PRIVATE KEY";

/// A parsed private key, kept for the life of the keyring so that signing
/// does not parse it again (for Ed25519 that halves the cost of a token).
enum SigningKey {
    Ed25519(Ed25519KeyPair),
    EcdsaP256(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Hmac(Box<hmac::Key>),
}

/// A loaded key: its algorithm, the kept signing key and the verifying key.
pub struct KeyMaterial {
    /// The key's one algorithm.
    pub algorithm: KeyAlgorithm,
    signing: SigningKey,
    /// Verifies tokens (through jsonwebtoken).
    pub decoding: DecodingKey,
    /// The public key as JWK members (`kty`, `crv`, `x`, `y`, `n`, `e`);
    /// `None` for HMAC keys, which have no public half.
    pub public_jwk: Option<Map<String, Value>>,
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
    pub fn generate(algorithm: KeyAlgorithm) -> Result<String, KeyError> {
        Self::generate_text(algorithm).map_err(KeyError::Generation)
    }

    fn generate_text(algorithm: KeyAlgorithm) -> Result<String, String> {
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
            KeyAlgorithm::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
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
    pub fn load(algorithm: KeyAlgorithm, file: &str) -> Result<Self, ParseError> {
        Self::load_text(algorithm, file).map_err(|reason| ParseError::new("key file", reason))
    }

    fn load_text(algorithm: KeyAlgorithm, file: &str) -> Result<Self, String> {
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
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let (signing, decoding, jwk) = match algorithm {
            KeyAlgorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(wrong)?;
                let public = pair.public_key().as_ref();
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(public)});
                let decoding = DecodingKey::from_ed_der(public);
                (SigningKey::Ed25519(pair), decoding, jwk)
            }
            KeyAlgorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(wrong)?;
                // An uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = pair.public_key().as_ref();
                let (x, y) = match point {
                    [0x04, rest @ ..] if rest.len() == 64 => rest.split_at(32),
                    _ => return Err("unexpected P-256 public key encoding".to_owned()),
                };
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)});
                let decoding = DecodingKey::from_ec_der(point);
                (SigningKey::EcdsaP256(pair), decoding, jwk)
            }
            KeyAlgorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(wrong)?;
                if pair.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
                    return Err("RSA keys must have at least 2048 bits".to_owned());
                }
                let public = pair.public_key();
                let jwk = json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                });
                let decoding = DecodingKey::from_rsa_der(public.as_ref());
                (SigningKey::Rsa(pair), decoding, jwk)
            }
            KeyAlgorithm::HS256 => return Self::load_hmac(file),
        };
        Ok(Self {
            algorithm,
            signing,
            decoding,
            public_jwk: jwk.as_object().cloned(),
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
            signing: SigningKey::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, &secret))),
            decoding: DecodingKey::from_secret(&secret)
                .map_err(|_| "invalid HMAC secret".to_owned())?,
            public_jwk: None,
        })
    }

    /// Signs `message` (the JWS signing input) with this key's algorithm.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        let failed = |_| TokenError::Signing(format!("{} signing failed", self.algorithm));
        match &self.signing {
            SigningKey::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            SigningKey::EcdsaP256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(failed),
            SigningKey::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                Ok(signature)
            }
            SigningKey::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our signatures must verify with jsonwebtoken's own verifier.
    #[test]
    fn every_algorithm_signs_what_jsonwebtoken_verifies() {
        for alg in KeyAlgorithm::ALL {
            let file = KeyMaterial::generate(alg).unwrap();
            let key = KeyMaterial::load(alg, &file).unwrap();
            assert_eq!(key.algorithm, alg);
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#);
            let message = format!("{header}.{claims}");
            let signature = URL_SAFE_NO_PAD.encode(key.sign(message.as_bytes()).unwrap());
            let token = format!("{message}.{signature}");
            let mut validation = jsonwebtoken::Validation::new(alg.jwt());
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            let decoded: jsonwebtoken::TokenData<serde_json::Value> =
                jsonwebtoken::decode(&token, &key.decoding, &validation).unwrap();
            assert_eq!(decoded.claims["sub"], "x", "{alg}");

            let mut tampered = token.into_bytes();
            let at = header.len() + 2;
            tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(tampered).unwrap();
            let outcome =
                jsonwebtoken::decode::<serde_json::Value>(&tampered, &key.decoding, &validation);
            assert!(outcome.is_err(), "{alg}: a changed payload verified");
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
        assert!(err.reason.contains("at least 32 bytes"), "{err}");
        let exact = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert!(KeyMaterial::load(KeyAlgorithm::HS256, &exact).is_ok());
    }
}
