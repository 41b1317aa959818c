//! Structure-aware: the input is a header and a payload (split at the
//! first 0xFF byte) signed with the fuzz key, so mutations reach past the
//! signature into the header and claims checks. Accepted claims must keep
//! the policy; nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_fuzz::{check_accepted, keys, now, policy, sign_hs256};

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|byte| *byte == 0xFF) else {
        return;
    };
    let (header, payload) = (&data[..split], &data[split + 1..]);
    let token = sign_hs256(header, payload);
    if let Ok(claims) = tessera_verify::verify(&keys(), &policy(), &token, now()) {
        check_accepted(&claims);
        // What was accepted was the strict JSON it was signed over.
        assert!(tessera_verify::json_strict::from_slice(payload).is_ok());
    }
});
