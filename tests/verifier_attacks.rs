//! The attack suite, run against the one `Verifier` every entry point
//! shares (the endpoint, the middleware and the CLI call the same
//! `tessera::token::verify`). Each case asserts the exact error code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Value, json};
use tessera::error::ApiError;
use tessera::token::{KeyRing, KeySet, TokenError, VerifyPolicy, verify, verify_signature};

const ISSUER: &str = "http://tessera.test";

struct Fixture {
    _dir: tempfile::TempDir,
    ring: KeyRing,
    now: DateTime<Utc>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let (ring, _) = KeyRing::load_or_init(dir.path(), now).unwrap();
        Self {
            _dir: dir,
            ring,
            now,
        }
    }

    fn kid(&self) -> String {
        self.ring.active().0.kid.to_string()
    }

    fn policy(&self) -> VerifyPolicy {
        VerifyPolicy {
            issuer: ISSUER.into(),
            audience: "dashboards".into(),
            max_ttl: Duration::from_secs(86_400),
            leeway: Duration::from_secs(60),
        }
    }

    fn header(&self) -> Value {
        json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid()})
    }

    fn claims(&self) -> Value {
        let now = self.now.timestamp();
        json!({
            "iss": ISSUER, "aud": "dashboards", "sub": "example_1",
            "iat": now, "nbf": now, "exp": now + 3600, "jti": "jti-of-sixteen-or-more",
            "team_id": 3, "name": "Example 1", "mapping": {"40": "213"},
            "properties": {"filterValue": "value"}, "gen": 1
        })
    }

    /// Signs raw header and payload bytes with the active key.
    fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        let message = format!("{}.{}", B64.encode(header), B64.encode(payload));
        let signature = self.ring.active().1.sign(message.as_bytes()).unwrap();
        format!("{message}.{}", B64.encode(signature))
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    fn good(&self) -> String {
        self.sign(&self.header(), &self.claims())
    }

    fn check(&self, token: &str) -> Result<tessera::token::Claims, TokenError> {
        verify(self.ring.keyset(), &self.policy(), token, self.now)
    }

    /// The API error code of verifying `token`, or "valid".
    fn code(&self, token: &str) -> &'static str {
        match self.check(token) {
            Ok(_) => "valid",
            Err(err) => ApiError::from(err).code.as_str(),
        }
    }

    fn with_claims(&self, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut claims = self.claims();
        change(claims.as_object_mut().unwrap());
        self.sign(&self.header(), &claims)
    }

    fn with_header(&self, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut header = self.header();
        change(header.as_object_mut().unwrap());
        self.sign(&header, &self.claims())
    }
}

fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let message = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    format!(
        "{message}.{}",
        B64.encode(hmac::sign(&key, message.as_bytes()))
    )
}

#[test]
fn a_good_token_verifies() {
    let f = Fixture::new();
    let claims = f.check(&f.good()).unwrap();
    assert_eq!(claims.sub.as_str(), "example_1");
    assert_eq!(claims.variables()["filterValue"], "value");
    assert_eq!(claims.variables()["team_id"], 3);
}

#[test]
fn alg_none_in_any_spelling() {
    let f = Fixture::new();
    for none in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": none, "typ": "JWT", "kid": f.kid()});
        let unsigned = format!(
            "{}.{}.",
            B64.encode(header.to_string()),
            B64.encode(f.claims().to_string())
        );
        assert_eq!(
            f.code(&unsigned),
            "token_malformed",
            "{none} without a signature"
        );
        let signed = f.sign(&header, &f.claims());
        assert_eq!(
            f.code(&signed),
            "token_unknown_key",
            "{none} with a signature"
        );
        let mut no_kid = header.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        assert_eq!(f.code(&f.sign(&no_kid, &f.claims())), "token_unknown_key");
    }
}

#[test]
fn lowercase_or_other_algorithms_for_the_key() {
    let f = Fixture::new();
    for alg in ["eddsa", "EDDSA", "ES256", "RS256", "HS256", "Ed25519", ""] {
        let token = f.with_header(|h| {
            h.insert("alg".into(), json!(alg));
        });
        assert_eq!(f.code(&token), "token_unknown_key", "{alg}");
    }
    let token = f.with_header(|h| {
        h.insert("alg".into(), json!(1));
    });
    assert_eq!(f.code(&token), "token_malformed");
}

#[test]
fn hs256_keyed_with_our_public_key() {
    let f = Fixture::new();
    let jwk = f.ring.keyset().jwks()["keys"][0].clone();
    let x = B64.decode(jwk["x"].as_str().unwrap()).unwrap();
    // SubjectPublicKeyInfo of an Ed25519 key, the PEM a confused verifier
    // would use as an HMAC secret.
    let spki = [&hex("302a300506032b6570032100")[..], &x].concat();
    let pem_text = pem::encode(&pem::Pem::new("PUBLIC KEY", spki));
    let secrets: [Vec<u8>; 4] = [
        pem_text.clone().into_bytes(),
        pem_text.trim_end().as_bytes().to_vec(),
        jwk.to_string().into_bytes(),
        x.clone(),
    ];
    for secret in secrets {
        for header in [
            json!({"alg": "HS256", "typ": "JWT", "kid": f.kid()}),
            json!({"alg": "HS256", "typ": "JWT"}),
        ] {
            let token = hs256(&secret, &header, &f.claims());
            assert_eq!(f.code(&token), "token_unknown_key");
        }
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn one_byte_flipped_in_each_segment() {
    let f = Fixture::new();
    let good = f.good();
    let parts: Vec<&str> = good.split('.').collect();
    let flip = |segment: &str, at: usize| {
        let mut bytes = B64.decode(segment).unwrap();
        bytes[at] ^= 0x01;
        B64.encode(bytes)
    };
    // A byte inside the kid's value.
    let header_text = String::from_utf8(B64.decode(parts[0]).unwrap()).unwrap();
    let header = flip(parts[0], header_text.find("\"kid\":\"").unwrap() + 8);
    assert_eq!(
        f.code(&format!("{header}.{}.{}", parts[1], parts[2])),
        "token_unknown_key"
    );
    let payload = flip(parts[1], 10);
    assert_eq!(
        f.code(&format!("{}.{payload}.{}", parts[0], parts[2])),
        "token_signature_invalid"
    );
    for at in [0, 31, 63] {
        let signature = flip(parts[2], at);
        assert_eq!(
            f.code(&format!("{}.{}.{signature}", parts[0], parts[1])),
            "token_signature_invalid"
        );
    }
}

#[test]
fn wrong_shapes_are_malformed() {
    let f = Fixture::new();
    let good = f.good();
    let parts: Vec<&str> = good.split('.').collect();
    let two = format!("{}.{}", parts[0], parts[1]);
    let four = format!("{good}.{}", parts[2]);
    let padded = format!("{}=.{}.{}", parts[0], parts[1], parts[2]);
    let padded_sig = format!("{good}==");
    // Standard base64 characters where base64url has its own (always
    // present, whatever the token's bytes).
    let plus = format!("{}.{}.+{}", parts[0], parts[1], &parts[2][1..]);
    let slash = format!("{}./{}.{}", parts[0], &parts[1][1..], parts[2]);
    let spaced = format!(" {good}");
    let big = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(vec![b'x'; 20 * 1024]),
        parts[2]
    );
    for (what, token) in [
        ("empty", String::new()),
        ("two segments", two),
        ("four segments", four),
        ("padding in the header", padded),
        ("padding in the signature", padded_sig),
        ("a + character", plus),
        ("a / character", slash),
        ("leading space", spaced),
        ("20 KB token", big),
        ("dots only", "..".to_owned()),
    ] {
        assert_eq!(f.code(&token), "token_malformed", "{what}");
    }
}

#[test]
fn non_canonical_base64_trailing_bits_are_malformed() {
    let f = Fixture::new();
    let good = f.good();
    let (rest, signature) = good.rsplit_once('.').unwrap();
    // 64 bytes encode to 86 characters; the last carries 2 unused bits.
    let last = signature.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    let sibling = alphabet.chars().nth(index ^ 1).unwrap();
    let token = format!("{rest}.{}{sibling}", &signature[..signature.len() - 1]);
    assert_eq!(f.code(&token), "token_malformed");
}

#[test]
fn crit_and_foreign_key_headers_are_refused_without_any_connection() {
    let f = Fixture::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let elsewhere = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let token = f.with_header(|h| {
        h.insert("crit".into(), json!(["exp"]));
    });
    assert_eq!(f.code(&token), "token_malformed");
    let attacker_jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode([9u8; 32])});
    for (name, value) in [
        ("jku", json!(elsewhere)),
        ("x5u", json!(elsewhere)),
        ("jwk", attacker_jwk),
        ("x5c", json!(["MIIB"])),
    ] {
        let token = f.with_header(|h| {
            h.insert(name.into(), value.clone());
        });
        assert_eq!(f.code(&token), "token_malformed", "{name}");
    }
    assert!(
        listener.accept().is_err(),
        "the verifier connected somewhere"
    );
}

#[test]
fn hostile_and_unknown_kids_are_just_unknown() {
    let f = Fixture::new();
    for kid in [
        "../../dev/null".to_owned(),
        "' OR 1=1--".to_owned(),
        "k".repeat(10 * 1024),
        "eddsa-20260101-00000000".to_owned(),
        String::new(),
    ] {
        let token = f.with_header(|h| {
            h.insert("kid".into(), json!(kid));
        });
        assert_eq!(
            f.code(&token),
            "token_unknown_key",
            "{}",
            &kid[..kid.len().min(20)]
        );
    }
    let token = f.with_header(|h| {
        h.insert("kid".into(), json!(42));
    });
    assert_eq!(f.code(&token), "token_malformed");
}

#[test]
fn times_are_judged_with_the_leeway() {
    let f = Fixture::new();
    let now = f.now.timestamp();
    let at = |exp: i64, iat: i64, nbf: i64| {
        f.with_claims(|c| {
            c.insert("exp".into(), json!(exp));
            c.insert("iat".into(), json!(iat));
            c.insert("nbf".into(), json!(nbf));
        })
    };
    assert_eq!(
        f.code(&at(now - 3600, now - 7200, now - 7200)),
        "token_expired"
    );
    assert_eq!(
        f.code(&at(now - 59, now - 600, now - 600)),
        "valid",
        "exp 1 s inside the leeway"
    );
    assert_eq!(
        f.code(&at(now - 61, now - 600, now - 600)),
        "token_expired",
        "exp 1 s outside"
    );
    assert_eq!(
        f.code(&at(now + 600, now, now + 61)),
        "token_not_yet_valid",
        "nbf ahead"
    );
    assert_eq!(
        f.code(&at(now + 600, now, now + 59)),
        "valid",
        "nbf inside the leeway"
    );
    let year = 365 * 86_400;
    assert_eq!(
        f.code(&at(now + year + 60, now + year, now)),
        "token_not_yet_valid",
        "iat a year ahead"
    );
}

#[test]
fn every_required_claim_is_required() {
    let f = Fixture::new();
    for claim in ["exp", "iat", "nbf", "iss", "aud", "sub"] {
        let token = f.with_claims(|c| {
            c.remove(claim);
        });
        assert_eq!(f.code(&token), "token_claims_invalid", "{claim}");
    }
    for (claim, value) in [
        ("exp", json!("soon")),
        ("iat", json!(1.5)),
        ("sub", json!(7)),
    ] {
        let token = f.with_claims(|c| {
            c.insert(claim.into(), value.clone());
        });
        assert_eq!(f.code(&token), "token_claims_invalid", "{claim} = {value}");
    }
}

#[test]
fn issuer_audience_and_lifetime() {
    let f = Fixture::new();
    let set = |name: &str, value: Value| {
        f.with_claims(|c| {
            c.insert(name.into(), value);
        })
    };
    assert_eq!(
        f.code(&set("iss", json!("http://evil.test"))),
        "token_claims_invalid"
    );
    assert_eq!(f.code(&set("aud", json!("other"))), "token_claims_invalid");
    assert_eq!(
        f.code(&set("aud", json!(["other", "more"]))),
        "token_claims_invalid"
    );
    assert_eq!(f.code(&set("aud", json!(["other", "dashboards"]))), "valid");
    let now = f.now.timestamp();
    assert_eq!(
        f.code(&set("exp", json!(now + 86_401))),
        "token_claims_invalid",
        "lifetime over the maximum"
    );
    assert_eq!(
        f.code(&set("exp", json!(now + 86_400))),
        "valid",
        "lifetime at the maximum"
    );
    assert_eq!(f.code(&set("team_id", json!(0))), "token_claims_invalid");
    assert_eq!(
        f.code(&set("properties", json!({"team_id": 9}))),
        "token_claims_invalid",
        "a reserved variable cannot be smuggled in"
    );
}

#[test]
fn duplicate_claims_and_non_object_payloads() {
    let f = Fixture::new();
    let header = f.header().to_string();
    let claims = f.claims().to_string();
    let doubled = claims.replacen(
        '{',
        &format!("{{\"exp\":{},", f.now.timestamp() + 99_999),
        1,
    );
    assert_eq!(
        f.code(&f.sign_raw(header.as_bytes(), doubled.as_bytes())),
        "token_malformed"
    );
    assert_eq!(
        f.code(&f.sign_raw(header.as_bytes(), b"[1,2,3]")),
        "token_malformed"
    );
    assert_eq!(
        f.code(&f.sign_raw(header.as_bytes(), b"not json")),
        "token_malformed"
    );
    let twice = format!(
        "{{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\",\"kid\":\"{}\"}}",
        f.kid()
    );
    assert_eq!(
        f.code(&f.sign_raw(twice.as_bytes(), claims.as_bytes())),
        "token_malformed"
    );
}

#[test]
fn rfc7515_a1_hs256_vector() {
    let secret = B64
        .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
        .unwrap();
    let set = KeySet::new([tessera::token::VerifyingKey {
        kid: "rfc7515".into(),
        alg: tessera::token::KeyAlgorithm::HS256,
        decoding: jsonwebtoken::DecodingKey::from_secret(&secret).unwrap(),
        public_jwk: None,
    }]);
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let signed = verify_signature(&set, token).unwrap();
    assert_eq!(signed.key.kid, "rfc7515");
    let flipped = token.replacen("dBjft", "dBjfu", 1);
    assert_eq!(
        verify_signature(&set, &flipped).err(),
        Some(TokenError::SignatureInvalid)
    );
}

#[test]
fn rfc8037_a4_ed25519_vector() {
    let set = KeySet::from_jwks(&json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "rfc8037",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }]}))
    .unwrap();
    let token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    let signed = verify_signature(&set, token).unwrap();
    assert_eq!(signed.payload, b"Example of Ed25519 signing");
    let flipped = token.replacen("hgyY0", "hgyY1", 1);
    assert_eq!(
        verify_signature(&set, &flipped).err(),
        Some(TokenError::SignatureInvalid)
    );
    // The payload is not a claims set: the full policy refuses it after the signature.
    let policy = VerifyPolicy {
        issuer: "x".into(),
        audience: "y".into(),
        max_ttl: Duration::from_secs(60),
        leeway: Duration::from_secs(0),
    };
    assert!(matches!(
        verify(&set, &policy, token, Utc::now()),
        Err(TokenError::Malformed(_))
    ));
}
