#!/usr/bin/env python3
"""httpd.py ADDR PORT DIR - a plain HTTP file server for the lab tests:
GET serves DIR's files, PUT stores the body as DIR/NAME (uploads), and
GET /wait/SEC/PATH answers PATH after SEC seconds (a server that thinks,
a long poll).

http.server's own server looks its address up in DNS when it binds
(socket.getfqdn), and a lab namespace has no DNS: it would hang for the
resolver's timeouts before it listens. This one binds and serves.
"""
import http.server
import os
import socket
import socketserver
import time
import sys
from functools import partial


class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = self.path.split("/", 3)
        if len(parts) == 4 and parts[1] == "wait":
            try:
                time.sleep(min(float(parts[2]), 60))
            except ValueError:
                self.send_error(400)
                return
            self.path = "/" + parts[3]
        super().do_GET()

    def do_PUT(self):
        name = os.path.basename(self.path)
        left = int(self.headers.get("Content-Length", "0"))
        if not name or left < 0:
            self.send_error(400)
            return
        with open(os.path.join(self.directory, name), "wb") as f:
            while left:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    return          # the client went away
                f.write(chunk)
                left -= len(chunk)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    addr, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    Server.address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    Server((addr, port), partial(Quiet, directory=root)).serve_forever()


if __name__ == "__main__":
    main()
