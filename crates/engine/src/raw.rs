//! The few DuckDB C API calls duckdb-rs does not expose: opening a database
//! we own (so we can make extra raw connections), and describing a prepared
//! statement's parameter and result types without executing it.
//!
//! Invariant: every pointer created here is destroyed here; `RawDatabase`
//! is closed only after every connection made from it has been dropped.

use std::ffi::{CStr, CString};
use std::ptr;

use duckdb::ffi;

use crate::convert::DuckType;
use crate::error::{from_duckdb_message, EngineError};

pub struct RawDatabase {
    handle: ffi::duckdb_database,
}

// SAFETY: a duckdb_database is internally synchronised and may be used from any thread.
unsafe impl Send for RawDatabase {}
unsafe impl Sync for RawDatabase {}

impl RawDatabase {
    pub fn open(path: &str, settings: &[(&str, String)]) -> Result<Self, EngineError> {
        let c_path =
            CString::new(path).map_err(|_| EngineError::internal("database path contains NUL"))?;
        unsafe {
            let mut config: ffi::duckdb_config = ptr::null_mut();
            if ffi::duckdb_create_config(&mut config) != ffi::DuckDBSuccess {
                return Err(EngineError::internal("duckdb_create_config failed"));
            }
            for (name, value) in settings {
                let (n, v) = (
                    CString::new(*name).expect("setting name"),
                    CString::new(value.as_str()).expect("setting value"),
                );
                if ffi::duckdb_set_config(config, n.as_ptr(), v.as_ptr()) != ffi::DuckDBSuccess {
                    ffi::duckdb_destroy_config(&mut config);
                    return Err(EngineError::internal(format!(
                        "invalid DuckDB setting {name}={value}"
                    )));
                }
            }
            let mut handle: ffi::duckdb_database = ptr::null_mut();
            let mut error: *mut std::os::raw::c_char = ptr::null_mut();
            let state = ffi::duckdb_open_ext(c_path.as_ptr(), &mut handle, config, &mut error);
            ffi::duckdb_destroy_config(&mut config);
            if state != ffi::DuckDBSuccess {
                let message = if error.is_null() {
                    "unknown error".to_string()
                } else {
                    let m = CStr::from_ptr(error).to_string_lossy().into_owned();
                    ffi::duckdb_free(error.cast());
                    m
                };
                return Err(EngineError::new(
                    "58030",
                    format!("cannot open database file {path}: {message}"),
                ));
            }
            Ok(RawDatabase { handle })
        }
    }

    pub fn handle(&self) -> ffi::duckdb_database {
        self.handle
    }

    pub fn connect(&self) -> Result<duckdb::Connection, EngineError> {
        // SAFETY: the handle is open; duckdb-rs does not close it (close_on_drop = false).
        unsafe { duckdb::Connection::open_from_raw(self.handle) }.map_err(EngineError::from)
    }
}

impl Drop for RawDatabase {
    fn drop(&mut self) {
        unsafe { ffi::duckdb_close(&mut self.handle) };
    }
}

/// A raw connection used only to prepare statements for Describe.
pub struct Describer {
    connection: ffi::duckdb_connection,
    /// The connection's `integer_division` (see [`Describer::divide_as`]).
    integer_division: bool,
}

unsafe impl Send for Describer {}

#[derive(Clone)]
pub struct StatementShape {
    pub parameters: Vec<DuckType>,
    /// (name, type) of each result column.
    pub columns: Vec<(String, DuckType)>,
}

impl Describer {
    pub fn new(database: &RawDatabase) -> Result<Self, EngineError> {
        let mut connection: ffi::duckdb_connection = ptr::null_mut();
        if unsafe { ffi::duckdb_connect(database.handle(), &mut connection) } != ffi::DuckDBSuccess
        {
            return Err(EngineError::internal("duckdb_connect failed"));
        }
        Ok(Describer {
            connection,
            integer_division: false,
        })
    }

    /// Describes as a session that divides this way would run: `7 / 2` is
    /// an INTEGER with integer division and a DOUBLE without.
    pub fn divide_as(&mut self, integer_division: bool) -> Result<(), EngineError> {
        if self.integer_division != integer_division {
            self.execute_batch(if integer_division {
                "SET integer_division = true"
            } else {
                "SET integer_division = false"
            })?;
            self.integer_division = integer_division;
        }
        Ok(())
    }

    pub fn execute_batch(&mut self, sql: &str) -> Result<(), EngineError> {
        let c_sql = CString::new(sql)
            .map_err(|_| EngineError::new("42601", "statement contains a NUL byte"))?;
        unsafe {
            let mut result: ffi::duckdb_result = std::mem::zeroed();
            let state = ffi::duckdb_query(self.connection, c_sql.as_ptr(), &mut result);
            let outcome = if state != ffi::DuckDBSuccess {
                let error = ffi::duckdb_result_error(&mut result);
                Err(from_duckdb_message(
                    &CStr::from_ptr(error).to_string_lossy(),
                ))
            } else {
                Ok(())
            };
            ffi::duckdb_destroy_result(&mut result);
            outcome
        }
    }

    pub fn describe(&mut self, sql: &str) -> Result<StatementShape, EngineError> {
        let c_sql = CString::new(sql)
            .map_err(|_| EngineError::new("42601", "statement contains a NUL byte"))?;
        unsafe {
            let mut statement: ffi::duckdb_prepared_statement = ptr::null_mut();
            if ffi::duckdb_prepare(self.connection, c_sql.as_ptr(), &mut statement)
                != ffi::DuckDBSuccess
            {
                let error = ffi::duckdb_prepare_error(statement);
                let message = if error.is_null() {
                    "prepare failed".to_string()
                } else {
                    CStr::from_ptr(error).to_string_lossy().into_owned()
                };
                ffi::duckdb_destroy_prepare(&mut statement);
                return Err(from_duckdb_message(&message));
            }
            let parameter_count = ffi::duckdb_nparams(statement);
            let mut parameters = Vec::with_capacity(parameter_count as usize);
            for i in 1..=parameter_count {
                let mut logical = ffi::duckdb_param_logical_type(statement, i);
                parameters.push(duck_type(logical));
                if !logical.is_null() {
                    ffi::duckdb_destroy_logical_type(&mut logical);
                }
            }
            let column_count = ffi::duckdb_prepared_statement_column_count(statement);
            let mut columns = Vec::with_capacity(column_count as usize);
            for i in 0..column_count {
                let name_ptr = ffi::duckdb_prepared_statement_column_name(statement, i);
                let name = if name_ptr.is_null() {
                    format!("column{i}")
                } else {
                    let name = CStr::from_ptr(name_ptr).to_string_lossy().into_owned();
                    ffi::duckdb_free(name_ptr as *mut std::ffi::c_void);
                    name
                };
                let mut logical = ffi::duckdb_prepared_statement_column_logical_type(statement, i);
                columns.push((name, duck_type(logical)));
                if !logical.is_null() {
                    ffi::duckdb_destroy_logical_type(&mut logical);
                }
            }
            ffi::duckdb_destroy_prepare(&mut statement);
            Ok(StatementShape {
                parameters,
                columns,
            })
        }
    }
}

impl Drop for Describer {
    fn drop(&mut self) {
        unsafe { ffi::duckdb_disconnect(&mut self.connection) };
    }
}

/// Reads a raw logical type (not consumed).
unsafe fn duck_type(logical: ffi::duckdb_logical_type) -> DuckType {
    if logical.is_null() {
        return DuckType {
            id: 0,
            decimal: None,
            child: None,
            alias: None,
        };
    }
    unsafe {
        let id = ffi::duckdb_get_type_id(logical);
        let decimal = (id == ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL).then(|| {
            (
                ffi::duckdb_decimal_width(logical),
                ffi::duckdb_decimal_scale(logical),
            )
        });
        let child = if id == ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST
            || id == ffi::DUCKDB_TYPE_DUCKDB_TYPE_ARRAY
        {
            let mut child = if id == ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST {
                ffi::duckdb_list_type_child_type(logical)
            } else {
                ffi::duckdb_array_type_child_type(logical)
            };
            let converted = duck_type(child);
            ffi::duckdb_destroy_logical_type(&mut child);
            Some(Box::new(converted))
        } else {
            None
        };
        let alias_ptr = ffi::duckdb_logical_type_get_alias(logical);
        let alias = if alias_ptr.is_null() {
            None
        } else {
            let alias = CStr::from_ptr(alias_ptr).to_string_lossy().into_owned();
            ffi::duckdb_free(alias_ptr.cast());
            Some(alias)
        };
        DuckType {
            id,
            decimal,
            child,
            alias,
        }
    }
}
