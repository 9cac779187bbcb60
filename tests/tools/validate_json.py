#!/usr/bin/python3
"""Validates JSON documents against a JSON Schema (Debian's python3-jsonschema).

Usage: validate_json.py SCHEMA DOCUMENT... [--extra-namespace NAME]

The draft comes from the schema's "$schema" (draft 2020-12 when absent, as for kcidb-io's
v5.3 schema, which uses "$defs"). --extra-namespace adds a rule group to the namespace enum of
reports/nsconform-report.schema.json, and the matching "namespace is the ID prefix" clause:
the harness self-tests register their purpose-built cases under a `selftest.` group that a
real report must never contain.

Prints one line per problem ("DOCUMENT: /json/pointer: message") and exits 1 if any document
is invalid, 2 on a usage or schema error, 0 otherwise.
"""
import json
import sys

import jsonschema


def main(argv):
    extra = []
    paths = []
    i = 0
    while i < len(argv):
        if argv[i] == "--extra-namespace":
            extra.append(argv[i + 1])
            i += 2
        else:
            paths.append(argv[i])
            i += 1
    if len(paths) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(paths[0]) as f:
        schema = json.load(f)
    for name in extra:
        defs = schema["definitions"]
        defs["namespace"]["enum"].append(name)
        defs["namespace_is_id_prefix"]["allOf"].append({
            "if": {"properties": {"namespace": {"const": name}}},
            "then": {"properties": {"id": {"pattern": "^" + name + "\\."}}},
        })
    if "$schema" in schema:
        cls = jsonschema.validators.validator_for(schema)
    else:
        cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    validator = cls(schema)
    bad = 0
    for path in paths[1:]:
        with open(path) as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors[:50]:
            pointer = "/" + "/".join(str(p) for p in e.absolute_path)
            print(f"{path}: {pointer}: {e.message[:500]}")
        if errors:
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print(f"validate_json.py: {e}", file=sys.stderr)
        sys.exit(2)
