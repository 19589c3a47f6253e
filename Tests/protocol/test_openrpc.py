"""Checks Protocol/openrpc.json against itself, against the Swift form of the protocol
(Sources/RPCProtocol) and against the example transcripts in Protocol/examples.

Run: python3 -m pytest Tests/protocol -q
Set LOFT_ROOT to check another tree (a copy with a deliberately broken document, say).
"""

import copy
import json
import os
import re
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

ROOT = Path(os.environ.get("LOFT_ROOT", Path(__file__).resolve().parents[2]))
DOC_PATH = ROOT / "Protocol" / "openrpc.json"
EXAMPLES_DIR = ROOT / "Protocol" / "examples"
SWIFT_DIR = ROOT / "Sources" / "RPCProtocol"


def _swift_roles():
    """The cases of `RPCRole` in RPCProtocol.swift: the sockets' roles."""
    text = (SWIFT_DIR / "RPCProtocol.swift").read_text(encoding="utf-8")
    block = re.search(r"enum\s+RPCRole\s*:[^{]*\{(.*?)\n\}", text, re.S)
    assert block, "RPCRole not found in RPCProtocol.swift"
    return {c.strip() for line in re.findall(r"^\s*case\s+([^\n]+)", block.group(1), re.M) for c in line.split(",") if c.strip()}


# The sockets' roles, from Swift; test_roles_and_sockets checks the document names each one.
ROLES = _swift_roles()
assert {"gateway", "admin", "relay"} <= ROLES, f"RPCRole parsed as {sorted(ROLES)}"
PLACEHOLDER = re.compile(r"^<[A-Za-z0-9_.:-]+>$")


# --------------------------------------------------------------------------------------------
# Loading


@pytest.fixture(scope="module")
def doc():
    with DOC_PATH.open(encoding="utf-8") as f:
        return json.load(f)


def resolve_pointer(document, pointer):
    """RFC 6901. Raises KeyError/IndexError when the pointer does not resolve."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise KeyError(f"not a JSON pointer: {pointer!r}")
    node = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            if not re.fullmatch(r"0|[1-9][0-9]*", token):
                raise KeyError(f"{pointer}: {token!r} is not an array index")
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(f"{pointer}: cannot descend into {type(node).__name__}")
    return node


def resolve_ref(doc, schema):
    """Follows $ref chains within the document."""
    seen = set()
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        assert ref not in seen, f"$ref cycle at {ref}"
        seen.add(ref)
        schema = resolve_pointer(doc, ref[1:])
    return schema


def all_refs(node, path="#"):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield path, v
            else:
                yield from all_refs(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from all_refs(v, f"{path}/{i}")


def strict(node):
    """A copy in which every object schema refuses properties it does not name, so examples
    with a misspelt or undocumented field fail. (The document itself stays open: new result
    fields are an additive change.)"""
    node = copy.deepcopy(node)

    def walk(n):
        if isinstance(n, dict):
            if (n.get("type") == "object" or "properties" in n) and "additionalProperties" not in n:
                n["additionalProperties"] = False
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(node)
    return node


def validator(doc, schema, strict_objects=True):
    """A draft-07 validator for `schema` whose `#/components/...` refs resolve in the document."""
    wrapped = dict(strict(schema) if strict_objects else schema)
    wrapped["components"] = strict(doc["components"]) if strict_objects else doc["components"]
    return Draft7Validator(wrapped)


def params_schema(method):
    return {
        "type": "object",
        "properties": {p["name"]: p["schema"] for p in method["params"]},
        "required": [p["name"] for p in method["params"] if p.get("required", False)],
    }


def error_kinds(doc):
    return {e["kind"]: e for e in doc["x-errors"]}


def method_error_kinds(doc, method):
    kinds = set()
    for e in method["errors"]:
        e = resolve_ref(doc, e)
        kinds.add(e["data"]["kind"])
    return kinds


# --------------------------------------------------------------------------------------------
# (a) The document is well-formed


def test_document_header(doc):
    assert doc["openrpc"] == "1.2.6"
    assert doc["info"]["title"] == "Loft back-end RPC"
    assert doc["info"]["version"] == "2"
    assert isinstance(doc["methods"], list) and doc["methods"]


def test_every_ref_resolves(doc):
    refs = list(all_refs(doc))
    assert refs, "the document should share schemas through $ref"
    for where, ref in refs:
        assert ref.startswith("#/"), f"{where}: only local refs are allowed, got {ref}"
        try:
            resolve_pointer(doc, ref[1:])
        except (KeyError, IndexError) as e:
            pytest.fail(f"{where}: $ref {ref} does not resolve ({e})")


def test_every_component_schema_is_used_or_shared(doc):
    used = {ref.split("/")[-1] for _, ref in all_refs(doc) if ref.startswith("#/components/schemas/")}
    unused = set(doc["components"]["schemas"]) - used
    assert not unused, f"component schemas nothing refers to: {sorted(unused)}"


def test_component_schemas_are_valid_json_schema(doc):
    for name, schema in doc["components"]["schemas"].items():
        Draft7Validator.check_schema(schema)


def test_methods_are_complete(doc):
    names = [m["name"] for m in doc["methods"]]
    assert len(names) == len(set(names)), "duplicate method names"
    for m in doc["methods"]:
        where = m["name"]
        for key in ("summary", "description"):
            assert isinstance(m.get(key), str) and m[key].strip(), f"{where}: needs a {key}"
        assert m.get("paramStructure") == "by-name", f"{where}: paramStructure must be by-name"
        roles = m.get("x-roles")
        assert isinstance(roles, list) and roles, f"{where}: needs x-roles"
        assert set(roles) <= ROLES and len(roles) == len(set(roles)), f"{where}: bad x-roles {roles}"
        assert isinstance(m.get("params"), list), f"{where}: needs params"
        seen = set()
        for p in m["params"]:
            assert set(p) <= {"name", "summary", "description", "required", "schema", "deprecated"}, f"{where}: {p}"
            assert p["name"] not in seen, f"{where}: param {p['name']} twice"
            seen.add(p["name"])
            assert isinstance(p.get("required"), bool), f"{where}.{p['name']}: required must be true/false"
            assert isinstance(p.get("schema"), dict), f"{where}.{p['name']}: needs a schema"
            Draft7Validator.check_schema(p["schema"])
        result = m.get("result")
        assert isinstance(result, dict) and result.get("name") and isinstance(result.get("schema"), dict), \
            f"{where}: needs a result with name and schema"
        Draft7Validator.check_schema(result["schema"])
        assert isinstance(m.get("errors"), list), f"{where}: needs an errors list"


def test_error_table(doc):
    x = doc["x-errors"]
    kinds = [e["kind"] for e in x]
    codes = [e["code"] for e in x]
    assert len(kinds) == len(set(kinds)), "duplicate kinds in x-errors"
    assert len(codes) == len(set(codes)), "duplicate codes in x-errors"
    for e in x:
        assert set(e) == {"code", "kind", "temporary", "anyMethod", "meaning"}, e
        assert isinstance(e["code"], int) and re.fullmatch(r"[a-z_]+", e["kind"]) and e["meaning"].strip()
        assert e["temporary"] in ("always", "never", "sometimes"), e
        assert isinstance(e["anyMethod"], bool), e
        comp = doc["components"]["errors"].get(e["kind"])
        assert comp is not None, f"components/errors lacks {e['kind']}"
        assert comp["code"] == e["code"] and comp["data"]["kind"] == e["kind"], f"components/errors/{e['kind']} disagrees"
    assert set(doc["components"]["errors"]) == set(kinds)
    # Every method's errors are real kinds with the right code.
    for m in doc["methods"]:
        for ref in m["errors"]:
            err = resolve_ref(doc, ref)
            kind = err["data"]["kind"]
            assert kind in error_kinds(doc), f"{m['name']}: unknown error kind {kind}"
            assert err["code"] == error_kinds(doc)[kind]["code"], f"{m['name']}: code of {kind}"


def test_notifications(doc):
    """Every notification the Swift code names is documented with its params' schema."""
    notes = {n["name"]: n for n in doc["x-notifications"]}
    assert set(notes) == set(swift_notifications())
    assert notes["event"]["params"]["schema"] == {"$ref": "#/components/schemas/MailEvent"}
    assert notes["directory.changed"]["params"]["schema"] == {"$ref": "#/components/schemas/DirectoryVersionResult"}
    for note in notes.values():
        assert note.get("description"), note["name"]


def test_roles_and_sockets(doc):
    """Every role is a server (socket) of the document and a value of RPCRole, and every role
    may call at least `hello`."""
    assert set(doc["components"]["schemas"]["RPCRole"]["enum"]) == ROLES
    servers = {s["name"]: s for s in doc["servers"]}
    assert set(servers) == ROLES, f"servers {sorted(servers)}, roles {sorted(ROLES)}"
    for name, server in servers.items():
        assert server["url"] == f"unix:{name}.sock", f"server {name}: url {server['url']}"
    for role in ROLES:
        assert f"`{role}.sock`" in doc["info"]["description"], f"info.description omits `{role}.sock`"
    hello = next(m for m in doc["methods"] if m["name"] == "hello")
    assert set(hello["x-roles"]) == ROLES, "hello must be callable on every socket"


# --------------------------------------------------------------------------------------------
# (b) The document matches the Swift types


def swift_text(name):
    return (SWIFT_DIR / name).read_text(encoding="utf-8")


METHOD_DECL = re.compile(
    r'static\s+let\s+(\w+)\s*=\s*RPCMethod<\s*(\w+)\s*,\s*(\w+)\s*>\(\s*"([^"]+)"\s*,\s*roles:\s*(\w+)\s*\)')


def swift_methods():
    """[(identifier, params type, result type, name, roles)] in declaration order, and the order of
    `Methods.all` as names."""
    text = swift_text("RPCMethod.swift")
    role_sets = {}
    for var, members in re.findall(r"let\s+(\w+)\s*:\s*Set<RPCRole>\s*=\s*\[([^\]]*)\]", text):
        role_sets[var] = {r.strip().lstrip(".") for r in members.split(",") if r.strip()}
    decls = []
    for ident, params, result, name, roles in METHOD_DECL.findall(text):
        assert roles in role_sets, f"{name}: unknown role set {roles}"
        decls.append((ident, params, result, name, role_sets[roles]))
    all_block = re.search(r"static\s+let\s+all\s*:[^=]*=\s*\[(.*?)\n\s*\]", text, re.S)
    assert all_block, "Methods.all not found"
    pairs = re.findall(r"\(\s*(\w+)\.name\s*,\s*(\w+)\.roles\s*\)", all_block.group(1))
    by_ident = {d[0]: d for d in decls}
    order = []
    for a, b in pairs:
        assert a == b, f"Methods.all pairs {a}.name with {b}.roles"
        assert a in by_ident, f"Methods.all names undeclared {a}"
        order.append(by_ident[a][3])
    return decls, order


def swift_notifications():
    names = re.findall(r'static\s+let\s+\w+Notification\s*=\s*"([^"]+)"', swift_text("RPCMethod.swift"))
    assert names
    return names


def swift_error_kinds():
    text = swift_text("RPCError.swift")
    kinds = {}
    for ident, code, name in re.findall(r'static\s+let\s+(\w+)\s*=\s*Kind\(\s*code:\s*(-?\d+)\s*,\s*name:\s*"(\w+)"\s*\)', text):
        kinds[ident] = (int(code), name)
    all_block = re.search(r"static\s+let\s+all\s*:\s*\[Kind\]\s*=\s*\[(.*?)\]", text, re.S)
    listed = re.findall(r"\.(\w+)", all_block.group(1)) if all_block else []
    return kinds, listed


STRING_LITERAL = re.compile(r'"(?:\\.|[^"\\])*"')

# Nested Swift types are named parent + child (MailEvent.Kind → MailEventKind); where that reads
# badly the document uses a shorter name, listed here.
SCHEMA_NAMES = {"RPCErrorErrorData": "RPCErrorData"}

# Structs whose Codable conformance is written by hand to encode a single JSON value, and the
# JSON type of that value: their stored fields are not JSON members.
SINGLE_VALUE = {"Base64Data": "string", "JSONText": "object"}


def swift_types():
    """Parses every struct and string enum of the module: {flattened name: ("struct", [(field,
    type, optional)]) or ("enum", [raw values])}. Nested types are named by concatenation
    (RPCError.ErrorData → RPCErrorData) and also reachable by their short name within their
    parent through `scopes`."""
    types = {}
    for path in sorted(SWIFT_DIR.glob("*.swift")):
        stack = []  # (kind, flattened name, depth at which its body starts)
        depth = 0
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split("//")[0] if not raw.strip().startswith("///") else ""
            code = STRING_LITERAL.sub('""', line)
            decl = re.match(r"\s*(?:public\s+|private\s+|internal\s+)*(struct|enum)\s+(\w+)", code)
            if decl and "{" in code:
                kind, short = decl.groups()
                flat = (stack[-1][1] if stack else "") + short
                flat = SCHEMA_NAMES.get(flat, flat)
                types[flat] = (kind, [])
                body_depth = depth + 1
                inline = code[code.index("{") + 1:]
                if kind == "enum" and "}" in inline:  # `enum Operation: String { case set, add, remove }`
                    for c in re.findall(r"case\s+([^}]*)", inline):
                        types[flat][1].extend(v.strip() for v in c.split(","))
                    continue
                stack.append((kind, flat, body_depth))
                depth += code.count("{") - code.count("}")
                continue
            if stack and depth == stack[-1][2]:
                kind, flat, _ = stack[-1]
                if kind == "struct":
                    var = re.match(r"\s*public\s+var\s+(\w+)\s*:\s*([^={]+?)\s*$", code)
                    if var:
                        name, typ = var.groups()
                        optional = typ.endswith("?")
                        types[flat][1].append((name, typ.rstrip("?"), optional))
                elif kind == "enum":
                    case = re.match(r"\s*case\s+(.*)$", line)
                    if case:
                        for item in case.group(1).split(","):
                            m = re.match(r"\s*(\w+)(?:\s*=\s*\"([^\"]*)\")?", item)
                            if m:
                                types[flat][1].append(m.group(2) if m.group(2) is not None else m.group(1))
            depth += code.count("{") - code.count("}")
            while stack and depth < stack[-1][2]:
                stack.pop()
    return types


def check_type(doc, types, owner, field, swift_type, schema, problems):
    """Does `schema` describe values of `swift_type`? Appends problems."""
    where = f"{owner}.{field}"
    if swift_type.startswith("[") and swift_type.endswith("]"):
        s = resolve_ref(doc, schema)
        if s.get("type") != "array":
            problems.append(f"{where}: Swift {swift_type} but schema is not an array")
            return
        check_type(doc, types, owner, field + "[]", swift_type[1:-1], s["items"], problems)
        return
    scalar = {"String": "string", "Int": "integer", "Int64": "integer", "UInt32": "integer", "Bool": "boolean"}
    if swift_type in scalar:
        s = resolve_ref(doc, schema)
        if s.get("type") != scalar[swift_type]:
            problems.append(f"{where}: Swift {swift_type} but schema type is {s.get('type')}")
        elif swift_type == "UInt32" and not (s.get("minimum", -1) >= 0 and s.get("maximum", 2**33) <= 4294967295):
            problems.append(f"{where}: UInt32 needs minimum >= 0 and maximum <= 4294967295")
        return
    # A nested enum of the owner, or a named type of the module.
    nested = SCHEMA_NAMES.get(owner + swift_type, owner + swift_type)
    if nested in types and types[nested][0] == "enum":
        s = resolve_ref(doc, schema)
        if s.get("type") != "string" or sorted(s.get("enum", [])) != sorted(types[nested][1]):
            problems.append(f"{where}: enum {swift_type} is {sorted(types[nested][1])}, schema says {s.get('enum')}")
        return
    target = nested if nested in types else swift_type
    if target in types and types[target][0] == "enum":
        s = resolve_ref(doc, schema)
        if sorted(s.get("enum", [])) != sorted(types[target][1]):
            problems.append(f"{where}: enum {swift_type} is {sorted(types[target][1])}, schema says {s.get('enum')}")
        return
    # Structs and MailCore values are shared schemas named after the Swift type.
    if schema.get("$ref") != f"#/components/schemas/{target}":
        problems.append(f"{where}: Swift {swift_type} should be {{'$ref': '#/components/schemas/{target}'}}, got {schema}")


def test_method_names_order_and_roles_match_swift(doc):
    decls, order = swift_methods()
    assert decls, "no RPCMethod declarations found in RPCMethod.swift"
    declared = {d[3] for d in decls}
    assert len(declared) == len(decls), "two Swift methods share a name"
    assert set(order) == declared, f"Methods.all omits {sorted(declared - set(order))}"
    doc_names = [m["name"] for m in doc["methods"]]
    assert set(doc_names) == declared, (
        f"only in Swift: {sorted(declared - set(doc_names))}; only in openrpc.json: {sorted(set(doc_names) - declared)}")
    assert doc_names == order, "openrpc.json must list methods in Methods.all order"
    roles = {d[3]: d[4] for d in decls}
    for m in doc["methods"]:
        assert set(m["x-roles"]) == roles[m["name"]], f"{m['name']}: Swift roles {sorted(roles[m['name']])}, doc {m['x-roles']}"


def test_error_kinds_match_swift(doc):
    kinds, listed = swift_error_kinds()
    assert kinds, "no Kind declarations found in RPCError.swift"
    assert sorted(listed) == sorted(kinds), f"RPCError.Kind.all differs from the declared kinds: {set(kinds) ^ set(listed)}"
    swift = {name: code for code, name in kinds.values()}
    documented = {e["kind"]: e["code"] for e in doc["x-errors"]}
    assert documented == swift, (
        f"only in Swift: {sorted(set(swift) - set(documented))}; only in doc: {sorted(set(documented) - set(swift))}; "
        f"code differs: {sorted(k for k in swift if k in documented and swift[k] != documented[k])}")


def test_params_match_swift_types(doc):
    decls, _ = swift_methods()
    types = swift_types()
    by_name = {m["name"]: m for m in doc["methods"]}
    problems = []
    for _, params_type, _, name, _ in decls:
        method = by_name[name]
        assert params_type in types, f"{name}: params type {params_type} not found in Sources/RPCProtocol"
        fields = types[params_type][1]
        documented = [(p["name"], p["required"]) for p in method["params"]]
        expected = [(f, not opt) for f, _, opt in fields]
        if documented != expected:
            problems.append(f"{name}: params are {documented}, Swift {params_type} has {expected} (name, required)")
            continue
        for (field, typ, _), p in zip(fields, method["params"]):
            check_type(doc, types, params_type, field, typ, p["schema"], problems)
    assert not problems, "\n".join(problems)


def test_results_and_shared_schemas_match_swift_types(doc):
    decls, _ = swift_methods()
    types = swift_types()
    by_name = {m["name"]: m for m in doc["methods"]}
    problems = []
    for _, _, result_type, name, _ in decls:
        ref = by_name[name]["result"]["schema"].get("$ref")
        if ref != f"#/components/schemas/{result_type}":
            problems.append(f"{name}: result schema should be $ref to components/schemas/{result_type}, got {ref}")
    # Every shared schema named after a Swift struct has exactly its fields.
    checked = 0
    for schema_name, schema in doc["components"]["schemas"].items():
        if schema_name not in types or types[schema_name][0] != "struct":
            continue
        if schema_name in SINGLE_VALUE:
            if schema.get("type") != SINGLE_VALUE[schema_name]:
                problems.append(f"{schema_name}: encodes as a JSON {SINGLE_VALUE[schema_name]}, schema says {schema.get('type')}")
            continue
        checked += 1
        fields = types[schema_name][1]
        props = schema.get("properties", {})
        if set(props) != {f for f, _, _ in fields}:
            problems.append(f"{schema_name}: properties {sorted(props)}, Swift has {sorted(f for f, _, _ in fields)}")
            continue
        required = set(schema.get("required", []))
        if required != {f for f, _, opt in fields if not opt}:
            problems.append(f"{schema_name}: required {sorted(required)}, Swift non-optional {sorted(f for f, _, o in fields if not o)}")
        for field, typ, _ in fields:
            check_type(doc, types, schema_name, field, typ, props[field], problems)
    assert checked >= 30, f"only {checked} shared schemas are named after Swift types"
    # Every struct a method returns, or that one of those contains, has a shared schema.
    missing = {r for _, _, r, _, _ in decls} - set(doc["components"]["schemas"])
    assert not missing, f"no shared schema for {sorted(missing)}"
    assert not problems, "\n".join(problems)


def test_search_query_nodes_match_swift(doc):
    """SearchQuery is an enum with payloads, encoded as an object of one member named after the
    case (`{"not":{…}}`): the document's `oneOf` has one branch per Swift key, each requiring
    exactly that member."""
    text = swift_text("SelectSearchTypes.swift")
    block = re.search(r"private\s+enum\s+Key\s*:\s*String\s*,\s*CodingKey\s*\{(.*?)\}", text, re.S)
    assert block, "SearchQuery.Key not found"
    swift_keys = {k.strip() for k in re.findall(r"case\s+([^\n]+)", block.group(1)) for k in k.split(",") if k.strip()}
    schema = doc["components"]["schemas"]["SearchQuery"]
    branches = schema["oneOf"]
    keys = []
    for b in branches:
        assert b.get("type") == "object" and b.get("additionalProperties") is False, b
        assert len(b["properties"]) == 1 and b["required"] == list(b["properties"]), b
        keys.append(next(iter(b["properties"])))
    assert len(keys) == len(set(keys))
    assert set(keys) == swift_keys, f"only in Swift: {swift_keys - set(keys)}; only in the document: {set(keys) - swift_keys}"
    v = validator(doc, {"$ref": "#/components/schemas/SearchQuery"})
    for example in schema.get("examples", []):
        assert not list(v.iter_errors(example)), example
    assert list(v.iter_errors({"not": {"all": True}, "all": True})), "two members in one node must not validate"
    assert list(v.iter_errors({"since": "1 Dec 2026"})), "a date must be YYYY-MM-DD"


# --------------------------------------------------------------------------------------------
# (c) The examples validate


def example_files():
    return sorted(EXAMPLES_DIR.glob("*.jsonl"))


def test_there_are_examples():
    assert len(example_files()) >= 5


def placeholders_in(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from placeholders_in(v, f"{path}/{k.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from placeholders_in(v, f"{path}/{i}")
    elif isinstance(node, str) and PLACEHOLDER.match(node):
        yield path, node


def schema_errors(v, instance, ignore):
    """Validation errors, leaving out those at exactly a `vary` path (a placeholder stands there)."""
    out = []
    for e in v.iter_errors(instance):
        if tuple(str(p) for p in e.absolute_path) in ignore:
            continue
        out.append(f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}")
    return out


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_example(doc, path):
    methods = {m["name"]: m for m in doc["methods"]}
    kinds = error_kinds(doc)
    any_method = {k for k, e in kinds.items() if e["anyMethod"]}
    notes = {n["name"]: n for n in doc["x-notifications"]}
    error_v = validator(doc, {"$ref": "#/components/schemas/RPCError"})
    envelope = {k: validator(doc, ref, strict_objects=False) for k, ref in doc["x-envelope"].items()}

    lines = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    assert lines, "empty transcript"
    pending = {}  # (socket, json id) → request
    hello_done = set()
    last_socket = None
    introduced = set()  # placeholders the transcript has defined so far
    problems = []

    # Pair each recv with the vary line that follows it.
    entries = []
    for i, line in enumerate(lines, 1):
        if set(line) == {"vary"}:
            assert entries and ("recv" in entries[-1][1] or "recv_notification" in entries[-1][1]), \
                f"line {i}: a vary line must follow a recv or recv_notification line"
            assert entries[-1][2] is None, f"line {i}: two vary lines for one recv"
            assert isinstance(line["vary"], list) and line["vary"], f"line {i}: vary needs pointers"
            entries[-1] = (entries[-1][0], entries[-1][1], line["vary"])
        else:
            entries.append((i, line, None))

    for i, line, vary in entries:
        where = f"line {i}"
        if "send" in line:
            assert set(line) == {"socket", "send"}, f"{where}: a send line has exactly socket and send"
            assert line["socket"] in ROLES, f"{where}: socket must be one of {sorted(ROLES)}"
            req = line["send"]
            assert req.get("jsonrpc") == "2.0" and isinstance(req.get("method"), str), f"{where}: not a JSON-RPC request"
            assert set(req) <= {"jsonrpc", "id", "method", "params"}, f"{where}: unexpected members {set(req)}"
            problems += [f"{where}: envelope {e}" for e in schema_errors(envelope["request"], req, set())]
            for ptr, ph in placeholders_in(req):
                assert ph in introduced, f"{where}: placeholder {ph} at {ptr} was not introduced by an earlier recv"
            last_socket = line["socket"]
            if "id" in req:
                assert isinstance(req["id"], (int, str)) and not isinstance(req["id"], bool), f"{where}: id must be number or string"
                key = (last_socket, json.dumps(req["id"]))
                assert key not in pending, f"{where}: id {req['id']} already in flight"
                pending[key] = (i, req)
            continue

        if "recv_notification" in line:
            assert set(line) <= {"socket", "recv_notification"}, f"{where}: unexpected members"
            socket = line.get("socket", last_socket)
            note = line["recv_notification"]
            assert note.get("jsonrpc") == "2.0" and "id" not in note, f"{where}: a notification has no id"
            assert note.get("method") in notes, f"{where}: undocumented notification {note.get('method')}"
            assert socket in hello_done, f"{where}: notification before hello"
            problems += [f"{where}: envelope {e}" for e in schema_errors(envelope["notification"], note, set())]
            ignore = check_vary(note, vary, "params", introduced, where, problems)
            v = validator(doc, notes[note["method"]]["params"]["schema"])
            problems += [f"{where}: notification params {e}" for e in schema_errors(v, note.get("params"), ignore)]
            continue

        assert set(line) <= {"socket", "recv"}, f"{where}: unknown line shape {sorted(line)}"
        socket = line.get("socket", last_socket)
        assert socket in ROLES, f"{where}: recv without a socket (no send before it)"
        resp = line["recv"]
        assert resp.get("jsonrpc") == "2.0" and "id" in resp, f"{where}: a response needs jsonrpc and id"
        assert ("result" in resp) != ("error" in resp), f"{where}: exactly one of result and error"
        assert set(resp) <= {"jsonrpc", "id", "result", "error"}, f"{where}: unexpected members {set(resp)}"
        problems += [f"{where}: envelope {e}" for e in schema_errors(envelope["response"], resp, set())]

        if resp["id"] is None:
            assert "error" in resp and resp["error"].get("data", {}).get("kind") in {"parse_error", "invalid_request", "line_too_long"}, \
                f"{where}: only parse_error, invalid_request and line_too_long come with id null"
            req, method = None, None
        else:
            key = (socket, json.dumps(resp["id"]))
            assert key in pending, f"{where}: response id {resp['id']} matches no request in flight on {socket}"
            _, req = pending.pop(key)
            method = methods.get(req["method"])
        params = req.get("params", {}) if req else None
        # A placeholder in a request stands for the runtime value an earlier answer gave.
        send_ignore = {tuple(ptr[1:].split("/")) for ptr, _ in placeholders_in(params)} if req else set()

        if "error" in resp:
            ignore = check_vary(resp, vary, "error", introduced, where, problems)
            err = resp["error"]
            problems += [f"{where}: error {e}" for e in schema_errors(error_v, err, ignore)]
            data = err.get("data")
            if not isinstance(data, dict) or data.get("kind") not in kinds:
                problems.append(f"{where}: error data.kind {data and data.get('kind')!r} is not in x-errors")
                continue
            kind = data["kind"]
            if err.get("code") != kinds[kind]["code"]:
                problems.append(f"{where}: {kind} has code {kinds[kind]['code']}, not {err.get('code')}")
            if req is None:
                continue
            # The error must be one the method documents, or one any method may return, and
            # must agree with the envelope rules.
            if method is None:
                if kind != "method_not_found":
                    problems.append(f"{where}: {req['method']} is not documented, so expected method_not_found, got {kind}")
                continue
            if kind == "method_not_found":
                problems.append(f"{where}: {req['method']} is documented, yet the example answers method_not_found")
            if socket not in method["x-roles"]:
                if kind != "permission_denied":
                    problems.append(f"{where}: {req['method']} is not allowed on {socket}: expected permission_denied, got {kind}")
                continue
            if req["method"] != "hello" and socket not in hello_done:
                if kind != "hello_required":
                    problems.append(f"{where}: call before hello on {socket}: expected hello_required, got {kind}")
                continue
            if kind == "hello_required":
                problems.append(f"{where}: hello_required although hello succeeded on {socket}")
            if kind not in method_error_kinds(doc, method) and kind not in any_method:
                problems.append(f"{where}: {req['method']} does not document error {kind}")
            if kind == "invalid_params":
                v = validator(doc, params_schema(method))
                if not list(v.iter_errors(params)):
                    problems.append(f"{where}: answered invalid_params, but the params validate against the schema")
                field = data.get("field")
                if field and field.split(".")[0] not in {p["name"] for p in method["params"]}:
                    problems.append(f"{where}: data.field {field} is not a param of {req['method']}")
            else:
                v = validator(doc, params_schema(method))
                problems += [f"{where}: request params {e}" for e in schema_errors(v, params, send_ignore)]
            continue

        # A success.
        if method is None:
            problems.append(f"{where}: success for undocumented method {req['method']}")
            continue
        if socket not in method["x-roles"]:
            problems.append(f"{where}: success for {req['method']} on {socket}, which its x-roles forbid")
        if req["method"] != "hello" and socket not in hello_done:
            problems.append(f"{where}: success for {req['method']} before hello on {socket}")
        v = validator(doc, params_schema(method))
        problems += [f"{where}: request params {e}" for e in schema_errors(v, params, send_ignore)]
        ignore = check_vary(resp, vary, "result", introduced, where, problems)
        v = validator(doc, method["result"]["schema"])
        problems += [f"{where}: {req['method']} result {e}" for e in schema_errors(v, resp["result"], ignore)]
        if req["method"] == "hello":
            hello_done.add(socket)
            if resp["result"].get("role") != socket:
                problems.append(f"{where}: hello on {socket} answered role {resp['result'].get('role')}")

    assert not pending, f"requests never answered: {[r for _, r in pending.values()]}"
    assert not problems, "\n".join(problems)


def check_vary(message, vary, member, introduced, where, problems):
    """Checks a recv's vary list and returns the paths (relative to `member`) whose placeholder
    values schema validation must not judge."""
    vary = vary or []
    listed = set()
    for ptr in vary:
        try:
            value = resolve_pointer(message, ptr)
        except (KeyError, IndexError, ValueError) as e:
            problems.append(f"{where}: vary pointer {ptr} does not resolve ({e})")
            continue
        if not (isinstance(value, str) and PLACEHOLDER.match(value)):
            problems.append(f"{where}: vary pointer {ptr} must point at a placeholder \"<name>\", found {value!r}")
        listed.add(ptr)
    for ptr, ph in placeholders_in(message):
        if ptr not in listed:
            problems.append(f"{where}: placeholder {ph} at {ptr} is not listed in a vary line")
        introduced.add(ph)
    ignore = set()
    for ptr in listed:
        parts = [t.replace("~1", "/").replace("~0", "~") for t in ptr[1:].split("/")]
        if parts and parts[0] == member:
            ignore.add(tuple(parts[1:]))
        else:
            problems.append(f"{where}: vary pointer {ptr} is outside /{member}")
    return ignore


# --------------------------------------------------------------------------------------------
# The prose specification keeps up


def test_readme_lists_every_method_and_error_kind(doc):
    readme = (ROOT / "Protocol" / "README.md").read_text(encoding="utf-8")
    missing = [m["name"] for m in doc["methods"] if f"| `{m['name']}` |" not in readme]
    assert not missing, f"Protocol/README.md §4 lacks methods {missing}"
    for e in doc["x-errors"]:
        assert f"| {e['code']} | `{e['kind']}` |" in readme, f"Protocol/README.md §5 lacks {e['code']} {e['kind']}"
