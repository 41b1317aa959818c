//! Domain types of a user group: the only place where the rules for ids,
//! names, mappings and properties (docs/api.md, docs/architecture.md) are
//! checked.
//!
//! Every type here is built by a constructor that validates its input, so a
//! value that exists is valid; code past the HTTP handler never re-checks.
//! Nothing here knows about HTTP, Redis or JWTs.

mod field_error;
mod group;
mod group_id;
mod group_name;
mod mapping;
mod origin;
mod properties;
mod text;

pub use field_error::FieldError;
pub use group::{GroupRecord, GroupUpsert, MAX_GROUP_CLAIMS_BYTES, MAX_SAFE_INTEGER, TeamId};
pub use group_id::GroupId;
pub use group_name::GroupName;
pub use mapping::Mapping;
pub use origin::{MAX_ALLOWED_ORIGINS, MAX_ORIGIN_BYTES, parse_origin};
pub use properties::{Properties, PropertyName, RESERVED_PROPERTY_NAMES};
