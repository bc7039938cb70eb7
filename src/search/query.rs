//! From a `ContactFilter` (with `search`) to a tantivy query, and from the
//! query to one page of ids in the documented order.
//!
//! Every clause, the organization included, is part of the one query the
//! index runs, so a page, its `hasMore` and its total come straight from the
//! index.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Debug;
use std::sync::{Arc, LazyLock, Mutex};

use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::{Column, ColumnIndex, ColumnValues};
use tantivy::index::SegmentId;
use tantivy::query::{
    AllScorer, BooleanQuery, BoostQuery, EmptyQuery, EnableScoring, Explanation, FuzzyTermQuery,
    Occur, Query, Scorer, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, Term};

use super::schema::{self, Fields, MAX_GRAM, MIN_GRAM};
use super::union::{BitSetUnion, FieldAutomaton, GatheredAll};
use crate::error::{AppError, AppResult};
use crate::model::{ContactFilter, SortBy, TagsLogic};

type Clause = (Occur, Box<dyn Query>);

/// Where a page starts: after a keyset position, or after `offset` matches.
#[derive(Debug, Clone)]
pub enum Start {
    Offset(u64),
    /// (sort value, id) of the last contact of the previous page.
    After(i64, String),
}

/// The order of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Field(SortBy),
    Relevance,
}

/// One matching contact, with its sort value as the index holds it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: String,
    pub ts: i64,
}

#[derive(Debug)]
pub struct Hits {
    pub hits: Vec<Hit>,
    pub has_more: bool,
    pub total: Option<u64>,
}

fn boxed(q: impl Query) -> Box<dyn Query> {
    Box::new(q)
}

fn any_of(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if clauses.len() == 1 {
        return clauses.into_iter().next().expect("one clause");
    }
    boxed(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

/// [`any_of`], gathered into one bit set per segment when `gather` (see
/// [`BitSetUnion`]).
fn union_of(clauses: Vec<Box<dyn Query>>, gather: bool) -> Box<dyn Query> {
    if !gather || clauses.len() == 1 {
        return any_of(clauses);
    }
    // A union within the union adds its clauses to the one set.
    let mut flat = Vec::with_capacity(clauses.len());
    for clause in clauses {
        match clause.downcast_ref::<BitSetUnion>() {
            Some(inner) => flat.extend(inner.0.iter().map(|q| q.box_clone())),
            None => flat.push(clause),
        }
    }
    boxed(BitSetUnion(flat))
}

fn all_of(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if clauses.len() == 1 {
        return clauses.into_iter().next().expect("one clause");
    }
    boxed(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    boxed(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// The documented matching for one analysed token: by prefix, and fuzzily
/// from 3 characters (one edit up to 5, two from 6; a transposition is one
/// edit). An exact match scores higher, for `sortBy=relevance`.
fn fuzzy_prefix(field: Field, token: &str, fuzzy: bool, scored: bool) -> Box<dyn Query> {
    let t = Term::from_field_text(field, token);
    let len = token.chars().count();
    let distance = match len {
        _ if !fuzzy => 0,
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    };
    if !scored {
        // Order comes from the sort fields: one automaton does it all.
        return boxed(FieldAutomaton::prefix(t, distance));
    }
    let exact = boxed(BoostQuery::new(
        Box::new(TermQuery::new(t.clone(), IndexRecordOption::WithFreqs)),
        3.0,
    ));
    let prefix = boxed(BoostQuery::new(
        Box::new(FuzzyTermQuery::new_prefix(t.clone(), 0, true)),
        2.0,
    ));
    let mut clauses = vec![exact, prefix];
    if distance > 0 {
        clauses.push(boxed(FuzzyTermQuery::new_prefix(t, distance, true)));
    }
    any_of(clauses)
}

const PHONE_CHARS: &[char] = &['(', ')', '+', '-', '.', ' '];

fn is_phone_like(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || PHONE_CHARS.contains(&c) || c.is_whitespace())
}

/// Phone digits anywhere in the number: one n-gram term when the digits are
/// short enough to be a gram, else every window of the longest gram size.
/// Grams all sit at position 0, so they are matched as terms, not phrases.
fn phone_digits(f: &Fields, digits: &str) -> Box<dyn Query> {
    let n = digits.len();
    if n < MIN_GRAM {
        return boxed(FieldAutomaton::prefix(
            Term::from_field_text(f.phone_full, digits),
            0,
        ));
    }
    if n <= MAX_GRAM {
        return term(f.phone, digits);
    }
    if n > 15 {
        return boxed(EmptyQuery);
    }
    let mut windows: Vec<&str> = (0..=n - MAX_GRAM)
        .map(|i| &digits[i..i + MAX_GRAM])
        .collect();
    windows.sort_unstable();
    windows.dedup();
    all_of(windows.into_iter().map(|w| term(f.phone, w)).collect())
}

/// The text search: every whitespace-separated term must match first name,
/// last name, email or phone. A search made only of digits and phone
/// punctuation (`(919) 555-1234`) is one phone number.
pub fn text_query(f: &Fields, search: &str, scored: bool) -> Box<dyn Query> {
    let terms = text_terms(f, search, scored, false);
    if terms.is_empty() {
        return boxed(EmptyQuery);
    }
    all_of(terms)
}

/// The clauses of [`text_query`], one a document must match per term; none
/// when the search has nothing to match by.
///
/// With `gather` (unscored, and no rare filter to lead), each term's fields
/// are read into one bit set (a [`BitSetUnion`], for [`GatheredAll`]):
/// a union that leads the query is read to its end anyway, where beside a
/// rare filter the union is only probed at that filter's documents.
fn text_terms(f: &Fields, search: &str, scored: bool, gather: bool) -> Vec<Box<dyn Query>> {
    if is_phone_like(search) {
        return vec![phone_digits(f, &schema::digits(search))];
    }
    let mut names = schema::name_analyzer();
    let mut keyword = schema::keyword_analyzer();
    let mut terms = Vec::new();
    for raw in search.split_whitespace() {
        let numeric = raw.chars().all(|c| c.is_ascii_digit());
        let mut either = Vec::new();
        let tokens = schema::analyze(&mut names, raw);
        if !tokens.is_empty() {
            either.push(all_of(
                tokens
                    .iter()
                    .map(|t| {
                        union_of(
                            vec![
                                fuzzy_prefix(f.first, t, !numeric, scored),
                                fuzzy_prefix(f.last, t, !numeric, scored),
                            ],
                            gather,
                        )
                    })
                    .collect(),
            ));
        }
        if let Some(t) = schema::analyze(&mut keyword, raw).first() {
            if schema::is_address_like(t) {
                // A piece of an address: by prefix of the whole address,
                // its local part or its domain.
                either.push(fuzzy_prefix(f.email, t, false, false));
            } else {
                either.push(fuzzy_prefix(f.email_word, t, !numeric, scored));
            }
        }
        if is_phone_like(raw) {
            either.push(phone_digits(f, &schema::digits(raw)));
        }
        if either.is_empty() {
            continue;
        }
        terms.push(union_of(either, gather));
    }
    terms
}

/// The organization's term. In a segment whose every document belongs to
/// the organization (a server with one organization, or one organization's
/// import), it matches everything, and says so: tantivy then leaves it out
/// of the intersection, which would otherwise walk the organization's
/// postings beside every other clause, all of a million documents of them
/// for a term matching a fifth.
#[derive(Debug, Clone)]
struct OrgTerm(Term);

impl Query for OrgTerm {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let inner = TermQuery::new(self.0.clone(), IndexRecordOption::Basic).weight(scoring)?;
        Ok(Box::new(OrgWeight {
            term: self.0.clone(),
            inner,
            scored: scoring.is_scoring_enabled(),
        }))
    }
}

struct OrgWeight {
    term: Term,
    inner: Box<dyn Weight>,
    scored: bool,
}

impl Weight for OrgWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        // Postings keep deleted documents until a merge, as `max_doc` counts
        // them; the collectors leave deleted documents out either way.
        let whole = !self.scored
            && reader
                .inverted_index(self.term.field())?
                .doc_freq(&self.term)?
                == reader.max_doc();
        if whole {
            return Ok(Box::new(AllScorer::new(reader.max_doc())));
        }
        self.inner.scorer(reader, boost)
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }
}

fn i64_term(field: Field, v: i64) -> Term {
    Term::from_field_i64(field, v)
}

/// A filter beside the text search matching fewer documents than this
/// leads the intersection and only probes the text's union at its own
/// documents; from this on, the text and the filters are gathered into
/// one bit set (see [`text_terms`] and [`GatheredAll`]).
const GATHER_FROM: u64 = 5_000;

/// The whole query for `filter` in `org`: the organization, the text search
/// and every other filter.
pub fn filter_query(
    searcher: &Searcher,
    f: &Fields,
    org: i64,
    filter: &ContactFilter,
    scored: bool,
) -> AppResult<Box<dyn Query>> {
    let mut must: Vec<Clause> = vec![(Occur::Must, boxed(OrgTerm(i64_term(f.org, org))))];
    // Each filter clause, with how many documents its terms hold (a bound
    // on what it matches, from the term dictionary).
    let df = |field: Field, text: &str| {
        searcher
            .doc_freq(&Term::from_field_text(field, text))
            .unwrap_or(u64::MAX)
    };
    let mut rarest = u64::MAX;
    if !filter.tags.is_empty() {
        let tags: Vec<Box<dyn Query>> = filter.tags.iter().map(|t| term(f.tag, t)).collect();
        let counts = filter.tags.iter().map(|t| df(f.tag, t));
        rarest = rarest.min(match filter.tags_logic {
            TagsLogic::Or => counts.fold(0, u64::saturating_add),
            TagsLogic::And => counts.min().unwrap_or(u64::MAX),
        });
        must.push((
            Occur::Must,
            match filter.tags_logic {
                TagsLogic::Or => any_of(tags),
                TagsLogic::And => all_of(tags),
            },
        ));
    }
    for (name, value) in [
        ("textable", filter.is_textable),
        ("optedout", filter.opted_out),
        ("email", filter.has_email),
        ("phone", filter.has_phone),
    ] {
        if let Some(v) = value {
            let token = schema::flag(name, v);
            rarest = rarest.min(df(f.flag, &token));
            must.push((Occur::Must, term(f.flag, &token)));
        }
    }
    if !filter.states.is_empty() {
        rarest = rarest.min(
            filter
                .states
                .iter()
                .map(|s| df(f.state, s))
                .fold(0, u64::saturating_add),
        );
        must.push((
            Occur::Must,
            any_of(filter.states.iter().map(|s| term(f.state, s)).collect()),
        ));
    }
    if let Some(zip) = &filter.zip {
        rarest = rarest.min(df(f.zip, zip));
        must.push((Occur::Must, term(f.zip, zip)));
    }
    if let Some(search) = &filter.search {
        if !scored && rarest >= GATHER_FROM {
            // No filter is rare enough to lead: the text and every filter
            // are read into one set (the organization's term is left to
            // tantivy, which drops it where it matches the whole segment).
            let mut terms = text_terms(f, search, scored, true).into_iter();
            let Some(first) = terms.next() else {
                return Ok(boxed(EmptyQuery));
            };
            let filters = terms
                .chain(must.drain(1..).flat_map(|(_, q)| each_required(q)))
                .collect();
            must.push((Occur::Must, boxed(GatheredAll { first, filters })));
        } else {
            must.push((Occur::Must, text_query(f, search, scored)));
        }
    }
    Ok(boxed(BooleanQuery::new(must)))
}

/// The clauses a document must match to match `q`: those of an
/// intersection (tags with AND), or `q` itself. Each is then read into a
/// gathered set on its own, where an intersection would be walked document
/// by document.
fn each_required(q: Box<dyn Query>) -> Vec<Box<dyn Query>> {
    match q.downcast_ref::<BooleanQuery>() {
        Some(all)
            if !all.clauses().is_empty()
                && all.clauses().iter().all(|(occur, _)| *occur == Occur::Must) =>
        {
            all.clauses()
                .iter()
                .map(|(_, clause)| clause.box_clone())
                .collect()
        }
        _ => vec![q],
    }
}

/// How many documents match `filter` in `org`, only among `ids` when given.
pub fn count(
    searcher: &Searcher,
    f: &Fields,
    org: i64,
    filter: &ContactFilter,
    ids: Option<&[String]>,
) -> AppResult<u64> {
    let q = filter_query(searcher, f, org, filter, false)?;
    let q = match ids {
        None => q,
        Some([]) => return Ok(0),
        Some(ids) => all_of(vec![
            q,
            any_of(ids.iter().map(|id| term(f.id, id)).collect()),
        ]),
    };
    Ok(searcher.search(&*q, &Count).map_err(search_err)? as u64)
}

fn search_err(e: tantivy::TantivyError) -> AppError {
    AppError::internal(format!("search index: {e}"))
}

/// (sort value, id high, id low): the documented order, descending.
type SortKey = (i64, u64, u64);

/// A fast field's value per document: read straight from its values when
/// every document has exactly one (always, for the fields the order uses),
/// else the first value or 0.
fn single_values<T>(column: Column<T>) -> Arc<dyn ColumnValues<T>>
where
    T: PartialOrd + Copy + Debug + Send + Sync + Default + 'static,
{
    match column.index {
        ColumnIndex::Full => column.values,
        _ => column.first_or_default_col(T::default()),
    }
}

fn time_field(sort: SortBy) -> &'static str {
    match sort {
        SortBy::UpdatedAt => "updated_at",
        SortBy::CreatedAt => "created_at",
    }
}

/// The [`KeyColumns`] opened, by segment and order.
type OpenColumns = HashMap<(SegmentId, SortBy), Arc<KeyColumns>>;

/// A segment's columns for the documented order: the time, id high, id low.
struct KeyColumns {
    ts: Arc<dyn ColumnValues<i64>>,
    hi: Arc<dyn ColumnValues<u64>>,
    lo: Arc<dyn ColumnValues<u64>>,
}

impl KeyColumns {
    fn open(seg: &SegmentReader, sort: SortBy) -> tantivy::Result<Self> {
        let ff = seg.fast_fields();
        Ok(Self {
            ts: single_values(ff.i64(time_field(sort))?),
            hi: single_values(ff.u64("id_hi")?),
            lo: single_values(ff.u64("id_lo")?),
        })
    }

    /// The columns of every segment `searcher` reads, by segment ordinal.
    /// Opened once per segment and kept while the segment is searched:
    /// opening a column reads its codec's table of blocks (thousands at a
    /// million documents), which was a fifth of the time of a page the
    /// index answers for a filter.
    fn of(searcher: &Searcher, sort: SortBy) -> AppResult<Vec<Arc<KeyColumns>>> {
        static OPEN: LazyLock<Mutex<OpenColumns>> = LazyLock::new(Mutex::default);
        let readers = searcher.segment_readers();
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        if readers
            .iter()
            .any(|r| !open.contains_key(&(r.segment_id(), sort)))
        {
            // A segment is new (a commit or a merge): those no longer
            // searched are let go. A segment id names one segment's
            // contents (a copied index holds the same contents).
            let live: Vec<SegmentId> = readers.iter().map(SegmentReader::segment_id).collect();
            open.retain(|(id, _), _| live.contains(id));
        }
        readers
            .iter()
            .map(|r| match open.entry((r.segment_id(), sort)) {
                Entry::Occupied(e) => Ok(e.get().clone()),
                Entry::Vacant(e) => Ok(e
                    .insert(Arc::new(Self::open(r, sort).map_err(search_err)?))
                    .clone()),
            })
            .collect()
    }

    fn key(&self, doc: tantivy::DocId) -> SortKey {
        (
            self.ts.get_val(doc),
            self.hi.get_val(doc),
            self.lo.get_val(doc),
        )
    }
}

/// The first `n` matches by time alone, below `before`, with every match
/// that ties with the last of them: the documents the first `n` in the
/// documented order (time, then id) are among. Ranking by the time reads
/// one column per match, where the whole key reads three; the ids are read
/// for these documents only ([`exact_top`]).
struct TopByTime {
    /// [`KeyColumns::of`] the searcher.
    columns: Vec<Arc<KeyColumns>>,
    before: Option<SortKey>,
    n: usize,
}

/// The longest block of matches tantivy hands a collector at once.
const COLLECT_BLOCK: usize = tantivy::COLLECT_BLOCK_BUFFER_LEN;

struct SegmentTopByTime {
    segment: u32,
    columns: Option<Arc<KeyColumns>>,
    before: Option<SortKey>,
    n: usize,
    /// Candidates: every document at or above `least`.
    kept: Vec<(i64, DocId)>,
    /// The time of the `n`th candidate at the last cut: anything earlier
    /// cannot be among the first `n`, nor tie with the last of them.
    least: Option<i64>,
    /// The length at which `kept` is cut again.
    cut_at: usize,
}

impl SegmentTopByTime {
    /// Keeps the first `n` by time and every candidate tied with the `n`th,
    /// and raises `least` to its time. Cutting at twice the kept length
    /// makes each document's share of the cuts constant, whatever the order
    /// documents come in (by time, as an import leaves them, or not).
    fn cut(&mut self) {
        let n = self.n;
        if self.kept.len() > n {
            self.kept
                .select_nth_unstable_by(n - 1, |a, b| b.0.cmp(&a.0));
            let least = self.kept[n - 1].0;
            let mut end = n;
            for i in n..self.kept.len() {
                if self.kept[i].0 == least {
                    self.kept.swap(end, i);
                    end += 1;
                }
            }
            self.kept.truncate(end);
            self.least = Some(least);
        }
        self.cut_at = (2 * self.kept.len()).max(2 * n);
    }
}

impl Collector for TopByTime {
    type Fruit = Vec<(i64, DocAddress)>;
    type Child = SegmentTopByTime;

    fn for_segment(&self, segment: u32, _: &SegmentReader) -> tantivy::Result<Self::Child> {
        Ok(SegmentTopByTime {
            segment,
            columns: self.columns.get(segment as usize).cloned(),
            before: self.before,
            n: self.n.max(1),
            kept: Vec::new(),
            least: None,
            cut_at: 2 * self.n.max(1),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    /// Hands the matches to the segment's collector in blocks, the deleted
    /// ones left out here: tantivy's own loop passes blocks only to a
    /// segment without deletes, and calls `collect` once a match otherwise.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: u32,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Fruit> {
        let mut collector = self.for_segment(segment, reader)?;
        match reader.alive_bitset() {
            None => weight.for_each_no_score(reader, &mut |docs| collector.collect_block(docs))?,
            Some(alive) => {
                let mut live = Vec::with_capacity(COLLECT_BLOCK);
                weight.for_each_no_score(reader, &mut |docs| {
                    live.clear();
                    live.extend(docs.iter().copied().filter(|&d| alive.is_alive(d)));
                    collector.collect_block(&live);
                })?;
            }
        }
        Ok(collector.harvest())
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<(i64, DocAddress)> = fruits.into_iter().flatten().collect();
        all.sort_unstable_by_key(|(ts, _)| Reverse(*ts));
        if let Some(&(last, _)) = all.get(self.n.max(1) - 1) {
            all.retain(|(ts, _)| *ts >= last);
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentTopByTime {
    type Fruit = Vec<(i64, DocAddress)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let columns = self.columns.take();
        let ts = columns.as_ref().map_or(0, |c| c.ts.get_val(doc));
        self.consider(columns.as_deref(), doc, ts);
        self.columns = columns;
    }

    /// Reads the block's times in one call: the column's decoder then runs
    /// inlined over the block, where `collect` pays a dynamic call for
    /// each match (a sixth of a page for a term that matches a fifth of a
    /// million contacts).
    fn collect_block(&mut self, docs: &[DocId]) {
        // Taken out for the block, not cloned: the count of an `Arc` every
        // search shares would bounce between the cores' caches.
        let Some(columns) = self.columns.take() else {
            docs.iter().for_each(|&doc| self.consider(None, doc, 0));
            return;
        };
        let mut times = [0i64; COLLECT_BLOCK];
        for chunk in docs.chunks(COLLECT_BLOCK) {
            let times = &mut times[..chunk.len()];
            columns.ts.get_vals(chunk, times);
            for (&doc, &ts) in chunk.iter().zip(times.iter()) {
                self.consider(Some(&columns), doc, ts);
            }
        }
        self.columns = Some(columns);
    }

    fn harvest(mut self) -> Self::Fruit {
        self.cut();
        let segment = self.segment;
        self.kept
            .into_iter()
            .map(|(ts, doc)| (ts, DocAddress::new(segment, doc)))
            .collect()
    }
}

impl SegmentTopByTime {
    /// Keeps `doc`, whose time is `ts`, if it can be among the first `n`.
    fn consider(&mut self, columns: Option<&KeyColumns>, doc: DocId, ts: i64) {
        if let Some(b) = self.before
            && (ts > b.0 || (ts == b.0 && columns.map_or((0, 0, 0), |c| c.key(doc)) >= b))
        {
            return;
        }
        if self.least.is_some_and(|least| ts < least) {
            return;
        }
        self.kept.push((ts, doc));
        if self.kept.len() >= self.cut_at {
            self.cut();
        }
    }
}

/// The first `n` of `docs` in the documented order (time, then id,
/// descending), their ids read from the fast fields ([`KeyColumns::of`]).
fn exact_top(
    columns: &[Arc<KeyColumns>],
    docs: Vec<(i64, DocAddress)>,
    n: usize,
) -> AppResult<Vec<(SortKey, DocAddress)>> {
    let mut keys = Vec::with_capacity(docs.len());
    for (_, d) in docs {
        let cols = columns
            .get(d.segment_ord as usize)
            .ok_or_else(|| AppError::internal("a match in a segment the search did not read"))?;
        keys.push((cols.key(d.doc_id), d));
    }
    keys.sort_unstable_by_key(|k| Reverse(k.0));
    keys.truncate(n);
    Ok(keys)
}

/// One page of matches for `filter`, `limit` long, in `order`, from `start`.
#[allow(clippy::too_many_arguments)]
pub fn page(
    searcher: &Searcher,
    f: &Fields,
    org: i64,
    filter: &ContactFilter,
    order: Order,
    start: &Start,
    limit: usize,
    include_total: bool,
) -> AppResult<Hits> {
    let (offset, after) = match (start, order) {
        (Start::Offset(n), _) => (*n as usize, None),
        (Start::After(ts, id), Order::Field(sort)) => (0, Some((sort, *ts, id.as_str()))),
        (Start::After(..), Order::Relevance) => {
            return Err(AppError::invalid_parameter(
                "cursor",
                "sortBy=relevance pages with offset, not cursor",
            ));
        }
    };
    // Past the last document there is nothing to skip to; this also bounds
    // what the collector allocates for a huge offset.
    let offset = offset.min(searcher.num_docs() as usize);
    let scored = order == Order::Relevance;
    // A field order checks the cursor while ranking (see `by_field`).
    let before = match after {
        Some((_, ts, id)) => {
            let (hi, lo) = schema::id_halves(id).ok_or_else(|| {
                AppError::bad_request(
                    "invalid_cursor",
                    Some("cursor".into()),
                    "cursor is not valid",
                )
            })?;
            Some((ts, hi, lo))
        }
        None => None,
    };
    let query = filter_query(searcher, f, org, filter, scored)?;
    // The total is for the whole filter, never only what follows a cursor:
    // counted in the same pass when there is no cursor, else separately.
    let count_along = include_total && after.is_none();
    let mut total = None;
    if include_total && !count_along {
        let q = filter_query(searcher, f, org, filter, false)?;
        total = Some(searcher.search(&*q, &Count).map_err(search_err)? as u64);
    }
    let mut keys: Vec<(SortKey, DocAddress)> = match order {
        Order::Field(sort) => {
            // The first offset + limit + 1 in order, then the page of them.
            let n = offset + limit + 1;
            let columns = KeyColumns::of(searcher, sort)?;
            let top = TopByTime {
                columns: columns.clone(),
                before,
                n,
            };
            let docs = if count_along {
                let (docs, count) = searcher
                    .search(&*query, &(top, Count))
                    .map_err(search_err)?;
                total = Some(count as u64);
                docs
            } else {
                searcher.search(&*query, &top).map_err(search_err)?
            };
            let mut keys = exact_top(&columns, docs, n)?;
            keys.drain(..offset.min(keys.len()));
            keys
        }
        Order::Relevance => {
            let top = TopDocs::with_limit(limit + 1)
                .and_offset(offset)
                .order_by_score();
            let scored = if count_along {
                let (scored, n) = searcher
                    .search(&*query, &(top, Count))
                    .map_err(search_err)?;
                total = Some(n as u64);
                scored
            } else {
                searcher.search(&*query, &top).map_err(search_err)?
            };
            let mut out = Vec::with_capacity(scored.len());
            for (score, addr) in scored {
                let seg = searcher.segment_reader(addr.segment_ord);
                let ff = seg.fast_fields();
                let get = |name: &str| -> AppResult<u64> {
                    Ok(ff
                        .u64(name)
                        .map_err(search_err)?
                        .first(addr.doc_id)
                        .unwrap_or(0))
                };
                // The score stands where the timestamp would.
                out.push(((score.to_bits() as i64, get("id_hi")?, get("id_lo")?), addr));
            }
            out
        }
    };
    let has_more = keys.len() > limit;
    keys.truncate(limit);
    let hits = keys
        .into_iter()
        .map(|((ts, hi, lo), _)| Hit {
            id: schema::id_from_halves(hi, lo),
            ts,
        })
        .collect();
    Ok(Hits {
        hits,
        has_more,
        total,
    })
}

#[cfg(test)]
mod tests {
    use tantivy::Index;
    use tantivy::query::Query;

    use super::*;
    use crate::model::Contact;
    use crate::model::fields::Tags;

    /// Contacts of two organizations, in three segments: every fifth an
    /// Okafor; tags of every share, by the Okafors' count (`most` on nine in
    /// ten, `half`, `fifth`, `rare` on one in 700); two states; some without
    /// an email.
    fn contact(i: i64) -> Contact {
        let j = i / 5;
        let mut tags = Vec::new();
        if j % 2 == 0 {
            tags.push("half");
        }
        if j % 10 != 0 {
            tags.push("most");
        }
        if j % 10 == 3 || j % 10 == 4 {
            tags.push("fifth");
        }
        if j % 700 == 0 {
            tags.push("rare");
        }
        Contact {
            id: format!("00000000-0000-7000-8000-{i:012}"),
            org: if i % 4 == 3 { 2 } else { 1 },
            first_name: Some(format!("P{i}")),
            last_name: Some(if i % 5 == 0 { "Okafor" } else { "Smith" }.into()),
            email: (i % 3 != 0).then(|| format!("p{i}@example.org")),
            state: Some(if i % 2 == 0 { "NC" } else { "SC" }.into()),
            tags: Tags::parse_strs(tags, "tags").unwrap(),
            is_opted_in: i % 7 != 0,
            is_textable: Some(i % 6 != 0),
            created_at: 1_700_000_000_000 + i,
            updated_at: 1_700_000_000_000 + i,
            ..Contact::default()
        }
    }

    const N: i64 = 30_000;

    fn index() -> (Index, Fields) {
        let schema = schema::build_schema();
        let f = Fields::new(&schema).unwrap();
        let index = Index::create_in_ram(schema);
        schema::register_analyzers(&index).unwrap();
        let mut writer = index.writer_with_num_threads(1, 50_000_000).unwrap();
        for chunk in [0..12_000, 12_000..25_000, 25_000..N] {
            for i in chunk {
                writer
                    .add_document(schema::document(&f, &contact(i)))
                    .unwrap();
            }
            writer.commit().unwrap();
        }
        (index, f)
    }

    fn filter(query: &str) -> ContactFilter {
        let mut filter = ContactFilter::default();
        for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
            match k {
                "search" => filter.search = Some(v.into()),
                "tags" => filter.tags = v.split(',').map(str::to_string).collect(),
                "tagsLogic" => {
                    filter.tags_logic = if v == "OR" {
                        TagsLogic::Or
                    } else {
                        TagsLogic::And
                    }
                }
                "state" => filter.states = v.split(',').map(str::to_string).collect(),
                "hasEmail" => filter.has_email = Some(v == "true"),
                "optedOut" => filter.opted_out = Some(v == "true"),
                "isTextable" => filter.is_textable = Some(v == "true"),
                _ => panic!("{k}"),
            }
        }
        filter
    }

    fn gathers(q: &dyn Query) -> bool {
        q.downcast_ref::<BooleanQuery>().is_some_and(|b| {
            b.clauses()
                .iter()
                .any(|(_, c)| c.downcast_ref::<GatheredAll>().is_some())
        })
    }

    #[test]
    fn a_search_beside_common_filters_matches_as_the_filters_say() {
        let (index, f) = index();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 3);
        fn has(i: i64, tag: &str) -> bool {
            contact(i).tags.keys().iter().any(|k| k == tag)
        }
        type Want = Box<dyn Fn(i64) -> bool>;
        let cases: Vec<(&str, bool, Want)> = vec![
            (
                "search=Okafor&tags=most",
                true,
                Box::new(|i| has(i, "most")),
            ),
            (
                "search=Okafr&tags=half,most&tagsLogic=AND",
                true,
                Box::new(|i| has(i, "half") && has(i, "most")),
            ),
            (
                "search=Okafor&tags=fifth,rare&tagsLogic=OR",
                true,
                Box::new(|i| has(i, "fifth") || has(i, "rare")),
            ),
            (
                "search=Okafor&tags=most&hasEmail=true",
                true,
                Box::new(|i| has(i, "most") && i % 3 != 0),
            ),
            (
                "search=Okafor&state=SC,NC&optedOut=false&isTextable=true",
                true,
                Box::new(|i| i % 7 != 0 && i % 6 != 0),
            ),
            // The next word of the search narrows the set too.
            (
                "search=Okafor%20P1&tags=most",
                true,
                Box::new(|i| has(i, "most") && i.to_string().starts_with('1')),
            ),
            // A rare filter leads instead.
            (
                "search=Okafor&tags=rare",
                false,
                Box::new(|i| has(i, "rare")),
            ),
        ];
        for round in ["read", "kept"] {
            for (query, gathered, want) in &cases {
                let filter = filter(&query.replace("%20", " "));
                let q = filter_query(&searcher, &f, 1, &filter, false).unwrap();
                assert_eq!(gathers(&*q), *gathered, "{query}");
                let mut expect: Vec<i64> = (0..N)
                    .filter(|&i| {
                        let c = contact(i);
                        c.org == 1 && c.last_name.as_deref() == Some("Okafor") && want(i)
                    })
                    .collect();
                assert!(!expect.is_empty(), "{query}");
                let total = count(&searcher, &f, 1, &filter, None).unwrap();
                assert_eq!(total, expect.len() as u64, "{query} ({round})");
                let hits = page(
                    &searcher,
                    &f,
                    1,
                    &filter,
                    Order::Field(SortBy::UpdatedAt),
                    &Start::Offset(0),
                    20,
                    false,
                )
                .unwrap();
                expect.reverse();
                expect.truncate(20);
                let got: Vec<String> = hits.hits.into_iter().map(|h| h.id).collect();
                let expect: Vec<String> = expect.into_iter().map(|i| contact(i).id).collect();
                assert_eq!(got, expect, "{query} ({round})");
            }
        }
    }
}
