//! PostgreSQL's names for result columns (its `FigureColname`).
//!
//! DuckDB names an unaliased column by its expression text (`count_star()`,
//! `(a + 1)`, `CAST(x AS INTEGER)`) and keeps an alias's case; PostgreSQL says
//! `count`, `?column?` and `x`, and folds unquoted aliases to lower case.
//! Clients that address result columns by name (psycopg's dict rows, pandas,
//! ORMs) see PostgreSQL's names only if the server reports them.
//!
//! The names come from the statement text alone. Only forms this module
//! recognises completely are named; anything else keeps DuckDB's name, so a
//! misreading can cost a PostgreSQL name but never invent a wrong one.

use std::ops::Range;

use crate::lexer::{mentions_any, significant, span, tokenize, Token, TokenKind};

/// What PostgreSQL reports for one result column, where the text tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnHint {
    /// `None`: keep DuckDB's name.
    pub name: Option<String>,
    /// `(type oid, typmod)` when the column is a cast to `varchar[(n)]` or
    /// `char[(n)]`: DuckDB has one VARCHAR for these and text.
    pub character_type: Option<(u32, i32)>,
    /// Byte offset in the statement of `sum` when the column is a call
    /// `sum(x)` (with any `FILTER` or `OVER`): PostgreSQL's result is
    /// bigint for a smallint or integer `x`, where DuckDB's is HUGEINT
    /// for every integer. The same statement with `min` there has `x`'s type.
    pub sum_at: Option<usize>,
}

/// A hint for each of the `columns` result columns of the read `sql`.
pub fn postgres_columns(sql: &str, columns: usize) -> Vec<ColumnHint> {
    let mut hints = vec![ColumnHint::default(); columns];
    let Ok(tokens) = tokenize(sql) else {
        return hints;
    };
    let tokens: Vec<Token<'_>> = significant(&tokens)
        .copied()
        .filter(|t| t.kind != TokenKind::Semicolon)
        .collect();
    match main_query(&tokens) {
        Some(Output::Values) => {
            for (i, hint) in hints.iter_mut().enumerate() {
                hint.name = Some(format!("column{}", i + 1));
            }
        }
        Some(Output::Items(items)) => place(sql, &items, &mut hints),
        None => {}
    }
    hints
}

enum Output<'t, 'a> {
    /// `VALUES (...)`: PostgreSQL calls its columns column1, column2, ...
    Values,
    /// The first select list's items.
    Items(Vec<&'t [Token<'a>]>),
}

/// Parenthesis and bracket nesting a token opens (+) or closes (-).
fn nesting(token: &Token<'_>) -> i32 {
    match token.kind {
        TokenKind::LeftParen => 1,
        TokenKind::RightParen => -1,
        TokenKind::Operator => {
            token.text.matches('[').count() as i32 - token.text.matches(']').count() as i32
        }
        _ => 0,
    }
}

/// The index of the token closing the one opened at `open`.
fn closing(tokens: &[Token<'_>], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        depth += nesting(token);
        if depth == 0 {
            return Some(i);
        }
    }
    None
}

/// Tokens at nesting depth 0, with their indexes.
fn top_level<'t, 'a>(tokens: &'t [Token<'a>]) -> impl Iterator<Item = (usize, &'t Token<'a>)> {
    let mut depth = 0;
    tokens.iter().enumerate().filter(move |(_, token)| {
        let before = depth;
        depth += nesting(token);
        // An opening token is outside what it opens; a closing one too.
        before == 0 && depth >= 0 || depth == 0 && before > 0
    })
}

fn main_query<'t, 'a>(tokens: &'t [Token<'a>]) -> Option<Output<'t, 'a>> {
    let mut start = 0;
    if tokens.first()?.is_word("WITH") {
        // The main query comes after the common table expressions, which
        // are all in parentheses.
        let (i, _) = top_level(tokens).skip(1).find(|(_, t)| {
            ["SELECT", "VALUES", "INSERT", "UPDATE", "DELETE", "MERGE"]
                .iter()
                .any(|k| t.is_word(k))
        })?;
        start = i;
    }
    let first = tokens.get(start)?;
    if first.is_word("VALUES") {
        Some(Output::Values)
    } else if first.is_word("SELECT") {
        select_list(&tokens[start + 1..]).map(Output::Items)
    } else {
        None
    }
}

/// Keywords that end a select list at its own depth.
pub(crate) const AFTER_SELECT_LIST: &[&str] = &[
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "WINDOW",
    "QUALIFY",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "FETCH",
    "FOR",
    "INTO",
    "UNION",
    "INTERSECT",
    "EXCEPT",
    "RETURNING",
];

fn select_list<'t, 'a>(tokens: &'t [Token<'a>]) -> Option<Vec<&'t [Token<'a>]>> {
    let mut start = 0;
    if tokens.first()?.is_word("ALL") {
        start = 1;
    } else if tokens.first()?.is_word("DISTINCT") {
        start = 1;
        if tokens.get(1).is_some_and(|t| t.is_word("ON")) {
            start = closing(tokens, 2)? + 1;
        }
    }
    let list = &tokens[start..];
    let mut items = Vec::new();
    let mut item_start = 0;
    let mut end = list.len();
    for (i, token) in top_level(list) {
        if token.kind == TokenKind::Comma {
            items.push(&list[item_start..i]);
            item_start = i + 1;
        } else if AFTER_SELECT_LIST.iter().any(|k| token.is_word(k))
            // `a IS DISTINCT FROM b` and `WITHIN GROUP (...)` are expressions.
            && !(token.is_word("FROM") && i > 0 && list[i - 1].is_word("DISTINCT"))
            && !(token.is_word("GROUP") && i > 0 && list[i - 1].is_word("WITHIN"))
        {
            end = i;
            break;
        }
    }
    items.push(&list[item_start..end]);
    if items.iter().any(|item| item.is_empty()) {
        return None;
    }
    Some(items)
}

/// `*`, `t.*`, `* EXCLUDE (...)`, `COLUMNS(...)`: any number of columns.
fn is_star(item: &[Token<'_>]) -> bool {
    let star = |t: &Token<'_>| t.kind == TokenKind::Operator && t.text == "*";
    star(&item[0])
        || item[0].is_word("COLUMNS")
        || item
            .windows(2)
            .any(|w| w[0].kind == TokenKind::Dot && star(&w[1]))
}

/// Names the columns before the first star item from the front and those
/// after the last one from the back; without stars, items and columns must
/// match one to one.
fn place(sql: &str, items: &[&[Token<'_>]], names: &mut [ColumnHint]) {
    let stars: Vec<usize> = (0..items.len()).filter(|&i| is_star(items[i])).collect();
    let (prefix, suffix) = match (stars.first(), stars.last()) {
        (Some(&first), Some(&last)) => (first, items.len() - last - 1),
        _ if items.len() == names.len() => (items.len(), 0),
        _ => return,
    };
    if prefix + suffix > names.len() {
        return;
    }
    let hint = |item: &[Token<'_>]| ColumnHint {
        name: item_name(item),
        character_type: character_cast(item),
        sum_at: sum_call(item).map(|t| span(sql, t, t).start),
    };
    for (name, item) in names.iter_mut().zip(&items[..prefix]) {
        *name = hint(item);
    }
    let back = names.len() - suffix;
    for (name, item) in names[back..].iter_mut().zip(&items[items.len() - suffix..]) {
        *name = hint(item);
    }
}

/// A result column that is a cast to `text` or `varchar` (no length) of an
/// operand whose PostgreSQL text form DuckDB spells differently (`bytea`:
/// `\x0001` against `\x00\x01`; arrays: `{1,2}` against `[1, 2]`). Byte
/// ranges in the statement; the engine decides from the operand's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextCast {
    pub column: usize,
    /// The operand, without the cast.
    pub operand: Range<usize>,
    /// The whole cast expression.
    pub cast: Range<usize>,
}

/// The text casts of the main select list: `operand::text` where the
/// operand is a column, a call or a parenthesised expression (so the cast
/// applies to all of it), and `CAST(operand AS text)`. None when the list
/// has a star: its items then do not number the columns.
pub fn text_casts(sql: &str) -> Vec<TextCast> {
    // Every read passes here: most have no cast at all.
    if !mentions_any(sql, &["::", "cast"]) {
        return Vec::new();
    }
    let Ok(tokens) = tokenize(sql) else {
        return Vec::new();
    };
    let tokens: Vec<Token<'_>> = significant(&tokens)
        .copied()
        .filter(|t| t.kind != TokenKind::Semicolon)
        .collect();
    let Some(Output::Items(items)) = main_query(&tokens) else {
        return Vec::new();
    };
    if items.iter().any(|item| is_star(item)) {
        return Vec::new();
    }
    let bytes = |tokens: &[Token<'_>]| span(sql, &tokens[0], &tokens[tokens.len() - 1]);
    items
        .iter()
        .enumerate()
        .filter_map(|(column, item)| {
            let expression = unaliased(item)?;
            let operand = text_cast_operand(expression)?;
            Some(TextCast {
                column,
                operand: bytes(operand),
                cast: bytes(expression),
            })
        })
        .collect()
}

/// An item without its alias; `None` when it is unclear where the alias starts.
fn unaliased<'t, 'a>(item: &'t [Token<'a>]) -> Option<&'t [Token<'a>]> {
    match top_level(item).filter(|(_, t)| t.is_word("AS")).last() {
        Some((i, _)) => Some(&item[..i]),
        None => match alias(item) {
            Alias::Named(_) => Some(&item[..item.len() - 1]),
            Alias::None => Some(item),
            Alias::Unclear => None,
        },
    }
}

fn text_cast_operand<'t, 'a>(expression: &'t [Token<'a>]) -> Option<&'t [Token<'a>]> {
    let is_text = |target: &[Token<'_>]| {
        !target.is_empty()
            && !target
                .iter()
                .any(|t| t.kind == TokenKind::LeftParen || t.text.contains('['))
            && matches!(type_name(target).as_deref(), Some("text" | "varchar"))
    };
    let first = expression.first()?;
    if first.is_word("CAST")
        && expression.get(1)?.kind == TokenKind::LeftParen
        && closing(expression, 1)? == expression.len() - 1
    {
        let inner = &expression[2..expression.len() - 1];
        let (i, _) = top_level(inner).filter(|(_, t)| t.is_word("AS")).last()?;
        return (i > 0 && is_text(&inner[i + 1..])).then(|| &inner[..i]);
    }
    let (i, _) = top_level(expression)
        .filter(|(_, t)| t.text == "::")
        .last()?;
    let (operand, target) = (&expression[..i], &expression[i + 1..]);
    let primary = is_dotted_name(operand)
        || (operand.first()?.kind == TokenKind::LeftParen
            && closing(operand, 0)? == operand.len() - 1)
        || (operand.len() >= 3
            && operand[0].identifier().is_some()
            && operand[1].kind == TokenKind::LeftParen
            && closing(operand, 1)? == operand.len() - 1);
    (primary && is_text(target)).then_some(operand)
}

/// The `sum` token of an item that is `sum(...)`, optionally followed by
/// `FILTER (...)` and `OVER ...`, and optionally aliased.
fn sum_call<'t, 'a>(item: &'t [Token<'a>]) -> Option<&'t Token<'a>> {
    let expression = unaliased(item)?;
    let [name, open, ..] = expression else {
        return None;
    };
    if !name.is_word("sum") || open.kind != TokenKind::LeftParen {
        return None;
    }
    let close = closing(expression, 1)?;
    match expression.get(close + 1) {
        None => Some(name),
        Some(next) if next.is_word("FILTER") || next.is_word("OVER") => Some(name),
        Some(_) => None,
    }
}

/// The character type an item is cast to last (`x::varchar(3)`,
/// `CAST(x AS char)`), as PostgreSQL's type oid and typmod.
fn character_cast(item: &[Token<'_>]) -> Option<(u32, i32)> {
    let expression = match top_level(item).filter(|(_, t)| t.is_word("AS")).last() {
        Some((i, _)) => &item[..i],
        None if matches!(alias(item), Alias::None) => item,
        None => return None,
    };
    let first = expression.first()?;
    let target = if let Some((i, cast)) = outside_case(expression)
        .into_iter()
        .rev()
        .find(|(_, t)| t.text.contains("::"))
    {
        if cast.text != "::" {
            return None;
        }
        &expression[i + 1..]
    } else if first.is_word("CAST")
        && expression.get(1)?.kind == TokenKind::LeftParen
        && closing(expression, 1)? == expression.len() - 1
    {
        let inner = &expression[2..expression.len() - 1];
        let (i, _) = top_level(inner).filter(|(_, t)| t.is_word("AS")).last()?;
        &inner[i + 1..]
    } else {
        return None;
    };
    // Only a type may follow: words, then at most one `(length)`.
    let words = target
        .iter()
        .take_while(|t| t.kind == TokenKind::Word)
        .count();
    let length = match &target[words..] {
        [] => None,
        [open, n, close]
            if open.kind == TokenKind::LeftParen
                && n.kind == TokenKind::Number
                && close.kind == TokenKind::RightParen =>
        {
            Some(n.text.parse::<i32>().ok()?)
        }
        _ => return None,
    };
    match type_name(&target[..words])?.as_str() {
        "varchar" => Some((crate::types::oid::VARCHAR, length.map_or(-1, |n| n + 4))),
        // PostgreSQL's `char` is `char(1)`.
        "bpchar" => Some((crate::types::oid::BPCHAR, length.unwrap_or(1) + 4)),
        _ => None,
    }
}

fn item_name(item: &[Token<'_>]) -> Option<String> {
    match alias(item) {
        Alias::Named(name) => Some(name),
        Alias::Unclear => None,
        Alias::None => figure(item).map(|(name, strength)| {
            if strength == 0 {
                "?column?".to_string()
            } else {
                name
            }
        }),
    }
}

enum Alias {
    None,
    Named(String),
    /// Perhaps an alias, perhaps the end of the expression (`x::double precision`).
    Unclear,
}

/// Words that end an expression rather than name it.
const EXPRESSION_END_WORDS: &[&str] = &[
    "NULL", "TRUE", "FALSE", "END", "UNKNOWN", "ISNULL", "NOTNULL",
];

/// Keywords after which an identifier is an operand, not an alias.
const OPERAND_KEYWORDS: &[&str] = &[
    "AND", "OR", "NOT", "IS", "IN", "LIKE", "ILIKE", "BETWEEN", "SIMILAR", "TO", "ESCAPE",
    "COLLATE", "FROM", "THEN", "ELSE", "WHEN", "OVERLAPS", "GLOB", "ZONE", "DISTINCT", "OVER",
];

fn alias(item: &[Token<'_>]) -> Alias {
    if let Some((i, _)) = top_level(item).filter(|(_, t)| t.is_word("AS")).last() {
        return match &item[i + 1..] {
            [name] => name.identifier().map_or(Alias::Unclear, Alias::Named),
            _ => Alias::Unclear,
        };
    }
    let [.., before, last] = item else {
        return Alias::None;
    };
    let names_something = match last.kind {
        TokenKind::QuotedIdent => true,
        TokenKind::Word => !EXPRESSION_END_WORDS.iter().any(|k| last.is_word(k)),
        _ => false,
    };
    if !names_something {
        return Alias::None;
    }
    if let Some((i, _)) = top_level(item)
        .filter(|(_, t)| t.text.contains("::"))
        .last()
    {
        // What follows a cast is its type, perhaps with an alias after it.
        return if is_type(&item[i + 1..]) {
            Alias::None
        } else {
            Alias::Unclear
        };
    }
    let operand = match before.kind {
        TokenKind::Operator | TokenKind::Dot => true,
        TokenKind::Word => OPERAND_KEYWORDS.iter().any(|k| before.is_word(k)),
        _ => false,
    };
    if operand {
        return Alias::None;
    }
    // Interval fields and typed literals look like aliases.
    let type_word = [
        "PRECISION",
        "VARYING",
        "ZONE",
        "YEAR",
        "MONTH",
        "DAY",
        "HOUR",
        "MINUTE",
        "SECOND",
    ]
    .iter()
    .any(|k| last.is_word(k));
    if type_word || before.kind == TokenKind::String {
        return Alias::Unclear;
    }
    last.identifier().map_or(Alias::Unclear, Alias::Named)
}

/// Keyword operators that make an item an expression PostgreSQL leaves unnamed.
const KEYWORD_OPERATORS: &[&str] = &[
    "AND", "OR", "NOT", "IS", "IN", "LIKE", "ILIKE", "BETWEEN", "SIMILAR", "OVERLAPS", "ISNULL",
    "NOTNULL", "GLOB",
];

/// PostgreSQL's name for an unaliased expression and its strength: 2 for a
/// real name, 1 for a fallback (`case`, a cast's type), 0 for none
/// (`?column?`). `None`: not a form this module knows.
fn figure(item: &[Token<'_>]) -> Option<(String, u8)> {
    let first = item.first()?;
    if first.kind == TokenKind::LeftParen && closing(item, 0)? == item.len() - 1 {
        let inner = &item[1..item.len() - 1];
        return if ["SELECT", "WITH", "VALUES"]
            .iter()
            .any(|k| inner.first().is_some_and(|t| t.is_word(k)))
        {
            // A scalar subquery is named after its column.
            match main_query(inner)? {
                Output::Values => Some(("column1".into(), 2)),
                Output::Items(items) => item_name(items.first()?).map(|name| (name, 2)),
            }
        } else {
            figure(inner)
        };
    }
    if first.is_word("CASE") && case_end(item)? == item.len() - 1 {
        return Some(("case".into(), 1));
    }
    let top = outside_case(item);
    if let Some(&(i, _)) = top.iter().find(|(_, t)| t.is_word("COLLATE")) {
        return figure(&item[..i]);
    }
    let operator = top.iter().any(|(_, t)| {
        (t.kind == TokenKind::Operator && !t.text.contains("::") && !t.text.contains(['[', ']']))
            || KEYWORD_OPERATORS.iter().any(|k| t.is_word(k))
    });
    if operator {
        return Some((String::new(), 0));
    }
    if let Some(&(i, cast)) = top.iter().rev().find(|(_, t)| t.text.contains("::")) {
        if cast.text != "::" {
            return None;
        }
        return cast_name(&item[..i], &item[i + 1..]);
    }
    if first.is_word("CAST") && item.get(1)?.kind == TokenKind::LeftParen {
        if closing(item, 1)? != item.len() - 1 {
            return None;
        }
        let inner = &item[2..item.len() - 1];
        let (i, _) = top_level(inner).filter(|(_, t)| t.is_word("AS")).last()?;
        return cast_name(&inner[..i], &inner[i + 1..]);
    }
    if first.is_word("ARRAY") && item.get(1).is_some_and(|t| t.text == "[") {
        return (closing(item, 1)? == item.len() - 1).then(|| ("array".into(), 2));
    }
    if let Some(name) = function_name(item) {
        return Some((name, 2));
    }
    if let Some(name) = column_name(item) {
        return Some(name);
    }
    match item {
        [t] if matches!(
            t.kind,
            TokenKind::Number | TokenKind::String | TokenKind::Param
        ) =>
        {
            Some((String::new(), 0))
        }
        // A typed literal: DATE '2024-01-01', INTERVAL '1 day'.
        [words @ .., literal] if literal.kind == TokenKind::String && !words.is_empty() => {
            type_name(words).map(|name| (name, 1))
        }
        _ => None,
    }
}

/// The depth-0 tokens of `item` that are not inside a CASE ... END (whose
/// WHEN conditions are no operators of the item's own).
fn outside_case<'t, 'a>(item: &'t [Token<'a>]) -> Vec<(usize, &'t Token<'a>)> {
    let mut open = 0;
    top_level(item)
        .filter(|(_, token)| {
            let inside = open > 0;
            if token.is_word("CASE") {
                open += 1;
            } else if token.is_word("END") && open > 0 {
                open -= 1;
                return false;
            }
            !inside
        })
        .collect()
}

/// The index of the END closing the CASE at 0.
fn case_end(item: &[Token<'_>]) -> Option<usize> {
    let mut open = 0;
    for (i, token) in top_level(item) {
        if token.is_word("CASE") {
            open += 1;
        } else if token.is_word("END") {
            open -= 1;
            if open == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// A cast keeps its operand's name; an operand without one gives the type's.
fn cast_name(operand: &[Token<'_>], target: &[Token<'_>]) -> Option<(String, u8)> {
    let (name, strength) = figure(operand)?;
    if strength > 1 {
        return Some((name, strength));
    }
    type_name(target).map(|name| (name, 1))
}

/// `[schema.]name(...)` with optional FILTER, OVER and WITHIN GROUP clauses
/// and subscripts: the function's name, as PostgreSQL reports it.
fn function_name(item: &[Token<'_>]) -> Option<String> {
    let open = item.iter().position(|t| t.kind == TokenKind::LeftParen)?;
    if open == 0 || !is_dotted_name(&item[..open]) {
        return None;
    }
    let mut rest = closing(item, open)? + 1;
    while rest < item.len() {
        let t = &item[rest];
        let next = item.get(rest + 1);
        rest = if (t.is_word("FILTER") || t.is_word("OVER"))
            && next.is_some_and(|n| n.kind == TokenKind::LeftParen)
        {
            closing(item, rest + 1)? + 1
        } else if t.is_word("OVER") && next.is_some_and(|n| n.identifier().is_some()) {
            rest + 2
        } else if t.is_word("WITHIN")
            && next.is_some_and(|n| n.is_word("GROUP"))
            && item
                .get(rest + 2)
                .is_some_and(|n| n.kind == TokenKind::LeftParen)
        {
            closing(item, rest + 2)? + 1
        } else if t.text == "[" {
            closing(item, rest)? + 1
        } else {
            return None;
        };
    }
    let name = item[open - 1].identifier()?;
    let arguments = &item[open + 1..];
    Some(match name.as_str() {
        // PostgreSQL's grammar turns TRIM into these functions.
        "trim" if arguments.first().is_some_and(|t| t.is_word("LEADING")) => "ltrim".into(),
        "trim" if arguments.first().is_some_and(|t| t.is_word("TRAILING")) => "rtrim".into(),
        "trim" => "btrim".into(),
        _ => name,
    })
}

/// `name` or `a.b.name`, each part a word or a quoted identifier.
fn is_dotted_name(tokens: &[Token<'_>]) -> bool {
    tokens.len() % 2 == 1
        && tokens.iter().enumerate().all(|(i, t)| {
            if i % 2 == 0 {
                t.identifier().is_some()
            } else {
                t.kind == TokenKind::Dot
            }
        })
}

/// A column reference (with optional subscripts) or a bare keyword value.
fn column_name(item: &[Token<'_>]) -> Option<(String, u8)> {
    let end = item
        .iter()
        .position(|t| t.text == "[")
        .unwrap_or(item.len());
    if end == 0 || !is_dotted_name(&item[..end]) {
        return None;
    }
    let mut at = end;
    while at < item.len() {
        if item[at].text != "[" {
            return None;
        }
        at = closing(item, at)? + 1;
    }
    let last = &item[end - 1];
    // Constants, though they look like words.
    if end == 1 && ["NULL", "TRUE", "FALSE"].iter().any(|k| last.is_word(k)) {
        return Some((String::new(), 0));
    }
    last.identifier().map(|name| (name, 2))
}

/// Exactly a type: its words, then optional modifiers and array brackets.
fn is_type(tokens: &[Token<'_>]) -> bool {
    let words = tokens
        .iter()
        .take_while(|t| t.identifier().is_some() || t.kind == TokenKind::Dot)
        .count();
    let mut at = words;
    if tokens
        .get(at)
        .is_some_and(|t| t.kind == TokenKind::LeftParen)
    {
        match closing(tokens, at) {
            Some(close) => at = close + 1,
            None => return false,
        }
    }
    let brackets = tokens[at..]
        .iter()
        .all(|t| t.kind == TokenKind::Operator && t.text.chars().all(|c| c == '[' || c == ']'));
    brackets && type_name(&tokens[..words]).is_some()
}

/// PostgreSQL's name for a type as written in a cast.
fn type_name(tokens: &[Token<'_>]) -> Option<String> {
    // Modifiers and array brackets do not change the name.
    let end = tokens
        .iter()
        .position(|t| t.kind == TokenKind::LeftParen || t.text.starts_with('['))
        .unwrap_or(tokens.len());
    let words = &tokens[..end];
    if words.is_empty() {
        return None;
    }
    if words.len() > 1 && is_dotted_name(words) {
        return words.last()?.identifier();
    }
    if words.iter().any(|t| t.kind != TokenKind::Word) {
        return words
            .first()
            .filter(|_| words.len() == 1)
            .and_then(|t| t.identifier());
    }
    let spelled = words
        .iter()
        .map(|t| t.text.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    let name = match spelled.as_str() {
        "int" | "integer" | "int4" => "int4",
        "smallint" | "int2" => "int2",
        "bigint" | "int8" => "int8",
        "real" | "float4" => "float4",
        "double precision" | "float" | "float8" => "float8",
        "numeric" | "decimal" | "dec" => "numeric",
        "boolean" | "bool" => "bool",
        "character varying" | "char varying" | "varchar" => "varchar",
        "character" | "char" | "bpchar" => "bpchar",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "time" | "time without time zone" => "time",
        "timetz" | "time with time zone" => "timetz",
        "bit varying" | "varbit" => "varbit",
        one_word if words.len() == 1 => one_word,
        _ => return None,
    };
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str, columns: usize) -> Vec<Option<String>> {
        postgres_columns(sql, columns)
            .into_iter()
            .map(|hint| hint.name)
            .collect()
    }

    #[test]
    fn text_casts_of_plain_operands_are_found() {
        let casts = |sql: &str| -> Vec<(usize, String, String)> {
            text_casts(sql)
                .into_iter()
                .map(|c| {
                    (
                        c.column,
                        sql[c.operand].to_string(),
                        sql[c.cast].to_string(),
                    )
                })
                .collect()
        };
        let cast = |column: usize, operand: &str, whole: &str| {
            (column, operand.to_string(), whole.to_string())
        };
        assert_eq!(
            casts("SELECT id, \"by\"::text, t.ai::TEXT AS a, CAST(x || y AS varchar) xy, f(a, b)::character varying, (a)::text FROM t"),
            vec![
                cast(1, "\"by\"", "\"by\"::text"),
                cast(2, "t.ai", "t.ai::TEXT"),
                cast(3, "x || y", "CAST(x || y AS varchar)"),
                cast(4, "f(a, b)", "f(a, b)::character varying"),
                cast(5, "(a)", "(a)::text"),
            ]
        );
        for sql in [
            "SELECT a || b::text FROM t",
            "SELECT a::varchar(3), a::text[], a::int FROM t",
            "SELECT *, a::text FROM t",
            "SELECT a::bytea::text FROM t",
            "INSERT INTO t SELECT a::text FROM u",
        ] {
            assert_eq!(casts(sql), vec![], "{sql}");
        }
    }

    #[test]
    fn sum_calls_are_found_where_the_text_is_sum() {
        let sums = |sql: &str, columns: usize| -> Vec<Option<String>> {
            postgres_columns(sql, columns)
                .into_iter()
                .map(|hint| hint.sum_at.map(|at| sql[at..at + 3].to_string()))
                .collect()
        };
        let sum = Some("sum".to_string());
        let big = Some("SUM".to_string());
        assert_eq!(
            sums("SELECT sum(a) AS total, SUM(b) t, sum(c) FILTER (WHERE c > 0), sum(d) OVER (PARTITION BY e) FROM s", 4),
            vec![sum.clone(), big, sum.clone(), sum.clone()]
        );
        assert_eq!(
            sums(
                "SELECT sum(a) + 1, sum(a)::int, a, count(*), summary(x), \"sum\"(a) FROM s",
                6
            ),
            vec![None, None, None, None, None, None]
        );
        assert_eq!(
            sums("SELECT x, sum(DISTINCT a) FROM s GROUP BY x", 2),
            vec![None, sum]
        );
    }

    #[test]
    fn character_casts_keep_their_postgres_type() {
        let types = |sql: &str, columns: usize| -> Vec<Option<(u32, i32)>> {
            postgres_columns(sql, columns)
                .into_iter()
                .map(|hint| hint.character_type)
                .collect()
        };
        assert_eq!(
            types(
                "SELECT 'x'::varchar(3) AS v, CAST(a AS character varying), b::char, c::text, \
                 d::varchar || 'x', e::varchar(3)[], 'y'::varchar(2) w",
                7
            ),
            [
                Some((1043, 7)),
                Some((1043, -1)),
                Some((1042, 5)),
                None,
                None,
                None,
                None
            ]
        );
    }

    fn all(sql: &str, columns: usize) -> Vec<String> {
        names(sql, columns)
            .into_iter()
            .map(|n| n.unwrap_or_else(|| "<duckdb>".into()))
            .collect()
    }

    #[test]
    fn unaliased_expressions_get_postgres_names() {
        let cases: &[(&str, &[&str])] = &[
            ("SELECT count(*) FROM t", &["count"]),
            ("select 1, 'a', $1, -1, null", &["?column?"; 5]),
            ("SELECT a, t.b, s.t.c, \"Mixed\" FROM t", &["a", "b", "c", "Mixed"]),
            ("SELECT a + 1, a = b, a IS NULL, NOT a, a IN (1)", &["?column?"; 5]),
            ("SELECT x::int, 1::bigint, '1'::double precision, '1'::varchar(3)[]", &["x", "int8", "float8", "varchar"]),
            ("SELECT CAST(x AS text), CAST(1 AS numeric(10, 2))", &["x", "numeric"]),
            ("SELECT true, false, DATE '2024-01-01', interval '1 day'", &["?column?", "?column?", "date", "interval"]),
            ("SELECT a::numeric / 2, (a::int)::text", &["?column?", "a"]),
            ("SELECT 'y'::varchar(2) w, x::numeric(10, 2), y::int[]", &["<duckdb>", "x", "y"]),
            ("SELECT CASE WHEN a THEN 1 END, CASE a WHEN 1 THEN 2 ELSE 3 END::text", &["case", "text"]),
            ("SELECT pg_catalog.format_type(a, b), \"Lower\"(x), sum(x) FILTER (WHERE y) OVER (PARTITION BY z)", &["format_type", "Lower", "sum"]),
            ("SELECT row_number() OVER w, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM t WINDOW w AS ()", &["row_number", "percentile_cont"]),
            ("SELECT trim(x), trim(leading 'a' from x), coalesce(a, b), ARRAY[1, 2], arr[1]", &["btrim", "ltrim", "coalesce", "array", "arr"]),
            ("SELECT (SELECT max(a) FROM t), (SELECT 1), EXISTS (SELECT 1), (a)", &["max", "?column?", "exists", "a"]),
            ("SELECT current_date, x COLLATE \"C\", a IS DISTINCT FROM b FROM t", &["current_date", "x", "?column?"]),
            ("WITH q AS (SELECT 1 AS one) SELECT one, one + 1 FROM q", &["one", "?column?"]),
            ("SELECT DISTINCT ON (a) a, count(b) FROM t GROUP BY a", &["a", "count"]),
        ];
        for (sql, expected) in cases {
            assert_eq!(all(sql, expected.len()), *expected, "{sql}");
        }
    }

    #[test]
    fn aliases_fold_as_postgres_does() {
        assert_eq!(
            all(
                "SELECT count(*) AS Total, 1 n, a \"Keep\", x::int y, x::double precision",
                5
            ),
            ["total", "n", "Keep", "<duckdb>", "x"]
        );
        assert_eq!(all("SELECT interval '1' day", 1), ["<duckdb>"]);
    }

    #[test]
    fn values_and_stars() {
        assert_eq!(all("VALUES (1, 2)", 2), ["column1", "column2"]);
        assert_eq!(
            all("SELECT count(*), *, t.*, 1 FROM t", 5),
            ["count", "<duckdb>", "<duckdb>", "<duckdb>", "?column?"]
        );
        // Items and columns that do not line up name nothing.
        assert_eq!(all("SELECT a, b FROM t", 3), ["<duckdb>"; 3]);
    }

    #[test]
    fn other_statements_and_unknown_forms_keep_duckdb_names() {
        for sql in [
            "INSERT INTO t VALUES (1) RETURNING count",
            "WITH q AS (SELECT 1) INSERT INTO t SELECT * FROM q RETURNING a",
            "SHOW x",
            "SELECT f(x).field",
            "SELECT 'unterminated",
        ] {
            assert_eq!(all(sql, 1), ["<duckdb>"], "{sql}");
        }
    }
}
