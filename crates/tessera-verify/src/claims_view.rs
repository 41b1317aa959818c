//! The claims of a token as they are written: a view that borrows every
//! part from where it lives (the group's record, the issuer's policy, the
//! session), so signing puts a group's mapping and properties into the
//! token without copying them. [`Claims`] serializes through this view
//! too, so the wire format is written down once. Reading a token is
//! [`Claims`]' `Deserialize`, not this.

use serde::Serialize;

use crate::claims::{Audience, Claims, SessionId, TokenId};
use crate::domain::{GroupId, GroupName, Mapping, Properties, TeamId};

/// The `aud` claim, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AudienceView<'a> {
    /// A single audience, written as a string.
    One(&'a str),
    /// Several audiences, written as a list.
    Many(&'a [String]),
}

/// Every claim of a token, borrowed; field for field [`Claims`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClaimsView<'a> {
    /// Issuer.
    pub iss: &'a str,
    /// Audience.
    pub aud: AudienceView<'a>,
    /// The group's `provided_id`.
    pub sub: &'a GroupId,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before (seconds since the epoch).
    pub nbf: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Unique token id.
    pub jti: &'a TokenId,
    /// The group's internal id.
    pub team_id: TeamId,
    /// The group's display name.
    pub name: &'a GroupName,
    /// Schema id to data source id.
    pub mapping: &'a Mapping,
    /// The group's variables, or null.
    pub properties: Option<&'a Properties>,
    /// The group's token generation.
    pub r#gen: u64,
    /// The viewing session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<&'a SessionId>,
    /// When the session started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sst: Option<i64>,
    /// The browser origins the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origins: Option<&'a [String]>,
}

impl Audience {
    /// The audience, borrowed.
    pub fn view(&self) -> AudienceView<'_> {
        match self {
            Self::One(one) => AudienceView::One(one),
            Self::Many(many) => AudienceView::Many(many),
        }
    }
}

impl Claims {
    /// The claims, borrowed.
    pub fn view(&self) -> ClaimsView<'_> {
        ClaimsView {
            iss: &self.iss,
            aud: self.aud.view(),
            sub: &self.sub,
            iat: self.iat,
            nbf: self.nbf,
            exp: self.exp,
            jti: &self.jti,
            team_id: self.team_id,
            name: &self.name,
            mapping: &self.mapping,
            properties: self.properties.as_ref(),
            r#gen: self.r#gen,
            sid: self.sid.as_ref(),
            sst: self.sst,
            origins: self.origins.as_deref(),
        }
    }
}

/// Serializes through [`ClaimsView`]: one wire format for both.
impl Serialize for Claims {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}

impl ClaimsView<'_> {
    /// Owned claims with the same content (a copy of every part).
    pub fn to_claims(&self) -> Claims {
        Claims {
            iss: self.iss.to_owned(),
            aud: match self.aud {
                AudienceView::One(one) => Audience::One(one.to_owned()),
                AudienceView::Many(many) => Audience::Many(many.to_vec()),
            },
            sub: self.sub.clone(),
            iat: self.iat,
            nbf: self.nbf,
            exp: self.exp,
            jti: self.jti.clone(),
            team_id: self.team_id,
            name: self.name.clone(),
            mapping: self.mapping.clone(),
            properties: self.properties.cloned(),
            r#gen: self.r#gen,
            sid: self.sid.cloned(),
            sst: self.sst,
            origins: self.origins.map(<[String]>::to_vec),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(json: serde_json::Value) -> Claims {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn owned_and_borrowed_claims_and_variables_write_the_same_json() {
        let full = claims(json!({
            "iss": "https://tessera.example", "aud": ["a", "b"], "sub": "g",
            "iat": 10, "nbf": 10, "exp": 20, "jti": "abcdefghijklmnop",
            "team_id": 3, "name": "G", "mapping": {"40": "213"},
            "properties": {"tenant": "t1", "ids": [1, 2]}, "gen": 2,
            "sid": "qrstuvwxyzabcdef", "sst": 5, "origins": ["https://app.example"]
        }));
        let bare = claims(json!({
            "iss": "i", "aud": "dashboards", "sub": "g", "iat": 10, "nbf": 10,
            "exp": 20, "jti": "abcdefghijklmnop", "team_id": 3, "name": "G",
            "mapping": {}, "properties": null, "gen": 1
        }));
        for owned in [full, bare] {
            assert_eq!(
                serde_json::to_string(&owned.variables_view()).unwrap(),
                serde_json::to_string(&owned.variables()).unwrap()
            );
            let written = serde_json::to_string(&owned).unwrap();
            assert_eq!(written, serde_json::to_string(&owned.view()).unwrap());
            assert_eq!(owned.view().to_claims(), owned);
            assert_eq!(serde_json::from_str::<Claims>(&written).unwrap(), owned);
        }
    }

    #[test]
    fn absent_session_fields_are_left_out_and_one_audience_is_a_string() {
        let bare = claims(json!({
            "iss": "i", "aud": "dashboards", "sub": "g", "iat": 10, "nbf": 10,
            "exp": 20, "jti": "abcdefghijklmnop", "team_id": 3, "name": "G",
            "mapping": {}, "properties": null, "gen": 1
        }));
        let written = serde_json::to_value(bare.view()).unwrap();
        assert_eq!(written["aud"], "dashboards");
        for absent in ["sid", "sst", "origins"] {
            assert!(written.get(absent).is_none(), "{absent}: {written}");
        }
    }
}
