"""An HTTP/1.1 server that keeps connections open between requests, as
llama-server's (cpp-httplib) does: GET /health answers 200 {"status":"ok"}
with keep-alive.  Each answer prints "connections=C requests=R" (on
stdout, a line each) so that a test can tell whether a client came back on
a connection it had already opened.
    keepalive_server.py PORT"""
import http.server
import socketserver
import sys
import threading

lock = threading.Lock()
counts = {"connections": 0, "requests": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive unless the client says close

    def setup(self):
        with lock:
            counts["connections"] += 1
        super().setup()

    def do_GET(self):
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with lock:
            counts["requests"] += 1
            line = "connections=%d requests=%d\n" % (counts["connections"], counts["requests"])
        sys.stdout.write(line)
        sys.stdout.flush()

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
