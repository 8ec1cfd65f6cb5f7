//! Batch evaluation over Arrow columns (one per declared variable, in declaration order):
//! per-row results as tags + 64-bit values + an Arrow binary for strings and bytes, or, for
//! routing, a shard id per row (direct: the integer result; categorical: the token's index).

use super::codec;
use super::error::{EvalError, EvalKind};
use super::fast::{Fast, RowVals};
use super::types::Ty;
use super::value::{Buf, TypeName, Value};
use super::Program;
use crate::column::{Column, ColumnType, VarValues};
use crate::errors::Code;

/// Why a batch stopped.
#[derive(Debug)]
pub enum BatchError {
    /// A column does not fit its declaration (`col` is its index); not tied to a row.
    ColumnType { col: usize },
    /// A kernel-level failure (bad offsets, too many output bytes) at `row`.
    Kernel { code: Code, row: usize },
    /// Evaluation failed at `row`.
    Eval { row: usize, err: EvalError },
    /// Routing: the result at `row` is not int, uint, string or bytes (or, in direct mode,
    /// not an integer).
    ResultType { row: usize, got: TypeName },
    /// Direct routing: the shard id at `row` is negative or above 2^31-1.
    ShardRange { row: usize, value: String },
}

fn accepts(decl: &Ty, ty: ColumnType) -> bool {
    use ColumnType::*;
    match decl {
        Ty::Int | Ty::Uint => ty.int_width().is_some(),
        Ty::Double => matches!(ty, Float32 | Float64),
        Ty::String => matches!(ty, Utf8 | LargeUtf8),
        Ty::Bytes => matches!(ty, Binary | LargeBinary | Utf8 | LargeUtf8),
        Ty::Bool => ty == Bool,
        _ => false,
    }
}

#[inline(always)]
fn int_at(col: &Column, row: usize) -> i128 {
    use ColumnType::*;
    let w = col.ty.int_width().unwrap_or(8);
    let b = col.fixed_at(row, w);
    let mut a = [0u8; 8];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    let raw = u64::from_le_bytes(a);
    match col.ty {
        Int8 => raw as u8 as i8 as i128,
        Int16 => raw as u16 as i16 as i128,
        Int32 => raw as u32 as i32 as i128,
        Int64 => raw as i64 as i128,
        _ => raw as i128,
    }
}

#[inline(always)]
fn float_at(col: &Column, row: usize) -> f64 {
    if col.ty == ColumnType::Float32 {
        let b = col.fixed_at(row, 4);
        let mut a = [0u8; 4];
        for (d, s) in a.iter_mut().zip(b) {
            *d = *s;
        }
        f32::from_le_bytes(a) as f64
    } else {
        let b = col.fixed_at(row, 8);
        let mut a = [0u8; 8];
        for (d, s) in a.iter_mut().zip(b) {
            *d = *s;
        }
        f64::from_le_bytes(a)
    }
}

/// One cell of a row: an int/uint (bits)/bool, a double, or string/bytes.
#[derive(Clone, Copy)]
enum Cell<'a> {
    N(i64),
    F(f64),
    B(&'a [u8]),
}

/// Reads the declared variables row by row.
struct Rows<'a, 'p> {
    cols: &'p [Column<'a>],
    decls: Vec<Ty>,
    names: Vec<&'p str>,
    vars: Vec<Option<VarValues<'a>>>,
    /// A copy of `decls` for `bind` to read while `read` borrows the rows mutably.
    kinds: Vec<Ty>,
    /// String columns whose whole data range is valid UTF-8: each row then only needs to start
    /// on a character boundary.
    utf8_ok: Vec<bool>,
}

impl<'a, 'p> Rows<'a, 'p> {
    fn new(prog: &'p Program, cols: &'p [Column<'a>], rows: usize) -> Result<Rows<'a, 'p>, BatchError> {
        let decls: Vec<Ty> = prog.env.vars.iter().map(|d| d.ty.clone()).collect();
        if cols.len() != decls.len() {
            return Err(BatchError::ColumnType { col: cols.len().min(decls.len()) });
        }
        let mut vars = Vec::with_capacity(cols.len());
        for (i, (c, d)) in cols.iter().zip(decls.iter()).enumerate() {
            if !accepts(d, c.ty) || c.len < rows {
                return Err(BatchError::ColumnType { col: i });
            }
            vars.push(if c.ty.offset_width().is_some() {
                Some(c.var_values(rows))
            } else {
                None
            });
        }
        let utf8_ok = cols
            .iter()
            .zip(decls.iter())
            .map(|(c, d)| *d == Ty::String && c.var_data(rows).map_or(false, |b| core::str::from_utf8(b).is_ok()))
            .collect();
        Ok(Rows {
            cols,
            kinds: decls.clone(),
            decls,
            names: prog.env.vars.iter().map(|d| d.name.as_str()).collect(),
            vars,
            utf8_ok,
        })
    }

    fn fail(&self, row: usize, kind: EvalKind, msg: String) -> BatchError {
        BatchError::Eval {
            row,
            err: EvalError::new(kind, msg),
        }
    }

    /// Calls `put(i, cell)` for every declared variable of row `row` (rows must be read in
    /// order), after the null, UTF-8 and int/uint range checks.
    #[inline(always)]
    fn read<F: FnMut(usize, Cell<'a>)>(&mut self, row: usize, mut put: F) -> Result<(), BatchError> {
        for i in 0..self.cols.len() {
            let col = &self.cols[i];
            // Advance the var-length iterator even for null rows so later rows stay aligned.
            let var = match &mut self.vars[i] {
                Some(it) => match it.next() {
                    Some(Ok(b)) => Some(b),
                    Some(Err(e)) => return Err(BatchError::Kernel { code: e.code, row }),
                    None => return Err(BatchError::Kernel { code: Code::BadOffsets, row }),
                },
                None => None,
            };
            if !col.is_valid(row) {
                return Err(self.fail(row, EvalKind::NullColumn, format!("column '{}' is null", self.names[i])));
            }
            let cell = match (&self.decls[i], var) {
                (Ty::String, Some(b)) => {
                    let valid = if self.utf8_ok[i] {
                        b.first().map_or(true, |&c| (c as i8) >= -0x40)
                    } else {
                        core::str::from_utf8(b).is_ok()
                    };
                    if !valid {
                        return Err(self.fail(row, EvalKind::BadUtf8, format!("column '{}' is not valid UTF-8", self.names[i])));
                    }
                    Cell::B(b)
                }
                (_, Some(b)) => Cell::B(b),
                (Ty::Int, None) => {
                    let x = int_at(col, row);
                    if x > i64::MAX as i128 {
                        return Err(self.fail(
                            row,
                            EvalKind::Range,
                            format!("column '{}' value {} does not fit CEL int; declare the column uint", self.names[i], x),
                        ));
                    }
                    Cell::N(x as i64)
                }
                (Ty::Uint, None) => {
                    let x = int_at(col, row);
                    if x < 0 {
                        return Err(self.fail(
                            row,
                            EvalKind::Range,
                            format!("column '{}' value {} is negative and cannot be a CEL uint; declare the column int", self.names[i], x),
                        ));
                    }
                    Cell::N(x as u64 as i64)
                }
                (Ty::Double, None) => Cell::F(float_at(col, row)),
                (_, None) => Cell::N(col.bool_at(row) as i64),
            };
            put(i, cell);
        }
        Ok(())
    }

    /// Binds row `row` into the first slots, as `Value`s (generic evaluator).
    #[inline(always)]
    fn bind(&mut self, row: usize, slots: &mut [Option<Value<'a>>]) -> Result<(), BatchError> {
        let decls = core::mem::take(&mut self.kinds);
        let r = self.read(row, |i, cell| {
            slots[i] = Some(match (&decls[i], cell) {
                (Ty::Int, Cell::N(v)) => Value::Int(v),
                (Ty::Uint, Cell::N(v)) => Value::Uint(v as u64),
                (Ty::Bool, Cell::N(v)) => Value::Bool(v != 0),
                (Ty::String, Cell::B(b)) => Value::Str(Buf::B(b)),
                (_, Cell::B(b)) => Value::Bytes(Buf::B(b)),
                (_, Cell::F(f)) => Value::Double(f),
                (_, Cell::N(v)) => Value::Int(v),
            });
        });
        self.kinds = decls;
        r
    }

    /// Binds row `row` for the fast path.
    #[inline(always)]
    fn bind_fast(&mut self, row: usize, rv: &mut RowVals<'a>) -> Result<(), BatchError> {
        self.read(row, |i, cell| match cell {
            Cell::N(v) => rv.n[i] = v,
            Cell::F(f) => rv.f[i] = f,
            Cell::B(b) => rv.b[i] = b,
        })
    }
}

/// Where `eval_batch` writes: `tags` and `vals` hold one entry per row, `offsets` `rows + 1`
/// Arrow binary offsets into `data` (string and bytes results; empty for other rows).
pub struct Outputs<'o> {
    pub tags: &'o mut [u8],
    pub vals: &'o mut [i64],
    pub offsets: &'o mut [i32],
    pub data: &'o mut Vec<u8>,
}

/// Evaluates every row. Rows before a failing row are written.
pub fn eval_batch(prog: &Program, cols: &[Column], rows: usize, out: Outputs) -> Result<(), BatchError> {
    if out.tags.len() < rows || out.vals.len() < rows || out.offsets.len() < rows + 1 {
        return Err(BatchError::Kernel { code: Code::BadArgument, row: crate::errors::NO_ROW as usize });
    }
    out.data.clear();
    out.offsets[0] = 0;
    let mut r = Rows::new(prog, cols, rows)?;
    if let Some(f) = &prog.fast {
        let mut rv = RowVals::new(cols.len());
        for row in 0..rows {
            r.bind_fast(row, &mut rv)?;
            let fail = |e: Box<EvalError>| BatchError::Eval { row, err: *e };
            let (tag, val) = match f {
                Fast::Int(g) => (codec::TAG_INT, g(&rv).map_err(fail)?),
                Fast::Uint(g) => (codec::TAG_UINT, g(&rv).map_err(fail)? as i64),
                Fast::Double(g) => (codec::TAG_DOUBLE, g(&rv).map_err(fail)?.to_bits() as i64),
                Fast::Bool(g) => (codec::TAG_BOOL, g(&rv).map_err(fail)? as i64),
                Fast::Str(g) | Fast::Bytes(g) => {
                    let start = out.data.len();
                    g.write(&rv, out.data).map_err(fail)?;
                    let tag = if matches!(f, Fast::Str(_)) { codec::TAG_STRING } else { codec::TAG_BYTES };
                    (tag, (out.data.len() - start) as i64)
                }
            };
            out.tags[row] = tag;
            out.vals[row] = val;
            if out.data.len() > i32::MAX as usize {
                return Err(BatchError::Kernel { code: Code::OutputTooSmall, row });
            }
            out.offsets[row + 1] = out.data.len() as i32;
        }
        return Ok(());
    }
    let mut slots = prog.slots();
    for row in 0..rows {
        r.bind(row, &mut slots)?;
        let v = super::eval::eval(prog.root(), &mut slots).map_err(|err| BatchError::Eval { row, err })?;
        out.tags[row] = codec::tag_of(&v);
        out.vals[row] = match &v {
            Value::Bool(b) => *b as i64,
            Value::Int(i) => *i,
            Value::Uint(u) => *u as i64,
            Value::Double(d) => d.to_bits() as i64,
            Value::Str(b) | Value::Bytes(b) => {
                out.data.extend_from_slice(b.bytes());
                b.bytes().len() as i64
            }
            Value::Timestamp(ns) => {
                codec::put_timestamp(out.data, *ns);
                12
            }
            Value::Duration(ns) => {
                codec::put_duration(out.data, *ns);
                12
            }
            _ => 0,
        };
        if out.data.len() > i32::MAX as usize {
            return Err(BatchError::Kernel { code: Code::OutputTooSmall, row });
        }
        out.offsets[row + 1] = out.data.len() as i32;
    }
    Ok(())
}

/// Python's `int(str)` for the numeric strings a direct-mode expression may return.
fn parse_decimal(b: &[u8]) -> Option<i128> {
    let t = core::str::from_utf8(b).ok()?.trim();
    let digits = t.strip_prefix('-').or_else(|| t.strip_prefix('+')).unwrap_or(t);
    if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.strip_prefix('+').unwrap_or(t).parse().ok()
}

/// Shard id of every row: in direct mode the integer result itself (no modulo), in
/// categorical mode the index of the token in the routing values, or -1 for an unknown token.
pub fn route_batch(prog: &Program, cols: &[Column], rows: usize, out: &mut [i32]) -> Result<(), BatchError> {
    if out.len() < rows {
        return Err(BatchError::Kernel { code: Code::BadArgument, row: crate::errors::NO_ROW as usize });
    }
    let mut r = Rows::new(prog, cols, rows)?;
    if let Some(s) = &prog.select {
        let [a, b] = s.results();
        if let (Ok(x), Ok(y)) = (route_int(prog, a, 0, || Value::Int(0)), route_int(prog, b, 0, || Value::Int(0))) {
            let utf8_ok = r.utf8_ok.first().copied().unwrap_or(false);
            if s.route(cols, utf8_ok, [x, y], rows, out).is_some() {
                return Ok(());
            }
        }
    }
    if let Some(f) = &prog.fast {
        let mut rv = RowVals::new(cols.len());
        let mut scratch = Vec::new();
        for (row, slot) in out.iter_mut().enumerate().take(rows) {
            r.bind_fast(row, &mut rv)?;
            let fail = |e: Box<EvalError>| BatchError::Eval { row, err: *e };
            *slot = match f {
                Fast::Int(g) => route_int(prog, g(&rv).map_err(fail)? as i128, row, || Value::Int(0))?,
                Fast::Uint(g) => route_int(prog, g(&rv).map_err(fail)? as i128, row, || Value::Uint(0))?,
                Fast::Str(g) | Fast::Bytes(g) => {
                    scratch.clear();
                    g.write(&rv, &mut scratch).map_err(fail)?;
                    let v = if matches!(f, Fast::Str(_)) {
                        Value::Str(Buf::B(&scratch))
                    } else {
                        Value::Bytes(Buf::B(&scratch))
                    };
                    route_value(prog, &v, row)?
                }
                Fast::Double(_) => return Err(BatchError::ResultType { row, got: TypeName::Double }),
                Fast::Bool(_) => return Err(BatchError::ResultType { row, got: TypeName::Bool }),
            };
        }
        return Ok(());
    }
    let mut slots = prog.slots();
    for (row, slot) in out.iter_mut().enumerate().take(rows) {
        r.bind(row, &mut slots)?;
        let v = super::eval::eval(prog.root(), &mut slots).map_err(|err| BatchError::Eval { row, err })?;
        *slot = route_value(prog, &v, row)?;
    }
    Ok(())
}

/// The shard id of an integer result.
#[inline(always)]
fn route_int<'v, F: Fn() -> Value<'v>>(prog: &Program, id: i128, row: usize, shown: F) -> Result<i32, BatchError> {
    match &prog.routing {
        Some(table) => Ok(table.int(id).map_or(-1, |i| i as i32)),
        None => {
            if id < 0 || id > i32::MAX as i128 {
                let v = match shown() {
                    Value::Uint(_) => Value::Uint(id as u64),
                    _ => Value::Int(id as i64),
                };
                return Err(BatchError::ShardRange { row, value: v.render() });
            }
            Ok(id as i32)
        }
    }
}

/// The shard id of one result (shared with the scalar path).
pub fn route_value(prog: &Program, v: &Value, row: usize) -> Result<i32, BatchError> {
    let bad = || BatchError::ResultType { row, got: v.type_name() };
    match &prog.routing {
        Some(table) => {
            let idx = match v {
                Value::Int(i) => table.int(*i as i128),
                Value::Uint(u) => table.int(*u as i128),
                Value::Str(b) => table.str(b.bytes()),
                Value::Bytes(b) => table.bytes(b.bytes()),
                _ => return Err(bad()),
            };
            Ok(idx.map_or(-1, |i| i as i32))
        }
        None => {
            let id: i128 = match v {
                Value::Int(i) => *i as i128,
                Value::Uint(u) => *u as i128,
                Value::Str(b) | Value::Bytes(b) => parse_decimal(b.bytes()).ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            if id < 0 || id > i32::MAX as i128 {
                return Err(BatchError::ShardRange { row, value: v.render() });
            }
            Ok(id as i32)
        }
    }
}
