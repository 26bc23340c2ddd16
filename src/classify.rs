// TEMPORARY stand-in until the real classifier lands (being written in parallel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Master,
    Replica,
    Current,
    Last,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Master,
    Replica,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Select,
    Show,
    Describe,
    Explain,
    Use,
    Kill,
    Other,
}
pub struct Classification {
    pub route: Route,
    pub kind: Kind,
    pub hint: Option<Hint>,
    pub multi: bool,
    pub record: bool,
}
pub fn classify(sql: &[u8]) -> Classification {
    let s = String::from_utf8_lossy(sql).to_ascii_lowercase();
    let t = s.trim_start();
    let (route, kind, record) = if t.starts_with("select") && !t.contains("for update") {
        (Route::Replica, Kind::Select, false)
    } else if t.starts_with("set") {
        (Route::Current, Kind::Other, true)
    } else if t.starts_with("use") {
        (Route::Current, Kind::Use, true)
    } else {
        (Route::Master, Kind::Other, false)
    };
    Classification {
        route,
        kind,
        hint: None,
        multi: false,
        record,
    }
}
pub fn use_database(sql: &[u8]) -> Option<String> {
    Some(
        String::from_utf8_lossy(&sql[4..])
            .trim()
            .trim_matches('`')
            .to_string(),
    )
}
