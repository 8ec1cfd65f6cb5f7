//! CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), slicing-by-8, zlib-compatible chaining:
//! `update(update(0, a), b) == update(0, a ++ b)`.

const POLY: u32 = 0xEDB8_8320;

/// `TABLES[k][b]`: the CRC of byte `b` followed by `k` zero bytes.
static TABLES: [[u32; 256]; 8] = build_tables();

const fn build_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 8 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            k += 1;
        }
        i += 1;
    }
    t
}

/// Continues the CRC `crc` (0 to start) over `input`.
pub fn update(crc: u32, input: &[u8]) -> u32 {
    let mut c = !crc;
    let mut blocks = input.chunks_exact(8);
    for b in &mut blocks {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        let lo = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) ^ c;
        let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]);
        c = TABLES[7][(lo & 0xff) as usize]
            ^ TABLES[6][((lo >> 8) & 0xff) as usize]
            ^ TABLES[5][((lo >> 16) & 0xff) as usize]
            ^ TABLES[4][(lo >> 24) as usize]
            ^ TABLES[3][(hi & 0xff) as usize]
            ^ TABLES[2][((hi >> 8) & 0xff) as usize]
            ^ TABLES[1][((hi >> 16) & 0xff) as usize]
            ^ TABLES[0][(hi >> 24) as usize];
    }
    for &b in blocks.remainder() {
        c = (c >> 8) ^ TABLES[0][((c ^ b as u32) & 0xff) as usize];
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
    }

    // Python `zlib.crc32(pattern(len))`.
    const CRC: &[(usize, u32)] = &[
        (0, 0x00000000),
        (1, 0x4c667a2e),
        (2, 0xdc9501c5),
        (3, 0x3f66f9ac),
        (4, 0x4782c3f6),
        (7, 0x3e483922),
        (8, 0xa7560428),
        (9, 0xe07dd56a),
        (15, 0x72ab2a5e),
        (16, 0xa6c1963d),
        (17, 0xfdcb529c),
        (31, 0x95fe31fc),
        (32, 0x7e2be8fc),
        (33, 0x32a92d7b),
        (63, 0x5a6b41e4),
        (64, 0x7989b995),
        (65, 0x12c10a99),
        (255, 0xc5532265),
        (1000, 0x711ebe2b),
        (4099, 0x9363d1b4),
    ];

    #[test]
    fn zlib_vectors() {
        assert_eq!(update(0, b"123456789"), 0xcbf4_3926);
        assert_eq!(update(0, b"hello world"), 0x0d4a_1185);
        for &(len, want) in CRC {
            assert_eq!(update(0, &pattern(len)), want, "len {}", len);
        }
    }

    #[test]
    fn chaining_equals_one_shot() {
        let data = pattern(4099);
        for split in [0, 1, 7, 8, 9, 100, 4098, 4099] {
            let (a, b) = data.split_at(split);
            assert_eq!(update(update(0, a), b), 0x9363_d1b4, "split {}", split);
        }
    }
}
