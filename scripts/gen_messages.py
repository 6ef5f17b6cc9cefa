#!/usr/bin/env python3
"""Generates net/messages/ (C++ Kafka message codecs) from Kafka's JSON message specs.

Usage: scripts/gen_messages.py [--specs DIR]... [--out DIR] [--tests-out DIR] [--check]
Defaults: --specs /work/shared/kafka-message-specs --specs <repo>/net/message-specs
          --out <repo>/net/messages
          --tests-out <repo>/tests/net (message_samples.h and message_samples/, test helpers)
--check regenerates into a temporary directory and exits 1 if the committed files differ.

The build never runs this: its output is committed. It is deterministic (sorted inputs, no
timestamps), so regenerating from the same specs gives byte-identical files.

Semantics follow Kafka's own generator (generator/src/main/java/.../MessageDataGenerator):
- a field is on the wire at version v iff v is in its "versions"; otherwise it keeps its default;
- flexible versions use compact lengths and end every struct with a tagged-field section;
  a field may override with its own "flexibleVersions" (RequestHeader.ClientId: "none");
- tagged fields are written only when they differ from their default; unknown tags are skipped;
- "nullableVersions" makes the C++ member std::optional; null outside those versions is an error
  on decode and is written as empty on encode;
- "ignorable": false fields that hold a non-default value at a version lacking them make
  fits_version() false (Java throws UnsupportedVersionException there).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

MAX_VERSION = 0x7FFF

PRIMS = {
    # type: (c++ type, reader call, writer call, min wire size)
    "int8": ("int8_t", "read_int8", "write_int8", 1),
    "int16": ("int16_t", "read_int16", "write_int16", 2),
    "uint16": ("uint16_t", "read_uint16", "write_uint16", 2),
    "int32": ("int32_t", "read_int32", "write_int32", 4),
    "int64": ("int64_t", "read_int64", "write_int64", 8),
    "float64": ("double", "read_float64", "write_float64", 8),
    "bool": ("bool", "read_bool", "write_bool", 1),
    "uuid": ("::eb::net::uuid", "read_uuid", "write_uuid", 16),
}
INT_LIMITS = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "uint16": (0, (1 << 16) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}


def strip_comments(text):
    # Kafka's specs use whole-line // comments only; strings never contain "//" at line start.
    out = []
    for line in text.splitlines():
        s = line.lstrip()
        if s.startswith("//"):
            continue
        # Trailing comments after JSON content: cut at a // that is outside a string.
        in_str = False
        esc = False
        for i, ch in enumerate(line):
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = not in_str
            elif not in_str and line.startswith("//", i):
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out)


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


class Versions:
    """An inclusive version range; empty when lo > hi."""

    def __init__(self, text, default=None):
        if text is None:
            text = default
        text = str(text).strip()
        if text == "none" or text == "":
            self.lo, self.hi = 1, 0
        elif text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), MAX_VERSION
        elif "-" in text:
            a, b = text.split("-")
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(text)

    def empty(self):
        return self.lo > self.hi

    def intersect(self, other):
        v = Versions("none")
        v.lo, v.hi = max(self.lo, other.lo), min(self.hi, other.hi)
        return v

    def contains_all(self, other):
        return other.empty() or (self.lo <= other.lo and self.hi >= other.hi)

    def cond(self, scope, var="version"):
        """C++ condition 'var in self', simplified knowing var is within scope."""
        if self.empty() or scope.intersect(self).empty():
            return "false"
        parts = []
        if self.lo > scope.lo:
            parts.append(f"{var} >= {self.lo}")
        if self.hi < scope.hi:
            parts.append(f"{var} <= {self.hi}")
        return " && ".join(parts) if parts else "true"


class Field:
    def __init__(self, spec, msg_flex):
        self.spec = spec
        self.name = spec["name"]
        self.cname = snake(self.name)
        t = spec["type"]
        self.is_array = t.startswith("[]")
        self.base = t[2:] if self.is_array else t
        self.is_struct = self.base not in PRIMS and self.base not in ("string", "bytes", "records")
        self.versions = Versions(spec.get("versions"), "none")
        self.nullable = Versions(spec.get("nullableVersions"), "none")
        self.tagged = Versions(spec.get("taggedVersions"), "none")
        self.tag = spec.get("tag")
        self.flex = Versions(spec["flexibleVersions"]) if "flexibleVersions" in spec else msg_flex
        self.ignorable = bool(spec.get("ignorable", False))
        self.default = spec.get("default")
        self.about = spec.get("about", "")
        self.struct = None  # Struct for struct-typed fields

    @property
    def is_tagged(self):
        return self.tag is not None

    @property
    def optional(self):
        return not self.nullable.empty()


class Struct:
    def __init__(self, name, fields_spec, msg, parent):
        self.json_name = name
        self.cname = snake(name)
        self.parent = parent
        self.msg = msg
        self.fields = [Field(f, msg.flex) for f in fields_spec]
        self.children = []
        member_names = {f.cname for f in self.fields}
        for f in self.fields:
            if f.is_struct:
                if "fields" in f.spec:
                    child = Struct(f.base, f.spec["fields"], msg, self)
                    # A nested type may not share its name with a member of the same struct.
                    if child.cname in member_names:
                        child.cname += "_t"
                    self.children.append(child)
                    msg.structs[f.base] = child
                    f.struct = child
                else:
                    f.struct = None  # resolved after the whole message is read
        self.validate()

    def validate(self):
        tags = [f.tag for f in self.fields if f.is_tagged]
        if len(tags) != len(set(tags)):
            raise SystemExit(f"{self.msg.name}.{self.json_name}: duplicate tags")

    def qualified(self):
        parts = []
        s = self
        while s is not None:
            parts.append(s.cname)
            s = s.parent
        return "::".join(reversed(parts))


class Message:
    def __init__(self, spec, filename):
        self.spec = spec
        self.filename = filename
        self.name = spec["name"]
        self.type = spec["type"]
        self.api_key = spec.get("apiKey")
        self.valid = Versions(spec["validVersions"])
        self.flex = Versions(spec.get("flexibleVersions"), "none")
        self.structs = {}
        self.root = Struct(self.name, spec["fields"], self, None)
        # commonStructs: nested in the root, declared before its own nested types (which may use
        # them), in the spec's order (a common struct may use an earlier one).
        common = []
        root_members = {f.cname for f in self.root.fields}
        for cs in spec.get("commonStructs", []):
            c = Struct(cs["name"], cs["fields"], self, self.root)
            if c.cname in root_members:
                c.cname += "_t"
            self.structs[cs["name"]] = c
            common.append(c)
        self.root.children = common + self.root.children
        self.resolve(self.root)

    def resolve(self, s):
        for f in s.fields:
            if f.is_struct and f.struct is None:
                if f.base not in self.structs:
                    raise SystemExit(f"{self.name}: unknown type {f.base}")
                f.struct = self.structs[f.base]
        for c in s.children:
            self.resolve(c)


def cxx_elem_type(f):
    if f.is_struct:
        return f.struct.qualified()
    if f.base in PRIMS:
        return PRIMS[f.base][0]
    return "std::string"


def cxx_type(f):
    t = cxx_elem_type(f)
    if f.is_array:
        t = f"std::vector<{t}>"
    if f.optional:
        t = f"std::optional<{t}>"
    return t


def int_literal(f, value):
    v = int(str(value), 0)
    lo, hi = INT_LIMITS[f.base]
    if not lo <= v <= hi:
        raise SystemExit(f"default {value} out of range for {f.name}")
    if f.base == "int64":
        if v == lo:
            return "INT64_MIN"
        return f"INT64_C({v})"
    if f.base == "int32" and v == lo:
        return "INT32_MIN"
    return str(v)


def default_init(f):
    """Member initializer text (including ' = ...'), or '' for value-initialization."""
    d = f.default
    if f.is_array or f.is_struct:
        if d not in (None, "", "null"):
            raise SystemExit(f"unsupported default {d} for {f.name}")
        if d == "null" or (f.optional and f.base == "records"):
            return ""  # std::nullopt
        return " = {}" if not f.optional else f" = {cxx_type(f)[14:-1]}{{}}"
    if f.base in ("string", "bytes", "records"):
        if f.optional and (d == "null" or f.base == "records"):
            if d not in (None, "null"):
                raise SystemExit(f"unsupported default {d} for {f.name}")
            return ""
        if d == "null":
            raise SystemExit(f"null default for non-nullable {f.name}")
        text = "" if d is None else str(d)
        if f.optional:
            return f" = std::string({json.dumps(text)})"
        return f" = {json.dumps(text)}" if text else ""
    if f.base == "bool":
        if d is None:
            return " = false"
        if str(d).lower() not in ("true", "false"):
            raise SystemExit(f"bad bool default {d}")
        return f" = {str(d).lower()}"
    if f.base == "float64":
        return f" = {float(d) if d not in (None, '') else 0.0!r}"
    if f.base == "uuid":
        return " = {}"
    # integers
    return f" = {int_literal(f, d if d not in (None, '') else 0)}"


def min_wire_size(f, compact):
    """Smallest encoding of one array element (bounds array counts while decoding)."""
    if f.is_struct:
        return 1
    if f.base in PRIMS:
        return PRIMS[f.base][3]
    if f.base == "string":
        return 1 if compact else 2
    return 1 if compact else 4


def min_wire_size_expr(f, compact_cond):
    """C++ expression for min_wire_size at the decoded version. The bound must hold at every
    version, so where the encoding is compact only at some versions it is chosen at run time: the
    classic size there would reject a valid compact array of empty strings/bytes (1 byte each)
    whose count exceeds the bytes left / 2 (or / 4), so a message we encode could not be decoded."""
    compact, classic = min_wire_size(f, True), min_wire_size(f, False)
    if compact_cond == "true" or compact == classic:
        return str(compact)
    if compact_cond == "false":
        return str(classic)
    return f"({compact_cond}) ? {compact} : {classic}"


def field_scope(f, scope):
    """Versions at which f's value is on the wire (conditions inside need not re-check these)."""
    v = f.tagged.intersect(f.versions) if f.is_tagged else f.versions
    v = v.intersect(scope)
    return scope if v.empty() else v


class Gen:
    def __init__(self):
        self.h = []
        self.cc = []

    # ---------- header ----------
    def struct_decl(self, s, indent, is_root, msg):
        p = " " * indent
        out = []
        out.append(f"{p}struct {s.cname} {{")
        if is_root and msg.api_key is not None:
            out.append(f"{p}  static constexpr ::eb::net::api_key api = "
                       f"::eb::net::api_key::{api_file_stem(msg.name)};")
        if is_root:
            out.append(f"{p}  static constexpr int16_t min_version = {msg.valid.lo};")
            out.append(f"{p}  static constexpr int16_t max_version = {msg.valid.hi};")
            ff = msg.flex.lo if not msg.flex.empty() else -1
            out.append(f"{p}  // First version using compact encodings and tagged fields; -1: none.")
            out.append(f"{p}  static constexpr int16_t first_flexible_version = {ff};")
        for c in s.children:
            out.append("")
            out.extend(self.struct_decl(c, indent + 2, False, msg))
        if s.children:
            out.append("")
        for f in s.fields:
            about = f.about.strip().replace("\n", " ")
            vers = self.vers_text(f)
            out.append(f"{p}  // {about} [{vers}]" if about else f"{p}  // [{vers}]")
            out.append(f"{p}  {cxx_type(f)} {f.cname}{default_init(f)};")
        out.append("")
        out.append(f"{p}  // Decodes this struct at `version` (the caller checked the version is valid).")
        out.append(f"{p}  static ::eb::result<{s.cname}> decode(::eb::net::reader& r, int16_t version);")
        out.append(f"{p}  void encode(::eb::net::writer& w, int16_t version) const;")
        out.append(f"{p}  // False if a non-ignorable field absent at `version` holds a non-default value.")
        out.append(f"{p}  bool fits_version(int16_t version) const;")
        out.append(f"{p}  // Reads the fields into *this (default-initialised); errors stay in `r`.")
        out.append(f"{p}  void decode_from(::eb::net::reader& r, int16_t version);")
        out.append(f"{p}  bool operator==(const {s.cname}&) const = default;")
        out.append(f"{p}}};")
        return out

    @staticmethod
    def vers_text(f):
        def vt(v):
            if v.empty():
                return "none"
            if v.hi == MAX_VERSION:
                return f"{v.lo}+"
            return f"{v.lo}" if v.lo == v.hi else f"{v.lo}-{v.hi}"

        t = f"v{vt(f.versions)}"
        if f.optional:
            t += f", nullable v{vt(f.nullable)}"
        if f.is_tagged:
            t += f", tag {f.tag} v{vt(f.tagged)}"
        if f.ignorable:
            t += ", ignorable"
        return t

    # ---------- source ----------
    def flex_expr(self, f, scope):
        return f.flex.cond(scope)

    def decode_value(self, f, target, scope, r="r", emplace=False):
        """Statements reading one (non-array) value of f's element type into target."""
        c = self.flex_expr(f, scope)
        if f.is_struct:
            return [f"{target}.decode_from({r}, version);"]
        if f.base in PRIMS:
            return [f"{target} = {r}.{PRIMS[f.base][1]}();"]
        kind = "string" if f.base == "string" else "bytes"
        return [f"{target} = {r}.read_{kind}({c});"]

    def decode_field(self, f, scope, r="r"):
        scope = field_scope(f, scope)
        c = self.flex_expr(f, scope)
        ncond = f.nullable.cond(scope)
        lines = []
        if f.is_array:
            elem_t = cxx_elem_type(f)
            lines.append("{")
            mws = min_wire_size_expr(f, c)
            lines.append(f"  const int64_t n = {r}.read_array_length({c}, {mws});")
            if f.optional:
                lines.append(f"  if (n < 0) {{")
                if ncond != "true":
                    lines.append(f"    if (!({ncond})) {r}.fail(::eb::net::errc::unexpected_null);")
                lines.append(f"    {f.cname}.reset();")
                lines.append("  } else {")
                lines.append(f"    auto& v = {f.cname}.emplace();")
            else:
                lines.append(f"  if (n < 0) {{")
                lines.append(f"    {r}.fail(::eb::net::errc::unexpected_null);")
                lines.append("  } else {")
                lines.append(f"    auto& v = {f.cname};")
                lines.append("    v.clear();")
            # Reserve is bounded: n <= bytes left / minimum element size (checked by the reader).
            lines.append(f"    v.reserve(static_cast<size_t>(n));")
            lines.append(f"    for (int64_t i = 0; i < n && {r}.ok(); ++i) {{")
            if f.is_struct:
                lines.append(f"      v.emplace_back().decode_from({r}, version);")
            elif f.base in PRIMS:
                lines.append(f"      v.push_back({r}.{PRIMS[f.base][1]}());")
            else:
                kind = "string" if f.base == "string" else "bytes"
                lines.append(f"      v.push_back({r}.read_{kind}({c}));")
            lines.append("    }")
            lines.append("  }")
            lines.append("}")
            return lines
        if f.is_struct:
            if f.optional:
                lines.append("{")
                lines.append(f"  const int8_t present = {ncond} ? {r}.read_int8() : int8_t{{1}};")
                lines.append(f"  if (present < 0) {{")
                lines.append(f"    {f.cname}.reset();")
                lines.append("  } else {")
                # Not emplace(): clang decides is_constructible of a nested struct with default
                # member initializers while the enclosing class is incomplete, and says no.
                lines.append(f"    {f.cname} = std::decay_t<decltype(*{f.cname})>{{}};")
                lines.append(f"    {f.cname}->decode_from({r}, version);")
                lines.append("  }")
                lines.append("}")
                return lines
            return [f"{f.cname}.decode_from({r}, version);"]
        if f.base in PRIMS:
            return [f"{f.cname} = {r}.{PRIMS[f.base][1]}();"]
        kind = "string" if f.base == "string" else "bytes"
        if f.optional:
            if ncond == "true":
                return [f"{f.cname} = {r}.read_nullable_{kind}({c});"]
            return [
                f"if ({ncond}) {{",
                f"  {f.cname} = {r}.read_nullable_{kind}({c});",
                "} else {",
                f"  {f.cname} = {r}.read_{kind}({c});",
                "}",
            ]
        return [f"{f.cname} = {r}.read_{kind}({c});"]

    def encode_field(self, f, scope, w="w"):
        scope = field_scope(f, scope)
        c = self.flex_expr(f, scope)
        ncond = f.nullable.cond(scope)
        lines = []
        if f.is_array:
            lines.append("{")
            if f.optional:
                lines.append(f"  if (!{f.cname}) {{")
                lines.append(f"    {w}.write_array_length({ncond} ? -1 : 0, {c});")
                lines.append("  } else {")
                lines.append(f"    const auto& v = *{f.cname};")
            else:
                lines.append(f"  const auto& v = {f.cname};")
            ind = "    " if f.optional else "  "
            lines.append(f"{ind}{w}.write_array_length(static_cast<int64_t>(v.size()), {c});")
            lines.append(f"{ind}for (const auto& e : v) {{")
            if f.is_struct:
                lines.append(f"{ind}  e.encode({w}, version);")
            elif f.base in PRIMS:
                lines.append(f"{ind}  {w}.{PRIMS[f.base][2]}(e);")
            else:
                kind = "string" if f.base == "string" else "bytes"
                lines.append(f"{ind}  {w}.write_{kind}(e, {c});")
            lines.append(f"{ind}}}")
            if f.optional:
                lines.append("  }")
            lines.append("}")
            return lines
        if f.is_struct:
            if f.optional:
                return [
                    f"if ({ncond}) {w}.write_int8({f.cname} ? 1 : -1);",
                    f"if ({f.cname}) {{",
                    f"  {f.cname}->encode({w}, version);",
                    f"}} else if (!({ncond})) {{",
                    f"  {cxx_elem_type(f)}{{}}.encode({w}, version);",
                    "}",
                ]
            return [f"{f.cname}.encode({w}, version);"]
        if f.base in PRIMS:
            return [f"{w}.{PRIMS[f.base][2]}({f.cname});"]
        kind = "string" if f.base == "string" else "bytes"
        if f.optional:
            if ncond == "true":
                return [f"{w}.write_nullable_{kind}({f.cname}, {c});"]
            return [
                f"if ({ncond}) {{",
                f"  {w}.write_nullable_{kind}({f.cname}, {c});",
                "} else {",
                f"  {w}.write_{kind}({f.cname} ? std::string_view(*{f.cname}) : std::string_view(), {c});",
                "}",
            ]
        return [f"{w}.write_{kind}({f.cname}, {c});"]

    def struct_impl(self, s, msg):
        q = s.qualified()
        scope = msg.valid
        out = []
        regular = [f for f in s.fields if not f.is_tagged]
        tagged = sorted([f for f in s.fields if f.is_tagged], key=lambda f: f.tag)
        flex = msg.flex.cond(scope)

        # decode
        out.append(f"::eb::result<{q}> {q}::decode(::eb::net::reader& r, int16_t version) {{")
        out.append(f"  {s.cname} out;")
        out.append("  out.decode_from(r, version);")
        out.append("  if (!r.ok()) return r.error();")
        out.append("  return out;")
        out.append("}")
        out.append("")
        out.append(f"void {q}::decode_from(::eb::net::reader& r, int16_t version) {{")
        uses_version = False
        body = []
        for f in regular:
            cond = f.versions.cond(scope)
            lines = self.decode_field(f, scope)
            if cond == "false":
                continue
            if cond == "true":
                body.extend(lines)
            else:
                body.append(f"if ({cond}) {{")
                body.extend("  " + l for l in lines)
                body.append("}")
        if flex != "false":
            body.append(f"if ({flex}) {{")
            body.append("  const uint32_t n_tags = r.read_uvarint();")
            body.append("  for (uint32_t i = 0; i < n_tags && r.ok(); ++i) {")
            body.append("    const uint32_t tag = r.read_uvarint();")
            body.append("    ::eb::net::reader t = r.sub(r.read_uvarint());")
            if tagged:
                body.append("    switch (tag) {")
                for f in tagged:
                    tv = f.tagged.intersect(f.versions)
                    body.append(f"      case {f.tag}:")
                    tc = tv.cond(scope)
                    lines = self.decode_field(f, scope, r="t")
                    body.append(f"        if ({tc}) {{")
                    body.extend("          " + l for l in lines)
                    body.append("          if (!t.ok()) r.fail(t.error());")
                    body.append("        }")
                    body.append("        break;")
                body.append("      default:")
                body.append("        break;  // unknown tags are skipped (forward compatibility)")
                body.append("    }")
            else:
                body[-1] = "    r.skip(r.read_uvarint());  // no known tags here: skipped"
                body[-2] = "    (void)r.read_uvarint();  // tag"
            body.append("  }")
            body.append("}")
        text = "\n".join(body)
        if not re.search(r"\bversion\b", text):
            out.append("  (void)version;")
        if not re.search(r"\br\b", text):
            out.append("  (void)r;")
        out.extend("  " + l for l in body)
        out.append("}")
        out.append("")

        # encode
        out.append(f"void {q}::encode(::eb::net::writer& w, int16_t version) const {{")
        body = []
        for f in regular:
            cond = f.versions.cond(scope)
            if cond == "false":
                continue
            lines = self.encode_field(f, scope)
            if cond == "true":
                body.extend(lines)
            else:
                body.append(f"if ({cond}) {{")
                body.extend("  " + l for l in lines)
                body.append("}")
        if flex != "false":
            body.append(f"if ({flex}) {{")
            if tagged:
                body.append(f"  const {s.cname} defaults{{}};")
                body.append("  uint32_t n_tags = 0;")
                for f in tagged:
                    tc = f.tagged.intersect(f.versions).cond(scope)
                    body.append(f"  const bool put_{f.cname} = ({tc}) && {f.cname} != defaults.{f.cname};")
                    body.append(f"  n_tags += put_{f.cname} ? 1 : 0;")
                body.append("  w.write_uvarint(n_tags);")
                for f in tagged:
                    body.append(f"  if (put_{f.cname}) {{")
                    body.append("    ::eb::net::writer t;")
                    body.extend("    " + l for l in self.encode_field(f, scope, w="t"))
                    body.append(f"    w.write_tagged({f.tag}, t);")
                    body.append("  }")
            else:
                body.append("  w.write_uvarint(0);  // no tagged fields")
            body.append("}")
        text = "\n".join(body)
        if not re.search(r"\bversion\b", text):
            out.append("  (void)version;")
        if not re.search(r"\bw\b", text):
            out.append("  (void)w;")
        out.extend("  " + l for l in body)
        out.append("}")
        out.append("")

        # fits_version
        out.append(f"bool {q}::fits_version(int16_t version) const {{")
        body = []
        need_defaults = False
        for f in s.fields:
            present = f.tagged.intersect(f.versions) if f.is_tagged else f.versions
            pc = present.cond(scope)
            if not f.ignorable and pc != "true":
                need_defaults = True
                body.append(f"if (!({pc}) && {f.cname} != defaults.{f.cname}) return false;")
            if f.is_struct and pc != "false":
                if f.is_array:
                    acc = f"*{f.cname}" if f.optional else f.cname
                    guard = f"{f.cname} && " if f.optional else ""
                    conds = [x for x in (pc, f.cname if f.optional else "") if x and x != "true"]
                    loop = [f"for (const auto& e : {acc}) {{",
                            "  if (!e.fits_version(version)) return false;", "}"]
                    if conds:
                        body.append(f"if ({' && '.join(conds)}) {{")
                        body.extend("  " + l for l in loop)
                        body.append("}")
                    else:
                        body.extend(loop)
                else:
                    acc = f"{f.cname}->" if f.optional else f"{f.cname}."
                    guard = f"{f.cname} && " if f.optional else ""
                    conds = [x for x in (pc, guard[:-4]) if x and x != "true"]
                    conds.append(f"!{acc}fits_version(version)")
                    body.append(f"if ({' && '.join(conds)}) return false;")
        if need_defaults:
            body.insert(0, f"const {s.cname} defaults{{}};")
        body.append("return true;")
        text = "\n".join(body)
        if not re.search(r"\bversion\b", text):
            out.append("  (void)version;")
        out.extend("  " + l for l in body)
        out.append("}")
        out.append("")
        for c in s.children:
            out.extend(self.struct_impl(c, msg))
        return out


HEADER_BANNER = "// Generated by scripts/gen_messages.py from Kafka's JSON message specs. Do not edit."


def api_file_stem(msg_name):
    for suffix in ("Request", "Response"):
        if msg_name.endswith(suffix):
            return snake(msg_name[: -len(suffix)])
    return snake(msg_name)


def gen_samples(msgs):
    """tests/net/message_samples/<api>.h, one per API, and message_samples.h including them all:
    fill(x, version, seed) sets every field on the wire at `version` to a seed-dependent, mostly
    non-default value (nulls where nullable, every third seed), leaving absent fields at their
    defaults, so encode/decode round trips compare real data. Returns {relative path: text}."""
    by_api = {}
    for m in msgs:
        stem = "headers" if m.type == "header" else api_file_stem(m.name)
        by_api.setdefault(stem, []).append(m)
    files = {}
    for stem, api_msgs in sorted(by_api.items()):
        files[f"message_samples/{stem}.h"] = gen_api_samples(stem, api_msgs)
    umbrella = [HEADER_BANNER, "// Test helper: sample values for every generated message.",
                "#pragma once", ""]
    umbrella += [f'#include "tests/net/{name}"' for name in sorted(files)]
    files["message_samples.h"] = "\n".join(umbrella) + "\n"
    return files


def gen_api_samples(stem, msgs):
    out = [HEADER_BANNER, f"// Test helper: sample values for the {stem} messages.", "#pragma once",
           "", "#include <cstdint>", "#include <string>", "", '#include "net/messages/messages.h"', "",
           "namespace eb::net::msg::testing {", ""]
    structs = []

    def collect(s):
        for c in s.children:
            collect(c)
        structs.append(s)

    for m in msgs:
        collect(m.root)
    for s in structs:
        out.append(f"inline void fill({s.qualified()}& x, int16_t version, int seed);")
    out.append("")
    for s in structs:
        scope = s.msg.valid
        out.append(f"inline void fill({s.qualified()}& x, int16_t version, int seed) {{")
        out.append("  (void)version;")
        out.append("  (void)seed;")
        for i, f in enumerate(s.fields):
            present = f.tagged.intersect(f.versions) if f.is_tagged else f.versions
            pc = present.cond(scope)
            if pc == "false":
                continue
            k = i + 1
            body = []
            if f.is_array:
                tgt = "x." + f.cname
                body.append(f"auto& v = {tgt}" + (".emplace();" if f.optional else ";"))
                body.append("v.clear();")
                body.append("for (int i = 0; i < 2; ++i) {")
                if f.is_struct:
                    body.append(f"  fill(v.emplace_back(), version, seed * 3 + i + {k});")
                else:
                    body.append(f"  v.push_back({sample_value(f, f'seed * 3 + i + {k}')});")
                body.append("}")
                body = ["{"] + ["  " + l for l in body] + ["}"]
            elif f.is_struct:
                acc = f"x.{f.cname}.emplace()" if f.optional else f"x.{f.cname}"
                body.append(f"fill({acc}, version, seed + {k});")
            else:
                body.append(f"x.{f.cname} = {sample_value(f, f'seed + {k}')};")
            if f.optional:
                nc = f.nullable.cond(scope)
                body = [f"if (({nc}) && seed % 3 == 2) {{", f"  x.{f.cname}.reset();", "} else {"] + \
                       ["  " + l for l in body] + ["}"]
            if pc == "true":
                out.extend("  " + l for l in body)
            else:
                out.append(f"  if ({pc}) {{")
                out.extend("    " + l for l in body)
                out.append("  }")
        out.append("}")
        out.append("")
    out.append("}  // namespace eb::net::msg::testing")
    return "\n".join(out) + "\n"


def sample_value(f, seed):
    b = f.base
    if b == "bool":
        return f"(({seed}) % 2 == 0)"
    if b in ("int8", "int16", "int32", "int64", "uint16"):
        t = PRIMS[b][0]
        return f"static_cast<{t}>(({seed}) * 37 + 5)"
    if b == "float64":
        return f"(({seed}) + 0.25)"
    if b == "uuid":
        return (f"::eb::net::uuid{{static_cast<uint8_t>({seed}), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, "
                f"static_cast<uint8_t>(({seed}) * 7)}}")
    if b == "string":
        return f'"{f.cname}-" + std::to_string({seed})'
    # bytes / records: binary content including a zero byte
    return f'std::string("\\x00\\xff" "{f.cname}", {len(f.cname) + 2}) + std::to_string({seed})'


def clang_format(text, name):
    """Formats with the repo's .clang-format when clang-format is installed (deterministic for a
    given clang-format version; the committed output was made with clang-format 14)."""
    exe = shutil.which("clang-format")
    if exe is None:
        return text
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    res = subprocess.run([exe, f"--assume-filename={os.path.join(repo, 'net', 'messages', name)}"],
                         input=text, capture_output=True, text=True, check=True)
    return res.stdout


def check(args):
    import filecmp
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out, tests_out = os.path.join(tmp, "messages"), os.path.join(tmp, "tests")
        specs = [a for d in args.specs for a in ("--specs", d)]
        res = subprocess.run([sys.executable, os.path.abspath(__file__), *specs,
                              "--out", out, "--tests-out", tests_out])
        if res.returncode != 0:
            return res.returncode
        pairs = [(os.path.join(out, n), os.path.join(args.out, n)) for n in sorted(os.listdir(out))]
        samples = ["message_samples.h"] + [
            os.path.join("message_samples", n)
            for n in sorted(os.listdir(os.path.join(tests_out, "message_samples")))]
        pairs += [(os.path.join(tests_out, n), os.path.join(args.tests_out, n)) for n in samples]
        bad = [b for a, b in pairs if not os.path.exists(b) or not filecmp.cmp(a, b, shallow=False)]
        extra = sorted(set(os.listdir(args.out)) - set(os.listdir(out)))
        committed_samples = os.path.join(args.tests_out, "message_samples")
        if os.path.isdir(committed_samples):
            extra += sorted(set(os.listdir(committed_samples)) -
                            set(os.listdir(os.path.join(tests_out, "message_samples"))))
        for b in bad:
            print(f"gen_messages: {b} differs from a fresh generation", file=sys.stderr)
        for e in extra:
            print(f"gen_messages: {e} is not generated any more", file=sys.stderr)
        return 1 if bad or extra else 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--specs", action="append",
                    help="a directory of specs; may be repeated (later ones add APIs)")
    ap.add_argument("--out", default=os.path.join(here, "..", "net", "messages"))
    ap.add_argument("--tests-out", default=os.path.join(here, "..", "tests", "net"),
                    help="where message_samples.h and message_samples/ (test helpers) go")
    ap.add_argument("--check", action="store_true",
                    help="compare a fresh generation with the committed files; exit 1 on a diff")
    args = ap.parse_args()
    if not args.specs:
        args.specs = ["/work/shared/kafka-message-specs",
                      os.path.join(here, "..", "net", "message-specs")]
    if args.check:
        return check(args)

    found = []
    seen = set()
    for d in args.specs:
        for fn in sorted(os.listdir(d)):
            if not fn.endswith(".json") or fn in seen:
                continue
            seen.add(fn)
            with open(os.path.join(d, fn), encoding="utf-8") as fh:
                spec = json.loads(strip_comments(fh.read()))
            found.append((fn, Message(spec, fn)))
    # One order whatever directory a spec comes from: the output is deterministic.
    msgs = [m for _, m in sorted(found, key=lambda x: x[0])]

    groups = {}
    for m in msgs:
        stem = "headers" if m.type == "header" else api_file_stem(m.name)
        groups.setdefault(stem, []).append(m)

    os.makedirs(args.out, exist_ok=True)
    files = {}
    for stem in sorted(groups):
        ms = sorted(groups[stem], key=lambda m: m.name)
        g = Gen()
        h = [HEADER_BANNER, "#pragma once", "", "#include <cstdint>", "#include <optional>",
             "#include <string>", "#include <vector>", "", '#include "common/result.h"',
             '#include "net/messages/api.h"', '#include "net/wire.h"', "", "namespace eb::net::msg {", ""]
        for m in ms:
            title = f"{m.name}"
            if m.api_key is not None:
                title += f" (api key {m.api_key})"
            h.append(f"// {title}: versions {m.valid.lo}-{m.valid.hi}, "
                     f"flexible {'none' if m.flex.empty() else str(m.flex.lo) + '+'}.")
            h.extend(g.struct_decl(m.root, 0, True, m))
            h.append("")
        h.append("}  // namespace eb::net::msg")
        cc = [HEADER_BANNER, f'#include "net/messages/{stem}.h"', "", "namespace eb::net::msg {", ""]
        for m in ms:
            cc.extend(g.struct_impl(m.root, m))
        cc.append("}  // namespace eb::net::msg")
        files[f"{stem}.h"] = "\n".join(h) + "\n"
        files[f"{stem}.cc"] = "\n".join(cc) + "\n"

    # api.h / api.cc: keys, version ranges, header versions.
    apis = {}
    for m in msgs:
        if m.type == "request":
            apis[m.api_key] = m
    for m in msgs:
        if m.type == "response":
            req = apis.get(m.api_key)
            if req is None or req.valid.lo != m.valid.lo or req.valid.hi != m.valid.hi:
                raise SystemExit(f"{m.name}: versions differ from its request")
            if req.flex.lo != m.flex.lo:
                raise SystemExit(f"{m.name}: flexible versions differ from its request")
    h = [HEADER_BANNER, "#pragma once", "", "#include <cstdint>", "#include <span>",
         "#include <string_view>", "", "namespace eb::net {", "",
         "// Kafka API keys this codebase has message codecs for.",
         "enum class api_key : int16_t {"]
    for k in sorted(apis):
        h.append(f"  {api_file_stem(apis[k].name)} = {k},")
    h.append("};")
    h += [
        "",
        "// What the schema says about one API (not what we advertise: handlers choose that).",
        "struct api_info {",
        "  api_key key;",
        "  std::string_view name;  // e.g. \"Produce\"",
        "  int16_t min_version;",
        "  int16_t max_version;",
        "  int16_t first_flexible_version;  // -1: never flexible",
        "};",
        "",
        "// Every API with a codec, ordered by key.",
        "std::span<const api_info> all_apis();",
        "// nullptr for a key without a codec.",
        "const api_info* find_api(int16_t key);",
        "// True if `version` of API `key` uses compact encodings and tagged fields.",
        "bool is_flexible(int16_t key, int16_t version);",
        "// Request header version for an API version: 2 if flexible, else 1; -1 for an unknown key.",
        "// Versions above the schema's max are treated by the flexible rule, so a header of a newer",
        "// ApiVersions request can still be read (KIP-511).",
        "int16_t request_header_version(int16_t api_key, int16_t api_version);",
        "// Response header version: 1 if flexible, else 0; ApiVersions is ALWAYS 0 (KIP-511);",
        "// -1 for an unknown key.",
        "int16_t response_header_version(int16_t api_key, int16_t api_version);",
        "",
        "}  // namespace eb::net",
    ]
    files["api.h"] = "\n".join(h) + "\n"
    cc = [HEADER_BANNER, '#include "net/messages/api.h"', "", "#include <array>", "",
          "namespace eb::net {", "namespace {", "",
          f"constexpr std::array<api_info, {len(apis)}> k_apis = {{{{"]
    for k in sorted(apis):
        m = apis[k]
        ff = m.flex.lo if not m.flex.empty() else -1
        human = m.name[: -len("Request")]
        cc.append(f"    {{api_key::{api_file_stem(m.name)}, \"{human}\", {m.valid.lo}, {m.valid.hi}, {ff}}},")
    cc += ["}};", "", "}  // namespace", "",
           "std::span<const api_info> all_apis() { return k_apis; }", "",
           "const api_info* find_api(int16_t key) {",
           "  for (const auto& a : k_apis) {",
           "    if (static_cast<int16_t>(a.key) == key) return &a;",
           "  }",
           "  return nullptr;",
           "}", "",
           "bool is_flexible(int16_t key, int16_t version) {",
           "  const api_info* a = find_api(key);",
           "  return a != nullptr && a->first_flexible_version >= 0 &&",
           "         version >= a->first_flexible_version;",
           "}", "",
           "int16_t request_header_version(int16_t api_key, int16_t api_version) {",
           "  if (find_api(api_key) == nullptr) return -1;",
           "  return is_flexible(api_key, api_version) ? 2 : 1;",
           "}", "",
           "int16_t response_header_version(int16_t api_key, int16_t api_version) {",
           "  if (find_api(api_key) == nullptr) return -1;",
           "  // KIP-511: a client cannot know whether the broker supports its ApiVersions version,",
           "  // so the response header is always v0.",
           "  if (api_key == static_cast<int16_t>(api_key::api_versions)) return 0;",
           "  return is_flexible(api_key, api_version) ? 1 : 0;",
           "}", "",
           "}  // namespace eb::net"]
    files["api.cc"] = "\n".join(cc) + "\n"

    # messages.h: everything, plus a type list for generic tests and fuzzing.
    h = [HEADER_BANNER, "#pragma once", "", "#include <tuple>", ""]
    for stem in sorted(groups):
        h.append(f'#include "net/messages/{stem}.h"')
    h += ["", "namespace eb::net::msg {", "",
          "// Every generated request and response type, for code that visits them all.",
          "using all_requests = std::tuple<"]
    reqs = [m for m in msgs if m.type == "request"]
    reqs.sort(key=lambda m: m.api_key)
    h.append(",\n".join(f"    {snake(m.name)}" for m in reqs) + ">;")
    h.append("using all_responses = std::tuple<")
    resps = [m for m in msgs if m.type == "response"]
    resps.sort(key=lambda m: m.api_key)
    h.append(",\n".join(f"    {snake(m.name)}" for m in resps) + ">;")
    h += ["", "}  // namespace eb::net::msg"]
    files["messages.h"] = "\n".join(h) + "\n"

    srcs = sorted(f for f in files if f.endswith(".cc"))
    files["sources.cmake"] = (
        "# Generated by scripts/gen_messages.py. Do not edit.\n"
        "set(EB_NET_MESSAGE_SOURCES\n" + "".join(f"  messages/{s}\n" for s in srcs) + ")\n")

    for rel, text in gen_samples(msgs).items():
        text = clang_format(text, os.path.basename(rel))
        sample_path = os.path.join(args.tests_out, rel)
        old = open(sample_path, encoding="utf-8").read() if os.path.exists(sample_path) else None
        if old != text:
            os.makedirs(os.path.dirname(sample_path), exist_ok=True)
            with open(sample_path, "w", encoding="utf-8") as fh:
                fh.write(text)
    for name in files:
        if name.endswith((".h", ".cc")):
            files[name] = clang_format(files[name], name)
    for name, text in files.items():
        path = os.path.join(args.out, name)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                old = fh.read()
        if old != text:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
    stale = set(os.listdir(args.out)) - set(files)
    for name in sorted(stale):
        if name.endswith((".h", ".cc", ".cmake")):
            print(f"gen_messages: stale file {name} (not removed)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
