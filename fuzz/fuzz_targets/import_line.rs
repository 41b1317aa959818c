//! One line of a `tessera import` file from any bytes: skipped, refused
//! with a message, or read as a record, never a panic. A record read
//! from a line, written as the export writes it, reads back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::cli::parse_line;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(Some(record)) = parse_line(line) else {
        return;
    };
    let exported = serde_json::to_string(&record).expect("a record serializes");
    assert_eq!(
        parse_line(&exported).expect("an exported record imports"),
        Some(record),
        "export then import changed the record"
    );
});
