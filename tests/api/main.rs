//! End-to-end tests of the lexgate API over HTTP, on SQLite and on PostgreSQL.

mod fixtures;
mod harness;

mod anonymized_export;
mod audit;
mod auth;
mod authorization;
mod campaigns;
mod communications;
mod connectors;
mod contacts;
mod deadlines;
mod directory;
mod dsar;
mod erasure;
mod gdpr;
mod http;
mod limits;
mod matters;
mod minimisation;
mod nodes;
mod oidc;
mod registers;
mod reports;
mod retention;
mod schema;
mod security;
mod seed;
mod smoke;
mod statements;
mod subject_rights;
mod sync;
