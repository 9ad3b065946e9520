#!/usr/bin/env python3
"""Checks a dist-provenance.intoto.jsonl: each line a DSSE envelope whose payload is an in-toto
Statement v1 (validated by in-toto-attestation's own Statement.validate) carrying a SLSA
provenance v1 predicate (parsed strictly into in-toto-attestation's Provenance message, then
the fields SLSA requires checked: the Python package has no validate() for provenance).

Usage: validate_provenance.py FILE. Prints "valid" and exits 0, else the problem and exits 1.
"""
import base64
import json
import sys

from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement

PAYLOAD_TYPE = "application/vnd.in-toto+json"
SLSA_V1 = "https://slsa.dev/provenance/v1"
# Digest lengths in bytes for the algorithms the spec names (others, like blake3, are free).
SIZES = {"sha256": 32, "sha512": 64, "sha1": 20, "gitCommit": 20}


def check_descriptor(rd, where):
    ResourceDescriptor.copy_from_pb(rd).validate()
    for algo, value in rd.digest.items():
        size = SIZES.get(algo)
        if size is not None and len(bytes.fromhex(value)) != size:
            raise ValueError(f"{where}: {algo} is not {size} bytes of hex")


def check(envelope):
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise ValueError(f"payloadType is {envelope.get('payloadType')!r}")
    if not isinstance(envelope.get("signatures"), list):
        raise ValueError("signatures is not a list")
    raw = json.loads(base64.b64decode(envelope["payload"], validate=True))
    # Spec spellings only: protobuf would also take predicate_type.
    for key in raw:
        if key not in ("_type", "subject", "predicateType", "predicate"):
            raise ValueError(f"unknown statement field {key!r}")
    st = json_format.ParseDict(raw, statement_pb2.Statement())
    Statement.copy_from_pb(st).validate()
    for i, s in enumerate(st.subject):
        if not s.digest:
            raise ValueError(f"subject {i} has no digest")
        check_descriptor(s, f"subject {i}")
    if st.predicate_type != SLSA_V1:
        raise ValueError(f"predicateType is {st.predicate_type!r}")
    prov = json_format.ParseDict(raw["predicate"], provenance_pb2.Provenance())
    bd = prov.build_definition
    if not prov.HasField("build_definition") or not bd.build_type:
        raise ValueError("buildDefinition.buildType is required")
    if not bd.HasField("external_parameters"):
        raise ValueError("buildDefinition.externalParameters is required")
    for i, rd in enumerate(bd.resolved_dependencies):
        check_descriptor(rd, f"resolvedDependencies[{i}]")
    if not prov.run_details.builder.id:
        raise ValueError("runDetails.builder.id is required")


def main(path):
    lines = [l for l in open(path, encoding="utf-8").read().splitlines() if l.strip()]
    if not lines:
        raise ValueError("no envelope")
    for n, line in enumerate(lines, 1):
        try:
            check(json.loads(line))
        except Exception as e:  # every failure is a finding, named by line
            raise ValueError(f"line {n}: {e}") from e


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as e:
        print(f"invalid: {e}")
        sys.exit(1)
    print("valid")
