#!/usr/bin/env python3
"""A strict reader of the Prometheus text exposition format (0.0.4).

usage: promcheck.py FILE        ("-": stdin)
Checks every line: "# HELP name text", "# TYPE name counter|gauge|...",
other "#" comments, or a sample "name{label="value",...} value [timestamp]".
Names and label names must be valid, label values may only use the escapes
\\\\, \\" and \\n, a family's TYPE comes once and before its samples, its
samples are contiguous, no series appears twice, values are numbers, and
counters end in _total.  Prints each problem with its line number and exits
1 when there is one; otherwise prints the series as JSON lines
{"name":..,"labels":{..},"value":..} and exits 0.
"""
import json
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r"[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|NaN|Inf)"
sample_re = re.compile(r"^(%s)(?:\{(.*)\})? (%s)(?: -?[0-9]+)?$" % (NAME, VALUE))
label_re = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)' % LABEL)
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}

text = (sys.stdin if sys.argv[1] == "-" else open(sys.argv[1], encoding="utf-8")).read()
problems, series, seen = [], [], set()
types, helps, done, current = {}, set(), set(), None


def bad(n, msg):
    problems.append("line %d: %s" % (n, msg))


def family_of(name):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


if text and not text.endswith("\n"):
    bad(text.count("\n") + 1, "the last line has no newline")
for n, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1):
    if line.startswith("#"):
        parts = line.split(None, 3)
        if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
            if len(parts) < 3 or not re.fullmatch(NAME, parts[2]):
                bad(n, "%s without a valid metric name" % parts[1])
                continue
            name = parts[2]
            if parts[1] == "TYPE":
                if len(parts) < 4 or parts[3] not in TYPES:
                    bad(n, "TYPE %s: unknown type %r" % (name, parts[3] if len(parts) > 3 else ""))
                elif name in types:
                    bad(n, "TYPE %s given twice" % name)
                elif name in done or name == current:
                    bad(n, "TYPE %s after its samples" % name)
                else:
                    types[name] = parts[3]
                    if parts[3] == "counter" and not name.endswith("_total"):
                        bad(n, "counter %s does not end in _total" % name)
            else:
                if name in helps:
                    bad(n, "HELP %s given twice" % name)
                helps.add(name)
        continue
    if not line.strip():
        continue
    m = sample_re.match(line)
    if not m:
        bad(n, "not a sample: %r" % line)
        continue
    name, labels_text, value = m.group(1), m.group(2) or "", m.group(3)
    labels, pos = {}, 0
    while pos < len(labels_text):
        lm = label_re.match(labels_text, pos)
        if not lm:
            bad(n, "bad label syntax at %r" % labels_text[pos:])
            break
        if lm.group(1) in labels:
            bad(n, "label %s twice" % lm.group(1))
        labels[lm.group(1)] = lm.group(2).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        pos = lm.end()
    fam = family_of(name)
    if fam not in types:
        bad(n, "sample of %s before (or without) its TYPE" % fam)
    if fam != current:
        if fam in done:
            bad(n, "samples of %s are not together" % fam)
        if current:
            done.add(current)
        current = fam
    key = (name, tuple(sorted(labels.items())))
    if key in seen:
        bad(n, "series %s%s twice" % (name, labels))
    seen.add(key)
    series.append({"name": name, "labels": labels, "value": float(value)})

if problems:
    print("\n".join(problems))
    sys.exit(1)
for s in series:
    print(json.dumps(s, sort_keys=True))
