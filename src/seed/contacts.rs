//! People and organisations: names, codes, addresses and links that pass the contact service's
//! validation. Every random choice goes through the seeder's generator, in a fixed order.

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::Rng;

use super::codes;
use super::names::*;
use super::seeder::{
    date, date_between, pick, pick_in, weighted, ContactRef, Mode, OrgRef, Seeder,
};
use crate::contacts::{
    self, AddressInput, AffiliationInput, ContactCategory, ContactKind, CreateContactInput,
    EmailInput, PhoneInput,
};
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::gdpr::{Actor, BasisRules};
use crate::ids::{self, NodeType};

use ContactCategory::*;

const PERSON_CATEGORIES: [(ContactCategory, u32); 6] = [
    (Client, 35),
    (Prospect, 20),
    (Counterparty, 20),
    (Expert, 8),
    (Partner, 5),
    (Other, 12),
];

const ORG_CATEGORIES: [(ContactCategory, u32); 6] = [
    (Client, 45),
    (Prospect, 15),
    (Counterparty, 22),
    (Partner, 8),
    (Court, 7),
    (Other, 3),
];

/// Addresses that can never reach a real mailbox (RFC 2606 names), since campaigns send mail.
const PERSONAL_DOMAINS: [&str; 4] = [
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
];
const PEC_DOMAINS: [&str; 3] = [
    "pec.example.com",
    "legalmail.example.net",
    "postacert.example.org",
];
const COURT_PEC_DOMAIN: &str = "giustiziacert.example.org";

/// Contacts were born between these dates (adults in 2026).
const BORN_FROM: NaiveDate = date(1950, 1, 1);
const BORN_TO: NaiveDate = date(2003, 12, 31);

/// Tries before accepting a repeated name in the demo (the lists allow thousands of names).
const NAME_TRIES: usize = 20;

/// A contact about to be created, with what later records need to know about it.
struct Draft {
    input: CreateContactInput,
    /// The domain its staff's work addresses use (organisations other than courts).
    staff_domain: Option<String>,
}

/// A generated organisation name and the part its e-mail domain is made from.
struct Company {
    name: String,
    base: String,
    /// British firms have neither partita IVA nor PEC.
    british: bool,
}

/// Where a company is and how to reach it, which depends on its country.
struct CompanyDetails {
    pec: Option<EmailInput>,
    phone: PhoneInput,
    address: AddressInput,
    partita_iva: Option<String>,
}

/// A generated person's name and origin.
struct Person {
    given: &'static str,
    family: &'static str,
    female: bool,
    english: bool,
}

impl Seeder {
    /// Creates one contact of `kind` through the contact service and remembers it.
    pub fn add_contact(&mut self, conn: &mut AnyConnection, kind: ContactKind) -> Result<()> {
        let serial = self.summary.contacts;
        let draft = match kind {
            ContactKind::Person => self.person_draft(serial)?,
            ContactKind::Organization => self.organization_draft(serial)?,
        };
        let category = draft.input.category;
        let mut input = draft.input;
        input.source = self.source(serial, category);
        input.grounds = self.grounds(serial, category, &input.tags);
        let row = contacts::create(
            conn,
            input,
            &self.rules,
            &BasisRules::default(),
            &Actor::system("seed"),
            // Invented people: none of them was ever erased.
            None,
        )?;
        let index = u32::try_from(self.contacts.len())
            .map_err(|_| Error::Internal("seed: too many contacts to keep in memory".to_owned()))?;
        match category {
            Client => self.clients.push(index),
            Counterparty => self.counterparties.push(index),
            Court => self.courts.push(index),
            _ => {}
        }
        if let Some(domain) = draft.staff_domain {
            self.orgs.push(OrgRef {
                contact: index,
                domain,
            });
        }
        self.contacts.push(ContactRef {
            id: row.id,
            name: row.display_name,
        });
        self.summary.contacts += 1;
        Ok(())
    }

    fn person_name(&mut self) -> Person {
        let rng = &mut self.rng;
        let english = rng.random_bool(0.25);
        let female = rng.random_bool(0.5);
        let given = match (english, female) {
            (false, false) => pick(rng, &ITALIAN_MALE),
            (false, true) => pick(rng, &ITALIAN_FEMALE),
            (true, false) => pick(rng, &ENGLISH_MALE),
            (true, true) => pick(rng, &ENGLISH_FEMALE),
        };
        let family = if english {
            pick(rng, &ENGLISH_SURNAMES)
        } else {
            pick(rng, &ITALIAN_SURNAMES)
        };
        Person {
            given,
            family,
            female,
            english,
        }
    }

    /// A fresh name; the demo avoids repeating one (so its e-mail addresses stay unique).
    fn unique_person_name(&mut self) -> Person {
        let mut person = self.person_name();
        if self.is_demo() {
            for _ in 0..NAME_TRIES {
                if self
                    .used_names
                    .insert(format!("{} {}", person.given, person.family))
                {
                    break;
                }
                person = self.person_name();
            }
        }
        person
    }

    fn person_draft(&mut self, serial: u64) -> Result<Draft> {
        let person = self.unique_person_name();
        let category = weighted(&mut self.rng, &PERSON_CATEGORIES);
        let codice_fiscale = self.person_codice_fiscale(&person)?;
        let affiliation = self.affiliation(category);
        let emails = self.person_emails(&person, serial, category, affiliation.as_ref());
        let in_london = person.english && self.rng.random_bool(0.4);
        let phones = self.person_phones(&person, serial, in_london);
        let addresses = if self.rng.random_bool(0.6) {
            vec![self.address(in_london, label(&person, "casa", "home"))]
        } else {
            Vec::new()
        };
        Ok(Draft {
            input: CreateContactInput {
                kind: ContactKind::Person,
                given_name: Some(person.given.to_owned()),
                family_name: Some(person.family.to_owned()),
                organization_name: None,
                category,
                emails,
                phones,
                addresses,
                tags: self.tags(category),
                codice_fiscale,
                partita_iva: None,
                notes: self.note(),
                responsible_user_id: self.responsible(category),
                affiliations: affiliation.map(|(_, a)| a).into_iter().collect(),
                birth_date: None,
                personal_interests: None,
                family_details: None,
                source: self.source(serial, category),
                grounds: Vec::new(),
                confirm_returning_subject: false,
            },
            staff_domain: None,
        })
    }

    /// A personal address for most, a work address at their organisation, and a PEC address
    /// for experts and correspondent lawyers (professionals must have one).
    fn person_emails(
        &mut self,
        person: &Person,
        serial: u64,
        category: ContactCategory,
        affiliation: Option<&(OrgRef, AffiliationInput)>,
    ) -> Vec<EmailInput> {
        let local = format!(
            "{}.{}{}",
            codes::slug(person.given, "."),
            codes::slug(person.family, "."),
            self.unique_suffix(serial)
        );
        let mut emails = Vec::new();
        if self.rng.random_bool(0.85) {
            let domain = pick(&mut self.rng, &PERSONAL_DOMAINS);
            let label = label(person, "personale", "personal");
            emails.push(email(&format!("{local}@{domain}"), label, false));
        }
        if let Some((org, _)) = affiliation {
            let label = label(person, "lavoro", "work");
            emails.push(email(&format!("{local}@{}", org.domain), label, false));
        }
        if matches!(category, Expert | Partner) {
            let domain = pick(&mut self.rng, &PEC_DOMAINS);
            emails.push(email(
                &format!("{local}@{domain}"),
                Some("PEC".to_owned()),
                true,
            ));
        }
        emails
    }

    /// A mobile for most; people based in London also an office line there.
    fn person_phones(&mut self, person: &Person, serial: u64, in_london: bool) -> Vec<PhoneInput> {
        let mut phones = Vec::new();
        if self.rng.random_bool(0.85) {
            let prefix = self.rng.random_range(0..MOBILE_PREFIXES.len());
            let label = label(person, "cellulare", "mobile");
            phones.push(phone(codes::mobile(serial, prefix), label));
        }
        if in_london {
            let office = Some("office".to_owned());
            phones.push(phone(codes::london_landline(serial), office));
        }
        phones
    }

    /// Most Italians have their codice fiscale on file; fewer foreigners do.
    fn person_codice_fiscale(&mut self, person: &Person) -> Result<Option<String>> {
        let rng = &mut self.rng;
        if !rng.random_bool(if person.english { 0.4 } else { 0.85 }) {
            return Ok(None);
        }
        let born = date_between(rng, BORN_FROM, BORN_TO);
        let birthplace = if person.english && rng.random_bool(0.8) {
            pick(rng, &FOREIGN_BIRTHPLACES)
        } else {
            pick_city(rng).cadastral
        };
        codes::codice_fiscale(person.given, person.family, born, person.female, birthplace)
            .map(Some)
    }

    /// Half the people work for an organisation on file, with a job title.
    fn affiliation(&mut self, category: ContactCategory) -> Option<(OrgRef, AffiliationInput)> {
        if !self.rng.random_bool(0.55) {
            return None;
        }
        let org = pick_in(&mut self.rng, &self.orgs)?;
        let job_title = if category == Expert {
            pick(&mut self.rng, &EXPERT_TITLES)
        } else {
            pick(&mut self.rng, &PERSON_JOB_TITLES)
        };
        let id = self.contacts.get(org.contact as usize)?.id.clone();
        Some((
            org,
            AffiliationInput {
                organization_id: ids::encode(NodeType::Contact, &id),
                job_title: Some(job_title.to_owned()),
            },
        ))
    }

    fn address(&mut self, in_london: bool, label: Option<String>) -> AddressInput {
        if in_london {
            london_address(&mut self.rng, label)
        } else {
            let city = pick_city(&mut self.rng);
            italian_address(&mut self.rng, city, label)
        }
    }

    fn tags(&mut self, category: ContactCategory) -> Vec<String> {
        let rng = &mut self.rng;
        let mut tags = Vec::new();
        let engaged = matches!(category, Client | Prospect | Partner);
        if engaged && rng.random_bool(0.45) {
            tags.push("newsletter");
        }
        if engaged && rng.random_bool(0.15) {
            tags.push("events");
        }
        if category == Client && rng.random_bool(0.12) {
            tags.push("vip");
        }
        if rng.random_bool(0.05) {
            tags.push("gdpr-review");
        }
        tags.into_iter().map(str::to_owned).collect()
    }

    fn note(&mut self) -> Option<String> {
        self.rng
            .random_bool(0.1)
            .then(|| pick(&mut self.rng, &CONTACT_NOTES).to_owned())
    }

    /// Clients and prospects have a partner or lawyer looking after them.
    fn responsible(&mut self, category: ContactCategory) -> Option<async_graphql::ID> {
        if !matches!(category, Client | Prospect) {
            return None;
        }
        let earners = self.fee_earners();
        let staff = pick_in(&mut self.rng, &earners)?;
        self.user_id(staff)
    }

    fn organization_draft(&mut self, serial: u64) -> Result<Draft> {
        let mut category = weighted(&mut self.rng, &ORG_CATEGORIES);
        if category == Court {
            if let Some(draft) = self.court_draft(serial)? {
                return Ok(draft);
            }
            // Every court is on file already (demo): make it an ordinary organisation.
            category = Other;
        }
        let company = self.company_name(category);
        let suffix = match self.mode {
            Mode::Demo => String::new(),
            Mode::Synthetic { .. } => format!("-{serial}"),
        };
        let domain = format!("{}{suffix}.example.com", codes::slug(&company.base, "-"));
        let info = email(&format!("info@{domain}"), Some("info".to_owned()), false);
        let details = if company.british {
            self.british_details(serial)
        } else {
            let pec_local = format!("{}{suffix}", codes::slug(&company.base, "."));
            self.italian_details(serial, &pec_local)?
        };
        let input = CreateContactInput {
            kind: ContactKind::Organization,
            given_name: None,
            family_name: None,
            organization_name: Some(company.name),
            category,
            emails: std::iter::once(info).chain(details.pec).collect(),
            phones: vec![details.phone],
            addresses: vec![details.address],
            tags: self.tags(category),
            codice_fiscale: None,
            partita_iva: details.partita_iva,
            notes: self.note(),
            responsible_user_id: self.responsible(category),
            affiliations: Vec::new(),
            birth_date: None,
            personal_interests: None,
            family_details: None,
            source: self.source(serial, category),
            grounds: Vec::new(),
            confirm_returning_subject: false,
        };
        Ok(Draft {
            input,
            staff_domain: Some(domain),
        })
    }

    /// Italian companies must have a PEC address and a partita IVA.
    fn italian_details(&mut self, serial: u64, pec_local: &str) -> Result<CompanyDetails> {
        let pec_domain = pick(&mut self.rng, &PEC_DOMAINS);
        let pec = email(
            &format!("{pec_local}@{pec_domain}"),
            Some("PEC".to_owned()),
            true,
        );
        let city_index = self.rng.random_range(0..CITIES.len());
        let city = CITIES[city_index];
        let address = italian_address(&mut self.rng, city, Some("sede legale".to_owned()));
        // A made-up but stable tax office code per city.
        let office = 1 + (city_index as u32 * 7) % 100;
        Ok(CompanyDetails {
            pec: Some(pec),
            phone: phone(
                codes::landline(&city, serial),
                Some("centralino".to_owned()),
            ),
            address,
            partita_iva: Some(codes::partita_iva(serial, office)?),
        })
    }

    fn british_details(&mut self, serial: u64) -> CompanyDetails {
        let address = london_address(&mut self.rng, Some("registered office".to_owned()));
        CompanyDetails {
            pec: None,
            phone: phone(
                codes::london_landline(serial),
                Some("switchboard".to_owned()),
            ),
            address,
            partita_iva: None,
        }
    }

    /// Unique by the domain part, so no two demo companies share an e-mail domain.
    fn company_name(&mut self, category: ContactCategory) -> Company {
        let mut company = self.company_name_once(category);
        if self.is_demo() {
            for _ in 0..NAME_TRIES {
                let key = format!("org:{}", codes::slug(&company.base, "-"));
                if self.used_names.insert(key) {
                    break;
                }
                company = self.company_name_once(category);
            }
        }
        company
    }

    fn company_name_once(&mut self, category: ContactCategory) -> Company {
        let rng = &mut self.rng;
        if category == Partner {
            let (a, b) = (pick(rng, &ITALIAN_SURNAMES), pick(rng, &ITALIAN_SURNAMES));
            let (name, base) = if a == b {
                (format!("Studio Legale {a}"), format!("Studio Legale {a}"))
            } else {
                (
                    format!("Studio Legale Associato {a} & {b}"),
                    format!("Studio Legale {a} {b}"),
                )
            };
            return Company {
                name,
                base,
                british: false,
            };
        }
        if rng.random_bool(0.2) {
            let word = pick(rng, &ENGLISH_COMPANY_WORDS);
            let kind = pick(rng, &ENGLISH_COMPANY_KINDS);
            // "Atlas Freight Ltd" mails from atlas-freight.example.com.
            let activity = kind.rsplit_once(' ').map_or(kind, |(activity, _)| activity);
            return Company {
                name: format!("{word} {kind}"),
                base: format!("{word} {activity}"),
                british: true,
            };
        }
        let base = match rng.random_range(0..4) {
            0 => format!("{} {}", pick(rng, &SECTORS), pick(rng, &REGIONAL)),
            1 => pick(rng, &ITALIAN_SURNAMES).to_owned(),
            2 => format!("{} & Figli", pick(rng, &ITALIAN_SURNAMES)),
            _ => format!("{} {}", pick(rng, &SECTORS), pick(rng, &ITALIAN_SURNAMES)),
        };
        Company {
            name: format!("{base} {}", pick(rng, &LEGAL_FORMS)),
            base,
            british: false,
        }
    }

    /// A court from the list, or `None` when the demo has them all already.
    fn court_draft(&mut self, serial: u64) -> Result<Option<Draft>> {
        let start = self.rng.random_range(0..COURTS.len());
        let tries = if self.is_demo() { COURTS.len() } else { 1 };
        let court = (0..tries)
            .map(|i| COURTS[(start + i) % COURTS.len()])
            .find(|(name, _, _)| !self.is_demo() || !self.used_names.contains(*name));
        let Some((name, city_index, street)) = court else {
            return Ok(None);
        };
        self.used_names.insert(name.to_owned());
        let city = CITIES[city_index % CITIES.len()];
        let suffix = self.unique_suffix(serial);
        let pec = format!("prot.{}{suffix}@{COURT_PEC_DOMAIN}", codes::slug(name, "."));
        Ok(Some(Draft {
            input: CreateContactInput {
                kind: ContactKind::Organization,
                given_name: None,
                family_name: None,
                organization_name: Some(name.to_owned()),
                category: Court,
                emails: vec![email(&pec, Some("PEC".to_owned()), true)],
                phones: vec![phone(
                    codes::landline(&city, serial),
                    Some("cancelleria".to_owned()),
                )],
                addresses: vec![AddressInput {
                    label: None,
                    street: street.to_owned(),
                    postal_code: Some(format!("{:05}", city.cap.0)),
                    city: city.name.to_owned(),
                    province: Some(city.province.to_owned()),
                    country: Some("IT".to_owned()),
                }],
                tags: Vec::new(),
                codice_fiscale: Some(codes::public_body_code(serial)?),
                partita_iva: None,
                source: self.source(serial, Court),
                grounds: Vec::new(),
                confirm_returning_subject: false,
                notes: None,
                responsible_user_id: None,
                affiliations: Vec::new(),
                birth_date: None,
                personal_interests: None,
                family_details: None,
            },
            staff_domain: None,
        }))
    }
}

fn italian_address(rng: &mut StdRng, city: City, label: Option<String>) -> AddressInput {
    let number = rng.random_range(1..=150);
    AddressInput {
        label,
        street: format!("{} {number}", pick(rng, &STREETS)),
        postal_code: Some(format!("{:05}", rng.random_range(city.cap.0..=city.cap.1))),
        city: city.name.to_owned(),
        province: Some(city.province.to_owned()),
        country: Some("IT".to_owned()),
    }
}

fn london_address(rng: &mut StdRng, label: Option<String>) -> AddressInput {
    let number = rng.random_range(1..=150);
    AddressInput {
        label,
        street: format!("{number} {}", pick(rng, &LONDON_STREETS)),
        postal_code: Some(pick(rng, &LONDON_POSTCODES).to_owned()),
        city: "London".to_owned(),
        province: None,
        country: Some("GB".to_owned()),
    }
}

/// Where people live and were born: Milan for a third of them, the firm being there.
fn pick_city(rng: &mut StdRng) -> City {
    if rng.random_bool(0.35) {
        CITIES[0]
    } else {
        pick(rng, &CITIES)
    }
}

fn label(person: &Person, italian: &str, english: &str) -> Option<String> {
    Some(if person.english { english } else { italian }.to_owned())
}

fn email(address: &str, label: Option<String>, is_pec: bool) -> EmailInput {
    EmailInput {
        address: address.to_owned(),
        label,
        is_pec,
    }
}

fn phone(number: String, label: Option<String>) -> PhoneInput {
    PhoneInput { number, label }
}
