//! The index's fields, its analyzers and the document a contact becomes.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, NgramTokenizer, RawTokenizer, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{Index, TantivyDocument};

use crate::model::Contact;

/// Bumped whenever the fields or analyzers change: an index built by another
/// version is rebuilt at start.
pub const INDEX_VERSION: u32 = 2;

/// Names split into words, lower-cased and folded to ASCII (`José` -> `jose`).
pub const NAME_ANALYZER: &str = "roster_name";
/// One token per value, lower-cased and folded (emails, whole phone digits).
pub const KEYWORD_ANALYZER: &str = "roster_keyword";
/// Every run of 3 to 6 digits of the phone number.
pub const DIGITS_ANALYZER: &str = "roster_digits";
pub const MIN_GRAM: usize = 3;
pub const MAX_GRAM: usize = 6;

#[derive(Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub id_hi: Field,
    pub id_lo: Field,
    pub org: Field,
    pub first: Field,
    pub last: Field,
    pub email: Field,
    pub email_word: Field,
    pub phone: Field,
    pub phone_full: Field,
    pub tag: Field,
    pub state: Field,
    pub zip: Field,
    pub flag: Field,
    pub updated_at: Field,
    pub created_at: Field,
}

fn text(analyzer: &str, record: IndexRecordOption) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer)
            .set_index_option(record),
    )
}

pub fn build_schema() -> Schema {
    let mut b = Schema::builder();
    let num = NumericOptions::default().set_indexed().set_fast();
    b.add_text_field("id", STRING | STORED);
    b.add_u64_field("id_hi", num.clone());
    b.add_u64_field("id_lo", num.clone());
    b.add_i64_field("org", num.clone());
    b.add_text_field("first", text(NAME_ANALYZER, IndexRecordOption::WithFreqs));
    b.add_text_field("last", text(NAME_ANALYZER, IndexRecordOption::WithFreqs));
    b.add_text_field("email", text(KEYWORD_ANALYZER, IndexRecordOption::Basic));
    b.add_text_field(
        "email_word",
        text(KEYWORD_ANALYZER, IndexRecordOption::WithFreqs),
    );
    b.add_text_field("phone", text(DIGITS_ANALYZER, IndexRecordOption::Basic));
    b.add_text_field(
        "phone_full",
        text(KEYWORD_ANALYZER, IndexRecordOption::Basic),
    );
    b.add_text_field("tag", STRING);
    b.add_text_field("state", STRING);
    b.add_text_field("zip", STRING);
    b.add_text_field("flag", STRING);
    b.add_i64_field("updated_at", num.clone());
    b.add_i64_field("created_at", num);
    b.build()
}

impl Fields {
    pub fn new(schema: &Schema) -> tantivy::Result<Self> {
        let f = |name: &str| schema.get_field(name);
        Ok(Self {
            id: f("id")?,
            id_hi: f("id_hi")?,
            id_lo: f("id_lo")?,
            org: f("org")?,
            first: f("first")?,
            last: f("last")?,
            email: f("email")?,
            email_word: f("email_word")?,
            phone: f("phone")?,
            phone_full: f("phone_full")?,
            tag: f("tag")?,
            state: f("state")?,
            zip: f("zip")?,
            flag: f("flag")?,
            updated_at: f("updated_at")?,
            created_at: f("created_at")?,
        })
    }
}

pub fn name_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

pub fn keyword_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Analyzers are not stored in the index, so every open registers them.
pub fn register_analyzers(index: &Index) -> tantivy::Result<()> {
    let tokenizers = index.tokenizers();
    tokenizers.register(NAME_ANALYZER, name_analyzer());
    tokenizers.register(KEYWORD_ANALYZER, keyword_analyzer());
    tokenizers.register(
        DIGITS_ANALYZER,
        TextAnalyzer::from(NgramTokenizer::all_ngrams(MIN_GRAM, MAX_GRAM)?),
    );
    Ok(())
}

/// The tokens `text` becomes under `analyzer`.
pub fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token().text.clone();
        if !t.is_empty() {
            out.push(t);
        }
    }
    out
}

/// The 128 bits of a UUID as (high, low) halves. Hyphenated lower-case UUID
/// strings sort like these numbers, so the index orders ids as SQLite does.
pub fn id_halves(id: &str) -> Option<(u64, u64)> {
    let n = uuid::Uuid::parse_str(id).ok()?.as_u128();
    Some(((n >> 64) as u64, n as u64))
}

pub fn id_from_halves(hi: u64, lo: u64) -> String {
    uuid::Uuid::from_u128((u128::from(hi) << 64) | u128::from(lo))
        .hyphenated()
        .to_string()
}

/// The flag tokens the boolean filters match on.
pub fn flag(name: &str, value: bool) -> String {
    format!("{name}:{}", if value { 1 } else { 0 })
}

pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The document for a contact.
pub fn document(f: &Fields, c: &Contact) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.id, &c.id);
    if let Some((hi, lo)) = id_halves(&c.id) {
        doc.add_u64(f.id_hi, hi);
        doc.add_u64(f.id_lo, lo);
    }
    doc.add_i64(f.org, c.org);
    if let Some(v) = &c.first_name {
        doc.add_text(f.first, v);
    }
    if let Some(v) = &c.last_name {
        doc.add_text(f.last, v);
    }
    if let Some(email) = &c.email {
        doc.add_text(f.email, email);
        if let Some((local, domain)) = email.rsplit_once('@') {
            doc.add_text(f.email, local);
            doc.add_text(f.email, domain);
        }
        for word in email_words(email) {
            doc.add_text(f.email_word, word);
        }
    }
    if let Some(phone) = &c.phone {
        let all = digits(phone);
        doc.add_text(f.phone, &all);
        doc.add_text(f.phone_full, &all);
        // A US number is also typed without its country code.
        if let Some(national) = phone.strip_prefix("+1") {
            doc.add_text(f.phone_full, digits(national));
        }
    }
    for key in c.tags.keys() {
        doc.add_text(f.tag, &key);
    }
    if let Some(v) = &c.state {
        doc.add_text(f.state, v);
    }
    if let Some(v) = &c.zip {
        doc.add_text(f.zip, v);
    }
    if let Some(t) = c.is_textable {
        doc.add_text(f.flag, flag("textable", t));
    }
    doc.add_text(f.flag, flag("optedout", !c.is_opted_in));
    doc.add_text(f.flag, flag("email", c.email.is_some()));
    doc.add_text(f.flag, flag("phone", c.phone.is_some()));
    doc.add_text(f.flag, flag("archived", c.is_archived));
    doc.add_i64(f.updated_at, c.updated_at);
    doc.add_i64(f.created_at, c.created_at);
    doc
}

/// The words of an email address: runs of letters and runs of digits
/// (`jane.doe42@mail.example.com` -> jane, doe, 42, mail, example, com).
pub fn email_words(email: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut kind = 0u8;
    for (i, ch) in email.char_indices() {
        let k = if ch.is_ascii_digit() {
            1
        } else if ch.is_alphanumeric() {
            2
        } else {
            0
        };
        if k != kind {
            if let Some(s) = start.take() {
                out.push(&email[s..i]);
            }
            if k != 0 {
                start = Some(i);
            }
            kind = k;
        }
    }
    if let Some(s) = start {
        out.push(&email[s..]);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// True when `term` reads as a piece of an address rather than one word:
/// it has punctuation, or letters next to digits.
pub fn is_address_like(term: &str) -> bool {
    email_words(term).len() > 1 || term.chars().any(|c| !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_words_split_letters_digits_and_punctuation() {
        assert_eq!(
            email_words("jane.doe42@mail.example.com"),
            ["42", "com", "doe", "example", "jane", "mail"]
        );
        assert!(is_address_like("jane.d"));
        assert!(is_address_like("doe42"));
        assert!(!is_address_like("jane"));
    }

    #[test]
    fn ids_keep_their_order_as_numbers() {
        let a = "0190a5d2-0000-7000-8000-000000000001";
        let b = "0190a5d2-0000-7000-8000-00000000000a";
        assert!(id_halves(a) < id_halves(b));
        let (hi, lo) = id_halves(b).unwrap();
        assert_eq!(id_from_halves(hi, lo), b);
    }
}
