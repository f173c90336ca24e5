//! Values a client sends in binary: Bind parameters and COPY FROM STDIN data
//! in text, CSV and binary format. Decoding returns a value or a clean
//! error; a decoded value re-encodes stably; and the SQL literal a write is
//! replicated with stays one self-contained expression (a value can never
//! end the statement, open a comment or run past its parentheses).
#![no_main]

use duckraft_pgwire::{binary, copy};
use duckraft_sql::lexer::{self, TokenKind};
use duckraft_sql::types::oid;
use duckraft_sql::{literal, CopyFormat, CopyOptions, Value};
use libfuzzer_sys::fuzz_target;

const OIDS: &[u32] = &[
    oid::BOOL,
    oid::BYTEA,
    oid::INT2,
    oid::INT4,
    oid::INT8,
    oid::OID,
    oid::TEXT,
    oid::VARCHAR,
    oid::JSON,
    oid::JSONB,
    oid::FLOAT4,
    oid::FLOAT8,
    oid::NUMERIC,
    oid::DATE,
    oid::TIME,
    oid::TIMESTAMP,
    oid::TIMESTAMPTZ,
    oid::INTERVAL,
    oid::UUID,
    oid::INT4_ARRAY,
    oid::INT8_ARRAY,
    oid::TEXT_ARRAY,
    oid::FLOAT8_ARRAY,
    oid::BOOL_ARRAY,
    oid::DATE_ARRAY,
];

fn check_literal(value: &Value) {
    let text = literal::literal(value);
    let tokens = lexer::tokenize(&text)
        .unwrap_or_else(|e| panic!("literal {text:?} of {value:?} does not tokenize: {e}"));
    let mut depth = 0i64;
    for token in &tokens {
        match token.kind {
            TokenKind::Comment | TokenKind::Semicolon | TokenKind::Param => {
                panic!("literal {text:?} of {value:?} contains {:?}", token.kind)
            }
            TokenKind::LeftParen => depth += 1,
            TokenKind::RightParen => depth -= 1,
            _ => {}
        }
        assert!(
            depth >= 0,
            "literal {text:?} closes a parenthesis it did not open"
        );
    }
    assert_eq!(depth, 0, "literal {text:?} leaves a parenthesis open");
    let sql = literal::inline_parameters("INSERT INTO t VALUES ($1)", std::slice::from_ref(value))
        .expect("inlines");
    let statements = lexer::split_statements(&sql).expect("inlined statement tokenizes");
    assert_eq!(
        statements.len(),
        1,
        "inlining {value:?} split the statement: {sql}"
    );
}

fn check_binary(data: &[u8], type_oid: u32) {
    let Ok(value) = binary::decode(data, type_oid) else {
        return;
    };
    check_literal(&value);
    let mut once = bytes::BytesMut::new();
    binary::encode(&value, type_oid, &mut once).expect("a decoded value encodes");
    let again = binary::decode(&once, type_oid).expect("an encoded value decodes");
    let mut twice = bytes::BytesMut::new();
    binary::encode(&again, type_oid, &mut twice).expect("encodes again");
    assert_eq!(once, twice, "binary encoding of {value:?} is not stable");
}

fn options(selector: u8) -> CopyOptions {
    CopyOptions {
        format: match selector % 3 {
            0 => CopyFormat::Text,
            1 => CopyFormat::Csv,
            _ => CopyFormat::Binary,
        },
        delimiter: [None, Some('|'), Some(',')][usize::from(selector / 3 % 3)],
        null: if selector & 0x20 != 0 {
            Some("\\N".into())
        } else {
            None
        },
        header: selector & 0x40 != 0,
        quote: if selector & 0x80 != 0 {
            Some('\'')
        } else {
            None
        },
        escape: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector & 1 == 0 {
        check_binary(rest, OIDS[usize::from(selector >> 1) % OIDS.len()]);
        return;
    }
    let Some((&columns, rest)) = rest.split_first() else {
        return;
    };
    let Some((&format, payload)) = rest.split_first() else {
        return;
    };
    let column_oids: Vec<u32> = (0..usize::from(columns % 4) + 1)
        .map(|i| OIDS[(usize::from(selector >> 1) + i * 7) % OIDS.len()])
        .collect();
    if let Ok(rows) = copy::decode_rows(payload, &options(format), &column_oids) {
        for row in &rows {
            assert_eq!(
                row.len(),
                column_oids.len(),
                "a COPY row with the wrong width"
            );
            row.iter().for_each(check_literal);
        }
    }
});
