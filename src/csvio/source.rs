//! Reading a CSV file: byte-order mark, delimiter sniffing, encoding
//! (UTF-16 by its byte-order mark, as Excel's "Unicode text" writes it; else
//! UTF-8; else Windows-1252) and the row count, in one streaming pass
//! before the import proper.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

use crate::error::{AppError, AppResult};

const CANDIDATES: &[u8] = b",;\t|";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Windows1252,
    /// Read as UTF-8 once transcoded (see [`open`]).
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Windows1252 => "Windows-1252",
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
        }
    }

    /// The UTF-16 encoding a byte-order mark at the start of `head` names.
    pub fn utf16_bom(head: &[u8]) -> Option<Self> {
        match head {
            [0xFF, 0xFE, ..] => Some(Self::Utf16Le),
            [0xFE, 0xFF, ..] => Some(Self::Utf16Be),
            _ => None,
        }
    }
}

/// A file as the CSV reader sees it: without its byte-order mark, and
/// transcoded to UTF-8 when the mark says UTF-16.
pub type Source = BufReader<DecodeReaderBytes<File, Vec<u8>>>;

/// What the first pass learned about a file.
#[derive(Debug, Clone, Copy)]
pub struct Inspection {
    pub delimiter: u8,
    pub encoding: Encoding,
    /// Data rows (blank lines not counted).
    pub rows: u64,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("reading {}: {e}", path.display()))
}

/// Opens `path` past its byte-order mark, if any: a UTF-8 one is skipped,
/// and a UTF-16 one (little or big endian) turns the rest into UTF-8 as it
/// is read. Without one, the bytes pass through as they are.
pub fn open(path: &Path) -> AppResult<Source> {
    let f = File::open(path).map_err(|e| io_err(path, e))?;
    let decoded = DecodeReaderBytesBuilder::new()
        .bom_sniffing(true)
        .strip_bom(true)
        .build(f);
    Ok(BufReader::with_capacity(256 * 1024, decoded))
}

/// The UTF-16 encoding `path`'s byte-order mark names, if any.
fn utf16(path: &Path) -> AppResult<Option<Encoding>> {
    let mut head = Vec::with_capacity(2);
    File::open(path)
        .and_then(|f| f.take(2).read_to_end(&mut head))
        .map_err(|e| io_err(path, e))?;
    Ok(Encoding::utf16_bom(&head))
}

/// The most frequent of `,` `;` tab `|` outside quotes on the header line;
/// `,` when none appears.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let (best, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, usize::MAX - *i))
        .expect("four candidates");
    if *n == 0 { b',' } else { CANDIDATES[best] }
}

pub fn reader(path: &Path, delimiter: u8) -> AppResult<csv::Reader<Source>> {
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(open(path)?))
}

pub fn is_blank(rec: &csv::ByteRecord) -> bool {
    rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// First pass: delimiter (unless given), encoding and row count.
pub fn inspect(path: &Path, delimiter: Option<u8>) -> AppResult<Inspection> {
    let delimiter = match delimiter {
        Some(d) => d,
        None => {
            let mut head = Vec::with_capacity(64 * 1024);
            open(path)?
                .take(64 * 1024)
                .read_to_end(&mut head)
                .map_err(|e| io_err(path, e))?;
            sniff_delimiter(&head)
        }
    };
    let mut rdr = reader(path, delimiter)?;
    let mut rec = csv::ByteRecord::new();
    let mut utf8 = true;
    let mut rows: u64 = 0;
    let mut first = true;
    while rdr.read_byte_record(&mut rec).map_err(|e| csv_error(&e))? {
        if utf8 && std::str::from_utf8(rec.as_slice()).is_err() {
            utf8 = false;
        }
        if first {
            first = false;
            continue;
        }
        if !is_blank(&rec) {
            rows += 1;
        }
    }
    if first {
        return Err(AppError::validation("file", "the file is empty"));
    }
    Ok(Inspection {
        delimiter,
        encoding: match utf16(path)? {
            Some(utf16) => utf16,
            None if utf8 => Encoding::Utf8,
            None => Encoding::Windows1252,
        },
        rows,
    })
}

pub fn csv_error(e: &csv::Error) -> AppError {
    match e.kind() {
        csv::ErrorKind::Io(_) => AppError::internal(format!("reading the file: {e}")),
        _ => AppError::validation("file", format!("the file is not readable CSV: {e}")),
    }
}

/// Decodes a record's cells.
pub fn decode(rec: &csv::ByteRecord, encoding: Encoding, out: &mut Vec<String>) {
    out.clear();
    for field in rec.iter() {
        out.push(match encoding {
            Encoding::Utf8 | Encoding::Utf16Le | Encoding::Utf16Be => {
                String::from_utf8_lossy(field).into_owned()
            }
            Encoding::Windows1252 => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(field)
                .0
                .into_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_header_line() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1,2;3"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\tc\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a;b\",c\n"), b',');
        assert_eq!(sniff_delimiter(b"phone\n"), b',');
    }
}
