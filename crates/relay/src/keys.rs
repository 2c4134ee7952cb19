//! Static X25519 keys, written as unpadded URL-safe base64.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use curve25519_dalek::MontgomeryPoint;

use crate::{RelayError, Result};

const KEY_BYTES: usize = 32;

/// Someone's public key: the daemon's in a pairing link, a viewer's in the
/// daemon's list of paired viewers.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey([u8; KEY_BYTES]);

impl PublicKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes = <[u8; KEY_BYTES]>::try_from(bytes)
            .map_err(|_| RelayError::BadKey(format!("{} bytes, not {KEY_BYTES}", bytes.len())))?;
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl std::str::FromStr for PublicKey {
    type Err = RelayError;

    fn from_str(text: &str) -> Result<Self> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|e| RelayError::BadKey(e.to_string()))?;
        Self::from_bytes(&bytes)
    }
}

/// A long-lived key pair: the daemon's (`relay.key` in its data home) or a
/// viewer's (kept with the pairing). The private half never leaves the
/// machine it was made on.
#[derive(Clone)]
pub struct StaticKey {
    private: [u8; KEY_BYTES],
    public: PublicKey,
}

impl StaticKey {
    pub fn generate() -> Self {
        let mut private = [0u8; KEY_BYTES];
        rand::Rng::fill(&mut rand::rng(), &mut private);
        Self::with_private(private)
    }

    pub fn from_private(private: &[u8]) -> Result<Self> {
        let private = <[u8; KEY_BYTES]>::try_from(private)
            .map_err(|_| RelayError::BadKey(format!("{} bytes, not {KEY_BYTES}", private.len())))?;
        Ok(Self::with_private(private))
    }

    fn with_private(private: [u8; KEY_BYTES]) -> Self {
        // X25519 clamps the scalar, as the handshake's DH will.
        let public = MontgomeryPoint::mul_base_clamped(private).to_bytes();
        Self {
            private,
            public: PublicKey(public),
        }
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn private_bytes(&self) -> &[u8] {
        &self.private
    }

    /// The private half as text, for a file only its owner can read.
    pub fn to_secret_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.private)
    }

    pub fn from_secret_text(text: &str) -> Result<Self> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|e| RelayError::BadKey(e.to_string()))?;
        Self::from_private(&bytes)
    }
}

impl std::fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticKey(public {})", self.public)
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Written as its private half: only into files only its owner reads.
impl serde::Serialize for StaticKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_secret_text())
    }
}

impl<'de> serde::Deserialize<'de> for StaticKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_secret_text(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_its_text_form() {
        let key = StaticKey::generate();
        let again = StaticKey::from_secret_text(&key.to_secret_text()).unwrap();
        assert_eq!(again.public(), key.public());
        let public: PublicKey = key.public().to_string().parse().unwrap();
        assert_eq!(&public, key.public());
        assert_ne!(
            StaticKey::generate().public(),
            key.public(),
            "keys are random"
        );
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused_by_name() {
        let error = "AAAA".parse::<PublicKey>().unwrap_err().to_string();
        assert!(error.contains("3 bytes, not 32"), "{error}");
    }
}
