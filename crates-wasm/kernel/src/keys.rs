//! Key rules shared by every host: canonical routing bytes of an int key, and the stored key
//! encodings (u64be, u32be, utf8, raw). Reference: reference-format.md §4.1 and §5.1.

use crate::column::ColumnType;
use crate::errors::Code;

/// Key encodings with their ABI codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    U64Be = 1,
    U32Be = 2,
    Utf8 = 3,
    Raw = 4,
}

impl Encoding {
    pub fn from_code(code: u32) -> Option<Encoding> {
        match code {
            1 => Some(Encoding::U64Be),
            2 => Some(Encoding::U32Be),
            3 => Some(Encoding::Utf8),
            4 => Some(Encoding::Raw),
            _ => None,
        }
    }

    /// Fixed output width of an int encoding, `None` for utf8/raw.
    pub fn width(self) -> Option<usize> {
        match self {
            Encoding::U64Be => Some(8),
            Encoding::U32Be => Some(4),
            _ => None,
        }
    }

    /// Whether a column of type `ty` can be encoded this way. Int encodings take int columns and,
    /// as pre-encoded lookup keys, binary columns of exactly the encoded width; utf8/raw take
    /// utf8 and binary columns as bytes.
    pub fn accepts(self, ty: ColumnType) -> bool {
        match self {
            Encoding::U64Be | Encoding::U32Be => ty.int_width().is_some() || ty.is_binary(),
            Encoding::Utf8 | Encoding::Raw => ty.offset_width().is_some(),
        }
    }
}

/// One fixed-width integer type of an Arrow column, read from little-endian bytes.
pub trait IntLane {
    const WIDTH: usize;
    /// The value, widened losslessly.
    fn wide(bytes: &[u8]) -> i128;
}

macro_rules! int_lane {
    ($name:ident, $t:ty) => {
        pub struct $name;
        impl IntLane for $name {
            const WIDTH: usize = core::mem::size_of::<$t>();
            #[inline(always)]
            fn wide(bytes: &[u8]) -> i128 {
                let mut b = [0u8; core::mem::size_of::<$t>()];
                b.copy_from_slice(bytes);
                <$t>::from_le_bytes(b) as i128
            }
        }
    };
}

int_lane!(I8, i8);
int_lane!(I16, i16);
int_lane!(I32, i32);
int_lane!(I64, i64);
int_lane!(U8, u8);
int_lane!(U16, u16);
int_lane!(U32, u32);
int_lane!(U64, u64);

/// Canonical routing value of an int key: its 8-byte signed little-endian two's complement,
/// returned as the `u64` those bytes spell. Keys outside `[-2^63, 2^63-1]` cannot be routed.
#[inline(always)]
pub fn canonical_int(v: i128) -> Result<u64, Code> {
    if v > i64::MAX as i128 || v < i64::MIN as i128 {
        Err(Code::IntOutOfRange)
    } else {
        Ok(v as i64 as u64)
    }
}

/// `u64be`: 8-byte big-endian unsigned, for ints in `[0, 2^64-1]`.
#[inline(always)]
pub fn encode_u64be(v: i128) -> Result<[u8; 8], Code> {
    if v < 0 {
        Err(Code::NegativeUnsigned)
    } else if v > u64::MAX as i128 {
        Err(Code::IntOutOfRange)
    } else {
        Ok((v as u64).to_be_bytes())
    }
}

/// `u32be`: 4-byte big-endian unsigned, for ints in `[0, 2^32-1]`.
#[inline(always)]
pub fn encode_u32be(v: i128) -> Result<[u8; 4], Code> {
    if v < 0 {
        Err(Code::NegativeUnsigned)
    } else if v > u32::MAX as i128 {
        Err(Code::U32OutOfRange)
    } else {
        Ok((v as u32).to_be_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_int_bytes_are_signed_little_endian() {
        assert_eq!(canonical_int(0).map(u64::to_le_bytes), Ok([0; 8]));
        assert_eq!(canonical_int(-1).map(u64::to_le_bytes), Ok([0xff; 8]));
        assert_eq!(
            canonical_int(1).map(u64::to_le_bytes),
            Ok([1, 0, 0, 0, 0, 0, 0, 0])
        );
        assert_eq!(
            canonical_int(i64::MIN as i128).map(u64::to_le_bytes),
            Ok([0, 0, 0, 0, 0, 0, 0, 0x80])
        );
        assert_eq!(
            canonical_int(i64::MAX as i128).map(u64::to_le_bytes),
            Ok([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        );
        assert_eq!(
            canonical_int(i64::MAX as i128 + 1),
            Err(Code::IntOutOfRange)
        );
        assert_eq!(canonical_int(u64::MAX as i128), Err(Code::IntOutOfRange));
        assert_eq!(
            canonical_int(i64::MIN as i128 - 1),
            Err(Code::IntOutOfRange)
        );
    }

    #[test]
    fn int_encodings() {
        assert_eq!(encode_u64be(1), Ok([0, 0, 0, 0, 0, 0, 0, 1]));
        assert_eq!(encode_u64be(u64::MAX as i128), Ok([0xff; 8]));
        assert_eq!(encode_u64be(-1), Err(Code::NegativeUnsigned));
        assert_eq!(encode_u64be(u64::MAX as i128 + 1), Err(Code::IntOutOfRange));
        assert_eq!(encode_u32be(258), Ok([0, 0, 1, 2]));
        assert_eq!(encode_u32be(u32::MAX as i128), Ok([0xff; 4]));
        assert_eq!(encode_u32be(1 << 32), Err(Code::U32OutOfRange));
        assert_eq!(encode_u32be(-5), Err(Code::NegativeUnsigned));
    }

    #[test]
    fn lanes_widen_by_signedness() {
        assert_eq!(I8::wide(&[0xff]), -1);
        assert_eq!(U8::wide(&[0xff]), 255);
        assert_eq!(I16::wide(&[0x00, 0x80]), -32768);
        assert_eq!(U16::wide(&[0x00, 0x80]), 32768);
        assert_eq!(I32::wide(&[0xff; 4]), -1);
        assert_eq!(U32::wide(&[0xff; 4]), u32::MAX as i128);
        assert_eq!(I64::wide(&[0xff; 8]), -1);
        assert_eq!(U64::wide(&[0xff; 8]), u64::MAX as i128);
    }

    #[test]
    fn encoding_codes_and_acceptance() {
        for code in 1..=4 {
            assert_eq!(Encoding::from_code(code).map(|e| e as u32), Some(code));
        }
        assert_eq!(Encoding::from_code(0), None);
        assert_eq!(Encoding::from_code(5), None);
        assert!(Encoding::U64Be.accepts(ColumnType::Int8));
        assert!(Encoding::U64Be.accepts(ColumnType::LargeBinary));
        assert!(!Encoding::U64Be.accepts(ColumnType::Utf8));
        assert!(Encoding::Utf8.accepts(ColumnType::Binary));
        assert!(Encoding::Raw.accepts(ColumnType::LargeUtf8));
        assert!(!Encoding::Raw.accepts(ColumnType::Int64));
    }
}
