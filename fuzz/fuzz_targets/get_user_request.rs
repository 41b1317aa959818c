//! A get-user request body from any bytes, read as the API reads it
//! (strict JSON, then the domain types): refused with a field error or
//! accepted, never a panic. What the API accepts is kept whole by the
//! store's format: the group it creates, exported as a line, imports back
//! unchanged (the API and `tessera import` agree on what a group is).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tessera::api::GetUserRequest;
use tessera::cli::parse_line;
use tessera::domain::{GroupRecord, TeamId};

const MAX_TTL: Duration = Duration::from_secs(30 * 86_400);

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(body)) = tessera::json_strict::from_slice(data) else {
        return;
    };
    let Ok(request) = GetUserRequest::parse(&body, MAX_TTL) else {
        return;
    };
    if let Some(ttl) = request.expires_in {
        assert!(
            ttl > Duration::ZERO && ttl <= MAX_TTL,
            "lifetime {ttl:?} accepted"
        );
    }
    let id = request.group.id.as_str();
    assert!(
        (1..=256).contains(&id.len()),
        "id of {} bytes accepted",
        id.len()
    );
    assert!(
        !id.chars().any(char::is_control),
        "control character in {id:?}"
    );

    let Ok(team) = TeamId::new(1) else {
        return;
    };
    let record = GroupRecord::create(team, &request.group, tessera_fuzz::now());
    let line = serde_json::to_string(&record).expect("a record serializes");
    let back = parse_line(&line).expect("an accepted group imports back");
    assert_eq!(back, Some(record), "the import changed the group");
});
