//! Hex digits to bytes by table: ids and hashes are read back from stores millions of times at a
//! start (a session row holds three), and a lookup per digit is several times cheaper than the
//! `hex` crate's per-digit branches.

/// The value of each ASCII byte as a hex digit, or `INVALID`.
const INVALID: u8 = 0xFF;
const DIGITS: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Fills `out` from exactly `2 * out.len()` hex digits (either case); `false` for anything else.
pub fn decode(hex: &[u8], out: &mut [u8]) -> bool {
    if hex.len() != 2 * out.len() {
        return false;
    }
    let mut bad = 0;
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (DIGITS[pair[0] as usize], DIGITS[pair[1] as usize]);
        bad |= hi | lo;
        *byte = hi << 4 | (lo & 0x0F);
    }
    // A valid digit is below 16, so any invalid one leaves high bits set.
    bad & 0xF0 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_decodes_as_the_hex_crate_does() {
        let bytes: Vec<u8> = (0..=255).collect();
        for hex in [hex::encode(&bytes), hex::encode_upper(&bytes)] {
            let mut out = vec![0; 256];
            assert!(decode(hex.as_bytes(), &mut out));
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn anything_but_hex_digits_of_the_right_length_is_refused() {
        let mut out = [0; 2];
        assert!(decode(b"0aFf", &mut out));
        assert_eq!(out, [0x0a, 0xff]);
        for bad in [
            &b"0aF"[..],
            b"0aFf0",
            b"0aFg",
            b"0a F",
            b"-0aF",
            b"\xff\xff\xff\xff",
            b"",
        ] {
            assert!(!decode(bad, &mut out), "{bad:?}");
        }
        // Every byte that is not a digit is refused in either place of a pair.
        for c in 0..=255u8 {
            let ok = c.is_ascii_hexdigit();
            assert_eq!(decode(&[c, b'0'], &mut out[..1]), ok);
            assert_eq!(decode(&[b'0', c], &mut out[..1]), ok);
        }
    }
}
