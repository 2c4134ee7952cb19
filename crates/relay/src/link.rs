//! The pairing link `vpd pair --relay` prints: the relay's URL, then after
//! `#` the daemon's id, its public key and a one-time code, dot-separated:
//! `nats://relay.example:4222#dmn_1a2b3c.KEY.ABCD-EFGH`. Whoever holds it
//! can pair once, within the code's lifetime.

use crate::{PublicKey, RelayError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingLink {
    /// The relay, as a NATS URL (`nats://`, `tls://`, `ws://` or `wss://`).
    pub relay_url: String,
    pub daemon_id: String,
    pub daemon_key: PublicKey,
    pub code: String,
}

const SCHEMES: &[&str] = &["nats://", "tls://", "ws://", "wss://"];

impl std::fmt::Display for PairingLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            relay_url,
            daemon_id,
            daemon_key,
            code,
        } = self;
        write!(f, "{relay_url}#{daemon_id}.{daemon_key}.{code}")
    }
}

impl std::str::FromStr for PairingLink {
    type Err = RelayError;

    fn from_str(text: &str) -> Result<Self> {
        let bad = |what: &str| RelayError::BadLink(what.to_owned());
        let (relay_url, fragment) = text
            .trim()
            .rsplit_once('#')
            .ok_or_else(|| bad("no `#` after the relay URL"))?;
        if !SCHEMES.iter().any(|scheme| relay_url.starts_with(scheme)) {
            return Err(bad(
                "the relay URL must start with nats://, tls://, ws:// or wss://",
            ));
        }
        let mut parts = fragment.split('.');
        let (Some(daemon_id), Some(key), Some(code), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected DAEMON.KEY.CODE after `#`"));
        };
        if !valid_daemon_id(daemon_id) {
            return Err(bad("the daemon id must look like dmn_1a2b3c"));
        }
        Ok(Self {
            relay_url: relay_url.to_owned(),
            daemon_id: daemon_id.to_owned(),
            daemon_key: key.parse()?,
            code: code.to_owned(),
        })
    }
}

/// A daemon id is one NATS subject token, so it cannot widen a subscription.
pub(crate) fn valid_daemon_id(id: &str) -> bool {
    id.strip_prefix("dmn_")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PublicKey, StaticKey};

    #[test]
    fn a_link_reads_back_as_written() {
        let link = PairingLink {
            relay_url: "nats://127.0.0.1:4222".into(),
            daemon_id: "dmn_0123abcd".into(),
            daemon_key: StaticKey::generate().public().clone(),
            code: "ABCD-EFGH".into(),
        };
        assert_eq!(link.to_string().parse::<PairingLink>().unwrap(), link);
    }

    proptest::proptest! {
        #[test]
        fn any_link_reads_back_and_any_text_parses_or_is_refused(
            host in "[a-z0-9.-]{1,30}",
            port in 1u16..,
            id in "[a-z0-9]{1,16}",
            code in "[A-Z0-9-]{1,12}",
            key in proptest::array::uniform32(proptest::num::u8::ANY),
            text in "\\PC*",
        ) {
            let link = PairingLink {
                relay_url: format!("ws://{host}:{port}"),
                daemon_id: format!("dmn_{id}"),
                daemon_key: PublicKey::from_bytes(&key).unwrap(),
                code,
            };
            proptest::prop_assert_eq!(link.to_string().parse::<PairingLink>().unwrap(), link);
            let _ = text.parse::<PairingLink>();
        }
    }

    #[test]
    fn a_bad_link_says_what_is_wrong() {
        let key = StaticKey::generate().public().to_string();
        for (text, expected) in [
            ("nats://h:1", "no `#`"),
            ("http://h#dmn_1.K.C", "must start with nats://"),
            ("nats://h#dmn_1.only", "expected DAEMON.KEY.CODE"),
            (
                &format!("nats://h#vp.*.{key}.C") as &str,
                "expected DAEMON.KEY.CODE",
            ),
            (&format!("nats://h#dmn_>.{key}.C") as &str, "daemon id"),
            ("nats://h#dmn_1.short.C", "not a relay key"),
        ] {
            let error = text.parse::<PairingLink>().unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
