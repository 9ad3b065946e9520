#!/usr/bin/env python3
"""A small npm registry on 127.0.0.1 for the tests: what `npm publish`, `npm view`,
`npm install` and `pnpm install` use of the registry API, kept in a directory.

    npm_registry.py DIR PORT TOKEN

- PUT /NAME (a publish document: versions and base64 `_attachments`) stores each tarball as
  DIR/tarballs/FILE and its version in DIR/packages/NAME.json; it needs `Authorization: Bearer
  TOKEN` and, like registry.npmjs.org, refuses to publish over a version (403).
- GET /NAME (a scoped NAME may come as @scope%2fname) returns the packument; GET
  /-/tarballs/FILE returns a tarball. Anything else is 404.
Every request is logged to DIR/requests.log as "METHOD PATH STATUS".
"""

import base64
import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT, PORT, TOKEN = sys.argv[1], int(sys.argv[2]), sys.argv[3]
BASE = f"http://127.0.0.1:{PORT}"
os.makedirs(os.path.join(ROOT, "packages"), exist_ok=True)
os.makedirs(os.path.join(ROOT, "tarballs"), exist_ok=True)


def doc_path(name):
    return os.path.join(ROOT, "packages", name.replace("/", "%2f") + ".json")


def load(name):
    try:
        with open(doc_path(name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


class Registry(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        with open(os.path.join(ROOT, "requests.log"), "a") as log:
            log.write(f"{self.command} {self.path} {status}\n")

    def name(self):
        return urllib.parse.unquote(self.path.split("?")[0].lstrip("/"))

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/-/tarballs/"):
            file = os.path.basename(urllib.parse.unquote(path))
            try:
                with open(os.path.join(ROOT, "tarballs", file), "rb") as f:
                    return self.reply(200, f.read(), "application/octet-stream")
            except FileNotFoundError:
                return self.reply(404, {"error": "not found"})
        doc = load(self.name())
        if doc is None:
            return self.reply(404, {"error": "not found"})
        return self.reply(200, doc)

    do_HEAD = do_GET

    def do_PUT(self):
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.reply(401, {"error": "authentication required"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = self.name()
        if body.get("name") != name:
            return self.reply(400, {"error": f"document names {body.get('name')}, URL {name}"})
        doc = load(name) or {"name": name, "versions": {}, "dist-tags": {}}
        for version, meta in body.get("versions", {}).items():
            if version in doc["versions"]:
                return self.reply(403, {"error": f"cannot publish over {name}@{version}"})
        for file, attachment in body.get("_attachments", {}).items():
            data = base64.b64decode(attachment["data"])
            with open(os.path.join(ROOT, "tarballs", os.path.basename(file)), "wb") as f:
                f.write(data)
        for version, meta in body.get("versions", {}).items():
            file = os.path.basename(urllib.parse.urlparse(meta["dist"]["tarball"]).path)
            meta["dist"]["tarball"] = f"{BASE}/-/tarballs/{file}"
            doc["versions"][version] = meta
        doc["dist-tags"].update(body.get("dist-tags", {}))
        with open(doc_path(name), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
        return self.reply(201, {"ok": True})


ThreadingHTTPServer(("127.0.0.1", PORT), Registry).serve_forever()
