//! Matters, communications, deadlines and campaigns, all referring to the contacts and staff
//! the seeder created before them.

use chrono::{Datelike, NaiveDate, TimeDelta};
use rand::Rng;

use super::names::{PracticeArea, PRACTICE_AREAS};
use super::seeder::{at, date_between, day, pick, pick_in, weighted, MatterRef, Mode, Seeder};
use crate::campaigns::{self, CampaignStatus, CreateCampaignInput};
use crate::communications::{self, Channel, Direction, LogCommunicationInput};
use crate::contacts::{ContactCategory, ContactFilter};
use crate::db::AnyConnection;
use crate::deadlines::{self, CreateDeadlineInput, DeadlineKind, DeadlineStatus, PreparedDeadline};
use crate::error::{Error, Result};
use crate::ids::{self, NodeType};
use crate::matters::{self, CreateMatterInput, MatterStatus, TeamMemberInput, UpdateMatterInput};
use async_graphql::MaybeUndefined;

/// Matters open from a year before the base date; activity runs until ~10 months after it.
const FIRST_OPENING: i64 = -365;
const LAST_ACTIVITY: i64 = 300;

const AREA_WEIGHTS: [(usize, u32); 6] = [(0, 30), (1, 20), (2, 20), (3, 10), (4, 10), (5, 10)];

/// Matters open over this many days, oldest first, so that references follow opening dates.
const OPENING_SPAN: i64 = LAST_ACTIVITY - 60 - FIRST_OPENING;

/// Statuses by age: old matters are mostly closed, the newest still at intake.
const OLD_STATUSES: [(MatterStatus, u32); 4] = [
    (MatterStatus::Closed, 45),
    (MatterStatus::Archived, 25),
    (MatterStatus::Open, 20),
    (MatterStatus::Suspended, 10),
];
const RECENT_STATUSES: [(MatterStatus, u32); 5] = [
    (MatterStatus::Open, 55),
    (MatterStatus::Closed, 20),
    (MatterStatus::Archived, 5),
    (MatterStatus::Suspended, 10),
    (MatterStatus::Intake, 10),
];
const NEW_STATUSES: [(MatterStatus, u32); 3] = [
    (MatterStatus::Open, 60),
    (MatterStatus::Intake, 35),
    (MatterStatus::Suspended, 5),
];

const CHANNELS: [(Channel, u32); 6] = [
    (Channel::Email, 40),
    (Channel::Pec, 12),
    (Channel::Phone, 20),
    (Channel::Meeting, 10),
    (Channel::Video, 10),
    (Channel::Letter, 8),
];

/// Subject and summary per channel; `{ref}` is replaced by the matter reference.
const EMAIL_TEXTS: [(&str, &str); 6] = [
    (
        "Pratica {ref}: documenti",
        "Trasmessa la documentazione richiesta; in attesa di riscontro.",
    ),
    (
        "Aggiornamento pratica {ref}",
        "Aggiornato il cliente sullo stato della pratica.",
    ),
    (
        "Bozza di contratto: commenti",
        "Ricevuti i commenti alla bozza; da rivedere entro la settimana.",
    ),
    (
        "Re: {ref} draft agreement",
        "Sent the revised draft with tracked changes.",
    ),
    (
        "Richiesta di chiarimenti",
        "Chiesti chiarimenti sui fatti e sulle date rilevanti.",
    ),
    ("Nota spese {ref}", "Inviata la nota spese del trimestre."),
];
const PEC_TEXTS: [(&str, &str); 5] = [
    (
        "Diffida ad adempiere",
        "Diffida ad adempiere entro 15 giorni, con riserva di azione.",
    ),
    (
        "Messa in mora",
        "Costituzione in mora ai sensi dell'art. 1219 c.c.",
    ),
    (
        "Notifica atto {ref}",
        "Notifica a mezzo PEC ai sensi della L. 53/1994.",
    ),
    (
        "Riscontro a diffida",
        "Contestati gli addebiti e respinte le richieste.",
    ),
    (
        "Deposito telematico {ref}",
        "Ricevuta di avvenuta consegna del deposito telematico.",
    ),
];
const PHONE_TEXTS: [(&str, &str); 4] = [
    (
        "Telefonata con il cliente",
        "Discussa la strategia; il cliente conferma il mandato.",
    ),
    (
        "Call with client",
        "Went through next steps and the expected timeline.",
    ),
    (
        "Chiamata dalla controparte",
        "Il legale di controparte propone un incontro transattivo.",
    ),
    (
        "Telefonata di aggiornamento",
        "Comunicato l'esito dell'udienza.",
    ),
];
const MEETING_TEXTS: [(&str, &str); 4] = [
    (
        "Riunione in studio",
        "Esaminati i documenti e raccolte le informazioni mancanti.",
    ),
    (
        "Kick-off meeting {ref}",
        "Agreed scope, team and reporting lines.",
    ),
    (
        "Incontro transattivo",
        "Discussa una possibile transazione; le parti si riservano.",
    ),
    (
        "Incontro di aggiornamento",
        "Illustrati rischi e costi delle opzioni disponibili.",
    ),
];
const VIDEO_TEXTS: [(&str, &str); 3] = [
    (
        "Videocall di aggiornamento",
        "Fatto il punto sulla pratica con il cliente.",
    ),
    (
        "Video call: strategy",
        "Reviewed the options and agreed on the filing plan.",
    ),
    (
        "Videoconferenza con i consulenti",
        "Allineamento con il consulente tecnico di parte.",
    ),
];
const LETTER_TEXTS: [(&str, &str); 3] = [
    (
        "Raccomandata A/R",
        "Inviata raccomandata con ricevuta di ritorno.",
    ),
    (
        "Lettera di incarico",
        "Trasmessa la lettera di incarico da sottoscrivere.",
    ),
    (
        "Lettera di diffida",
        "Inviata lettera di diffida alla controparte.",
    ),
];

const HEARINGS: [&str; 5] = [
    "Udienza di prima comparizione",
    "Udienza istruttoria",
    "Udienza di precisazione delle conclusioni",
    "Udienza di discussione",
    "Hearing: case management",
];
const COURT_DEADLINES: [&str; 5] = [
    "Termine memorie ex art. 171-ter c.p.c.",
    "Termine per proporre appello",
    "Termine comparsa conclusionale",
    "Termine memorie di replica",
    "Termine per l'opposizione",
];
const COURT_FILINGS: [&str; 4] = [
    "Deposito atto di citazione",
    "Deposito ricorso",
    "Iscrizione a ruolo",
    "Deposito note scritte",
];
const OTHER_FILINGS: [&str; 4] = [
    "Deposito domanda di marchio",
    "Notifica al Garante entro 72 ore",
    "Registrazione atto presso l'Agenzia delle Entrate",
    "Deposito verbale di assemblea",
];
const TASKS: [&str; 6] = [
    "Preparare parere scritto",
    "Revisione contratto",
    "Chiamare il cliente",
    "Raccolta documenti",
    "Draft memo for the client",
    "Aggiornare la valutazione del rischio",
];

impl Seeder {
    /// Opens one matter for one or two clients, with the practice area's team on it.
    pub fn add_matter(&mut self, conn: &mut AnyConnection) -> Result<()> {
        let area = PRACTICE_AREAS[weighted(&mut self.rng, &AREA_WEIGHTS)];
        let opened = self.opening_date();
        let status = self.matter_status(opened);
        let closes = matches!(status, MatterStatus::Closed | MatterStatus::Archived);
        let closed = closes.then(|| {
            let from = opened + TimeDelta::days(30);
            let to = (from + TimeDelta::days(210)).min(day(LAST_ACTIVITY));
            date_between(&mut self.rng, from, to)
        });
        let clients = self.matter_clients()?;
        let counterparties = self.matter_counterparties(area, &clients);
        let (firm_team, team) = self.matter_team(area);
        let reference = self.next_reference(opened.year());
        let input = CreateMatterInput {
            reference: reference.clone(),
            title: self.matter_title(area, &clients, &counterparties),
            practice_area: area.name.to_owned(),
            // Closing goes through an update so the closing date is ours, not today's.
            status: if closes { MatterStatus::Open } else { status },
            description: self.rng.random_bool(0.5).then(|| {
                let client = clients.first().map_or("", |&c| self.contact_name(c));
                format!("{} per {client}.", area.name)
            }),
            responsible_user_id: team.first().and_then(|&s| self.user_id(s)),
            opened_on: Some(opened),
            client_ids: clients.iter().filter_map(|&c| self.contact_id(c)).collect(),
            counterparty_ids: counterparties
                .iter()
                .filter_map(|&c| self.contact_id(c))
                .collect(),
            team: self.team_input(&team),
            criminal_proceedings_notes: None,
            health_details: None,
        };
        let row = matters::create(conn, input)?;
        if let Some(closed_on) = closed {
            matters::update(conn, close_matter(&row.id, status, closed_on))?;
        }
        self.matters.push(MatterRef {
            id: row.id,
            reference,
            clients,
            counterparties,
            team,
            firm_team,
            litigious: area.litigious,
            opened,
            until: closed.unwrap_or(day(LAST_ACTIVITY)),
        });
        self.summary.matters += 1;
        Ok(())
    }

    /// The n-th of the planned matters opens n/planned of the way through the opening span
    /// (plus a few days' jitter within its slot), so dates and references rise together.
    fn opening_date(&mut self) -> NaiveDate {
        let span = OPENING_SPAN.unsigned_abs();
        let planned = self.planned_matters.max(self.summary.matters + 1);
        let start = self.summary.matters * span / planned;
        let slot = span / planned;
        let jitter = if slot > 1 {
            self.rng.random_range(0..slot)
        } else {
            0
        };
        let offset = i64::try_from(start + jitter).unwrap_or(OPENING_SPAN);
        day(FIRST_OPENING + offset.min(OPENING_SPAN))
    }

    fn matter_status(&mut self, opened: NaiveDate) -> MatterStatus {
        if opened < day(-150) {
            weighted(&mut self.rng, &OLD_STATUSES)
        } else if opened < day(90) {
            weighted(&mut self.rng, &RECENT_STATUSES)
        } else {
            weighted(&mut self.rng, &NEW_STATUSES)
        }
    }

    /// One client mostly, sometimes two; any contact when none is categorised as a client.
    fn matter_clients(&mut self) -> Result<Vec<u32>> {
        let first = self.pick_client().ok_or_else(|| {
            Error::invalid(
                "sizes.matters",
                "matters need contacts to act for; seed contacts too",
            )
        })?;
        let mut clients = vec![first];
        if self.rng.random_bool(0.25) {
            if let Some(second) = self.pick_client().filter(|c| *c != first) {
                clients.push(second);
            }
        }
        Ok(clients)
    }

    /// A contact categorised as a client, or any contact when there is none (tiny sets).
    fn pick_client(&mut self) -> Option<u32> {
        if self.clients.is_empty() {
            let any = self.rng.random_range(0..self.contacts.len().max(1));
            return u32::try_from(any)
                .ok()
                .filter(|_| !self.contacts.is_empty());
        }
        pick_in(&mut self.rng, &self.clients)
    }

    /// Disputes have one or two opponents; deals sometimes have the other side on file.
    fn matter_counterparties(&mut self, area: PracticeArea, clients: &[u32]) -> Vec<u32> {
        let wanted = match (area.litigious, self.rng.random_range(0..10)) {
            (true, 0..=1) => 2,
            (true, _) => 1,
            (false, 0..=2) => 1,
            (false, _) => 0,
        };
        let mut chosen = Vec::new();
        for _ in 0..wanted {
            if let Some(c) = pick_in(&mut self.rng, &self.counterparties) {
                if !clients.contains(&c) && !chosen.contains(&c) {
                    chosen.push(c);
                }
            }
        }
        chosen
    }

    /// The practice area's team; the lead partner or one of its lawyers is responsible.
    fn matter_team(&mut self, area: PracticeArea) -> (usize, Vec<usize>) {
        let firm_team = area.team % self.teams.len().max(1);
        let members = self.teams.get(firm_team).map_or(&[][..], |t| t.members);
        let mut team: Vec<usize> = members.to_vec();
        // Rotate a lawyer to the front now and then: they are responsible for the matter.
        if team.len() > 1 && self.rng.random_bool(0.4) {
            let lawyer = team
                .iter()
                .position(|&s| self.staff.get(s).is_some_and(|u| u.role == "lawyer"));
            if let Some(i) = lawyer {
                team.swap(0, i);
            }
        }
        (firm_team, team)
    }

    fn team_input(&self, team: &[usize]) -> Vec<TeamMemberInput> {
        team.iter()
            .enumerate()
            .filter_map(|(i, &s)| {
                let role = match (i, self.staff.get(s)?.role) {
                    (0, _) => "lead",
                    (_, "trainee") => "trainee",
                    (_, "partner") => "supervising partner",
                    _ => "associate",
                };
                Some(TeamMemberInput {
                    user_id: self.user_id(s)?,
                    role: Some(role.to_owned()),
                })
            })
            .collect()
    }

    /// "2026/0042" in the demo; synthetic sets add their seed so several can coexist.
    fn next_reference(&mut self, year: i32) -> String {
        let number = match self.matter_numbers.iter_mut().find(|(y, _)| *y == year) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.matter_numbers.push((year, 1));
                1
            }
        };
        match self.mode {
            Mode::Demo => format!("{year}/{number:04}"),
            Mode::Synthetic { seed } => format!("{year}/S{seed}-{number:06}"),
        }
    }

    fn matter_title(
        &mut self,
        area: PracticeArea,
        clients: &[u32],
        counterparties: &[u32],
    ) -> String {
        let subject = pick(&mut self.rng, &area.titles);
        let client = clients.first().map_or("", |&c| self.contact_name(c));
        match counterparties.first() {
            Some(&cp) if area.litigious => {
                format!("{client} c/ {} – {subject}", self.contact_name(cp))
            }
            _ => format!("{client} – {subject}"),
        }
    }

    /// Validates one communication on a matter, with some of its parties taking part, and
    /// queues it for the next `flush`.
    pub fn add_communication(&mut self) -> Result<()> {
        let matter = pick_in(&mut self.rng, &self.matters);
        let channel = weighted(&mut self.rng, &CHANNELS);
        let direction = self.direction(channel);
        let participants = self.participants(matter.as_ref(), channel)?;
        let (subject, summary) = self.communication_text(channel);
        let reference = matter.as_ref().map_or("", |m| m.reference.as_str());
        let (from, until) = matter
            .as_ref()
            .map_or((day(FIRST_OPENING), day(LAST_ACTIVITY)), |m| {
                (m.opened, m.until)
            });
        let date = date_between(&mut self.rng, from, until);
        // Office hours, 8:00 to 19:00.
        let minutes = self.rng.random_range(8 * 60..19 * 60);
        let author = match &matter {
            Some(m) => pick_in(&mut self.rng, &m.team),
            None => {
                let earners = self.fee_earners();
                pick_in(&mut self.rng, &earners)
            }
        };
        let input = LogCommunicationInput {
            channel,
            direction,
            occurred_at: at(date, minutes),
            subject: Some(subject.replace("{ref}", reference)),
            summary: Some(summary.to_owned()),
            matter_id: matter
                .as_ref()
                .map(|m| ids::encode(NodeType::Matter, &m.id)),
            participant_ids: participants
                .iter()
                .filter_map(|&c| self.contact_id(c))
                .collect(),
            author_id: author.and_then(|a| self.user_id(a)),
        };
        self.pending
            .communications
            .push(communications::prepare(input)?);
        self.summary.communications += 1;
        Ok(())
    }

    fn direction(&mut self, channel: Channel) -> Direction {
        let rng = &mut self.rng;
        match channel {
            Channel::Meeting | Channel::Video if rng.random_bool(0.1) => Direction::Internal,
            Channel::Meeting | Channel::Video => Direction::Outbound,
            Channel::Pec | Channel::Letter if rng.random_bool(0.6) => Direction::Outbound,
            _ if rng.random_bool(0.5) => Direction::Outbound,
            _ => Direction::Inbound,
        }
    }

    /// Formal channels (PEC, letters) often go to the other side; the rest to the clients.
    fn participants(&mut self, matter: Option<&MatterRef>, channel: Channel) -> Result<Vec<u32>> {
        let Some(matter) = matter else {
            let any = self.rng.random_range(0..self.contacts.len().max(1));
            return match u32::try_from(any) {
                Ok(c) if !self.contacts.is_empty() => Ok(vec![c]),
                _ => Err(Error::invalid(
                    "sizes.communications",
                    "communications need contacts to take part; seed contacts too",
                )),
            };
        };
        let formal = matches!(channel, Channel::Pec | Channel::Letter);
        if formal && !matter.counterparties.is_empty() && self.rng.random_bool(0.5) {
            return Ok(pick_in(&mut self.rng, &matter.counterparties)
                .into_iter()
                .collect());
        }
        let mut people = matter.clients.clone();
        if people.len() > 1 && self.rng.random_bool(0.5) {
            people.truncate(1);
        }
        if channel == Channel::Meeting && self.rng.random_bool(0.2) {
            people.extend(matter.counterparties.iter().copied());
        }
        Ok(people)
    }

    fn communication_text(&mut self, channel: Channel) -> (&'static str, &'static str) {
        let rng = &mut self.rng;
        match channel {
            Channel::Email => pick(rng, &EMAIL_TEXTS),
            Channel::Pec => pick(rng, &PEC_TEXTS),
            Channel::Phone => pick(rng, &PHONE_TEXTS),
            Channel::Meeting => pick(rng, &MEETING_TEXTS),
            Channel::Video => pick(rng, &VIDEO_TEXTS),
            Channel::Letter => pick(rng, &LETTER_TEXTS),
        }
    }

    /// Validates one deadline on a matter, assigned to its lawyers, with reminders, and queues
    /// it for the next `flush`.
    pub fn add_deadline(&mut self) -> Result<()> {
        let matter = pick_in(&mut self.rng, &self.matters);
        let litigious = matter.as_ref().is_some_and(|m| m.litigious);
        let kind = self.deadline_kind(litigious);
        let title = self.deadline_title(kind, litigious);
        let (from, until) = matter.as_ref().map_or((day(-60), day(LAST_ACTIVITY)), |m| {
            (m.opened, m.until.max(m.opened))
        });
        let due_on = date_between(&mut self.rng, from, until);
        let due_at = at(due_on, self.due_minutes(kind));
        let contact = self.deadline_contact(matter.as_ref(), kind);
        let (users, teams) = self.assignees(matter.as_ref(), kind);
        let input = CreateDeadlineInput {
            title: title.to_owned(),
            kind,
            description: matter.as_ref().map(|m| format!("Pratica {}", m.reference)),
            due_at: Some(due_at),
            term: None,
            matter_id: matter
                .as_ref()
                .map(|m| ids::encode(NodeType::Matter, &m.id)),
            contact_id: contact.and_then(|c| self.contact_id(c)),
            assignee_user_ids: users,
            assignee_team_ids: teams,
            reminder_offsets: reminder_offsets(kind),
        };
        let mut deadline = deadlines::prepare(input)?;
        self.settle_deadline(&mut deadline, due_on);
        self.pending.deadlines.push(deadline);
        self.summary.deadlines += 1;
        Ok(())
    }

    fn deadline_kind(&mut self, litigious: bool) -> DeadlineKind {
        if litigious {
            weighted(
                &mut self.rng,
                &[
                    (DeadlineKind::Hearing, 30),
                    (DeadlineKind::CourtDeadline, 30),
                    (DeadlineKind::Filing, 20),
                    (DeadlineKind::InternalTask, 20),
                ],
            )
        } else {
            weighted(
                &mut self.rng,
                &[(DeadlineKind::Filing, 30), (DeadlineKind::InternalTask, 70)],
            )
        }
    }

    fn deadline_title(&mut self, kind: DeadlineKind, litigious: bool) -> &'static str {
        let rng = &mut self.rng;
        match kind {
            DeadlineKind::Hearing => pick(rng, &HEARINGS),
            DeadlineKind::CourtDeadline => pick(rng, &COURT_DEADLINES),
            DeadlineKind::Filing if litigious => pick(rng, &COURT_FILINGS),
            DeadlineKind::Filing => pick(rng, &OTHER_FILINGS),
            DeadlineKind::InternalTask => pick(rng, &TASKS),
        }
    }

    /// Hearings are called in the morning; the rest fall due at the end of the day.
    fn due_minutes(&mut self, kind: DeadlineKind) -> u32 {
        match kind {
            DeadlineKind::Hearing => pick(
                &mut self.rng,
                &[9 * 60, 9 * 60 + 30, 10 * 60, 11 * 60 + 15, 12 * 60],
            ),
            DeadlineKind::InternalTask => pick(&mut self.rng, &[10 * 60, 14 * 60, 17 * 60]),
            DeadlineKind::CourtDeadline | DeadlineKind::Filing => 23 * 60 + 59,
        }
    }

    /// Court dates name the court; tasks often the client they are for.
    fn deadline_contact(&mut self, matter: Option<&MatterRef>, kind: DeadlineKind) -> Option<u32> {
        match kind {
            DeadlineKind::Hearing | DeadlineKind::CourtDeadline => {
                pick_in(&mut self.rng, &self.courts)
            }
            DeadlineKind::InternalTask if self.rng.random_bool(0.5) => {
                matter.and_then(|m| m.clients.first().copied())
            }
            _ => None,
        }
    }

    /// The responsible lawyer, sometimes a colleague, and for court dates the whole team.
    fn assignees(
        &mut self,
        matter: Option<&MatterRef>,
        kind: DeadlineKind,
    ) -> (Vec<async_graphql::ID>, Vec<async_graphql::ID>) {
        let earners = self.fee_earners();
        let mut users: Vec<usize> = match matter {
            Some(m) => m.team.first().copied().into_iter().collect(),
            None => pick_in(&mut self.rng, &earners).into_iter().collect(),
        };
        let colleagues = matter.and_then(|m| m.team.get(1..)).unwrap_or_default();
        if let Some(colleague) = pick_in(&mut self.rng, colleagues) {
            if self.rng.random_bool(0.4) {
                users.push(colleague);
            }
        }
        let court = matches!(kind, DeadlineKind::Hearing | DeadlineKind::CourtDeadline);
        let teams = match matter {
            Some(m) if court && self.rng.random_bool(0.5) => self
                .teams
                .get(m.firm_team)
                .map(|t| ids::encode(NodeType::Team, &t.id))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        let users = users.into_iter().filter_map(|s| self.user_id(s)).collect();
        (users, teams)
    }

    /// Deadlines before the base date are mostly done, a few were cancelled; later ones open.
    fn settle_deadline(&mut self, deadline: &mut PreparedDeadline, due_on: NaiveDate) {
        let roll = self.rng.random_range(0..100);
        let status = match (due_on < day(0), roll) {
            (true, 0..=84) => DeadlineStatus::Done,
            (true, 85..=89) => DeadlineStatus::Cancelled,
            (false, 0..=4) => DeadlineStatus::Done,
            _ => DeadlineStatus::Open,
        };
        deadline.set_status(status);
    }

    /// The demo's campaigns: a newsletter already sent, an event invitation scheduled, and a
    /// draft in English.
    pub fn add_campaigns(&mut self, conn: &mut AnyConnection) -> Result<()> {
        for (input, sent) in demo_campaigns() {
            let row = campaigns::create(conn, input)?;
            if sent {
                // The demo firm's history: a campaign that went out before lexgate kept send
                // records. It is marked sent as it stands, not sent again through the outbox
                // (which `updateCampaign` rightly refuses).
                use crate::db::schema::campaigns as table;
                use diesel::prelude::*;
                diesel::update(table::table.find(&row.id))
                    .set(table::status.eq(CampaignStatus::Sent.as_str()))
                    .execute(conn)?;
            }
            self.summary.campaigns += 1;
        }
        Ok(())
    }
}

/// Reminder minutes before the due time: court dates a week or two ahead, tasks an hour.
fn reminder_offsets(kind: DeadlineKind) -> Vec<i32> {
    match kind {
        DeadlineKind::Hearing => vec![10_080, 1_440, 120],
        DeadlineKind::CourtDeadline => vec![20_160, 10_080, 1_440],
        DeadlineKind::Filing => vec![4_320, 1_440],
        DeadlineKind::InternalTask => vec![60],
    }
}

fn close_matter(id: &str, status: MatterStatus, closed_on: NaiveDate) -> UpdateMatterInput {
    UpdateMatterInput {
        id: ids::encode(NodeType::Matter, id),
        reference: None,
        title: None,
        practice_area: None,
        status: Some(status),
        description: MaybeUndefined::Undefined,
        responsible_user_id: MaybeUndefined::Undefined,
        opened_on: MaybeUndefined::Undefined,
        closed_on: MaybeUndefined::Value(closed_on),
        client_ids: None,
        counterparty_ids: None,
        criminal_proceedings_notes: MaybeUndefined::Undefined,
        health_details: MaybeUndefined::Undefined,
    }
}

/// Each campaign, and whether it went out already.
fn demo_campaigns() -> [(CreateCampaignInput, bool); 3] {
    let audience = |categories: &[ContactCategory], tag: &str| ContactFilter {
        categories: (!categories.is_empty()).then(|| categories.to_vec()),
        tags: Some(vec![tag.to_owned()]),
        ..ContactFilter::default()
    };
    let campaign = |name: &str, purpose: &str, description: &str| CreateCampaignInput {
        name: name.to_owned(),
        purpose: purpose.to_owned(),
        description: Some(description.to_owned()),
        audience_filter: ContactFilter::default(),
        scheduled_at: None,
        analogous_services: false,
    };
    [
        (
            CreateCampaignInput {
                audience_filter: audience(&[], "newsletter"),
                scheduled_at: Some(at(day(14), 8 * 60)),
                ..campaign(
                    "Newsletter giuslavoristica – gennaio 2026",
                    "newsletter",
                    "Novità normative e giurisprudenziali in materia di lavoro.",
                )
            },
            true,
        ),
        (
            CreateCampaignInput {
                audience_filter: audience(
                    &[ContactCategory::Client, ContactCategory::Partner],
                    "events",
                ),
                scheduled_at: Some(at(day(LAST_ACTIVITY), 9 * 60)),
                ..campaign(
                    "Convegno: la riforma del processo civile",
                    "events",
                    "Invito al convegno in studio, con aperitivo.",
                )
            },
            false,
        ),
        (
            CreateCampaignInput {
                audience_filter: audience(
                    &[ContactCategory::Client, ContactCategory::Prospect],
                    "vip",
                ),
                analogous_services: true,
                ..campaign(
                    "Privacy & AI Act: what changes for your business",
                    "marketing_email",
                    "Draft: English-language update for international clients.",
                )
            },
            false,
        ),
    ]
}
