//! Row-level need-to-know: which matters, communications, deadlines and contacts a caller
//! may see at all. Worked out once per request; the field policy then decides what of them.

use std::collections::HashSet;

use diesel::prelude::*;

use super::roles::RowScope;
use crate::db::schema::{
    affiliations, communication_participants, communications, contacts, deadline_team_assignees,
    deadline_user_assignees, deadlines, matter_parties, matter_team_members, matters, team_members,
};
use crate::db::AnyConnection;
use crate::error::Result;

/// What a caller may see of the firm's client work.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Everything.
    Firm,
    /// Only the work of the matters the user is on.
    OwnMatters(OwnMatters),
}

#[derive(Debug, Clone, Default)]
pub struct OwnMatters {
    /// `None` for a caller without a user record (an API key or provider token), who sees
    /// nothing of the firm's matters.
    user_id: Option<String>,
    matters: HashSet<String>,
    contacts: HashSet<String>,
    deadlines: HashSet<String>,
}

impl Visibility {
    /// Works out what `user_id` (if any) sees under `scope`.
    pub fn load(
        conn: &mut AnyConnection,
        scope: RowScope,
        user_id: Option<&str>,
    ) -> Result<Visibility> {
        match (scope, user_id) {
            (RowScope::Firm, _) => Ok(Visibility::Firm),
            (RowScope::OwnMatters, None) => Ok(Visibility::OwnMatters(OwnMatters::default())),
            (RowScope::OwnMatters, Some(user)) => {
                Ok(Visibility::OwnMatters(OwnMatters::load(conn, user)?))
            }
        }
    }

    pub fn is_firm_wide(&self) -> bool {
        matches!(self, Visibility::Firm)
    }

    pub fn matter(&self, id: &str) -> bool {
        match self {
            Visibility::Firm => true,
            Visibility::OwnMatters(own) => own.matters.contains(id),
        }
    }

    pub fn contact(&self, id: &str) -> bool {
        match self {
            Visibility::Firm => true,
            Visibility::OwnMatters(own) => own.contacts.contains(id),
        }
    }

    pub fn deadline(&self, id: &str) -> bool {
        match self {
            Visibility::Firm => true,
            Visibility::OwnMatters(own) => own.deadlines.contains(id),
        }
    }

    /// A communication is visible with its matter, or to the user who logged it.
    pub fn communication(&self, matter_id: Option<&str>, author_user_id: Option<&str>) -> bool {
        match self {
            Visibility::Firm => true,
            Visibility::OwnMatters(own) => {
                matter_id.is_some_and(|m| own.matters.contains(m))
                    || (author_user_id.is_some() && author_user_id == own.user_id.as_deref())
            }
        }
    }

    /// The matters a list must stay within; `None` when it need not.
    pub fn matter_ids(&self) -> Option<Vec<String>> {
        self.restricted(|own| &own.matters)
    }

    pub fn contact_ids(&self) -> Option<Vec<String>> {
        self.restricted(|own| &own.contacts)
    }

    pub fn deadline_ids(&self) -> Option<Vec<String>> {
        self.restricted(|own| &own.deadlines)
    }

    /// The user whose own communications stay visible outside their matters.
    pub fn author(&self) -> Option<String> {
        match self {
            Visibility::Firm => None,
            Visibility::OwnMatters(own) => own.user_id.clone(),
        }
    }

    fn restricted(&self, set: impl Fn(&OwnMatters) -> &HashSet<String>) -> Option<Vec<String>> {
        match self {
            Visibility::Firm => None,
            Visibility::OwnMatters(own) => {
                let mut ids: Vec<String> = set(own).iter().cloned().collect();
                ids.sort();
                Some(ids)
            }
        }
    }
}

/// The matters whose team `user` is on or leads: theirs to see, and the only ones whose
/// special-category data they may read.
pub fn team_matters(conn: &mut AnyConnection, user: &str) -> Result<HashSet<String>> {
    let mut matters: HashSet<String> = matter_team_members::table
        .filter(matter_team_members::user_id.eq(user))
        .select(matter_team_members::matter_id)
        .load(conn)?
        .into_iter()
        .collect();
    matters.extend(
        matters::table
            .filter(matters::responsible_user_id.eq(user))
            .select(matters::id)
            .load::<String>(conn)?,
    );
    Ok(matters)
}

impl OwnMatters {
    fn load(conn: &mut AnyConnection, user: &str) -> Result<OwnMatters> {
        let matters = team_matters(conn, user)?;
        let matter_list: Vec<String> = matters.iter().cloned().collect();
        let contacts = Self::contacts_of(conn, user, &matter_list)?;
        let deadlines = Self::deadlines_of(conn, user, &matter_list)?;
        Ok(OwnMatters {
            user_id: Some(user.to_owned()),
            matters,
            contacts,
            deadlines,
        })
    }

    /// The parties of the matters, the people in their communications, and the contacts the
    /// user is responsible for.
    fn contacts_of(
        conn: &mut AnyConnection,
        user: &str,
        matter_list: &[String],
    ) -> Result<HashSet<String>> {
        let mut found: HashSet<String> = matter_parties::table
            .filter(matter_parties::matter_id.eq_any(matter_list))
            .select(matter_parties::contact_id)
            .load(conn)?
            .into_iter()
            .collect();
        let their_communications = communications::table
            .filter(
                communications::matter_id
                    .eq_any(matter_list)
                    .or(communications::author_user_id.eq(user)),
            )
            .select(communications::id);
        found.extend(
            communication_participants::table
                .filter(communication_participants::communication_id.eq_any(their_communications))
                .select(communication_participants::contact_id)
                .load::<String>(conn)?,
        );
        found.extend(
            contacts::table
                .filter(contacts::responsible_user_id.eq(user))
                .select(contacts::id)
                .load::<String>(conn)?,
        );
        // The organisations those people work for come with them.
        let people: Vec<String> = found.iter().cloned().collect();
        found.extend(
            affiliations::table
                .filter(affiliations::person_id.eq_any(people))
                .select(affiliations::organization_id)
                .load::<String>(conn)?,
        );
        Ok(found)
    }

    /// The deadlines of the matters and those assigned to the user or to a team of theirs.
    fn deadlines_of(
        conn: &mut AnyConnection,
        user: &str,
        matter_list: &[String],
    ) -> Result<HashSet<String>> {
        let mut found: HashSet<String> = deadlines::table
            .filter(deadlines::matter_id.eq_any(matter_list))
            .select(deadlines::id)
            .load(conn)?
            .into_iter()
            .collect();
        found.extend(
            deadline_user_assignees::table
                .filter(deadline_user_assignees::user_id.eq(user))
                .select(deadline_user_assignees::deadline_id)
                .load::<String>(conn)?,
        );
        let their_teams = team_members::table
            .filter(team_members::user_id.eq(user))
            .select(team_members::team_id);
        found.extend(
            deadline_team_assignees::table
                .filter(deadline_team_assignees::team_id.eq_any(their_teams))
                .select(deadline_team_assignees::deadline_id)
                .load::<String>(conn)?,
        );
        Ok(found)
    }
}
