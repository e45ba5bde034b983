//! The OData JSON conventions Graph uses, as serde building blocks.
//!
//! Everything in `model.rs` is generated on top of these pieces, so the rules live here once:
//! * a property is absent, explicitly `null`, or set ([`Maybe`]) — Graph's entity responses spell out
//!   `"resultInfo": null` while notifications carry partial objects, and both must round-trip;
//! * every Graph complex/entity type writes its own `@odata.type` and checks an incoming one;
//! * open types keep unknown properties; closed types keep only instance annotations (`@odata.etag` …)
//!   and reject anything else the way Graph does;
//! * numbers are lenient: Graph's own examples send `"code": "200"`, and OData allows `"INF"`/`"NaN"`;
//! * enums parse case-insensitively and are written lower-camel;
//! * polymorphic values are chosen by `@odata.type`, defaulting to the declared type when that is unambiguous.

use std::{collections::BTreeMap, fmt, marker::PhantomData, str::FromStr};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, MapAccess, Visitor},
    ser::SerializeMap,
};
use serde_json::{Map, Value};

/// A property as OData carries it: not sent, sent as `null`, or sent with a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Maybe<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Maybe<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Maybe::Absent)
    }

    /// The value, if one was sent; `null` and absence both read as `None`.
    pub fn as_ref(&self) -> Option<&T> {
        match self {
            Maybe::Value(value) => Some(value),
            Maybe::Absent | Maybe::Null => None,
        }
    }

    pub fn into_option(self) -> Option<T> {
        match self {
            Maybe::Value(value) => Some(value),
            Maybe::Absent | Maybe::Null => None,
        }
    }
}

impl<T> From<T> for Maybe<T> {
    fn from(value: T) -> Self {
        Maybe::Value(value)
    }
}

/// `None` becomes an explicit `null`: what a full entity representation shows for an unset property.
impl<T> From<Option<T>> for Maybe<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Maybe::Null, Maybe::Value)
    }
}

impl<T: Serialize> Serialize for Maybe<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Maybe::Value(value) => value.serialize(serializer),
            Maybe::Absent | Maybe::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.into())
    }
}

/// Implemented by every generated Graph type that carries an `@odata.type`.
pub trait GraphType {
    /// The qualified name with its `#`, e.g. `#microsoft.graph.call`.
    const ODATA_TYPE: &'static str;
}

/// `serialize_with` for the unit `odata_type` field: writes the type's own name.
pub fn write_odata_type<T: GraphType, S: Serializer>(_: &(), serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(T::ODATA_TYPE)
}

/// `deserialize_with` for the unit `odata_type` field: an incoming `@odata.type` must name this type.
pub fn read_odata_type<'de, T: GraphType, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        Some(name) if !same_type_name(&name, T::ODATA_TYPE) => Err(de::Error::custom(format!(
            "the @odata.type '{}' is not compatible with the expected type '{}'",
            name,
            bare(T::ODATA_TYPE)
        ))),
        _ => Ok(()),
    }
}

/// OData type names compare without the leading `#` and without regard to case.
pub fn same_type_name(a: &str, b: &str) -> bool {
    bare(a).eq_ignore_ascii_case(bare(b))
}

fn bare(name: &str) -> &str {
    name.strip_prefix('#').unwrap_or(name)
}

/// The extra members a closed type accepts: instance annotations (`@odata.etag`, `@odata.id` …) only.
/// Any other unknown property is refused with Graph's wording, naming the type `T`.
pub struct Annotations<T> {
    pub members: BTreeMap<String, Value>,
    owner: PhantomData<fn() -> T>,
}

impl<T> Annotations<T> {
    pub fn new(members: BTreeMap<String, Value>) -> Self {
        Annotations { members, owner: PhantomData }
    }
}

impl<T> Default for Annotations<T> {
    fn default() -> Self {
        Annotations::new(BTreeMap::new())
    }
}

impl<T> Clone for Annotations<T> {
    fn clone(&self) -> Self {
        Annotations::new(self.members.clone())
    }
}

impl<T> PartialEq for Annotations<T> {
    fn eq(&self, other: &Self) -> bool {
        self.members == other.members
    }
}

impl<T> fmt::Debug for Annotations<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.members.fmt(f)
    }
}

impl<T> Serialize for Annotations<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.members.len()))?;
        for (key, value) in &self.members {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de, T: TypeName> Deserialize<'de> for Annotations<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnnotationVisitor<T>(PhantomData<fn() -> T>);

        impl<'de, T: TypeName> Visitor<'de> for AnnotationVisitor<T> {
            type Value = Annotations<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "the properties of {}", T::TYPE_NAME)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut members = BTreeMap::new();
                while let Some(key) = access.next_key::<String>()? {
                    if !key.starts_with('@') && !key.contains('@') {
                        return Err(de::Error::custom(format!(
                            "The property '{key}' does not exist on type '{}'. Make sure to only use property names \
                             that are defined by the type.",
                            T::TYPE_NAME
                        )));
                    }
                    members.insert(key, access.next_value()?);
                }
                Ok(Annotations::new(members))
            }
        }

        deserializer.deserialize_map(AnnotationVisitor(PhantomData))
    }
}

/// The schema name used in messages (`microsoft.graph.mediaInfo`); implemented by every generated type.
pub trait TypeName {
    const TYPE_NAME: &'static str;
}

/// `deserialize_with` for integer properties: a JSON number, or a string holding one
/// (Graph's docs show `"code": "200"` in a notification; OData's IEEE754Compatible mode quotes Int64).
pub fn lenient_integer<'de, D, T>(deserializer: D) -> Result<Maybe<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + FromStr,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr<T> {
        Number(T),
        Text(String),
    }
    match Option::<Repr<T>>::deserialize(deserializer)? {
        None => Ok(Maybe::Null),
        Some(Repr::Number(number)) => Ok(Maybe::Value(number)),
        Some(Repr::Text(text)) => text
            .trim()
            .parse()
            .map(Maybe::Value)
            .map_err(|_| de::Error::custom(format!("'{text}' is not a valid integer"))),
    }
}

/// A Graph `Edm.Double`: a JSON number, or one of OData's `"INF"`, `"-INF"`, `"NaN"` (or a numeric string).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Double(pub f64);

impl Serialize for Double {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = self.0;
        if value.is_nan() {
            serializer.serialize_str("NaN")
        } else if value.is_infinite() {
            serializer.serialize_str(if value > 0.0 { "INF" } else { "-INF" })
        } else {
            serializer.serialize_f64(value)
        }
    }
}

impl<'de> Deserialize<'de> for Double {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Text(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Number(number) => Ok(Double(number)),
            Repr::Text(text) => match text.as_str() {
                "INF" => Ok(Double(f64::INFINITY)),
                "-INF" => Ok(Double(f64::NEG_INFINITY)),
                "NaN" => Ok(Double(f64::NAN)),
                other => other
                    .trim()
                    .parse()
                    .map(Double)
                    .map_err(|_| de::Error::custom(format!("'{text}' is not a valid Edm.Double"))),
            },
        }
    }
}

/// Declares a Graph enum: parsed case-insensitively (Kiota upper-cases the first letter, Graph's own
/// examples mix `"Running"` and `"running"`), written as the given wire name.
macro_rules! graph_enum {
    ($(#[$meta:meta])* $name:ident = $odata:literal { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),*
                }
            }
        }

        impl $crate::odata::TypeName for $name {
            const TYPE_NAME: &'static str = $odata;
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::odata::UnknownEnumMember;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|member| member.as_str().eq_ignore_ascii_case(text))
                    .ok_or_else(|| $crate::odata::UnknownEnumMember::new::<Self>(text, Self::ALL.iter().map(|m| m.as_str())))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use graph_enum;

/// A string that names no member of a Graph enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEnumMember {
    message: String,
}

impl UnknownEnumMember {
    pub fn new<'a, E: TypeName>(text: &str, members: impl Iterator<Item = &'a str>) -> Self {
        let members: Vec<&str> = members.collect();
        UnknownEnumMember {
            message: format!(
                "the value '{text}' is not a member of the enum type '{}'; use one of: {}",
                E::TYPE_NAME,
                members.join(", ")
            ),
        }
    }
}

impl fmt::Display for UnknownEnumMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UnknownEnumMember {}

/// How a polymorphic property picks its concrete type from an incoming object.
pub struct Polymorphism {
    /// The declared type, e.g. `microsoft.graph.mediaConfig`.
    pub declared: &'static str,
    /// The type used when no `@odata.type` is sent, if the declared type makes that unambiguous.
    pub default: Option<&'static str>,
    /// Every concrete type the property accepts, with `#`.
    pub concrete: &'static [&'static str],
}

impl Polymorphism {
    /// Reads the object and returns the index into `concrete` of its type.
    pub fn resolve(&self, object: &Map<String, Value>) -> Result<usize, String> {
        let chosen = match object.get("@odata.type") {
            Some(Value::String(name)) => name.as_str(),
            Some(other) => return Err(format!("@odata.type must be a string, not {other}")),
            None => match self.default {
                Some(default) => default,
                None => {
                    return Err(format!(
                        "an @odata.type is required for a value of the abstract type '{}'; use one of: {}",
                        self.declared,
                        self.concrete.join(", ")
                    ));
                }
            },
        };
        self.concrete.iter().position(|candidate| same_type_name(candidate, chosen)).ok_or_else(|| {
            format!(
                "the @odata.type '{}' is not compatible with the declared type '{}'; use one of: {}",
                bare(chosen),
                self.declared,
                self.concrete.join(", ")
            )
        })
    }
}

/// Reads a JSON object for a polymorphic property: the object itself and the index of its concrete type.
pub fn read_polymorphic<'de, D: Deserializer<'de>>(
    deserializer: D,
    polymorphism: &Polymorphism,
) -> Result<(Value, usize), D::Error> {
    let object = Map::<String, Value>::deserialize(deserializer)?;
    let index = polymorphism.resolve(&object).map_err(de::Error::custom)?;
    Ok((Value::Object(object), index))
}

/// Deserializes a buffered object into its concrete type, keeping the message a person needs.
pub fn from_object<T: for<'de> Deserialize<'de>, E: de::Error>(object: Value) -> Result<T, E> {
    serde_json::from_value(object).map_err(E::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maybe_keeps_null_apart_from_absent() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Probe {
            #[serde(default, skip_serializing_if = "Maybe::is_absent")]
            a: Maybe<u8>,
            #[serde(default, skip_serializing_if = "Maybe::is_absent")]
            b: Maybe<u8>,
        }
        let probe: Probe = serde_json::from_str(r#"{"a": null}"#).unwrap();
        assert_eq!(probe, Probe { a: Maybe::Null, b: Maybe::Absent });
        assert_eq!(serde_json::to_string(&probe).unwrap(), r#"{"a":null}"#);
    }

    #[test]
    fn doubles_accept_odata_special_values() {
        let values: Vec<Double> = serde_json::from_str(r#"[1.5, "INF", "-INF", "NaN", "2.25"]"#).unwrap();
        assert_eq!(values[0], Double(1.5));
        assert!(values[1].0.is_infinite() && values[1].0 > 0.0);
        assert!(values[2].0.is_infinite() && values[2].0 < 0.0);
        assert!(values[3].0.is_nan());
        assert_eq!(values[4], Double(2.25));
        assert_eq!(serde_json::to_string(&values[3]).unwrap(), r#""NaN""#);
        assert!(serde_json::from_str::<Double>(r#""many""#).is_err());
    }

    #[test]
    fn polymorphism_defaults_only_when_unambiguous() {
        let abstract_type = Polymorphism {
            declared: "microsoft.graph.mediaConfig",
            default: None,
            concrete: &["#microsoft.graph.appHostedMediaConfig", "#microsoft.graph.serviceHostedMediaConfig"],
        };
        let untyped = serde_json::json!({"blob": "x"});
        let error = abstract_type.resolve(untyped.as_object().unwrap()).unwrap_err();
        assert!(error.contains("an @odata.type is required"), "{error}");
        let typed = serde_json::json!({"@odata.type": "microsoft.graph.SERVICEHOSTEDMEDIACONFIG"});
        assert_eq!(abstract_type.resolve(typed.as_object().unwrap()), Ok(1));
        let foreign = serde_json::json!({"@odata.type": "#microsoft.graph.call"});
        assert!(abstract_type.resolve(foreign.as_object().unwrap()).unwrap_err().contains("not compatible"));
    }
}
