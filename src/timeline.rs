//! A matter's history in time order: communications, deadlines, documents and recorded
//! changes. Its own module, above the matters, communications, deadlines and documents it
//! reads, so none of them needs another.

use diesel::prelude::*;

use crate::access_policy::Scope;
use crate::communications::{self, CommunicationQuery, CommunicationRow};
use crate::db::schema::{deadlines, documents, matter_events};
use crate::db::AnyConnection;
use crate::deadlines::DeadlineRow;
use crate::documents::DocumentRow;
use crate::error::Result;
use crate::listing::{Page, SortDirection};
use crate::matters::MatterEventRow;

/// One entry of a matter's timeline.
#[derive(Debug, Clone)]
pub enum TimelineEntry {
    Communication(CommunicationRow),
    Deadline(DeadlineRow),
    /// A document of the case file, at its creation at the store.
    Document(DocumentRow),
    Event(MatterEventRow),
}

impl TimelineEntry {
    /// When the entry happened (or, for a deadline, is due).
    pub fn at(&self) -> chrono::NaiveDateTime {
        match self {
            TimelineEntry::Communication(c) => c.occurred_at,
            TimelineEntry::Deadline(d) => d.due_at,
            TimelineEntry::Document(d) => d.created_at,
            TimelineEntry::Event(e) => e.occurred_at,
        }
    }
}

/// The window `page` of the matter's timeline, oldest first, and the total number of entries.
///
/// Each source is read already ordered and cut at `offset + limit`, so a k-way merge of the
/// four is exact for that window without loading the whole history. Documents (deleted ones
/// too: they are part of the history) only `with_documents`: the caller's role may read them.
pub fn of_matter(
    conn: &mut AnyConnection,
    scope: &Scope,
    matter_id: &str,
    page: Page,
    with_documents: bool,
) -> Result<(Vec<TimelineEntry>, i64)> {
    let reach = Page {
        offset: 0,
        limit: page.offset + page.limit,
    };
    let query = CommunicationQuery::for_matter(matter_id.to_owned());
    let comms = communications::list(conn, scope, &query, SortDirection::Asc, reach)?;
    let comm_total = communications::count(conn, scope, &query)?;
    let dls: Vec<DeadlineRow> = deadlines::table
        .filter(deadlines::matter_id.eq(matter_id))
        .order_by((deadlines::due_at.asc(), deadlines::id.asc()))
        .limit(reach.limit)
        .select(DeadlineRow::as_select())
        .load(conn)?;
    let dl_total: i64 = deadlines::table
        .filter(deadlines::matter_id.eq(matter_id))
        .count()
        .get_result(conn)?;
    let events: Vec<MatterEventRow> = matter_events::table
        .filter(matter_events::matter_id.eq(matter_id))
        .order_by((matter_events::occurred_at.asc(), matter_events::id.asc()))
        .limit(reach.limit)
        .select(MatterEventRow::as_select())
        .load(conn)?;
    let ev_total: i64 = matter_events::table
        .filter(matter_events::matter_id.eq(matter_id))
        .count()
        .get_result(conn)?;
    let (docs, doc_total) = if with_documents {
        let docs: Vec<DocumentRow> = documents::table
            .filter(documents::matter_id.eq(matter_id))
            .order_by((documents::created_at.asc(), documents::id.asc()))
            .limit(reach.limit)
            .select(DocumentRow::as_select())
            .load(conn)?;
        let total: i64 = documents::table
            .filter(documents::matter_id.eq(matter_id))
            .count()
            .get_result(conn)?;
        (docs, total)
    } else {
        (Vec::new(), 0)
    };

    let mut entries: Vec<TimelineEntry> = comms
        .into_iter()
        .map(TimelineEntry::Communication)
        .chain(dls.into_iter().map(TimelineEntry::Deadline))
        .chain(docs.into_iter().map(TimelineEntry::Document))
        .chain(events.into_iter().map(TimelineEntry::Event))
        .collect();
    // Stable sort: at equal times, communications, then deadlines, documents, events.
    entries.sort_by_key(TimelineEntry::at);
    let window = entries
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    Ok((window, comm_total + dl_total + doc_total + ev_total))
}
