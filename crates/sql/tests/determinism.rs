//! Properties of `determinism::pin_nondeterminism` over whole statements:
//! the output still parses, pinning is idempotent, and text inside strings,
//! quoted identifiers and comments is never changed.

use duckraft_sql::determinism::{
    classify_write, pin_nondeterminism, PinContext, Rejection, WriteClass, DATETIME_FIELD_OVERFLOW,
    FEATURE_NOT_SUPPORTED, SYNTAX_ERROR,
};
use duckraft_sql::lexer::{significant, tokenize, Token, TokenKind};
use duckraft_sql::types::days_from_civil;
use sqlparser::dialect::{DuckDbDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

/// 2026-11-25 22:13:05.123456 UTC.
const NOW: i64 = 1_795_644_785_123_456;

/// SplitMix64: a small seeded generator, so every run sees the same cases.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn pin_at(sql: &str, now_micros: i64, seed: u64) -> Result<String, Rejection> {
    let mut source = SplitMix(seed);
    let mut random = move || source.next();
    let mut ctx = PinContext {
        now_micros,
        user: "alice",
        database: "lake",
        random: &mut random,
    };
    pin_nondeterminism(sql, &mut ctx)
}

fn pin(sql: &str, seed: u64) -> Result<String, Rejection> {
    pin_at(sql, NOW, seed)
}

/// Writes and DDL that pin cleanly; each has at least one pinned value.
const PINNABLE: &[&str] = &[
    "INSERT INTO events (id, at, who, db) VALUES (gen_random_uuid(), now(), current_user, current_database())",
    "INSERT INTO t VALUES (random(), uuid(), uuidv4(), CURRENT_TIMESTAMP, current_timestamp(3), today())",
    "INSERT INTO t SELECT current_date, current_time, localtime, localtimestamp, session_user, user",
    "INSERT INTO t (a) VALUES (now() - INTERVAL '1 day'), (now()::DATE)",
    "UPDATE accounts SET touched_at = now(), touched_by = current_user WHERE id = 7",
    "DELETE FROM sessions WHERE expires_at < current_timestamp AND owner = session_user",
    "INSERT INTO t VALUES (epoch_ms(now()), date_trunc('day', now()) AT TIME ZONE 'UTC')",
    "CREATE TABLE snap AS SELECT now() AS taken_at, current_user AS taken_by",
    "WITH x AS (SELECT 1 AS a) INSERT INTO t SELECT a, now() FROM x",
    "INSERT INTO t VALUES (CAST(random() AS VARCHAR), -random(), random()::INTEGER)",
    "INSERT INTO t VALUES (pg_catalog.now(), duckraft_pg.main.current_user, main.random())",
    "INSERT INTO t VALUES (now(/* c */), 'now()') -- now()",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET ts = now()",
    "INSERT INTO t VALUES (1) ON CONFLICT DO UPDATE SET ts = now(), who = current_user",
    "ALTER USER current_user WITH PASSWORD 'x'",
];

/// The output tokenizes, its parentheses balance, and it has the same
/// routing class as the input.
#[test]
fn pinned_output_retokenizes_with_balanced_parentheses() {
    for sql in PINNABLE {
        let out = pin(sql, 1).unwrap_or_else(|r| panic!("{sql}: {}", r.message));
        assert_ne!(&out, sql, "{sql}: nothing was pinned");
        let tokens = tokenize(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
        let mut depth = 0i32;
        for token in significant(&tokens) {
            match token.kind {
                TokenKind::LeftParen => depth += 1,
                TokenKind::RightParen => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "{out}: unbalanced");
        }
        assert_eq!(depth, 0, "{out}: unbalanced");
        assert_eq!(classify_write(&out), classify_write(sql), "{out}");
    }
}

/// Where a real SQL parser accepts the input, it accepts the output too.
#[test]
fn pinned_output_parses_where_the_input_parses() {
    let mut checked = 0;
    for sql in PINNABLE {
        let out = pin(sql, 1).unwrap();
        for dialect in [
            &DuckDbDialect {} as &dyn sqlparser::dialect::Dialect,
            &PostgreSqlDialect {},
        ] {
            if Parser::parse_sql(dialect, sql).is_ok() {
                checked += 1;
                if let Err(e) = Parser::parse_sql(dialect, &out) {
                    panic!("{sql}\n  pinned: {out}\n  does not parse: {e}");
                }
            }
        }
    }
    assert!(
        checked >= PINNABLE.len(),
        "too few inputs parse ({checked}) for the check to mean anything"
    );
}

#[test]
fn pinning_is_idempotent() {
    for sql in PINNABLE {
        let once = pin(sql, 1).unwrap();
        // A different random source: anything left to pin would now differ.
        let twice = pin_at(&once, NOW + 1_000_000, 99).unwrap();
        assert_eq!(once, twice, "{sql}");
    }
}

/// Parses the text of a pinned `TIMESTAMPTZ 'YYYY-MM-DD HH:MM:SS[.f]+00'`.
fn parse_timestamptz(text: &str) -> i64 {
    let body = text
        .strip_prefix("TIMESTAMPTZ '")
        .and_then(|t| t.strip_suffix("+00'"))
        .unwrap_or_else(|| panic!("not a pinned timestamptz: {text}"));
    let (date, time) = body.split_once(' ').unwrap();
    let mut date = date.split('-').map(|p| p.parse::<i64>().unwrap());
    let (y, m, d) = (
        date.next().unwrap(),
        date.next().unwrap(),
        date.next().unwrap(),
    );
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut hms = hms.split(':').map(|p| p.parse::<i64>().unwrap());
    let seconds = hms.next().unwrap() * 3600 + hms.next().unwrap() * 60 + hms.next().unwrap();
    let micros = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<6}").parse::<i64>().unwrap()
    };
    (days_from_civil(y, m as u32, d as u32) * 86_400 + seconds) * 1_000_000 + micros
}

#[test]
fn timestamp_literals_round_trip() {
    for now in [
        NOW,
        0,
        -1,
        1_700_000_000_000_000,
        1_700_000_000_100_000,
        951_782_400_000_000,     // 2000-02-29
        -62_135_596_800_000_000, // 0001-01-01 00:00:00
        253_402_300_799_999_999, // 9999-12-31 23:59:59.999999
    ] {
        let out = pin_at("INSERT INTO t VALUES (now())", now, 1).unwrap();
        let literal = out
            .strip_prefix("INSERT INTO t VALUES (")
            .and_then(|t| t.strip_suffix(')'))
            .unwrap();
        assert_eq!(parse_timestamptz(literal), now, "{literal}");
    }
    for now in [-62_135_596_800_000_001, 253_402_300_800_000_000] {
        let r = pin_at("INSERT INTO t VALUES (now())", now, 1).unwrap_err();
        assert_eq!(r.sqlstate, DATETIME_FIELD_OVERFLOW, "{now}");
    }
}

/// The string, quoted-identifier and comment tokens of `sql`, in order.
fn protected(sql: &str) -> Vec<String> {
    tokenize(sql)
        .unwrap()
        .iter()
        .filter(|t: &&Token| {
            matches!(
                t.kind,
                TokenKind::String | TokenKind::QuotedIdent | TokenKind::Comment
            )
        })
        .map(|t| t.text.to_string())
        .collect()
}

fn is_subsequence(needle: &[String], haystack: &[String]) -> bool {
    let mut rest = haystack.iter();
    needle.iter().all(|n| rest.any(|h| h == n))
}

const STARTS: &[&str] = &[
    "INSERT INTO t VALUES (",
    "INSERT INTO t SELECT",
    "UPDATE t SET a =",
    "DELETE FROM t WHERE",
    "CREATE TABLE t (a TIMESTAMP DEFAULT",
    "CREATE TABLE t AS SELECT",
    "CREATE VIEW v AS SELECT",
    "SELECT",
    "WITH x AS (SELECT",
    "",
];

const PIECES: &[&str] = &[
    // constructs
    "now()",
    "now ( )",
    "current_timestamp",
    "current_timestamp(2)",
    "current_date",
    "localtime",
    "today()",
    "random()",
    "gen_random_uuid()",
    "uuidv7()",
    "current_user",
    "user",
    "session_user",
    "current_catalog",
    "current_database()",
    "clock_timestamp()",
    "read_csv('x.csv')",
    "setseed(0.1)",
    "nextval('s')",
    "pg_catalog.now()",
    "t.user",
    "s.now()",
    "now(/* inside */)",
    "current_timestamp ( -- inside\n )",
    "random( /* r */ )",
    // literals, names and comments that mention them
    "'now()'",
    "'current_user'",
    "'it''s random()'",
    "E'uuid()\\''",
    "$$clock_timestamp()$$",
    "$q$ ' now() $q$",
    "\"user\"",
    "\"now()\"",
    "\"current_date\"",
    "-- now() random()\n",
    "/* current_user */",
    "/* /* uuid() */ read_csv('x') */",
    // the rest of SQL
    "SELECT",
    "FROM",
    "s",
    "WHERE",
    "AS",
    "x",
    "JOIN",
    "ON",
    "USING",
    "SET",
    "VALUES",
    "DEFAULT",
    "INTO",
    "1",
    "2.5",
    "$1",
    "(",
    ")",
    "(",
    ")",
    ",",
    ",",
    "=",
    "+",
    "::",
    "||",
    "INTERVAL '1 day'",
    "CAST(",
    "AS DATE)",
    ";",
];

const SEPARATORS: &[&str] = &[" ", " ", " ", "\n", "\t", "  "];

/// Seeded random statements mixing keywords, constructs, literals, quoted
/// identifiers and comments. For each: no panic; a rejection is well formed;
/// a pinned result keeps every protected token in order, tokenizes, keeps
/// the parenthesis balance and the routing class, and pins to itself.
#[test]
fn seeded_statements_never_panic_and_keep_protected_text() {
    let mut rng = SplitMix(0x5eed);
    let (mut changed, mut unchanged, mut rejected) = (0, 0, 0);
    for case in 0..4000 {
        let mut sql = rng.pick(STARTS).to_string();
        for _ in 0..1 + rng.below(12) {
            sql.push_str(rng.pick(SEPARATORS));
            sql.push_str(rng.pick(PIECES));
        }
        let result = std::panic::catch_unwind(|| pin(&sql, case));
        let result = result.unwrap_or_else(|_| panic!("case {case} panicked: {sql:?}"));
        let class = classify_write(&sql);
        match result {
            Err(r) => {
                rejected += 1;
                assert!(
                    [FEATURE_NOT_SUPPORTED, SYNTAX_ERROR].contains(&r.sqlstate),
                    "{sql:?}: {r:?}"
                );
                assert!(!r.message.is_empty());
            }
            Ok(out) if out == sql => unchanged += 1,
            Ok(out) => {
                changed += 1;
                assert!(
                    matches!(class, WriteClass::Write | WriteClass::Ddl),
                    "{sql:?}: a {class:?} statement was changed"
                );
                assert!(
                    is_subsequence(&protected(&sql), &protected(&out)),
                    "case {case}: protected text changed\n  in:  {sql:?}\n  out: {out:?}"
                );
                let balance = |text: &str| {
                    let tokens = tokenize(text).unwrap();
                    significant(&tokens)
                        .map(|t| match t.kind {
                            TokenKind::LeftParen => 1,
                            TokenKind::RightParen => -1,
                            _ => 0,
                        })
                        .sum::<i32>()
                };
                assert_eq!(balance(&sql), balance(&out), "{sql:?} -> {out:?}");
                assert_eq!(classify_write(&out), class, "{sql:?} -> {out:?}");
                assert_eq!(
                    pin(&out, case + 1).as_deref(),
                    Ok(out.as_str()),
                    "not idempotent: {sql:?}"
                );
            }
        }
    }
    // The generator must exercise all three outcomes for the test to mean anything.
    assert!(
        changed > 300 && unchanged > 300 && rejected > 300,
        "changed {changed}, unchanged {unchanged}, rejected {rejected}"
    );
}
