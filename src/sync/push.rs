//! Pushing contacts out to a connector's provider. Restricted contacts (Art. 18) are never
//! pushed; every push of personal data is recorded as a disclosure to that recipient, which
//! the data subject's access export lists.

use diesel::prelude::*;
use lexgate_connectors::{Connector, OutboundContact};
use tracing::Instrument;

use super::instances::InstanceRow;
use crate::audit::ChangeLog;
use crate::contacts;
use crate::db::schema::{data_recipients, sync_links};
use crate::db::{new_id, now, AnyConnection, Database};
use crate::error::{Error, Result};

/// Reads the contact and refuses a restricted one.
fn outbound(
    conn: &mut AnyConnection,
    instance_id: &str,
    contact_id: &str,
) -> Result<OutboundContact> {
    let contact = contacts::get(conn, contact_id)?;
    if contact.restricted_at.is_some() {
        return Err(Error::Conflict {
            field: Some("input.contactId".into()),
            message: "the contact's processing is restricted; it is not disclosed to anyone".into(),
        });
    }
    let ids = [contact_id.to_owned()];
    let emails = contacts::emails_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    let phones = contacts::phones_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    let external_id = sync_links::table
        .filter(sync_links::instance_id.eq(instance_id))
        .filter(sync_links::contact_id.eq(contact_id))
        .filter(sync_links::deleted_at.is_null())
        .select(sync_links::external_id)
        .first::<String>(conn)
        .optional()?;
    Ok(OutboundContact {
        id: contact.id,
        external_id,
        display_name: contact.display_name,
        emails: emails.into_iter().map(|e| e.address).collect(),
        phones: phones.into_iter().map(|p| p.number).collect(),
    })
}

/// Sends the contact to the instance's provider and records the disclosure.
pub async fn push_contact(
    db: &Database,
    instance: &InstanceRow,
    connector: &dyn Connector,
    contact_id: &str,
) -> Result<String> {
    push_contact_logged(db, instance, connector, contact_id, None).await
}

/// Like [`push_contact`], with the disclosure's access-log entry, naming the contact,
/// appended by `log` in the transaction that records the disclosure.
pub async fn push_contact_logged(
    db: &Database,
    instance: &InstanceRow,
    connector: &dyn Connector,
    contact_id: &str,
    log: Option<&ChangeLog>,
) -> Result<String> {
    if !connector.capabilities().push_contacts {
        return Err(Error::invalid(
            "input.instanceId",
            "this connector cannot push contacts",
        ));
    }
    let (instance_id, id) = (instance.id.clone(), contact_id.to_owned());
    let contact = db
        .run(move |conn| outbound(conn, &instance_id, &id))
        .await?;
    let external_id = connector
        .push_contact(&contact)
        .instrument(super::connector_span(
            connector,
            &instance.name,
            "push",
            "contacts",
        ))
        .await
        .map_err(|e| Error::Unavailable(format!("the provider did not take the contact: {e}")))?;
    let (instance_id, name) = (instance.id.clone(), instance.name.clone());
    let fields = serde_json::to_string(&contact.disclosed_fields())
        .map_err(|e| Error::Internal(format!("json: {e}")))?;
    let recorded_external = external_id.clone();
    let logged = log.cloned();
    db.transaction(move |conn| {
        diesel::insert_into(data_recipients::table)
            .values((
                data_recipients::id.eq(new_id()),
                data_recipients::contact_id.eq(&contact.id),
                data_recipients::instance_id.eq(&instance_id),
                data_recipients::recipient.eq(&name),
                data_recipients::fields.eq(&fields),
                data_recipients::external_id.eq(&recorded_external),
                data_recipients::disclosed_at.eq(now()),
            ))
            .execute(conn)?;
        if let Some(log) = &logged {
            log.append_within(conn, vec![contact.id.clone()])?;
        }
        Ok(())
    })
    .await?;
    if let Some(log) = log {
        log.committed();
    }
    Ok(external_id)
}

/// A disclosure of a contact's data, for the access export.
#[derive(Debug, Clone, Queryable)]
pub struct Disclosure {
    pub recipient: String,
    pub fields: String,
    pub disclosed_at: chrono::NaiveDateTime,
}

/// Every recorded disclosure of a contact's data, oldest first.
pub fn disclosures(conn: &mut AnyConnection, contact_id: &str) -> Result<Vec<Disclosure>> {
    Ok(data_recipients::table
        .filter(data_recipients::contact_id.eq(contact_id))
        .order(data_recipients::disclosed_at)
        .select((
            data_recipients::recipient,
            data_recipients::fields,
            data_recipients::disclosed_at,
        ))
        .load(conn)?)
}
