//! Statements that write or read many rows at once: a batch of heartbeats updates thousands of
//! rows with a handful of statements ([`super::batch`]).
//!
//! ```text
//! items --statements()--> slices, one per statement
//!   rows(): the slice's rows, to INSERT or to read FROM (...) AS v    bind_rows(): their cells
//!   in_list(): the slice's ids, for WHERE id IN (...)                  bind_list(): the ids
//! SQLite:     VALUES (CAST(? AS BIGINT), ...), ...  a parameter per cell, powers of two per statement
//! PostgreSQL: SELECT CAST(e->>0 AS BIGINT) AS column1, ... FROM json_array_elements(CAST($1 AS json)) AS e
//!             one parameter, the rows as a JSON array of arrays: one text per statement
//! ```
//!
//! Why the two shapes: a statement's text is prepared once per connection and cached by it (sqlx
//! keeps 100 per connection). On SQLite a prepared statement is bytecode in our process, so the
//! texts are few (powers of two) and each is cheap to run. On PostgreSQL a text with a row count
//! in it was parsed and planned again for almost every batch (the counts vary), and a plan for
//! 1,000 rows of 11 parameters took as long as the update it planned. With the rows in one JSON
//! parameter every statement has one text, parsed once per connection, with a generic plan.

use serde::Serialize;
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;

use super::{to_json, Backend, Tx};
use crate::error::Result;

/// A statement on sqlx's `Any` driver with its parameters bound so far.
pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// Rows one PostgreSQL statement holds at most (its one parameter then stays a few MB).
const MAX_POSTGRES_ROWS: usize = 10_000;

/// `items` cut into the row lists of successive statements of many rows.
///
/// On SQLite each is a power of two long, largest first, at most 128: 300 rows are
/// 128 + 128 + 32 + 8 + 4. A statement's text depends on its number of rows, and sqlx keeps
/// each text's prepared statement in its connection's cache (100 per connection): with any
/// count possible, the cache filled with SQLite bytecode for hundreds of rows (~180 MiB of a
/// 3,000-agent server's peak heap), and preparing each statement anew instead cost more CPU
/// than the writes (p99 0.7 -> 6.6 s at 10,000 agents). Powers of two make at most eight texts
/// per statement, each prepared once, the largest a few hundred KB of bytecode.
///
/// On PostgreSQL the text does not depend on the count ([`rows`]): as few statements as can be,
/// [`MAX_POSTGRES_ROWS`] rows each.
pub(crate) fn statements<T>(backend: Backend, items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        let n = match backend {
            Backend::Sqlite => 128.min(1 << rest.len().checked_ilog2()?),
            Backend::Postgres => rest.len().min(MAX_POSTGRES_ROWS),
        };
        (n > 0).then(|| {
            let (head, tail) = rest.split_at(n);
            rest = tail;
            head
        })
    })
}

/// `n` rows whose columns have the SQL `types`, as the statement's only parameters: after
/// `INSERT INTO t (...)`, or as a table, `FROM ({rows}) AS v`, whose columns are `column1`,
/// `column2`... on both databases. Bind them with [`bind_rows`].
///
/// On SQLite a `VALUES` list of `?` (SQLite finds a numbered parameter by walking the
/// statement's list of names, when it parses the statement and again when each is bound: a
/// statement of 14,000 `$k` took 0.7 s where 14,000 `?` take 16 ms), each cast to its type.
/// Written into one string: a heartbeat batch's statements have thousands of cells, and a
/// string per cell made this ~7% of the server's CPU (perf, 10,000 agents). On PostgreSQL the
/// elements of one JSON parameter, each cast to its type; `n` does not matter.
pub(crate) fn rows(backend: Backend, n: usize, types: &[&str]) -> String {
    match backend {
        Backend::Sqlite => {
            let cell_len: usize = types.iter().map(|ty| ty.len() + 12).sum();
            let mut sql = String::with_capacity(7 + n * (cell_len + 4));
            sql.push_str("VALUES ");
            for r in 0..n {
                sql.push_str(if r == 0 { "(" } else { ", (" });
                for (c, ty) in types.iter().enumerate() {
                    sql.push_str(if c == 0 { "CAST(? AS " } else { ", CAST(? AS " });
                    sql.push_str(ty);
                    sql.push(')');
                }
                sql.push(')');
            }
            sql
        }
        Backend::Postgres => {
            let columns: Vec<String> = types.iter().enumerate().map(|(c, ty)| format!("CAST(e->>{c} AS {ty}) AS column{}", c + 1)).collect();
            format!("SELECT {} FROM json_array_elements(CAST($1 AS json)) AS e", columns.join(", "))
        }
    }
}

/// A test that a column is one of `n` values of the SQL type `ty`, as the statement's only
/// parameters: `WHERE agent_id {in_list}`; bind them with [`bind_list`]. SQLite: `IN (?, ?, ?)`;
/// PostgreSQL: `= ANY(ARRAY(...))` of the elements of one JSON parameter. The array is built
/// once and probed through the column's index; `IN (SELECT ...)` of the same elements was
/// planned as a hash join over the whole table (1.5 ms per token lookup among 10,000 agents).
pub(crate) fn in_list(backend: Backend, n: usize, ty: &str) -> String {
    match backend {
        Backend::Sqlite => {
            let mut sql = String::with_capacity(5 + n * 3);
            sql.push_str("IN (");
            for k in 0..n {
                sql.push_str(if k == 0 { "?" } else { ", ?" });
            }
            sql.push(')');
            sql
        }
        Backend::Postgres => format!("= ANY(ARRAY(SELECT CAST(value AS {ty}) FROM json_array_elements_text(CAST($1 AS json))))"),
    }
}

/// A row of a multi-row statement ([`rows`]): a tuple of its cells in column order (`i64`,
/// `&str`, `Option<f64>`...), bound one by one on SQLite, serialized (a JSON array) on
/// PostgreSQL.
pub(crate) trait Row<'q>: Serialize {
    /// `query` with this row's cells bound after its parameters so far.
    fn bind(self, query: AnyQuery<'q>) -> AnyQuery<'q>;
}

macro_rules! row_tuples {
    ($(($($cell:ident $i:tt),+))+) => {$(
        impl<'q, $($cell: Serialize + sqlx::Encode<'q, Any> + sqlx::Type<Any> + 'q),+> Row<'q> for ($($cell,)+) {
            fn bind(self, query: AnyQuery<'q>) -> AnyQuery<'q> {
                query$(.bind(self.$i))+
            }
        }
    )+};
}

row_tuples! {
    (A 0, B 1)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15)
}

/// `query` with `rows` bound as [`rows`] wrote them for `backend`.
pub(crate) fn bind_rows<'q, R: Row<'q>>(backend: Backend, query: AnyQuery<'q>, rows: Vec<R>) -> Result<AnyQuery<'q>> {
    Ok(match backend {
        Backend::Sqlite => rows.into_iter().fold(query, |query, row| row.bind(query)),
        Backend::Postgres => query.bind(to_json(&rows)?),
    })
}

/// `query` with `items` bound as [`in_list`] wrote them for `backend`.
pub(crate) fn bind_list<'q, T>(backend: Backend, query: AnyQuery<'q>, items: Vec<T>) -> Result<AnyQuery<'q>>
where
    T: Serialize + sqlx::Encode<'q, Any> + sqlx::Type<Any> + 'q,
{
    Ok(match backend {
        Backend::Sqlite => items.into_iter().fold(query, |query, item| query.bind(item)),
        Backend::Postgres => query.bind(to_json(&items)?),
    })
}

/// Runs the statement `sql` makes of a test that a column is one of `ids` ([`in_list`]) for `ids` (each
/// once, in order, [`statements`] of them), in `tx`: the rows of every statement.
pub(crate) async fn fetch_in(backend: Backend, tx: &mut Tx, ids: impl IntoIterator<Item = i64>, sql: impl Fn(&str) -> String) -> Result<Vec<AnyRow>> {
    let ids: Vec<i64> = ids.into_iter().collect::<std::collections::BTreeSet<i64>>().into_iter().collect();
    let mut rows = Vec::new();
    for chunk in statements(backend, &ids) {
        let sql = sql(&in_list(backend, chunk.len(), "BIGINT"));
        rows.extend(bind_list(backend, sqlx::query(&sql), chunk.to_vec())?.fetch_all(&mut **tx).await?);
    }
    Ok(rows)
}

/// Deletes the rows of `table` (a table with an `agent_id` column) of `agents` ([`fetch_in`]).
pub(crate) async fn delete_for_agents(backend: Backend, tx: &mut Tx, table: &str, agents: impl IntoIterator<Item = i64>) -> Result<()> {
    fetch_in(backend, tx, agents, |one_of| format!("DELETE FROM {table} WHERE agent_id {one_of}")).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{in_list, rows, statements};
    use crate::store::Backend;

    #[test]
    fn statements_hold_powers_of_two_rows_on_sqlite_and_ten_thousand_on_postgresql() {
        let lengths = |backend, n: usize| statements(backend, &vec![0u8; n]).map(<[u8]>::len).collect::<Vec<_>>();
        assert_eq!(lengths(Backend::Sqlite, 300), vec![128, 128, 32, 8, 4]);
        assert_eq!(lengths(Backend::Sqlite, 1), vec![1]);
        assert_eq!(lengths(Backend::Sqlite, 259), vec![128, 128, 2, 1]);
        assert_eq!(lengths(Backend::Postgres, 23_000), vec![10_000, 10_000, 3_000]);
        assert_eq!(lengths(Backend::Postgres, 300), vec![300]);
        assert!(lengths(Backend::Sqlite, 0).is_empty() && lengths(Backend::Postgres, 0).is_empty());
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(statements(Backend::Sqlite, &items).flatten().copied().collect::<Vec<_>>(), items, "every item once, in order");
    }

    #[test]
    fn sqlite_gets_a_parameter_per_cell_and_postgresql_one_text_for_any_count() {
        assert_eq!(rows(Backend::Sqlite, 2, &["BIGINT", "TEXT"]), "VALUES (CAST(? AS BIGINT), CAST(? AS TEXT)), (CAST(? AS BIGINT), CAST(? AS TEXT))");
        let postgres = "SELECT CAST(e->>0 AS BIGINT) AS column1, CAST(e->>1 AS TEXT) AS column2 FROM json_array_elements(CAST($1 AS json)) AS e";
        assert_eq!(rows(Backend::Postgres, 2, &["BIGINT", "TEXT"]), postgres);
        assert_eq!(rows(Backend::Postgres, 700, &["BIGINT", "TEXT"]), postgres);
        assert_eq!(in_list(Backend::Sqlite, 2, "BIGINT"), "IN (?, ?)");
        let postgres = "= ANY(ARRAY(SELECT CAST(value AS TEXT) FROM json_array_elements_text(CAST($1 AS json))))";
        assert_eq!(in_list(Backend::Postgres, 3, "TEXT"), postgres);
    }
}
