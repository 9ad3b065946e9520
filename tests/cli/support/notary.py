"""A stand-in for Apple's notary service (REST API v2) on 127.0.0.1, for the notarization tests.

It checks what the real service checks first and can be checked here: the App Store Connect
token (ES256, verified with the API key's public half; its kid, iss, aud and lifetime), the
uploaded zip against the SHA-256 the submission named, and each Mach-O in it: a code signature
with the hardened runtime and a secure timestamp (an RFC 3161 token in the CMS signature).
Uploads go to moto's S3 server with credentials this service hands out, as Apple's do.

usage: notary.py STATE_DIR PORT MOTO_PORT BUCKET PUBLIC_KEY_PEM ISSUER KEY_ID
STATE_DIR/requests.jsonl records each call; STATE_DIR/uploads/ITS_ID.zip each upload.
"""

import base64
import hashlib
import io
import json
import os
import struct
import sys
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

STATE, PORT, MOTO, BUCKET, PUBLIC, ISSUER, KEY_ID = sys.argv[1:8]
with open(PUBLIC, "rb") as f:
    PUBLIC_KEY = serialization.load_pem_public_key(f.read())
SUBMISSIONS = {}
# id-aa-timeStampToken (1.2.840.113549.1.9.16.2.14), as DER.
TIMESTAMP_OID = bytes.fromhex("060b2a864886f70d010910020e")
LC_CODE_SIGNATURE = 0x1D
CS_RUNTIME = 0x10000


def b64url(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def token_problem(header):
    """Why the bearer token is refused, or None."""
    if not header.startswith("Bearer "):
        return "no bearer token"
    parts = header[len("Bearer "):].split(".")
    if len(parts) != 3:
        return "not a JWT"
    head, claims = json.loads(b64url(parts[0])), json.loads(b64url(parts[1]))
    if head.get("alg") != "ES256" or head.get("kid") != KEY_ID or head.get("typ") != "JWT":
        return f"header {head}"
    if claims.get("iss") != ISSUER or claims.get("aud") != "appstoreconnect-v1":
        return f"claims {claims}"
    now = time.time()
    if not claims["iat"] - 60 <= now <= claims["exp"] or claims["exp"] - claims["iat"] > 1200:
        return f"lifetime {claims}"
    raw = b64url(parts[2])
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        PUBLIC_KEY.verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "bad signature"
    return None


def macho_problems(name, data):
    """What the notary would say about one file: the log's issues."""
    def issue(message):
        return {"severity": "error", "path": name, "message": message, "architecture": "arm64"}

    if data[:4] != b"\xcf\xfa\xed\xfe":
        return [issue("The binary is not a 64-bit Mach-O.")]
    ncmds = struct.unpack_from("<I", data, 16)[0]
    at, signature = 32, None
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, at)
        if cmd == LC_CODE_SIGNATURE:
            signature = struct.unpack_from("<II", data, at + 8)
        at += size
    if signature is None:
        return [issue("The binary is not signed.")]
    off, _ = signature
    magic, _, count = struct.unpack_from(">III", data, off)
    assert magic == 0xFADE0CC0, "not an embedded signature"
    flags, cms = None, b""
    for i in range(count):
        kind, blob = struct.unpack_from(">II", data, off + 12 + 8 * i)
        bmagic, blen = struct.unpack_from(">II", data, off + blob)
        if kind == 0:
            flags = struct.unpack_from(">I", data, off + blob + 12)[0]
        if kind == 0x10000:
            cms = data[off + blob + 8:off + blob + blen]
    issues = []
    if not cms or len(cms) < 100:
        issues.append(issue("The binary is not signed with a valid Developer ID certificate."))
    if flags is None or not flags & CS_RUNTIME:
        issues.append(issue("The executable does not have the hardened runtime enabled."))
    if TIMESTAMP_OID not in cms:
        issues.append(issue("The signature does not include a secure timestamp."))
    return issues


class Notary(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, **fields):
        with open(os.path.join(STATE, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, **fields}) + "\n")

    def authorised(self):
        problem = token_problem(self.headers.get("Authorization", ""))
        self.record(token=problem or "ok")
        if problem:
            self.answer(401, {"errors": [{"status": "401", "detail": problem}]})
        return problem is None

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/notary/v2/submissions":
            return self.answer(404, {})
        if not self.authorised():
            return None
        sid = str(uuid.uuid4())
        name = body["submissionName"]
        SUBMISSIONS[sid] = {"sha256": body["sha256"], "name": name, "polls": 0}
        attributes = {
            "awsAccessKeyId": "ASIANOTARYTEST",
            "awsSecretAccessKey": "notary-test-secret",
            "awsSessionToken": "notary-test-session",
            "bucket": BUCKET,
            "object": f"prod/{sid}/{name}",
        }
        self.answer(200, {"data": {"attributes": attributes, "id": sid, "type": "newSubmissions"}, "meta": {}})

    def verdict(self, sid):
        """Status and issues once the upload is looked at."""
        s = SUBMISSIONS[sid]
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{MOTO}",
            region_name="us-west-2",
            aws_access_key_id="ASIANOTARYTEST",
            aws_secret_access_key="notary-test-secret",
        )
        data = s3.get_object(Bucket=BUCKET, Key=f"prod/{sid}/{s['name']}")["Body"].read()
        with open(os.path.join(STATE, "uploads", f"{sid}.zip"), "wb") as f:
            f.write(data)
        if hashlib.sha256(data).hexdigest() != s["sha256"]:
            return "Invalid", [{"severity": "error", "path": s["name"], "message": "sha256 differs"}]
        issues = []
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for member in z.namelist():
                issues += macho_problems(f"{s['name']}/{member}", z.read(member))
        return ("Invalid" if issues else "Accepted"), issues

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts[0] == "log":
            s = SUBMISSIONS[parts[1]]
            return self.answer(200, {"jobId": parts[1], "status": s["status"], "issues": s["issues"] or None})
        if parts[:3] != ["notary", "v2", "submissions"] or len(parts) < 4:
            return self.answer(404, {})
        if not self.authorised():
            return None
        sid = parts[3]
        s = SUBMISSIONS[sid]
        if len(parts) == 5:
            url = f"http://127.0.0.1:{PORT}/log/{sid}"
            return self.answer(200, {"data": {"attributes": {"developerLogUrl": url}, "id": sid, "type": "submissionsLog"}})
        # The first look says "In Progress", as Apple's usually does.
        s["polls"] += 1
        if s["polls"] == 1:
            status = "In Progress"
        else:
            if "status" not in s:
                s["status"], s["issues"] = self.verdict(sid)
            status = s["status"]
        self.answer(200, {"data": {"attributes": {"status": status, "name": s["name"]}, "id": sid, "type": "submissions"}})


os.makedirs(os.path.join(STATE, "uploads"), exist_ok=True)
ThreadingHTTPServer(("127.0.0.1", int(PORT)), Notary).serve_forever()
