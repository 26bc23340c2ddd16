//! The problem collector of `config`: every check of a value records its problems with the
//! byte offset and key path they belong to, and converts what it can, so one pass reports every
//! problem of a file.

use super::*;

pub(super) const DURATION_EXPECTED: &str =
    r#"a duration string with a unit, like "500ms", "10s", "1m" or "8h""#;

/// Collects problems as (byte offset, key path, message).
pub(super) struct Ctx<'a> {
    pub(super) text: &'a str,
    pub(super) env: &'a dyn Fn(&str) -> Result<String, std::env::VarError>,
    pub(super) problems: Vec<(usize, String, String)>,
}

impl Ctx<'_> {
    pub(super) fn problem(
        &mut self,
        offset: usize,
        key: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push((offset, key.into(), message.into()));
    }

    /// Records a `toml` error (syntax or deserialization), finding the key path from its span.
    pub(super) fn toml_error(
        &mut self,
        root: &DeTable<'_>,
        e: &toml::de::Error,
        fallback_key: &str,
        fallback: Range<usize>,
    ) {
        let span = e.span().unwrap_or(fallback);
        let key = key_path_at(root, span.start)
            .or_else(|| key_path_from_text(self.text, span.start))
            .unwrap_or_else(|| fallback_key.to_string());
        let message = e.message().trim_end().to_string();
        self.problem(span.start, key, message);
    }

    /// Deserializes one section (or array element) on its own, keeping its span (the
    /// `[header]`, used for missing keys); `None` after recording a problem.
    pub(super) fn section<T: DeserializeOwned>(
        &mut self,
        root: &DeTable<'_>,
        value: &Spanned<DeValue<'_>>,
        key: &str,
    ) -> Option<Spanned<T>> {
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(v) => Some(Spanned::new(value.span(), v)),
            Err(e) => {
                self.toml_error(root, &e, key, value.span());
                None
            }
        }
    }

    /// An array of tables (`[[replicas]]`, `[[users]]`), each element deserialized on its own.
    pub(super) fn array_of<T: DeserializeOwned>(
        &mut self,
        root: &DeTable<'_>,
        value: &Spanned<DeValue<'_>>,
        key: &str,
    ) -> Vec<Option<Spanned<T>>> {
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.section(root, item, &format!("{key}[{i}]")))
                .collect(),
            _ => {
                self.problem(
                    value.span().start,
                    key,
                    format!("expected an array of tables, written as [[{key}]] sections"),
                );
                Vec::new()
            }
        }
    }

    /// A required key: records "missing" at the section header when absent.
    pub(super) fn required<'v>(
        &mut self,
        field: &'v Field,
        section_at: usize,
        key: &str,
    ) -> Option<&'v Spanned<Leaf>> {
        if field.is_none() {
            self.problem(section_at, key, "required key is missing");
        }
        field.as_ref()
    }

    pub(super) fn wrong_type(
        &mut self,
        value: &Spanned<Leaf>,
        key: &str,
        expected: &str,
        show: bool,
    ) {
        let got = value.get_ref().describe(show);
        self.problem(
            value.span().start,
            key,
            format!("expected {expected}, got {got}"),
        );
    }

    pub(super) fn string<'v>(
        &mut self,
        value: &'v Spanned<Leaf>,
        key: &str,
        expected: &str,
    ) -> Option<&'v str> {
        match value.get_ref() {
            Leaf::Str(s) => Some(s),
            _ => {
                self.wrong_type(value, key, expected, true);
                None
            }
        }
    }

    pub(super) fn boolean(
        &mut self,
        value: Option<&Spanned<Leaf>>,
        key: &str,
        default: bool,
    ) -> bool {
        match value.map(|v| (v, v.get_ref())) {
            None => default,
            Some((_, Leaf::Bool(b))) => *b,
            Some((v, _)) => {
                self.wrong_type(v, key, "true or false", true);
                default
            }
        }
    }

    pub(super) fn address(&mut self, value: &Spanned<Leaf>, key: &str) -> String {
        let Some(s) = self.string(value, key, r#"a "host:port" string"#) else {
            return String::new();
        };
        if let Err(why) = parse_host_port(s) {
            self.problem(
                value.span().start,
                key,
                format!("invalid address {s:?}: {why}"),
            );
        }
        s.to_string()
    }

    pub(super) fn duration(
        &mut self,
        value: Option<&Spanned<Leaf>>,
        key: &str,
        default: Duration,
        allow_zero: bool,
    ) -> Duration {
        let Some(value) = value else {
            return default;
        };
        let Some(text) = self.string(value, key, DURATION_EXPECTED) else {
            return default;
        };
        match parse_duration(text) {
            Ok(d) if d.is_zero() && !allow_zero => {
                let message = format!("must be greater than zero, got {text:?}");
                self.problem(value.span().start, key, message);
                default
            }
            Ok(d) => d,
            Err(why) => {
                let message = format!("invalid duration {text:?}: {why}");
                self.problem(value.span().start, key, message);
                default
            }
        }
    }

    /// An optional duration where zero means "none".
    pub(super) fn duration_or_none(
        &mut self,
        value: Option<&Spanned<Leaf>>,
        key: &str,
        default: Option<Duration>,
    ) -> Option<Duration> {
        if value.is_none() {
            return default;
        }
        let d = self.duration(value, key, default.unwrap_or_default(), true);
        (!d.is_zero()).then_some(d)
    }

    pub(super) fn int(
        &mut self,
        value: Option<&Spanned<Leaf>>,
        key: &str,
        default: u32,
        range: std::ops::RangeInclusive<u32>,
    ) -> u32 {
        let Some(value) = value else {
            return default;
        };
        let Leaf::Int(n) = value.get_ref() else {
            self.wrong_type(value, key, "an integer", true);
            return default;
        };
        match u32::try_from(*n) {
            Ok(n) if range.contains(&n) => n,
            _ => {
                let (lo, hi) = (range.start(), range.end());
                let message = format!("must be between {lo} and {hi}, got {n}");
                self.problem(value.span().start, key, message);
                default
            }
        }
    }

    pub(super) fn size(&mut self, value: Option<&Spanned<Leaf>>, key: &str, default: u64) -> u64 {
        let Some(value) = value else {
            return default;
        };
        let parsed = match value.get_ref() {
            Leaf::Str(text) => {
                parse_size(text).map_err(|why| format!("invalid size {text:?}: {why}"))
            }
            Leaf::Int(n) => {
                u64::try_from(*n).map_err(|_| format!("a size cannot be negative, got {n}"))
            }
            _ => {
                let expected = r#"a size like "64MiB", "16MB" or "1024" (bytes)"#;
                self.wrong_type(value, key, expected, true);
                return default;
            }
        };
        match parsed {
            Ok(n) => n,
            Err(message) => {
                self.problem(value.span().start, key, message);
                default
            }
        }
    }

    pub(super) fn one_of<T: Copy>(
        &mut self,
        value: Option<&Spanned<Leaf>>,
        key: &str,
        choices: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(value) = value else {
            return default;
        };
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let expected = format!("one of {}", names.join(", "));
        let Some(text) = self.string(value, key, &expected) else {
            return default;
        };
        if let Some((_, v)) = choices.iter().find(|(name, _)| *name == text) {
            return *v;
        }
        self.problem(
            value.span().start,
            key,
            format!("expected {expected}, got {text:?}"),
        );
        default
    }

    /// A password: the literal, or `env:NAME` looked up now. Never echoes the value.
    pub(super) fn secret(&mut self, value: &Spanned<Leaf>, key: &str) -> Secret {
        let at = value.span().start;
        let Leaf::Str(text) = value.get_ref() else {
            self.wrong_type(
                value,
                key,
                r#"a string: the password itself or "env:NAME""#,
                false,
            );
            return Secret::default();
        };
        let Some(name) = text.strip_prefix("env:") else {
            return Secret(text.clone());
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let message = format!(
                "invalid environment variable name {name:?} after \"env:\" \
                 (use letters, digits and _)"
            );
            self.problem(at, key, message);
            return Secret::default();
        }
        match (self.env)(name) {
            Ok(v) => Secret(v),
            Err(std::env::VarError::NotPresent) => {
                self.problem(at, key, format!("environment variable `{name}` is not set"));
                Secret::default()
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                let message = format!("environment variable `{name}` is not valid UTF-8");
                self.problem(at, key, message);
                Secret::default()
            }
        }
    }

    pub(super) fn path(&mut self, value: Option<&Spanned<Leaf>>, key: &str) -> Option<PathBuf> {
        let value = value?;
        let text = self.string(value, key, "a file path string")?;
        if text.trim().is_empty() {
            self.problem(value.span().start, key, "must not be empty");
        }
        Some(PathBuf::from(text))
    }

    /// A non-empty name (user names).
    pub(super) fn name(&mut self, value: Option<&Spanned<Leaf>>, key: &str) -> String {
        let Some(value) = value else {
            return String::new();
        };
        let Some(text) = self.string(value, key, "a string") else {
            return String::new();
        };
        if text.is_empty() {
            self.problem(value.span().start, key, "must not be empty");
        }
        text.to_string()
    }
}
