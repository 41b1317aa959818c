//! The revocation feed's entries, as the service publishes them
//! (`GET /api/revocations`) and renderers read them: which tokens of a
//! group stopped being valid. Written once here for both sides.

use serde::{Deserialize, Serialize};

use crate::domain::GroupId;
use crate::{Claims, SessionId, TokenId};

/// What happened to a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RevocationKind {
    /// Revoked: every token with a `gen` below `below_gen` is invalid.
    Revoked {
        /// The first generation still valid.
        below_gen: u64,
    },
    /// Deleted: every token of this `team_id` is invalid (a group created
    /// again under the same id gets another `team_id`).
    Deleted,
    /// One token revoked: the token with this `jti`.
    Token {
        /// Its `jti`.
        jti: TokenId,
    },
    /// One viewing session revoked: every token with this `sid`.
    Session {
        /// Its `sid`.
        sid: SessionId,
    },
}

/// One entry of a group's deny-list: a token or a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Denial {
    /// The token with this `jti`.
    Token(TokenId),
    /// Every token of this session.
    Session(SessionId),
}

impl Denial {
    /// The entries a token is checked against: its `jti` and its `sid`.
    pub fn of(claims: &Claims) -> Vec<Self> {
        let mut denials = vec![Self::Token(claims.jti.clone())];
        if let Some(sid) = &claims.sid {
            denials.push(Self::Session(sid.clone()));
        }
        denials
    }

    /// What starts the label of a token's entry.
    pub const TOKEN_LABEL: &'static str = "j:";
    /// What starts the label of a session's entry.
    pub const SESSION_LABEL: &'static str = "s:";

    /// A short text naming the entry within its group: `j:<jti>` or
    /// `s:<sid>` (ids are `[A-Za-z0-9_-]`, so the text is safe in keys).
    pub fn label(&self) -> String {
        let (kind, id) = self.label_parts();
        [kind, id].concat()
    }

    /// The label in its two parts: [`Self::TOKEN_LABEL`] or
    /// [`Self::SESSION_LABEL`], then the id.
    pub fn label_parts(&self) -> (&'static str, &str) {
        match self {
            Self::Token(jti) => (Self::TOKEN_LABEL, jti.as_str()),
            Self::Session(sid) => (Self::SESSION_LABEL, sid.as_str()),
        }
    }
}

impl Denial {
    /// The revocation the feed announces for this entry.
    pub fn revocation(&self) -> RevocationKind {
        match self {
            Self::Token(jti) => RevocationKind::Token { jti: jti.clone() },
            Self::Session(sid) => RevocationKind::Session { sid: sid.clone() },
        }
    }
}

/// One revocation of the feed (feed entries carry `cursor` and `at`
/// beside these fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The group (`sub` of its tokens).
    pub user_group_id: GroupId,
    /// Its `team_id`.
    pub team_id: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: RevocationKind,
}

impl Revocation {
    /// Whether `claims` are among the tokens this revocation ends.
    pub fn covers(&self, claims: &Claims) -> bool {
        claims.sub == self.user_group_id
            && claims.team_id.get() == self.team_id
            && match &self.kind {
                RevocationKind::Revoked { below_gen } => claims.r#gen < *below_gen,
                RevocationKind::Deleted => true,
                RevocationKind::Token { jti } => claims.jti == *jti,
                RevocationKind::Session { sid } => claims.sid.as_ref() == Some(sid),
            }
    }
}
