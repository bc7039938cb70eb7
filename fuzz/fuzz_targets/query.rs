//! A query string into a filter and list parameters: a filter or a 400,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::model::filter::{ContactFilter, ListParams};

fuzz_target!(|input: &[u8]| {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(input).into_owned().collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    for status in [
        ContactFilter::from_query(&get).err().map(|e| e.status()),
        ListParams::from_query(&get).err().map(|e| e.status()),
    ]
    .into_iter()
    .flatten()
    {
        assert_eq!(status.as_u16(), 400);
    }
});
