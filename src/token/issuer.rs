//! Issuing tokens: claims for a group, signed by the active key.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::{KeyRing, SessionId, TokenError, TokenPolicy};
use crate::domain::GroupRecord;
use tessera_verify::{AudienceView, ClaimsView, TokenId};

/// A signed token, when it expires, and the claims it was given beyond
/// its group and session ([`TokenIssuer::claims`] puts them together).
#[derive(Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its `exp` as a time.
    pub expires_at: DateTime<Utc>,
    /// Its times and id.
    pub stamp: TokenStamp,
}

/// The claims a token gets at issuance: its times and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStamp {
    /// Issued at, and not before (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// The token's unique id.
    pub jti: TokenId,
}

/// A viewing session: its id and start, carried by every token of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id.
    pub sid: SessionId,
    /// Its start (seconds since the epoch).
    pub sst: i64,
    /// The browser origins its tokens are bound to, if any.
    pub origins: Option<Vec<String>>,
}

impl Session {
    /// A new session starting at `now`.
    pub fn start(now: DateTime<Utc>) -> Result<Self, TokenError> {
        let sid =
            SessionId::parse(new_jti()?).map_err(|err| TokenError::Signing(err.to_string()))?;
        Ok(Self {
            sid,
            sst: now.timestamp(),
            origins: None,
        })
    }
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Signs user-group tokens with the active key of a keyring.
#[derive(Debug)]
pub struct TokenIssuer<'a> {
    keys: &'a KeyRing,
    policy: &'a TokenPolicy,
}

impl<'a> TokenIssuer<'a> {
    /// An issuer over `keys` following `policy`.
    pub fn new(keys: &'a KeyRing, policy: &'a TokenPolicy) -> Self {
        Self { keys, policy }
    }

    /// Issues a token for `group` in a new session, valid from `now` for
    /// `ttl` (the policy's default when `None`).
    pub fn issue(
        &self,
        group: &GroupRecord,
        ttl: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, TokenError> {
        self.issue_in(group, ttl, now, &Session::start(now)?)
    }

    /// Issues a token for `group` in `session`: valid from `now` for `ttl`
    /// (the policy's default when `None`), never past the session's start
    /// plus the longest session.
    pub fn issue_in(
        &self,
        group: &GroupRecord,
        ttl: Option<Duration>,
        now: DateTime<Utc>,
        session: &Session,
    ) -> Result<IssuedToken, TokenError> {
        let ttl = ttl.unwrap_or(self.policy.default_ttl);
        if ttl > self.policy.verify.max_ttl {
            return Err(TokenError::Signing(
                "lifetime above the configured maximum".into(),
            ));
        }
        let ttl = i64::try_from(ttl.as_secs())
            .map_err(|_| TokenError::Signing("lifetime out of range".into()))?;
        let (_, material) = self.keys.active();
        let iat = now.timestamp();
        let session_end = session
            .sst
            .saturating_add(i64::try_from(self.policy.max_session.as_secs()).unwrap_or(i64::MAX));
        let exp = iat.saturating_add(ttl).min(session_end);
        if exp <= iat {
            return Err(TokenError::SessionExpired);
        }
        let expires_at = DateTime::from_timestamp(exp, 0)
            .ok_or_else(|| TokenError::Signing("expiry out of range".into()))?;
        let stamp = TokenStamp {
            iat,
            exp,
            jti: TokenId::parse(new_jti()?).map_err(|err| TokenError::Signing(err.to_string()))?,
        };
        let payload = serde_json::to_vec(&self.claims(group, session, &stamp))
            .map_err(|err| TokenError::Signing(err.to_string()))?;
        let mut token = String::with_capacity(512);
        token.push_str(self.keys.active_header());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = material.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(IssuedToken {
            token,
            expires_at,
            stamp,
        })
    }

    /// The claims of a token for `group` in `session` with `stamp`,
    /// borrowed from them: what [`Self::issue_in`] signs, without a copy
    /// of the group's mapping or properties.
    pub fn claims<'b>(
        &'b self,
        group: &'b GroupRecord,
        session: &'b Session,
        stamp: &'b TokenStamp,
    ) -> ClaimsView<'b> {
        ClaimsView {
            iss: &self.policy.verify.issuer,
            aud: AudienceView::One(&self.policy.verify.audience),
            sub: &group.provided_id,
            iat: stamp.iat,
            nbf: stamp.iat,
            exp: stamp.exp,
            jti: &stamp.jti,
            team_id: group.team_id,
            name: &group.name,
            mapping: &group.mapping,
            properties: group.properties.as_ref(),
            r#gen: group.r#gen,
            sid: Some(&session.sid),
            sst: Some(session.sst),
            origins: session.origins.as_deref(),
        }
    }
}

/// 128 random bits, base64url.
fn new_jti() -> Result<String, TokenError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| TokenError::Signing("random generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
