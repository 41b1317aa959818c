//! A JWKS document from any bytes: parsed into a key set or refused with
//! a typed error, never a panic; a parsed set published again parses to
//! the same keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_verify::KeySet;

fuzz_target!(|data: &[u8]| {
    let Ok(set) = KeySet::from_jwks_bytes(data) else {
        return;
    };
    let again = KeySet::from_jwks(&set.jwks()).expect("a published set parses");
    assert_eq!(again.len(), set.len(), "publishing lost or added keys");
});
