//! Prints how rwsplit classifies each statement given on the command line (or one per line on
//! stdin): `cargo run --example classify -- "SELECT 1" "UPDATE t SET a=1"`.

use std::io::BufRead;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let statements: Vec<String> = if args.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .collect()
    } else {
        args
    };
    for sql in statements {
        let c = rwsplit::classify::classify(sql.as_bytes());
        println!(
            "{:<8} {:<10} record={:<5} multi={:<5} hint={:?}  {}",
            format!("{:?}", c.route),
            c.kind.as_str(),
            c.record,
            c.multi,
            c.hint,
            sql
        );
    }
}
