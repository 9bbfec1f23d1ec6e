"""Runs INSIDE a sandbox in the gateway tests: an HTTP echo server that also speaks WebSocket
(stdlib only, since the sandbox's python3 is the host's system python)."""

import base64
import hashlib
import json
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAGIC = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _echo(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            body = b""
            while size := int(self.rfile.readline().strip(), 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        reply = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_len": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
        ).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("X-Upstream", "echo")
        query = parse_qs(urlsplit(self.path).query)
        for cookie in query.get("set_cookie", []):  # headers the tests want the app to send
            self.send_header("Set-Cookie", cookie)
        for header in query.get("header", []):
            self.send_header(*header.split(":", 1))
        self.end_headers()
        self.wfile.write(reply)

    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self._websocket()
        self._echo()

    do_POST = do_PUT = do_DELETE = do_PATCH = _echo

    def _websocket(self):
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + MAGIC).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack(">H", self.rfile.read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
            if opcode == 8:
                self.wfile.write(b"\x88\x02\x03\xe8")
                return
            if opcode == 1:
                out = ("echo:" + data.decode()).encode()
                self.wfile.write(bytes([0x81, len(out)]) + out if len(out) < 126 else b"")
                self.wfile.flush()


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
