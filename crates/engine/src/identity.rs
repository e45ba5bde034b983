//! Who an endpoint is: Graph's `identitySet` (res:identitySet) as a small domain type, read from the wire once.
//!
//! It serialises as the Graph JSON it came from (the identities in their order, each `{ "@odata.type"?, "id"?,
//! "displayName"?, … }`), so stored documents and rendered rosters keep their shape, and the properties Switchboard
//! does not interpret (`@odata.type`, `tenantId`, `identityProvider`, an ACS user's `email` …) are echoed as given,
//! as Graph's SDK models keep them in `additionalData`.

use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::SerializeMap};
use serde_json::{Map, Value};

/// A property of an identity set naming one identity (res:identitySet, res:communicationsIdentitySet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityKind {
    User,
    Application,
    ApplicationInstance,
    Phone,
    Guest,
    Device,
    /// Any other kind (`encrypted`, `acsUser`, `onPremises` …): carried and echoed, never resolved.
    Other(String),
}

impl IdentityKind {
    fn from_key(key: &str) -> Self {
        match key {
            "user" => Self::User,
            "application" => Self::Application,
            "applicationInstance" => Self::ApplicationInstance,
            "phone" => Self::Phone,
            "guest" => Self::Guest,
            "device" => Self::Device,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Its property name in the identity set.
    pub fn key(&self) -> &str {
        match self {
            Self::User => "user",
            Self::Application => "application",
            Self::ApplicationInstance => "applicationInstance",
            Self::Phone => "phone",
            Self::Guest => "guest",
            Self::Device => "device",
            Self::Other(key) => key,
        }
    }

    /// Whether identities of this kind live in a tenant's directory (live Graph names their tenant and provider).
    pub fn is_directory(&self) -> bool {
        matches!(self, Self::User | Self::Application | Self::ApplicationInstance | Self::Guest)
    }
}

/// One identity of a set (res:identity).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub id: Option<String>,
    pub display_name: Option<String>,
    /// The properties Switchboard does not interpret, in the order they came.
    pub other: Map<String, Value>,
}

impl Identity {
    /// The id, or "" when it has none.
    pub fn id_or_empty(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    fn from_json(object: &Map<String, Value>) -> Self {
        let mut identity = Identity::default();
        for (key, value) in object {
            match (key.as_str(), value) {
                ("id", Value::String(id)) => identity.id = Some(id.clone()),
                ("displayName", Value::String(name)) => identity.display_name = Some(name.clone()),
                _ => {
                    identity.other.insert(key.clone(), value.clone());
                }
            }
        }
        identity
    }
}

const ODATA_TYPE: &str = "@odata.type";

impl Serialize for Identity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        // `@odata.type` first, as Graph writes it and as SDKs read it best.
        if let Some(odata_type) = self.other.get(ODATA_TYPE) {
            map.serialize_entry(ODATA_TYPE, odata_type)?;
        }
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        if let Some(name) = &self.display_name {
            map.serialize_entry("displayName", name)?;
        }
        for (key, value) in self.other.iter().filter(|(key, _)| *key != ODATA_TYPE) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// An identity set: at most one identity of each kind, in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentitySet {
    identities: Vec<(IdentityKind, Identity)>,
    /// The set's own properties that name no identity (its `@odata.type`), echoed as given.
    other: Map<String, Value>,
}

impl IdentitySet {
    /// A set of one identity, typed as Graph types the sets it writes.
    pub fn one(kind: IdentityKind, id: &str, display_name: Option<&str>) -> Self {
        let mut identity =
            Identity { id: Some(id.to_owned()), display_name: display_name.map(str::to_owned), other: Map::new() };
        identity.other.insert(ODATA_TYPE.into(), "#microsoft.graph.identity".into());
        let mut other = Map::new();
        other.insert(ODATA_TYPE.into(), "#microsoft.graph.identitySet".into());
        IdentitySet { identities: vec![(kind, identity)], other }
    }

    /// Reads an identity set from Graph JSON. Properties whose value is an object are identities (also kinds
    /// Switchboard does not know); anything else is kept as the set's own. Not an object: an empty set.
    pub fn from_json(value: &Value) -> Self {
        let mut set = IdentitySet::default();
        for (key, value) in value.as_object().into_iter().flatten() {
            match value {
                Value::Object(identity) => {
                    set.identities.push((IdentityKind::from_key(key), Identity::from_json(identity)));
                }
                _ => {
                    set.other.insert(key.clone(), value.clone());
                }
            }
        }
        set
    }

    /// As Graph JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("an identity set is plain data and always serialises")
    }

    /// Its identity of `kind`.
    pub fn get(&self, kind: &IdentityKind) -> Option<&Identity> {
        self.identities.iter().find(|(k, _)| k == kind).map(|(_, identity)| identity)
    }

    /// Its identities with their kinds.
    pub fn identities(&self) -> impl Iterator<Item = (&IdentityKind, &Identity)> {
        self.identities.iter().map(|(kind, identity)| (kind, identity))
    }

    /// Whether it names nobody.
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// Every id it names, lower-case (Graph's ids are GUIDs, compared without case).
    pub fn ids(&self) -> Vec<String> {
        self.identities.iter().filter_map(|(_, identity)| identity.id.as_deref()).map(str::to_ascii_lowercase).collect()
    }

    /// The set as live Graph sends it: typed, and each directory identity naming its tenant and `AAD` as its
    /// provider where it names none (tests/fixtures/observed/sambetts/p2p-roster-user-and-bot.json).
    pub fn observed(&self, tenant_id: &str) -> Self {
        let mut set = self.clone();
        set.other.entry(ODATA_TYPE).or_insert_with(|| "#microsoft.graph.identitySet".into());
        for (_, identity) in set.identities.iter_mut().filter(|(kind, _)| kind.is_directory()) {
            identity.other.entry(ODATA_TYPE).or_insert_with(|| "#microsoft.graph.identity".into());
            identity.other.entry("tenantId").or_insert_with(|| tenant_id.into());
            identity.other.entry("identityProvider").or_insert_with(|| "AAD".into());
        }
        set
    }
}

impl Serialize for IdentitySet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.other.len() + self.identities.len()))?;
        for (key, value) in &self.other {
            map.serialize_entry(key, value)?;
        }
        for (kind, identity) in &self.identities {
            map.serialize_entry(kind.key(), identity)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for IdentitySet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(IdentitySet::from_json(&Value::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_identity_set_reads_and_writes_the_graph_json_it_came_from() {
        let given = json!({
            "@odata.type": "#microsoft.graph.identitySet",
            "user": {"@odata.type": "#microsoft.graph.identity", "displayName": "Alice", "id": "AB-12", "tenantId": "t"},
            "encrypted": {"id": "x"},
        });
        let set = IdentitySet::from_json(&given);
        assert_eq!(set.to_json(), given);
        assert_eq!(set.get(&IdentityKind::User).and_then(|u| u.display_name.as_deref()), Some("Alice"));
        assert_eq!(set.get(&IdentityKind::Other("encrypted".into())).map(Identity::id_or_empty), Some("x"));
        assert_eq!(set.ids(), ["ab-12", "x"]);
        assert_eq!(serde_json::from_value::<IdentitySet>(given).unwrap(), set);
        assert!(IdentitySet::from_json(&Value::Null).is_empty());
    }

    #[test]
    fn the_observed_shape_names_directory_identities_tenant_and_provider_only() {
        let set = IdentitySet::from_json(&json!({"user": {"id": "u"}, "phone": {"id": "+1555"}}));
        assert_eq!(
            set.observed("t1").to_json(),
            json!({
                "@odata.type": "#microsoft.graph.identitySet",
                "user": {"@odata.type": "#microsoft.graph.identity", "id": "u", "tenantId": "t1", "identityProvider": "AAD"},
                "phone": {"id": "+1555"},
            })
        );
    }
}
