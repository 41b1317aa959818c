//! Request ids: an incoming `x-request-id` of 1 to 128 visible ASCII
//! characters is kept, anything else is replaced by a fresh random id. The
//! id is echoed in the response, is a field of the `request` span every log
//! line of the request belongs to, and is put in every error body
//! (`request_id`), so one call can be followed from the client through the
//! logs.
//!
//! The id of the request being served is held in a task-local for the
//! duration of that request only (no global state).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The header carrying the id, both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// The longest id kept.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being served, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The id a client sent, if it is acceptable.
fn presented(request: &Request) -> Option<String> {
    let value = request.headers().get(&REQUEST_ID_HEADER)?.as_bytes();
    let sane = (1..=MAX_REQUEST_ID_CHARS).contains(&value.len())
        && value.iter().all(|b| (0x21..=0x7e).contains(b));
    sane.then(|| String::from_utf8_lossy(value).into_owned())
}

/// A fresh id: 128 random bits in hex. An id only has to be unique, not
/// unguessable (it is shown to the client and written to the logs), so it
/// comes from the thread's fast generator, not the cryptographic one.
fn generate() -> String {
    let mut digits = [0u8; 32];
    // 16 bytes always fill 32 hex digits: the call cannot fail.
    let _ = hex::encode_to_slice(fastrand::u128(..).to_le_bytes(), &mut digits);
    String::from_utf8_lossy(&digits).into_owned()
}

/// Serves `request` under its id (kept or generated): in the id's span,
/// with the id readable through [`current`], echoed in the answer.
pub async fn serve_with_id(request: Request, next: Next) -> Response {
    let id = presented(&request).unwrap_or_else(generate);
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = CURRENT
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}
