//! Cells a spreadsheet would run as formulas. A contact named
//! `=HYPERLINK("http://x")` from a web form must not become a live formula
//! when someone opens an export in Excel (CSV injection, OWASP): a cell
//! starting with `=`, `+`, `-`, `@`, a tab or a carriage return is written
//! with a `'` before it, which spreadsheets show as text. The importer
//! takes that `'` off again, so an export imports back to the same values.
//! Phone numbers (always E.164, `+` and digits) are written as they are.

use std::borrow::Cow;

fn starts_a_formula(s: &str) -> bool {
    matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// The cell as an export writes it.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if starts_a_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The cell as an import reads it: [`neutralize`] undone.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_a_formula(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized_and_restored() {
        for cell in [
            "=HYPERLINK(\"http://x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            let written = neutralize(cell);
            assert!(written.starts_with('\''), "{cell:?}");
            assert_eq!(restore(&written), cell);
        }
        for cell in ["Ada", "", "'quoted", "a=b", "O'Brien"] {
            assert_eq!(neutralize(cell), cell);
            assert_eq!(restore(cell), cell);
        }
    }
}
