//! The days on which a procedural term cannot end (art. 155 c.4 and c.5 c.p.c.): Sundays, the
//! Italian public holidays (L. 260/1949 art. 2, as L. 54/1977 and L. 151/2025 left it), a
//! court's patron saint day, and Saturday for acts done outside the hearing.

use chrono::{Datelike, NaiveDate, Weekday};

/// Why a day is not a working day for the term being computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closure {
    Sunday,
    PublicHoliday(&'static str),
    PatronSaint,
    Saturday,
}

impl Closure {
    pub fn describe(self, date: NaiveDate) -> String {
        match self {
            Closure::Sunday => format!("{date} is a Sunday"),
            Closure::PublicHoliday(name) => format!("{date} is a public holiday ({name})"),
            Closure::PatronSaint => format!("{date} is the court's patron saint day"),
            Closure::Saturday => format!("{date} is a Saturday"),
        }
    }
}

/// A day of the year, as a court's patron saint day is set (`MM-DD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct MonthDay {
    pub month: u32,
    pub day: u32,
}

impl std::str::FromStr for MonthDay {
    type Err = String;

    fn from_str(text: &str) -> Result<MonthDay, String> {
        let invalid = || format!("`{text}` is not a day of the year as MM-DD (e.g. 12-07)");
        let (month, day) = text.trim().split_once('-').ok_or_else(invalid)?;
        let (month, day) = (
            month.parse::<u32>().map_err(|_| invalid())?,
            day.parse::<u32>().map_err(|_| invalid())?,
        );
        // 2024 is a leap year: 02-29 is accepted.
        NaiveDate::from_ymd_opt(2024, month, day).ok_or_else(invalid)?;
        Ok(MonthDay { month, day })
    }
}

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian computus, in
/// the form Meeus gives).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The national public holiday on `date`, if any.
pub fn public_holiday(date: NaiveDate) -> Option<&'static str> {
    let fixed = match (date.month(), date.day()) {
        (1, 1) => Some("Capodanno"),
        (1, 6) => Some("Epifania"),
        (4, 25) => Some("Festa della Liberazione"),
        (5, 1) => Some("Festa del lavoro"),
        (6, 2) => Some("Festa della Repubblica"),
        (8, 15) => Some("Assunzione"),
        // L. 151/2025 made 4 October a national holiday again from 1 January 2026.
        (10, 4) if date.year() >= 2026 => Some("San Francesco d'Assisi"),
        (11, 1) => Some("Ognissanti"),
        (12, 8) => Some("Immacolata Concezione"),
        (12, 25) => Some("Natale"),
        (12, 26) => Some("Santo Stefano"),
        _ => None,
    };
    fixed.or_else(|| {
        let easter_monday = easter_sunday(date.year())?.succ_opt()?;
        (date == easter_monday).then_some("Lunedì dell'Angelo")
    })
}

/// What keeps `date` from being the last day of a term: `saturday_closed` for acts done
/// outside the hearing (art. 155 c.5), `patron` the court's patron saint day.
pub fn closure(
    date: NaiveDate,
    patron: Option<MonthDay>,
    saturday_closed: bool,
) -> Option<Closure> {
    if date.weekday() == Weekday::Sun {
        return Some(Closure::Sunday);
    }
    if let Some(name) = public_holiday(date) {
        return Some(Closure::PublicHoliday(name));
    }
    if patron.is_some_and(|p| p.month == date.month() && p.day == date.day()) {
        return Some(Closure::PatronSaint);
    }
    if saturday_closed && date.weekday() == Weekday::Sat {
        return Some(Closure::Saturday);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a test date")
    }

    #[test]
    fn easter_sunday_by_the_computus() {
        // Easter dates as the Church's tables give them.
        for (year, easter) in [
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
        ] {
            assert_eq!(easter_sunday(year), Some(day(easter)), "Easter {year}");
        }
    }

    #[test]
    fn public_holidays_of_l_260_1949() {
        let cases = [
            ("2026-01-01", Some("Capodanno")),
            ("2026-01-06", Some("Epifania")),
            // Easter Monday follows Easter Sunday 5 April 2026.
            ("2026-04-06", Some("Lunedì dell'Angelo")),
            ("2026-04-05", None),
            ("2026-04-25", Some("Festa della Liberazione")),
            ("2026-05-01", Some("Festa del lavoro")),
            ("2026-06-02", Some("Festa della Repubblica")),
            ("2026-08-15", Some("Assunzione")),
            ("2026-11-01", Some("Ognissanti")),
            ("2026-12-08", Some("Immacolata Concezione")),
            ("2026-12-25", Some("Natale")),
            ("2026-12-26", Some("Santo Stefano")),
            // L. 151/2025: from 2026 only.
            ("2027-10-04", Some("San Francesco d'Assisi")),
            ("2025-10-04", None),
            // Abolished by L. 54/1977: 19 March, 29 June, 4 November are working days.
            ("2026-03-19", None),
            ("2026-06-29", None),
            ("2026-11-04", None),
        ];
        for (date, expected) in cases {
            assert_eq!(public_holiday(day(date)), expected, "{date}");
        }
    }

    #[test]
    fn closures_by_weekday_holiday_and_court() {
        let milano = Some(MonthDay { month: 12, day: 7 });
        let cases = [
            ("2026-03-29", None, false, Some(Closure::Sunday)),
            ("2026-03-28", None, false, None),
            ("2026-03-28", None, true, Some(Closure::Saturday)),
            ("2026-12-07", None, true, None),
            ("2026-12-07", milano, true, Some(Closure::PatronSaint)),
            (
                "2026-06-02",
                None,
                false,
                Some(Closure::PublicHoliday("Festa della Repubblica")),
            ),
        ];
        for (date, patron, saturday_closed, expected) in cases {
            assert_eq!(
                closure(day(date), patron, saturday_closed),
                expected,
                "{date}"
            );
        }
    }

    #[test]
    fn patron_days_parse_as_month_and_day() {
        assert_eq!("12-07".parse(), Ok(MonthDay { month: 12, day: 7 }));
        assert_eq!("02-29".parse(), Ok(MonthDay { month: 2, day: 29 }));
        assert!("13-01".parse::<MonthDay>().is_err());
        assert!("7 dicembre".parse::<MonthDay>().is_err());
    }
}
