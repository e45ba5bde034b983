#!/usr/bin/env python3
"""Generates crates/wire/src/model.rs from the two OpenAPI descriptions in spec/graph-openapi/.

The schemas are defined once, by Microsoft's CSDL (as reconstructed in those files); this script turns them into
serde types built on crates/wire/src/odata.rs. v1.0 and beta are merged: a type has the union of its properties
and an enum the union of its members, and the doc comment says which are beta-only.

    python3 tools/gen_wire_types.py          # rewrite model.rs
    python3 tools/gen_wire_types.py --check  # exit 1 if model.rs is stale (run by scripts/test-all)
"""

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPECS = {"v1.0": ROOT / "spec/graph-openapi/v1.0-communications.yaml", "beta": ROOT / "spec/graph-openapi/beta-communications.yaml"}
OUT = ROOT / "crates/wire/src/model.rs"

# Properties the service sends but the CSDL does not declare (both types are open, so they would survive as
# additional data anyway); typed here so code can build them. Source: shared/reference/graph-calls.md section (c).
OBSERVED_PROPERTIES = {
    "microsoft.graph.commsNotification": [
        ("resourceData", "json", "The changed entity, or a collection of entities (e.g. the roster). Undeclared in CSDL; res:commsnotification."),
        ("resource", "string", "Legacy `/app/calls/...` path sent beside `resourceUrl` in some examples (docs:participant-invite)."),
        ("callbackUri", "string", "The callback the notification was sent to, present in some examples (docs:call-answer)."),
    ],
}

# Action parameters the current SDKs send that the reconstructed OpenAPI files lack (their bodies were "not read").
# Source: msgraph-beta-sdk-python 1.66.0, communications/calls/item/{start,stop}_transcription/*_post_request_body.py.
OBSERVED_PARAMETERS = {
    "StartTranscriptionPostRequestBody": [("language", "The language of the transcription (e.g. en-US). Beta SDK 1.66.")],
    "StopTranscriptionPostRequestBody": [("language", "The language of the transcription (e.g. en-US). Beta SDK 1.66.")],
}

# Schemas Graph treats as open although the reconstruction does not flag them: the error body is
# "service-specific" (real responses carry innerError.message), and collection envelopes carry annotations.
ALSO_OPEN = {"microsoft.graph.ODataErrors.InnerError", "microsoft.graph.ODataErrors.MainError"}

RUST_KEYWORDS = {"final", "type", "ref", "self", "match", "loop", "move", "static", "abstract", "override", "box"}


def load():
    docs = {version: yaml.safe_load(path.read_text()) for version, path in SPECS.items()}
    return docs


def rust_type_name(schema_name):
    short = schema_name.split(".")[-1]
    return short[0].upper() + short[1:]


def snake(name):
    name = name.lstrip("@").replace("odata.", "odata_").replace("-", "_").replace(".", "_")
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    name = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", name)
    name = name.lower()
    return name + "_" if name in RUST_KEYWORDS else name


def variant_name(member):
    special = {"-INF": "NegativeInfinity", "INF": "Infinity", "NaN": "NaN"}
    if member in special:
        return special[member]
    return member[0].upper() + member[1:]


def wire_member(schema_name, member):
    if schema_name == "ReferenceNumeric":
        return member
    return member[0].lower() + member[1:]


def ref_name(ref):
    return ref.split("/")[-1]


class Schema:
    def __init__(self, name):
        self.name = name
        self.versions = set()
        self.base = None
        self.own = {}  # property -> (spec dict, versions)
        self.order = []
        self.enum = []  # (member, versions)
        self.open = name in ALSO_OPEN
        self.abstract = False
        self.has_odata_type = False
        self.description = None
        self.scalar = None  # for non-object, non-enum schemas (ODataCountResponse)

    @property
    def is_enum(self):
        return bool(self.enum)


def merge_schemas(docs):
    schemas = {}
    for version, doc in docs.items():
        for name, spec in doc["components"]["schemas"].items():
            schema = schemas.setdefault(name, Schema(name))
            schema.versions.add(version)
            if "enum" in spec:
                for member in spec["enum"]:
                    if member is None:
                        continue
                    existing = [m for m, _ in schema.enum]
                    if member in existing:
                        schema.enum[existing.index(member)][1].add(version)
                    else:
                        schema.enum.append((member, {version}))
                continue
            parts = spec.get("allOf", [spec])
            own = None
            for part in parts:
                if "$ref" in part:
                    base = ref_name(part["$ref"])
                    if schema.base not in (None, base):
                        sys.exit(f"{name}: base type differs between versions ({schema.base} / {base})")
                    schema.base = base
                else:
                    own = part
            if own is None:
                continue
            if own.get("type") not in (None, "object"):
                schema.scalar = own
                continue
            schema.description = schema.description or own.get("description") or spec.get("description")
            schema.open |= bool(spec.get("x-ms-open-type") or own.get("x-ms-open-type"))
            schema.abstract |= bool(spec.get("x-ms-abstract") or own.get("x-ms-abstract"))
            for prop, prop_spec in (own.get("properties") or {}).items():
                if prop == "@odata.type":
                    schema.has_odata_type = True
                    continue
                if prop in schema.own:
                    previous, seen = schema.own[prop]
                    if shape_key(previous) != shape_key(prop_spec):
                        sys.exit(f"{name}.{prop}: type differs between versions")
                    seen.add(version)
                else:
                    schema.own[prop] = (prop_spec, {version})
                    schema.order.append(prop)
    for name, extras in OBSERVED_PROPERTIES.items():
        for prop, kind, doc in extras:
            schemas[name].own[prop] = ({"x-observed": kind, "description": doc}, {"v1.0", "beta"})
            schemas[name].order.append(prop)
    return schemas


def shape_key(spec):
    """What makes two property declarations the same Rust type (descriptions and patterns aside)."""
    if "$ref" in spec:
        return ("ref", ref_name(spec["$ref"]))
    for combinator in ("anyOf", "allOf", "oneOf"):
        if combinator in spec:
            inner = [shape_key(s) for s in spec[combinator] if not (s.get("type") == "object" and s.get("nullable"))]
            return (combinator, tuple(inner))
    if spec.get("type") == "array":
        return ("array", shape_key(spec["items"]))
    return ("scalar", spec.get("type"), spec.get("format"), tuple(spec.get("enum") or ()))


class Generator:
    def __init__(self, docs):
        self.docs = docs
        self.schemas = merge_schemas(docs)
        self.subtypes = {name: [] for name in self.schemas}
        for name, schema in self.schemas.items():
            if schema.base:
                self.subtypes[schema.base].append(name)
        self.out = []
        self.inline_enums = {}  # rust name -> (members, description)
        self.request_bodies = {}  # rust name -> (properties, versions, actions)

    # ---- type resolution -------------------------------------------------------------------------------

    def concrete_types(self, name):
        """Every instantiable type a value declared as `name` may hold, the declared type first."""
        result = [] if self.schemas[name].abstract else [name]
        for sub in sorted(self.subtypes[name]):
            result.extend(self.concrete_types(sub))
        return result

    def is_polymorphic(self, name):
        return bool(self.subtypes.get(name))

    def named_type(self, name):
        schema = self.schemas[name]
        if schema.is_enum:
            return rust_type_name(name), "enum"
        if schema.scalar is not None:
            return rust_type_name(name), "scalar"
        if self.is_polymorphic(name):
            return "Any" + rust_type_name(name), "object"
        return rust_type_name(name), "object"

    def property_type(self, owner, prop, spec):
        """(rust element type, kind, is_list) for a property declaration."""
        if "x-observed" in spec:
            return {"json": ("Value", "json", False), "string": ("String", "string", False)}[spec["x-observed"]]
        if "$ref" in spec:
            rust, kind = self.named_type(ref_name(spec["$ref"]))
            return rust, kind, False
        if "oneOf" in spec:
            formats = {s.get("format") for s in spec["oneOf"] if "format" in s}
            if formats == {"double"}:
                return "Double", "double", False
            sys.exit(f"{owner}.{prop}: unhandled oneOf")
        for combinator in ("anyOf", "allOf"):
            if combinator in spec:
                refs = [s for s in spec[combinator] if "$ref" in s]
                if len(refs) != 1:
                    sys.exit(f"{owner}.{prop}: unhandled {combinator}")
                return self.property_type(owner, prop, refs[0])
        kind = spec.get("type")
        fmt = spec.get("format")
        if kind == "array":
            element, element_kind, _ = self.property_type(owner, prop, spec["items"])
            return element, element_kind, True
        if "enum" in spec:
            rust = rust_type_name(spec.get("description", "").split(" ")[0]) if spec.get("description", "").startswith("microsoft.graph.") else rust_type_name(prop)
            self.inline_enums[rust] = (spec["enum"], spec.get("description", ""))
            return rust, "enum", False
        if kind == "string":
            return "String", "string", False
        if kind == "boolean":
            return "bool", "bool", False
        if kind in ("number", "integer") and fmt == "int32":
            return "i32", "integer", False
        if kind in ("number", "integer") and fmt == "int64":
            return "i64", "integer", False
        if kind is None and "description" in spec:
            # Parameters the reconstruction names but does not model (e.g. reportSyntheticMedia's mediaMetadata).
            return "Value", "json", False
        sys.exit(f"{owner}.{prop}: unhandled type {spec}")

    def all_properties(self, name):
        """Inherited properties first, as (property, spec, versions)."""
        schema = self.schemas[name]
        inherited = self.all_properties(schema.base) if schema.base else []
        return inherited + [(prop, *schema.own[prop]) for prop in schema.order]

    def has_odata_type(self, name):
        schema = self.schemas[name]
        return schema.has_odata_type or (schema.base is not None and self.has_odata_type(schema.base))

    def is_open(self, name):
        schema = self.schemas[name]
        return schema.open or (schema.base is not None and self.is_open(schema.base))

    # ---- emission -------------------------------------------------------------------------------------

    def emit(self, line=""):
        self.out.append(line)

    def doc(self, text, indent=""):
        for line in text.splitlines():
            self.emit(f"{indent}/// {line}".rstrip())

    @staticmethod
    def version_note(versions):
        return " Beta only." if versions == {"beta"} else (" v1.0 only." if versions == {"v1.0"} else "")

    def field_lines(self, owner_rust, owner_name, prop, spec, versions):
        element, kind, is_list = self.property_type(owner_name, prop, spec)
        rust = f"Vec<{element}>" if is_list else element
        attrs = [f'rename = "{prop}"', "default", 'skip_serializing_if = "Maybe::is_absent"']
        if kind == "integer" and not is_list:
            attrs.append('deserialize_with = "lenient_integer"')
        lines = []
        description = (spec.get("description") or "").strip()
        note = self.version_note(versions)
        if description or note:
            lines.append(f"    /// {description}{note}".rstrip())
        lines.append(f"    #[serde({', '.join(attrs)})]")
        lines.append(f"    pub {snake(prop)}: Maybe<{rust}>,")
        return lines

    def emit_struct(self, rust, name, properties, doc, odata_type, is_open):
        self.doc(doc)
        self.emit("#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]")
        self.emit(f"pub struct {rust} {{")
        if odata_type:
            self.emit(
                f'    #[serde(rename = "@odata.type", default, serialize_with = "write_odata_type::<{rust}, _>", '
                f'deserialize_with = "read_odata_type::<{rust}, _>")]'
            )
            self.emit("    pub odata_type: (),")
        for prop, spec, versions in properties:
            for line in self.field_lines(rust, name, prop, spec, versions):
                self.emit(line)
        if is_open:
            self.emit("    /// Properties the type does not declare; kept and echoed, as an OData open type requires.")
            self.emit("    #[serde(flatten)]")
            self.emit("    pub additional_data: BTreeMap<String, Value>,")
        else:
            self.emit("    /// Instance annotations (`@odata.etag` …); any other undeclared property is refused.")
            self.emit("    #[serde(flatten)]")
            self.emit(f"    pub annotations: Annotations<{rust}>,")
        self.emit("}")
        self.emit()
        self.emit(f'impl TypeName for {rust} {{ const TYPE_NAME: &\'static str = "{name}"; }}')
        if odata_type:
            self.emit(f'impl GraphType for {rust} {{ const ODATA_TYPE: &\'static str = "#{name}"; }}')
        self.emit()

    def emit_enum(self, rust, name, members, doc):
        self.emit("graph_enum! {")
        self.doc(doc, "    ")
        self.emit(f'    {rust} = "{name}" {{')
        for member, versions in members:
            note = self.version_note(versions)
            if note:
                self.emit(f"        ///{note}")
            self.emit(f'        {variant_name(member)} = "{wire_member(name, member)}",')
        self.emit("    }")
        self.emit("}")
        self.emit()

    def emit_polymorphic(self, name):
        rust = "Any" + rust_type_name(name)
        concrete = self.concrete_types(name)
        schema = self.schemas[name]
        if not schema.abstract:
            default = name
        elif len(concrete) == 1:
            default = concrete[0]
        else:
            default = None
        self.emit(f"/// A value declared as `{name}`: the concrete type is chosen by `@odata.type`"
                  + (f", `{default}` when none is sent." if default else " (required: the type is abstract)."))
        self.emit("#[derive(Debug, Clone, PartialEq)]")
        self.emit(f"pub enum {rust} {{")
        for concrete_name in concrete:
            self.emit(f"    {rust_type_name(concrete_name)}({rust_type_name(concrete_name)}),")
        self.emit("}")
        self.emit()
        self.emit(f"impl {rust} {{")
        self.emit("    pub const POLYMORPHISM: Polymorphism = Polymorphism {")
        self.emit(f'        declared: "{name}",')
        default_literal = f'Some("#{default}")' if default else "None"
        self.emit(f"        default: {default_literal},")
        self.emit("        concrete: &[" + ", ".join(f'"#{c}"' for c in concrete) + "],")
        self.emit("    };")
        self.emit("}")
        self.emit()
        self.emit(f'impl TypeName for {rust} {{ const TYPE_NAME: &\'static str = "{name}"; }}')
        self.emit()
        self.emit(f"impl Serialize for {rust} {{")
        self.emit("    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {")
        self.emit("        match self {")
        for concrete_name in concrete:
            self.emit(f"            Self::{rust_type_name(concrete_name)}(value) => value.serialize(serializer),")
        self.emit("        }")
        self.emit("    }")
        self.emit("}")
        self.emit()
        self.emit(f"impl<'de> Deserialize<'de> for {rust} {{")
        self.emit("    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {")
        self.emit("        let (object, index) = read_polymorphic(deserializer, &Self::POLYMORPHISM)?;")
        self.emit("        match index {")
        for index, concrete_name in enumerate(concrete):
            self.emit(f"            {index} => from_object(object).map(Self::{rust_type_name(concrete_name)}),")
        self.emit('            _ => unreachable!("Polymorphism::resolve returns an index into `concrete`"),')
        self.emit("        }")
        self.emit("    }")
        self.emit("}")
        self.emit()
        for concrete_name in concrete:
            self.emit(f"impl From<{rust_type_name(concrete_name)}> for {rust} {{")
            self.emit(f"    fn from(value: {rust_type_name(concrete_name)}) -> Self {{ Self::{rust_type_name(concrete_name)}(value) }}")
            self.emit("}")
        self.emit()

    def collect_request_bodies(self):
        """Action bodies, keyed by action and scope (call vs participant); parameters merged across versions."""
        for version, doc in self.docs.items():
            for path, item in doc["paths"].items():
                if not path.startswith("/communications/"):
                    continue  # /app/calls is an alias with the same bodies
                operation = item.get("post")
                if not operation or "requestBody" not in operation:
                    continue
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                if "$ref" in schema:
                    continue
                action = path.split("/")[-1]
                scope = "Participant" if "{participant-id}" in path else ""
                rust = scope + action[0].upper() + action[1:] + "PostRequestBody"
                body = self.request_bodies.setdefault(rust, {"properties": {}, "order": [], "versions": set(), "paths": set()})
                body["versions"].add(version)
                body["paths"].add(path)
                for prop, spec in (schema.get("properties") or {}).items():
                    if prop in body["properties"]:
                        previous, seen = body["properties"][prop]
                        if shape_key(previous) != shape_key(spec):
                            sys.exit(f"{rust}.{prop}: type differs between versions")
                        seen.add(version)
                    else:
                        body["properties"][prop] = (spec, {version})
                        body["order"].append(prop)
        for rust, parameters in OBSERVED_PARAMETERS.items():
            body = self.request_bodies[rust]
            for prop, doc in parameters:
                body["properties"][prop] = ({"type": "string", "nullable": True, "description": doc}, set(body["versions"]))
                body["order"].append(prop)
        # A participant-scoped body identical to the call-scoped one is the same type (e.g. mute's clientContext).
        for rust in [r for r in self.request_bodies if r.startswith("Participant")]:
            shared = rust[len("Participant"):]
            if shared in self.request_bodies and self.body_shape(shared) == self.body_shape(rust):
                self.request_bodies[shared]["paths"] |= self.request_bodies.pop(rust)["paths"]

    def body_shape(self, rust):
        body = self.request_bodies[rust]
        return [(p, shape_key(body["properties"][p][0])) for p in body["order"]]

    def generate(self):
        self.collect_request_bodies()
        self.emit("// @generated by tools/gen_wire_types.py from spec/graph-openapi/*.yaml — do not edit by hand.")
        self.emit("// Regenerate with `python3 tools/gen_wire_types.py`; scripts/test-all fails when this file is stale.")
        self.emit()
        self.emit("#![allow(clippy::large_enum_variant, clippy::derivable_impls)]")
        self.emit()
        self.emit("use std::collections::BTreeMap;")
        self.emit()
        self.emit("use serde::{Deserialize, Deserializer, Serialize, Serializer};")
        self.emit("use serde_json::Value;")
        self.emit()
        self.emit("use crate::odata::{")
        self.emit("    Annotations, Double, GraphType, Maybe, Polymorphism, TypeName, from_object, graph_enum, lenient_integer,")
        self.emit("    read_odata_type, read_polymorphic, write_odata_type,")
        self.emit("};")
        self.emit()

        body = []
        for name in sorted(self.schemas, key=lambda n: rust_type_name(n).lower()):
            schema = self.schemas[name]
            rust = rust_type_name(name)
            versions = self.version_note(schema.versions)
            if schema.is_enum:
                self.emit_enum(rust, name, schema.enum, f"`{name}`.{versions}")
                continue
            if schema.scalar is not None:
                self.doc(f"`{name}`: {schema.scalar.get('type')} ({schema.scalar.get('format')}).")
                self.emit(f"pub type {rust} = i32;")
                self.emit()
                continue
            if not schema.abstract:
                kind = "open type" if self.is_open(name) else "closed type"
                base = f"; derives from `{schema.base}`" if schema.base else ""
                description = f" — {schema.description.strip()}" if schema.description else ""
                self.emit_struct(rust, name, self.all_properties(name), f"`{name}` ({kind}{base}){description}.{versions}",
                                 self.has_odata_type(name), self.is_open(name))
            if self.is_polymorphic(name):
                self.emit_polymorphic(name)

        for rust, body in sorted(self.request_bodies.items()):
            listed = ", ".join(f"`POST {p}`" for p in sorted(body["paths"]))
            props = [(p, *body["properties"][p]) for p in body["order"]]
            self.emit_struct(rust, rust, props, f"The body of {listed}.{self.version_note(body['versions'])}", False, False)

        # Enums declared inline in an action's parameters (known only once the bodies above were emitted).
        for rust, (members, description) in sorted(self.inline_enums.items()):
            name = description.split(" ")[0] if description else rust
            self.emit_enum(rust, name, [(m, {"beta"}) for m in members if m], f"`{name}`, declared inline by an action.")

        self.emit("/// One entry per schema of both OpenAPI descriptions and per action body: how to run a JSON value through")
        self.emit("/// the Rust type that models it. Tests use it to prove every schema has a type that loses no field.")
        self.emit("pub struct SchemaEntry {")
        self.emit("    pub name: &'static str,")
        self.emit("    pub round_trip: RoundTrip,")
        self.emit("}")
        self.emit()
        self.emit("/// Deserializes a JSON value into a Rust type and serializes it back.")
        self.emit("pub type RoundTrip = fn(Value) -> Result<Value, serde_json::Error>;")
        self.emit()
        self.emit("fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(value: Value) -> Result<Value, serde_json::Error> {")
        self.emit("    serde_json::to_value(serde_json::from_value::<T>(value)?)")
        self.emit("}")
        self.emit()
        self.emit("pub static SCHEMAS: &[SchemaEntry] = &[")
        for name in sorted(self.schemas):
            rust, _ = self.named_type(name)
            self.emit(f'    SchemaEntry {{ name: "{name}", round_trip: round_trip::<{rust}> }},')
        for rust in sorted(self.request_bodies):
            self.emit(f'    SchemaEntry {{ name: "{rust}", round_trip: round_trip::<{rust}> }},')
        self.emit("];")
        return "\n".join(self.out) + "\n"


def rustfmt(text):
    """Formats with the workspace's rustfmt.toml, so the committed file and --check agree with cargo fmt."""
    result = subprocess.run(["rustfmt", "--edition", "2024", "--config-path", str(ROOT / "rustfmt.toml")],
                            input=text, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"rustfmt failed on the generated code:\n{result.stderr}")
    return result.stdout


def main():
    text = rustfmt(Generator(load()).generate())
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run python3 tools/gen_wire_types.py", file=sys.stderr)
            sys.exit(1)
        return
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
