//! lexgate: the law-firm CRM behind one GraphQL API, on embedded SQLite or PostgreSQL.
// The merged Query and Mutation roots nest their resolvers' futures deeper than the default
// limit lets the compiler prove them `Send`.
#![recursion_limit = "256"]

pub mod access_policy;
pub mod app;
pub mod audit;
pub mod billing;
pub mod calendar_feeds;
pub mod campaigns;
pub mod communications;
pub mod config;
pub mod contacts;
pub mod db;
pub mod deadlines;
pub mod directory;
pub mod documents;
pub mod error;
pub mod gdpr;
pub mod graphql;
pub mod http;
pub mod identity;
pub mod ids;
pub mod listing;
pub mod mail;
pub mod matters;
pub mod metrics;
pub mod personal_data;
pub mod reports;
pub mod seed;
pub mod server;
pub mod sync;
pub mod telemetry;
pub mod timeline;
pub mod validation;
