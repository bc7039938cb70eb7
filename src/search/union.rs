//! A union of unscored clauses gathered into one bit set per segment.
//!
//! A fuzzy search term matches through several fields (first name, last
//! name, email words), each an automaton over its terms. tantivy's own
//! union merges the clauses document by document, which costs more than
//! finding them when a common name matches a large share of the
//! organization; here each clause is read once into a bit set, and the
//! query walks that set.

use tantivy::query::{
    BitSetDocSet, ConstScorer, DfaWrapper, EnableScoring, Explanation, FuzzyTermQuery, Query,
    Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, COLLECT_BLOCK_BUFFER_LEN, DocId, DocSet, Score, SegmentReader, Term};

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

impl Query for BitSetUnion {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let unscored = match enable_scoring.searcher() {
            Some(searcher) => EnableScoring::disabled_from_searcher(searcher),
            None => EnableScoring::disabled_from_schema(enable_scoring.schema()),
        };
        let clauses = self
            .0
            .iter()
            .map(|q| match q.downcast_ref::<FieldAutomaton>() {
                Some(a) => Ok(Gathered::Terms(a.field, a.query.automaton()?)),
                None => Ok(Gathered::Weight(q.weight(unscored)?)),
            })
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(UnionWeight(clauses)))
    }
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

impl Weight for UnionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut set = BitSet::with_max_value(reader.max_doc());
        let mut buffer = [0; COLLECT_BLOCK_BUFFER_LEN];
        for clause in &self.0 {
            match clause {
                Gathered::Terms(field, automaton) => {
                    let inverted = reader.inverted_index(*field)?;
                    let mut terms = inverted.terms().search(automaton).into_stream()?;
                    while terms.advance() {
                        let mut postings = inverted.read_block_postings_from_terminfo(
                            terms.value(),
                            IndexRecordOption::Basic,
                        )?;
                        loop {
                            let docs = postings.docs();
                            if docs.is_empty() {
                                break;
                            }
                            for &doc in docs {
                                set.insert(doc);
                            }
                            postings.advance();
                        }
                    }
                }
                Gathered::Weight(weight) => {
                    let mut scorer = weight.scorer(reader, 1.0)?;
                    loop {
                        let n = scorer.fill_buffer(&mut buffer);
                        for &doc in &buffer[..n] {
                            set.insert(doc);
                        }
                        if n < COLLECT_BLOCK_BUFFER_LEN {
                            break;
                        }
                    }
                }
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(set), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new("BitSetUnion", 1.0))
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
