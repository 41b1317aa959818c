//! `validated_string!` (exported at the crate root for the server's own
//! newtypes): the conversions every validated string newtype
//! needs, written once. The type keeps its own `parse` constructor (the one
//! place its rule is checked); the macro adds `as_str`, `Display`,
//! `Borrow<str>`, `Serialize` (borrowed), `From<T> for String`, and
//! `TryFrom<String>` through `parse`, which is
//! what serde's `try_from = "String"` uses, so stored data is re-validated
//! when read back.

#[macro_export]
macro_rules! validated_string {
    ($type:ident, $error:ty) => {
        impl $type {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $type {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> Self {
                value.0
            }
        }

        /// Hashes and compares as its text, so maps keyed by the type can
        /// be searched with a `&str`.
        impl std::borrow::Borrow<str> for $type {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        /// Serializes as its text, borrowed (no copy of the string).
        impl ::serde::Serialize for $type {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
