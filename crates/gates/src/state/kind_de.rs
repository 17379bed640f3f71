//! `PrincipalKind`'s `Deserialize`, by hand: the derived one for an internally tagged enum
//! (`{"type":"user", ...}`) first buffers the whole object into serde's generic content tree
//! (every string allocated and copied twice) to find the tag. Every object serde writes starts
//! with its `type` key, so that one is read first and the rest of the object goes straight into
//! the variant's fields (issue 11: a restart parses one per principal). An object whose first
//! key is another takes the buffered way, as before: the same JSON is accepted either way.

use super::{default_max_session, default_principal_path, Interned, PrincipalKind, Role};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Tag {
    Root,
    User,
    Role,
}

#[derive(Deserialize)]
struct RootFields {}

#[derive(Deserialize)]
struct UserFields {
    name: String,
    #[serde(default = "default_principal_path")]
    path: Interned,
}

#[derive(Deserialize)]
struct RoleFields {
    name: String,
    #[serde(default = "default_principal_path")]
    path: Interned,
    trust_policy: String,
    #[serde(default = "default_max_session")]
    max_session_duration: u32,
    #[serde(default)]
    description: Option<String>,
}

/// The derived, buffered form: for an object whose `type` is not its first key.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Tagged {
    Root(RootFields),
    User(UserFields),
    Role(RoleFields),
}

impl From<UserFields> for PrincipalKind {
    fn from(f: UserFields) -> Self {
        PrincipalKind::User {
            name: f.name,
            path: f.path,
        }
    }
}

impl From<RoleFields> for PrincipalKind {
    fn from(f: RoleFields) -> Self {
        PrincipalKind::Role(Box::new(Role {
            name: f.name,
            path: f.path,
            trust_policy: f.trust_policy,
            max_session_duration: f.max_session_duration,
            description: f.description,
        }))
    }
}

impl From<Tagged> for PrincipalKind {
    fn from(t: Tagged) -> Self {
        match t {
            Tagged::Root(RootFields {}) => PrincipalKind::Root,
            Tagged::User(f) => f.into(),
            Tagged::Role(f) => f.into(),
        }
    }
}

/// An object's first key: the tag's (read without allocating) or another.
enum FirstKey {
    Type,
    Other(String),
}

impl<'de> Deserialize<'de> for FirstKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = FirstKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FirstKey, E> {
                Ok(match v {
                    "type" => FirstKey::Type,
                    _ => FirstKey::Other(v.to_string()),
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for PrincipalKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = PrincipalKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a principal kind (an object with a `type`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PrincipalKind, A::Error> {
        let rest = |map| de::value::MapAccessDeserializer::new(map);
        match map.next_key::<FirstKey>()? {
            Some(FirstKey::Type) => Ok(match map.next_value::<Tag>()? {
                Tag::Root => {
                    RootFields::deserialize(rest(map))?;
                    PrincipalKind::Root
                }
                Tag::User => UserFields::deserialize(rest(map))?.into(),
                Tag::Role => RoleFields::deserialize(rest(map))?.into(),
            }),
            first => {
                let mut all = serde_json::Map::new();
                if let Some(FirstKey::Other(key)) = first {
                    all.insert(key, map.next_value()?);
                }
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    all.insert(k, v);
                }
                Tagged::deserialize(serde_json::Value::Object(all))
                    .map(PrincipalKind::from)
                    .map_err(de::Error::custom)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PrincipalKind, Role};

    fn parse(json: &str) -> Result<PrincipalKind, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn the_tag_first_or_anywhere_reads_the_same() {
        let user = PrincipalKind::User {
            name: "dev".into(),
            path: "/teams/".into(),
        };
        assert_eq!(
            parse(r#"{"type":"user","name":"dev","path":"/teams/"}"#).unwrap(),
            user
        );
        assert_eq!(
            parse(r#"{"name":"dev","type":"user","path":"/teams/"}"#).unwrap(),
            user
        );
        assert_eq!(
            parse(r#"{"path":"/teams/","name":"dev","type":"user"}"#).unwrap(),
            user
        );
        let role = PrincipalKind::Role(Box::new(Role {
            name: "r".into(),
            path: "/".into(),
            trust_policy: "{}".into(),
            max_session_duration: 3600,
            description: None,
        }));
        assert_eq!(
            parse(r#"{"type":"role","name":"r","trust_policy":"{}"}"#).unwrap(),
            role
        );
        assert_eq!(
            parse(r#"{"trust_policy":"{}","name":"r","type":"role"}"#).unwrap(),
            role
        );
        assert_eq!(parse(r#"{"type":"root"}"#).unwrap(), PrincipalKind::Root);
        assert_eq!(
            parse(r#"{"type":"root","x":1}"#).unwrap(),
            PrincipalKind::Root
        );
        assert_eq!(
            parse(r#"{"x":1,"type":"root"}"#).unwrap(),
            PrincipalKind::Root
        );
    }

    #[test]
    fn what_serde_writes_reads_back() {
        for kind in [
            PrincipalKind::Root,
            PrincipalKind::User {
                name: "u".into(),
                path: "/".into(),
            },
            PrincipalKind::Role(Box::new(Role {
                name: "r".into(),
                path: "/svc/".into(),
                trust_policy: r#"{"Version":"2012-10-17"}"#.into(),
                max_session_duration: 7200,
                description: Some("d".into()),
            })),
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert!(json.starts_with(r#"{"type":""#), "{json}");
            assert_eq!(parse(&json).unwrap(), kind);
        }
    }

    #[test]
    fn a_bad_kind_is_refused_with_serdes_words() {
        let e = parse(r#"{"type":"group","name":"g"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("unknown variant `group`, expected one of `root`, `user`, `role`"),
            "{e}"
        );
        let e = parse(r#"{"type":"user"}"#).unwrap_err().to_string();
        assert!(e.starts_with("missing field `name`"), "{e}");
        let e = parse(r#"{"name":"u"}"#).unwrap_err().to_string();
        assert!(e.starts_with("missing field `type`"), "{e}");
        assert!(parse(r#"{}"#).is_err());
        assert!(parse(r#""user""#).is_err());
    }
}
