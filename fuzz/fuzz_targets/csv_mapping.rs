//! A CSV file's header mapping and row mapping: never panic, whatever the
//! header names and cells.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::csvio::mapping;

fuzz_target!(|input: &[u8]| {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = rdr.records().filter_map(Result::ok);
    let Some(header) = records.next() else { return };
    let headers: Vec<String> = header.iter().map(String::from).collect();
    for h in &headers {
        let n = mapping::normalize(h);
        assert_eq!(mapping::normalize(&n), n);
    }
    let Ok(plan) = mapping::Plan::new(headers, &[]) else {
        return;
    };
    for row in records.take(16) {
        let cells: Vec<String> = row.iter().map(String::from).collect();
        let _ = mapping::row_to_json(&plan, &cells);
    }
});
