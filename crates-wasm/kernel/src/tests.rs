//! Native tests of the batch operations: routing.json vectors through every column type, null
//! handling through validity bitmaps with a bit offset, sliced offsets, encodings, and every
//! error code. (Hash primitives have their own vector tests in their modules.)

use crate::batch::{crc32_batch, encode_keys, route_hash, siphash13_batch, xxh3_batch};
use crate::column::{Bitmap, Column, ColumnType};
use crate::crc32;
use crate::errors::{Code, KernelError, NO_ROW};
use crate::keys::Encoding;
use crate::siphash::siphash13;
use crate::xxh3::xxh3_64;

mod vectors {
    /// One routing.json case: (label, canonical bytes hex, xxh3_64, [(num_dbs, db_id)]).
    pub type Case = (&'static str, &'static str, u64, &'static [(u32, i32)]);
    /// routing.json `cases` except the byte patterns; int keys appear through their canonical
    /// bytes here and are re-checked through int columns below.
    pub const ROUTING_CASES: &[Case] = &[
        (
            "int:0",
            "0000000000000000",
            0xc77b3abb6f87acd9,
            &[
                (1, 0),
                (2, 1),
                (3, 2),
                (4, 1),
                (8, 1),
                (10, 7),
                (16, 9),
                (100, 97),
                (1000, 897),
            ],
        ),
        (
            "int:1",
            "0100000000000000",
            0x2fbc593564db792e,
            &[
                (1, 0),
                (2, 0),
                (3, 2),
                (4, 2),
                (8, 6),
                (10, 8),
                (16, 14),
                (100, 78),
                (1000, 78),
            ],
        ),
        (
            "int:-1",
            "ffffffffffffffff",
            0x5111c7e47d784413,
            &[
                (1, 0),
                (2, 1),
                (3, 2),
                (4, 3),
                (8, 3),
                (10, 7),
                (16, 3),
                (100, 27),
                (1000, 627),
            ],
        ),
        (
            "int:42",
            "2a00000000000000",
            0xd5a6f8c838df27c8,
            &[
                (1, 0),
                (2, 0),
                (3, 1),
                (4, 0),
                (8, 0),
                (10, 0),
                (16, 8),
                (100, 20),
                (1000, 720),
            ],
        ),
        (
            "int:123",
            "7b00000000000000",
            0x6a6c5e5967cd2748,
            &[
                (1, 0),
                (2, 0),
                (3, 0),
                (4, 0),
                (8, 0),
                (10, 6),
                (16, 8),
                (100, 36),
                (1000, 536),
            ],
        ),
        (
            "int:9223372036854775807",
            "ffffffffffffff7f",
            0xa233cf376558df46,
            &[
                (1, 0),
                (2, 0),
                (3, 0),
                (4, 2),
                (8, 6),
                (10, 2),
                (16, 6),
                (100, 42),
                (1000, 142),
            ],
        ),
        (
            "int:-9223372036854775808",
            "0000000000000080",
            0x828f2476789a0e5f,
            &[
                (1, 0),
                (2, 1),
                (3, 0),
                (4, 3),
                (8, 7),
                (10, 5),
                (16, 15),
                (100, 95),
                (1000, 495),
            ],
        ),
        (
            "int:255",
            "ff00000000000000",
            0x0d00568a2225a3e5,
            &[
                (1, 0),
                (2, 1),
                (3, 1),
                (4, 1),
                (8, 5),
                (10, 5),
                (16, 5),
                (100, 85),
                (1000, 885),
            ],
        ),
        (
            "int:256",
            "0001000000000000",
            0x8822485c398fdce3,
            &[
                (1, 0),
                (2, 1),
                (3, 0),
                (4, 3),
                (8, 3),
                (10, 1),
                (16, 3),
                (100, 11),
                (1000, 211),
            ],
        ),
        (
            "int:65535",
            "ffff000000000000",
            0x658cb27dc3f7f28a,
            &[
                (1, 0),
                (2, 0),
                (3, 1),
                (4, 2),
                (8, 2),
                (10, 6),
                (16, 10),
                (100, 6),
                (1000, 106),
            ],
        ),
        (
            "int:4294967296",
            "0000000001000000",
            0xeeab51d59cf4ca5b,
            &[
                (1, 0),
                (2, 1),
                (3, 1),
                (4, 3),
                (8, 3),
                (10, 1),
                (16, 11),
                (100, 31),
                (1000, 131),
            ],
        ),
        (
            "string:",
            "",
            0x2d06800538d394c2,
            &[
                (1, 0),
                (2, 0),
                (3, 1),
                (4, 2),
                (8, 2),
                (10, 8),
                (16, 2),
                (100, 38),
                (1000, 138),
            ],
        ),
        (
            "string:a",
            "61",
            0xe6c632b61e964e1f,
            &[
                (1, 0),
                (2, 1),
                (3, 1),
                (4, 3),
                (8, 7),
                (10, 9),
                (16, 15),
                (100, 19),
                (1000, 719),
            ],
        ),
        (
            "string:hello",
            "68656c6c6f",
            0x9555e8555c62dcfd,
            &[
                (1, 0),
                (2, 1),
                (3, 2),
                (4, 1),
                (8, 5),
                (10, 9),
                (16, 13),
                (100, 89),
                (1000, 389),
            ],
        ),
        (
            "string:tenant:eu-west",
            "74656e616e743a65752d77657374",
            0x74b7ce0c8f945b24,
            &[
                (1, 0),
                (2, 0),
                (3, 2),
                (4, 0),
                (8, 4),
                (10, 0),
                (16, 4),
                (100, 80),
                (1000, 580),
            ],
        ),
        (
            "string:ünï",
            "c3bc6ec3af",
            0x5b3c5b63bb28a1a0,
            &[
                (1, 0),
                (2, 0),
                (3, 1),
                (4, 0),
                (8, 0),
                (10, 4),
                (16, 0),
                (100, 64),
                (1000, 664),
            ],
        ),
        (
            "string:日本語",
            "e697a5e69cace8aa9e",
            0x11fec42c806050b7,
            &[
                (1, 0),
                (2, 1),
                (3, 2),
                (4, 3),
                (8, 7),
                (10, 3),
                (16, 7),
                (100, 23),
                (1000, 423),
            ],
        ),
        (
            "string:🙂",
            "f09f9982",
            0xfc36efd00b5d95a7,
            &[
                (1, 0),
                (2, 1),
                (3, 0),
                (4, 3),
                (8, 7),
                (10, 3),
                (16, 7),
                (100, 63),
                (1000, 863),
            ],
        ),
        (
            "string:key with spaces",
            "6b6579207769746820737061636573",
            0x27ecb116b3c49172,
            &[
                (1, 0),
                (2, 0),
                (3, 1),
                (4, 2),
                (8, 2),
                (10, 8),
                (16, 2),
                (100, 38),
                (1000, 138),
            ],
        ),
        (
            "bytes_hex:",
            "",
            0x2d06800538d394c2,
            &[
                (1, 0),
                (2, 0),
                (3, 1),
                (4, 2),
                (8, 2),
                (10, 8),
                (16, 2),
                (100, 38),
                (1000, 138),
            ],
        ),
        (
            "bytes_hex:0001",
            "0001",
            0xd6645fc3051a9457,
            &[
                (1, 0),
                (2, 1),
                (3, 0),
                (4, 3),
                (8, 7),
                (10, 5),
                (16, 7),
                (100, 35),
                (1000, 335),
            ],
        ),
        (
            "bytes_hex:616263",
            "616263",
            0x78af5f94892f3950,
            &[
                (1, 0),
                (2, 0),
                (3, 1),
                (4, 0),
                (8, 0),
                (10, 4),
                (16, 0),
                (100, 4),
                (1000, 104),
            ],
        ),
        (
            "bytes_hex:ff",
            "ff",
            0xd6bcec3c6b29d72e,
            &[
                (1, 0),
                (2, 0),
                (3, 0),
                (4, 2),
                (8, 6),
                (10, 2),
                (16, 14),
                (100, 2),
                (1000, 702),
            ],
        ),
        (
            "bytes_hex:00000000000000000000",
            "00000000000000000000",
            0x4a9ffcfb2837fbcc,
            &[
                (1, 0),
                (2, 0),
                (3, 2),
                (4, 0),
                (8, 4),
                (10, 6),
                (16, 12),
                (100, 96),
                (1000, 996),
            ],
        ),
    ];
    /// routing.json int keys (decimal) with their digests.
    pub const ROUTING_INTS: &[(i64, u64)] = &[
        (0, 0xc77b3abb6f87acd9),
        (1, 0x2fbc593564db792e),
        (-1, 0x5111c7e47d784413),
        (42, 0xd5a6f8c838df27c8),
        (123, 0x6a6c5e5967cd2748),
        (9223372036854775807, 0xa233cf376558df46),
        (-9223372036854775808, 0x828f2476789a0e5f),
        (255, 0x0d00568a2225a3e5),
        (256, 0x8822485c398fdce3),
        (65535, 0x658cb27dc3f7f28a),
        (4294967296, 0xeeab51d59cf4ca5b),
    ];
    /// routing.json `bytes_pattern` cases: (length, xxh3_64) of byte[i] = (i*31+7) mod 251.
    pub const ROUTING_PATTERNS: &[(usize, u64)] = &[
        (3, 0x15f7093b173d005c),
        (4, 0xdca012f95811b6b9),
        (8, 0xdec6a9a43575982e),
        (9, 0x15e553b97e27735d),
        (16, 0xa7683b861e585aa6),
        (17, 0x637c1aa907698945),
        (64, 0xa1688ef0a48a39d4),
        (128, 0x6d0f64c82ddaad27),
        (129, 0xeaf3fc97c05f44f3),
        (200, 0xf4b54cdc82f20685),
        (240, 0x22f28cbbfaf0447f),
        (241, 0x07525dbc14902c7f),
        (1000, 0x84b0c79e3e1ac40e),
        (4096, 0x04a1779c9e7ddcd7),
        (100000, 0xddc565585fab0e61),
    ];
    pub const SEQ_0_9_N3: [i32; 10] = [2, 2, 1, 1, 0, 2, 0, 2, 0, 0];
    pub const SEQ_0_31_N4: [i32; 32] = [
        1, 2, 3, 1, 0, 0, 3, 3, 2, 3, 1, 0, 3, 1, 2, 3, 2, 3, 1, 2, 2, 2, 1, 2, 1, 2, 3, 3, 3, 3,
        2, 0,
    ];
}

use vectors::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

/// Arrow variable-length buffers (data, i32 or i64 offsets as bytes) for `values`, with `skew`
/// junk bytes in front of the data so offsets do not start at 0 (like a sliced array).
fn var_buffers(values: &[&[u8]], large: bool, skew: usize) -> (Vec<u8>, Vec<u8>) {
    let mut data = vec![0xAA; skew];
    let mut offsets = Vec::new();
    let push = |o: usize, offsets: &mut Vec<u8>| {
        if large {
            offsets.extend_from_slice(&(o as i64).to_le_bytes())
        } else {
            offsets.extend_from_slice(&(o as i32).to_le_bytes())
        }
    };
    push(data.len(), &mut offsets);
    for v in values {
        data.extend_from_slice(v);
        push(data.len(), &mut offsets);
    }
    (data, offsets)
}

fn int64_bytes(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes of `values` narrowed to `ty`'s width (two's complement truncation).
fn int_bytes(ty: ColumnType, values: &[i128]) -> Vec<u8> {
    let w = ty.int_width().unwrap();
    values
        .iter()
        .flat_map(|v| v.to_le_bytes()[..w].to_vec())
        .collect()
}

fn col<'a>(ty: ColumnType, len: usize, values: &'a [u8], offsets: &'a [u8]) -> Column<'a> {
    Column::new(ty, len, values, offsets, None, 0).unwrap()
}

const INT_TYPES: [ColumnType; 8] = [
    ColumnType::Int8,
    ColumnType::Int16,
    ColumnType::Int32,
    ColumnType::Int64,
    ColumnType::UInt8,
    ColumnType::UInt16,
    ColumnType::UInt32,
    ColumnType::UInt64,
];
const VAR_TYPES: [ColumnType; 4] = [
    ColumnType::Utf8,
    ColumnType::LargeUtf8,
    ColumnType::Binary,
    ColumnType::LargeBinary,
];

#[test]
fn routing_cases_as_bytes_columns() {
    let keys: Vec<Vec<u8>> = ROUTING_CASES.iter().map(|c| hex(c.1)).collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    for ty in VAR_TYPES {
        let large = ty.offset_width() == Some(8);
        let (data, offsets) = var_buffers(&refs, large, 3);
        let c = col(ty, refs.len(), &data, &offsets);
        let mut digests = vec![0u64; refs.len()];
        xxh3_batch(&c, &mut digests).unwrap();
        for (case, got) in ROUTING_CASES.iter().zip(&digests) {
            assert_eq!(*got, case.2, "{} digest via {:?}", case.0, ty);
        }
        for &n in &[1u32, 2, 3, 4, 8, 10, 16, 100, 1000] {
            let mut out = vec![-1i32; refs.len()];
            route_hash(&c, n, &mut out).unwrap();
            for (case, got) in ROUTING_CASES.iter().zip(&out) {
                let want = case.3.iter().find(|(k, _)| *k == n).unwrap().1;
                assert_eq!(*got, want, "{} num_dbs {} via {:?}", case.0, n, ty);
            }
        }
    }
}

#[test]
fn routing_patterns_every_length_class() {
    for &(len, want) in ROUTING_PATTERNS {
        assert_eq!(xxh3_64(&pattern(len)), want, "pattern len {}", len);
    }
}

#[test]
fn routing_int_keys_through_int64() {
    let keys: Vec<i64> = ROUTING_INTS.iter().map(|c| c.0).collect();
    let values = int64_bytes(&keys);
    let c = col(ColumnType::Int64, keys.len(), &values, &[]);
    let mut digests = vec![0u64; keys.len()];
    xxh3_batch(&c, &mut digests).unwrap();
    for (case, got) in ROUTING_INTS.iter().zip(&digests) {
        assert_eq!(*got, case.1, "int key {}", case.0);
    }
}

#[test]
fn sequences_agree_across_every_int_type() {
    for ty in INT_TYPES {
        let v3: Vec<i128> = (0..10).collect();
        let bytes = int_bytes(ty, &v3);
        let mut out = vec![0i32; 10];
        route_hash(&col(ty, 10, &bytes, &[]), 3, &mut out).unwrap();
        assert_eq!(out, SEQ_0_9_N3, "{:?}", ty);
        let v4: Vec<i128> = (0..32).collect();
        let bytes = int_bytes(ty, &v4);
        let mut out = vec![0i32; 32];
        route_hash(&col(ty, 32, &bytes, &[]), 4, &mut out).unwrap();
        assert_eq!(out, SEQ_0_31_N4, "{:?}", ty);
    }
}

#[test]
fn narrow_ints_hash_like_their_int64_value() {
    let values: Vec<i128> = vec![-128, -1, 0, 1, 127];
    let as_i64: Vec<i64> = values.iter().map(|&v| v as i64).collect();
    let mut want = vec![0u64; values.len()];
    let wide = int64_bytes(&as_i64);
    xxh3_batch(&col(ColumnType::Int64, values.len(), &wide, &[]), &mut want).unwrap();
    for ty in [ColumnType::Int8, ColumnType::Int16, ColumnType::Int32] {
        let bytes = int_bytes(ty, &values);
        let mut got = vec![0u64; values.len()];
        xxh3_batch(&col(ty, values.len(), &bytes, &[]), &mut got).unwrap();
        assert_eq!(got, want, "{:?}", ty);
    }
    // unsigned 255 is the int 255, not -1
    let mut got = [0u64; 1];
    xxh3_batch(&col(ColumnType::UInt8, 1, &[0xff], &[]), &mut got).unwrap();
    assert_eq!(got[0], xxh3_64(&255i64.to_le_bytes()));
}

#[test]
fn uint64_above_i64_max_is_out_of_range() {
    let values = int_bytes(
        ColumnType::UInt64,
        &[1, i64::MAX as i128, 1 << 63, u64::MAX as i128],
    );
    let c = col(ColumnType::UInt64, 4, &values, &[]);
    let mut out = vec![0i32; 4];
    assert_eq!(
        route_hash(&c, 10, &mut out),
        Err(KernelError::at(Code::IntOutOfRange, 2))
    );
    let mut digests = vec![0u64; 4];
    assert_eq!(
        xxh3_batch(&c, &mut digests),
        Err(KernelError::at(Code::IntOutOfRange, 2))
    );
    assert_eq!(
        digests[1], 0xa233_cf37_6558_df46,
        "rows before the failure are written"
    );
}

#[test]
fn nulls_via_bitmap_with_bit_offset() {
    // 12 rows starting at bit 5 of the bitmap; row 9 (bit 14) is null.
    let mut bitmap = [0xffu8; 3];
    bitmap[1] &= !(1 << 6);
    let values = int64_bytes(&(0..12).collect::<Vec<_>>());
    let c = Column::new(
        ColumnType::Int64,
        12,
        &values,
        &[],
        Some(Bitmap::new(&bitmap, 5)),
        0,
    )
    .unwrap();
    let mut out = vec![-1i32; 12];
    assert_eq!(
        route_hash(&c, 3, &mut out),
        Err(KernelError::at(Code::NullKey, 9))
    );
    assert_eq!(&out[..9], &SEQ_0_9_N3[..9]);
    // the same 9 valid rows route fine
    let c9 = Column::new(
        ColumnType::Int64,
        9,
        &values,
        &[],
        Some(Bitmap::new(&bitmap, 5)),
        0,
    )
    .unwrap();
    route_hash(&c9, 3, &mut out).unwrap();
    // a null in a string column, found through the bitmap too
    let (data, offsets) = var_buffers(&[b"a", b"", b"c"], false, 0);
    let bm = [0b0000_0101u8];
    let c = Column::new(
        ColumnType::Utf8,
        3,
        &data,
        &offsets,
        Some(Bitmap::new(&bm, 0)),
        0,
    )
    .unwrap();
    let mut d = [0u64; 3];
    assert_eq!(
        xxh3_batch(&c, &mut d),
        Err(KernelError::at(Code::NullKey, 1))
    );
    let mut s = [0u64; 3];
    assert_eq!(
        siphash13_batch(&c, &mut s),
        Err(KernelError::at(Code::NullKey, 1))
    );
    let mut offs = [0i32; 4];
    let mut buf = [0u8; 8];
    assert_eq!(
        encode_keys(&c, Encoding::Utf8, &mut offs, &mut buf),
        Err(KernelError::at(Code::NullKey, 1))
    );
}

#[test]
fn first_failing_row_wins_between_null_and_range() {
    let values = int_bytes(ColumnType::UInt64, &[0, 1 << 63, 2, 3]);
    let null_at_3 = [0b0111u8];
    let c = Column::new(
        ColumnType::UInt64,
        4,
        &values,
        &[],
        Some(Bitmap::new(&null_at_3, 0)),
        0,
    )
    .unwrap();
    let mut out = [0i32; 4];
    assert_eq!(
        route_hash(&c, 2, &mut out),
        Err(KernelError::at(Code::IntOutOfRange, 1))
    );
    let null_at_0 = [0b1110u8];
    let c = Column::new(
        ColumnType::UInt64,
        4,
        &values,
        &[],
        Some(Bitmap::new(&null_at_0, 0)),
        0,
    )
    .unwrap();
    assert_eq!(
        route_hash(&c, 2, &mut out),
        Err(KernelError::at(Code::NullKey, 0))
    );
}

#[test]
fn values_base_maps_partial_data_buffers() {
    // offsets 100..=108 over a data buffer that starts at logical offset 100
    let data = b"hellotenant".to_vec();
    let offsets: Vec<u8> = [100i32, 105, 111]
        .iter()
        .flat_map(|o| o.to_le_bytes())
        .collect();
    let c = Column::new(ColumnType::Utf8, 2, &data, &offsets, None, 100).unwrap();
    let mut d = [0u64; 2];
    xxh3_batch(&c, &mut d).unwrap();
    assert_eq!(d, [xxh3_64(b"hello"), xxh3_64(b"tenant")]);
    // an offset below the base is rejected, not read from before the buffer
    let c = Column::new(ColumnType::Utf8, 2, &data, &offsets, None, 101).unwrap();
    assert_eq!(
        xxh3_batch(&c, &mut d),
        Err(KernelError::at(Code::BadOffsets, 0))
    );
}

#[test]
fn bad_offsets() {
    let data = b"abcdef".to_vec();
    let decreasing: Vec<u8> = [0i32, 3, 2, 6]
        .iter()
        .flat_map(|o| o.to_le_bytes())
        .collect();
    let c = col(ColumnType::Binary, 3, &data, &decreasing);
    let mut d = [0u64; 3];
    assert_eq!(
        xxh3_batch(&c, &mut d),
        Err(KernelError::at(Code::BadOffsets, 1))
    );
    let past_end: Vec<u8> = [0i64, 3, 7].iter().flat_map(|o| o.to_le_bytes()).collect();
    let c = col(ColumnType::LargeBinary, 2, &data, &past_end);
    assert_eq!(
        crc32_batch(&c, &mut [0u32; 2]),
        Err(KernelError::at(Code::BadOffsets, 1))
    );
    let negative: Vec<u8> = [-1i32, 3].iter().flat_map(|o| o.to_le_bytes()).collect();
    let c = col(ColumnType::Utf8, 1, &data, &negative);
    assert_eq!(
        route_hash(&c, 2, &mut [0i32; 1]),
        Err(KernelError::at(Code::BadOffsets, 0))
    );
}

#[test]
fn bad_arguments() {
    let values = int64_bytes(&[1, 2]);
    let c = col(ColumnType::Int64, 2, &values, &[]);
    let call = KernelError::call(Code::BadArgument);
    assert_eq!(call.row, NO_ROW);
    assert_eq!(route_hash(&c, 0, &mut [0i32; 2]), Err(call));
    assert_eq!(route_hash(&c, 1 << 31, &mut [0i32; 2]), Err(call));
    assert_eq!(
        route_hash(&c, 2, &mut [0i32; 1]),
        Err(call),
        "output shorter than the column"
    );
    assert_eq!(xxh3_batch(&c, &mut [0u64; 1]), Err(call));
    assert_eq!(
        Column::new(ColumnType::Int64, 3, &values, &[], None, 0).unwrap_err(),
        call
    );
}

#[test]
fn power_of_two_and_general_modulus_agree_with_digest() {
    let keys: Vec<i64> = (-500..500).map(|i| i * 7_919_113).collect();
    let values = int64_bytes(&keys);
    let c = col(ColumnType::Int64, keys.len(), &values, &[]);
    let mut d = vec![0u64; keys.len()];
    xxh3_batch(&c, &mut d).unwrap();
    for n in [1u32, 2, 7, 64, 1000, 1 << 20, i32::MAX as u32] {
        let mut out = vec![0i32; keys.len()];
        route_hash(&c, n, &mut out).unwrap();
        for (h, r) in d.iter().zip(&out) {
            assert_eq!(*r as u64, h % n as u64, "num_dbs {}", n);
        }
    }
}

fn encode(c: &Column, enc: Encoding) -> Result<Vec<Vec<u8>>, KernelError> {
    let mut offsets = vec![0i32; c.len + 1];
    let mut data = vec![0u8; 8 * c.len + 64];
    let n = encode_keys(c, enc, &mut offsets, &mut data)?;
    assert_eq!(offsets[c.len] as usize, n);
    Ok(offsets
        .windows(2)
        .map(|w| data[w[0] as usize..w[1] as usize].to_vec())
        .collect())
}

#[test]
fn key_encoding_vectors() {
    let u = int_bytes(ColumnType::UInt64, &[1, u64::MAX as i128]);
    let got = encode(&col(ColumnType::UInt64, 2, &u, &[]), Encoding::U64Be).unwrap();
    assert_eq!(got, vec![hex("0000000000000001"), hex("ffffffffffffffff")]);
    let i = int64_bytes(&[258]);
    assert_eq!(
        encode(&col(ColumnType::Int64, 1, &i, &[]), Encoding::U32Be).unwrap(),
        vec![hex("00000102")]
    );
    let (data, offsets) = var_buffers(&["é".as_bytes()], false, 2);
    assert_eq!(
        encode(&col(ColumnType::Utf8, 1, &data, &offsets), Encoding::Utf8).unwrap(),
        vec![hex("c3a9")]
    );
    let (data, offsets) = var_buffers(&[&[0x00, 0xff]], true, 0);
    assert_eq!(
        encode(
            &col(ColumnType::LargeBinary, 1, &data, &offsets),
            Encoding::Raw
        )
        .unwrap(),
        vec![hex("00ff")]
    );
    // every narrow type encodes its value, not its bit pattern
    for ty in INT_TYPES {
        let b = int_bytes(ty, &[0, 5, 127]);
        let got = encode(&col(ty, 3, &b, &[]), Encoding::U64Be).unwrap();
        assert_eq!(
            got,
            vec![
                hex("0000000000000000"),
                hex("0000000000000005"),
                hex("000000000000007f")
            ],
            "{:?}",
            ty
        );
    }
}

#[test]
fn key_encoding_errors() {
    let neg = int64_bytes(&[3, -1]);
    let c = col(ColumnType::Int64, 2, &neg, &[]);
    assert_eq!(
        encode(&c, Encoding::U64Be),
        Err(KernelError::at(Code::NegativeUnsigned, 1))
    );
    assert_eq!(
        encode(&c, Encoding::U32Be),
        Err(KernelError::at(Code::NegativeUnsigned, 1))
    );
    let big = int_bytes(ColumnType::UInt64, &[u32::MAX as i128, 1 << 32]);
    let c = col(ColumnType::UInt64, 2, &big, &[]);
    assert_eq!(
        encode(&c, Encoding::U32Be),
        Err(KernelError::at(Code::U32OutOfRange, 1))
    );
    assert_eq!(
        encode(&c, Encoding::Utf8),
        Err(KernelError::call(Code::UnsupportedType))
    );
    let (data, offsets) = var_buffers(&[b"12345678", b"1234"], false, 0);
    let s = col(ColumnType::Utf8, 2, &data, &offsets);
    assert_eq!(
        encode(&s, Encoding::U64Be),
        Err(KernelError::call(Code::UnsupportedType))
    );
    // binary lookup keys pass through u64be/u32be only at exactly the encoded width
    let b = col(ColumnType::Binary, 2, &data, &offsets);
    assert_eq!(
        encode(&b, Encoding::U64Be),
        Err(KernelError::at(Code::KeyLength, 1))
    );
    let b1 = col(ColumnType::Binary, 1, &data, &offsets);
    assert_eq!(
        encode(&b1, Encoding::U64Be).unwrap(),
        vec![b"12345678".to_vec()]
    );
    assert_eq!(
        encode(&b1, Encoding::U32Be),
        Err(KernelError::at(Code::KeyLength, 0))
    );
    // output capacity
    let mut offs = [0i32; 3];
    let mut small = [0u8; 10];
    assert_eq!(
        encode_keys(&s, Encoding::Raw, &mut offs, &mut small),
        Err(KernelError::at(Code::OutputTooSmall, 1))
    );
    assert_eq!(
        encode_keys(&s, Encoding::Raw, &mut offs[..2], &mut small),
        Err(KernelError::call(Code::BadArgument))
    );
}

#[test]
fn siphash_and_crc_batches_match_scalar() {
    let owned: Vec<Vec<u8>> = (0..40).map(pattern).collect();
    let keys: Vec<&[u8]> = owned.iter().map(|k| k.as_slice()).collect();
    for ty in VAR_TYPES {
        let (data, offsets) = var_buffers(&keys, ty.offset_width() == Some(8), 5);
        let c = col(ty, keys.len(), &data, &offsets);
        let mut s = vec![0u64; keys.len()];
        siphash13_batch(&c, &mut s).unwrap();
        let mut r = vec![0u32; keys.len()];
        crc32_batch(&c, &mut r).unwrap();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(s[i], siphash13(k));
            assert_eq!(r[i], crc32::update(0, k));
        }
    }
    let ints = int64_bytes(&[1]);
    let c = col(ColumnType::Int64, 1, &ints, &[]);
    assert_eq!(
        siphash13_batch(&c, &mut [0u64; 1]),
        Err(KernelError::call(Code::UnsupportedType))
    );
    assert_eq!(
        crc32_batch(&c, &mut [0u32; 1]),
        Err(KernelError::call(Code::UnsupportedType))
    );
}

#[test]
fn error_codes_are_the_abi_numbers() {
    let codes = [
        (Code::NullKey, 1),
        (Code::IntOutOfRange, 2),
        (Code::NegativeUnsigned, 3),
        (Code::U32OutOfRange, 4),
        (Code::UnsupportedType, 5),
        (Code::BadArgument, 6),
        (Code::BadOffsets, 7),
        (Code::OutputTooSmall, 8),
        (Code::KeyLength, 9),
    ];
    for (code, n) in codes {
        assert_eq!(code as i32, n);
    }
}

#[test]
fn empty_columns_succeed() {
    let c = col(ColumnType::Int64, 0, &[], &[]);
    route_hash(&c, 5, &mut []).unwrap();
    let zero = 0i32.to_le_bytes();
    let c = col(ColumnType::Utf8, 0, &[], &zero);
    xxh3_batch(&c, &mut []).unwrap();
    let mut offs = [7i32; 1];
    assert_eq!(encode_keys(&c, Encoding::Utf8, &mut offs, &mut []), Ok(0));
    assert_eq!(offs, [0]);
}
