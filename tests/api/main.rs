//! End-to-end tests of the lexgate API over HTTP, on SQLite and on PostgreSQL.

mod fixtures;
mod harness;

mod schema;
mod smoke;
