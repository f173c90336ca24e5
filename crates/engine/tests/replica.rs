//! The replicated entry format and the deterministic apply path, against real DuckDB.

use duckdb::Connection;
use duckraft_engine::command::{
    self, Command, ControlCommand, DecodeError, Envelope, PasswordChange, ProposalId, Role,
    RoleChange, RowBatch, WriteBatch, WriteOp, FORMAT_VERSION,
};
use duckraft_engine::replica::{
    Committed, Outcome, Replica, ReplicaError, CONTROL_MISROUTED_SQLSTATE, STALE_RETRY_SQLSTATE,
};
use duckraft_sql::types::{oid, Value};

/// An owned log: (index, term, bytes).
type Log = Vec<(u64, u64, Vec<u8>)>;

fn view(log: &[(u64, u64, Vec<u8>)]) -> Vec<Committed<'_>> {
    log.iter()
        .map(|(index, term, data)| Committed {
            index: *index,
            term: *term,
            data,
        })
        .collect()
}

fn sql(text: &str) -> WriteOp {
    WriteOp::Sql(text.to_string())
}

fn write(id: Option<(u64, u64)>, ops: Vec<WriteOp>) -> Vec<u8> {
    command::encode(&Envelope {
        id: id.map(|(client, seq)| ProposalId { client, seq }),
        command: Command::Catalog(WriteBatch::autocommit(Vec::new(), ops)),
    })
}

/// Numbers entries from `first`, all in term 1.
fn numbered(first: u64, datas: Vec<Vec<u8>>) -> Log {
    datas
        .into_iter()
        .enumerate()
        .map(|(i, data)| (first + i as u64, 1, data))
        .collect()
}

/// A replica on an in-memory database plus a second connection to read it.
fn memory_replica() -> (Replica, Connection) {
    let conn = Connection::open_in_memory().unwrap();
    let reader = conn.try_clone().unwrap();
    (Replica::open(conn).unwrap(), reader)
}

fn query_strings(conn: &Connection, sql: &str) -> Vec<String> {
    let mut statement = conn.prepare(sql).unwrap();
    let rows = statement
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

fn applied(rows: u64) -> Outcome {
    Outcome::Applied { rows }
}

/// Applies `log` and returns just the outcomes, in order.
fn outcomes_of(replica: &mut Replica, log: &Log) -> Vec<Outcome> {
    replica
        .apply(&view(log))
        .unwrap()
        .into_iter()
        .map(|(_, _, o)| o)
        .collect()
}

fn sqlstate(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Failed { sqlstate, .. } => sqlstate,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn every_value() -> Vec<Value> {
    vec![
        Value::Bool(true),
        Value::Int2(-12),
        Value::Int4(i32::MIN),
        Value::Int8(i64::MAX),
        Value::Float4(1.5),
        Value::Float8(-0.1),
        Value::Numeric("-12.340".into()),
        Value::Text("a 'quoted' \"text\" ✓".into()),
        Value::Bytea(vec![0, 1, 0xfe, 0xff]),
        Value::Date(19_000),
        Value::Time(14_706_789_000),
        Value::Timestamp(1_700_000_000_123_400),
        Value::TimestampTz(1_700_000_000_000_001),
        Value::Interval {
            months: 14,
            days: 3,
            micros: 14_706_789_000,
        },
        Value::Uuid([
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11,
        ]),
        Value::Json("{\"k\": [1, 2]}".into()),
        Value::Array {
            element_oid: oid::INT4,
            items: vec![Value::Int4(1), Value::Null, Value::Int4(3)],
        },
        Value::Null,
    ]
}

const ALL_TYPES_TABLE: &str = "CREATE TABLE main.all_types (b BOOLEAN, i2 SMALLINT, \
    i4 INTEGER, i8 BIGINT, f4 REAL, f8 DOUBLE, n DECIMAL(10,3), t VARCHAR, bin BLOB, d DATE, \
    tm TIME, ts TIMESTAMP, tstz TIMESTAMPTZ, iv INTERVAL, u UUID, j JSON, arr INTEGER[], \
    nothing VARCHAR)";

const ALL_TYPES_COLUMNS: [&str; 18] = [
    "b", "i2", "i4", "i8", "f4", "f8", "n", "t", "bin", "d", "tm", "ts", "tstz", "iv", "u", "j",
    "arr", "nothing",
];

fn all_types_batch() -> RowBatch {
    RowBatch {
        table: "main.all_types".into(),
        columns: ALL_TYPES_COLUMNS.iter().map(|c| c.to_string()).collect(),
        rows: vec![every_value()],
    }
}

// ---------------------------------------------------------------- command

#[test]
fn replica_command_round_trips_every_value_variant() {
    let mut values = every_value();
    values.extend([
        Value::Float4(f32::NAN),
        Value::Float8(f64::NEG_INFINITY),
        Value::Float8(-0.0),
        Value::Array {
            element_oid: oid::TEXT_ARRAY,
            items: vec![Value::Array {
                element_oid: oid::TEXT,
                items: vec![Value::Text(String::new())],
            }],
        },
    ]);
    let envelope = Envelope {
        id: Some(ProposalId {
            client: u64::MAX,
            seq: 7,
        }),
        command: Command::Catalog(WriteBatch {
            snapshot_index: Some(41),
            read_set: vec!["public.a".into(), "public.b".into()],
            write_set: vec!["public.b".into()],
            ops: vec![
                sql("INSERT INTO t VALUES (1)"),
                WriteOp::Rows(RowBatch {
                    table: "public.t".into(),
                    columns: (0..values.len()).map(|i| format!("c{i}")).collect(),
                    rows: vec![values.clone(), vec![Value::Null; values.len()]],
                }),
            ],
            integer_division: true,
        }),
    };
    let bytes = command::encode(&envelope);
    assert_eq!(bytes[0], FORMAT_VERSION);
    let decoded = command::decode(&bytes).unwrap();
    // Deterministic encoding: re-encoding yields the same bytes.
    assert_eq!(command::encode(&decoded), bytes);
    let Command::Catalog(batch) = &decoded.command else {
        panic!("wrong command {decoded:?}");
    };
    let WriteOp::Rows(rows) = &batch.ops[1] else {
        panic!("wrong op");
    };
    let row = &rows.rows[0];
    assert_eq!(row.len(), values.len());
    for (got, want) in row.iter().zip(&values) {
        match (got, want) {
            (Value::Float4(a), Value::Float4(b)) => assert_eq!(a.to_bits(), b.to_bits()),
            (Value::Float8(a), Value::Float8(b)) => assert_eq!(a.to_bits(), b.to_bits()),
            _ => assert_eq!(got, want),
        }
    }
    // Everything without NaN compares equal as a whole.
    let mut without_nan = envelope.clone();
    if let Command::Catalog(batch) = &mut without_nan.command {
        if let WriteOp::Rows(rows) = &mut batch.ops[1] {
            rows.rows[0].retain(|v| !matches!(v, Value::Float4(f) if f.is_nan()));
            rows.rows[1].pop();
        }
    }
    assert_eq!(
        command::decode(&command::encode(&without_nan)).unwrap(),
        without_nan
    );

    for control in [
        ControlCommand::CreateCatalog { name: "c1".into() },
        ControlCommand::DropCatalog { name: "c1".into() },
        ControlCommand::PutUser {
            name: "alice".into(),
            verifier: "SCRAM-SHA-256$4096:salt$stored:server".into(),
        },
        ControlCommand::DropUser {
            name: "alice".into(),
        },
        ControlCommand::CreateRole {
            name: "bob".into(),
            role: Role {
                verifier: None,
                superuser: true,
                login: false,
            },
        },
        ControlCommand::AlterRole {
            name: "bob".into(),
            change: RoleChange {
                password: Some(PasswordChange::Set("SCRAM-SHA-256$1:c2FsdA==$a:b".into())),
                superuser: None,
                login: Some(true),
            },
        },
        ControlCommand::AlterRole {
            name: "bob".into(),
            change: RoleChange {
                password: Some(PasswordChange::Clear),
                ..RoleChange::default()
            },
        },
        ControlCommand::DropRoles {
            names: vec!["alice".into(), "bob".into()],
            if_exists: true,
        },
    ] {
        let envelope = Envelope {
            id: None,
            command: Command::Control(control),
        };
        assert_eq!(
            command::decode(&command::encode(&envelope)).unwrap(),
            envelope
        );
    }
}

#[test]
fn replica_command_encoding_is_pinned() {
    let envelope = Envelope {
        id: Some(ProposalId { client: 3, seq: 9 }),
        command: Command::Catalog(WriteBatch {
            snapshot_index: None,
            read_set: vec![],
            write_set: vec!["public.t".into()],
            ops: vec![
                sql("DELETE FROM t"),
                WriteOp::Rows(RowBatch {
                    table: "public.t".into(),
                    columns: vec!["a".into(), "b".into()],
                    rows: vec![vec![Value::Float8(1.0), Value::Bytea(vec![0xab])]],
                }),
            ],
            // Absent from the bytes, as in every entry before it existed.
            integer_division: false,
        }),
    };
    let expected = concat!(
        "\u{1}",
        r#"{"id":{"client":3,"seq":9},"command":{"catalog":{"snapshot_index":null,"#,
        r#""read_set":[],"write_set":["public.t"],"ops":[{"sql":"DELETE FROM t"},"#,
        r#"{"rows":{"table":"public.t","columns":["a","b"],"#,
        r#""rows":[[{"float8":4607182418800017408},{"bytea":"ab"}]]}}]}}}"#
    );
    assert_eq!(
        String::from_utf8(command::encode(&envelope)).unwrap(),
        expected
    );
}

/// Role commands were added to version 1 without changing the bytes of
/// the user commands written before them.
#[test]
fn control_user_entries_written_before_roles_still_decode() {
    let put = concat!(
        "\u{1}",
        r#"{"id":{"client":7,"seq":1},"command":{"control":{"put_user":"#,
        r#"{"name":"alice","verifier":"SCRAM-SHA-256$4096:c2FsdA==$a:b"}}}}"#
    );
    let envelope = Envelope {
        id: Some(ProposalId { client: 7, seq: 1 }),
        command: Command::Control(ControlCommand::PutUser {
            name: "alice".into(),
            verifier: "SCRAM-SHA-256$4096:c2FsdA==$a:b".into(),
        }),
    };
    assert_eq!(command::decode(put.as_bytes()).unwrap(), envelope);
    assert_eq!(command::encode(&envelope), put.as_bytes());
    let drop = "\u{1}{\"id\":null,\"command\":{\"control\":{\"drop_user\":{\"name\":\"alice\"}}}}";
    assert_eq!(
        command::decode(drop.as_bytes()).unwrap().command,
        Command::Control(ControlCommand::DropUser {
            name: "alice".into()
        })
    );
    let create = concat!(
        "\u{1}",
        r#"{"id":null,"command":{"control":{"create_role":{"name":"bob","#,
        r#""role":{"verifier":null,"superuser":false,"login":true}}}}}"#
    );
    assert_eq!(
        command::decode(create.as_bytes()).unwrap().command,
        Command::Control(ControlCommand::CreateRole {
            name: "bob".into(),
            role: Role {
                verifier: None,
                superuser: false,
                login: true
            }
        })
    );
    // Strict as ever: a role record with an unknown field is refused.
    let unknown = create.replace(r#""login":true"#, r#""login":true,"createdb":true"#);
    assert!(matches!(
        command::decode(unknown.as_bytes()),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn replica_command_rejects_unknown_versions_and_malformed_entries() {
    let good = write(None, vec![sql("SELECT 1")]);
    assert!(command::decode(&good).is_ok());
    assert_eq!(command::decode(&[]), Err(DecodeError::Empty));
    for version in [0u8, 2, b'{', 255] {
        let mut bytes = good.clone();
        bytes[0] = version;
        assert_eq!(
            command::decode(&bytes),
            Err(DecodeError::UnknownVersion(version)),
            "version {version}"
        );
    }
    let body = &good[1..];
    let malformed: Vec<Vec<u8>> = vec![
        vec![1],
        [&[1u8][..], &body[..body.len() - 1]].concat(),
        [&[1u8][..], body, b" x"].concat(),
        br#"{"id":null,"command":{"catalog":{"snapshot_index":null,"read_set":[],"write_set":[],"ops":[]}},"extra":1}"#
            .to_vec(),
        br#"{"id":null,"command":{"frobnicate":{}}}"#.to_vec(),
        br#"{"id":null,"command":{"catalog":{"snapshot_index":null,"read_set":[],"write_set":[],"ops":[{"rows":{"table":"t","columns":["a"],"rows":[[{"bytea":"ABC"}]]}}]}}}"#
            .to_vec(),
        br#"{"id":null,"command":{"catalog":{"snapshot_index":null,"read_set":[],"write_set":[],"ops":[{"rows":{"table":"t","columns":["a"],"rows":[[{"uuid":"00"}]]}}]}}}"#
            .to_vec(),
        br#"{"id":null,"command":{"catalog":{"snapshot_index":null,"read_set":[],"write_set":[],"ops":[{"rows":{"table":"t","columns":["a"],"rows":[[{"float8":1.5}]]}}]}}}"#
            .to_vec(),
    ];
    for (i, bytes) in malformed.into_iter().enumerate() {
        let bytes = if bytes[0] == 1 {
            bytes
        } else {
            [&[1u8][..], &bytes].concat()
        };
        assert!(
            matches!(command::decode(&bytes), Err(DecodeError::Malformed(_))),
            "case {i}: {:?}",
            command::decode(&bytes)
        );
    }
}

// ---------------------------------------------------------------- replica

#[test]
fn replica_applies_a_sequence_then_state_matches() {
    let (mut replica, reader) = memory_replica();
    assert_eq!(replica.applied_index(), 0);
    let log = numbered(
        1,
        vec![
            write(None, vec![sql(ALL_TYPES_TABLE)]),
            write(Some((1, 1)), vec![WriteOp::Rows(all_types_batch())]),
            write(
                Some((1, 2)),
                vec![
                    sql("CREATE TABLE main.kv (k INTEGER PRIMARY KEY, v VARCHAR)"),
                    sql("INSERT INTO main.kv VALUES (1, 'one'), (2, 'two'), (3, 'three')"),
                ],
            ),
            write(
                None,
                vec![sql("UPDATE main.kv SET v = upper(v) WHERE k >= 2")],
            ),
            write(None, vec![sql("DELETE FROM main.kv WHERE k = 3")]),
        ],
    );
    let results = replica.apply(&view(&log)).unwrap();
    let outcomes: Vec<(u64, Option<ProposalId>, Outcome)> = vec![
        (1, None, applied(0)),
        (2, Some(ProposalId { client: 1, seq: 1 }), applied(1)),
        (3, Some(ProposalId { client: 1, seq: 2 }), applied(3)),
        (4, None, applied(2)),
        (5, None, applied(1)),
    ];
    assert_eq!(results, outcomes);
    assert_eq!(replica.applied_index(), 5);
    assert_eq!(replica.applied_term(), 1);
    assert_eq!(
        query_strings(&reader, "SELECT k || '=' || v FROM main.kv ORDER BY k"),
        ["1=one", "2=TWO"]
    );
    let rendered: Vec<String> = ALL_TYPES_COLUMNS
        .iter()
        .map(|c| {
            reader
                .query_row(
                    &format!("SELECT coalesce(CAST({c} AS VARCHAR), 'NULL') FROM main.all_types"),
                    [],
                    |row| row.get(0),
                )
                .unwrap()
        })
        .collect();
    assert_eq!(
        rendered,
        [
            "true",
            "-12",
            "-2147483648",
            "9223372036854775807",
            "1.5",
            "-0.1",
            "-12.340",
            "a 'quoted' \"text\" ✓",
            "\\x00\\x01\\xFE\\xFF",
            "2022-01-08",
            "04:05:06.789",
            "2023-11-14 22:13:20.1234",
            "2023-11-14 22:13:20.000001+00",
            "1 year 2 months 3 days 04:05:06.789",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{\"k\": [1, 2]}",
            "[1, NULL, 3]",
            "NULL",
        ]
    );
    // The newest bookkeeping row holds the applied index and term.
    assert_eq!(
        query_strings(
            &reader,
            "SELECT idx || '/' || term FROM __duckraft.apply_log ORDER BY idx DESC LIMIT 1"
        ),
        ["5/1"]
    );
}

#[test]
fn replica_reapplying_applied_entries_is_a_no_op() {
    let (mut replica, reader) = memory_replica();
    let log = numbered(
        1,
        vec![
            write(None, vec![sql("CREATE TABLE main.t (a INTEGER)")]),
            write(None, vec![sql("INSERT INTO main.t VALUES (1)")]),
            write(None, vec![sql("INSERT INTO main.t VALUES (2)")]),
            write(None, vec![sql("INSERT INTO main.t VALUES (3)")]),
        ],
    );
    assert_eq!(replica.apply(&view(&log[..3])).unwrap().len(), 3);
    let hash = replica.state_hash().unwrap();
    // Redelivery after a crash between commit and acknowledgement.
    assert_eq!(replica.apply(&view(&log[..3])).unwrap(), vec![]);
    assert_eq!(replica.apply(&view(&log[1..2])).unwrap(), vec![]);
    assert_eq!(count(&reader, "SELECT count(*) FROM main.t"), 2);
    assert_eq!(replica.state_hash().unwrap(), hash);
    // An overlapping delivery applies only the new tail.
    let results = replica.apply(&view(&log[1..])).unwrap();
    assert_eq!(results, vec![(4, None, applied(1))]);
    assert_eq!(count(&reader, "SELECT count(*) FROM main.t"), 3);
    assert_eq!(replica.applied_index(), 4);
}

#[test]
fn replica_file_backed_state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.duckdb");
    let log = numbered(
        1,
        vec![
            write(None, vec![sql("CREATE TABLE main.t (a INTEGER)")]),
            write(
                Some((9, 1)),
                vec![sql("INSERT INTO main.t VALUES (1), (2)")],
            ),
            Vec::new(),
        ],
    );
    let hash = {
        let mut replica = Replica::open(Connection::open(&path).unwrap()).unwrap();
        replica.apply(&view(&log)).unwrap();
        assert_eq!(replica.applied_index(), 3);
        replica.state_hash().unwrap()
    };
    let conn = Connection::open(&path).unwrap();
    let reader = conn.try_clone().unwrap();
    let mut replica = Replica::open(conn).unwrap();
    assert_eq!(replica.applied_index(), 3);
    assert_eq!(replica.state_hash().unwrap(), hash);
    assert_eq!(count(&reader, "SELECT sum(a) FROM main.t"), 3);
    // Redelivered entries stay applied once; dedup state survived too.
    assert_eq!(replica.apply(&view(&log)).unwrap(), vec![]);
    let retry = numbered(
        4,
        vec![write(
            Some((9, 1)),
            vec![sql("INSERT INTO main.t VALUES (1), (2)")],
        )],
    );
    assert_eq!(
        replica.apply(&view(&retry)).unwrap(),
        vec![(
            4,
            Some(ProposalId { client: 9, seq: 1 }),
            Outcome::Duplicate(Box::new(applied(2)))
        )]
    );
    assert_eq!(count(&reader, "SELECT count(*) FROM main.t"), 2);
}

#[test]
fn replica_gap_is_an_error_and_applies_nothing() {
    let (mut replica, reader) = memory_replica();
    let create = write(None, vec![sql("CREATE TABLE main.t (a INTEGER)")]);
    let log: Log = vec![(2, 1, create.clone())];
    assert_eq!(
        replica.apply(&view(&log)),
        Err(ReplicaError::Gap {
            expected: 1,
            got: 2
        })
    );
    let log: Log = vec![(1, 1, create.clone()), (3, 1, Vec::new())];
    assert_eq!(
        replica.apply(&view(&log)),
        Err(ReplicaError::Gap {
            expected: 2,
            got: 3
        })
    );
    // Out of order is a gap too.
    let log: Log = vec![
        (1, 1, create.clone()),
        (2, 1, Vec::new()),
        (1, 1, create.clone()),
    ];
    assert!(matches!(
        replica.apply(&view(&log)),
        Err(ReplicaError::Gap { .. })
    ));
    // A term going backwards.
    let log: Log = vec![(1, 2, create.clone()), (2, 1, Vec::new())];
    assert!(matches!(
        replica.apply(&view(&log)),
        Err(ReplicaError::TermRegression { index: 2, .. })
    ));
    // An undecodable entry: nothing of the call is applied, not even the prefix.
    let log: Log = vec![(1, 1, create.clone()), (2, 1, vec![2, b'{', b'}'])];
    assert_eq!(
        replica.apply(&view(&log)),
        Err(ReplicaError::Decode {
            index: 2,
            error: DecodeError::UnknownVersion(2)
        })
    );
    assert_eq!(replica.applied_index(), 0);
    assert_eq!(
        count(
            &reader,
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'"
        ),
        0
    );
    // None of these poisoned the replica: the right log still applies.
    let log: Log = vec![(1, 1, create)];
    assert_eq!(replica.apply(&view(&log)).unwrap().len(), 1);
}

/// A log with failures at several positions, including an entry whose first
/// op succeeds and second fails, a failure at the very end, and a misrouted
/// control command.
fn log_with_failures() -> Log {
    numbered(
        1,
        vec![
            write(
                None,
                vec![sql(
                    "CREATE TABLE main.t (k INTEGER PRIMARY KEY, v VARCHAR NOT NULL)",
                )],
            ),
            write(
                Some((1, 1)),
                vec![sql("INSERT INTO main.t VALUES (1, 'a')")],
            ),
            // Duplicate key: fails.
            write(
                Some((2, 1)),
                vec![sql("INSERT INTO main.t VALUES (1, 'b')")],
            ),
            // First op fine, second fails: the first must leave no trace.
            write(
                Some((1, 2)),
                vec![
                    sql("INSERT INTO main.t VALUES (10, 'x')"),
                    sql("INSERT INTO main.t VALUES (11, NULL)"),
                ],
            ),
            write(None, vec![sql("INSERT INTO main.t VALUES (2, 'c')")]),
            command::encode(&Envelope {
                id: Some(ProposalId { client: 3, seq: 1 }),
                command: Command::Control(ControlCommand::CreateCatalog { name: "x".into() }),
            }),
            Vec::new(),
            // Transaction control inside an op must never end the apply transaction.
            write(None, vec![sql("COMMIT")]),
            write(
                None,
                vec![sql("INSERT INTO main.t VALUES (3, 'd'); DROP TABLE main.t")],
            ),
            write(
                None,
                vec![sql("UPDATE main.t SET v = v || '!' WHERE k = 2")],
            ),
            write(
                None,
                vec![WriteOp::Rows(RowBatch {
                    table: "main.t".into(),
                    columns: vec!["k".into(), "v".into()],
                    rows: vec![
                        vec![Value::Int4(20), Value::Text("r".into())],
                        vec![Value::Text("not a number".into()), Value::Text("s".into())],
                    ],
                })],
            ),
            write(None, vec![sql("SELECT * FROM main.missing")]),
        ],
    )
}

#[test]
fn replica_failing_entries_fall_back_and_replicas_agree() {
    let log = log_with_failures();
    let all = view(&log);

    // Replica A: the whole log in one call (one coalesced group).
    let (mut a, reader) = memory_replica();
    let results_a = a.apply(&all).unwrap();
    // Replica B: one entry per call.
    let (mut b, _) = memory_replica();
    let mut results_b = Vec::new();
    for entry in &all {
        results_b.extend(b.apply(std::slice::from_ref(entry)).unwrap());
    }
    // Replica C: uneven batches, some redelivered.
    let (mut c, _) = memory_replica();
    let mut results_c = Vec::new();
    for range in [0..2, 0..5, 3..8, 8..12] {
        results_c.extend(c.apply(&all[range]).unwrap());
    }

    assert_eq!(results_a, results_b);
    assert_eq!(results_a, results_c);
    let outcomes: Vec<&Outcome> = results_a.iter().map(|(_, _, o)| o).collect();
    assert_eq!(outcomes.len(), 12);
    assert_eq!(outcomes[0], &applied(0));
    assert_eq!(outcomes[1], &applied(1));
    assert_eq!(sqlstate(outcomes[2]), "23505");
    assert_eq!(sqlstate(outcomes[3]), "23502");
    assert_eq!(outcomes[4], &applied(1));
    assert_eq!(sqlstate(outcomes[5]), CONTROL_MISROUTED_SQLSTATE);
    assert_eq!(outcomes[6], &Outcome::Noop);
    assert_eq!(sqlstate(outcomes[7]), "0A000");
    assert_eq!(sqlstate(outcomes[8]), "42601");
    assert_eq!(outcomes[9], &applied(1));
    assert_eq!(sqlstate(outcomes[10]), "22P02");
    assert_eq!(sqlstate(outcomes[11]), "42P01");

    for replica in [&a, &b, &c] {
        assert_eq!(replica.applied_index(), 12);
    }
    assert_eq!(
        query_strings(&reader, "SELECT k || '=' || v FROM main.t ORDER BY k"),
        ["1=a", "2=c!"]
    );
    let hash = a.state_hash().unwrap();
    assert_eq!(b.state_hash().unwrap(), hash);
    assert_eq!(c.state_hash().unwrap(), hash);

    // Failed proposals are remembered too: a retry gets the same failure.
    let retry = numbered(
        13,
        vec![write(
            Some((2, 1)),
            vec![sql("INSERT INTO main.t VALUES (1, 'b')")],
        )],
    );
    let results = a.apply(&view(&retry)).unwrap();
    assert_eq!(
        results[0].2,
        Outcome::Duplicate(Box::new(outcomes[2].clone()))
    );
}

#[test]
fn replica_dedup_answers_retries_without_applying_twice() {
    let (mut replica, reader) = memory_replica();
    let insert = |id: (u64, u64), v: i32| {
        write(
            Some(id),
            vec![sql(&format!("INSERT INTO main.t VALUES ({v})"))],
        )
    };
    let log = numbered(
        1,
        vec![
            write(None, vec![sql("CREATE TABLE main.t (a INTEGER)")]),
            insert((5, 1), 1),
            // Retry inside the same group.
            insert((5, 1), 1),
            insert((6, 1), 100),
            insert((5, 2), 2),
        ],
    );
    let results = replica.apply(&view(&log)).unwrap();
    let outcomes: Vec<Outcome> = results.into_iter().map(|(_, _, o)| o).collect();
    assert_eq!(
        outcomes,
        vec![
            applied(0),
            applied(1),
            Outcome::Duplicate(Box::new(applied(1))),
            applied(1),
            applied(1),
        ]
    );
    // Retries in a later call: the latest proposal gets its stored answer, an
    // older one is not applied and reports that its outcome is unknown.
    let log = numbered(
        6,
        vec![insert((5, 2), 2), insert((5, 1), 1), insert((6, 1), 100)],
    );
    let outcomes = outcomes_of(&mut replica, &log);
    assert_eq!(outcomes[0], Outcome::Duplicate(Box::new(applied(1))));
    let Outcome::Duplicate(stale) = &outcomes[1] else {
        panic!("expected duplicate, got {:?}", outcomes[1]);
    };
    assert_eq!(sqlstate(stale), STALE_RETRY_SQLSTATE);
    assert_eq!(outcomes[2], Outcome::Duplicate(Box::new(applied(1))));
    assert_eq!(
        query_strings(&reader, "SELECT CAST(a AS VARCHAR) FROM main.t ORDER BY a"),
        ["1", "2", "100"]
    );
    assert_eq!(replica.applied_index(), 8);
    // Dedup records live in the bookkeeping schema: in each apply
    // transaction's `apply_log` row, folded into the table by a checkpoint.
    let logged = || {
        query_strings(
            &reader,
            "SELECT r->>0 || ':' || (r->>1) FROM (
                 SELECT unnest(clients::JSON[]) AS r, idx FROM __duckraft.apply_log)
             ORDER BY idx, r->>0",
        )
    };
    let folded = || {
        query_strings(
            &reader,
            "SELECT client || ':' || seq FROM __duckraft.clients ORDER BY client",
        )
    };
    // One record per client and transaction: the whole first call was one,
    // and the second (all duplicates) changed none.
    assert_eq!(logged(), ["5:2", "6:1"]);
    assert!(folded().is_empty());
    replica.checkpoint().unwrap();
    assert_eq!(folded(), ["5:2", "6:1"]);
    assert!(logged().is_empty());
}

/// The bookkeeping log folds into its tables once it is long, and
/// whether a record was folded or not, a reopened replica answers retries
/// and checks conflicts from the newest one.
#[test]
fn bookkeeping_logs_fold_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let insert = |client: u64, seq: u64| {
        command::encode(&Envelope {
            id: Some(ProposalId { client, seq }),
            command: Command::Catalog(WriteBatch::autocommit(
                vec!["t".into()],
                vec![sql(&format!("INSERT INTO main.t VALUES ({client}, {seq})"))],
            )),
        })
    };
    let mut entries = vec![write(
        None,
        vec![sql("CREATE TABLE main.t (client UBIGINT, seq UBIGINT)")],
    )];
    // A client record per entry (each its own client) and a version per
    // transaction: past the fold threshold, with some left in the logs.
    let total = duckraft_engine::replica::FOLD_LOG_ROWS + 600;
    for seq in 1..=total {
        entries.push(insert(seq, seq));
    }
    let log = numbered(1, entries);
    let all = view(&log);
    {
        let mut replica = Replica::open(Connection::open(&path).unwrap()).unwrap();
        for chunk in all.chunks(500) {
            replica.apply(chunk).unwrap();
        }
    }
    let conn = Connection::open(&path).unwrap();
    let reader = conn.try_clone().unwrap();
    let folded = count(&reader, "SELECT count(*) FROM __duckraft.clients");
    let left = count(
        &reader,
        "SELECT coalesce(sum(json_array_length(clients)), 0)::BIGINT FROM __duckraft.apply_log",
    );
    assert!(
        folded > 0 && left > 0,
        "{folded} records folded, {left} in the log"
    );
    assert_eq!(folded + left, total as i64);

    let mut replica = Replica::open(conn).unwrap();
    // The newest proposal of each client is answered from its record,
    // folded or not; an older one is known to be stale.
    let retries = numbered(
        total + 2,
        vec![insert(1, 1), insert(total, total), insert(total, total - 1)],
    );
    let outcomes = outcomes_of(&mut replica, &retries);
    assert_eq!(outcomes[0], Outcome::Duplicate(Box::new(applied(1))));
    assert_eq!(outcomes[1], Outcome::Duplicate(Box::new(applied(1))));
    let Outcome::Duplicate(stale) = &outcomes[2] else {
        panic!("expected duplicate, got {:?}", outcomes[2]);
    };
    assert_eq!(sqlstate(stale), STALE_RETRY_SQLSTATE);
    // A transaction whose snapshot predates the newest write of main.t
    // conflicts: the relation's version came back from the log.
    let conflicting = numbered(
        total + 5,
        vec![transaction(
            (total + 1, 1),
            total,
            &["t"],
            &["t"],
            vec![sql("INSERT INTO main.t VALUES (99, 1)")],
        )],
    );
    let outcome = &replica.apply(&view(&conflicting)).unwrap()[0].2;
    assert_eq!(sqlstate(outcome), "40001", "{outcome:?}");
    assert_eq!(count(&reader, "SELECT count(*) FROM main.t"), total as i64);
}

/// A file whose bookkeeping predates `apply_log` (an `applied` row updated
/// per transaction, and two record logs) opens with its applied index,
/// dedup records and relation versions intact, newest record first, and
/// afterwards refuses the read an older binary would start from.
#[test]
fn bookkeeping_from_before_apply_log_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = Connection::open(&path).unwrap();
    old.execute_batch(
        "CREATE SCHEMA __duckraft;
         CREATE TABLE __duckraft.applied (
             id INTEGER PRIMARY KEY CHECK (id = 0), idx UBIGINT NOT NULL, term UBIGINT NOT NULL);
         INSERT INTO __duckraft.applied VALUES (0, 7, 1);
         CREATE TABLE __duckraft.clients (
             client UBIGINT PRIMARY KEY, seq UBIGINT NOT NULL, outcome VARCHAR NOT NULL);
         CREATE TABLE __duckraft.relation_versions (name VARCHAR PRIMARY KEY, idx UBIGINT NOT NULL);
         CREATE TABLE __duckraft.client_log (
             client UBIGINT NOT NULL, seq UBIGINT NOT NULL, outcome VARCHAR NOT NULL);
         CREATE TABLE __duckraft.relation_version_log (name VARCHAR NOT NULL, idx UBIGINT NOT NULL);
         CREATE TABLE __duckraft.replica_of (
             id INTEGER PRIMARY KEY CHECK (id = 0), group_id UBIGINT NOT NULL);
         CREATE TABLE main.t (a INTEGER);
         INSERT INTO main.t VALUES (1), (2);
         INSERT INTO __duckraft.relation_versions VALUES ('*', 1), ('t', 2);
         INSERT INTO __duckraft.relation_version_log VALUES ('t', 7);",
    )
    .unwrap();
    // Client 5's newest record is in the log, client 6's only in the table.
    let outcome = |rows: u64| format!(r#"{{"applied":{{"rows":{rows}}}}}"#);
    old.execute(
        "INSERT INTO __duckraft.clients VALUES (5, 1, ?), (6, 3, ?)",
        [outcome(1), outcome(1)],
    )
    .unwrap();
    old.execute(
        "INSERT INTO __duckraft.client_log VALUES (5, 2, ?)",
        [outcome(1)],
    )
    .unwrap();
    drop(old);

    let conn = Connection::open(&path).unwrap();
    let reader = conn.try_clone().unwrap();
    let mut replica = Replica::open(conn).unwrap();
    assert_eq!((replica.applied_index(), replica.applied_term()), (7, 1));
    let insert = |client: u64, seq: u64, value: i64| {
        write(
            Some((client, seq)),
            vec![sql(&format!("INSERT INTO main.t VALUES ({value})"))],
        )
    };
    let log = numbered(
        8,
        vec![
            insert(5, 2, 50),
            insert(6, 3, 60),
            transaction(
                (7, 1),
                6,
                &["t"],
                &["t"],
                vec![sql("INSERT INTO main.t VALUES (70)")],
            ),
        ],
    );
    let outcomes = outcomes_of(&mut replica, &log);
    assert!(matches!(outcomes[0], Outcome::Duplicate(_)), "{outcomes:?}");
    assert!(matches!(outcomes[1], Outcome::Duplicate(_)), "{outcomes:?}");
    assert_eq!(sqlstate(&outcomes[2]), "40001", "{outcomes:?}");
    assert_eq!(count(&reader, "SELECT count(*) FROM main.t"), 2);
    assert_eq!(
        count(
            &reader,
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = '__duckraft' \
             AND table_name IN ('client_log', 'relation_version_log')"
        ),
        0
    );
    let older_binary = reader.prepare("SELECT id, idx, term FROM __duckraft.applied");
    assert!(
        older_binary.is_err(),
        "an older binary could read a stale index"
    );
    drop(replica);
    let replica = Replica::open(Connection::open(&path).unwrap()).unwrap();
    assert_eq!(replica.applied_index(), 10);
}

/// Applies `statements` (one entry each) to a fresh replica and hashes it.
fn hash_of(statements: &[&str]) -> String {
    let (mut replica, _) = memory_replica();
    let log = numbered(
        1,
        statements
            .iter()
            .map(|s| write(None, vec![sql(s)]))
            .collect(),
    );
    for (_, _, outcome) in replica.apply(&view(&log)).unwrap() {
        assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    }
    replica.state_hash().unwrap()
}

#[test]
fn replica_state_hash_is_canonical_and_sensitive() {
    let create = "CREATE TABLE main.t (a INTEGER, b VARCHAR)";
    let base = hash_of(&[
        create,
        "INSERT INTO main.t VALUES (1, 'x'), (2, NULL), (3, 'z')",
    ]);
    assert_eq!(base.len(), 64);
    // Insertion order does not matter.
    assert_eq!(
        hash_of(&[
            create,
            "INSERT INTO main.t VALUES (3, 'z')",
            "INSERT INTO main.t VALUES (2, NULL), (1, 'x')",
        ]),
        base
    );
    // Rows reaching the same state through updates and deletes hash the same.
    assert_eq!(
        hash_of(&[
            create,
            "INSERT INTO main.t VALUES (9, 'q'), (1, 'x'), (2, 'y'), (3, 'z')",
            "UPDATE main.t SET b = NULL WHERE a = 2",
            "DELETE FROM main.t WHERE a = 9",
        ]),
        base
    );
    let variants = [
        // One changed value.
        vec![
            create,
            "INSERT INTO main.t VALUES (1, 'x'), (2, NULL), (3, 'Z')",
        ],
        // NULL versus the text 'NULL'.
        vec![
            create,
            "INSERT INTO main.t VALUES (1, 'x'), (2, 'NULL'), (3, 'z')",
        ],
        // One column type.
        vec![
            "CREATE TABLE main.t (a BIGINT, b VARCHAR)",
            "INSERT INTO main.t VALUES (1, 'x'), (2, NULL), (3, 'z')",
        ],
        // Nullability.
        vec![
            "CREATE TABLE main.t (a INTEGER NOT NULL, b VARCHAR)",
            "INSERT INTO main.t VALUES (1, 'x'), (2, NULL), (3, 'z')",
        ],
        // A column name.
        vec![
            "CREATE TABLE main.t (a INTEGER, c VARCHAR)",
            "INSERT INTO main.t VALUES (1, 'x'), (2, NULL), (3, 'z')",
        ],
        // The table name.
        vec![
            "CREATE TABLE main.u (a INTEGER, b VARCHAR)",
            "INSERT INTO main.u VALUES (1, 'x'), (2, NULL), (3, 'z')",
        ],
        // The schema.
        vec![
            "CREATE SCHEMA s",
            "CREATE TABLE s.t (a INTEGER, b VARCHAR)",
            "INSERT INTO s.t VALUES (1, 'x'), (2, NULL), (3, 'z')",
        ],
        // An extra duplicate row.
        vec![
            create,
            "INSERT INTO main.t VALUES (1, 'x'), (2, NULL), (3, 'z'), (3, 'z')",
        ],
        // An extra empty table and an extra empty schema.
        vec![
            create,
            "INSERT INTO main.t VALUES (1, 'x'), (2, NULL), (3, 'z')",
            "CREATE TABLE main.e (a INTEGER)",
        ],
        vec![
            create,
            "INSERT INTO main.t VALUES (1, 'x'), (2, NULL), (3, 'z')",
            "CREATE SCHEMA empty",
        ],
    ];
    let mut seen = vec![base.clone()];
    for statements in &variants {
        let hash = hash_of(statements);
        assert!(!seen.contains(&hash), "{statements:?} collides");
        seen.push(hash);
    }
    // Framing: cell boundaries are unambiguous, even for cells that contain
    // the bytes of a cell separator (`v` kind byte, 0x01 value tag).
    let two = "CREATE TABLE main.t (a VARCHAR, b VARCHAR)";
    assert_ne!(
        hash_of(&[two, "INSERT INTO main.t VALUES ('ab', 'c')"]),
        hash_of(&[two, "INSERT INTO main.t VALUES ('a', 'bc')"])
    );
    assert_ne!(
        hash_of(&[
            two,
            "INSERT INTO main.t VALUES ('a', 'b' || chr(118) || chr(1) || 'c')"
        ]),
        hash_of(&[
            two,
            "INSERT INTO main.t VALUES ('a' || chr(118) || chr(1) || 'b', 'c')"
        ])
    );
    // Bookkeeping is excluded: extra no-op entries and dedup rows change nothing.
    let (mut replica, _) = memory_replica();
    let log = numbered(
        1,
        vec![
            Vec::new(),
            write(Some((4, 1)), vec![sql(create)]),
            Vec::new(),
            write(
                Some((4, 2)),
                vec![sql(
                    "INSERT INTO main.t VALUES (3, 'z'), (1, 'x'), (2, NULL)",
                )],
            ),
        ],
    );
    replica.apply(&view(&log)).unwrap();
    assert_eq!(replica.state_hash().unwrap(), base);
}

#[test]
fn replica_noop_entries_advance_applied_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noop.duckdb");
    let mut replica = Replica::open(Connection::open(&path).unwrap()).unwrap();
    let empty_hash = replica.state_hash().unwrap();
    let log: Log = vec![(1, 1, Vec::new()), (2, 2, Vec::new()), (3, 2, Vec::new())];
    let results = replica.apply(&view(&log)).unwrap();
    assert_eq!(
        results,
        vec![
            (1, None, Outcome::Noop),
            (2, None, Outcome::Noop),
            (3, None, Outcome::Noop),
        ]
    );
    assert_eq!(replica.applied_index(), 3);
    assert_eq!(replica.applied_term(), 2);
    assert_eq!(replica.state_hash().unwrap(), empty_hash);
    drop(replica);
    let replica = Replica::open(Connection::open(&path).unwrap()).unwrap();
    assert_eq!(replica.applied_index(), 3);
    assert_eq!(replica.applied_term(), 2);
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// An interactive transaction's entry: read at `snapshot`, read `reads`.
fn transaction(
    id: (u64, u64),
    snapshot: u64,
    reads: &[&str],
    writes: &[&str],
    ops: Vec<WriteOp>,
) -> Vec<u8> {
    command::encode(&Envelope {
        id: Some(ProposalId {
            client: id.0,
            seq: id.1,
        }),
        command: Command::Catalog(WriteBatch {
            snapshot_index: Some(snapshot),
            read_set: names(reads),
            write_set: names(writes),
            ops,
            integer_division: false,
        }),
    })
}

fn transaction_log() -> Log {
    numbered(
        1,
        vec![
            write(None, vec![sql("CREATE TABLE main.t (a INTEGER)")]),
            write(None, vec![sql("CREATE TABLE main.s (a INTEGER)")]),
            // 3: read t at 2, nothing changed since: applies.
            transaction(
                (1, 1),
                2,
                &["t"],
                &["t"],
                vec![sql("INSERT INTO main.t SELECT count(*) FROM main.t")],
            ),
            // 4: read t at 2, but 3 wrote t: conflict, no effect.
            transaction(
                (2, 1),
                2,
                &["t"],
                &["t"],
                vec![sql("INSERT INTO main.t VALUES (40)")],
            ),
            // 5: read s at 2 and wrote s: t's change is no conflict.
            transaction(
                (3, 1),
                2,
                &["s"],
                &["s"],
                vec![sql("INSERT INTO main.s VALUES (5)")],
            ),
            // 6: read s at 1: the schema changed at 2 (DDL writes `*`).
            transaction(
                (4, 1),
                1,
                &["s"],
                &["s"],
                vec![sql("INSERT INTO main.s VALUES (6)")],
            ),
            // 7: an autocommit write whose target is named.
            command::encode(&Envelope {
                id: None,
                command: Command::Catalog(WriteBatch::autocommit(
                    names(&["s"]),
                    vec![sql("INSERT INTO main.s VALUES (7)")],
                )),
            }),
            // 8: blind write at 3 (reads nothing): no check to fail.
            transaction(
                (5, 1),
                3,
                &[],
                &["t"],
                vec![sql("INSERT INTO main.t VALUES (8)")],
            ),
            // 9: read everything at 7; 8 wrote t after it.
            transaction(
                (6, 1),
                7,
                &["*"],
                &["s"],
                vec![sql("INSERT INTO main.s VALUES (9)")],
            ),
            // 10: a failing transaction bumps nothing: 11 reads t at 9 and applies.
            transaction(
                (7, 1),
                9,
                &["t"],
                &["t"],
                vec![
                    sql("INSERT INTO main.t VALUES (10)"),
                    sql("INSERT INTO main.nope VALUES (1)"),
                ],
            ),
            transaction(
                (8, 1),
                9,
                &["t"],
                &["t"],
                vec![sql("INSERT INTO main.t VALUES (11)")],
            ),
        ],
    )
}

/// A fresh replica that applied `entries` one call each, and the results.
fn apply_one_by_one(
    entries: &[Committed<'_>],
) -> (Replica, Vec<(u64, Option<ProposalId>, Outcome)>) {
    let (mut replica, _) = memory_replica();
    let mut results = Vec::new();
    for entry in entries {
        results.extend(replica.apply(std::slice::from_ref(entry)).unwrap());
    }
    (replica, results)
}

#[test]
fn replica_transaction_conflict_check_is_deterministic_and_durable() {
    let log = transaction_log();
    let all = view(&log);
    let (mut grouped, reader) = memory_replica();
    let results = grouped.apply(&all).unwrap();
    let (single, one_by_one) = apply_one_by_one(&all);
    assert_eq!(results, one_by_one);
    let outcomes: Vec<&Outcome> = results.iter().map(|(_, _, o)| o).collect();
    assert_eq!(outcomes[2], &applied(1));
    assert_eq!(sqlstate(outcomes[3]), "40001");
    match outcomes[3] {
        Outcome::Failed { message, .. } => {
            assert!(message.contains("conflict"), "{message}");
            assert!(message.contains("\"t\""), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(outcomes[4], &applied(1));
    assert_eq!(sqlstate(outcomes[5]), "40001");
    assert_eq!(outcomes[6], &applied(1));
    assert_eq!(outcomes[7], &applied(1));
    assert_eq!(sqlstate(outcomes[8]), "40001");
    assert_eq!(sqlstate(outcomes[9]), "42P01");
    assert_eq!(outcomes[10], &applied(1));
    assert_eq!(
        query_strings(
            &reader,
            "SELECT string_agg(a::VARCHAR, ',' ORDER BY a) FROM main.t"
        ),
        ["0,8,11"]
    );
    assert_eq!(
        query_strings(
            &reader,
            "SELECT string_agg(a::VARCHAR, ',' ORDER BY a) FROM main.s"
        ),
        ["5,7"]
    );
    assert_eq!(grouped.state_hash().unwrap(), single.state_hash().unwrap());
}

#[test]
fn replica_relation_versions_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.duckdb");
    let log = transaction_log();
    {
        let mut replica = Replica::open(Connection::open(&path).unwrap()).unwrap();
        replica.apply(&view(&log)).unwrap();
    }
    let mut replica = Replica::open(Connection::open(&path).unwrap()).unwrap();
    // t was last written by 11, s by 7.
    let next = numbered(
        12,
        vec![
            transaction((9, 1), 10, &["t"], &["t"], vec![sql("DELETE FROM main.t")]),
            transaction((10, 1), 10, &["s"], &["s"], vec![sql("DELETE FROM main.s")]),
        ],
    );
    let results = replica.apply(&view(&next)).unwrap();
    assert_eq!(sqlstate(&results[0].2), "40001");
    assert_eq!(results[1].2, applied(2));
}

#[test]
fn replica_local_write_conflict_is_retryable_not_poison() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.duckdb");
    let conn = Connection::open(&path).unwrap();
    let tentative = conn.try_clone().unwrap();
    let mut replica = Replica::open(conn).unwrap();
    let setup = numbered(
        1,
        vec![write(
            None,
            vec![
                sql("CREATE TABLE main.t (id INTEGER PRIMARY KEY, v INTEGER)"),
                sql("INSERT INTO main.t VALUES (1, 1)"),
            ],
        )],
    );
    replica.apply(&view(&setup)).unwrap();
    // A session's uncommitted update holds the row.
    tentative
        .execute_batch("BEGIN TRANSACTION; UPDATE main.t SET v = 100 WHERE id = 1;")
        .unwrap();
    let update = numbered(
        2,
        vec![write(
            Some((1, 1)),
            vec![sql("UPDATE main.t SET v = v + 1 WHERE id = 1")],
        )],
    );
    match replica.apply(&view(&update)) {
        Err(ReplicaError::LocalConflict { index: 2, .. }) => {}
        other => panic!("expected a local conflict, got {other:?}"),
    }
    assert_eq!(replica.applied_index(), 1);
    // The session's transaction ends; the same entry now applies exactly once.
    tentative.execute_batch("ROLLBACK").unwrap();
    assert_eq!(
        replica.apply(&view(&update)).unwrap(),
        vec![(2, Some(ProposalId { client: 1, seq: 1 }), applied(1))]
    );
    assert_eq!(
        count(&tentative, "SELECT v FROM main.t WHERE id = 1"),
        2,
        "applied once, on the committed value"
    );
}

#[test]
fn a_catalog_file_stays_bound_to_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.duckdb");
    {
        let mut replica = Replica::open(Connection::open(&path).unwrap()).unwrap();
        assert_eq!(replica.bound_group().unwrap(), None);
        replica.bind_group(12).unwrap();
        replica.bind_group(12).unwrap();
    }
    let mut replica = Replica::open(Connection::open(&path).unwrap()).unwrap();
    assert_eq!(replica.bound_group().unwrap(), Some(12));
    let error = replica.bind_group(31).unwrap_err().to_string();
    assert!(error.contains("group 12"), "{error}");
}

fn positional(table: &str, rows: Vec<Vec<Value>>) -> WriteOp {
    WriteOp::Rows(RowBatch {
        table: table.into(),
        columns: Vec::new(),
        rows,
    })
}

/// Row batches without a column list fill every column in order, as
/// `INSERT INTO t VALUES (...)` does, against the table as it is when the
/// entry applies: the statement the apply caches per text follows a column
/// added in between, and a batch of the old width then fails as the
/// statement would (and alone, in any coalescing).
#[test]
fn positional_row_batches_follow_the_table_as_applied() {
    let int = |v: i32| Value::Int4(v);
    let text = |v: &str| Value::Text(v.into());
    let log = numbered(
        1,
        vec![
            write(
                None,
                vec![sql(
                    "CREATE TABLE main.p (k INTEGER PRIMARY KEY, v VARCHAR)",
                )],
            ),
            write(
                None,
                vec![positional("main.p", vec![vec![int(1), text("a")]])],
            ),
            write(
                None,
                vec![positional(
                    "p",
                    vec![vec![int(2), text("b")], vec![int(3), Value::Null]],
                )],
            ),
            write(
                None,
                vec![positional("main.p", vec![vec![int(1), text("dup")]])],
            ),
            write(
                None,
                vec![sql("ALTER TABLE main.p ADD COLUMN w INTEGER DEFAULT 7")],
            ),
            write(
                None,
                vec![positional("main.p", vec![vec![int(4), text("d")]])],
            ),
            write(
                None,
                vec![positional("main.p", vec![vec![int(5), text("e"), int(9)]])],
            ),
            write(
                None,
                vec![positional("main.p", vec![vec![int(6)], vec![int(7)]])],
            ),
            write(None, vec![positional("main.p", Vec::new())]),
        ],
    );
    let all = view(&log);
    let (mut coalesced, reader) = memory_replica();
    let results = coalesced.apply(&all).unwrap();
    let (single, one_by_one) = apply_one_by_one(&all);
    assert_eq!(results, one_by_one);
    let outcomes: Vec<&Outcome> = results.iter().map(|(_, _, o)| o).collect();
    assert_eq!(outcomes[1], &applied(1));
    assert_eq!(outcomes[2], &applied(2));
    assert_eq!(sqlstate(outcomes[3]), "23505");
    assert_eq!(sqlstate(outcomes[5]), "42601", "{:?}", outcomes[5]);
    assert_eq!(outcomes[6], &applied(1));
    assert_eq!(sqlstate(outcomes[7]), "42601", "{:?}", outcomes[7]);
    assert_eq!(sqlstate(outcomes[8]), "XX000", "no columns, no rows");
    assert_eq!(
        query_strings(
            &reader,
            "SELECT k || '=' || coalesce(v, 'null') || '/' || coalesce(w::VARCHAR, 'null') \
             FROM main.p ORDER BY k"
        ),
        ["1=a/7", "2=b/7", "3=null/7", "5=e/9"]
    );
    assert_eq!(
        coalesced.state_hash().unwrap(),
        single.state_hash().unwrap()
    );
}

fn rows_of(table: &str, rows: Vec<Vec<Value>>) -> WriteOp {
    WriteOp::Rows(RowBatch {
        table: table.into(),
        columns: vec!["k".into(), "v".into()],
        rows,
    })
}

/// Row batches of consecutive entries are inserted together. Whatever the
/// grouping, every entry's outcome, the rows, their insertion order and
/// what a statement between them sees are those of applying the entries
/// one by one; a failing batch fails alone, however many entries its rows
/// were merged with.
#[test]
fn merged_row_batches_apply_as_one_by_one() {
    let row = |k: i32, v: Option<&str>| {
        vec![
            Value::Int4(k),
            v.map_or(Value::Null, |v| Value::Text(v.into())),
        ]
    };
    let mut entries: Vec<Vec<u8>> = [
        "CREATE TABLE main.m (k INTEGER PRIMARY KEY, v VARCHAR NOT NULL)",
        "CREATE TABLE main.counts (pos INTEGER, seen BIGINT)",
    ]
    .map(|ddl| write(None, vec![sql(ddl)]))
    .into();
    for k in 0..120 {
        let one = match k {
            40 => row(5, Some("duplicate")),
            80 => row(1000, None),
            _ => row(k, Some("one")),
        };
        entries.push(write(
            Some((k as u64 + 1, 1)),
            vec![rows_of("main.m", vec![one])],
        ));
        if k == 60 {
            entries.push(write(
                None,
                vec![sql(
                    "INSERT INTO main.counts SELECT 60, count(*) FROM main.m",
                )],
            ));
        }
        if k == 90 {
            let many = (0..300).map(|i| row(2000 + i, Some("many"))).collect();
            entries.push(write(None, vec![rows_of("main.m", many)]));
            // Another target in between, then a batch whose last row fails.
            entries.push(write(
                None,
                vec![sql("INSERT INTO main.counts VALUES (90, 0)")],
            ));
            let mut failing: Vec<_> = (0..37).map(|i| row(3000 + i, Some("x"))).collect();
            failing.push(row(2001, Some("duplicate")));
            entries.push(write(None, vec![rows_of("main.m", failing)]));
        }
    }
    let log = numbered(1, entries);
    let all = view(&log);

    let (single, one_by_one) = apply_one_by_one(&all);
    let (mut whole, reader) = memory_replica();
    let results = whole.apply(&all).unwrap();
    assert_eq!(results, one_by_one);
    let (mut uneven, _) = memory_replica();
    let mut uneven_results = Vec::new();
    for range in [0..3, 3..50, 50..64, 64..95, 95..all.len()] {
        uneven_results.extend(uneven.apply(&all[range]).unwrap());
    }
    assert_eq!(uneven_results, one_by_one);

    let failures: Vec<(u64, &str)> = results
        .iter()
        .filter(|(_, _, o)| matches!(o, Outcome::Failed { .. }))
        .map(|(index, _, o)| (*index, sqlstate(o)))
        .collect();
    assert_eq!(failures, [(43, "23505"), (84, "23502"), (97, "23505")]);
    assert_eq!(
        count(&reader, "SELECT seen FROM main.counts WHERE pos = 60"),
        60,
        "the statement saw every row inserted before it, and none after"
    );
    assert_eq!(count(&reader, "SELECT count(*) FROM main.m"), 118 + 300);
    assert_eq!(
        count(
            &reader,
            "SELECT count(*) FROM (SELECT k, row_number() OVER (ORDER BY rowid) AS r, \
             row_number() OVER (ORDER BY CASE WHEN k >= 2000 THEN 90.5 ELSE k END, k) AS e \
             FROM main.m) WHERE r <> e"
        ),
        0,
        "rows are numbered in log order"
    );
    let hash = single.state_hash().unwrap();
    assert_eq!(whole.state_hash().unwrap(), hash);
    assert_eq!(uneven.state_hash().unwrap(), hash);
}

/// A literal `INSERT ... VALUES` travels as a typed row batch
/// (`duckraft_sql::values_insert`): for every column type and every literal
/// recognised, the batch must do what the statement does, including failing
/// the same way.
#[test]
fn literal_inserts_as_row_batches_apply_as_their_statements() {
    use duckraft_sql::values_insert::values_insert;
    const TABLE: &str = "CREATE TABLE main.lit (b BOOLEAN, i1 TINYINT, i2 SMALLINT, \
        i4 INTEGER, i8 BIGINT, hi HUGEINT, u4 UINTEGER, f4 REAL, f8 DOUBLE, n DECIMAL(10,3), \
        t VARCHAR, bin BLOB, d DATE, tm TIME, ts TIMESTAMP, tstz TIMESTAMPTZ, iv INTERVAL, \
        u UUID, j JSON, arr INTEGER[], st STRUCT(a INTEGER, b VARCHAR), \
        k INTEGER PRIMARY KEY)";
    let columns = [
        "b", "i1", "i2", "i4", "i8", "hi", "u4", "f4", "f8", "n", "t", "bin", "d", "tm", "ts",
        "tstz", "iv", "u", "j", "arr", "st",
    ];
    let literals = [
        "0",
        "1",
        "-1",
        "300",
        "-9223372036854775808",
        "9223372036854775807",
        "'1'",
        "'-7'",
        "'1.5'",
        "'abc'",
        "''",
        "'it''s'",
        "'true'",
        "'2024-02-29'",
        "'2024-02-29 01:02:03'",
        "'2024-02-29 01:02:03+05'",
        "'12:34:56.789'",
        "'1 day 02:00:00'",
        "'[1, 2, NULL]'",
        "'{\"a\": [1, null]}'",
        "'{''a'': 1, ''b'': ''x''}'",
        "'\\x5B\\x5D'",
        "'00000000-0000-0000-0000-00000000000a'",
        "NULL",
        "TRUE",
        "false",
    ];
    let mut statements = Vec::new();
    for column in columns {
        for literal in literals {
            let k = statements.len();
            statements.push(format!(
                "INSERT INTO main.lit ({column}, k) VALUES ({literal}, {k})"
            ));
        }
    }
    let k = statements.len();
    statements.push(format!(
        "INSERT INTO main.lit (k, t, i4) VALUES ({k}, 'first', -5), ({}, 'second', 6)",
        k + 1
    ));
    // A duplicate key fails as a constraint violation either way.
    statements.push("INSERT INTO main.lit (k, t) VALUES (0, 'again')".into());

    let (mut as_statements, statement_reader) = memory_replica();
    let (mut as_rows, rows_reader) = memory_replica();
    let setup = numbered(1, vec![write(None, vec![sql(TABLE)])]);
    as_statements.apply(&view(&setup)).unwrap();
    as_rows.apply(&view(&setup)).unwrap();
    let statement_log = numbered(
        2,
        statements
            .iter()
            .map(|s| write(None, vec![sql(s)]))
            .collect(),
    );
    let rows_log = numbered(
        2,
        statements
            .iter()
            .map(|s| {
                let insert = values_insert(s).unwrap_or_else(|| panic!("not recognised: {s}"));
                let batch = RowBatch {
                    table: insert.table.clone(),
                    columns: insert.columns.clone(),
                    rows: insert.bind(&[]).unwrap(),
                };
                write(None, vec![WriteOp::Rows(batch)])
            })
            .collect(),
    );
    let outcome_kind = |outcome: &Outcome| match outcome {
        Outcome::Applied { rows } => format!("applied {rows}"),
        Outcome::Failed { sqlstate, .. } => format!("failed {sqlstate}"),
        other => format!("{other:?}"),
    };
    let by_statement = as_statements.apply(&view(&statement_log)).unwrap();
    let by_rows = as_rows.apply(&view(&rows_log)).unwrap();
    let mut applied = 0;
    for (i, (statement, rows)) in by_statement.iter().zip(&by_rows).enumerate() {
        assert_eq!(
            outcome_kind(&statement.2),
            outcome_kind(&rows.2),
            "{}",
            statements[i]
        );
        applied += usize::from(matches!(statement.2, Outcome::Applied { .. }));
    }
    assert_eq!(by_statement.len(), statements.len());
    // Both kinds of outcome are exercised.
    assert!(
        applied > 100 && applied < statements.len() - 100,
        "{applied}"
    );
    let contents = "SELECT string_agg(lit::VARCHAR, ' | ' ORDER BY k) FROM main.lit";
    assert_eq!(
        query_strings(&statement_reader, contents),
        query_strings(&rows_reader, contents)
    );
    assert_eq!(
        as_statements.state_hash().unwrap(),
        as_rows.state_hash().unwrap()
    );
}

/// Each entry divides as it says, whatever the entries around it said, so
/// replicas and replays agree; the switch is DuckDB's parser option.
#[test]
fn statement_ops_divide_as_their_entry_says() {
    let entry = |integer_division: bool, statement: &str| {
        command::encode(&Envelope {
            id: None,
            command: Command::Catalog(WriteBatch {
                integer_division,
                ..WriteBatch::autocommit(Vec::new(), vec![sql(statement)])
            }),
        })
    };
    let log = numbered(
        1,
        vec![
            entry(
                false,
                "CREATE TABLE main.q (k INTEGER, i INTEGER, d DOUBLE)",
            ),
            entry(false, "INSERT INTO main.q VALUES (1, 7 / 2, 7 / 2)"),
            entry(true, "INSERT INTO main.q VALUES (2, 7 / 2, 7 / 2)"),
            entry(true, "INSERT INTO main.q VALUES (3, -7 / 2, 7.0 / 2)"),
            entry(false, "INSERT INTO main.q VALUES (4, 7 / 2, 7 / 2)"),
        ],
    );
    let expected = vec!["1 4 3.5", "2 3 3.0", "3 -3 3.5", "4 4 3.5"];
    let rows = |conn: &Connection| {
        query_strings(
            conn,
            "SELECT k || ' ' || i || ' ' || d::DECIMAL(4,1) FROM main.q ORDER BY k",
        )
    };
    let (mut whole, whole_reader) = memory_replica();
    whole.apply(&view(&log)).unwrap();
    assert_eq!(rows(&whole_reader), expected);
    let (mut single, single_reader) = memory_replica();
    for entry in &log {
        single.apply(&view(std::slice::from_ref(entry))).unwrap();
    }
    assert_eq!(rows(&single_reader), expected);
    assert_eq!(whole.state_hash().unwrap(), single.state_hash().unwrap());
}
