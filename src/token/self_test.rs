//! The start-up self-test: sign one token with the active key and verify it
//! with the same code that judges clients' tokens. A service whose keys
//! cannot do that must not start.

use chrono::{DateTime, Utc};

use super::{KeyRing, TokenError, TokenIssuer, TokenPolicy, verify};
use crate::domain::{GroupId, GroupRecord, GroupUpsert, TeamId};

/// Signs and verifies one token; the error says which step failed.
pub fn self_test(
    keys: &KeyRing,
    policy: &TokenPolicy,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    // With no (or two) jsonwebtoken crypto backends, decoding would panic.
    if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
        return Err(TokenError::Signing(
            "jsonwebtoken has no single crypto backend (build misconfigured)".into(),
        ));
    }
    let broken = |err: crate::domain::FieldError| TokenError::Signing(err.to_string());
    let group = GroupRecord::create(
        TeamId::new(1).map_err(broken)?,
        &GroupUpsert {
            id: GroupId::parse("tessera-self-test").map_err(broken)?,
            name: None,
            mapping: None,
            properties: None,
        },
        now,
    );
    let issued = TokenIssuer::new(keys, policy).issue(&group, None, now)?;
    let claims = verify(keys.keyset(), &policy.verify, &issued.token, now)?;
    if claims.sub != group.provided_id || claims.team_id != group.team_id {
        return Err(TokenError::ClaimsInvalid(
            "verified claims differ from the signed ones".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::token::KeyAlgorithm;

    fn policy() -> TokenPolicy {
        TokenPolicy {
            verify: crate::token::VerifyPolicy {
                issuer: "http://issuer.test".into(),
                audience: "dashboards".into(),
                max_ttl: Duration::from_secs(86_400),
                leeway: Duration::from_secs(60),
            },
            default_ttl: Duration::from_secs(3600),
            max_session: Duration::from_secs(7 * 86_400),
            refresh_grace: Duration::ZERO,
        }
    }

    #[test]
    fn every_algorithm_issues_tokens_the_verifier_accepts() {
        for alg in KeyAlgorithm::ALL {
            let dir = tempfile::tempdir().unwrap();
            KeyRing::generate(dir.path(), alg, Utc::now()).unwrap();
            let keys = KeyRing::load(dir.path()).unwrap();
            assert_eq!(keys.active().0.alg, alg);
            assert_eq!(self_test(&keys, &policy(), Utc::now()), Ok(()), "{alg}");
        }
    }

    #[test]
    fn the_verifier_judges_time_with_the_given_clock() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = KeyRing::load_or_init(dir.path(), Utc::now()).unwrap();
        let policy = policy();
        let now = Utc::now();
        let group = GroupRecord::create(
            TeamId::new(7).unwrap(),
            &GroupUpsert {
                id: GroupId::parse("g").unwrap(),
                name: None,
                mapping: None,
                properties: None,
            },
            now,
        );
        let token = TokenIssuer::new(&keys, &policy)
            .issue(&group, Some(Duration::from_secs(600)), now)
            .unwrap()
            .token;
        let at = |seconds: i64| now + chrono::Duration::seconds(seconds);
        let (set, rules) = (keys.keyset(), &policy.verify);
        assert!(verify(set, rules, &token, at(0)).is_ok());
        assert!(
            verify(set, rules, &token, at(659)).is_ok(),
            "inside the leeway"
        );
        assert_eq!(
            verify(set, rules, &token, at(661)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(set, rules, &token, at(-61)),
            Err(TokenError::NotYetValid)
        );

        let mut other = rules.clone();
        other.audience = "elsewhere".into();
        assert!(matches!(
            verify(set, &other, &token, now),
            Err(TokenError::ClaimsInvalid(_))
        ));
    }
}
