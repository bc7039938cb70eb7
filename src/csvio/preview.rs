//! What an import would make of a file, from its first bytes: the
//! delimiter, the encoding, the header row, the mapping the importer would
//! apply and the first rows. Nothing is written.

use super::mapping::{Plan, Target};
use super::source::{self, Encoding};
use crate::error::AppResult;

/// Data rows shown after the header.
pub const ROWS: usize = 5;

#[derive(Debug, Clone)]
pub struct Preview {
    pub delimiter: u8,
    pub encoding: Encoding,
    pub bom: bool,
    pub headers: Vec<String>,
    pub targets: Vec<Target>,
    pub rows: Vec<Vec<String>>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `bytes`, the start of a file (a cut inside the last character or
/// the last line does no harm), with the importer's own rules.
pub fn preview(bytes: &[u8], delimiter: Option<u8>) -> AppResult<Preview> {
    let utf16 = Encoding::utf16_bom(bytes);
    let transcoded;
    let (bom, body) = match utf16 {
        Some(e) => {
            let codec = if e == Encoding::Utf16Le {
                encoding_rs::UTF_16LE
            } else {
                encoding_rs::UTF_16BE
            };
            transcoded = codec.decode_with_bom_removal(bytes).0.into_owned();
            (true, transcoded.as_bytes())
        }
        None if bytes.starts_with(BOM) => (true, &bytes[BOM.len()..]),
        None => (false, bytes),
    };
    let encoding = match (utf16, std::str::from_utf8(body)) {
        (Some(e), _) => e,
        (None, Ok(_)) => Encoding::Utf8,
        // Only cut short: the rest of the character is beyond the sample.
        (None, Err(e)) if e.error_len().is_none() => Encoding::Utf8,
        (None, Err(_)) => Encoding::Windows1252,
    };
    let delimiter = delimiter.unwrap_or_else(|| source::sniff_delimiter(body));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut record = csv::ByteRecord::new();
    let mut headers = None;
    let mut rows = Vec::new();
    while rows.len() < ROWS
        && reader
            .read_byte_record(&mut record)
            .map_err(|e| source::csv_error(&e))?
    {
        let mut cells = Vec::new();
        source::decode(&record, encoding, &mut cells);
        if headers.is_none() {
            headers = Some(cells);
        } else if !source::is_blank(&record) {
            rows.push(cells);
        }
    }
    let headers =
        headers.ok_or_else(|| crate::error::AppError::validation("file", "the file is empty"))?;
    let plan = Plan::new(headers.clone(), &[])?;
    Ok(Preview {
        delimiter,
        encoding,
        bom,
        headers,
        targets: plan.targets,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_mapping_and_first_rows() {
        let csv = "First Name;Cell #;E-mail;Chapter\nAna;919-555-0101;a@x.org;North\n\nBo;;b@x.org;South\n";
        let p = preview(csv.as_bytes(), None).unwrap();
        assert_eq!(p.delimiter, b';');
        assert_eq!(p.encoding, Encoding::Utf8);
        assert!(!p.bom);
        assert_eq!(p.headers, ["First Name", "Cell #", "E-mail", "Chapter"]);
        assert_eq!(
            p.targets,
            [
                Target::Field("firstName"),
                Target::Field("phone"),
                Target::Field("email"),
                Target::Custom("Chapter".into()),
            ]
        );
        assert_eq!(p.rows.len(), 2, "the blank line is skipped");
        assert_eq!(p.rows[1][0], "Bo");
    }

    #[test]
    fn a_cut_inside_a_character_is_still_utf8_but_latin1_is_not() {
        let mut cut = "name\nJosé\nRenée".as_bytes().to_vec();
        cut.pop();
        assert_eq!(preview(&cut, None).unwrap().encoding, Encoding::Utf8);
        let latin1 = b"name\nJos\xe9\n";
        let p = preview(latin1, None).unwrap();
        assert_eq!(p.encoding, Encoding::Windows1252);
        assert_eq!(p.rows[0][0], "José");
    }

    #[test]
    fn a_bom_is_reported_and_skipped() {
        let p = preview(b"\xEF\xBB\xBFphone\n+19195550101\n", None).unwrap();
        assert!(p.bom);
        assert_eq!(p.headers, ["phone"]);
        assert_eq!(p.targets, [Target::Field("phone")]);
    }

    #[test]
    fn at_most_five_rows_and_an_empty_file_is_refused() {
        let csv = format!("email\n{}", "x@y.org\n".repeat(50));
        assert_eq!(preview(csv.as_bytes(), None).unwrap().rows.len(), ROWS);
        assert!(preview(b"", None).is_err());
    }
}
