//! The SQL contract reads client text before anything is proposed. On any
//! input every classifier and rewrite returns a verdict or an error (never a
//! panic), and a pinned statement is final: pinning it again changes nothing,
//! so every node runs exactly the text the proposer fixed.
#![no_main]

use duckraft_sql::{access, classify, compat, determinism, lexer, values_insert};
use libfuzzer_sys::fuzz_target;

fn pin(sql: &str) -> Result<String, determinism::Rejection> {
    let mut draws = 0u64;
    let mut random = || {
        draws += 1;
        draws.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    };
    let mut context = determinism::PinContext {
        now_micros: 1_700_000_000_000_000,
        user: "fuzz",
        database: "fuzz",
        random: &mut random,
    };
    determinism::pin_nondeterminism(sql, &mut context)
}

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tokens) = lexer::tokenize(sql) {
        let rebuilt: String = tokens.iter().map(|token| token.text).collect();
        assert_eq!(rebuilt, sql, "tokens must cover the text exactly");
    }
    let Ok(statements) = lexer::split_statements(sql) else {
        return;
    };
    for statement in statements {
        let _ = classify(statement);
        let _ = compat::for_duckdb(statement);
        let _ = values_insert::values_insert(statement);
        let _ = access::statement_access(statement, false, false);
        let _ = access::statement_access(statement, true, true);
        if let determinism::WriteClass::Write | determinism::WriteClass::Ddl =
            determinism::classify_write(statement)
        {
            if let Ok(pinned) = pin(statement) {
                let again = pin(&pinned).expect("a pinned statement pins again");
                assert_eq!(again, pinned, "pinning is not final");
            }
        }
    }
});
