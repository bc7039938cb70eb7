//! Cursor decoding: never panics; a decoded cursor encodes back to one that
//! decodes to the same position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::model::filter::{Cursor, SortBy};

fuzz_target!(|input: &str| {
    for sort in [SortBy::UpdatedAt, SortBy::CreatedAt] {
        if let Ok(cursor) = Cursor::parse(input, sort) {
            let again = Cursor::parse(&cursor.encode(sort), sort).expect("its own cursor");
            assert_eq!(again, cursor);
        }
    }
});
