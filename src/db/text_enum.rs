//! Enums stored as lower-case text, the one representation both backends share.

/// Declares an enum exposed in GraphQL and stored as text, with `as_str` / `from_db`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Reads a stored value; an unknown one means the database was changed behind our back.
            pub fn from_db(value: &str) -> $crate::error::Result<$name> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::error::Error::Internal(format!(
                        "unknown {} value in database: {other}", stringify!($name)
                    ))),
                }
            }
        }
    };
}

pub(crate) use text_enum;
