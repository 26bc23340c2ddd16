//! Runs a parsed [`Select`] over one view's rows: WHERE, ORDER BY, LIMIT and the column list,
//! with MySQL's rules where an operator would notice them (NULL compares as unknown; numbers
//! compare as numbers; text compares and LIKE-matches without regard to ASCII case, as the
//! default collation does).

use std::cmp::Ordering;

use super::statement::{Expr, Op, Select};
use crate::protocol::error::MyError;

/// A view's rows, every value text or NULL.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    pub fn new(columns: &[&str], rows: Vec<Vec<Option<String>>>) -> Self {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        }
    }

    /// The position of `name` (any case); "" is the first column (SHOW ... LIKE).
    fn column(&self, name: &str, clause: &str) -> Result<usize, MyError> {
        if name.is_empty() && !self.columns.is_empty() {
            return Ok(0);
        }
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                MyError::new(
                    1054,
                    b"42S22",
                    format!("Unknown column '{name}' in '{clause}'"),
                )
            })
    }
}

pub fn run(s: &Select, table: Table) -> Result<Table, MyError> {
    let filter = match &s.filter {
        Some(e) => Some(bind(e, &table)?),
        None => None,
    };
    let order: Vec<(usize, bool)> = s
        .order
        .iter()
        .map(|(c, desc)| Ok((table.column(c, "order clause")?, *desc)))
        .collect::<Result<_, MyError>>()?;
    let project: Vec<usize> = match &s.columns {
        None => (0..table.columns.len()).collect(),
        Some(cols) => cols
            .iter()
            .map(|c| table.column(c, "field list"))
            .collect::<Result<_, _>>()?,
    };
    let mut rows: Vec<Vec<Option<String>>> = table
        .rows
        .into_iter()
        .filter(|r| filter.as_ref().is_none_or(|f| eval(f, r) == Some(true)))
        .collect();
    if !order.is_empty() {
        rows.sort_by(|a, b| {
            for &(i, desc) in &order {
                let o = compare_nullable(a[i].as_deref(), b[i].as_deref());
                let o = if desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    let rows = rows
        .into_iter()
        .skip(s.offset)
        .take(s.limit.unwrap_or(usize::MAX))
        .map(|r| project.iter().map(|&i| r[i].clone()).collect())
        .collect();
    Ok(Table {
        columns: project.iter().map(|&i| table.columns[i].clone()).collect(),
        rows,
    })
}

/// An expression with its column names resolved to positions.
enum Bound {
    And(Box<Bound>, Box<Bound>),
    Or(Box<Bound>, Box<Bound>),
    Not(Box<Bound>),
    Compare(usize, Op, Option<String>),
    Like(usize, String, bool),
    IsNull(usize, bool),
    In(usize, Vec<Option<String>>, bool),
}

fn bind(e: &Expr, t: &Table) -> Result<Bound, MyError> {
    let col = |c: &str| t.column(c, "where clause");
    Ok(match e {
        Expr::And(a, b) => Bound::And(Box::new(bind(a, t)?), Box::new(bind(b, t)?)),
        Expr::Or(a, b) => Bound::Or(Box::new(bind(a, t)?), Box::new(bind(b, t)?)),
        Expr::Not(a) => Bound::Not(Box::new(bind(a, t)?)),
        Expr::Compare { column, op, value } => Bound::Compare(col(column)?, *op, value.clone()),
        Expr::Like {
            column,
            pattern,
            negated,
        } => Bound::Like(col(column)?, pattern.clone(), *negated),
        Expr::IsNull { column, negated } => Bound::IsNull(col(column)?, *negated),
        Expr::In {
            column,
            values,
            negated,
        } => Bound::In(col(column)?, values.clone(), *negated),
    })
}

/// SQL's three-valued logic: None is unknown (a NULL took part).
fn eval(e: &Bound, row: &[Option<String>]) -> Option<bool> {
    match e {
        Bound::And(a, b) => match (eval(a, row), eval(b, row)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Bound::Or(a, b) => match (eval(a, row), eval(b, row)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Bound::Not(a) => eval(a, row).map(|v| !v),
        Bound::Compare(i, op, value) => {
            let o = compare(row[*i].as_deref()?, value.as_deref()?);
            Some(match op {
                Op::Eq => o == Ordering::Equal,
                Op::Ne => o != Ordering::Equal,
                Op::Lt => o == Ordering::Less,
                Op::Le => o != Ordering::Greater,
                Op::Gt => o == Ordering::Greater,
                Op::Ge => o != Ordering::Less,
            })
        }
        Bound::Like(i, pattern, negated) => {
            Some(like(row[*i].as_deref()?.as_bytes(), pattern.as_bytes()) != *negated)
        }
        Bound::IsNull(i, negated) => Some(row[*i].is_none() != *negated),
        Bound::In(i, values, negated) => {
            let v = row[*i].as_deref()?;
            let mut unknown = false;
            for x in values {
                match x {
                    Some(x) if compare(v, x) == Ordering::Equal => return Some(!negated),
                    Some(_) => {}
                    None => unknown = true,
                }
            }
            if unknown {
                None
            } else {
                Some(*negated)
            }
        }
    }
}

/// Numbers as numbers, anything else as text without regard to ASCII case.
fn compare(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase())),
    }
}

/// ORDER BY puts NULL first, as MySQL does ascending.
fn compare_nullable(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some(a), Some(b)) => compare(a, b),
    }
}

/// LIKE: `%` any run, `_` one character, `\` escapes the next; ASCII case ignored.
pub fn like(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0, 0);
    // Where the last `%` was, and the text position it has consumed up to.
    let mut back: Option<(usize, usize)> = None;
    while si < s.len() {
        let step = match p.get(pi) {
            Some(b'%') => {
                back = Some((pi, si));
                pi += 1;
                continue;
            }
            Some(b'\\') if pi + 1 < p.len() => {
                (s[si].eq_ignore_ascii_case(&p[pi + 1])).then_some(2)
            }
            Some(b'_') => Some(utf8_len(s[si]).min(s.len() - si)).map(|n| {
                si += n - 1;
                1
            }),
            Some(c) => s[si].eq_ignore_ascii_case(c).then_some(1),
            None => None,
        };
        match step {
            Some(n) => {
                pi += n;
                si += 1;
            }
            None => match back {
                Some((bp, bs)) => {
                    pi = bp + 1;
                    si = bs + 1;
                    back = Some((bp, bs + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'%')
}

/// Bytes of the UTF-8 character starting with `b` (`_` matches a character, not a byte).
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::super::statement::{parse, Statement};
    use super::*;

    fn backends() -> Table {
        let r = |a: &str, role: &str, state: &str, lag: Option<&str>| {
            vec![
                Some(a.to_string()),
                Some(role.to_string()),
                Some(state.to_string()),
                lag.map(str::to_string),
            ]
        };
        Table::new(
            &["address", "role", "state", "lag_seconds"],
            vec![
                r("10.0.0.1:3306", "master", "up", None),
                r("10.0.0.2:3306", "replica", "lagging", Some("12")),
                r("10.0.1.3:3306", "replica", "up", Some("2")),
                r("10.0.0.4:3306", "replica", "down", None),
            ],
        )
    }

    fn query(sql: &str) -> Result<Table, MyError> {
        match parse(sql) {
            Ok(Statement::Select(s)) => run(&s, backends()),
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn first_column(t: &Table) -> Vec<String> {
        t.rows.iter().map(|r| r[0].clone().unwrap()).collect()
    }

    #[test]
    fn where_order_limit_and_columns() {
        let t = query("SELECT address FROM backends WHERE state <> 'UP' ORDER BY address").unwrap();
        assert_eq!(t.columns, vec!["address"]);
        assert_eq!(first_column(&t), vec!["10.0.0.2:3306", "10.0.0.4:3306"]);
        // Numbers compare as numbers (12 > 9 although "12" < "9"); NULL matches nothing.
        let t = query("SELECT * FROM backends WHERE lag_seconds > 9").unwrap();
        assert_eq!(first_column(&t), vec!["10.0.0.2:3306"]);
        let t = query("SELECT * FROM backends WHERE NOT lag_seconds > 9").unwrap();
        assert_eq!(first_column(&t), vec!["10.0.1.3:3306"]);
        let t = query("SELECT * FROM backends WHERE lag_seconds IS NULL OR role = 'master' ORDER BY lag_seconds DESC, address LIMIT 1 OFFSET 1").unwrap();
        assert_eq!(first_column(&t), vec!["10.0.0.4:3306"]);
        let t = query("SELECT role, address FROM backends WHERE role IN ('replica') AND state NOT IN ('down', 'lagging')").unwrap();
        assert_eq!(t.columns, vec!["role", "address"]);
        assert_eq!(
            t.rows,
            vec![vec![Some("replica".into()), Some("10.0.1.3:3306".into())]]
        );
        let t = query("SHOW BACKENDS LIKE '10.0.0.%'").unwrap();
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.columns.len(), 4);
    }

    #[test]
    fn unknown_columns_are_errors_like_the_servers() {
        let e = query("SELECT nope FROM backends").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (1054, "Unknown column 'nope' in 'field list'")
        );
        let e = query("SELECT * FROM backends WHERE x = 1").unwrap_err();
        assert_eq!(e.message, "Unknown column 'x' in 'where clause'");
    }

    #[test]
    fn like_patterns() {
        assert!(like(b"10.0.0.1:3306", b"10.0.%"));
        assert!(like(b"Replica", b"rep%"));
        assert!(like(b"abc", b"a_c"));
        assert!(like(b"a\xc3\xa9c", b"a_c"), "_ is one character");
        assert!(!like(b"abc", b"a_"));
        assert!(like(b"50%", b"50\\%"));
        assert!(!like(b"500", b"50\\%"));
        assert!(like(b"aXbXc", b"%b%c"));
        assert!(like(b"", b"%"));
        assert!(!like(b"abd", b"%c%"));
    }
}
