// Package wiredb is a minimal pure-Go database/sql driver for the toy database server of
// cmd dashboard (one line per query, one line per reply). It waits for the server the way a
// pure-Go driver does: a Read on a net.Conn, which parks the goroutine on the netpoller
// (state "IO wait") and holds no thread. It honours the context: the deadline becomes the
// socket's (net.Conn.SetDeadline), so the netpoller wakes the read when it expires.
package wiredb

import (
	"bufio"
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Driver opens connections to the toy server at the DSN "host:port".
type Driver struct{}

// Open dials the server.
func (Driver) Open(addr string) (driver.Conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, r: bufio.NewReader(nc)}, nil
}

type conn struct {
	nc net.Conn
	r  *bufio.Reader
}

func (c *conn) Prepare(string) (driver.Stmt, error) {
	return nil, errors.New("wiredb: no prepared statements")
}
func (c *conn) Close() error              { return c.nc.Close() }
func (c *conn) Begin() (driver.Tx, error) { return nil, errors.New("wiredb: no transactions") }

// QueryContext sends the query and reads the reply: the number of rows.
func (c *conn) QueryContext(ctx context.Context, query string, _ []driver.NamedValue) (driver.Rows, error) {
	deadline, _ := ctx.Deadline() // zero: no deadline
	c.nc.SetDeadline(deadline)
	if _, err := io.WriteString(c.nc, query+"\n"); err != nil {
		return nil, driver.ErrBadConn
	}
	reply, err := c.r.ReadString('\n')
	if err != nil {
		if ctx.Err() != nil { // the deadline woke the read: the query is abandoned
			c.nc.Close()
			return nil, ctx.Err()
		}
		return nil, driver.ErrBadConn
	}
	n, err := strconv.Atoi(strings.TrimSpace(reply))
	if err != nil {
		return nil, err
	}
	return NewRows(n), nil
}

// Rows yields n dashboard points (series, ts, value, host).
type Rows struct{ i, n int }

// NewRows returns n points.
func NewRows(n int) *Rows { return &Rows{n: n} }

func (r *Rows) Columns() []string { return []string{"series", "ts", "value", "host"} }
func (r *Rows) Close() error      { return nil }

// Next fills one point.
func (r *Rows) Next(dest []driver.Value) error {
	if r.i >= r.n {
		return io.EOF
	}
	dest[0] = "cpu.user." + strconv.Itoa(r.i%16)
	dest[1] = time.Unix(1700000000, 0).UnixNano() + int64(r.i)
	dest[2] = float64(r.i) * 0.5
	dest[3] = "host-" + strconv.Itoa(r.i%8) + ".example"
	r.i++
	return nil
}
