//! A segment's documents as one bit each, and the filter terms' sets kept
//! between queries.
//!
//! A search beside common filters (a tag most contacts carry, "has an
//! email") is answered as sets: the text's matches are gathered into one,
//! and each filter keeps in it only its own documents. A filter term's set
//! is read from its postings once per segment and kept, so the next search
//! with that filter intersects a word at a time (15,625 words for a million
//! documents) instead of decoding and checking the term's postings again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex};

use tantivy::index::{InvertedIndexReader, SegmentId};
use tantivy::postings::TermInfo;
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, SegmentReader, TERMINATED, Term};

/// The documents of one segment, a bit each.
#[derive(Debug, Clone)]
pub struct Bits {
    words: Vec<u64>,
}

impl Bits {
    /// No document of a segment of `max_doc` documents.
    #[allow(clippy::slow_vector_initialization)]
    pub fn empty(max_doc: u32) -> Self {
        // Zeroed by writing, not asked zeroed of the allocator: jemalloc
        // answers a large zeroed request with fresh pages, and handing them
        // back again and again interrupts every core (TLB shootdowns), a
        // fifth of a busy search's time.
        let n = max_doc.div_ceil(64) as usize;
        let mut words = Vec::with_capacity(n);
        words.resize(n, 0);
        Self { words }
    }

    #[inline]
    pub fn insert(&mut self, doc: DocId) {
        self.words[(doc / 64) as usize] |= 1 << (doc % 64);
    }

    #[inline]
    pub fn contains(&self, doc: DocId) -> bool {
        self.words[(doc / 64) as usize] & (1 << (doc % 64)) != 0
    }

    /// Adds the documents of a term's postings, a block at a time.
    pub fn insert_postings(
        &mut self,
        inverted: &InvertedIndexReader,
        info: &TermInfo,
    ) -> tantivy::Result<()> {
        let mut postings =
            inverted.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
        loop {
            let docs = postings.docs();
            if docs.is_empty() {
                return Ok(());
            }
            for &doc in docs {
                self.insert(doc);
            }
            postings.advance();
        }
    }

    pub fn len(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// Keeps only the documents `other` holds too.
    pub fn and(&mut self, other: &[u64]) {
        for (w, o) in self.words.iter_mut().zip(other) {
            *w &= o;
        }
    }

    /// Adds the documents `other` holds.
    pub fn or(&mut self, other: &[u64]) {
        for (w, o) in self.words.iter_mut().zip(other) {
            *w |= o;
        }
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The documents, in order.
    pub fn docs(&self) -> impl Iterator<Item = DocId> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let base = i as u32 * 64;
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                Some(base + bit)
            })
        })
    }
}

/// A [`Bits`] walked as a tantivy doc set.
pub struct BitsDocSet {
    bits: Bits,
    len: u32,
    /// The word `rest` comes from.
    word: usize,
    /// The documents of that word not yet reached.
    rest: u64,
    doc: DocId,
}

impl BitsDocSet {
    pub fn new(bits: Bits) -> Self {
        let len = bits.len();
        let rest = bits.words.first().copied().unwrap_or(0);
        let mut set = Self {
            bits,
            len,
            word: 0,
            rest,
            doc: 0,
        };
        set.advance();
        set
    }
}

impl DocSet for BitsDocSet {
    fn advance(&mut self) -> DocId {
        while self.rest == 0 {
            self.word += 1;
            match self.bits.words.get(self.word) {
                Some(&w) => self.rest = w,
                None => {
                    self.word = self.bits.words.len();
                    self.doc = TERMINATED;
                    return TERMINATED;
                }
            }
        }
        let bit = self.rest.trailing_zeros();
        self.rest &= self.rest - 1;
        self.doc = self.word as u32 * 64 + bit;
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        let word = (target / 64) as usize;
        if word >= self.bits.words.len() {
            self.word = self.bits.words.len();
            self.rest = 0;
            self.doc = TERMINATED;
            return TERMINATED;
        }
        if word > self.word {
            self.word = word;
            self.rest = self.bits.words[word];
        }
        // The bits of the word below the target are passed.
        self.rest &= u64::MAX << (target % 64);
        self.advance()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.len
    }
}

/// What the kept sets may hold in all: a tag, flag, state or ZIP of a
/// million documents is 122 KiB, so 32 MiB keeps a few hundred of them.
const KEPT_BYTES: usize = 32 << 20;

#[derive(Default)]
struct Kept {
    sets: HashMap<(SegmentId, Term), Arc<[u64]>>,
    /// The order they were read in: the oldest goes first.
    order: VecDeque<(SegmentId, Term)>,
    bytes: usize,
}

static KEPT: LazyLock<Mutex<Kept>> = LazyLock::new(Mutex::default);

/// The documents of `reader` whose field holds `term`, from the kept sets
/// or read from its postings (and kept). A segment's contents never change
/// (deletes are the collector's to leave out), so a kept set stays true
/// until the segment is merged away; then it is left to age out.
pub fn term_words(reader: &SegmentReader, term: &Term) -> tantivy::Result<Arc<[u64]>> {
    let key = (reader.segment_id(), term.clone());
    if let Some(words) = lock().sets.get(&key) {
        return Ok(words.clone());
    }
    // Read outside the lock: another query may read the same set meanwhile.
    let mut bits = Bits::empty(reader.max_doc());
    let inverted = reader.inverted_index(term.field())?;
    let Some(info) = inverted.get_term_info(term)? else {
        // Absent from the segment: the empty set, not kept (a client's
        // made-up tag must not push real sets out).
        return Ok(bits.words.into());
    };
    bits.insert_postings(&inverted, &info)?;
    let words: Arc<[u64]> = bits.words.into();
    let size = kept_size(&words, term);
    let mut kept = lock();
    if size <= KEPT_BYTES && !kept.sets.contains_key(&key) {
        while kept.bytes + size > KEPT_BYTES {
            let Some(old) = kept.order.pop_front() else {
                break;
            };
            if let Some(gone) = kept.sets.remove(&old) {
                kept.bytes -= kept_size(&gone, &old.1);
            }
        }
        kept.bytes += size;
        kept.order.push_back(key.clone());
        kept.sets.insert(key, words.clone());
    }
    Ok(words)
}

/// What a kept set costs: its words, and its term held twice (the map and
/// the order) with their upkeep.
fn kept_size(words: &[u64], term: &Term) -> usize {
    words.len() * 8 + 2 * (term.len_bytes() + 64)
}

fn lock() -> std::sync::MutexGuard<'static, Kept> {
    KEPT.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::{Bits, BitsDocSet};
    use tantivy::{DocSet, TERMINATED};

    fn walk(mut set: BitsDocSet) -> Vec<u32> {
        let mut out = Vec::new();
        while set.doc() != TERMINATED {
            out.push(set.doc());
            set.advance();
        }
        out
    }

    #[test]
    fn a_set_is_walked_and_sought_in_order() {
        let docs = [0, 1, 63, 64, 65, 127, 128, 500, 999];
        let mut bits = Bits::empty(1000);
        for d in docs {
            bits.insert(d);
        }
        assert_eq!(bits.len(), docs.len() as u32);
        assert_eq!(bits.docs().collect::<Vec<_>>(), docs);
        assert_eq!(walk(BitsDocSet::new(bits.clone())), docs);

        let mut set = BitsDocSet::new(bits.clone());
        assert_eq!(set.seek(2), 63);
        assert_eq!(set.seek(63), 63, "a seek to the current document stays");
        assert_eq!(set.seek(66), 127);
        assert_eq!(set.seek(129), 500);
        assert_eq!(set.advance(), 999);
        assert_eq!(set.seek(1000), TERMINATED);

        let mut set = BitsDocSet::new(bits.clone());
        assert_eq!(set.seek(5000), TERMINATED, "beyond the segment");
        assert_eq!(walk(BitsDocSet::new(Bits::empty(0))), Vec::<u32>::new());
        assert_eq!(walk(BitsDocSet::new(Bits::empty(130))), Vec::<u32>::new());
    }

    #[test]
    fn sets_intersect_and_unite_a_word_at_a_time() {
        let mut evens = Bits::empty(200);
        let mut threes = Bits::empty(200);
        for d in 0..200 {
            if d % 2 == 0 {
                evens.insert(d);
            }
            if d % 3 == 0 {
                threes.insert(d);
            }
        }
        let mut both = evens.clone();
        both.and(threes.words());
        let want: Vec<u32> = (0..200).filter(|d| d % 6 == 0).collect();
        assert_eq!(both.docs().collect::<Vec<_>>(), want);
        let mut either = evens.clone();
        either.or(threes.words());
        let want: Vec<u32> = (0..200).filter(|d| d % 2 == 0 || d % 3 == 0).collect();
        assert_eq!(either.docs().collect::<Vec<_>>(), want);
        assert!(either.contains(9) && !either.contains(7));
    }
}
