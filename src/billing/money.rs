//! Money as integer cents: line amounts from minutes and hourly rates, percentages in basis
//! points, and the decimal text the exports write. No floating point anywhere.

/// Rounds `numerator / denominator` half away from zero (both non-negative in practice).
fn div_round(numerator: i128, denominator: i128) -> i128 {
    if numerator >= 0 {
        (numerator + denominator / 2) / denominator
    } else {
        -((-numerator + denominator / 2) / denominator)
    }
}

/// What `minutes` at `rate_cents` per hour cost, rounded half up to the cent.
pub fn amount(minutes: i32, rate_cents: i64) -> i64 {
    clamp(div_round(i128::from(minutes) * i128::from(rate_cents), 60))
}

/// `basis_points` (1/100 of a percent: 2200 = 22%) of `cents`, rounded half up to the cent.
pub fn percent(cents: i64, basis_points: i32) -> i64 {
    clamp(div_round(
        i128::from(cents) * i128::from(basis_points),
        10_000,
    ))
}

fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// Cents as a decimal with two places and a point: `123456` → `1234.56`, `-5` → `-0.05`.
pub fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Basis points as a percentage with two places: `2200` → `22.00`.
pub fn rate(basis_points: i32) -> String {
    decimal(i64::from(basis_points))
}

/// Minutes as hours with at least `min` and at most `max` decimals, trailing zeros
/// trimmed down to `min` (`90` → `1.50`, `20` → `0.33333333` with 8).
pub fn hours(minutes: i32, min: usize, max: usize) -> String {
    let whole = minutes / 60;
    let mut rest = i64::from(minutes % 60);
    let mut digits = String::new();
    for _ in 0..max {
        rest *= 10;
        digits.push(char::from(b'0' + (rest / 60) as u8));
        rest %= 60;
    }
    while digits.len() > min && digits.ends_with('0') {
        digits.pop();
    }
    format!("{whole}.{digits}")
}

/// The parts of an invoice's amounts, from the fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub net: i64,
    pub cassa: i64,
    pub vat: i64,
    pub withholding: i64,
    /// Fees, contribution and VAT: the document's total.
    pub total: i64,
    /// What the client pays: the total less the tax they withhold.
    pub payable: i64,
}

/// The Italian lawyer's invoice: the cassa forense contribution on the fees, VAT on fees and
/// contribution, withholding tax (ritenuta d'acconto) on the fees alone.
pub fn totals(net: i64, cassa_bp: i32, vat_bp: i32, withholding_bp: i32) -> Totals {
    let cassa = percent(net, cassa_bp);
    let vat = percent(net + cassa, vat_bp);
    let withholding = percent(net, withholding_bp);
    let total = net + cassa + vat;
    Totals {
        net,
        cassa,
        vat,
        withholding,
        total,
        payable: total - withholding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_half_up_to_the_cent() {
        assert_eq!(amount(90, 20_000), 30_000);
        assert_eq!(amount(20, 25_000), 8_333);
        assert_eq!(amount(1, 30), 1, "0.5 cent rounds up");
        assert_eq!(amount(1, 29), 0);
        assert_eq!(percent(100_050, 400), 4_002);
        assert_eq!(percent(1, 5_000), 1);
    }

    #[test]
    fn an_invoice_adds_cassa_vat_and_withholding() {
        // 1000.00 fees: 40.00 cassa, 228.80 VAT on 1040.00, 200.00 withheld.
        let t = totals(100_000, 400, 2_200, 2_000);
        assert_eq!((t.cassa, t.vat, t.withholding), (4_000, 22_880, 20_000));
        assert_eq!(t.total, 126_880);
        assert_eq!(t.payable, 106_880);
        assert_eq!(totals(100_000, 400, 2_200, 0).payable, 126_880);
    }

    #[test]
    fn decimals_and_hours() {
        assert_eq!(decimal(123_456), "1234.56");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(-5), "-0.05");
        assert_eq!(decimal(0), "0.00");
        assert_eq!(rate(2_200), "22.00");
        assert_eq!(hours(90, 2, 8), "1.50");
        assert_eq!(hours(20, 2, 8), "0.33333333");
        assert_eq!(hours(6, 2, 8), "0.10");
        assert_eq!(hours(600, 2, 8), "10.00");
    }
}
