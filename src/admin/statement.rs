//! The admin interface's SQL, parsed into a [`Statement`] before anything acts on it: the
//! commands (RELOAD, SET BACKEND), the views as tables (`SELECT ... FROM backends WHERE ...
//! ORDER BY ... LIMIT ...`, `SHOW BACKENDS LIKE '10.0.%'`), and the statements drivers and GUI
//! tools send right after connecting (`SET NAMES`, `SELECT @@version_comment LIMIT 1`, `SHOW
//! VARIABLES LIKE ...`), which the admin, being its own server, answers itself.
//!
//! Tokens come from the classifier's lexer, so comments, quoting and a trailing `;` are read as
//! a server reads them.

use crate::classify::{tokens, Token};

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Reload,
    SetBackend {
        address: String,
        offline: bool,
    },
    /// Any other SET: session settings the admin has none of (NAMES, autocommit, ...).
    SetSession,
    /// USE db: the admin has no databases to switch between.
    Use,
    /// `SHOW [GLOBAL|SESSION] VARIABLES [LIKE 'pattern']`.
    ShowVariables {
        like: Option<String>,
    },
    /// `SHOW WARNINGS` / `SHOW ERRORS`: the admin leaves none.
    ShowWarnings,
    /// `SELECT` of values only (system variables, functions, literals), no FROM.
    SelectValues(Vec<(Value, String)>),
    /// A view queried as a table. `SHOW <view> [LIKE ...]` becomes one of these too.
    Select(Select),
}

/// One value of a FROM-less SELECT, with the column name it is shown under.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `@@[session.|global.]name`.
    Variable(String),
    /// `DATABASE()`, `VERSION()`, `USER()`, `CONNECTION_ID()`, ...
    Function(String),
    Literal(Option<String>),
    /// A bare name: a column of the view after FROM (without FROM, an unknown column).
    Column(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    pub view: String,
    /// None: `*`.
    pub columns: Option<Vec<String>>,
    pub filter: Option<Expr>,
    pub order: Vec<(String, bool)>,
    pub limit: Option<usize>,
    pub offset: usize,
}

/// A WHERE condition over one row of a view.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        column: String,
        op: Op,
        value: Option<String>,
    },
    Like {
        column: String,
        pattern: String,
        negated: bool,
    },
    IsNull {
        column: String,
        negated: bool,
    },
    In {
        column: String,
        values: Vec<Option<String>>,
        negated: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why a statement cannot be parsed: the text near where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

/// The views, by the names SHOW uses for them.
pub const VIEWS: &[&str] = &[
    "backends", "sessions", "digests", "rules", "clusters", "config",
];

pub fn parse(sql: &str) -> Result<Statement, SyntaxError> {
    // SET BACKEND takes an address whose dots and colon the SQL lexer would split up.
    let words: Vec<&str> = sql
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect();
    if words.len() == 4
        && words[0].eq_ignore_ascii_case("SET")
        && words[1].eq_ignore_ascii_case("BACKEND")
    {
        let offline = match words[3].to_ascii_uppercase().as_str() {
            "OFFLINE" => true,
            "ONLINE" => false,
            _ => return Err(SyntaxError(words[3].to_string())),
        };
        let address = words[2].trim_matches(|c| c == '\'' || c == '"' || c == '`');
        return Ok(Statement::SetBackend {
            address: address.to_string(),
            offline,
        });
    }
    let toks = tokens(sql.as_bytes())
        .ok_or_else(|| SyntaxError("unterminated quote or comment".into()))?;
    let mut p = Parser { t: toks, i: 0 };
    while p.t.last() == Some(&Token::Punct(b';')) {
        p.t.pop();
    }
    let st = p.statement()?;
    if p.i < p.t.len() {
        return Err(p.error());
    }
    Ok(st)
}

struct Parser {
    t: Vec<Token>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.t.get(self.i)
    }

    fn error(&self) -> SyntaxError {
        let near: Vec<String> = self.t[self.i.min(self.t.len())..]
            .iter()
            .take(4)
            .map(show)
            .collect();
        SyntaxError(near.join(" "))
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.is_kw(kw);
        self.i += yes as usize;
        yes
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SyntaxError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn eat_punct(&mut self, p: u8) -> bool {
        let yes = self.peek() == Some(&Token::Punct(p));
        self.i += yes as usize;
        yes
    }

    /// An identifier: a word or a backtick-quoted name, lower-cased (view and column names).
    fn name(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(Token::Word(w)) | Some(Token::Ident(w)) => {
                let w = w.to_ascii_lowercase();
                self.i += 1;
                Ok(w)
            }
            _ => Err(self.error()),
        }
    }

    /// A literal: a string, a (possibly negative) number, or NULL.
    fn literal(&mut self) -> Result<Option<String>, SyntaxError> {
        let negative = self.eat_punct(b'-');
        let v = match self.peek() {
            Some(Token::Str(s)) if !negative => Some(s.clone()),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("NULL") && !negative => None,
            Some(Token::Word(w)) if w.bytes().next().is_some_and(|b| b.is_ascii_digit()) => {
                let mut n = if negative { format!("-{w}") } else { w.clone() };
                // A decimal: the lexer reads `1.5` as 1 . 5.
                if self.t.get(self.i + 1) == Some(&Token::Punct(b'.')) {
                    if let Some(Token::Word(frac)) = self.t.get(self.i + 2) {
                        n = format!("{n}.{frac}");
                        self.i += 2;
                    }
                }
                Some(n)
            }
            _ => return Err(self.error()),
        };
        self.i += 1;
        Ok(v)
    }

    fn number(&mut self) -> Result<usize, SyntaxError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let n = w.parse().map_err(|_| self.error())?;
                self.i += 1;
                Ok(n)
            }
            _ => Err(self.error()),
        }
    }

    fn statement(&mut self) -> Result<Statement, SyntaxError> {
        if self.eat_kw("RELOAD") {
            return Ok(Statement::Reload);
        }
        // Whatever follows SET or USE: the admin keeps no session settings and no databases.
        if self.eat_kw("SET") {
            self.i = self.t.len();
            return Ok(Statement::SetSession);
        }
        if self.eat_kw("USE") {
            self.i = self.t.len();
            return Ok(Statement::Use);
        }
        if self.eat_kw("SHOW") {
            return self.show();
        }
        if self.eat_kw("SELECT") {
            return self.select();
        }
        Err(self.error())
    }

    fn show(&mut self) -> Result<Statement, SyntaxError> {
        let _ = self.eat_kw("FULL");
        let _ = self.eat_kw("GLOBAL") || self.eat_kw("SESSION");
        if self.eat_kw("VARIABLES") {
            let like = self.like_clause()?;
            return Ok(Statement::ShowVariables { like });
        }
        if self.eat_kw("WARNINGS") || self.eat_kw("ERRORS") {
            return Ok(Statement::ShowWarnings);
        }
        let mut view = self.name()?;
        if view == "processlist" {
            view = "sessions".into();
        }
        if !VIEWS.contains(&view.as_str()) {
            self.i -= 1;
            return Err(self.error());
        }
        let mut s = Select {
            view,
            ..Select::default()
        };
        if self.eat_kw("WHERE") {
            s.filter = Some(self.or_expr()?);
        } else if let Some(pattern) = self.like_clause()? {
            // SHOW ... LIKE matches the first column, as SHOW TABLES LIKE does.
            s.filter = Some(Expr::Like {
                column: String::new(),
                pattern,
                negated: false,
            });
        }
        Ok(Statement::Select(s))
    }

    fn like_clause(&mut self) -> Result<Option<String>, SyntaxError> {
        if !self.eat_kw("LIKE") {
            return Ok(None);
        }
        match self.peek() {
            Some(Token::Str(s)) => {
                let s = s.clone();
                self.i += 1;
                Ok(Some(s))
            }
            _ => Err(self.error()),
        }
    }

    fn select(&mut self) -> Result<Statement, SyntaxError> {
        // The select list: `*`, columns of a view, or values.
        let mut items: Vec<(Value, String, Option<String>)> = Vec::new();
        let mut star = false;
        loop {
            if self.eat_punct(b'*') {
                star = true;
            } else {
                let start = self.i;
                let value = self.value()?;
                let text: Vec<String> = self.t[start..self.i].iter().map(show).collect();
                let explicit = self.eat_kw("AS");
                let alias = if explicit
                    || matches!(self.peek(), Some(Token::Ident(_)) | Some(Token::Str(_)))
                {
                    Some(self.alias()?)
                } else {
                    None
                };
                items.push((value, text.concat(), alias));
            }
            if !self.eat_punct(b',') {
                break;
            }
        }
        if !self.eat_kw("FROM") {
            if star {
                return Err(self.error());
            }
            self.limit_clause()?;
            return Ok(Statement::SelectValues(
                items
                    .into_iter()
                    .map(|(v, text, alias)| (v, alias.unwrap_or(text)))
                    .collect(),
            ));
        }
        let _ = self.eat_kw("admin") && self.eat_punct(b'.');
        let view = self.name()?;
        let view = if view == "processlist" {
            "sessions".to_string()
        } else {
            view
        };
        let columns = if star {
            None
        } else {
            let mut cols = Vec::new();
            for (v, _, _) in items {
                // Columns of a view are bare names; anything else is not a column.
                match v {
                    Value::Function(_) | Value::Variable(_) | Value::Literal(_) => {
                        return Err(SyntaxError(
                            "only column names and * can be selected from a view".into(),
                        ))
                    }
                    Value::Column(c) => cols.push(c),
                }
            }
            Some(cols)
        };
        let mut s = Select {
            view,
            columns,
            ..Select::default()
        };
        if self.eat_kw("WHERE") {
            s.filter = Some(self.or_expr()?);
        }
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let col = self.name()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    let _ = self.eat_kw("ASC");
                    false
                };
                s.order.push((col, desc));
                if !self.eat_punct(b',') {
                    break;
                }
            }
        }
        if let Some((limit, offset)) = self.limit_clause()? {
            s.limit = Some(limit);
            s.offset = offset;
        }
        Ok(Statement::Select(s))
    }

    fn alias(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(Token::Word(w)) | Some(Token::Ident(w)) | Some(Token::Str(w)) => {
                let w = w.clone();
                self.i += 1;
                Ok(w)
            }
            _ => Err(self.error()),
        }
    }

    /// `LIMIT n`, `LIMIT n OFFSET m`, `LIMIT m, n`.
    fn limit_clause(&mut self) -> Result<Option<(usize, usize)>, SyntaxError> {
        if !self.eat_kw("LIMIT") {
            return Ok(None);
        }
        let first = self.number()?;
        if self.eat_punct(b',') {
            let count = self.number()?;
            return Ok(Some((count, first)));
        }
        if self.eat_kw("OFFSET") {
            let offset = self.number()?;
            return Ok(Some((first, offset)));
        }
        Ok(Some((first, 0)))
    }

    /// One item of a select list.
    fn value(&mut self) -> Result<Value, SyntaxError> {
        if self.eat_punct(b'@') || self.peek() == Some(&Token::AtAt) {
            if self.peek() == Some(&Token::AtAt) {
                self.i += 1;
            }
            let mut name = self.name()?;
            if (name == "session" || name == "global" || name == "local") && self.eat_punct(b'.') {
                name = self.name()?;
            }
            return Ok(Value::Variable(name));
        }
        match self.peek() {
            Some(Token::Str(_)) | Some(Token::Punct(b'-')) => Ok(Value::Literal(self.literal()?)),
            Some(Token::Word(w)) if w.bytes().next().is_some_and(|b| b.is_ascii_digit()) => {
                Ok(Value::Literal(self.literal()?))
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("NULL") => {
                Ok(Value::Literal(self.literal()?))
            }
            Some(Token::Word(_)) | Some(Token::Ident(_)) => {
                let name = self.name()?;
                if self.eat_punct(b'(') {
                    if !self.eat_punct(b')') {
                        return Err(self.error());
                    }
                    Ok(Value::Function(name))
                } else {
                    Ok(Value::Column(name))
                }
            }
            _ => Err(self.error()),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, SyntaxError> {
        let mut e = self.and_expr()?;
        while self.eat_kw("OR") || self.eat_punct_pair(b'|', b'|') {
            e = Expr::Or(Box::new(e), Box::new(self.and_expr()?));
        }
        Ok(e)
    }

    fn and_expr(&mut self) -> Result<Expr, SyntaxError> {
        let mut e = self.not_expr()?;
        while self.eat_kw("AND") || self.eat_punct_pair(b'&', b'&') {
            e = Expr::And(Box::new(e), Box::new(self.not_expr()?));
        }
        Ok(e)
    }

    fn eat_punct_pair(&mut self, a: u8, b: u8) -> bool {
        if self.peek() == Some(&Token::Punct(a)) && self.t.get(self.i + 1) == Some(&Token::Punct(b))
        {
            self.i += 2;
            return true;
        }
        false
    }

    fn not_expr(&mut self) -> Result<Expr, SyntaxError> {
        if self.eat_kw("NOT") || self.eat_punct(b'!') {
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        if self.eat_punct(b'(') {
            let e = self.or_expr()?;
            if !self.eat_punct(b')') {
                return Err(self.error());
            }
            return Ok(e);
        }
        let column = self.name()?;
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            self.expect_kw("NULL")?;
            return Ok(Expr::IsNull { column, negated });
        }
        let negated = self.eat_kw("NOT");
        if self.eat_kw("LIKE") {
            let pattern = match self.literal()? {
                Some(p) => p,
                None => return Err(self.error()),
            };
            return Ok(Expr::Like {
                column,
                pattern,
                negated,
            });
        }
        if self.eat_kw("IN") {
            if !self.eat_punct(b'(') {
                return Err(self.error());
            }
            let mut values = vec![self.literal()?];
            while self.eat_punct(b',') {
                values.push(self.literal()?);
            }
            if !self.eat_punct(b')') {
                return Err(self.error());
            }
            return Ok(Expr::In {
                column,
                values,
                negated,
            });
        }
        if negated {
            return Err(self.error());
        }
        let op = if self.eat_punct_pair(b'<', b'>') || self.eat_punct_pair(b'!', b'=') {
            Op::Ne
        } else if self.eat_punct_pair(b'<', b'=') {
            Op::Le
        } else if self.eat_punct_pair(b'>', b'=') {
            Op::Ge
        } else if self.eat_punct(b'=') {
            Op::Eq
        } else if self.eat_punct(b'<') {
            Op::Lt
        } else if self.eat_punct(b'>') {
            Op::Gt
        } else {
            return Err(self.error());
        };
        let value = self.literal()?;
        Ok(Expr::Compare { column, op, value })
    }
}

/// A token as text, for error messages and default column names.
fn show(t: &Token) -> String {
    match t {
        Token::Word(w) => w.clone(),
        Token::Ident(w) => format!("`{w}`"),
        Token::Str(s) => format!("'{s}'"),
        Token::AtAt => "@@".into(),
        Token::At => "@".into(),
        Token::Punct(p) => (*p as char).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(sql: &str) -> Select {
        match parse(sql) {
            Ok(Statement::Select(s)) => s,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn commands_and_connect_time_statements() {
        assert_eq!(parse("RELOAD;"), Ok(Statement::Reload));
        assert_eq!(
            parse("set backend 10.0.0.2:3306 offline"),
            Ok(Statement::SetBackend {
                address: "10.0.0.2:3306".into(),
                offline: true
            })
        );
        for s in [
            "SET NAMES utf8mb4",
            "SET autocommit=1",
            "SET character_set_results = NULL",
            "set session sql_mode='ANSI'",
        ] {
            assert_eq!(parse(s), Ok(Statement::SetSession), "{s}");
        }
        assert_eq!(parse("USE admin"), Ok(Statement::Use));
        assert_eq!(
            parse("SELECT @@version_comment LIMIT 1"),
            Ok(Statement::SelectValues(vec![(
                Value::Variable("version_comment".into()),
                "@@version_comment".into()
            )]))
        );
        assert_eq!(
            parse(
                "SELECT @@session.auto_increment_increment AS auto_increment_increment, DATABASE()"
            ),
            Ok(Statement::SelectValues(vec![
                (
                    Value::Variable("auto_increment_increment".into()),
                    "auto_increment_increment".into()
                ),
                (Value::Function("database".into()), "DATABASE()".into()),
            ]))
        );
        assert_eq!(
            parse("SHOW VARIABLES LIKE 'lower_case_%'"),
            Ok(Statement::ShowVariables {
                like: Some("lower_case_%".into())
            })
        );
        assert_eq!(parse("SHOW WARNINGS"), Ok(Statement::ShowWarnings));
    }

    #[test]
    fn views_as_tables() {
        let s = sel("/* tool */ SELECT address, state FROM backends WHERE state <> 'up' AND (lag_seconds > 1.5 OR lag_seconds IS NULL) ORDER BY address DESC LIMIT 5, 10;");
        assert_eq!(s.view, "backends");
        assert_eq!(
            s.columns,
            Some(vec!["address".to_string(), "state".to_string()])
        );
        assert_eq!(s.order, vec![("address".to_string(), true)]);
        assert_eq!((s.limit, s.offset), (Some(10), 5));
        let Some(Expr::And(a, b)) = s.filter else {
            panic!()
        };
        assert_eq!(
            *a,
            Expr::Compare {
                column: "state".into(),
                op: Op::Ne,
                value: Some("up".into())
            }
        );
        assert!(matches!(*b, Expr::Or(..)));
        let s = sel("show backends like '10.0.%'");
        assert!(matches!(s.filter, Some(Expr::Like { ref pattern, .. }) if pattern == "10.0.%"));
        assert_eq!(sel("SHOW PROCESSLIST").view, "sessions");
        assert_eq!(sel("select * from `digests` limit 3 offset 1").offset, 1);
        let s = sel("SELECT * FROM sessions WHERE user NOT IN ('app', 'web') AND id >= 3");
        assert!(matches!(s.filter, Some(Expr::And(..))));
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(
            parse("SELECT * FROM backends WHERE"),
            Err(SyntaxError(String::new()))
        );
        assert_eq!(parse("SHOW BOGUS"), Err(SyntaxError("BOGUS".into())));
        assert!(parse("SELECT 'unterminated").is_err());
        assert!(parse("DROP TABLE backends").is_err());
        assert!(parse("SELECT address FROM backends ORDER address").is_err());
        assert!(parse("SELECT DATABASE() FROM backends").is_err());
    }
}
