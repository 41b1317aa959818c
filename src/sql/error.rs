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
    /// The tenant guard does not hold for a required variable.
    #[error("the query does not filter on {name}: {context}")]
    TenantFilterMissing {
        /// The variable (or variables).
        name: String,
        /// Which SELECT lacks the filter, or why the query cannot be read.
        context: String,
    },
    /// Resolving would pass a size limit; refused before the work is done.
    #[error("{0}")]
    TooLarge(String),
}

impl SqlError {
    pub(crate) fn invalid(offset: usize, message: impl Into<String>) -> Self {
        Self::Invalid {
            offset,
            message: message.into(),
        }
    }
}
