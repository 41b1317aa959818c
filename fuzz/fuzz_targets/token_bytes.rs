//! Raw bytes as a token: the verifier answers every input with claims or
//! a typed error, never a panic, and accepted claims keep the policy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_fuzz::{check_accepted, keys, now, policy};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let (keys, policy) = (keys(), policy());
    if let Ok(claims) = tessera_verify::verify(&keys, &policy, token, now()) {
        check_accepted(&claims);
    }
    // The signature-only path the revocation endpoint uses.
    let _ = tessera_verify::verify_signature(&keys, token);
});
