//! Identifiers that pass the validators: codice fiscale, partita IVA, phone numbers, e-mail
//! local parts. Generated the way the real ones are built, never copied from real people.

use chrono::{Datelike, NaiveDate};

use super::names::{City, MOBILE_PREFIXES};
use crate::error::{Error, Result};
use crate::validation::{codice_fiscale_check_char, partita_iva_check_digit};

/// Month letters of the codice fiscale, January to December.
const MONTH_LETTERS: &[u8; 12] = b"ABCDEHLMPRST";

/// Ten million: the 7-digit blocks below are permutations of `0..BLOCK`.
const BLOCK: u64 = 10_000_000;

/// Spreads serial numbers over `0..modulus` without collisions: multiplying by a number
/// coprime with 2 and 5 is a bijection modulo any `2^a * 5^b`, so serials below `modulus`
/// never share a value, yet neighbours look unrelated.
fn scramble(serial: u64, salt: u64, modulus: u64) -> u64 {
    ((serial % modulus) * 7_654_321 + salt) % modulus
}

/// [`scramble`] over seven digits.
pub fn scrambled_block(serial: u64, salt: u64) -> u64 {
    scramble(serial, salt, BLOCK)
}

/// A name reduced to the upper-case ASCII letters the codice fiscale uses
/// (accents dropped, apostrophes and spaces removed).
fn letters(name: &str) -> Vec<char> {
    name.chars()
        .filter_map(|c| match c {
            'à' | 'á' | 'À' => Some('A'),
            'è' | 'é' | 'È' | 'É' => Some('E'),
            'ì' | 'í' => Some('I'),
            'ò' | 'ó' => Some('O'),
            'ù' | 'ú' => Some('U'),
            c if c.is_ascii_alphabetic() => Some(c.to_ascii_uppercase()),
            _ => None,
        })
        .collect()
}

fn split_letters(name: &str) -> (Vec<char>, Vec<char>) {
    letters(name)
        .into_iter()
        .partition(|c| !matches!(c, 'A' | 'E' | 'I' | 'O' | 'U'))
}

/// Consonants, then vowels, then X padding: the first three make the code.
fn three_of(consonants: &[char], vowels: &[char]) -> String {
    consonants
        .iter()
        .chain(vowels)
        .chain(['X', 'X', 'X'].iter())
        .take(3)
        .collect()
}

fn surname_code(family: &str) -> String {
    let (consonants, vowels) = split_letters(family);
    three_of(&consonants, &vowels)
}

/// Given names with four or more consonants skip the second one (Federico -> FRC, not FDR).
fn name_code(given: &str) -> String {
    let (consonants, vowels) = split_letters(given);
    if consonants.len() >= 4 {
        [consonants[0], consonants[2], consonants[3]]
            .iter()
            .collect()
    } else {
        three_of(&consonants, &vowels)
    }
}

/// A personal codice fiscale built as the Agenzia delle Entrate does; women have 40 added to
/// the day of birth; `birthplace` is a codice catastale such as F205 (Milan) or Z114 (UK).
pub fn codice_fiscale(
    given: &str,
    family: &str,
    born: NaiveDate,
    female: bool,
    birthplace: &str,
) -> Result<String> {
    let month = MONTH_LETTERS
        .get(born.month0() as usize)
        .map(|&b| char::from(b))
        .unwrap_or('A');
    let day = born.day() + if female { 40 } else { 0 };
    let first15 = format!(
        "{}{}{:02}{month}{day:02}{birthplace}",
        surname_code(family),
        name_code(given),
        born.year().rem_euclid(100),
    );
    let check = codice_fiscale_check_char(&first15).ok_or_else(|| {
        Error::Internal(format!(
            "seed: cannot build a codice fiscale from {first15}"
        ))
    })?;
    Ok(format!("{first15}{check}"))
}

/// Appends the check digit to the first ten digits of a partita IVA or numeric codice fiscale.
fn with_check_digit(first10: String) -> Result<String> {
    let check = partita_iva_check_digit(&first10).ok_or_else(|| {
        Error::Internal(format!("seed: cannot build a check digit for {first10}"))
    })?;
    Ok(format!("{first10}{check}"))
}

/// A partita IVA unique per serial (below 10^7): 7-digit company number, the 3-digit code of
/// the provincial tax office, check digit.
pub fn partita_iva(serial: u64, office: u32) -> Result<String> {
    let company = scrambled_block(serial, 1_234_567);
    with_check_digit(format!("{company:07}{:03}", office % 1000))
}

/// The numeric codice fiscale of a public body (courts' codes start with 80).
pub fn public_body_code(serial: u64) -> Result<String> {
    with_check_digit(format!("800{:07}", scrambled_block(serial, 4_242_424)))
}

/// An Italian mobile number like "+39 347 1234567", unique per serial below 10^7.
pub fn mobile(serial: u64, prefix_pick: usize) -> String {
    let prefix = MOBILE_PREFIXES[prefix_pick % MOBILE_PREFIXES.len()];
    format!("+39 {prefix} {:07}", scrambled_block(serial, 3_141_592))
}

/// A landline of `city`: area code plus subscriber number, ten digits in all. Subscriber
/// numbers start with 2-9 as real ones do; unique per serial below 8 million.
pub fn landline(city: &City, serial: u64) -> String {
    let width = 10 - city.area_code.len();
    // The numbers from 2000000(0) up to 9999999(9) in the subscriber's width.
    let first = 2 * 10u64.pow(width as u32 - 1);
    let subscriber = first + scramble(serial, 2_718_281, 4 * first);
    format!("+39 {} {subscriber}", city.area_code)
}

/// A London landline ("+44 20 7xxx xxxx"), for contacts based in the UK.
pub fn london_landline(serial: u64) -> String {
    let block = scrambled_block(serial, 1_618_033);
    format!("+44 20 7{:03} {:04}", block / 10_000 % 1000, block % 10_000)
}

/// Lower-case ASCII for e-mail local parts and domains: "D'Angelo" -> "dangelo",
/// "Niccolò" -> "niccolo"; word breaks become `sep`.
pub fn slug(text: &str, sep: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '&' || c == '-')
        .map(|word| {
            letters(word)
                .into_iter()
                .chain(word.chars().filter(char::is_ascii_digit))
                .map(|c| c.to_ascii_lowercase())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::names::CITIES;
    use crate::validation::{
        normalize_codice_fiscale, normalize_email, normalize_partita_iva, normalize_phone,
    };

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn codice_fiscale_matches_known_codes() {
        // The textbook example: Mario Rossi, born 10 Dec 1985... in A562.
        let cf = codice_fiscale("Mario", "Rossi", date(1985, 12, 10), false, "A562");
        assert_eq!(cf.ok().as_deref(), Some("RSSMRA85T10A562S"));
        // Four consonants skip the second: Federico -> FRC.
        assert_eq!(name_code("Federico"), "FRC");
        // Short surnames pad with X, accents and apostrophes are ignored.
        assert_eq!(surname_code("Fo"), "FOX");
        assert_eq!(surname_code("D'Angelo"), "DNG");
        // Niccolò: N, C, C, L -> first, third and fourth consonant.
        assert_eq!(name_code("Niccolò"), "NCL");
    }

    #[test]
    fn generated_codes_pass_validation() {
        for serial in 0..500u64 {
            let female = serial % 2 == 0;
            let born = date(
                1950 + (serial % 50) as i32,
                1 + (serial % 12) as u32,
                1 + (serial % 28) as u32,
            );
            let cf = codice_fiscale("Niccolò", "Dell'Acqua", born, female, "F205");
            let cf = cf.unwrap_or_default();
            assert_eq!(normalize_codice_fiscale(&cf), Ok(cf.clone()));
            let piva = partita_iva(serial, (serial % 100 + 1) as u32).unwrap_or_default();
            assert_eq!(normalize_partita_iva(&piva), Ok(piva.clone()));
            let public = public_body_code(serial).unwrap_or_default();
            assert_eq!(normalize_codice_fiscale(&public), Ok(public.clone()));
        }
    }

    #[test]
    fn phones_pass_validation_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for serial in 0..2000u64 {
            let numbers = [
                mobile(serial, serial as usize),
                landline(&CITIES[serial as usize % CITIES.len()], serial),
                london_landline(serial),
            ];
            for number in numbers {
                let e164 = normalize_phone(&number, "IT");
                assert!(e164.is_ok(), "{number}: {e164:?}");
                assert!(seen.insert(e164.unwrap_or_default()), "{number} twice");
            }
        }
    }

    #[test]
    fn slugs_make_valid_addresses() {
        assert_eq!(slug("D'Angelo", "."), "dangelo");
        assert_eq!(slug("Rossi & Figli S.p.A.", "-"), "rossi-figli-spa");
        assert_eq!(slug("Niccolò De Luca", "."), "niccolo.de.luca");
        let address = format!("{}@example.com", slug("Harbour Lane Partners LLP", "-"));
        assert!(normalize_email(&address).is_ok());
    }
}
