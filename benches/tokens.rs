//! The token paths' CPU cost, beside the raw aws-lc-rs operations they
//! wrap, for each algorithm:
//! - `sign/<alg>/raw`: one aws-lc-rs signature over a typical signing input;
//! - `sign/<alg>/tessera`: the same through Tessera's signer (`KeyMaterial`);
//! - `issue/<alg>`: a whole token (claims encoded, base64url, signed);
//! - `verify/<alg>/raw`: one aws-lc-rs verification;
//! - `verify/<alg>/tessera`: `tessera_verify::verify` (header, key, signature,
//!   strict JSON, every claim);
//! - `claims/encode` and `request/parse`: a typical group's claims to JSON,
//!   and a typical get-user body to its domain types.
//!
//! `cargo bench --bench tokens`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
    RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use aws_lc_rs::{hmac, rsa::KeySize};
use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tessera::api::GetUserRequest;
use tessera::domain::{GroupRecord, GroupUpsert};
use tessera::token::{
    KeyAlgorithm, KeyRing, Session, TokenIssuer, TokenPolicy, VerifyPolicy, verify,
};

fn body() -> Value {
    json!({
        "user_group_id": "example_1",
        "name": "Example 1",
        "mapping": {"40": "213", "134": "386"},
        "properties": {"filterValue": "value", "regions": ["eu", "us"], "tenant_id": 42}
    })
}

fn record() -> GroupRecord {
    let Value::Object(body) = body() else {
        unreachable!()
    };
    let request = GetUserRequest::parse(&body, Duration::from_secs(86_400)).unwrap();
    let change: GroupUpsert = request.group;
    GroupRecord::create(
        tessera::domain::TeamId::new(3).unwrap(),
        &change,
        Utc::now(),
    )
}

fn policy() -> TokenPolicy {
    TokenPolicy {
        verify: VerifyPolicy {
            issuer: "https://tessera.example.com".into(),
            audience: "dashboards".into(),
            leeway: Duration::from_secs(60),
            max_ttl: Duration::from_secs(30 * 86_400),
        },
        default_ttl: Duration::from_secs(86_400),
        max_session: Duration::from_secs(7 * 86_400),
        refresh_grace: Duration::ZERO,
    }
}

/// Signs a message.
type Signer = Box<dyn Fn(&[u8]) -> Vec<u8>>;
/// Checks a message's signature.
type Checker = Box<dyn Fn(&[u8], &[u8]) -> bool>;

/// A raw aws-lc-rs signer and verifier of `alg`.
fn raw(alg: KeyAlgorithm) -> (Signer, Checker) {
    let rng = SystemRandom::new();
    match alg {
        KeyAlgorithm::EdDSA => {
            let pair = Ed25519KeyPair::generate().unwrap();
            let public = pair.public_key().as_ref().to_vec();
            (
                Box::new(move |m| pair.sign(m).as_ref().to_vec()),
                Box::new(move |m, s| {
                    UnparsedPublicKey::new(&signature::ED25519, &public)
                        .verify(m, s)
                        .is_ok()
                }),
            )
        }
        KeyAlgorithm::ES256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
            let public = pair.public_key().as_ref().to_vec();
            (
                Box::new(move |m| pair.sign(&rng, m).unwrap().as_ref().to_vec()),
                Box::new(move |m, s| {
                    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &public)
                        .verify(m, s)
                        .is_ok()
                }),
            )
        }
        KeyAlgorithm::RS256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
            let public = pair.public_key().as_ref().to_vec();
            (
                Box::new(move |m| {
                    let mut out = vec![0; pair.public_modulus_len()];
                    pair.sign(&RSA_PKCS1_SHA256, &rng, m, &mut out).unwrap();
                    out
                }),
                Box::new(move |m, s| {
                    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &public)
                        .verify(m, s)
                        .is_ok()
                }),
            )
        }
        KeyAlgorithm::HS256 => {
            let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).unwrap();
            let check = key.clone();
            (
                Box::new(move |m| hmac::sign(&key, m).as_ref().to_vec()),
                Box::new(move |m, s| hmac::verify(&check, m, s).is_ok()),
            )
        }
    }
}

fn tokens(c: &mut Criterion) {
    let record = record();
    let policy = policy();
    for alg in [
        KeyAlgorithm::EdDSA,
        KeyAlgorithm::ES256,
        KeyAlgorithm::RS256,
        KeyAlgorithm::HS256,
    ] {
        let dir = tempfile::tempdir().unwrap();
        KeyRing::generate(dir.path(), alg, Utc::now()).unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        let issuer = TokenIssuer::new(&ring, &policy);
        let token = issuer.issue(&record, None, Utc::now()).unwrap().token;
        let (input, _) = token.rsplit_once('.').unwrap();
        let (raw_sign, raw_verify) = raw(alg);
        let raw_signature = raw_sign(input.as_bytes());
        let material = ring.active().1;

        c.bench_function(&format!("sign/{alg}/raw"), |b| {
            b.iter(|| raw_sign(black_box(input.as_bytes())))
        });
        c.bench_function(&format!("sign/{alg}/tessera"), |b| {
            b.iter(|| material.sign(black_box(input.as_bytes())).unwrap())
        });
        c.bench_function(&format!("issue/{alg}"), |b| {
            b.iter(|| issuer.issue(black_box(&record), None, Utc::now()).unwrap())
        });
        c.bench_function(&format!("verify/{alg}/raw"), |b| {
            b.iter(|| assert!(raw_verify(black_box(input.as_bytes()), &raw_signature)))
        });
        c.bench_function(&format!("verify/{alg}/tessera"), |b| {
            b.iter(|| verify(ring.keyset(), &policy.verify, black_box(&token), Utc::now()).unwrap())
        });
    }
}

fn encoding(c: &mut Criterion) {
    let record = record();
    let dir = tempfile::tempdir().unwrap();
    let (ring, _) = KeyRing::load_or_init(dir.path(), Utc::now()).unwrap();
    let policy = policy();
    let issuer = TokenIssuer::new(&ring, &policy);
    let session = Session::start(Utc::now()).unwrap();
    let issued = issuer
        .issue_in(&record, None, Utc::now(), &session)
        .unwrap();
    // What issuing serializes: the claims borrowed from the record.
    let claims = issuer.claims(&record, &session, &issued.stamp);
    c.bench_function("claims/encode", |b| {
        b.iter(|| serde_json::to_vec(black_box(&claims)).unwrap())
    });
    let text = serde_json::to_vec(&body()).unwrap();
    c.bench_function("request/parse", |b| {
        b.iter(|| {
            let Ok(Value::Object(body)) = tessera::json_strict::from_slice(black_box(&text)) else {
                unreachable!()
            };
            GetUserRequest::parse(&body, Duration::from_secs(86_400)).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = tokens, encoding
}
criterion_main!(benches);
