//! The principal behind each credential, remembered between requests. Every request reads
//! the two generation counters (`role_generation`: the roles' and the credentials') in one
//! primary-key lookup; the remembered principals hold while the credentials' counter stands
//! still, and triggers move it in the transaction of any change that can end or alter a
//! credential (see migration `2026-12-10-000201_credential_generation`). So a logout, a
//! revoked key or a deactivated user committed by any replica stops the credential on every
//! replica at its next request, while an unchanged credential costs no lookup of its own
//! (nor, for an access token, a second signature check). The roles' counter travels with the
//! principal, so the role catalogue need not read it again.
//!
//! LISTEN/NOTIFY would save the per-request read, but a notification arrives after the
//! revoking commit, leaving a window in which another replica still admits the credential;
//! the read keeps revocation immediate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use diesel::prelude::*;

use super::service::{check_credential, note_key_use, Checked};
use super::tokens::digest;
use super::{AuthConfig, Principal};
use crate::db::schema::role_generation;
use crate::db::{now, AnyConnection};
use crate::error::Result;

/// Beyond this many remembered credentials the cache starts afresh (a bound on memory
/// against a caller cycling through credentials; honest clients reuse theirs).
const CAPACITY: usize = 10_000;

/// A principal and the roles' generation read with it.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    /// The roles' generation this request read, for [`crate::access_policy::RoleCatalog`].
    pub roles_generation: i64,
}

#[derive(Default)]
struct Remembered {
    /// The credentials' generation the entries were checked at.
    generation: i64,
    /// By the digest of the credential, never the credential itself.
    entries: HashMap<String, Checked>,
}

/// The remembered principals of this process.
#[derive(Clone, Default)]
pub struct PrincipalCache {
    remembered: Arc<Mutex<Remembered>>,
}

impl PrincipalCache {
    pub fn new() -> PrincipalCache {
        PrincipalCache::default()
    }

    /// The principal behind `bearer` (an API key or an access token), from memory while
    /// nothing that could change it was committed, otherwise from the database.
    pub fn authenticate(
        &self,
        conn: &mut AnyConnection,
        config: &AuthConfig,
        bearer: &str,
    ) -> Result<Authenticated> {
        // Read before the credential: a change committed in between moves the counter past
        // the one stored with the answer, and the next request checks again.
        let (roles_generation, generation): (i64, i64) = role_generation::table
            .find(1)
            .select((role_generation::generation, role_generation::credentials))
            .first(conn)?;
        let key = digest(bearer);
        let current = now();
        let hit = {
            let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
            if remembered.generation != generation {
                remembered.entries.clear();
                remembered.generation = generation;
            }
            remembered.entries.get(&key).cloned()
        };
        let checked = match hit.filter(|c| c.valid_until.is_none_or(|until| current < until)) {
            Some(mut checked) => {
                if let Some((key_id, last_used)) = &mut checked.key_last_used {
                    let recorded = note_key_use(conn, key_id, Some(*last_used), current)?;
                    if recorded != *last_used {
                        *last_used = recorded;
                        self.remember(generation, &key, &checked);
                    }
                }
                checked
            }
            None => {
                let checked = check_credential(conn, config, bearer)?;
                self.remember(generation, &key, &checked);
                checked
            }
        };
        Ok(Authenticated {
            principal: checked.principal,
            roles_generation,
        })
    }

    fn remember(&self, generation: i64, key: &str, checked: &Checked) {
        let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        // Checked at an older generation than another request has since seen: not kept.
        if remembered.generation != generation {
            return;
        }
        if remembered.entries.len() >= CAPACITY {
            remembered.entries.clear();
        }
        remembered.entries.insert(key.to_owned(), checked.clone());
    }
}
