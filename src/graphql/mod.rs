//! The GraphQL API: a thin layer of object types and resolvers over the domain services.
//! `execution` builds and runs the schema, `node` fetches any object by its global ID,
//! `shared` holds what several object types use; one module per domain area holds its types.

pub mod access_log;
pub mod admission;
pub mod billing;
pub mod calendar_feeds;
pub mod campaigns;
pub mod communications;
pub mod connectors;
pub mod contacts;
pub mod context;
pub mod deadlines;
pub mod digests;
pub mod directory;
pub mod documents;
pub mod execution;
pub mod field_guard;
pub mod gdpr;
pub mod identity;
pub mod input_text;
pub mod limits;
pub mod loaders;
pub mod matters;
pub mod node;
pub mod pagination;
pub mod query_cache;
pub mod registers;
pub mod reports;
pub mod retention;
pub mod roles;
pub mod schema_map;
pub mod shared;
pub mod subject_rights;
pub mod telemetry;
pub mod visibility;

pub use execution::{build_schema, execute, sdl, AppSchema, Caller, MutationRoot, QueryRoot};
pub use node::Node;
pub use shared::{decode_id, load_many, DeleteInput, DeletePayload};
