//! COPY data formats: text, csv and binary, both directions.
//!
//! Incoming text and csv fields stay strings (the engine casts them to the
//! column types); incoming binary fields are decoded with the target columns'
//! type OIDs. Outgoing rows are rendered exactly as PostgreSQL renders them.

use bytes::{BufMut, BytesMut};
use duckraft_sql::{CopyFormat, CopyOptions, Value};

use crate::binary;
use crate::error::PgError;

pub const BINARY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// A decoded incoming row: text formats give `Text` or `Null` values.
pub type Row = Vec<Value>;

fn bad_copy(message: impl Into<String>) -> PgError {
    PgError::new("22P04", message)
}

/// Parses a complete COPY FROM STDIN payload.
pub fn decode_rows(
    data: &[u8],
    options: &CopyOptions,
    column_oids: &[u32],
) -> Result<Vec<Row>, PgError> {
    match options.format {
        CopyFormat::Binary => decode_binary(data, column_oids),
        CopyFormat::Text => {
            let text = std::str::from_utf8(data).map_err(|_| {
                PgError::new("22021", "invalid byte sequence for encoding \"UTF8\"")
            })?;
            decode_text(text, options, column_oids.len())
        }
        CopyFormat::Csv => {
            let text = std::str::from_utf8(data).map_err(|_| {
                PgError::new("22021", "invalid byte sequence for encoding \"UTF8\"")
            })?;
            decode_csv(text, options, column_oids.len())
        }
    }
}

fn check_width(row: &Row, width: usize, line: usize) -> Result<(), PgError> {
    if row.len() > width {
        return Err(bad_copy(format!(
            "extra data after last expected column (line {line})"
        )));
    }
    if row.len() < width {
        return Err(bad_copy(format!(
            "missing data for column {} (line {line})",
            row.len() + 1
        )));
    }
    Ok(())
}

fn decode_text(text: &str, options: &CopyOptions, width: usize) -> Result<Vec<Row>, PgError> {
    let delimiter = options.delimiter();
    let null = options.null_string();
    let mut rows = Vec::new();
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Ok(rows);
    }
    for (index, raw_line) in body.split('\n').enumerate() {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line == "\\." {
            break;
        }
        if index == 0 && options.header {
            continue;
        }
        let row: Row = line
            .split(delimiter)
            .map(|field| {
                if field == null {
                    Ok(Value::Null)
                } else {
                    unescape_text(field).map(Value::Text)
                }
            })
            .collect::<Result<_, _>>()?;
        check_width(&row, width, index + 1)?;
        rows.push(row);
    }
    Ok(rows)
}

fn unescape_text(field: &str) -> Result<String, PgError> {
    if !field.contains('\\') {
        return Ok(field.to_string());
    }
    let mut out = Vec::with_capacity(field.len());
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                let mut digits = 1;
                while digits < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    value = value * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            b'x' if i < bytes.len() && bytes[i].is_ascii_hexdigit() => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 && i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                    value = value * 16 + (bytes[i] as char).to_digit(16).expect("hex digit");
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out)
        .map_err(|_| PgError::new("22021", "invalid byte sequence for encoding \"UTF8\""))
}

fn decode_csv(text: &str, options: &CopyOptions, width: usize) -> Result<Vec<Row>, PgError> {
    let delimiter = options.delimiter();
    let quote = options.quote();
    let escape = options.escape();
    let null = options.null_string();
    let mut rows = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut first_row = true;
    while chars.peek().is_some() {
        let mut row: Row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut in_quotes = false;
        let mut at_field_start = true;
        while let Some(c) = chars.next() {
            if in_quotes {
                if c == escape && escape != quote && chars.peek() == Some(&quote) {
                    field.push(chars.next().expect("peeked"));
                } else if c == quote {
                    if escape == quote && chars.peek() == Some(&quote) {
                        chars.next();
                        field.push(quote);
                    } else {
                        in_quotes = false;
                    }
                } else {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
                continue;
            }
            if c == quote {
                in_quotes = true;
                quoted = true;
                at_field_start = false;
            } else if c == delimiter {
                row.push(csv_value(std::mem::take(&mut field), quoted, null));
                quoted = false;
                at_field_start = true;
            } else if c == '\n' || c == '\r' {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                break;
            } else {
                if at_field_start && c == '\\' && chars.peek() == Some(&'.') && row.is_empty() {
                    // End-of-data marker `\.` on its own line.
                    chars.next();
                    return Ok(rows);
                }
                at_field_start = false;
                field.push(c);
            }
        }
        if in_quotes {
            return Err(bad_copy(format!(
                "unterminated CSV quoted field (line {line})"
            )));
        }
        row.push(csv_value(field, quoted, null));
        if first_row && options.header {
            first_row = false;
            line += 1;
            continue;
        }
        first_row = false;
        check_width(&row, width, line)?;
        rows.push(row);
        line += 1;
    }
    Ok(rows)
}

fn csv_value(field: String, quoted: bool, null: &str) -> Value {
    if !quoted && field == null {
        Value::Null
    } else {
        Value::Text(field)
    }
}

fn decode_binary(data: &[u8], column_oids: &[u32]) -> Result<Vec<Row>, PgError> {
    if data.len() < BINARY_SIGNATURE.len() + 8
        || &data[..BINARY_SIGNATURE.len()] != BINARY_SIGNATURE
    {
        return Err(bad_copy("COPY file signature not recognized"));
    }
    let mut reader = crate::codec::Reader::new(&data[BINARY_SIGNATURE.len()..]);
    let truncated = |_| bad_copy("unexpected EOF in COPY data");
    let flags = reader.i32().map_err(truncated)?;
    if flags & 0x0001_0000 != 0 {
        return Err(bad_copy("OIDs in binary COPY are not supported"));
    }
    if flags & !0xffff != 0 && flags & !0x0001_ffff != 0 {
        return Err(bad_copy("unrecognized critical flags in COPY file header"));
    }
    let extension_len = reader.i32().map_err(truncated)?;
    if extension_len < 0 {
        return Err(bad_copy(
            "invalid COPY file header (negative extension length)",
        ));
    }
    reader.bytes(extension_len as usize).map_err(truncated)?;
    let mut rows = Vec::new();
    loop {
        let field_count = reader.i16().map_err(truncated)?;
        if field_count == -1 {
            break;
        }
        if field_count as usize != column_oids.len() {
            return Err(bad_copy(format!(
                "row field count is {field_count}, expected {}",
                column_oids.len()
            )));
        }
        let mut row = Vec::with_capacity(column_oids.len());
        for &type_oid in column_oids {
            let len = reader.i32().map_err(truncated)?;
            if len == -1 {
                row.push(Value::Null);
            } else if len < 0 {
                return Err(bad_copy("invalid field length in COPY data"));
            } else {
                row.push(binary::decode(
                    reader.bytes(len as usize).map_err(truncated)?,
                    type_oid,
                )?);
            }
        }
        rows.push(row);
    }
    if !reader.remaining().is_empty() {
        return Err(bad_copy("received copy data after EOF marker"));
    }
    Ok(rows)
}

/// Renders outgoing COPY data. `start` writes any header, `row` one row,
/// `finish` any trailer; each returns bytes for one CopyData message.
pub struct CopyEncoder<'a> {
    options: &'a CopyOptions,
    column_oids: Vec<u32>,
}

impl<'a> CopyEncoder<'a> {
    pub fn new(options: &'a CopyOptions, column_oids: Vec<u32>) -> Self {
        CopyEncoder {
            options,
            column_oids,
        }
    }

    pub fn start(&self, column_names: &[String]) -> Option<BytesMut> {
        match self.options.format {
            CopyFormat::Binary => {
                let mut out = BytesMut::new();
                out.put_slice(BINARY_SIGNATURE);
                out.put_i32(0);
                out.put_i32(0);
                Some(out)
            }
            _ if self.options.header => {
                let header: Row = column_names
                    .iter()
                    .map(|n| Value::Text(n.clone()))
                    .collect();
                let mut out = BytesMut::new();
                self.text_row(&header, &mut out);
                Some(out)
            }
            _ => None,
        }
    }

    pub fn row(&self, row: &[Value], out: &mut BytesMut) -> Result<(), PgError> {
        match self.options.format {
            CopyFormat::Binary => {
                out.put_i16(row.len() as i16);
                for (value, &type_oid) in row.iter().zip(&self.column_oids) {
                    if value.is_null() {
                        out.put_i32(-1);
                        continue;
                    }
                    let len_at = out.len();
                    out.put_i32(0);
                    binary::encode(value, type_oid, out)?;
                    let len = (out.len() - len_at - 4) as i32;
                    out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
                }
            }
            _ => self.text_row(row, out),
        }
        Ok(())
    }

    pub fn finish(&self) -> Option<BytesMut> {
        match self.options.format {
            CopyFormat::Binary => {
                let mut out = BytesMut::new();
                out.put_i16(-1);
                Some(out)
            }
            _ => None,
        }
    }

    fn text_row(&self, row: &[Value], out: &mut BytesMut) {
        let delimiter = self.options.delimiter();
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                let mut buf = [0u8; 4];
                out.put_slice(delimiter.encode_utf8(&mut buf).as_bytes());
            }
            match value.to_text() {
                None => out.put_slice(self.options.null_string().as_bytes()),
                Some(text) if self.options.format == CopyFormat::Csv => self.csv_field(&text, out),
                Some(text) => escape_text(&text, delimiter, out),
            }
        }
        out.put_u8(b'\n');
    }

    fn csv_field(&self, text: &str, out: &mut BytesMut) {
        let quote = self.options.quote();
        let escape = self.options.escape();
        let delimiter = self.options.delimiter();
        let needs_quotes = text.is_empty()
            || text == self.options.null_string()
            || text.contains([delimiter, quote, '\n', '\r'])
            || text == "\\.";
        if !needs_quotes {
            out.put_slice(text.as_bytes());
            return;
        }
        let mut s = String::with_capacity(text.len() + 2);
        s.push(quote);
        for c in text.chars() {
            if c == quote || c == escape {
                s.push(escape);
            }
            s.push(c);
        }
        s.push(quote);
        out.put_slice(s.as_bytes());
    }
}

fn escape_text(text: &str, delimiter: char, out: &mut BytesMut) {
    for c in text.chars() {
        match c {
            '\\' => out.put_slice(b"\\\\"),
            '\n' => out.put_slice(b"\\n"),
            '\r' => out.put_slice(b"\\r"),
            '\t' if delimiter == '\t' => out.put_slice(b"\\t"),
            c if c == delimiter => {
                out.put_u8(b'\\');
                let mut buf = [0u8; 4];
                out.put_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.put_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckraft_sql::types::oid;

    fn options(format: CopyFormat) -> CopyOptions {
        CopyOptions {
            format,
            ..CopyOptions::default()
        }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn text_format_round_trip() {
        let opts = options(CopyFormat::Text);
        let rows = vec![
            vec![text("a\tb\\c\nd"), Value::Null],
            vec![text(""), text("x")],
        ];
        let encoder = CopyEncoder::new(&opts, vec![oid::TEXT, oid::TEXT]);
        let mut out = BytesMut::new();
        for row in &rows {
            encoder.row(row, &mut out).unwrap();
        }
        assert_eq!(&out[..], b"a\\tb\\\\c\\nd\t\\N\n\tx\n");
        assert_eq!(
            decode_rows(&out, &opts, &[oid::TEXT, oid::TEXT]).unwrap(),
            rows
        );
        assert_eq!(
            decode_rows(b"1\t2\n\\.\n", &opts, &[0, 0]).unwrap(),
            vec![vec![text("1"), text("2")]]
        );
        assert!(decode_rows(b"1\t2\t3\n", &opts, &[0, 0]).is_err());
    }

    #[test]
    fn csv_format_round_trip() {
        let opts = CopyOptions {
            header: true,
            ..options(CopyFormat::Csv)
        };
        let rows = vec![
            vec![text("a,\"b\""), Value::Null, text("")],
            vec![text("multi\nline"), text("1"), text("2")],
        ];
        let encoder = CopyEncoder::new(&opts, vec![0, 0, 0]);
        let mut out = encoder
            .start(&["x".into(), "y".into(), "z".into()])
            .unwrap();
        for row in &rows {
            encoder.row(row, &mut out).unwrap();
        }
        assert_eq!(
            &out[..],
            b"x,y,z\n\"a,\"\"b\"\"\",,\"\"\n\"multi\nline\",1,2\n"
        );
        assert_eq!(decode_rows(&out, &opts, &[0, 0, 0]).unwrap(), rows);
        assert!(decode_rows(b"\"open\n", &options(CopyFormat::Csv), &[0]).is_err());
    }

    #[test]
    fn binary_format_round_trip_including_empty() {
        let opts = options(CopyFormat::Binary);
        let encoder = CopyEncoder::new(&opts, vec![oid::INT8, oid::TEXT]);
        // Zero rows still carry the signature and trailer, which clients check.
        let mut empty = encoder.start(&[]).unwrap();
        empty.extend_from_slice(&encoder.finish().unwrap());
        assert_eq!(
            decode_rows(&empty, &opts, &[oid::INT8, oid::TEXT]).unwrap(),
            Vec::<Row>::new()
        );

        let rows = vec![
            vec![Value::Int8(5), text("five")],
            vec![Value::Null, Value::Null],
        ];
        let mut out = encoder.start(&[]).unwrap();
        for row in &rows {
            encoder.row(row, &mut out).unwrap();
        }
        out.extend_from_slice(&encoder.finish().unwrap());
        assert_eq!(
            decode_rows(&out, &opts, &[oid::INT8, oid::TEXT]).unwrap(),
            rows
        );
        assert_eq!(
            decode_rows(b"PGCOPY\n", &opts, &[oid::INT8])
                .unwrap_err()
                .code,
            "22P04"
        );
        let truncated = &out[..out.len() - 3];
        assert_eq!(
            decode_rows(truncated, &opts, &[oid::INT8, oid::TEXT])
                .unwrap_err()
                .code,
            "22P04"
        );
    }
}
