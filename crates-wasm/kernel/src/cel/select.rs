//! Whole-column select for routing: `col == "lit" ? A : B` (or `!=`, either operand order) with
//! `col` a string/bytes column and `A`, `B` int or uint literals. The shard ids of `A` and `B`
//! are resolved once; each row then only compares its bytes to the literal (length first) and
//! picks one of two ids, without per-row closures or values. Anything unusual (nulls, other
//! columns, bad offsets, a row that is not valid UTF-8, a literal with no valid shard id)
//! declines, and the caller runs the general path, which reports the error at its row.

use super::compile::{CmpOp, Const, Node};
use super::types::Ty;
use crate::column::Column;

pub struct Select {
    col: usize,
    lit: Box<[u8]>,
    /// The string column's rows must be UTF-8 (bytes columns are not checked).
    utf8: bool,
    /// The results when the column does not equal / equals the literal.
    results: [Const; 2],
}

impl Select {
    pub fn recognize(root: &Node, decls: &[Ty]) -> Option<Select> {
        let (cond, a, b) = match root {
            Node::Cond(c, a, b) => (c, a, b),
            _ => return None,
        };
        let (op, x, y) = match &**cond {
            Node::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), x, y) => (*op, x, y),
            _ => return None,
        };
        let (col, lit) = match (&**x, &**y) {
            (Node::Var(i), Node::Const(k)) | (Node::Const(k), Node::Var(i)) => (*i, k),
            _ => return None,
        };
        let (lit, utf8): (Box<[u8]>, bool) = match (decls.get(col)?, lit) {
            (Ty::String, Const::Str(s)) => (s.as_bytes().into(), true),
            (Ty::Bytes, Const::Bytes(b)) => (b.clone(), false),
            _ => return None,
        };
        let (then, other) = match (&**a, &**b) {
            (Node::Const(p @ Const::Int(_)), Node::Const(q @ Const::Int(_)))
            | (Node::Const(p @ Const::Uint(_)), Node::Const(q @ Const::Uint(_))) => (p.clone(), q.clone()),
            _ => return None,
        };
        let results = if op == CmpOp::Eq { [other, then] } else { [then, other] };
        Some(Select { col, lit, utf8, results })
    }

    /// The integer results (not equal, equal), for the caller to turn into shard ids.
    pub fn results(&self) -> [i128; 2] {
        let int = |c: &Const| match c {
            Const::Int(i) => *i as i128,
            Const::Uint(u) => *u as i128,
            _ => 0,
        };
        [int(&self.results[0]), int(&self.results[1])]
    }

    /// Writes `ids[row equals the literal]` for rows `0..rows` of the only column; `None` (the
    /// output then partly written) when the general path must run instead. `utf8_ok`: the
    /// column's whole data range is valid UTF-8, so each row only has to start on a character.
    pub fn route(&self, cols: &[Column], utf8_ok: bool, ids: [i32; 2], rows: usize, out: &mut [i32]) -> Option<()> {
        let col = match cols {
            [c] if self.col == 0 && c.first_null().is_none() && (utf8_ok || !self.utf8) => c,
            _ => return None,
        };
        let lit = &self.lit[..];
        let mut values = col.var_values(rows);
        for slot in out.get_mut(..rows)? {
            let b = values.next()?.ok()?;
            if self.utf8 && b.first().map_or(false, |&c| (c as i8) < -0x40) {
                return None;
            }
            *slot = ids[(b == lit) as usize];
        }
        Some(())
    }
}
