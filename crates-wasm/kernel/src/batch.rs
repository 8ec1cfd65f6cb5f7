//! The batch operations behind the ABI, over validated `Column`s and typed output slices. Each
//! stops at the first failing row: rows before it are written, the rest are unspecified.

use crate::column::{Column, ColumnType};
use crate::crc32;
use crate::errors::{Code, KResult, KernelError};
use crate::keys::{self, Encoding, IntLane, I16, I32, I64, I8, U16, U32, U64, U8};
use crate::siphash::siphash13;
use crate::xxh3::{xxh3_64, xxh3_64_u64le};

/// Calls `f(row, xxh3_64(canonical_bytes(key)))` for every row, in order.
#[inline(always)]
fn for_each_digest<F: FnMut(usize, u64)>(col: &Column, mut f: F) -> KResult<()> {
    // Nulls are found up front (a fast bitmap scan) so the hashing loops carry no null checks;
    // an earlier failing row still wins because the loops stop at the first null.
    if col.ty.int_width().is_none() && col.ty.offset_width().is_none() {
        return Err(KernelError::call(Code::UnsupportedType));
    }
    let null_at = col.first_null();
    let end = null_at.unwrap_or(col.len);
    let vals = col.int_values();
    match col.ty {
        ColumnType::Int8 => int_digests::<I8, F>(vals, end, f)?,
        ColumnType::Int16 => int_digests::<I16, F>(vals, end, f)?,
        ColumnType::Int32 => int_digests::<I32, F>(vals, end, f)?,
        ColumnType::Int64 => int_digests::<I64, F>(vals, end, f)?,
        ColumnType::UInt8 => int_digests::<U8, F>(vals, end, f)?,
        ColumnType::UInt16 => int_digests::<U16, F>(vals, end, f)?,
        ColumnType::UInt32 => int_digests::<U32, F>(vals, end, f)?,
        ColumnType::UInt64 => int_digests::<U64, F>(vals, end, f)?,
        _ => {
            for (row, bytes) in col.var_values(end).enumerate() {
                f(row, xxh3_64(bytes?));
            }
        }
    }
    null_result(null_at)
}

#[inline(always)]
fn int_digests<L: IntLane, F: FnMut(usize, u64)>(vals: &[u8], end: usize, mut f: F) -> KResult<()> {
    for (row, chunk) in vals.chunks_exact(L::WIDTH).take(end).enumerate() {
        let v = keys::canonical_int(L::wide(chunk)).map_err(|code| KernelError::at(code, row))?;
        f(row, xxh3_64_u64le(v));
    }
    Ok(())
}

fn null_result(null_at: Option<usize>) -> KResult<()> {
    match null_at {
        Some(row) => Err(KernelError::at(Code::NullKey, row)),
        None => Ok(()),
    }
}

fn check_out_len(have: usize, need: usize) -> KResult<()> {
    if have < need {
        Err(KernelError::call(Code::BadArgument))
    } else {
        Ok(())
    }
}

/// `x mod n` for a fixed `n`: a mask when `n` is a power of two, else the hardware remainder.
#[derive(Clone, Copy)]
struct Modulus {
    n: u64,
    mask: u64,
    pow2: bool,
}

impl Modulus {
    fn new(n: u32) -> Modulus {
        let n = n as u64;
        Modulus {
            n,
            mask: n.wrapping_sub(1),
            pow2: n.is_power_of_two(),
        }
    }

    #[inline(always)]
    fn reduce(self, x: u64) -> u64 {
        if self.pow2 {
            x & self.mask
        } else {
            x % self.n
        }
    }
}

/// `out[row] = xxh3_64(canonical_bytes(key)) mod num_dbs`.
pub fn route_hash(col: &Column, num_dbs: u32, out: &mut [i32]) -> KResult<()> {
    if num_dbs == 0 || num_dbs > i32::MAX as u32 {
        return Err(KernelError::call(Code::BadArgument));
    }
    check_out_len(out.len(), col.len)?;
    let m = Modulus::new(num_dbs);
    if m.pow2 {
        for_each_digest(col, |row, h| {
            if let Some(slot) = out.get_mut(row) {
                *slot = (h & m.mask) as i32;
            }
        })
    } else {
        for_each_digest(col, |row, h| {
            if let Some(slot) = out.get_mut(row) {
                *slot = m.reduce(h) as i32;
            }
        })
    }
}

/// `out[row] = xxh3_64(canonical_bytes(key))`.
pub fn xxh3_batch(col: &Column, out: &mut [u64]) -> KResult<()> {
    check_out_len(out.len(), col.len)?;
    for_each_digest(col, |row, h| {
        if let Some(slot) = out.get_mut(row) {
            *slot = h;
        }
    })
}

/// Calls `f(row, bytes)` for every row of a utf8/binary column; other types are unsupported.
fn for_each_bytes<'a, F: FnMut(usize, &'a [u8])>(col: &Column<'a>, mut f: F) -> KResult<()> {
    if col.ty.offset_width().is_none() {
        return Err(KernelError::call(Code::UnsupportedType));
    }
    let null_at = col.first_null();
    for (row, bytes) in col.var_values(null_at.unwrap_or(col.len)).enumerate() {
        f(row, bytes?);
    }
    null_result(null_at)
}

/// `out[row] = siphash13(bytes)` over a utf8/binary column.
pub fn siphash13_batch(col: &Column, out: &mut [u64]) -> KResult<()> {
    check_out_len(out.len(), col.len)?;
    for_each_bytes(col, |row, bytes| {
        if let Some(slot) = out.get_mut(row) {
            *slot = siphash13(bytes);
        }
    })
}

/// `out[row] = crc32(bytes)` over a utf8/binary column.
pub fn crc32_batch(col: &Column, out: &mut [u32]) -> KResult<()> {
    check_out_len(out.len(), col.len)?;
    for_each_bytes(col, |row, bytes| {
        if let Some(slot) = out.get_mut(row) {
            *slot = crc32::update(0, bytes);
        }
    })
}

/// Appends encoded keys to `data`, recording Arrow binary offsets (`offsets[0] = 0`).
struct BinaryBuilder<'o> {
    offsets: &'o mut [i32],
    data: &'o mut [u8],
    pos: usize,
}

impl<'o> BinaryBuilder<'o> {
    #[inline(always)]
    fn push(&mut self, row: usize, bytes: &[u8]) -> KResult<()> {
        let too_small = KernelError::at(Code::OutputTooSmall, row);
        let end = match self.pos.checked_add(bytes.len()) {
            Some(end) if end <= i32::MAX as usize => end,
            _ => return Err(too_small),
        };
        match (
            self.data.get_mut(self.pos..end),
            self.offsets.get_mut(row + 1),
        ) {
            (Some(dst), Some(off)) => {
                // Equal lengths by construction; zip (unlike copy_from_slice) has no panic path
                // and still compiles to a copy.
                for (d, s) in dst.iter_mut().zip(bytes) {
                    *d = *s;
                }
                *off = end as i32;
                self.pos = end;
                Ok(())
            }
            _ => Err(too_small),
        }
    }
}

/// Encodes every key with `enc` into an Arrow binary array (`len + 1` offsets, then the data).
/// Returns the number of data bytes written.
pub fn encode_keys(
    col: &Column,
    enc: Encoding,
    offsets: &mut [i32],
    data: &mut [u8],
) -> KResult<usize> {
    if !enc.accepts(col.ty) {
        return Err(KernelError::call(Code::UnsupportedType));
    }
    check_out_len(offsets.len(), col.len + 1)?;
    if let Some(first) = offsets.first_mut() {
        *first = 0;
    }
    let null_at = col.first_null();
    let end = null_at.unwrap_or(col.len);
    let mut out = BinaryBuilder {
        offsets,
        data,
        pos: 0,
    };
    let vals = col.int_values();
    match (col.ty, enc) {
        (ColumnType::Int8, _) => encode_ints::<I8>(vals, end, enc, &mut out)?,
        (ColumnType::Int16, _) => encode_ints::<I16>(vals, end, enc, &mut out)?,
        (ColumnType::Int32, _) => encode_ints::<I32>(vals, end, enc, &mut out)?,
        (ColumnType::Int64, _) => encode_ints::<I64>(vals, end, enc, &mut out)?,
        (ColumnType::UInt8, _) => encode_ints::<U8>(vals, end, enc, &mut out)?,
        (ColumnType::UInt16, _) => encode_ints::<U16>(vals, end, enc, &mut out)?,
        (ColumnType::UInt32, _) => encode_ints::<U32>(vals, end, enc, &mut out)?,
        (ColumnType::UInt64, _) => encode_ints::<U64>(vals, end, enc, &mut out)?,
        (_, Encoding::U64Be) | (_, Encoding::U32Be) => {
            // Pre-encoded lookup keys: binary values of exactly the encoded width pass through.
            let width = enc.width().unwrap_or(0);
            for (row, bytes) in col.var_values(end).enumerate() {
                let bytes = bytes?;
                if bytes.len() != width {
                    return Err(KernelError::at(Code::KeyLength, row));
                }
                out.push(row, bytes)?;
            }
        }
        (_, Encoding::Utf8) | (_, Encoding::Raw) => {
            for (row, bytes) in col.var_values(end).enumerate() {
                out.push(row, bytes?)?;
            }
        }
    }
    null_result(null_at)?;
    Ok(out.pos)
}

fn encode_ints<L: IntLane>(
    vals: &[u8],
    end: usize,
    enc: Encoding,
    out: &mut BinaryBuilder,
) -> KResult<()> {
    for (row, chunk) in vals.chunks_exact(L::WIDTH).take(end).enumerate() {
        let v = L::wide(chunk);
        let fail = |code| KernelError::at(code, row);
        match enc {
            Encoding::U64Be => out.push(row, &keys::encode_u64be(v).map_err(fail)?)?,
            Encoding::U32Be => out.push(row, &keys::encode_u32be(v).map_err(fail)?)?,
            _ => return Err(KernelError::call(Code::UnsupportedType)),
        }
    }
    Ok(())
}
