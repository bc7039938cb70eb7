//! A union of unscored clauses gathered into one bit set per segment.
//!
//! A fuzzy search term matches through several fields (first name, last
//! name, email words), each an automaton over its terms. tantivy's own
//! union merges the clauses document by document, which costs more than
//! finding them when a common name matches a large share of the
//! organization; here each clause is read once into a bit set, and the
//! query walks that set.
//!
//! When the other filters of the query are common too, walking that set
//! beside their postings document by document (tantivy's intersection)
//! costs more than intersecting sets: [`GatheredAll`] narrows the set by
//! each filter in turn, a filter term by its kept set (see `bits.rs`).

use tantivy::query::{
    BooleanQuery, ConstScorer, DfaWrapper, EnableScoring, Explanation, FuzzyTermQuery, Occur,
    Query, Scorer, TermQuery, Weight,
};
use tantivy::schema::Field;
use tantivy::{COLLECT_BLOCK_BUFFER_LEN, DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

use super::bits::{Bits, BitsDocSet, term_words};

/// Matches the documents any of its clauses match, with a constant score.
#[derive(Debug)]
pub struct BitSetUnion(pub Vec<Box<dyn Query>>);

impl Clone for BitSetUnion {
    fn clone(&self) -> Self {
        Self(self.0.iter().map(|q| q.box_clone()).collect())
    }
}

/// A fuzzy (or prefix) term of one field that a [`BitSetUnion`] reads
/// straight from the field's postings into its own set. Anywhere else it is
/// the `FuzzyTermQuery` it wraps.
#[derive(Debug, Clone)]
pub struct FieldAutomaton {
    field: Field,
    query: FuzzyTermQuery,
}

impl FieldAutomaton {
    /// The terms of `term`'s field that start within `distance` edits of
    /// it (a transposition is one edit).
    pub fn prefix(term: Term, distance: u8) -> Self {
        Self {
            field: term.field(),
            query: FuzzyTermQuery::new_prefix(term, distance, true),
        }
    }
}

impl Query for FieldAutomaton {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        self.query.weight(enable_scoring)
    }
}

fn unscored(enable_scoring: EnableScoring<'_>) -> EnableScoring<'_> {
    match enable_scoring {
        EnableScoring::Enabled { searcher, .. } => EnableScoring::disabled_from_searcher(searcher),
        EnableScoring::Disabled { .. } => enable_scoring,
    }
}

impl BitSetUnion {
    fn union_weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<UnionWeight> {
        let unscored = unscored(enable_scoring);
        let clauses = self
            .0
            .iter()
            .map(|q| match q.downcast_ref::<FieldAutomaton>() {
                Some(a) => Ok(Gathered::Terms(a.field, a.query.automaton()?)),
                None => Ok(Gathered::Weight(q.weight(unscored)?)),
            })
            .collect::<tantivy::Result<_>>()?;
        Ok(UnionWeight(clauses))
    }
}

impl Query for BitSetUnion {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.union_weight(enable_scoring)?))
    }
}

/// Matches the documents `first` matches that every one of `filters` also
/// matches, with a constant score: `first` is gathered into a set (as a
/// [`BitSetUnion`] is; any other query through its scorer), then each filter
/// keeps in it only its own documents:
/// - a term, or any of several terms (a tag, a flag, states): its kept set
///   ([`term_words`]), a word at a time;
/// - a further [`BitSetUnion`] (the next word of the search): gathered too;
/// - anything else through its scorer: read whole while the set holds more
///   than an eighth of its documents, else probed at the set's documents.
#[derive(Debug)]
pub struct GatheredAll {
    pub first: Box<dyn Query>,
    pub filters: Vec<Box<dyn Query>>,
}

impl Clone for GatheredAll {
    fn clone(&self) -> Self {
        Self {
            first: self.first.box_clone(),
            filters: self.filters.iter().map(|q| q.box_clone()).collect(),
        }
    }
}

/// The terms of `q` when it matches any of them: a term query, or a union
/// of term queries.
fn any_terms(q: &dyn Query) -> Option<Vec<Term>> {
    if let Some(t) = q.downcast_ref::<TermQuery>() {
        return Some(vec![t.term().clone()]);
    }
    let any = q.downcast_ref::<BooleanQuery>()?;
    if any.get_minimum_number_should_match() > 1 {
        return None;
    }
    any.clauses()
        .iter()
        .map(|(occur, clause)| match occur {
            Occur::Should => clause.downcast_ref::<TermQuery>().map(|t| t.term().clone()),
            _ => None,
        })
        .collect()
}

impl Query for GatheredAll {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let gathered = |q: &dyn Query| match q.downcast_ref::<BitSetUnion>() {
            Some(union) => union.union_weight(enable_scoring),
            None => Ok(UnionWeight(vec![Gathered::Weight(
                q.weight(unscored(enable_scoring))?,
            )])),
        };
        let first = gathered(&*self.first)?;
        let filters = self
            .filters
            .iter()
            .map(|q| {
                if let Some(terms) = any_terms(&**q) {
                    return Ok(Filter::Terms(terms));
                }
                if q.downcast_ref::<BitSetUnion>().is_some() {
                    return Ok(Filter::Union(gathered(&**q)?));
                }
                Ok(Filter::Weight(q.weight(unscored(enable_scoring))?))
            })
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(AllWeight { first, filters }))
    }
}

/// How a filter of a [`GatheredAll`] narrows its set.
enum Filter {
    Terms(Vec<Term>),
    Union(UnionWeight),
    Weight(Box<dyn Weight>),
}

struct AllWeight {
    first: UnionWeight,
    filters: Vec<Filter>,
}

impl AllWeight {
    fn gather(&self, reader: &SegmentReader) -> tantivy::Result<Bits> {
        let mut set = self.first.gather(reader)?;
        for filter in &self.filters {
            match filter {
                Filter::Terms(terms) => match &terms[..] {
                    [term] => set.and(&term_words(reader, term)?),
                    terms => {
                        let mut any = Bits::empty(reader.max_doc());
                        for term in terms {
                            any.or(&term_words(reader, term)?);
                        }
                        set.and(any.words());
                    }
                },
                Filter::Union(union) => set.and(union.gather(reader)?.words()),
                Filter::Weight(weight) => {
                    set = narrow(set, &mut *weight.scorer(reader, 1.0)?, reader.max_doc());
                }
            }
        }
        Ok(set)
    }
}

/// The documents of `set` that `scorer` reaches.
fn narrow(set: Bits, scorer: &mut dyn Scorer, max_doc: u32) -> Bits {
    let mut kept = Bits::empty(max_doc);
    if set.len() as u64 * 8 < u64::from(scorer.size_hint()) {
        for doc in set.docs() {
            let at = match scorer.doc() {
                at if at >= doc => at,
                _ => scorer.seek(doc),
            };
            if at == TERMINATED {
                break;
            }
            if at == doc {
                kept.insert(doc);
            }
        }
    } else {
        each_doc(scorer, |doc| {
            if set.contains(doc) {
                kept.insert(doc);
            }
        });
    }
    kept
}

/// Calls `f` with every document `scorer` reaches, a block at a time.
fn each_doc(scorer: &mut dyn Scorer, mut f: impl FnMut(DocId)) {
    let mut buffer = [0; COLLECT_BLOCK_BUFFER_LEN];
    loop {
        let n = scorer.fill_buffer(&mut buffer);
        buffer[..n].iter().for_each(|&doc| f(doc));
        if n < COLLECT_BLOCK_BUFFER_LEN {
            return;
        }
    }
}

impl Weight for AllWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let set = self.gather(reader)?;
        Ok(Box::new(ConstScorer::new(BitsDocSet::new(set), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain_by_scorer(self, reader, doc, "GatheredAll")
    }
}

/// A constant-score explanation: whether `weight`'s scorer reaches `doc`.
fn explain_by_scorer(
    weight: &dyn Weight,
    reader: &SegmentReader,
    doc: DocId,
    name: &'static str,
) -> tantivy::Result<Explanation> {
    let mut scorer = weight.scorer(reader, 1.0)?;
    if scorer.seek(doc) != doc {
        return Err(tantivy::TantivyError::InvalidArgument(format!(
            "document {doc} does not match"
        )));
    }
    Ok(Explanation::new(name, 1.0))
}

/// How a clause reaches the union's set.
enum Gathered {
    /// Every term of the field the automaton accepts: their postings are
    /// read into the set as they are decoded. A fuzzy query's own weight
    /// builds a set of its own first, which the union then walked.
    Terms(Field, DfaWrapper),
    /// Any other clause, through its scorer.
    Weight(Box<dyn Weight>),
}

struct UnionWeight(Vec<Gathered>);

impl UnionWeight {
    /// The documents of `reader` any clause matches.
    fn gather(&self, reader: &SegmentReader) -> tantivy::Result<Bits> {
        let mut set = Bits::empty(reader.max_doc());
        for clause in &self.0 {
            match clause {
                Gathered::Terms(field, automaton) => {
                    let inverted = reader.inverted_index(*field)?;
                    let mut terms = inverted.terms().search(automaton).into_stream()?;
                    while terms.advance() {
                        set.insert_postings(&inverted, terms.value())?;
                    }
                }
                Gathered::Weight(weight) => {
                    each_doc(&mut *weight.scorer(reader, 1.0)?, |doc| set.insert(doc));
                }
            }
        }
        Ok(set)
    }
}

impl Weight for UnionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let set = self.gather(reader)?;
        Ok(Box::new(ConstScorer::new(BitsDocSet::new(set), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain_by_scorer(self, reader, doc, "BitSetUnion")
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::DocSetCollector;
    use tantivy::query::{Query, TermQuery};
    use tantivy::schema::{IndexRecordOption, STRING, Schema};
    use tantivy::{Index, Term, doc};

    use super::{BitSetUnion, FieldAutomaton};

    #[test]
    fn matches_what_any_clause_matches_once() {
        let mut schema = Schema::builder();
        let a = schema.add_text_field("a", STRING);
        let b = schema.add_text_field("b", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..300u32 {
            let x = if i % 3 == 0 { "x" } else { "-" };
            let y = if i % 5 == 0 { "y" } else { "z" };
            writer.add_document(doc!(a => x, b => y)).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let term = |f, t: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(f, t),
                IndexRecordOption::Basic,
            ))
        };
        // A fuzzy clause is read from the postings: "yy" is one edit from
        // "y"; "z" is not, by prefix or otherwise.
        let fuzzy = |f, t: &str| -> Box<dyn Query> {
            Box::new(FieldAutomaton::prefix(Term::from_field_text(f, t), 1))
        };
        let union = BitSetUnion(vec![term(a, "x"), fuzzy(b, "yy"), term(b, "absent")]);
        let got = searcher.search(&union, &DocSetCollector).unwrap();
        let mut docs: Vec<u32> = got.into_iter().map(|d| d.doc_id).collect();
        docs.sort_unstable();
        let want: Vec<u32> = (0..300).filter(|i| i % 3 == 0 || i % 5 == 0).collect();
        assert_eq!(docs, want);
    }
}
