//! The list queries: a filter's SQL plan, keyset pages, bounded walks and
//! counts.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::counts::{contact_count, tag_count};
use super::rows::{from_row, prefixed_columns};
use crate::error::AppResult;
use crate::model::{Contact, ContactFilter, Cursor, ListParams, SortBy, TagsLogic};

/// A filter matching fewer contacts than this drives the query from its own
/// index (tags, state or ZIP) and sorts the matches; above it, the query
/// walks the sort index and checks each row, which finds a page of common
/// matches quickly.
const DRIVE_LIMIT: i64 = 1_000;

/// Index entries a walk of the sort index reads at most for one page of a
/// filter: past this, the search index answers the page (see `listing`).
pub const WALK_BOUND: i64 = 1_000;

// A walked index holds at least WALK_BOUND entries (see `list_bounded`).
const _: () = assert!(DRIVE_LIMIT >= WALK_BOUND);

/// How a filter's tag check names the contact it checks.
const TAG_OF_CONTACT: &str = "t.contact = c.key";

/// Where a listing starts reading.
#[derive(Debug, Clone, PartialEq)]
pub enum Drive {
    /// Walk the `(org, sort field, key)` index in order.
    SortIndex,
    /// Start from the tag index rows of these tag placeholders.
    Tags(String),
    /// Start from one of the contacts indexes (state or ZIP).
    Index(&'static str),
}

/// What an ordered walk reads: entries in `(updated_at, key)` order that
/// hold exactly the contacts with one filter's value, so a listing in the
/// default order walks it instead of the sort index.
#[derive(Debug, Clone, PartialEq)]
enum Walked {
    /// A contacts index (one state, one ZIP, the rare side of a flag), with
    /// its condition over the table's columns, `?` standing for `value`
    /// when there is one.
    Index {
        name: &'static str,
        condition: &'static str,
        value: Option<String>,
    },
    /// The tag index (`contact_tags_order`) of these tags, merged in order:
    /// the contacts carrying any of them.
    Tags(Vec<String>),
}

/// An ordered walk the filter allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered {
    walked: Walked,
    /// The share of its entries expected to meet the rest of the filter's
    /// tags, from the kept tag counts (1 when no other tag is asked for).
    tag_share: f64,
}

impl Ordered {
    fn contacts_index(&self) -> Option<&'static str> {
        match self.walked {
            Walked::Index { name, .. } => Some(name),
            Walked::Tags(_) => None,
        }
    }
}

/// The window of a walk in `sort` order (`walked`, or the sort index):
/// `SELECT k` of its next `size` entries after the cursor when `cursor`,
/// `k` being the key `contacts c` is joined on. `?1` is the org; the
/// walk's values and then the [`Seek`]'s two placeholders are numbered
/// from `first`, in the order of [`window_args`].
fn window_sql(
    walked: Option<&Walked>,
    sort: SortBy,
    first: usize,
    size: i64,
    cursor: bool,
) -> String {
    let col = sort.column();
    let mut next = first;
    let mut mark = || {
        next += 1;
        format!("?{}", next - 1)
    };
    match walked {
        Some(Walked::Tags(tags)) => {
            let marks: Vec<String> = tags.iter().map(|_| mark()).collect();
            let after = if cursor {
                format!(" AND ({col}, contact) < ({}, {})", mark(), mark())
            } else {
                String::new()
            };
            // Each tag's own first `size` entries hold every entry of the
            // merged first `size`.
            let arms: Vec<String> = marks
                .iter()
                .map(|m| {
                    format!(
                        "SELECT * FROM (SELECT contact AS k, {col} AS s
                          FROM contact_tags INDEXED BY contact_tags_order
                          WHERE org = ?1 AND tag = {m}{after}
                          ORDER BY {col} DESC, contact DESC LIMIT {size})"
                    )
                })
                .collect();
            format!(
                "SELECT k FROM ({}) ORDER BY s DESC, k DESC LIMIT {size}",
                arms.join(" UNION ")
            )
        }
        Some(Walked::Index {
            name, condition, ..
        }) => {
            let condition = match condition.split_once('?') {
                Some((before, after)) => format!("{before}{}{after}", mark()),
                None => condition.to_string(),
            };
            contacts_window(name, &format!(" AND {condition}"), sort, size, cursor, mark)
        }
        None => contacts_window(sort_index(sort), "", sort, size, cursor, mark),
    }
}

/// The window of a contacts index: keys, `extra` narrowing the range.
fn contacts_window(
    index: &str,
    extra: &str,
    sort: SortBy,
    size: i64,
    cursor: bool,
    mut mark: impl FnMut() -> String,
) -> String {
    let col = sort.column();
    let after = if cursor {
        format!(" AND ({col}, key) < ({}, {})", mark(), mark())
    } else {
        String::new()
    };
    format!(
        "SELECT key AS k FROM contacts INDEXED BY {index} WHERE org = ?1{extra}{after}
          ORDER BY {col} DESC, key DESC LIMIT {size}"
    )
}

/// Where a keyset page starts, in the indexes' own terms: the contacts
/// after a cursor `(time, id)` are those before `(time, key)`, the key
/// being that of the first contact whose id is not below the cursor's.
/// Keys sort as ids (see `schema.sql`), and the cursor's own contact may
/// have been deleted since.
#[derive(Debug, Clone, Copy)]
struct Seek {
    ts: i64,
    key: i64,
}

impl Seek {
    fn of(conn: &Connection, cursor: Option<&Cursor>) -> AppResult<Option<Seek>> {
        let Some(Cursor { ts, id }) = cursor else {
            return Ok(None);
        };
        let key: Option<i64> = conn
            .prepare_cached("SELECT key FROM contacts WHERE id >= ?1 ORDER BY id LIMIT 1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        Ok(Some(Seek {
            ts: *ts,
            key: key.unwrap_or(i64::MAX),
        }))
    }
}

/// The values of a window's placeholders, in their order.
fn window_args(walked: Option<&Walked>, seek: Option<Seek>) -> Vec<SqlValue> {
    let mut args: Vec<SqlValue> = match walked {
        Some(Walked::Tags(tags)) => tags.iter().map(|t| SqlValue::Text(t.clone())).collect(),
        Some(Walked::Index {
            value: Some(value), ..
        }) => vec![SqlValue::Text(value.clone())],
        _ => Vec::new(),
    };
    if let Some(Seek { ts, key }) = seek {
        args.extend([SqlValue::Integer(ts), SqlValue::Integer(key)]);
    }
    args
}

/// A SQL `WHERE` clause over `contacts c` for a filter, with its parameters
/// and the plan chosen for it. `?1` is the org.
pub struct Where {
    /// The filter's condition but its tag checks ([`Where::condition`]).
    clause: String,
    pub params: Vec<SqlValue>,
    pub drive: Drive,
    /// With [`Drive::SortIndex`], the smallest ordered index the filter
    /// allows, walked instead when the listing is newest updated first.
    ordered: Option<Ordered>,
    /// The share of the organization expected to meet the tag filter, from
    /// the kept tag counts, taking tags as independent (1 without tags).
    tag_share: f64,
    /// The filter's tag checks (each `EXISTS (...)`, on
    /// [`TAG_OF_CONTACT`]), which a walk applies to its window's keys.
    tag_checks: Vec<String>,
}

/// The keyset index of a sort order.
fn sort_index(sort: SortBy) -> &'static str {
    match sort {
        SortBy::UpdatedAt => "contacts_org_updated",
        SortBy::CreatedAt => "contacts_org_created",
    }
}

impl Where {
    /// The whole condition over `contacts c`.
    pub fn condition(&self) -> String {
        let mut all = self.clause.clone();
        for check in &self.tag_checks {
            all.push_str(" AND ");
            all.push_str(check);
        }
        all
    }

    /// The `FROM` of a listing in `sort` order.
    pub fn sorted_source(&self, sort: SortBy) -> String {
        match &self.drive {
            Drive::SortIndex => {
                let index = self
                    .walked(sort)
                    .and_then(Ordered::contacts_index)
                    .unwrap_or(sort_index(sort));
                format!("contacts c INDEXED BY {index}")
            }
            other => drive_source(other),
        }
    }

    /// The ordered index a walk in `sort` order reads instead of the sort
    /// index, if any.
    fn walked(&self, sort: SortBy) -> Option<&Ordered> {
        match sort {
            SortBy::UpdatedAt => self.ordered.as_ref(),
            SortBy::CreatedAt => None,
        }
    }

    /// The share of a walk's entries in `sort` order expected to meet the
    /// tag filter.
    fn walk_share(&self, sort: SortBy) -> f64 {
        self.walked(sort).map_or(self.tag_share, |o| o.tag_share)
    }

    /// The `FROM` of a count.
    pub fn source(&self) -> String {
        drive_source(&self.drive)
    }
}

/// The `FROM` clause a plan reads through (any order).
fn drive_source(drive: &Drive) -> String {
    match drive {
        Drive::SortIndex => "contacts c".to_string(),
        // CROSS JOIN keeps the tag rows as the outer loop.
        // NOT INDEXED: each contact is read by its key (see `page_sql`).
        Drive::Tags(tags) => format!(
            "(SELECT DISTINCT contact FROM contact_tags WHERE org = ?1 AND tag IN ({tags})) d \
                 CROSS JOIN contacts c NOT INDEXED ON c.key = d.contact"
        ),
        Drive::Index(index) => format!("contacts c INDEXED BY {index}"),
    }
}

/// The index that holds exactly the contacts with a flag's value, the
/// predicate it is partial on, and whether it is in `(updated_at, key)`
/// order. The rare side of each flag in most lists has its own ordered
/// index, so a filter on it (opted out, not textable, no email, no phone)
/// reads only the contacts it matches; email and phone presence use the
/// uniqueness indexes.
fn flag_index(flag: Flag, value: bool) -> Option<(&'static str, &'static str, bool)> {
    match (flag, value) {
        (Flag::OptedOut, true) => Some(("contacts_org_opted_out", "is_opted_in = 0", true)),
        (Flag::Textable, false) => Some(("contacts_org_not_textable", "is_textable = 0", true)),
        (Flag::HasEmail, false) => Some(("contacts_org_no_email", "email IS NULL", true)),
        (Flag::HasEmail, true) => Some(("contacts_org_email", "email IS NOT NULL", false)),
        (Flag::HasPhone, false) => Some(("contacts_org_no_phone", "phone IS NULL", true)),
        (Flag::HasPhone, true) => Some(("contacts_org_phone", "phone IS NOT NULL", false)),
        (Flag::OptedOut, false) | (Flag::Textable, true) => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Flag {
    OptedOut,
    Textable,
    HasEmail,
    HasPhone,
}

/// A page of the contacts whose keys `source` yields (a window of an
/// ordered index) that meet `clause`. CROSS JOIN keeps the window as the
/// outer loop, whatever other index the filter's columns have, and NOT
/// INDEXED reads each contact by its key: with statistics taken while a
/// flag's partial index was empty (an import's, before its lookups
/// answered), SQLite took that index for free and scanned all of it for
/// each key of the window, 47 ms a page of `isTextable=false` at 1M.
fn page_sql(source: &str, clause: &str, col: &str, limit: u32) -> String {
    format!(
        "SELECT {} FROM ({source}) wnd CROSS JOIN contacts c NOT INDEXED ON c.key = wnd.k
          WHERE {clause} ORDER BY c.{col} DESC, c.key DESC LIMIT {limit}",
        prefixed_columns(),
    )
}

/// How many contacts (up to [`DRIVE_LIMIT`]) a partial index holds.
fn probe_partial(conn: &Connection, index: &str, predicate: &str, org: i64) -> AppResult<i64> {
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM contacts INDEXED BY {index}
          WHERE org = ?1 AND {predicate} LIMIT {DRIVE_LIMIT})"
    );
    Ok(conn.prepare_cached(&sql)?.query_row([org], |r| r.get(0))?)
}

/// How many contacts (up to [`DRIVE_LIMIT`]) an index range holds: a cheap,
/// bounded probe of a filter's selectivity.
fn probe(
    conn: &Connection,
    index: &str,
    column: &str,
    org: i64,
    values: &[String],
) -> AppResult<i64> {
    let placeholders: Vec<String> = (0..values.len()).map(|i| format!("?{}", i + 2)).collect();
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM contacts INDEXED BY {index}
          WHERE org = ?1 AND {column} IN ({}) LIMIT {DRIVE_LIMIT})",
        placeholders.join(", ")
    );
    let mut args: Vec<SqlValue> = vec![SqlValue::Integer(org)];
    args.extend(values.iter().map(|v| SqlValue::Text(v.clone())));
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
}

/// Builds the query for `filter` (never `search`, which the search index
/// answers). The tag filter picks its plan from the tag counts.
pub fn build_where(conn: &Connection, org: i64, filter: &ContactFilter) -> AppResult<Where> {
    let mut clause = String::from("c.org = ?1");
    let mut params: Vec<SqlValue> = vec![SqlValue::Integer(org)];
    let push = |params: &mut Vec<SqlValue>, v: SqlValue| {
        params.push(v);
        params.len()
    };
    // The most selective of the indexed filters drives, if it is selective
    // enough; otherwise the sort index does.
    let mut drive = Drive::SortIndex;
    let mut best = DRIVE_LIMIT;
    // The ordered indexes the filter allows, by how many entries they hold
    // (up to DRIVE_LIMIT): the first of the smallest is walked.
    let mut ordered: Vec<(i64, Ordered)> = Vec::new();
    let mut drive_predicate = None;
    for (flag, value) in [
        (Flag::OptedOut, filter.opted_out),
        (Flag::Textable, filter.is_textable),
        (Flag::HasEmail, filter.has_email),
        (Flag::HasPhone, filter.has_phone),
    ] {
        let Some((index, predicate, in_order)) = value.and_then(|v| flag_index(flag, v)) else {
            continue;
        };
        let n = probe_partial(conn, index, predicate, org)?;
        if in_order {
            ordered.push((
                n,
                Ordered {
                    walked: Walked::Index {
                        name: index,
                        condition: predicate,
                        value: None,
                    },
                    tag_share: 1.0,
                },
            ));
        }
        if n < best {
            best = n;
            drive = Drive::Index(index);
            drive_predicate = Some(predicate);
        }
    }
    let single = |values: &[String]| match values {
        [one] => Some(one.clone()),
        _ => None,
    };
    for (index, column, condition, values) in [
        (
            "contacts_org_state",
            "state",
            "state = ?",
            filter.states.as_slice(),
        ),
        ("contacts_org_zip", "zip", "zip = ?", filter.zip.as_slice()),
    ] {
        if values.is_empty() {
            continue;
        }
        let n = probe(conn, index, column, org, values)?;
        if let Some(value) = single(values) {
            ordered.push((
                n,
                Ordered {
                    walked: Walked::Index {
                        name: index,
                        condition,
                        value: Some(value),
                    },
                    tag_share: 1.0,
                },
            ));
        }
        if n < best {
            best = n;
            drive = Drive::Index(index);
            drive_predicate = None;
        }
    }

    let mut tag_share = 1.0;
    let mut tag_checks = Vec::new();
    if !filter.tags.is_empty() {
        let counts: Vec<i64> = filter
            .tags
            .iter()
            .map(|t| tag_count(conn, org, t))
            .collect::<AppResult<_>>()?;
        let all = contact_count(conn, org)?.max(1) as f64;
        let share = |n: i64| (n as f64 / all).min(1.0);
        tag_share = match filter.tags_logic {
            TagsLogic::Or => share(counts.iter().sum()),
            TagsLogic::And => counts.iter().map(|&n| share(n)).product(),
        };
        let estimate = match filter.tags_logic {
            TagsLogic::Or => counts.iter().sum::<i64>(),
            TagsLogic::And => counts.iter().copied().min().unwrap_or(0),
        };
        let by_tags = estimate < best;
        // The tag index walks one tag, the rarest of tags a contact must all
        // carry, or every tag of an OR merged in order.
        let walk = match filter.tags_logic {
            TagsLogic::Or => Some((counts.iter().sum(), filter.tags.clone(), 1.0)),
            TagsLogic::And => (0..filter.tags.len()).min_by_key(|&i| counts[i]).map(|i| {
                // Every entry carries the tag walked.
                let rest = if counts[i] == 0 {
                    1.0
                } else {
                    tag_share / share(counts[i])
                };
                (counts[i], vec![filter.tags[i].clone()], rest)
            }),
        };
        if let Some((n, tags, rest)) = walk {
            ordered.push((
                n,
                Ordered {
                    walked: Walked::Tags(tags),
                    tag_share: rest,
                },
            ));
        }
        match filter.tags_logic {
            TagsLogic::Or => {
                let placeholders: Vec<String> = filter
                    .tags
                    .iter()
                    .map(|t| format!("?{}", push(&mut params, SqlValue::Text(t.clone()))))
                    .collect();
                if by_tags {
                    // The join yields exactly the tagged contacts.
                    drive = Drive::Tags(placeholders.join(", "));
                } else {
                    tag_checks.push(format!(
                        "EXISTS (SELECT 1 FROM contact_tags t WHERE t.org = ?1 AND t.tag IN ({}) AND {TAG_OF_CONTACT})",
                        placeholders.join(", ")
                    ));
                }
            }
            TagsLogic::And => {
                // Drive from the rarest tag; probe the others.
                let mut order: Vec<usize> = (0..filter.tags.len()).collect();
                order.sort_by_key(|&i| counts[i]);
                for (n, &i) in order.iter().enumerate() {
                    let p = push(&mut params, SqlValue::Text(filter.tags[i].clone()));
                    if by_tags && n == 0 {
                        drive = Drive::Tags(format!("?{p}"));
                    } else {
                        tag_checks.push(format!(
                            "EXISTS (SELECT 1 FROM contact_tags t WHERE t.org = ?1 AND t.tag = ?{p} AND {TAG_OF_CONTACT})"
                        ));
                    }
                }
            }
        }
    }
    let flags = [
        (filter.is_textable, "c.is_textable = 1", "c.is_textable = 0"),
        (filter.opted_out, "c.is_opted_in = 0", "c.is_opted_in = 1"),
        (filter.has_email, "c.email IS NOT NULL", "c.email IS NULL"),
        (filter.has_phone, "c.phone IS NOT NULL", "c.phone IS NULL"),
    ];
    for (wanted, yes, no) in flags {
        if let Some(b) = wanted {
            clause.push_str(" AND ");
            clause.push_str(if b { yes } else { no });
        }
    }
    if !filter.states.is_empty() {
        let placeholders: Vec<String> = filter
            .states
            .iter()
            .map(|s| format!("?{}", push(&mut params, SqlValue::Text(s.clone()))))
            .collect();
        clause.push_str(&format!(" AND c.state IN ({})", placeholders.join(", ")));
    }
    if let Some(zip) = &filter.zip {
        let p = push(&mut params, SqlValue::Text(zip.clone()));
        clause.push_str(&format!(" AND c.zip = ?{p}"));
    }
    if let (Drive::Index(_), Some(predicate)) = (&drive, drive_predicate) {
        // Said in the index's own words, so SQLite may read through it.
        clause.push_str(&format!(" AND c.{predicate}"));
    }
    let ordered = ordered
        .into_iter()
        .min_by_key(|(n, _)| *n)
        .map(|(_, o)| match o.walked {
            Walked::Index { .. } => Ordered { tag_share, ..o },
            Walked::Tags(_) => o,
        });
    Ok(Where {
        clause,
        params,
        drive,
        ordered,
        tag_share,
        tag_checks,
    })
}

/// One page of a listing.
#[derive(Debug)]
pub struct Page {
    pub contacts: Vec<Contact>,
    pub has_more: bool,
    pub total: Option<i64>,
}

impl Page {
    /// Where the next page starts in the order of `sort`; None on the last.
    pub fn next_cursor(&self, sort: SortBy) -> Option<Cursor> {
        match (self.has_more, self.contacts.last()) {
            (true, Some(last)) => Some(Cursor::after(last, sort)),
            _ => None,
        }
    }
}

/// Lists contacts matching `filter` in the documented order (sort field
/// descending, then id descending), by keyset or offset.
pub fn list(
    conn: &Connection,
    org: i64,
    filter: &ContactFilter,
    params: &ListParams,
) -> AppResult<Page> {
    let w = build_where(conn, org, filter)?;
    let total = if params.include_total {
        Some(count(conn, org, filter)?)
    } else {
        None
    };
    Ok(Page {
        total,
        ..list_where(conn, w, params)?
    })
}

/// A page of what `w` selects, without its total.
fn list_where(conn: &Connection, mut w: Where, params: &ListParams) -> AppResult<Page> {
    let col = params.sort_by.column();
    if let Some(Seek { ts, key }) = Seek::of(conn, params.cursor.as_ref())? {
        w.params.push(SqlValue::Integer(ts));
        let a = w.params.len();
        w.params.push(SqlValue::Integer(key));
        let b = w.params.len();
        w.clause
            .push_str(&format!(" AND (c.{col}, c.key) < (?{a}, ?{b})"));
    }
    let mut sql = format!(
        "SELECT {} FROM {} WHERE {} ORDER BY c.{col} DESC, c.key DESC LIMIT {}",
        prefixed_columns(),
        w.sorted_source(params.sort_by),
        w.condition(),
        params.limit + 1
    );
    if params.cursor.is_none() && params.offset > 0 {
        sql.push_str(&format!(" OFFSET {}", params.offset));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut contacts: Vec<Contact> = stmt
        .query_map(params_from_iter(w.params.iter()), from_row)?
        .collect::<Result<_, _>>()?;
    let has_more = contacts.len() > params.limit as usize;
    contacts.truncate(params.limit as usize);
    Ok(Page {
        contacts,
        has_more,
        total: None,
    })
}

/// [`list`] without its total (the caller counts), unless the page would
/// need a walk longer than [`WALK_BOUND`] entries: then None, and the
/// caller asks the search index. Offset pages and unfiltered or
/// index-driven listings always answer.
pub fn list_bounded(
    conn: &Connection,
    org: i64,
    filter: &ContactFilter,
    params: &ListParams,
) -> AppResult<Option<Page>> {
    let w = build_where(conn, org, filter)?;
    if w.drive != Drive::SortIndex || filter.is_empty() || params.offset > 0 {
        return list_where(conn, w, params).map(Some);
    }
    let col = params.sort_by.column();
    let walked = w.walked(params.sort_by).map(|o| &o.walked);
    let cursor = params.cursor.is_some();
    let window = |first: usize, size: i64| window_sql(walked, params.sort_by, first, size, cursor);
    // The first window is what the kept tag counts say holds about two
    // pages; when even the longest would hold less than a page, the search
    // index answers at once. (The walked index holds at least WALK_BOUND
    // entries here: an index smaller than DRIVE_LIMIT would have driven the
    // plan.) The window then grows fourfold while it holds too few matches,
    // so a filter most of the walked entries meet reads little more than
    // its page.
    let page = i64::from(params.limit) + 1;
    // The longest window: WALK_BOUND, or two pages of a long page (a bulk
    // action's or an export's).
    let bound = WALK_BOUND.max(2 * page);
    let share = w.walk_share(params.sort_by);
    if share * (bound as f64) < page as f64 {
        return Ok(None);
    }
    let window_args = window_args(walked, Seek::of(conn, params.cursor.as_ref())?);
    let mut args = w.params.clone();
    let first = args.len() + 1;
    args.extend(window_args.iter().cloned());
    let mut count_args = vec![SqlValue::Integer(org)];
    count_args.extend(window_args);
    let mut size = ((2 * page) as f64 / share).ceil() as i64;
    size = size.clamp(2 * page, bound);
    // The filter's tags are checked on the window's keys, before any
    // contact's row is read: the window is a subquery SQLite cannot fold
    // into the join (it has a LIMIT), or it would read each row first.
    let clause = &w.clause;
    let checks: Vec<String> = w
        .tag_checks
        .iter()
        .map(|check| check.replace(TAG_OF_CONTACT, "t.contact = w.k"))
        .collect();
    let source = |window: String| {
        if checks.is_empty() {
            window
        } else {
            format!(
                "SELECT w.k FROM ({window}) w WHERE {} LIMIT -1",
                checks.join(" AND ")
            )
        }
    };
    let (mut contacts, has_more) = loop {
        // CROSS JOIN keeps the window as the outer loop, whatever other
        // index the filter's columns have.
        let sql = page_sql(&source(window(first, size)), clause, col, params.limit + 1);
        let contacts: Vec<Contact> = conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(args.iter()), from_row)?
            .collect::<Result<_, _>>()?;
        if contacts.len() > params.limit as usize {
            break (contacts, true);
        }
        // A short page is the whole answer only if the window held every
        // entry left.
        let read: i64 = conn
            .prepare_cached(&format!("SELECT count(*) FROM ({})", window(2, size)))?
            .query_row(params_from_iter(count_args.iter()), |r| r.get(0))?;
        if read < size {
            break (contacts, false);
        }
        // What this window found says what the largest one would: when
        // even that would hold too few, the search index answers at once.
        let projected = contacts.len() as i64 * bound / size;
        if size >= bound || projected <= i64::from(params.limit) {
            return Ok(None);
        }
        size = (size * 4).min(bound);
    };
    contacts.truncate(params.limit as usize);
    Ok(Some(Page {
        contacts,
        has_more,
        total: None,
    }))
}

/// The index SQLite makes for `contacts.id`, which is UNIQUE. Checking
/// candidates reads through it by name: left to itself, the planner walks
/// the sort index from the cursor instead, through every contact below it.
const ID_INDEX: &str = "sqlite_autoindex_contacts_1";

/// The (sort value, id) of those of `ids` that match `filter` (and follow
/// `after`), in the documented order: the exact check of the search
/// index's candidates against the database.
pub fn matching_keys(
    conn: &Connection,
    org: i64,
    filter: &ContactFilter,
    sort: SortBy,
    after: Option<&Cursor>,
    ids: &[String],
) -> AppResult<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let w = build_where(conn, org, filter)?;
    let col = sort.column();
    let mut args = w.params.clone();
    let marks: Vec<String> = ids
        .iter()
        .map(|id| {
            args.push(SqlValue::Text(id.clone()));
            format!("?{}", args.len())
        })
        .collect();
    let mut sql = format!(
        "SELECT c.{col}, c.id FROM contacts c INDEXED BY {ID_INDEX} WHERE {} AND c.id IN ({})",
        w.condition(),
        marks.join(", ")
    );
    if let Some(Cursor { ts, id }) = after {
        args.push(SqlValue::Integer(*ts));
        let a = args.len();
        args.push(SqlValue::Text(id.clone()));
        sql.push_str(&format!(" AND (c.{col}, c.id) < (?{a}, ?{})", args.len()));
    }
    sql.push_str(&format!(" ORDER BY c.{col} DESC, c.id DESC"));
    let rows = conn
        .prepare(&sql)?
        .query_map(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The count of `filter`'s matches when it costs little: kept counts, or a
/// plan driven by a selective index. None when it would walk the
/// organization.
pub fn cheap_count(conn: &Connection, org: i64, filter: &ContactFilter) -> AppResult<Option<i64>> {
    let only_tag = filter.tags.len() == 1
        && *filter
            == ContactFilter {
                tags: filter.tags.clone(),
                tags_logic: filter.tags_logic,
                ..ContactFilter::default()
            };
    if filter.is_empty() || only_tag {
        return count(conn, org, filter).map(Some);
    }
    let w = build_where(conn, org, filter)?;
    if w.drive == Drive::SortIndex {
        return Ok(None);
    }
    count_where(conn, &w).map(Some)
}

/// Counts the contacts a `Where` matches.
pub fn count_where(conn: &Connection, w: &Where) -> AppResult<i64> {
    let sql = format!(
        "SELECT count(*) FROM {} WHERE {}",
        w.source(),
        w.condition()
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(w.params.iter()), |r| r.get(0))?)
}

/// Counts the contacts matching `filter` (without `search`). The commonest
/// totals, everything and one tag alone, come from counts the write path
/// keeps, not from a scan.
pub fn count(conn: &Connection, org: i64, filter: &ContactFilter) -> AppResult<i64> {
    if filter.is_empty() {
        return contact_count(conn, org);
    }
    let only_tags = ContactFilter {
        tags: filter.tags.clone(),
        tags_logic: filter.tags_logic,
        ..ContactFilter::default()
    };
    if filter.tags.len() == 1 && *filter == only_tags {
        return tag_count(conn, org, &filter.tags[0]);
    }
    let w = build_where(conn, org, filter)?;
    count_where(conn, &w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::store::orgs;

    /// The plan SQLite makes for a page of the window `walked`, one line
    /// per step.
    fn page_plan(conn: &Connection, walked: &Walked, clause: &str) -> Vec<String> {
        let window = window_sql(Some(walked), SortBy::UpdatedAt, 2, 102, false);
        let sql = page_sql(&window, clause, "updated_at", 51);
        let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        plan.query_map([1], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Statistics taken while the not-textable index was empty (after an
    /// import, before its lookups answered) say that scanning it costs
    /// nothing; a page must still read each contact of its window by key,
    /// not scan that index once per key.
    #[test]
    fn a_page_reads_its_window_by_key_whatever_the_statistics_say() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let plan = db
            .write_blocking(|tx| {
                let org = orgs::get_or_create(tx, "stale statistics")?.org;
                tx.execute_batch(&format!(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
                     INSERT INTO contacts (key, id, org, phone, is_textable, created_at, updated_at)
                       SELECT i, printf('00000000-0000-7000-8000-%012d', i), {org},
                              printf('+1202555%04d', i), 1, i, i FROM n;
                     ANALYZE;
                     UPDATE contacts SET is_textable = 0 WHERE key % 3 = 0;
                     DELETE FROM sqlite_stat1 WHERE idx = 'contacts_org_not_textable';
                     INSERT INTO sqlite_stat1 VALUES ('contacts', 'contacts_org_not_textable', '0 0 0');
                     ANALYZE sqlite_schema;"
                ))?;
                assert_eq!(org, 1, "the plan below binds the organization as 1");
                let walked = Walked::Index {
                    name: "contacts_org_not_textable",
                    condition: "is_textable = 0",
                    value: None,
                };
                Ok(page_plan(tx, &walked, "c.org = ?1 AND c.is_textable = 0"))
            })
            .unwrap();
        let contact_steps: Vec<&String> = plan.iter().filter(|s| s.contains(" c ")).collect();
        assert!(
            !contact_steps.is_empty()
                && contact_steps
                    .iter()
                    .all(|s| s.contains("INTEGER PRIMARY KEY")),
            "each contact is read by its key: {plan:?}"
        );
    }
}
