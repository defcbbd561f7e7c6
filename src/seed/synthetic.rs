//! Large synthetic data sets for benchmarks: the demo's generators, scaled, written in
//! batches so memory stays flat and a crash leaves only whole batches.

use rand::Rng;

use super::seeder::{Mode, Seeder};
use super::SeedSummary;
use crate::contacts::ContactKind;
use crate::db::{AnyConnection, Database};
use crate::error::{Error, Result};

/// Records per transaction: large enough to amortise commits, small enough to keep each
/// transaction (and SQLite's single-writer lock) short.
const BATCH: u64 = 1000;

/// Phone numbers and partite IVA stay unique below this many contacts.
const MAX_CONTACTS: u64 = 10_000_000;

/// How many records of each kind to create.
#[derive(Debug, Clone, Copy)]
pub struct SyntheticSizes {
    pub contacts: u64,
    pub matters: u64,
    pub communications: u64,
    pub deadlines: u64,
}

impl SyntheticSizes {
    /// All requested records: the value `progress` reaches at the end.
    pub fn total(&self) -> u64 {
        self.contacts + self.matters + self.communications + self.deadlines
    }
}

/// The records of the kinds `SyntheticSizes` asks for, written so far.
fn sized_progress(summary: &SeedSummary) -> u64 {
    summary.contacts + summary.matters + summary.communications + summary.deadlines
}

/// Large deterministic synthetic data sets (for benchmarks). `progress(n)` is called with the
/// number of records written so far (all kinds together) after each committed batch, ending
/// at `sizes.total()`. The set also gets its own 12 users and 4 teams (in the summary, not in
/// the progress count), with team names and matter references tagged with `seed`, so sets
/// with different seeds can share a database; the same seed twice is refused.
pub async fn synthetic(
    db: &Database,
    sizes: SyntheticSizes,
    seed: u64,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<SeedSummary> {
    check_sizes(sizes)?;
    let mut seeder = Seeder::new(Mode::Synthetic { seed }, seed);
    seeder.planned_matters = sizes.matters;
    seeder = db
        .transaction(move |conn| {
            seeder.create_staff(conn)?;
            seeder.create_assessment(conn)?;
            Ok(seeder)
        })
        .await?;
    seeder = in_batches(db, seeder, sizes.contacts, &progress, add_any_contact).await?;
    seeder = in_batches(db, seeder, sizes.matters, &progress, Seeder::add_matter).await?;
    seeder = in_batches(db, seeder, sizes.communications, &progress, |s, _| {
        s.add_communication()
    })
    .await?;
    seeder = in_batches(db, seeder, sizes.deadlines, &progress, |s, _| {
        s.add_deadline()
    })
    .await?;
    Ok(seeder.summary)
}

/// Refuses sizes that cannot be honoured before anything is written.
fn check_sizes(sizes: SyntheticSizes) -> Result<()> {
    if sizes.contacts == 0 && (sizes.matters > 0 || sizes.communications > 0) {
        return Err(Error::invalid(
            "sizes.contacts",
            "matters and communications need contacts; ask for some contacts too",
        ));
    }
    if sizes.contacts > MAX_CONTACTS {
        return Err(Error::invalid(
            "sizes.contacts",
            format!("at most {MAX_CONTACTS} contacts, so that phone numbers stay unique"),
        ));
    }
    Ok(())
}

/// Seven people for every three organisations, interleaved as they would be entered.
fn add_any_contact(seeder: &mut Seeder, conn: &mut AnyConnection) -> Result<()> {
    let kind = if seeder.rng.random_bool(0.3) {
        ContactKind::Organization
    } else {
        ContactKind::Person
    };
    seeder.add_contact(conn, kind)
}

/// Runs `step` `count` times, `BATCH` per transaction (what the steps queued is written at
/// the end of each), reporting progress after each commit.
async fn in_batches<F>(
    db: &Database,
    mut seeder: Seeder,
    count: u64,
    progress: &(impl Fn(u64) + Send + Sync),
    step: F,
) -> Result<Seeder>
where
    F: Fn(&mut Seeder, &mut AnyConnection) -> Result<()> + Copy + Send + 'static,
{
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        seeder = db
            .transaction(move |conn| {
                for _ in 0..n {
                    step(&mut seeder, conn)?;
                }
                seeder.flush(conn)?;
                Ok(seeder)
            })
            .await?;
        done += n;
        progress(sized_progress(&seeder.summary));
    }
    Ok(seeder)
}
