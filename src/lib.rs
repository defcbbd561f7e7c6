//! lexgate: the law-firm CRM behind one GraphQL API, on embedded SQLite or PostgreSQL.

pub mod contacts;
pub mod db;
pub mod directory;
pub mod error;
pub mod ids;
pub mod listing;
pub mod validation;
pub mod communications;
pub mod deadlines;
pub mod matters;
pub mod campaigns;
pub mod reports;
pub mod graphql;
