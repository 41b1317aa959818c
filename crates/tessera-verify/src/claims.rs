//! The claims of a user-group token.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::domain::{GroupId, GroupName, Mapping, Properties, TeamId};

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is among them.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// Every claim Tessera puts in a token. Decoding re-validates the domain
/// types, so a verified token's variables obey the same rules as a request.
/// Serialized through [`crate::ClaimsView`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Claims {
    /// Issuer: this service's URL.
    pub iss: String,
    /// Audience: who may accept the token.
    pub aud: Audience,
    /// Subject: the group's `provided_id`.
    pub sub: GroupId,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before (seconds since the epoch).
    pub nbf: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Unique token id.
    pub jti: TokenId,
    /// The group's internal id.
    pub team_id: TeamId,
    /// The group's display name.
    pub name: GroupName,
    /// Schema id to data source id.
    pub mapping: Mapping,
    /// The group's variables, or null.
    pub properties: Option<Properties>,
    /// The group's token generation when the token was issued.
    pub r#gen: u64,
    /// The viewing session (kept by refreshes); absent in tokens issued
    /// before sessions existed.
    #[serde(default)]
    pub sid: Option<SessionId>,
    /// When the session started (seconds since the epoch).
    #[serde(default)]
    pub sst: Option<i64>,
    /// The browser origins the token is bound to, when get-user named
    /// them: an `Origin` header outside the list is refused.
    #[serde(default)]
    pub origins: Option<Vec<String>>,
}

impl Claims {
    /// Whether a request from `origin` (its `Origin` header, if any) may
    /// use this token: always without a header (server-to-server calls
    /// send none), otherwise only from a listed origin.
    pub fn admits_origin(&self, origin: Option<&str>) -> bool {
        match (&self.origins, origin) {
            (Some(allowed), Some(origin)) => {
                let origin = origin.to_ascii_lowercase();
                allowed.contains(&origin)
            }
            _ => true,
        }
    }
}

/// Whether `value` is an identifier of `[A-Za-z0-9_-]` with a length in
/// `lengths` (key ids, session ids): safe in file names, keys and logs.
pub fn is_id_text(value: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A session id: 16 to 64 of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct SessionId(String);

crate::validated_string!(SessionId, crate::ParseError);

impl SessionId {
    /// Validates a session id.
    pub fn parse(value: impl Into<String>) -> Result<Self, crate::ParseError> {
        parse_id(value.into(), "session id", "a sid").map(Self)
    }
}

/// A token id (`jti`): 16 to 64 of `[A-Za-z0-9_-]`, unique per token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct TokenId(String);

crate::validated_string!(TokenId, crate::ParseError);

impl TokenId {
    /// Validates a token id.
    pub fn parse(value: impl Into<String>) -> Result<Self, crate::ParseError> {
        parse_id(value.into(), "token id", "a jti").map(Self)
    }
}

/// The one rule of session and token ids.
fn parse_id(value: String, what: &'static str, name: &str) -> Result<String, crate::ParseError> {
    if is_id_text(&value, 16..=64) {
        Ok(value)
    } else {
        Err(crate::ParseError::new(
            what,
            format!("{name} is 16 to 64 characters of A-Z a-z 0-9 - _"),
        ))
    }
}

impl Claims {
    /// The variables dashboards and SQL may use: the group's properties
    /// plus `user_group_id`, `user_group_name` and `team_id` (names the
    /// properties cannot take).
    pub fn variables(&self) -> Map<String, Value> {
        let mut variables = self
            .properties
            .as_ref()
            .map(|properties| properties.as_map().clone())
            .unwrap_or_default();
        for (name, value) in self.group_variables() {
            variables.insert(name.into(), value);
        }
        variables
    }

    /// [`Self::variables`] borrowed: serializes as that object without
    /// building it.
    pub fn variables_view(&self) -> VariablesView<'_> {
        VariablesView(self)
    }

    /// The variables every group has besides its properties.
    fn group_variables(&self) -> [(&'static str, Value); 3] {
        [
            ("user_group_id", json!(self.sub.as_str())),
            ("user_group_name", json!(self.name.as_str())),
            ("team_id", json!(self.team_id.get())),
        ]
    }
}

/// The variables of a token's claims, serialized from the claims: its
/// properties, then the group's own variables.
#[derive(Debug, Clone, Copy)]
pub struct VariablesView<'a>(&'a Claims);

impl Serialize for VariablesView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let properties = self.0.properties.as_ref().map(Properties::as_map);
        let own = self.0.group_variables();
        let mut map = serializer.serialize_map(Some(properties.map_or(0, Map::len) + own.len()))?;
        for (name, value) in properties.into_iter().flatten() {
            map.serialize_entry(name, value)?;
        }
        for (name, value) in &own {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}
