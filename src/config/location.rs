//! Where a problem is in the file: byte offsets to line and column, and the dotted key path
//! of a position (from the parsed document, or from the text when it did not parse).

use super::*;

// ---------------------------------------------------------------------------------------------
// Positions and key paths
// ---------------------------------------------------------------------------------------------

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// Appends a key to a dotted path, quoting it when it is not a bare TOML key.
pub(super) fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        path.push_str(key);
    } else {
        path.push_str(&format!("{key:?}"));
    }
}

/// The dotted path of the innermost key or value whose span contains `pos`.
pub(super) fn key_path_at(root: &DeTable<'_>, pos: usize) -> Option<String> {
    let mut path = String::new();
    walk_table(root, pos, &mut path).then_some(path)
}

/// Best-effort key path for a position the parsed tree does not cover (syntax errors such
/// as a duplicate key or an unterminated string): the `[table]` header above the position
/// plus the key written before `=` on its line.
pub(super) fn key_path_from_text(text: &str, pos: usize) -> Option<String> {
    let pos = pos.min(text.len());
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    // The header a line belongs to: "name" for [name], "name[i]" for the i-th [[name]].
    let header_path = |header_line: &str, before: &str| -> Option<String> {
        if let Some(inner) = header_line.strip_prefix("[[") {
            let name = inner.split("]]").next()?.trim();
            let index = before
                .lines()
                .filter(|l| {
                    let l = l.trim();
                    l.strip_prefix("[[")
                        .and_then(|l| l.split("]]").next())
                        .is_some_and(|n| n.trim() == name)
                })
                .count();
            Some(format!("{name}[{index}]"))
        } else {
            let inner = header_line.strip_prefix('[')?;
            Some(inner.split(']').next()?.trim().to_string())
        }
    };
    if line.starts_with('[') {
        return header_path(line, &text[..line_start]).filter(|p| !p.is_empty());
    }
    // Only a plain `key = ...` line: anything else (a stray value, maybe a pasted password)
    // must not be echoed as a key.
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.';
    if key.is_empty() || !key.bytes().all(plain) {
        return None;
    }
    let before = &text[..line_start];
    let mut header: Option<(usize, &str)> = None;
    let mut start = 0;
    for l in before.split_inclusive('\n') {
        if l.trim_start().starts_with('[') {
            header = Some((start, l.trim()));
        }
        start += l.len();
    }
    let table = header.and_then(|(start, l)| header_path(l, &text[..start]));
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_string(),
    })
}

pub(super) fn span_contains(span: Range<usize>, pos: usize) -> bool {
    span.contains(&pos) || (span.is_empty() && span.start == pos)
}

pub(super) fn walk_table(table: &DeTable<'_>, pos: usize, path: &mut String) -> bool {
    for (k, v) in table.iter() {
        let len = path.len();
        push_key(path, k.get_ref());
        if walk_value(v.get_ref(), pos, path)
            || span_contains(k.span(), pos)
            || span_contains(v.span(), pos)
        {
            return true;
        }
        path.truncate(len);
    }
    false
}

pub(super) fn walk_value(value: &DeValue<'_>, pos: usize, path: &mut String) -> bool {
    match value {
        DeValue::Table(t) => walk_table(t, pos, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if walk_value(item.get_ref(), pos, path) || span_contains(item.span(), pos) {
                    return true;
                }
                path.truncate(len);
            }
            false
        }
        _ => false,
    }
}
