# A fake S3 that misbehaves on purpose, for the S3 store's retry tests (tests/contract/server_test.cpp
# starts it): keys under slow503/ answer 503 SlowDown twice, then succeed; always503/ always do;
# err500/ answers 500 InternalError once; reset/ closes the connection without an answer once;
# trunc/ announces 100 bytes and sends 10, once; stall/ never answers; forbidden/ answers 403
# AccessDenied; DeleteObjects reports InternalError for keys containing "flaky" the first time
# and AccessDenied for keys containing "denied". Anything else is a plain in-memory store. It
# checks no signature.
#
#   python3 faulty-s3.py      prints "faulty-s3 ready PORT" once it listens on 127.0.0.1:PORT
import sys, threading, time, re
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
counts = {}
lock = threading.Lock()
store = {}
def bump(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1
        return counts[key]
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def err(self, status, code, msg):
        body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{msg}</Message></Error>'.encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)
    def body(self):
        n = int(self.headers.get('Content-Length', 0))
        return self.rfile.read(n) if n else b''
    def handle_any(self):
        data = self.body()
        path = self.path
        n = bump(self.command + ' ' + path)
        if '/always503/' in path:
            return self.err(503, 'SlowDown', 'Please reduce your request rate.')
        if '/slow503/' in path and n <= 2:
            return self.err(503, 'SlowDown', 'Please reduce your request rate.')
        if '/err500/' in path and n <= 1:
            return self.err(500, 'InternalError', 'We encountered an internal error. Please try again.')
        if '/reset/' in path and n <= 1:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if '/stall/' in path:
            time.sleep(30)
            return
        if '/trunc/' in path and n <= 1 and self.command == 'GET':
            self.send_response(200)
            self.send_header('Content-Length', '100')
            self.end_headers()
            self.wfile.write(b'x' * 10)
            self.close_connection = True
            return
        if '/forbidden/' in path:
            return self.err(403, 'AccessDenied', 'Access Denied')
        if self.command == 'POST' and path.endswith('?delete='):
            keys = re.findall(rb'<Key>(.*?)</Key>', data)
            out = b'<?xml version="1.0" encoding="UTF-8"?><DeleteResult>'
            for k in keys:
                if b'flaky' in k and bump(b'del ' + k) <= 1:
                    out += b'<Error><Key>' + k + b'</Key><Code>InternalError</Code><Message>try again</Message></Error>'
                elif b'denied' in k:
                    out += b'<Error><Key>' + k + b'</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
                else:
                    store.pop(k.decode(), None)
            out += b'</DeleteResult>'
            self.send_response(200)
            self.send_header('Content-Length', str(len(out)))
            self.end_headers()
            return self.wfile.write(out)
        key = path
        if self.command == 'PUT':
            store[key] = data
            self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers(); return
        if self.command == 'DELETE':
            store.pop(key, None)
            self.send_response(204); self.end_headers(); return
        if key not in store:
            return self.err(404, 'NoSuchKey', 'The specified key does not exist.')
        v = store[key]
        self.send_response(200)
        self.send_header('Content-Length', str(len(v)))
        self.end_headers()
        if self.command == 'GET':
            self.wfile.write(v)
    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any
srv = ThreadingHTTPServer(('127.0.0.1', 0), H)  # port 0: the kernel picks a free one
print('faulty-s3 ready', srv.server_address[1], flush=True)
srv.serve_forever()
