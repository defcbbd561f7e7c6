//! The lease that lets one run at a time sync an instance, whether the runs start in one
//! process (a webhook during a scheduled run) or in several against one database. A run
//! takes a free or expired lease, renews it with every page (inside the page's transaction,
//! so a page is only committed while the lease is held) and releases it at the end; a
//! crashed holder's lease simply expires.

use diesel::prelude::*;

use crate::db::schema::sync_leases;
use crate::db::{now, AnyConnection};
use crate::error::Result;

/// Takes the lease of `instance_id` for `holder` unless a live one is held, by anyone:
/// `holder` names a process, so its own live lease means one of its runs is still going.
pub fn acquire(
    conn: &mut AnyConnection,
    instance_id: &str,
    holder: &str,
    ttl: chrono::Duration,
) -> Result<bool> {
    let at = now();
    // Only an expired lease is taken over; under concurrency the row lock makes the second
    // taker re-check the condition and find the lease live.
    let taken = diesel::update(
        sync_leases::table.filter(
            sync_leases::instance_id
                .eq(instance_id)
                .and(sync_leases::expires_at.lt(at)),
        ),
    )
    .set((
        sync_leases::holder.eq(holder),
        sync_leases::expires_at.eq(at + ttl),
    ))
    .execute(conn)?;
    if taken == 1 {
        return Ok(true);
    }
    // No row (never leased) or a live one: an insert decides; a unique violation means
    // another holder was first. Run in a savepoint so the failure leaves the caller's
    // transaction usable on PostgreSQL.
    let inserted = crate::db::transaction(conn, |c| {
        diesel::insert_into(sync_leases::table)
            .values((
                sync_leases::instance_id.eq(instance_id),
                sync_leases::holder.eq(holder),
                sync_leases::expires_at.eq(at + ttl),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Extends the lease if `holder` still holds it; `false` means it was lost (expired and
/// taken over) and the holder must stop.
pub fn renew(
    conn: &mut AnyConnection,
    instance_id: &str,
    holder: &str,
    ttl: chrono::Duration,
) -> Result<bool> {
    let renewed = diesel::update(
        sync_leases::table.filter(
            sync_leases::instance_id
                .eq(instance_id)
                .and(sync_leases::holder.eq(holder)),
        ),
    )
    .set(sync_leases::expires_at.eq(now() + ttl))
    .execute(conn)?;
    Ok(renewed == 1)
}

pub fn release(conn: &mut AnyConnection, instance_id: &str, holder: &str) -> Result<()> {
    diesel::delete(
        sync_leases::table.filter(
            sync_leases::instance_id
                .eq(instance_id)
                .and(sync_leases::holder.eq(holder)),
        ),
    )
    .execute(conn)?;
    Ok(())
}
