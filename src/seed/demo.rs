//! The demo firm: a Milan law firm with its staff, clients, matters and a year of activity.

use diesel::prelude::*;

use super::seeder::{Mode, Seeder, DEMO_DOMAIN};
use super::SeedSummary;
use crate::contacts::ContactKind;
use crate::db::schema::users;
use crate::db::{AnyConnection, Database};
use crate::error::{Error, Result};

/// The demo's random stream; changing it changes every name in the demo.
const DEMO_SEED: u64 = 2026;

const ORGANIZATIONS: u64 = 90;
const PEOPLE: u64 = 210;

/// What `demo` creates, exactly.
pub const DEMO_COUNTS: SeedSummary = SeedSummary {
    users: 12,
    teams: 4,
    contacts: ORGANIZATIONS + PEOPLE,
    matters: 80,
    communications: 600,
    deadlines: 200,
    campaigns: 3,
};

/// A realistic, deterministic demo firm (Italian and English names), written in one
/// transaction so a failure leaves nothing behind. Refuses (`Error::Conflict`) if the demo
/// firm is already there.
pub async fn demo(db: &Database) -> Result<SeedSummary> {
    db.transaction(|conn| {
        ensure_absent(conn)?;
        let mut seeder = Seeder::new(Mode::Demo, DEMO_SEED);
        seeder.planned_matters = DEMO_COUNTS.matters;
        seeder.create_staff(conn)?;
        seeder.create_assessment(conn)?;
        // Organisations first, so that people can be affiliated with them.
        for _ in 0..ORGANIZATIONS {
            seeder.add_contact(conn, ContactKind::Organization)?;
        }
        for _ in 0..PEOPLE {
            seeder.add_contact(conn, ContactKind::Person)?;
        }
        for _ in 0..DEMO_COUNTS.matters {
            seeder.add_matter(conn)?;
        }
        for _ in 0..DEMO_COUNTS.communications {
            seeder.add_communication()?;
        }
        for _ in 0..DEMO_COUNTS.deadlines {
            seeder.add_deadline()?;
        }
        seeder.flush(conn)?;
        seeder.add_campaigns(conn)?;
        Ok(seeder.summary)
    })
    .await
}

/// The demo firm's users are the mark that it was seeded already.
fn ensure_absent(conn: &mut AnyConnection) -> Result<()> {
    let existing: i64 = users::table
        .filter(users::email.like(format!("%@{DEMO_DOMAIN}")))
        .count()
        .get_result(conn)?;
    if existing > 0 {
        return Err(Error::Conflict {
            field: None,
            message: format!(
                "the demo firm is already in this database ({existing} users @{DEMO_DOMAIN})"
            ),
        });
    }
    Ok(())
}
