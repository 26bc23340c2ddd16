//! The statement stream: the lexer's tokens one statement at a time (a top-level `;` ends one;
//! stored-program bodies do not), with what the whole text says along the way (mentions of
//! named tables, user variables, the digest keys, the databases named).

use super::*;

/// Yields the tokens of one statement at a time; a top-level `;` reads as `Eof`.
/// Inside stored-program bodies (`CREATE PROCEDURE ... BEGIN ...; ...; END`,
/// `BEGIN NOT ATOMIC ... END`) the `;` between BEGIN and END does not split.
/// A `;` inside parentheses is always a syntax error in MySQL, so parentheses
/// are not tracked here: splitting there can only make a statement look like
/// more statements, which is never less conservative.
pub(super) struct Stream<'a> {
    pub(super) lex: Lexer<'a>,
    pub(super) seg_start: usize,
    pub(super) seg_end: usize,
    pub(super) done: bool,
    pub(super) ended_by_semicolon: bool,
    /// Track BEGIN/CASE ... END nesting (stored programs only).
    pub(super) compound: bool,
    pub(super) block: u32,
    /// Index of the current statement and the one in which the lexer first saw
    /// an unterminated construct.
    pub(super) index: usize,
    pub(super) broken_at: Option<usize>,
    /// Names to look for as identifiers (the session's temporary tables).
    pub(super) names: &'a [String],
    /// Saw one of `names`.
    pub(super) mentions: bool,
    /// Saw a user variable (`@x`).
    pub(super) user_var: bool,
    /// Saw a name that shows the session's tracking settings: `VARIABLES` (SHOW VARIABLES,
    /// information_schema.SESSION_VARIABLES) or `session_track_…`.
    pub(super) shows_tracking: bool,
    /// Saw `:=` in the current statement: a user variable may be assigned wherever it stands
    /// (`DO @d := 7`, `UPDATE t SET a = (@n := @n + 1)`), so it lives where the statement ran.
    pub(super) assigns: bool,
    /// The digest keys (the whole text's, and each statement's for rules).
    pub(super) dig: Digester,
    /// Every database the text names, and what rules need besides (see `names.rs`).
    pub(super) names_found: Names<'a>,
    /// Track `names_found`, and the statement digest keys (only rules and cluster placement
    /// read them; see `analyze_with`).
    pub(super) extras: Extras,
}

impl<'a> Stream<'a> {
    pub(super) fn with_names(s: &'a [u8], mode: Mode, names: &'a [String]) -> Self {
        Stream {
            lex: Lexer::new(s, mode),
            seg_start: 0,
            seg_end: 0,
            done: false,
            ended_by_semicolon: false,
            compound: false,
            block: 0,
            index: 0,
            broken_at: None,
            names,
            mentions: false,
            user_var: false,
            shows_tracking: false,
            assigns: false,
            dig: Digester::new(),
            names_found: Names::new(mode),
            extras: Extras::ALL,
        }
    }

    pub(super) fn next(&mut self) -> Tok<'a> {
        if self.done {
            return Tok::Eof;
        }
        let t = self.lex.next();
        self.dig.feed(t, self.lex.s, self.extras.keys);
        if self.extras.names {
            self.names_found.feed(t);
        }
        if self.lex.broken && self.broken_at.is_none() {
            self.broken_at = Some(self.index);
        }
        if !self.names.is_empty() && !self.mentions {
            self.mentions = match t {
                Tok::Word(w) => self
                    .names
                    .iter()
                    .any(|n| n.as_bytes().eq_ignore_ascii_case(w)),
                Tok::QIdent(raw) => self
                    .names
                    .iter()
                    .any(|n| eq_unquoted_ic(raw, b'`', n.as_bytes())),
                Tok::Str(raw, b'"') => self
                    .names
                    .iter()
                    .any(|n| eq_unquoted_ic(raw, b'"', n.as_bytes())),
                _ => false,
            };
        }
        match t {
            Tok::At => self.user_var = true,
            Tok::ColonEq => self.assigns = true,
            Tok::Word(w) | Tok::QIdent(w) if w.len() >= 9 && !self.shows_tracking => {
                self.shows_tracking = shows_tracking(w);
            }
            Tok::Eof => {
                self.done = true;
                self.ended_by_semicolon = false;
                self.seg_end = self.lex.s.len();
                self.end_statement();
            }
            Tok::Punct(b';') if self.block == 0 => {
                self.done = true;
                self.ended_by_semicolon = true;
                self.seg_end = self.lex.pos - 1;
                self.end_statement();
                return Tok::Eof;
            }
            Tok::Word(w) if self.compound => {
                let mut buf = [0u8; KW_MAX];
                match upper(w, &mut buf) {
                    b"BEGIN" | b"CASE" => self.block += 1,
                    b"END" => {
                        let after = self.peek();
                        let closes_other = [&b"IF"[..], b"LOOP", b"WHILE", b"REPEAT", b"FOR"]
                            .iter()
                            .any(|k| is_kw(after, k));
                        if !closes_other {
                            self.block = self.block.saturating_sub(1);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        t
    }

    /// One statement ended: its digest keys are kept, and a stored-program body in it (whose
    /// statements run later, not split here) makes its text one rules cannot judge.
    fn end_statement(&mut self) {
        if !self.extras.names && !self.extras.keys {
            return;
        }
        let facts = &mut self.names_found.facts;
        self.dig.end_statement(&mut facts.keys);
        if self.compound {
            facts.text_unknown = true;
        }
    }

    /// The next raw token, without consuming it.
    pub(super) fn peek(&self) -> Tok<'a> {
        if self.done {
            return Tok::Eof;
        }
        self.lex.clone().next()
    }

    pub(super) fn drain(&mut self) {
        while self.next() != Tok::Eof {}
    }

    pub(super) fn start_next(&mut self) {
        self.done = false;
        self.ended_by_semicolon = false;
        self.compound = false;
        self.block = 0;
        self.seg_start = self.lex.pos;
        self.index += 1;
    }

    pub(super) fn segment_text(&self) -> &'a [u8] {
        let s = self.lex.s;
        let start = self.seg_start.min(s.len());
        let end = self.seg_end.clamp(start, s.len());
        &s[start..end]
    }
}

/// `VARIABLES`, `SESSION_VARIABLES` or `session_track_…` (any case).
fn shows_tracking(w: &[u8]) -> bool {
    w.eq_ignore_ascii_case(b"VARIABLES")
        || w.eq_ignore_ascii_case(b"SESSION_VARIABLES")
        || w.get(..14)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"session_track_"))
}
