//! The state both seeding modes share: the random source, what was created so far (ids kept
//! in memory so later records can refer to earlier ones) and the running counts.
//!
//! A `Seeder` is moved into each transaction closure and handed back when it commits, so one
//! deterministic random stream runs through every batch.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::names::{StaffMember, STAFF, TEAMS};
use super::SeedSummary;
use crate::communications::{self, PreparedCommunication};
use crate::contacts::ContactRules;
use crate::db::AnyConnection;
use crate::deadlines::{self, PreparedDeadline};
use crate::directory::{self, CreateTeamInput, CreateUserInput};
use crate::error::Result;
use crate::ids::{self, NodeType};

/// The demo's "today": every generated date is this plus or minus a deterministic offset.
pub const BASE_DATE: NaiveDate = date(2026, 1, 1);

/// A date for constants: evaluated at compile time there, so a typo fails the build.
pub const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid date constant"),
    }
}

/// The demo firm's e-mail domain; its users being there means the demo was seeded.
pub const DEMO_DOMAIN: &str = "studiolegale-demo.it";

/// What differs between the demo and a synthetic data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Demo,
    Synthetic { seed: u64 },
}

/// A user of the firm, by index into `STAFF`.
#[derive(Debug, Clone)]
pub struct StaffRef {
    pub id: String,
    pub role: &'static str,
}

#[derive(Debug, Clone)]
pub struct TeamRef {
    pub id: String,
    /// Indexes into `Seeder::staff`; the first is the team's lead partner.
    pub members: &'static [usize],
}

#[derive(Debug, Clone)]
pub struct ContactRef {
    pub id: String,
    pub name: String,
}

/// An organisation people can work for, with the domain of its staff's e-mail addresses.
#[derive(Debug, Clone)]
pub struct OrgRef {
    pub contact: u32,
    pub domain: String,
}

#[derive(Debug, Clone)]
pub struct MatterRef {
    pub id: String,
    pub reference: String,
    pub clients: Vec<u32>,
    pub counterparties: Vec<u32>,
    /// Indexes into `Seeder::staff`, the responsible lawyer first.
    pub team: Vec<usize>,
    /// Index into `Seeder::teams`.
    pub firm_team: usize,
    pub litigious: bool,
    pub opened: NaiveDate,
    /// When activity on the matter stops: its closing date, or the end of the demo year.
    pub until: NaiveDate,
}

/// Validated records not written yet: `Seeder::flush` writes them with multi-row INSERTs,
/// which is what makes seeding hundreds of thousands of records fast.
#[derive(Default)]
pub struct Pending {
    pub communications: Vec<PreparedCommunication>,
    pub deadlines: Vec<PreparedDeadline>,
}

pub struct Seeder {
    pub rng: StdRng,
    pub mode: Mode,
    pub rules: ContactRules,
    pub staff: Vec<StaffRef>,
    pub teams: Vec<TeamRef>,
    pub contacts: Vec<ContactRef>,
    pub clients: Vec<u32>,
    pub counterparties: Vec<u32>,
    pub courts: Vec<u32>,
    pub orgs: Vec<OrgRef>,
    pub matters: Vec<MatterRef>,
    /// Display names used so far (demo only: a small firm has no two "Mario Rossi").
    pub used_names: HashSet<String>,
    /// Next matter number per year of opening.
    pub matter_numbers: Vec<(i32, u32)>,
    /// How many matters this run will open: spreads their opening dates evenly.
    pub planned_matters: u64,
    /// The legitimate-interest assessment seeded grounds cite.
    pub assessment: Option<async_graphql::ID>,
    pub summary: SeedSummary,
    pub pending: Pending,
}

impl Seeder {
    pub fn new(mode: Mode, seed: u64) -> Seeder {
        Seeder {
            rng: StdRng::seed_from_u64(seed),
            mode,
            rules: ContactRules::default(),
            staff: Vec::new(),
            teams: Vec::new(),
            contacts: Vec::new(),
            clients: Vec::new(),
            counterparties: Vec::new(),
            courts: Vec::new(),
            orgs: Vec::new(),
            matters: Vec::new(),
            used_names: HashSet::new(),
            matter_numbers: Vec::new(),
            planned_matters: 0,
            assessment: None,
            summary: SeedSummary::default(),
            pending: Pending::default(),
        }
    }

    /// Writes the queued records in the caller's transaction (after the contacts and matters
    /// they refer to).
    pub fn flush(&mut self, conn: &mut AnyConnection) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        communications::insert_prepared(conn, pending.communications)?;
        deadlines::insert_prepared(conn, pending.deadlines)?;
        Ok(())
    }

    pub fn is_demo(&self) -> bool {
        self.mode == Mode::Demo
    }

    /// A per-record suffix that keeps synthetic e-mail addresses unique; none in the demo,
    /// whose names are unique already.
    pub fn unique_suffix(&self, serial: u64) -> String {
        match self.mode {
            Mode::Demo => String::new(),
            Mode::Synthetic { .. } => format!(".{serial}"),
        }
    }

    /// Creates the firm's users and teams (the same people in both modes; a synthetic set gets
    /// its own domain and team names so several seeds can share a database).
    pub fn create_staff(&mut self, conn: &mut AnyConnection) -> Result<()> {
        for member in STAFF {
            let user = directory::create_user(conn, self.user_input(member))?;
            self.staff.push(StaffRef {
                id: user.id,
                role: member.2,
            });
            self.summary.users += 1;
        }
        for (name, description, members) in TEAMS {
            let member_ids = members
                .iter()
                .filter_map(|&i| self.staff.get(i))
                .map(|user| ids::encode(NodeType::User, &user.id))
                .collect();
            let team = directory::create_team(
                conn,
                CreateTeamInput {
                    name: self.team_name(name),
                    description: Some(description.to_owned()),
                    member_ids,
                },
            )?;
            self.teams.push(TeamRef {
                id: team.id,
                members,
            });
            self.summary.teams += 1;
        }
        Ok(())
    }

    fn user_input(&self, (given, family, role): StaffMember) -> CreateUserInput {
        let domain = match self.mode {
            Mode::Demo => DEMO_DOMAIN.to_owned(),
            Mode::Synthetic { seed } => format!("synthetic-{seed}.example.com"),
        };
        CreateUserInput {
            email: format!(
                "{}.{}@{domain}",
                super::codes::slug(given, "."),
                super::codes::slug(family, ".")
            ),
            display_name: format!("{given} {family}"),
            role: role.to_owned(),
        }
    }

    fn team_name(&self, name: &str) -> String {
        match self.mode {
            Mode::Demo => name.to_owned(),
            Mode::Synthetic { seed } => format!("{name} (seed {seed})"),
        }
    }

    /// Staff indexes of the partners and lawyers: who can be responsible for a client.
    pub fn fee_earners(&self) -> Vec<usize> {
        self.staff
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.role, "partner" | "lawyer"))
            .map(|(i, _)| i)
            .collect()
    }

    pub fn user_id(&self, staff: usize) -> Option<async_graphql::ID> {
        self.staff
            .get(staff)
            .map(|s| ids::encode(NodeType::User, &s.id))
    }

    pub fn contact_id(&self, contact: u32) -> Option<async_graphql::ID> {
        self.contacts
            .get(contact as usize)
            .map(|c| ids::encode(NodeType::Contact, &c.id))
    }

    pub fn contact_name(&self, contact: u32) -> &str {
        self.contacts
            .get(contact as usize)
            .map_or("", |c| c.name.as_str())
    }
}

/// A uniformly chosen element of a constant list; the length is checked at compile time.
pub fn pick<T: Copy, const N: usize>(rng: &mut StdRng, items: &[T; N]) -> T {
    const { assert!(N > 0, "cannot pick from an empty list") };
    items[rng.random_range(0..N)]
}

/// A uniformly chosen element of a list that may be empty.
pub fn pick_in<T: Clone>(rng: &mut StdRng, items: &[T]) -> Option<T> {
    if items.is_empty() {
        return None;
    }
    items.get(rng.random_range(0..items.len())).cloned()
}

/// An element chosen with the given relative weights (at least one of them non-zero).
pub fn weighted<T: Copy, const N: usize>(rng: &mut StdRng, items: &[(T, u32); N]) -> T {
    const { assert!(N > 0, "cannot pick from an empty list") };
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for &(item, weight) in items {
        if roll < weight {
            return item;
        }
        roll -= weight;
    }
    items[N - 1].0
}

/// `BASE_DATE` moved by `days` (negative for the past).
pub fn day(days: i64) -> NaiveDate {
    BASE_DATE + TimeDelta::days(days)
}

/// A UTC instant on `date`, `minutes` after midnight.
pub fn at(date: NaiveDate, minutes: u32) -> DateTime<Utc> {
    (date.and_time(NaiveTime::MIN) + TimeDelta::minutes(i64::from(minutes))).and_utc()
}

/// A date between `from` and `to` inclusive (`from` when the range is empty).
pub fn date_between(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    from + TimeDelta::days(rng.random_range(0..=span))
}
