//! The tenant guard: `require` holds only when every `SELECT` that reads a
//! table carries a top-level `AND` conjunct of its `WHERE` of the form
//! `column = {{name}}` or `column IN ({{name}})` for each required name.
//!
//! The resolved SQL (with its real placeholders) is parsed with
//! `sqlparser` for the dialect; each placeholder is matched to the
//! variable it was rendered from by its line and column, so a value can
//! never be mistaken for a filter. What the parser cannot read is refused.
//!
//! What it proves: no `SELECT` in the statement (subqueries, CTE bodies,
//! each `UNION` branch) reads a table without a conjunct comparing some
//! column to the required variable, and no table is read outside such a
//! `SELECT` (`TABLE t`, SQLite's `x IN t`, data-changing statements).
//! What it does not prove: that the column belongs to the table meant
//! (an unqualified `tenant` may resolve to another table of a join, or to
//! a derived table's column), that every table of a join is filtered, or
//! what a function or view reads. A CTE's name read by a `SELECT` in its
//! scope is not a table; the CTE's own body is checked.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Ident, InTarget, ObjectName, ObjectNamePart, Query, Select, SetExpr,
    Statement, TableFactor, TableWithJoins, Value, Visit, Visitor,
};
use sqlparser::dialect::{self, Dialect as ParserDialect};
use sqlparser::parser::Parser;

use super::render::Rendered;
use super::{Dialect, SqlError};

/// A placeholder the renderer wrote: where, and for which variable.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Byte offset of the placeholder in the resolved SQL.
    pub offset: usize,
    /// The variable it binds, as an index into `variables_used`.
    pub variable: usize,
}

/// The longest resolved SQL the guard parses: a syntax tree costs many
/// times its text, so a larger guarded query is refused (`sql_too_large`).
pub const MAX_GUARDED_SQL_BYTES: usize = 256 * 1024;

/// Checks the guard for every name in `require` over a rendered query.
pub fn check(rendered: &Rendered, dialect: Dialect, require: &[String]) -> Result<(), SqlError> {
    if require.is_empty() {
        return Ok(());
    }
    let sql = rendered.query.sql.as_str();
    if sql.len() > MAX_GUARDED_SQL_BYTES {
        return Err(SqlError::TooLarge(format!(
            "a query checked by require may resolve to at most {MAX_GUARDED_SQL_BYTES} bytes"
        )));
    }
    let refuse = |context: String| SqlError::TenantFilterMissing {
        name: require.join(", "),
        context,
    };
    let parser_dialect: Box<dyn ParserDialect> = match dialect {
        Dialect::Postgres => Box::new(dialect::PostgreSqlDialect {}),
        Dialect::Mysql => Box::new(dialect::MySqlDialect {}),
        Dialect::Sqlite => Box::new(dialect::SQLiteDialect {}),
    };
    let statements = Parser::parse_sql(parser_dialect.as_ref(), sql).map_err(|err| {
        refuse(format!(
            "the guard's SQL parser cannot read the query ({err})"
        ))
    })?;
    let [statement] = statements.as_slice() else {
        return Err(refuse(format!(
            "the guard reads exactly one statement; this query has {}",
            statements.len()
        )));
    };
    if !matches!(statement, Statement::Query(_)) {
        return Err(refuse("the guard reads only SELECT queries".to_owned()));
    }
    let mut walk = Walk {
        placeholders: locate(sql, &rendered.bindings, &rendered.query.variables_used),
        require,
        scopes: vec![Vec::new()],
        cte_scopes: HashMap::new(),
        relations: Vec::new(),
        covered: HashSet::new(),
    };
    if let ControlFlow::Break(context) = statement.visit(&mut walk) {
        return Err(refuse(context));
    }
    if let Some(name) = walk
        .relations
        .iter()
        .find(|(address, _)| !walk.covered.contains(address))
    {
        return Err(refuse(format!(
            "{} is read outside the FROM of a SELECT",
            name.1
        )));
    }
    Ok(())
}

/// Maps each binding's byte offset to the line and column `sqlparser`
/// reports (both from 1, columns in characters, a new line after `\n`).
fn locate<'a>(
    sql: &str,
    bindings: &[Binding],
    names: &'a [String],
) -> HashMap<(u64, u64), &'a str> {
    let mut wanted: Vec<&Binding> = bindings.iter().collect();
    wanted.sort_by_key(|binding| binding.offset);
    let mut found = HashMap::with_capacity(wanted.len());
    let mut next = wanted.into_iter().peekable();
    let (mut line, mut column) = (1u64, 1u64);
    for (offset, c) in sql.char_indices() {
        while let Some(binding) = next.next_if(|binding| binding.offset == offset) {
            if let Some(name) = names.get(binding.variable) {
                found.insert((line, column), name.as_str());
            }
        }
        if next.peek().is_none() {
            break;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    found
}

struct Walk<'a> {
    placeholders: HashMap<(u64, u64), &'a str>,
    require: &'a [String],
    /// CTE names visible to the query being visited, innermost last.
    scopes: Vec<Vec<Ident>>,
    /// The scope each CTE body is checked in, by the body's address.
    cte_scopes: HashMap<usize, Vec<Ident>>,
    /// Every table name in the statement, by address.
    relations: Vec<(usize, String)>,
    /// Table names read directly by a checked SELECT.
    covered: HashSet<usize>,
}

fn address<T>(item: &T) -> usize {
    std::ptr::from_ref(item) as usize
}

impl Visitor for Walk<'_> {
    type Break = String;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        let outer = match self.cte_scopes.remove(&address(query)) {
            Some(scope) => scope,
            None => self.scopes.last().cloned().unwrap_or_default(),
        };
        let mut scope = outer.clone();
        if let Some(with) = &query.with {
            let names: Vec<Ident> = with
                .cte_tables
                .iter()
                .map(|cte| cte.alias.name.clone())
                .collect();
            for (index, cte) in with.cte_tables.iter().enumerate() {
                // A CTE body sees the CTEs before it; under RECURSIVE, all.
                let visible = if with.recursive { names.len() } else { index };
                let mut body_scope = outer.clone();
                body_scope.extend_from_slice(&names[..visible]);
                self.cte_scopes
                    .insert(address(cte.query.as_ref()), body_scope);
            }
            scope.extend(names);
        }
        self.check_body(&query.body, &scope)?;
        self.scopes.push(scope);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<String> {
        self.scopes.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<String> {
        self.relations
            .push((address(relation), relation.to_string()));
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        if let Expr::In {
            target: InTarget::Table { name, .. },
            ..
        } = expr
        {
            return ControlFlow::Break(format!("IN {name} reads a table outside a SELECT"));
        }
        ControlFlow::Continue(())
    }
}

impl Walk<'_> {
    fn check_body(&mut self, body: &SetExpr, scope: &[Ident]) -> ControlFlow<String> {
        match body {
            SetExpr::Select(select) => self.check_select(select, scope),
            SetExpr::SetOperation { left, right, .. } => {
                self.check_body(left, scope)?;
                self.check_body(right, scope)
            }
            // Visited as queries of their own.
            SetExpr::Query(_) | SetExpr::Values(_) => ControlFlow::Continue(()),
            SetExpr::Table(table) => ControlFlow::Break(format!(
                "{} reads a table without a WHERE",
                first_words(&table.to_string())
            )),
            other => ControlFlow::Break(format!(
                "the guard reads only SELECT queries, not {}",
                first_words(&other.to_string())
            )),
        }
    }

    fn check_select(&mut self, select: &Select, scope: &[Ident]) -> ControlFlow<String> {
        let mut reads_table = false;
        for from in &select.from {
            self.walk_from(from, scope, &mut reads_table);
        }
        if !reads_table {
            return ControlFlow::Continue(());
        }
        let conjuncts = select.selection.as_ref().map(conjuncts).unwrap_or_default();
        for name in self.require {
            if !conjuncts.iter().any(|c| self.filters_on(c, name)) {
                return ControlFlow::Break(format!(
                    "the SELECT at line {}, column {} ({}) has no top-level WHERE conjunct \
                     `column = {{{{{name}}}}}` or `column IN ({{{{{name}}}}})`",
                    select.select_token.0.span.start.line,
                    select.select_token.0.span.start.column,
                    first_words(&select.to_string()),
                ));
            }
        }
        ControlFlow::Continue(())
    }

    /// Marks the tables a FROM item reads directly and whether any is a
    /// table (anything but a derived table or an in-scope CTE).
    fn walk_from(&mut self, from: &TableWithJoins, scope: &[Ident], reads_table: &mut bool) {
        self.walk_factor(&from.relation, scope, reads_table);
        for join in &from.joins {
            self.walk_factor(&join.relation, scope, reads_table);
        }
    }

    fn walk_factor(&mut self, factor: &TableFactor, scope: &[Ident], reads_table: &mut bool) {
        match factor {
            TableFactor::Table { name, args, .. } => {
                self.covered.insert(address(name));
                if args.is_some() || !names_cte(name, scope) {
                    *reads_table = true;
                }
            }
            TableFactor::Derived { .. } => {}
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.walk_from(table_with_joins, scope, reads_table),
            TableFactor::Pivot { table, .. }
            | TableFactor::Unpivot { table, .. }
            | TableFactor::MatchRecognize { table, .. } => {
                *reads_table = true;
                self.walk_factor(table, scope, reads_table);
            }
            // Table functions and the like: fail closed.
            _ => *reads_table = true,
        }
    }

    /// Whether `expr` is `column = {{name}}` (either side) or
    /// `column IN ({{name}})` with every element bound from `name`.
    fn filters_on(&self, expr: &Expr, name: &str) -> bool {
        match unnest(expr) {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                (is_column(left) && self.is_bound(right, name))
                    || (is_column(right) && self.is_bound(left, name))
            }
            Expr::In {
                expr,
                target: InTarget::List(list),
                negated: false,
                ..
            } => {
                is_column(expr)
                    && !list.is_empty()
                    && list.iter().all(|item| self.is_bound(item, name))
            }
            _ => false,
        }
    }

    /// Whether `expr` is a placeholder rendered from `name` (possibly in
    /// parentheses or cast).
    fn is_bound(&self, expr: &Expr, name: &str) -> bool {
        match unnest(expr) {
            Expr::Value(value) => {
                matches!(value.value, Value::Placeholder(_))
                    && self
                        .placeholders
                        .get(&(value.span.start.line, value.span.start.column))
                        .is_some_and(|bound| *bound == name)
            }
            Expr::Cast { expr, .. } => self.is_bound(expr, name),
            _ => false,
        }
    }
}

/// The top-level `AND` conjuncts of a condition.
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match unnest(expr) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut all = conjuncts(left);
            all.extend(conjuncts(right));
            all
        }
        other => vec![other],
    }
}

fn unnest(expr: &Expr) -> &Expr {
    match expr {
        Expr::Nested(inner) => unnest(inner),
        other => other,
    }
}

fn is_column(expr: &Expr) -> bool {
    matches!(
        unnest(expr),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_)
    )
}

/// Whether an unqualified table name is one of the CTEs in scope. Names
/// are compared exactly, quoting included, so a name the server might
/// read as another table never counts as a CTE.
fn names_cte(name: &ObjectName, scope: &[Ident]) -> bool {
    let [ObjectNamePart::Identifier(ident)] = name.0.as_slice() else {
        return false;
    };
    scope
        .iter()
        .any(|cte| cte.value == ident.value && cte.quote_style == ident.quote_style)
}

/// The start of a piece of SQL, for messages.
fn first_words(sql: &str) -> String {
    const MAX: usize = 60;
    match sql.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &sql[..end]),
        None => sql.to_owned(),
    }
}
