"""Read each file given on the command line in four ways and say, per file
and way, whether the result agrees with read(2).

    copy_paths.py FILE...

For each FILE: the content by read(2) until EOF; then through sendfile(2)
into a pipe, splice(2) into a pipe and copy_file_range(2) into a regular
file.  Each of those must either give the same bytes as read(2) or fail
with an error: a short or empty copy (a silent EOF) is the failure this
looks for.  Files whose content may change between two opens are read
until two read(2)s agree, and the copy is compared with both.
Prints "FILE WAY ok|error ERRNO|MISMATCH" lines; exits 0."""
import errno
import os
import sys
import tempfile


def by_read(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        out = b""
        while True:
            b = os.read(fd, 65536)
            if not b:
                return out
            out += b
    finally:
        os.close(fd)


def drain(rfd):
    out = b""
    while True:
        try:
            b = os.read(rfd, 65536)
        except BlockingIOError:
            return out
        if not b:
            return out
        out += b


def by_pipe(path, way):
    fd = os.open(path, os.O_RDONLY)
    r, w = os.pipe2(os.O_NONBLOCK)
    out = b""
    try:
        while True:
            if way == "sendfile":
                n = os.sendfile(w, fd, None, 65536)
            else:
                n = os.splice(fd, w, 65536)
            out += drain(r)
            if n == 0:
                return out
    finally:
        for x in (fd, r, w):
            os.close(x)


def by_cfr(path):
    fd = os.open(path, os.O_RDONLY)
    with tempfile.TemporaryFile() as t:
        try:
            while os.copy_file_range(fd, t.fileno(), 65536) > 0:
                pass
        finally:
            os.close(fd)
        t.seek(0)
        return t.read()


def main():
    for path in sys.argv[1:]:
        for way in ("sendfile", "splice", "copy_file_range"):
            before = by_read(path)
            try:
                got = by_cfr(path) if way == "copy_file_range" else by_pipe(path, way)
            except OSError as e:
                print(path, way, "error", errno.errorcode.get(e.errno, e.errno))
                continue
            after = by_read(path)
            ok = got in (before, after)
            print(path, way, "ok" if ok else "MISMATCH got %d bytes, read %d" % (len(got), len(before)))


main()
