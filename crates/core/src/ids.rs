//! Object ids: 128-bit GUIDs written as 32 upper-case hex characters, as both platforms print them.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;

/// A 128-bit object id. Kept as bytes so a million sessions stay small in memory.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Guid(b)
    }

    /// A fixed id written as 32 hex characters, for constants (a bad literal fails the build).
    pub const fn from_hex_const(hex: &str) -> Guid {
        const fn digit(c: u8) -> u8 {
            match c {
                b'0'..=b'9' => c - b'0',
                b'A'..=b'F' => c - b'A' + 10,
                b'a'..=b'f' => c - b'a' + 10,
                _ => panic!("not a hex digit"),
            }
        }
        let b = hex.as_bytes();
        assert!(b.len() == 32, "a GUID has 32 hex characters");
        let mut out = [0u8; 16];
        let mut i = 0;
        while i < 16 {
            out[i] = digit(b[2 * i]) << 4 | digit(b[2 * i + 1]);
            i += 1;
        }
        Guid(out)
    }

    /// The 32-character upper-case hex form MicroStrategy uses.
    pub fn to_hex(&self) -> String {
        hex::encode_upper(self.0)
    }

    /// The 8-4-4-4-12 lower-case form ThoughtSpot uses.
    pub fn to_uuid(&self) -> String {
        let h = hex::encode(self.0);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({})", self.to_hex())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadGuid;

impl fmt::Display for BadGuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a valid object id (expected 32 hex characters)")
    }
}

impl std::error::Error for BadGuid {}

fn nibble(c: u8) -> Result<u8, BadGuid> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(BadGuid),
    }
}

impl FromStr for Guid {
    type Err = BadGuid;

    /// Accepts the 32-hex form in either case, and the dashed UUID form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut b = [0u8; 16];
        if crate::hex_digits::decode(s.as_bytes(), &mut b) {
            return Ok(Guid(b));
        }
        let mut digits = s.bytes().filter(|c| *c != b'-');
        for byte in &mut b {
            let (Some(hi), Some(lo)) = (digits.next(), digits.next()) else {
                return Err(BadGuid);
            };
            *byte = nibble(hi)? << 4 | nibble(lo)?;
        }
        match digits.next() {
            Some(_) => Err(BadGuid),
            None => Ok(Guid(b)),
        }
    }
}

/// Serialized as the 32-hex form (stored model documents use it).
impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Guid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_uuid_forms_round_trip() {
        let g = Guid::random();
        assert_eq!(g.to_hex().parse::<Guid>().unwrap(), g);
        assert_eq!(g.to_uuid().parse::<Guid>().unwrap(), g);
        assert_eq!(g.to_hex().to_lowercase().parse::<Guid>().unwrap(), g);
        assert!("xyz".parse::<Guid>().is_err());
        assert!("G".repeat(32).parse::<Guid>().is_err());
        // 31 or 33 digits, and a multibyte character among them, are refused.
        assert!(g.to_hex()[1..].parse::<Guid>().is_err());
        assert!(format!("{}0", g.to_hex()).parse::<Guid>().is_err());
        assert!(format!("é{}", &g.to_hex()[2..]).parse::<Guid>().is_err());
        assert!("-".repeat(40).parse::<Guid>().is_err());
    }
}
