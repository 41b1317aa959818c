//! Why a query could not be resolved.

/// A resolution failure. Offsets are byte offsets into the query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// The query is malformed for variable resolution.
    #[error("at byte {offset}: {message}")]
    Invalid {
        /// Where.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// A variable referenced outside an optional clause has no value.
    #[error("variable {name:?} (at byte {offset}) has no value")]
    VariableMissing {
        /// The variable.
        name: String,
        /// Where it is referenced.
        offset: usize,
    },
    /// A required variable is not referenced outside an optional clause.
    #[error("the query does not filter on {name:?} outside an optional clause")]
    TenantFilterMissing {
        /// The variable.
        name: String,
    },
}

impl SqlError {
    pub(crate) fn invalid(offset: usize, message: impl Into<String>) -> Self {
        Self::Invalid {
            offset,
            message: message.into(),
        }
    }
}
