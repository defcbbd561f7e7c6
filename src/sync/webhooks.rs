//! Inbound webhook events: each event id is accepted once per instance, so a provider's
//! redelivery does not trigger a second sync.

use diesel::prelude::*;

use crate::db::schema::webhook_events;
use crate::db::{now, AnyConnection};
use crate::error::Result;

/// Records the event; `false` when it was seen before.
pub fn first_delivery(conn: &mut AnyConnection, instance_id: &str, event_id: &str) -> Result<bool> {
    let inserted = crate::db::transaction(conn, |c| {
        diesel::insert_into(webhook_events::table)
            .values((
                webhook_events::instance_id.eq(instance_id),
                webhook_events::event_id.eq(event_id),
                webhook_events::received_at.eq(now()),
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
