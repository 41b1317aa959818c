//! The error a domain constructor returns: which request field is wrong and why.

use std::fmt;

/// A validation failure tied to one field of a request.
///
/// `field` is the top-level request field (`properties`, `mapping`, ...);
/// `message` says what is wrong in words a client developer can act on and
/// never echoes secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The top-level field the error is about.
    pub field: String,
    /// A human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
