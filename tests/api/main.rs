//! End-to-end tests of the lexgate API over HTTP, on SQLite and on PostgreSQL.

mod fixtures;
mod harness;

mod audit;
mod auth;
mod authorization;
mod campaigns;
mod communications;
mod contacts;
mod deadlines;
mod directory;
mod gdpr;
mod http;
mod limits;
mod matters;
mod nodes;
mod oidc;
mod reports;
mod schema;
mod seed;
mod smoke;
mod statements;
