//! Seeding: a realistic demo firm, and large deterministic synthetic data sets for benchmarks.
//!
//! Everything is written through the domain services, so seeded data passes the same
//! validation as data entered by users. Generation is driven by one seeded random stream:
//! the same seed on an empty database gives the same records (apart from the generated
//! UUIDs and the services' own timestamps); dates derive from a fixed base date, not today.

mod codes;
mod contacts;
mod demo;
mod names;
mod provenance;
mod seeder;
mod synthetic;
mod work;

#[cfg(test)]
mod tests;

pub use demo::{demo, DEMO_COUNTS};
pub use synthetic::{synthetic, SyntheticSizes};

/// How many records of each kind a seeding run created.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedSummary {
    pub users: u64,
    pub teams: u64,
    pub contacts: u64,
    pub matters: u64,
    pub communications: u64,
    pub deadlines: u64,
    pub campaigns: u64,
}

impl SeedSummary {
    /// All records together.
    pub fn total(&self) -> u64 {
        self.users
            + self.teams
            + self.contacts
            + self.matters
            + self.communications
            + self.deadlines
            + self.campaigns
    }
}

impl std::fmt::Display for SeedSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts = [
            (self.users, "user", "users"),
            (self.teams, "team", "teams"),
            (self.contacts, "contact", "contacts"),
            (self.matters, "matter", "matters"),
            (self.communications, "communication", "communications"),
            (self.deadlines, "deadline", "deadlines"),
            (self.campaigns, "campaign", "campaigns"),
        ];
        let text: Vec<String> = parts
            .iter()
            .map(|&(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
            .collect();
        f.write_str(&text.join(", "))
    }
}
