//! Reading a CSV file: byte-order mark, delimiter sniffing, encoding
//! (UTF-8, else Windows-1252) and the row count, in one streaming pass
//! before the import proper.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{AppError, AppResult};

const BOM: &[u8] = b"\xEF\xBB\xBF";
const CANDIDATES: &[u8] = b",;\t|";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Windows1252,
}

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

/// Opens `path` positioned after a UTF-8 byte-order mark, if any.
pub fn open(path: &Path) -> AppResult<BufReader<File>> {
    let mut f = File::open(path).map_err(|e| io_err(path, e))?;
    let mut head = [0u8; 3];
    let mut n = 0;
    while n < 3 {
        match f.read(&mut head[n..]).map_err(|e| io_err(path, e))? {
            0 => break,
            k => n += k,
        }
    }
    let skip = if n == 3 && head == BOM { 3 } else { 0 };
    f.seek(SeekFrom::Start(skip)).map_err(|e| io_err(path, e))?;
    Ok(BufReader::with_capacity(256 * 1024, f))
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

pub fn reader(path: &Path, delimiter: u8) -> AppResult<csv::Reader<BufReader<File>>> {
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
        encoding: if utf8 {
            Encoding::Utf8
        } else {
            Encoding::Windows1252
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
            Encoding::Utf8 => String::from_utf8_lossy(field).into_owned(),
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
