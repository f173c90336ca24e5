//! The type aliases that keep a column's declared `text` or `varchar(n)`
//! (see `duckraft_sql::column_defs`).
//!
//! DuckDB binds an alias by name, so each one is registered in the database
//! instance before a statement that names it runs. When the catalog opens:
//! `duckraft_text`, `duckraft_varchar_1` to `duckraft_varchar_1024`, and
//! every alias the catalog's tables already use; any other length when a
//! statement first names it. Registration lives in memory only; the alias
//! itself is stored with the table, so a file reads the same with or
//! without it.
//!
//! A transaction binds only the types registered before it first touched
//! DuckDB's catalog. The apply registers before it begins; a session that
//! names a new length inside an open transaction gets a clear error (see
//! [`DeclaredTypes::ensure`]). Registering the common lengths up front makes
//! that rare: the 1,024 of them cost about 10 ms per catalog open.
//!
//! DuckDB never casts implicitly between differently aliased types, so each
//! alias also gets an implicit cast to VARCHAR. Without it `upper(v)` or
//! `v || 'x'` on a declared column would fail to bind.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::ptr;
use std::sync::Mutex;

use duckdb::ffi;
use duckraft_sql::column_defs::{declared_varchar_length, TEXT_TYPE, VARCHAR_TYPE_PREFIX};

use crate::error::EngineError;
use crate::raw::RawDatabase;

/// `varchar(1)` to `varchar(REGISTERED_AT_OPEN)` are registered up front.
pub const REGISTERED_AT_OPEN: u32 = 1024;

pub struct DeclaredTypes {
    registry: Mutex<Registry>,
}

struct Registry {
    connection: ffi::duckdb_connection,
    lengths: BTreeSet<u32>,
}

// SAFETY: the connection is only used under the mutex.
unsafe impl Send for Registry {}

impl DeclaredTypes {
    /// Registers `duckraft_text` and every declared length the catalog's
    /// columns already use.
    pub fn new(database: &RawDatabase) -> Result<Self, EngineError> {
        let mut connection: ffi::duckdb_connection = ptr::null_mut();
        if unsafe { ffi::duckdb_connect(database.handle(), &mut connection) } != ffi::DuckDBSuccess
        {
            return Err(EngineError::internal("duckdb_connect failed"));
        }
        // Dropping the registry disconnects, also on an error below.
        let mut registry = Registry {
            connection,
            lengths: BTreeSet::new(),
        };
        register_alias(registry.connection, TEXT_TYPE)?;
        let in_use: Vec<String> = {
            let reader = database.connect()?;
            let mut statement = reader.prepare(
                "SELECT DISTINCT data_type FROM duckdb_columns() WHERE starts_with(data_type, ?)",
            )?;
            let rows = statement.query_map([VARCHAR_TYPE_PREFIX], |row| row.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let in_use = in_use.iter().filter_map(|t| declared_varchar_length(t));
        for length in (1..=REGISTERED_AT_OPEN).chain(in_use) {
            registry.register(length)?;
        }
        Ok(DeclaredTypes {
            registry: Mutex::new(registry),
        })
    }

    /// Registers each `duckraft_varchar_<n>` that `sql` names and that is
    /// not registered yet; true if it registered any.
    pub fn ensure(&self, sql: &str) -> Result<bool, EngineError> {
        if !sql.contains(VARCHAR_TYPE_PREFIX) {
            return Ok(false);
        }
        let mut registered = false;
        let mut registry = self.registry.lock().expect("declared types poisoned");
        for (at, _) in sql.match_indices(VARCHAR_TYPE_PREFIX) {
            let rest = &sql[at..];
            let end = VARCHAR_TYPE_PREFIX.len()
                + rest[VARCHAR_TYPE_PREFIX.len()..]
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count();
            if let Some(length) = declared_varchar_length(&rest[..end]) {
                registered |= registry.register(length)?;
            }
        }
        Ok(registered)
    }
}

impl Registry {
    /// Registers `duckraft_varchar_<length>` once; true the first time.
    fn register(&mut self, length: u32) -> Result<bool, EngineError> {
        if self.lengths.contains(&length) {
            return Ok(false);
        }
        register_alias(self.connection, &format!("{VARCHAR_TYPE_PREFIX}{length}"))?;
        self.lengths.insert(length);
        Ok(true)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        unsafe { ffi::duckdb_disconnect(&mut self.connection) };
    }
}

/// A VARCHAR alias and its implicit cast to VARCHAR.
fn register_alias(connection: ffi::duckdb_connection, alias: &str) -> Result<(), EngineError> {
    let name = CString::new(alias).map_err(|_| EngineError::internal("type alias contains NUL"))?;
    unsafe {
        let mut aliased = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR);
        ffi::duckdb_logical_type_set_alias(aliased, name.as_ptr());
        let mut varchar = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR);
        let registered = ffi::duckdb_register_logical_type(connection, aliased, ptr::null_mut())
            == ffi::DuckDBSuccess;
        let mut cast = ffi::duckdb_create_cast_function();
        ffi::duckdb_cast_function_set_source_type(cast, aliased);
        ffi::duckdb_cast_function_set_target_type(cast, varchar);
        // The cost JSON's cast to VARCHAR has: the plain VARCHAR overload wins.
        ffi::duckdb_cast_function_set_implicit_cast_cost(cast, 1);
        ffi::duckdb_cast_function_set_function(cast, Some(copy_strings));
        let cast_registered =
            ffi::duckdb_register_cast_function(connection, cast) == ffi::DuckDBSuccess;
        ffi::duckdb_destroy_cast_function(&mut cast);
        ffi::duckdb_destroy_logical_type(&mut varchar);
        ffi::duckdb_destroy_logical_type(&mut aliased);
        if registered && cast_registered {
            Ok(())
        } else {
            Err(EngineError::internal(format!(
                "could not register the type alias {alias}"
            )))
        }
    }
}

/// The alias holds VARCHAR values already: the cast copies each string.
unsafe extern "C" fn copy_strings(
    _info: ffi::duckdb_function_info,
    count: ffi::idx_t,
    input: ffi::duckdb_vector,
    output: ffi::duckdb_vector,
) -> bool {
    unsafe {
        let strings = ffi::duckdb_vector_get_data(input).cast::<ffi::duckdb_string_t>();
        let validity = ffi::duckdb_vector_get_validity(input);
        let mut output_validity = ptr::null_mut();
        if !validity.is_null() {
            ffi::duckdb_vector_ensure_validity_writable(output);
            output_validity = ffi::duckdb_vector_get_validity(output);
        }
        for row in 0..count {
            if !validity.is_null() && !ffi::duckdb_validity_row_is_valid(validity, row) {
                ffi::duckdb_validity_set_row_invalid(output_validity, row);
                continue;
            }
            let string = strings.add(row as usize);
            let length = ffi::duckdb_string_t_length(*string);
            let data = ffi::duckdb_string_t_data(string);
            ffi::duckdb_unsafe_vector_assign_string_element_len(
                output,
                row,
                data,
                ffi::idx_t::from(length),
            );
        }
    }
    true
}
