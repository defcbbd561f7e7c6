//! The one error type of the domain services and how it shows in GraphQL responses.

use async_graphql::ErrorExtensions;
use diesel::result::DatabaseErrorKind;

/// One invalid input field: its path inside the mutation input and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("invalid input: {}", summarize(.0))]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    InvalidId(String),
    /// Identifiers of a person the firm erased, without the confirmation that they came
    /// back on a new source and basis.
    #[error("{message}")]
    ErasedSubject { field: String, message: String },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{message}")]
    Forbidden {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database connection error: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Error {
        Error::NotFound {
            entity,
            id: id.into(),
        }
    }

    /// The caller's role may not do this; `field` names the input field at fault, if one is.
    pub fn forbidden(field: Option<&str>, message: impl Into<String>) -> Error {
        Error::Forbidden {
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A missing referenced record is the caller's bad input (naming `field`); any other
    /// failure (the database being down) stays what it is.
    pub fn as_bad_reference(self, field: &str, message: &str) -> Error {
        match self {
            Error::NotFound { .. } => Error::invalid(field, message),
            other => other,
        }
    }

    /// The stable machine-readable code clients switch on (`extensions.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "NOT_FOUND",
            Error::Validation(_) | Error::InvalidId(_) => "BAD_USER_INPUT",
            Error::Conflict { .. } => "CONFLICT",
            Error::ErasedSubject { .. } => "ERASED_SUBJECT",
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::Forbidden { .. } => "FORBIDDEN",
            Error::TooManyRequests(_) => "TOO_MANY_REQUESTS",
            Error::Database(diesel::result::Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _,
            )) => "CONFLICT",
            Error::Unavailable(_)
            | Error::Connection(_)
            | Error::Database(diesel::result::Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )) => "SERVICE_UNAVAILABLE",
            Error::Database(_) | Error::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// A failure of the server or its database rather than of the request.
    pub fn is_server_side(&self) -> bool {
        matches!(self.code(), "INTERNAL_SERVER_ERROR" | "SERVICE_UNAVAILABLE")
    }

    /// The message safe to show a client: never SQL, driver text or internals.
    fn public_message(&self) -> String {
        match self.code() {
            "INTERNAL_SERVER_ERROR" => "internal server error".to_owned(),
            "SERVICE_UNAVAILABLE" => "service temporarily unavailable".to_owned(),
            "CONFLICT" if matches!(self, Error::Database(_)) => {
                "the change conflicts with existing data".to_owned()
            }
            _ => self.to_string(),
        }
    }
}

impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        let error = self;
        let code = error.code();
        if matches!(code, "INTERNAL_SERVER_ERROR" | "SERVICE_UNAVAILABLE") {
            tracing::error!(error = %error, "request failed");
        }
        async_graphql::Error::new(error.public_message()).extend_with(|_, ext| {
            ext.set("code", code);
            match error {
                Error::Validation(fields) => {
                    if let Some(first) = fields.first() {
                        ext.set("field", first.field.clone());
                    }
                    let list: Vec<async_graphql::Value> = fields
                        .iter()
                        .map(|f| {
                            let mut obj = async_graphql::indexmap::IndexMap::new();
                            obj.insert(
                                async_graphql::Name::new("field"),
                                async_graphql::Value::from(f.field.clone()),
                            );
                            obj.insert(
                                async_graphql::Name::new("message"),
                                async_graphql::Value::from(f.message.clone()),
                            );
                            async_graphql::Value::Object(obj)
                        })
                        .collect();
                    ext.set("fieldErrors", list);
                }
                Error::Conflict {
                    field: Some(field), ..
                }
                | Error::Forbidden {
                    field: Some(field), ..
                } => ext.set("field", field.clone()),
                Error::ErasedSubject { field, .. } => ext.set("field", field.clone()),
                Error::NotFound { entity, .. } => ext.set("entity", *entity),
                _ => {}
            }
        })
    }
}

/// Collects field errors so a mutation reports every invalid field at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Validator {
        Validator::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Keeps the value of a check, or records its error under `field`. A check that already
    /// names its fields (an ID decoded at `input.clientIds[2]`) keeps its own, more precise names.
    pub fn check<T, E: std::fmt::Display + 'static>(
        &mut self,
        field: impl Into<String>,
        result: std::result::Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                match (&e as &dyn std::any::Any).downcast_ref::<Error>() {
                    Some(Error::Validation(fields)) => self.errors.extend(fields.iter().cloned()),
                    _ => self.add(field, e.to_string()),
                }
                None
            }
        }
    }

    /// Requires a non-blank string; returns it trimmed.
    pub fn required(&mut self, field: &str, value: &str) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.add(field, "must not be empty");
        }
        trimmed.to_owned()
    }

    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

impl From<deadpool_sync::InteractError> for Error {
    fn from(e: deadpool_sync::InteractError) -> Error {
        Error::Internal(format!("database task failed: {e}"))
    }
}

/// Turns a domain result into a GraphQL one, keeping the typed extensions.
pub trait GraphqlResult<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GraphqlResult<T> for Result<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_field_errors_keep_their_names() {
        let mut v = Validator::new();
        let nested: Result<(), Error> =
            Err(Error::invalid("input.clientIds[2]", "not a Contact ID"));
        assert!(v.check("input.clientIds", nested).is_none());
        let plain: Result<(), String> = Err("bad".to_owned());
        assert!(v.check("input.email", plain).is_none());
        let Err(Error::Validation(fields)) = v.finish() else {
            panic!("expected a validation error");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["input.clientIds[2]", "input.email"]);
        assert_eq!(fields[0].message, "not a Contact ID");
    }
}
