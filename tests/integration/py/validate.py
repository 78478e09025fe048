#!/usr/bin/env python3
"""Validate JSON files against a JSON Schema (draft 2020-12) with the
jsonschema library (Debian's python3-jsonschema).

usage: validate.py SCHEMA FILE...   ("-" reads one document from stdin)
Prints "valid FILE" or "invalid FILE: <path>: <message>" per file; exits 1
when any file is invalid, 2 when the schema itself is not valid.
"""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
cls = jsonschema.Draft202012Validator
try:
    cls.check_schema(schema)
except jsonschema.exceptions.SchemaError as e:
    print("bad schema %s: %s" % (sys.argv[1], e.message))
    sys.exit(2)
validator = cls(schema)
bad = 0
for name in sys.argv[2:]:
    doc = json.load(sys.stdin if name == "-" else open(name))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        bad += 1
        e = errors[0]
        print("invalid %s: /%s: %s" % (name, "/".join(str(p) for p in e.absolute_path), e.message))
    else:
        print("valid %s" % name)
sys.exit(1 if bad else 0)
