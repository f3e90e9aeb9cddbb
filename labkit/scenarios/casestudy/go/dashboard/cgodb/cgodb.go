// Package cgodb is the same driver as wiredb with the wire protocol in C, as a cgo driver that
// wraps a C client library does: each query is one blocking C call (connect once, then write
// and read(2) on a blocking socket). While the call runs, the goroutine is in a system call
// (cgocall -> entersyscall, src/runtime/cgocall.go) and holds its thread; nothing in Go can
// interrupt the C code, so the context's deadline is checked only before the call.
package cgodb

/*
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int cgodb_connect(int port) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) return -1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
	return fd;
}

// cgodb_query writes the query line and blocks in read(2) until the reply line is complete.
static int cgodb_query(int fd, const char *q, char *out, int cap) {
	size_t len = strlen(q);
	if (write(fd, q, len) != (ssize_t)len) return -1;
	int n = 0;
	while (n < cap - 1) {
		ssize_t got = read(fd, out + n, 1);
		if (got <= 0) return -1;
		if (out[n++] == '\n') break;
	}
	out[n] = 0;
	return n;
}
*/
import "C"

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strconv"
	"strings"
	"unsafe"

	"labkit.local/dashboard/wiredb"
)

// Driver opens connections to the toy server at the DSN "host:port" (the host must be
// 127.0.0.1).
type Driver struct{}

// Open connects from C.
func (Driver) Open(addr string) (driver.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	fd := C.cgodb_connect(C.int(p))
	if fd < 0 {
		return nil, errors.New("cgodb: connect failed")
	}
	return &conn{fd: fd}, nil
}

type conn struct{ fd C.int }

func (c *conn) Prepare(string) (driver.Stmt, error) {
	return nil, errors.New("cgodb: no prepared statements")
}
func (c *conn) Close() error              { C.close(c.fd); return nil }
func (c *conn) Begin() (driver.Tx, error) { return nil, errors.New("cgodb: no transactions") }

// QueryContext checks the context, then makes the one blocking C call.
func (c *conn) QueryContext(ctx context.Context, query string, _ []driver.NamedValue) (driver.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q := C.CString(query + "\n")
	defer C.free(unsafe.Pointer(q))
	var buf [64]C.char
	if C.cgodb_query(c.fd, q, &buf[0], C.int(len(buf))) < 0 {
		return nil, driver.ErrBadConn
	}
	n, err := strconv.Atoi(strings.TrimSpace(C.GoString(&buf[0])))
	if err != nil {
		return nil, err
	}
	return wiredb.NewRows(n), nil
}
