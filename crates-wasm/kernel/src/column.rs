//! Column descriptors (the 40-byte ABI struct) and `Column`, a validated, bounds-checked view of one
//! Arrow array: fixed-width values, or offsets + data, plus an optional validity bitmap.

use crate::errors::{Code, KResult, KernelError};

/// Arrow physical types the kernel accepts, with their ABI codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    UInt8 = 5,
    UInt16 = 6,
    UInt32 = 7,
    UInt64 = 8,
    Utf8 = 9,
    LargeUtf8 = 10,
    Binary = 11,
    LargeBinary = 12,
    /// CEL `double` columns (Arrow float32/float64) and CEL `bool` columns (Arrow boolean,
    /// bit-packed values). The routing and encoding calls reject them.
    Float32 = 13,
    Float64 = 14,
    Bool = 15,
}

impl ColumnType {
    pub fn from_code(code: u32) -> Option<ColumnType> {
        use ColumnType::*;
        Some(match code {
            1 => Int8,
            2 => Int16,
            3 => Int32,
            4 => Int64,
            5 => UInt8,
            6 => UInt16,
            7 => UInt32,
            8 => UInt64,
            9 => Utf8,
            10 => LargeUtf8,
            11 => Binary,
            12 => LargeBinary,
            13 => Float32,
            14 => Float64,
            15 => Bool,
            _ => return None,
        })
    }

    /// Byte width of an integer type, `None` for variable-length types.
    pub fn int_width(self) -> Option<usize> {
        use ColumnType::*;
        match self {
            Int8 | UInt8 => Some(1),
            Int16 | UInt16 => Some(2),
            Int32 | UInt32 => Some(4),
            Int64 | UInt64 => Some(8),
            _ => None,
        }
    }

    /// Byte width of one offset of a variable-length type, `None` for integer types.
    pub fn offset_width(self) -> Option<usize> {
        use ColumnType::*;
        match self {
            Utf8 | Binary => Some(4),
            LargeUtf8 | LargeBinary => Some(8),
            _ => None,
        }
    }

    /// Byte width of a fixed-width type (ints and floats), `None` otherwise.
    pub fn fixed_width(self) -> Option<usize> {
        match self {
            ColumnType::Float32 => Some(4),
            ColumnType::Float64 => Some(8),
            _ => self.int_width(),
        }
    }

    pub fn is_binary(self) -> bool {
        matches!(self, ColumnType::Binary | ColumnType::LargeBinary)
    }
}

/// The raw descriptor as the host wrote it (see ABI.md, "Column descriptor").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    pub type_code: u32,
    pub len: u32,
    pub values_ptr: u32,
    pub values_len: u32,
    pub offsets_ptr: u32,
    pub validity_ptr: u32,
    pub validity_bit_offset: u32,
    /// Bit index of row 0 in the values bitmap of a bool column (Arrow slice offset).
    pub values_bit_offset: u32,
    pub values_base: u64,
}

impl Descriptor {
    pub const SIZE: usize = 40;

    pub fn parse(raw: &[u8; Descriptor::SIZE]) -> Descriptor {
        let u32_at =
            |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
        let mut base = [0u8; 8];
        base.copy_from_slice(&raw[32..40]);
        Descriptor {
            type_code: u32_at(0),
            len: u32_at(4),
            values_ptr: u32_at(8),
            values_len: u32_at(12),
            offsets_ptr: u32_at(16),
            validity_ptr: u32_at(20),
            validity_bit_offset: u32_at(24),
            values_bit_offset: u32_at(28),
            values_base: u64::from_le_bytes(base),
        }
    }
}

/// Bytes a validity bitmap needs for `len` rows starting at bit `bit_offset`.
pub fn bitmap_bytes(bit_offset: usize, len: usize) -> Option<usize> {
    bit_offset
        .checked_add(len)?
        .checked_add(7)
        .map(|bits| bits / 8)
}

/// Arrow validity bitmap (bit set = valid), LSB-first, starting at bit `bit_offset`.
#[derive(Clone, Copy, Debug)]
pub struct Bitmap<'a> {
    bytes: &'a [u8],
    bit_offset: usize,
}

impl<'a> Bitmap<'a> {
    pub fn new(bytes: &'a [u8], bit_offset: usize) -> Bitmap<'a> {
        Bitmap { bytes, bit_offset }
    }

    /// Whether bit `row` is set; bits past the bitmap's end read as unset.
    #[inline(always)]
    pub fn is_set(&self, row: usize) -> bool {
        let bit = self.bit_offset + row;
        self.bytes.get(bit / 8).map_or(false, |b| b & (1 << (bit % 8)) != 0)
    }

    /// First null among rows `0..len`; rows past the bitmap's end count as null.
    pub fn first_null(&self, len: usize) -> Option<usize> {
        let mut row = 0;
        while row < len {
            let bit = self.bit_offset + row;
            let byte = match self.bytes.get(bit / 8) {
                Some(&b) => b,
                None => return Some(row),
            };
            // Whole valid bytes are the common case: skip them eight rows at a time.
            if bit % 8 == 0 && byte == 0xff && row + 8 <= len {
                row += 8;
                continue;
            }
            if byte & (1 << (bit % 8)) == 0 {
                return Some(row);
            }
            row += 1;
        }
        None
    }
}

/// A validated view of one Arrow array. Construction checks every buffer size, so reads below
/// never go out of bounds; offsets are checked row by row as they are read.
#[derive(Clone, Copy, Debug)]
pub struct Column<'a> {
    pub ty: ColumnType,
    pub len: usize,
    values: &'a [u8],
    offsets: &'a [u8],
    validity: Option<Bitmap<'a>>,
    values_base: u64,
    values_bit_offset: usize,
}

impl<'a> Column<'a> {
    /// `values_base` is the offset value that maps to `values[0]` (0 for plain Arrow buffers; a
    /// host that copies only part of a data buffer passes the first copied offset instead).
    pub fn new(
        ty: ColumnType,
        len: usize,
        values: &'a [u8],
        offsets: &'a [u8],
        validity: Option<Bitmap<'a>>,
        values_base: u64,
    ) -> KResult<Column<'a>> {
        let bad = KernelError::call(Code::BadArgument);
        match ty.fixed_width() {
            Some(w) => {
                if len.checked_mul(w).map_or(true, |need| values.len() < need) {
                    return Err(bad);
                }
            }
            None if ty == ColumnType::Bool => {
                if bitmap_bytes(0, len).map_or(true, |need| values.len() < need) {
                    return Err(bad);
                }
            }
            None => {
                let w = ty.offset_width().unwrap_or(8);
                let need = len.checked_add(1).and_then(|n| n.checked_mul(w));
                if need.map_or(true, |need| offsets.len() < need) {
                    return Err(bad);
                }
            }
        }
        if let Some(bm) = validity {
            if bitmap_bytes(bm.bit_offset, len).map_or(true, |need| bm.bytes.len() < need) {
                return Err(bad);
            }
        }
        Ok(Column {
            ty,
            len,
            values,
            offsets,
            validity,
            values_base,
            values_bit_offset: 0,
        })
    }

    /// Sets the bit index of row 0 in a bool column's values bitmap, checking the bitmap
    /// still covers every row.
    pub fn with_values_bit_offset(mut self, bit_offset: usize) -> KResult<Column<'a>> {
        if self.ty == ColumnType::Bool
            && bitmap_bytes(bit_offset, self.len).map_or(true, |need| self.values.len() < need)
        {
            return Err(KernelError::call(Code::BadArgument));
        }
        self.values_bit_offset = bit_offset;
        Ok(self)
    }

    /// Whether `row` is valid (not null).
    #[inline(always)]
    pub fn is_valid(&self, row: usize) -> bool {
        match self.validity {
            None => true,
            Some(bm) => bm.is_set(row),
        }
    }

    /// The fixed-width value bytes of `row` (ints and floats); empty past the end.
    #[inline(always)]
    pub fn fixed_at(&self, row: usize, width: usize) -> &'a [u8] {
        self.values.get(row * width..row * width + width).unwrap_or(&[])
    }

    /// The data bytes rows `0..end` of a variable-length column span, if its first and last
    /// offsets are in range (per-row offsets are still checked as rows are read).
    pub fn var_data(&self, end: usize) -> Option<&'a [u8]> {
        let large = self.ty.offset_width()? == 8;
        let end = end.min(self.len);
        let first = read_offset(self.offsets, 0, large) - self.values_base as i64;
        let last = read_offset(self.offsets, end, large) - self.values_base as i64;
        if first < 0 || last < first {
            return None;
        }
        self.values.get(first as usize..last as usize)
    }

    /// The value of `row` of a bool column.
    #[inline(always)]
    pub fn bool_at(&self, row: usize) -> bool {
        Bitmap::new(self.values, self.values_bit_offset).is_set(row)
    }

    /// First null row, if any.
    pub fn first_null(&self) -> Option<usize> {
        self.validity.and_then(|bm| bm.first_null(self.len))
    }

    /// The fixed-width values of rows `0..len` (integer types).
    pub fn int_values(&self) -> &'a [u8] {
        let w = self.ty.int_width().unwrap_or(0);
        self.values.get(..self.len * w).unwrap_or(&[])
    }

    /// The values of rows `0..end` of a variable-length column, in order; each row's offsets are
    /// checked (in order, inside the values buffer) as it is reached.
    #[inline(always)]
    pub fn var_values(&self, end: usize) -> VarValues<'a> {
        let large = self.ty.offset_width() == Some(8);
        let end = end.min(self.len);
        let width = if large { 8 } else { 4 };
        let offsets = self.offsets.get(..(end + 1) * width).unwrap_or(&[]);
        let base = self.values_base as i64;
        let first = match offsets.len() {
            0 => None,
            _ => Some(read_offset(offsets, 0, large)),
        };
        VarValues {
            offsets,
            values: self.values,
            large,
            base,
            prev: first.unwrap_or(base),
            row: 0,
            end: if first.is_some() { end } else { 0 },
            // An offset below the base (or a base past i64) would make value starts negative.
            bad_start: first.map_or(false, |f| f < base) || self.values_base > i64::MAX as u64,
        }
    }
}

/// Iterator over checked variable-length values (see `Column::var_values`). Yields
/// `Err(BadOffsets at row)` once for the first bad row, then ends.
pub struct VarValues<'a> {
    offsets: &'a [u8],
    values: &'a [u8],
    large: bool,
    base: i64,
    prev: i64,
    row: usize,
    end: usize,
    bad_start: bool,
}

impl<'a> Iterator for VarValues<'a> {
    type Item = KResult<&'a [u8]>;

    #[inline(always)]
    fn next(&mut self) -> Option<KResult<&'a [u8]>> {
        if self.row >= self.end {
            return None;
        }
        let row = self.row;
        let next = read_offset(self.offsets, row + 1, self.large);
        // prev >= base holds by induction from the start check, so both differences are >= 0.
        let bytes = if self.bad_start
            || next < self.prev
            || (next - self.base) as u64 > self.values.len() as u64
        {
            None
        } else {
            self.values
                .get((self.prev - self.base) as usize..(next - self.base) as usize)
        };
        match bytes {
            Some(b) => {
                self.prev = next;
                self.row += 1;
                Some(Ok(b))
            }
            None => {
                self.end = 0;
                Some(Err(KernelError::at(Code::BadOffsets, row)))
            }
        }
    }
}

/// Offset `i` of an i32 or (large) i64 offsets buffer; 0 past its end, which `Column::new`
/// rules out for every row it admits.
#[inline(always)]
fn read_offset(offsets: &[u8], i: usize, large: bool) -> i64 {
    if large {
        let mut b = [0u8; 8];
        if let Some(s) = offsets.get(i * 8..i * 8 + 8) {
            b.copy_from_slice(s);
        }
        i64::from_le_bytes(b)
    } else {
        let mut b = [0u8; 4];
        if let Some(s) = offsets.get(i * 4..i * 4 + 4) {
            b.copy_from_slice(s);
        }
        i32::from_le_bytes(b) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_descriptor_fields() {
        let mut raw = [0u8; Descriptor::SIZE];
        for (i, v) in [9u32, 3, 1000, 17, 2000, 3000, 5, 6].iter().enumerate() {
            raw[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        raw[32..40].copy_from_slice(&0x1_0000_0002u64.to_le_bytes());
        let d = Descriptor::parse(&raw);
        assert_eq!(
            d,
            Descriptor {
                type_code: 9,
                len: 3,
                values_ptr: 1000,
                values_len: 17,
                offsets_ptr: 2000,
                validity_ptr: 3000,
                validity_bit_offset: 5,
                values_bit_offset: 6,
                values_base: 0x1_0000_0002,
            }
        );
    }

    #[test]
    fn type_codes_round_trip() {
        for code in 1..=15u32 {
            assert_eq!(ColumnType::from_code(code).map(|t| t as u32), Some(code));
        }
        assert_eq!(ColumnType::from_code(0), None);
        assert_eq!(ColumnType::from_code(16), None);
    }

    #[test]
    fn bitmap_with_bit_offset() {
        // bits (LSB first): byte0 = 0b1111_1011 -> bit 2 null; byte1 all valid; byte2 bit 17 null.
        let bytes = [0b1111_1011u8, 0xff, 0b1111_1101];
        assert_eq!(Bitmap::new(&bytes, 0).first_null(24), Some(2));
        assert_eq!(Bitmap::new(&bytes, 3).first_null(21), Some(17 - 3));
        assert_eq!(Bitmap::new(&bytes, 3).first_null(14), None);
        assert_eq!(Bitmap::new(&bytes, 8).first_null(10), Some(9));
        assert_eq!(Bitmap::new(&bytes, 8).first_null(9), None);
        // a bitmap shorter than the rows reports the first uncovered row as null
        assert_eq!(Bitmap::new(&bytes[..1], 3).first_null(10), Some(5));
    }

    #[test]
    fn rejects_short_buffers() {
        let v = [0u8; 15];
        let e = Column::new(ColumnType::Int64, 2, &v, &[], None, 0).unwrap_err();
        assert_eq!(e, KernelError::call(Code::BadArgument));
        let offs = [0u8; 8];
        let e = Column::new(ColumnType::Utf8, 2, &v, &offs, None, 0).unwrap_err();
        assert_eq!(e.code, Code::BadArgument);
        let bm = [0xffu8; 1];
        let e =
            Column::new(ColumnType::Int8, 9, &v, &[], Some(Bitmap::new(&bm, 0)), 0).unwrap_err();
        assert_eq!(e.code, Code::BadArgument);
        assert!(Column::new(ColumnType::Int8, 5, &v, &[], Some(Bitmap::new(&bm, 3)), 0).is_ok());
    }
}
