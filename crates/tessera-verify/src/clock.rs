//! The injected clock. Issuance and store timestamps read the time from a
//! [`Clock`] held in the application state, never from the system directly,
//! so tests can mint tokens in the past or future and let the real code
//! judge them.

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that is the system clock moved by a fixed offset (for tests that
/// need "a day ago" or "a year ahead").
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock(pub chrono::Duration);

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }
}

/// A shareable clock handle.
pub type SharedClock = Arc<dyn Clock>;
