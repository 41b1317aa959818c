//! `UserGroup`: what a handler behind the layer receives.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{Map, Value};

use tessera_verify::{Claims, TokenError};

use crate::rejection::Rejection;

/// A verified token: its claims and the variables derived from them.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// The verified claims.
    pub claims: Claims,
    /// Properties plus `user_group_id`, `user_group_name` and `team_id`.
    pub variables: Map<String, Value>,
}

/// The viewer's user group, verified by [`crate::RendererAuthLayer`].
///
/// Extracting it from a request that did not pass the layer fails with
/// `401`: a handler never mistakes an unverified request for a viewer.
#[derive(Debug, Clone)]
pub struct UserGroup(pub Arc<VerifiedToken>);

impl Deref for UserGroup {
    type Target = VerifiedToken;
    fn deref(&self) -> &VerifiedToken {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UserGroup {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        parts.extensions.get::<UserGroup>().cloned().ok_or_else(|| {
            TokenError::Malformed("no verified user-group token on this request".into()).into()
        })
    }
}
