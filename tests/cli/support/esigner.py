"""A stand-in for SSL.com's eSigner on 127.0.0.1, for the signing tests: its OAuth token
endpoint (password grant) and the four Cloud Signature Consortium calls CodeSignTool makes
(credentials/info, credentials/authorize, signatures/signHash). It checks what the real
service checks: the account's username and password, the bearer token, the credential ID, a
current one-time password (RFC 6238 from the base64 TOTP secret, computed here on its own),
and that the hashes signed are the ones the SAD authorized. It signs with the test key. It is
strict where the real service may be: a one-time password is taken once (RFC 6238's advice),
and with TOKEN_USES a token is refused (HTTP 401, as an expired one) after that many calls.

usage: esigner.py STATE_DIR PORT USERNAME PASSWORD CREDENTIAL_ID TOTP_SECRET_B64 KEY_PEM CHAIN_PEM [TOKEN_USES]
STATE_DIR/requests.jsonl records each call: path, body (the password left out), answer's status.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import ssl
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

STATE, PORT, USERNAME, PASSWORD, CREDENTIAL, TOTP_B64, KEY_PEM, CHAIN_PEM = sys.argv[1:9]
with open(KEY_PEM, "rb") as f:
    KEY = serialization.load_pem_private_key(f.read(), password=None)
with open(CHAIN_PEM) as f:
    CHAIN = [
        base64.b64encode(ssl.PEM_cert_to_DER_cert("-----BEGIN CERTIFICATE-----" + block)).decode()
        for block in f.read().split("-----BEGIN CERTIFICATE-----")[1:]
    ]
TOKEN_USES = int(sys.argv[9]) if len(sys.argv) > 9 else None
TOKENS = {}
SADS = {}
USED_OTPS = set()
ALGORITHMS = {"1.2.840.113549.1.1.11": "rsa", "1.2.840.10045.4.3.2": "ec"}


def otp(at):
    mac = hmac.new(base64.b64decode(TOTP_B64), struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    at = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[at:at + 4])[0] & 0x7FFFFFFF) % 1000000)


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        with open(os.path.join(STATE, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"path": self.path, "body": self.logged, "status": status}) + "\n")
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, status, why):
        self.answer(status, {"error": "invalid_request", "error_description": why})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        self.logged = {k: v for k, v in body.items() if k != "password"}
        if self.path == "/oauth2/token":
            return self.token(body)
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if token not in TOKENS:
            return self.refuse(401, "invalid or missing access token")
        TOKENS[token] += 1
        if TOKEN_USES is not None and TOKENS[token] > TOKEN_USES:
            return self.refuse(401, "the access token has expired")
        if body.get("credentialID") != CREDENTIAL:
            return self.refuse(400, "invalid credentialID")
        if self.path == "/csc/v0/credentials/info":
            return self.answer(200, {"key": {"status": "enabled"}, "cert": {"certificates": CHAIN}})
        if self.path == "/csc/v0/credentials/authorize":
            return self.authorize(body)
        if self.path == "/csc/v0/signatures/signHash":
            return self.sign(body)
        self.refuse(404, "no such call")

    def token(self, body):
        if body.get("grant_type") != "password" or not body.get("client_id"):
            return self.refuse(400, "unsupported grant")
        if body.get("username") != USERNAME or body.get("password") != PASSWORD:
            return self.answer(401, {"error": "invalid_grant", "error_description": "bad credentials"})
        token = secrets.token_urlsafe(24)
        TOKENS[token] = 0
        self.answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def authorize(self, body):
        now = time.time()
        code = body.get("OTP")
        if code not in {otp(now - 30), otp(now), otp(now + 30)}:
            return self.refuse(400, "invalid OTP")
        if code in USED_OTPS:
            return self.refuse(400, "the OTP was used already")
        USED_OTPS.add(code)
        hashes_ = body.get("hash") or []
        if len(hashes_) != body.get("numSignatures"):
            return self.refuse(400, "numSignatures does not match the hashes")
        sad = secrets.token_urlsafe(24)
        SADS[sad] = list(hashes_)
        self.answer(200, {"SAD": sad})

    def sign(self, body):
        authorized = SADS.pop(body.get("SAD"), None)
        if authorized is None or authorized != body.get("hash"):
            return self.refuse(400, "the SAD does not authorize these hashes")
        kind = ALGORITHMS.get(body.get("signAlgo"))
        if kind is None or (kind == "rsa") != isinstance(KEY, rsa.RSAPrivateKey):
            return self.refuse(400, "signAlgo does not fit the key")
        signatures = []
        for h in authorized:
            digest = base64.b64decode(h)
            if len(digest) != 32:
                return self.refuse(400, "a hash is not SHA-256")
            if kind == "rsa":
                sig = KEY.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
            else:
                sig = KEY.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            signatures.append(base64.b64encode(sig).decode())
        self.answer(200, {"signatures": signatures})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
