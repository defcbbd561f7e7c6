//! The procedural-term calculator: the last day of a term of the Italian civil process, and
//! the rules that moved it there.
//!
//! - Art. 155 c.1 c.p.c.: a term in days excludes its first day (the day of the event).
//! - Art. 155 c.2: months and years follow the common calendar; a day the last month lacks
//!   (31 January + 1 month) is its last day.
//! - L. 742/1969 art. 1: terms do not run from 1 to 31 August; a term that would start in that
//!   period starts at its end. Art. 3 of that law and art. 92 ord. giud. except labour,
//!   social-security and urgent matters, which the caller names.
//! - Art. 155 c.4: a term ending on a public holiday (Sundays included) ends on the next
//!   non-holiday; c.5: for acts done outside the hearing, a term ending on Saturday too.
//!   C.6 keeps Saturday a working day for hearings and the court's own activity.
//! - Terms counted backwards from an event (twenty days before a hearing) move to the
//!   previous working day instead, so the act is still done in time.
//! - "Free" terms (*termini liberi*) leave out the last day as well as the first.

use async_graphql::{Enum, InputObject};
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};

use super::courts::Courts;
use super::holidays::{closure, MonthDay};
use crate::error::{Error, Result};

/// The unit a term is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TermUnit {
    /// Calendar days, the first day not counted (art. 155 c.1 c.p.c.).
    Days,
    /// Months by the calendar (art. 155 c.2 c.p.c.).
    Months,
    /// Years by the calendar (art. 155 c.2 c.p.c.).
    Years,
}

/// Whether a term runs forward from its event or backward before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TermDirection {
    /// From the event onwards (thirty days from notification).
    Forward,
    /// Before the event (twenty days before the hearing).
    Backward,
}

/// Where the act the term is for is done, which decides whether Saturday ends it (art. 155
/// c.5 and c.6 c.p.c.).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
pub enum ProceduralAct {
    /// Filings, notifications and other acts outside the hearing: Saturday counts as a
    /// holiday.
    #[default]
    OutsideHearing,
    /// Hearings and the court's own activity: Saturday is a working day.
    InHearing,
}

/// Matters to which the August suspension does not apply (L. 742/1969 art. 3, art. 92 ord.
/// giud.).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum FerialeExemption {
    /// Labour disputes (art. 409 and 429 c.p.c.).
    Labour,
    /// Social security and welfare (art. 442 and 459 c.p.c.).
    SocialSecurity,
    /// Maintenance (*alimenti*).
    Maintenance,
    /// Precautionary proceedings (*procedimenti cautelari*).
    Precautionary,
    /// Guardianship: *amministrazione di sostegno*, *interdizione*, *inabilitazione*.
    Guardianship,
    /// Protection orders against family abuse.
    ProtectionOrders,
    /// Eviction (*sfratto*).
    Eviction,
    /// Opposition to enforcement.
    EnforcementOpposition,
    /// Declaring or revoking insolvency.
    Insolvency,
    /// Declared urgent by the court, because delay would cause serious harm.
    DeclaredUrgent,
}

/// A rule that moved the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TermRule {
    /// Art. 155 c.1 c.p.c.: days counted from the day after the event.
    DaysExcludingFirst,
    /// Termini liberi: neither the first nor the last day counts.
    FreeDays,
    /// Art. 155 c.2 c.p.c.: months or years by the calendar.
    Calendar,
    /// Art. 155 c.2 c.p.c.: the last month lacks the day, so its last day.
    CalendarEndOfMonth,
    /// L. 742/1969 art. 1: a term that would start in the suspension starts at its end.
    FerialeStartDeferred,
    /// L. 742/1969 art. 1: the days of 1–31 August are not counted.
    FerialeSuspension,
    /// Art. 155 c.4 c.p.c.: a public holiday, a Sunday or the court's patron saint day.
    Holiday,
    /// Art. 155 c.5 c.p.c.: Saturday, for acts done outside the hearing.
    Saturday,
}

/// Which rules a term follows beyond counting.
#[derive(Debug, Clone, Default, InputObject)]
pub struct TermRules {
    /// A free term (*termine libero*): the last day does not count either. Days only.
    #[graphql(default)]
    pub free: bool,
    /// The matter is exempt from the August suspension; none: the suspension applies.
    pub feriale_exemption: Option<FerialeExemption>,
    /// Where the act is done, which decides whether a Saturday ends the term (art. 155 c.5
    /// and c.6 c.p.c.).
    #[graphql(default)]
    pub act: ProceduralAct,
    /// The court's code as configured (`courts` in the settings): its patron saint day is
    /// then a holiday.
    pub court: Option<String>,
}

/// A term running from (or back from) an event: a notification, a hearing.
#[derive(Debug, Clone, InputObject)]
pub struct DeadlineTermInput {
    /// The day of the event the term runs from (notification, hearing), ISO 8601 date.
    pub from: NaiveDate,
    /// The term's length in `unit`s, at least 1.
    pub amount: i32,
    /// Days, months or years.
    pub unit: TermUnit,
    /// Forward from the event, or backward before it.
    #[graphql(default_with = "TermDirection::Forward")]
    pub direction: TermDirection,
    /// Which special rules apply: free days, August exemptions, the act, the court.
    pub rules: Option<TermRules>,
}

impl DeadlineTermInput {
    /// The term to compute, checked; errors name fields under `prefix` (empty for the
    /// arguments of `computeDeadline`).
    pub fn compute(&self, prefix: &str, courts: &Courts) -> Result<Computation> {
        compute(&self.to_term(prefix, courts)?)
            .map_err(|_| Error::invalid(field_path(prefix, "from"), OUT_OF_RANGE))
    }

    fn to_term(&self, prefix: &str, courts: &Courts) -> Result<Term> {
        let rules = self.rules.clone().unwrap_or_default();
        let amount = validate(prefix, self.amount, self.unit, rules.free)?;
        let patron = match &rules.court {
            Some(code) => Some(
                courts
                    .find(&field_path(prefix, "rules.court"), code)?
                    .patron_day,
            ),
            None => None,
        };
        Ok(Term {
            from: self.from,
            amount,
            unit: self.unit,
            direction: self.direction,
            free: rules.free,
            exemption: rules.feriale_exemption,
            act: rules.act,
            patron,
        })
    }
}

fn field_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// When on its last day a computed term expires: the end of that day in Italy (a filing
/// through the telematic process is in time until midnight, art. 16-bis c.7 D.L. 179/2012).
pub fn expiry(date: NaiveDate) -> Result<DateTime<Utc>> {
    date.and_hms_opt(23, 59, 59)
        .ok_or_else(out_of_range)?
        .and_local_timezone(chrono_tz::Europe::Rome)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(out_of_range)
}

/// A term to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// The event the term runs from (or back from).
    pub from: NaiveDate,
    pub amount: u32,
    pub unit: TermUnit,
    pub direction: TermDirection,
    pub free: bool,
    /// `None`: the August suspension applies.
    pub exemption: Option<FerialeExemption>,
    pub act: ProceduralAct,
    /// The court's patron saint day, when the court is known.
    pub patron: Option<MonthDay>,
}

/// One rule's effect: the date before and after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub rule: TermRule,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computation {
    /// The last day on which the act may be done.
    pub date: NaiveDate,
    pub feriale_applies: bool,
    pub steps: Vec<Step>,
}

/// The longest term accepted in each unit: ten years.
fn max_amount(unit: TermUnit) -> u32 {
    match unit {
        TermUnit::Days => 3660,
        TermUnit::Months => 120,
        TermUnit::Years => 10,
    }
}

/// Checks the parts of a term the caller gives, naming `prefix.amount` or `prefix.rules.free`
/// (`prefix` empty for top-level arguments).
pub fn validate(prefix: &str, amount: i32, unit: TermUnit, free: bool) -> Result<u32> {
    let field = |name: &str| field_path(prefix, name);
    let max = max_amount(unit);
    let amount = u32::try_from(amount)
        .ok()
        .filter(|a| (1..=max).contains(a))
        .ok_or_else(|| Error::invalid(field("amount"), format!("use 1 to {max}")))?;
    if free && unit != TermUnit::Days {
        return Err(Error::invalid(
            field("rules.free"),
            "free terms (termini liberi) are counted in days",
        ));
    }
    Ok(amount)
}

const OUT_OF_RANGE: &str = "the term ends outside the calendar this server computes";

fn out_of_range() -> Error {
    Error::invalid("from", OUT_OF_RANGE)
}

/// Whether the term's days do not run on `date` (1–31 August).
fn suspended(date: NaiveDate) -> bool {
    date.month() == 8
}

fn step_by(date: NaiveDate, days: i64) -> Result<NaiveDate> {
    date.checked_add_signed(TimeDelta::days(days))
        .ok_or_else(out_of_range)
}

/// The last day of `term`, and why.
pub fn compute(term: &Term) -> Result<Computation> {
    let sign: i64 = match term.direction {
        TermDirection::Forward => 1,
        TermDirection::Backward => -1,
    };
    let feriale_applies = term.exemption.is_none();
    let mut steps = Vec::new();

    // L. 742/1969 art. 1: "ove il decorso abbia inizio durante il periodo di sospensione,
    // l'inizio stesso è differito alla fine di detto periodo". Counting backwards, the
    // period's end is its first day.
    let mut start = term.from;
    if feriale_applies && suspended(start) {
        let edge = match term.direction {
            TermDirection::Forward => NaiveDate::from_ymd_opt(start.year(), 8, 31),
            TermDirection::Backward => NaiveDate::from_ymd_opt(start.year(), 8, 1),
        }
        .ok_or_else(out_of_range)?;
        if edge != start {
            steps.push(Step {
                rule: TermRule::FerialeStartDeferred,
                from: start,
                to: edge,
                explanation: format!(
                    "the term would start during the suspension of 1-31 August: it starts from {edge}"
                ),
            });
            start = edge;
        }
    }

    let mut end = match term.unit {
        TermUnit::Days => {
            let days = i64::from(term.amount) + i64::from(term.free);
            let end = step_by(start, sign * days)?;
            steps.push(Step {
                rule: if term.free {
                    TermRule::FreeDays
                } else {
                    TermRule::DaysExcludingFirst
                },
                from: start,
                to: end,
                explanation: if term.free {
                    format!(
                        "{} free days: neither {start} nor the last day counts",
                        term.amount
                    )
                } else {
                    format!("{} days counted from the day after {start}", term.amount)
                },
            });
            end
        }
        TermUnit::Months | TermUnit::Years => {
            let months = match term.unit {
                TermUnit::Years => term.amount * 12,
                _ => term.amount,
            };
            let end = match term.direction {
                TermDirection::Forward => start.checked_add_months(Months::new(months)),
                TermDirection::Backward => start.checked_sub_months(Months::new(months)),
            }
            .ok_or_else(out_of_range)?;
            let unit = if term.unit == TermUnit::Years {
                "years"
            } else {
                "months"
            };
            let (rule, explanation) = if end.day() == start.day() {
                (
                    TermRule::Calendar,
                    format!("{} {unit} by the calendar from {start}", term.amount),
                )
            } else {
                (
                    TermRule::CalendarEndOfMonth,
                    format!(
                        "{} {unit} from {start}: that month has no day {}, so its last day",
                        term.amount,
                        start.day()
                    ),
                )
            };
            steps.push(Step {
                rule,
                from: start,
                to: end,
                explanation,
            });
            end
        }
    };

    if feriale_applies {
        // The suspended days the calendar counted are made up after the end, skipping any
        // later suspension too.
        let (low, high) = if sign > 0 { (start, end) } else { (end, start) };
        let mut missing = low
            .iter_days()
            .skip(usize::from(sign > 0))
            .take_while(|d| if sign > 0 { *d <= high } else { *d < high })
            .filter(|d| suspended(*d))
            .count();
        if missing > 0 {
            let counted = missing;
            let before = end;
            while missing > 0 {
                end = step_by(end, sign)?;
                if !suspended(end) {
                    missing -= 1;
                }
            }
            steps.push(Step {
                rule: TermRule::FerialeSuspension,
                from: before,
                to: end,
                explanation: format!(
                    "{counted} days of the suspension of 1-31 August (L. 742/1969) do not count"
                ),
            });
        }
    }

    let saturday_closed = term.act == ProceduralAct::OutsideHearing;
    if let Some(first) = closure(end, term.patron, saturday_closed) {
        let before = end;
        let mut reasons = Vec::new();
        while let Some(why) = closure(end, term.patron, saturday_closed) {
            reasons.push(why.describe(end));
            end = step_by(end, sign)?;
        }
        let moved = if sign > 0 {
            "to the next working day"
        } else {
            "back to the previous working day"
        };
        steps.push(Step {
            rule: match first {
                super::holidays::Closure::Saturday => TermRule::Saturday,
                _ => TermRule::Holiday,
            },
            from: before,
            to: end,
            explanation: format!("{}: the term moves {moved}", reasons.join("; ")),
        });
    }

    Ok(Computation {
        date: end,
        feriale_applies,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a test date")
    }

    fn term(from: &str, amount: u32, unit: TermUnit) -> Term {
        Term {
            from: day(from),
            amount,
            unit,
            direction: TermDirection::Forward,
            free: false,
            exemption: None,
            act: ProceduralAct::OutsideHearing,
            patron: None,
        }
    }

    fn backward(from: &str, amount: u32) -> Term {
        Term {
            direction: TermDirection::Backward,
            ..term(from, amount, TermUnit::Days)
        }
    }

    /// Each case: what the example says, the term, the expected last day, and the rules
    /// that moved the date, in order.
    fn check(cases: &[(&str, Term, &str, &[TermRule])]) {
        for (example, term, expected, rules) in cases {
            let computed = compute(term).unwrap_or_else(|e| panic!("{example}: {e}"));
            assert_eq!(computed.date, day(expected), "{example}: {computed:#?}");
            let applied: Vec<TermRule> = computed.steps.iter().map(|s| s.rule).collect();
            assert_eq!(&applied, rules, "{example}: {computed:#?}");
            // The steps chain: each starts where the one before ended, the last ends on the date.
            for pair in computed.steps.windows(2) {
                assert_eq!(pair[0].to, pair[1].from, "{example}");
            }
            assert_eq!(
                computed.steps.last().map(|s| s.to),
                Some(computed.date),
                "{example}"
            );
        }
    }

    use TermRule::*;

    #[test]
    fn days_exclude_the_first_day() {
        check(&[
            (
                // Art. 155 c.1: notified Monday 2 March 2026, 30 days: 3 March is day 1,
                // 1 April (a Wednesday) day 30.
                "30 days from 2 March 2026",
                term("2026-03-02", 30, TermUnit::Days),
                "2026-04-01",
                &[DaysExcludingFirst],
            ),
            (
                // One day from Tuesday 10 November 2026 is Wednesday 11 November.
                "1 day from 10 November 2026",
                term("2026-11-10", 1, TermUnit::Days),
                "2026-11-11",
                &[DaysExcludingFirst],
            ),
        ]);
    }

    #[test]
    fn months_and_years_follow_the_calendar() {
        check(&[
            (
                // Art. 155 c.2: 12 March + 2 months = 12 May 2026, a Tuesday.
                "2 months from 12 March 2026",
                term("2026-03-12", 2, TermUnit::Months),
                "2026-05-12",
                &[Calendar],
            ),
            (
                // 31 January + 1 month: February 2025 has no 31st, so Friday 28 February.
                "1 month from 31 January 2025",
                term("2025-01-31", 1, TermUnit::Months),
                "2025-02-28",
                &[CalendarEndOfMonth],
            ),
            (
                // In a leap year the last day of February is the 29th (a Tuesday in 2028).
                "1 month from 31 January 2028",
                term("2028-01-31", 1, TermUnit::Months),
                "2028-02-29",
                &[CalendarEndOfMonth],
            ),
            (
                // 29 February 2024 + 1 year: 2025 has no 29 February, so Friday 28 February
                // (a labour matter: August counts).
                "1 year from 29 February 2024, labour",
                Term {
                    exemption: Some(FerialeExemption::Labour),
                    ..term("2024-02-29", 1, TermUnit::Years)
                },
                "2025-02-28",
                &[CalendarEndOfMonth],
            ),
            (
                // The same year in an ordinary matter spans August 2024, whose 31 days are
                // made up after 28 February: Monday 31 March 2025.
                "1 year from 29 February 2024",
                term("2024-02-29", 1, TermUnit::Years),
                "2025-03-31",
                &[CalendarEndOfMonth, FerialeSuspension],
            ),
        ]);
    }

    #[test]
    fn the_august_suspension() {
        check(&[
            (
                // L. 742/1969 art. 1: 30 days from 15 July 2026: 16-31 July are days 1-16,
                // August does not count, 1-14 September are days 17-30 (Monday 14 September).
                "30 days from 15 July 2026",
                term("2026-07-15", 30, TermUnit::Days),
                "2026-09-14",
                &[DaysExcludingFirst, FerialeSuspension],
            ),
            (
                // Notified 10 August 2026: the start is deferred to the end of the period
                // (31 August), so 1 September is day 1 and Wednesday 30 September day 30.
                "30 days from 10 August 2026",
                term("2026-08-10", 30, TermUnit::Days),
                "2026-09-30",
                &[FerialeStartDeferred, DaysExcludingFirst],
            ),
            (
                // 6 months from 11 March 2026 is 11 September by the calendar; the 31 days
                // of August are made up: Monday 12 October.
                "6 months from 11 March 2026",
                term("2026-03-11", 6, TermUnit::Months),
                "2026-10-12",
                &[Calendar, FerialeSuspension],
            ),
            (
                // Counting back 20 days from a hearing on 10 September 2026: 9-1 September
                // are days 1-9, August does not count, 31-21 July are days 10-20: Tuesday
                // 21 July.
                "20 days before a hearing on 10 September 2026",
                backward("2026-09-10", 20),
                "2026-07-21",
                &[DaysExcludingFirst, FerialeSuspension],
            ),
        ]);
    }

    #[test]
    fn exempt_matters_run_through_august() {
        let exempt = |exemption| Term {
            exemption: Some(exemption),
            ..term("2026-07-15", 30, TermUnit::Days)
        };
        // Art. 3 L. 742/1969: a labour or precautionary term of 30 days from 15 July 2026
        // ends on Friday 14 August, August counted.
        for exemption in [FerialeExemption::Labour, FerialeExemption::Precautionary] {
            let computed = compute(&exempt(exemption)).expect("computed");
            assert_eq!(computed.date, day("2026-08-14"), "{exemption:?}");
            assert!(!computed.feriale_applies);
        }
    }

    #[test]
    fn holidays_and_sundays_move_the_end_forward() {
        check(&[
            (
                // Art. 155 c.4: 27 days from 2 March 2026 end on Sunday 29 March: Monday 30.
                "27 days from 2 March 2026",
                term("2026-03-02", 27, TermUnit::Days),
                "2026-03-30",
                &[DaysExcludingFirst, Holiday],
            ),
            (
                // 30 days from 6 March 2026 end on Easter Sunday (5 April); Easter Monday is a
                // holiday too: Tuesday 7 April.
                "30 days from 6 March 2026",
                term("2026-03-06", 30, TermUnit::Days),
                "2026-04-07",
                &[DaysExcludingFirst, Holiday],
            ),
            (
                // 30 days from 3 May 2026 end on 2 June (Festa della Repubblica): 3 June.
                "30 days from 3 May 2026",
                term("2026-05-03", 30, TermUnit::Days),
                "2026-06-03",
                &[DaysExcludingFirst, Holiday],
            ),
            (
                // L. 151/2025: 4 October 2027 (a Monday) is a holiday: Tuesday 5 October.
                "30 days from 4 September 2027",
                term("2027-09-04", 30, TermUnit::Days),
                "2027-10-05",
                &[DaysExcludingFirst, Holiday],
            ),
            (
                // Before 2026, 4 October was a working day: Friday 4 October 2024 stands.
                "30 days from 4 September 2024",
                term("2024-09-04", 30, TermUnit::Days),
                "2024-10-04",
                &[DaysExcludingFirst],
            ),
        ]);
    }

    #[test]
    fn a_courts_patron_saint_day_is_a_holiday_there() {
        let milano = MonthDay { month: 12, day: 7 };
        check(&[
            (
                // 30 days from 7 November 2026 end on Monday 7 December, Sant'Ambrogio in
                // Milan; 8 December is the Immacolata: Wednesday 9 December.
                "30 days from 7 November 2026 before the Tribunale di Milano",
                Term {
                    patron: Some(milano),
                    ..term("2026-11-07", 30, TermUnit::Days)
                },
                "2026-12-09",
                &[DaysExcludingFirst, Holiday],
            ),
            (
                // Elsewhere 7 December is a working day.
                "30 days from 7 November 2026 elsewhere",
                term("2026-11-07", 30, TermUnit::Days),
                "2026-12-07",
                &[DaysExcludingFirst],
            ),
        ]);
    }

    #[test]
    fn saturday_as_art_155_c5_says() {
        check(&[
            (
                // 31 January 2026 + 1 month = Saturday 28 February. For a filing (outside the
                // hearing) Saturday counts as a holiday: Monday 2 March.
                "1 month from 31 January 2026, a filing",
                term("2026-01-31", 1, TermUnit::Months),
                "2026-03-02",
                &[CalendarEndOfMonth, Saturday],
            ),
            (
                // Art. 155 c.6: for the hearing's own activity Saturday is a working day.
                "1 month from 31 January 2026, in the hearing",
                Term {
                    act: ProceduralAct::InHearing,
                    ..term("2026-01-31", 1, TermUnit::Months)
                },
                "2026-02-28",
                &[CalendarEndOfMonth],
            ),
        ]);
    }

    #[test]
    fn backward_terms_move_to_the_previous_working_day() {
        check(&[
            (
                // 20 days before a hearing on Monday 22 June 2026 is 2 June, a holiday: the act
                // must be done by Monday 1 June.
                "20 days before a hearing on 22 June 2026",
                backward("2026-06-22", 20),
                "2026-06-01",
                &[DaysExcludingFirst, Holiday],
            ),
            (
                // 15 days before Monday 30 March 2026 is Sunday 15 March; Saturday 14 is closed
                // for a filing too: Friday 13 March.
                "15 days before a hearing on 30 March 2026",
                backward("2026-03-30", 15),
                "2026-03-13",
                &[DaysExcludingFirst, Holiday],
            ),
            (
                // 20 days before Monday 30 November 2026 is Tuesday 10 November.
                "20 days before a hearing on 30 November 2026",
                backward("2026-11-30", 20),
                "2026-11-10",
                &[DaysExcludingFirst],
            ),
            (
                // 20 free days before it leave 20 whole days between act and hearing: the
                // act by Monday 9 November.
                "20 free days before a hearing on 30 November 2026",
                Term {
                    free: true,
                    ..backward("2026-11-30", 20)
                },
                "2026-11-09",
                &[FreeDays],
            ),
        ]);
    }

    #[test]
    fn invalid_terms_are_refused_naming_the_field() {
        let cases = [
            ("", 0, TermUnit::Days, false, "amount"),
            ("", -3, TermUnit::Months, false, "amount"),
            ("", 121, TermUnit::Months, false, "amount"),
            ("input.term", 0, TermUnit::Days, false, "input.term.amount"),
            (
                "input.term",
                2,
                TermUnit::Months,
                true,
                "input.term.rules.free",
            ),
        ];
        for (prefix, amount, unit, free, field) in cases {
            match validate(prefix, amount, unit, free) {
                Err(Error::Validation(errors)) => {
                    assert_eq!(errors[0].field, field, "{amount} {unit:?}")
                }
                other => panic!("{amount} {unit:?}: {other:?}"),
            }
        }
        assert_eq!(validate("", 30, TermUnit::Days, true).ok(), Some(30));
    }
}
