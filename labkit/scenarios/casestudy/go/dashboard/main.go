// Command dashboard is chapter 5's service in miniature, run once to record a real goroutine
// dump of the situations the case-study model's dumps show (labkit/scenarios/casestudy/dump.py).
//
// The server (the default role) is the article's handler: fetch the points from the database
// through database/sql (SetMaxOpenConns(-pool)), json.Marshal them and write the body; with
// -fix=stream it encodes in batches straight into the ResponseWriter, with -fix=cache it serves
// bytes a refresher goroutine marshalled (and with -fix=cache_stream copies them with io.Copy).
// -driver picks the database driver: wiredb (pure Go: the goroutine waits on the netpoller) or
// cgodb (the same protocol in a blocking C call). A render loop ticks at 60 Hz.
//
// The server starts itself again as the client (-role=client), which owns everything that must
// not appear in the server's dump: the toy database server (on a listener the server passes as
// file descriptor 3) and the dashboards. The client opens an idle keep-alive connection; a
// connection whose big response it never reads (the handler blocks writing it); with -spin, a
// request whose handler spins in a loop without calls; then -held requests whose queries the
// database never answers (with a pool of 2: two queries in flight, the rest waiting for a
// connection); and -busy dashboards that poll big answers back to back (handlers on a CPU,
// caught wherever the dump stops them). Half a second later it fetches
// /debug/pprof/goroutine?debug=2 from the server -dumps times, 150 ms apart, prints each on
// stdout after a line "==== dump N", and ends the server with SIGTERM.
//
// Standard library only (cgo for cgodb needs a C compiler). Record with
// python -m labkit.scenarios.casestudy.recording (labkit/scenarios/casestudy/recording.py: go build -trimpath).
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"labkit.local/dashboard/cgodb"
	"labkit.local/dashboard/wiredb"
)

type point struct {
	Series string  `json:"series"`
	TS     int64   `json:"ts"`
	Value  float64 `json:"value"`
	Host   string  `json:"host"`
}

var (
	db        *sql.DB
	dbTimeout time.Duration
	cacheJSON bool
	stream    bool
	drawCost  time.Duration
	cache     atomic.Pointer[[]byte]
)

// batchRows points per enc.Encode call when streaming (about 32 KiB of JSON).
const batchRows = 400

func fetchFromDB(ctx context.Context, query string) ([]point, error) {
	if dbTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dbTimeout)
		defer cancel()
	}
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []point
	for rows.Next() {
		var p point
		if err := rows.Scan(&p.Series, &p.TS, &p.Value, &p.Host); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// downsample is a loop without function calls: only asynchronous preemption stops it.
func downsample(n int) float64 {
	s := 0.0
	for i := 0; i < n; i++ {
		s += float64(i%7) * 0.5
	}
	return s
}

var sink float64

func handleMetrics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("spin") != "" {
		sink = downsample(1 << 62)
	}
	if cacheJSON {
		cached := *cache.Load()
		if stream {
			io.Copy(w, bytes.NewReader(cached))
		} else {
			w.Write(cached)
		}
		return
	}
	data, err := fetchFromDB(r.Context(), q.Get("query"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if stream {
		enc := json.NewEncoder(w)
		for len(data) > 0 {
			n := min(batchRows, len(data))
			enc.Encode(data[:n])
			data = data[n:]
		}
		return
	}
	jsonBytes, _ := json.Marshal(data)
	w.Write(jsonBytes)
}

// refreshJSONCache fetches and marshals once per period and stores the bytes.
func refreshJSONCache(period time.Duration, query string) {
	for {
		time.Sleep(period)
		data, err := fetchFromDB(context.Background(), query)
		if err != nil {
			continue
		}
		b, _ := json.Marshal(data)
		cache.Store(&b)
	}
}

// drawFrame spends the frame's CPU (-draw) on the chart.
func drawFrame() {
	for start := time.Now(); time.Since(start) < drawCost; {
		sink += 1
	}
}

func renderLoop() {
	tick := time.NewTicker(time.Second / 60)
	defer tick.Stop()
	for range tick.C {
		drawFrame()
	}
}

func serve(driverName, fix string, pool int, timeout time.Duration, period time.Duration, refreshQuery string, client []string) {
	dbLn, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	dbFile, err := dbLn.(*net.TCPListener).File()
	check(err)
	cmd := exec.Command(os.Args[0], append([]string{"-role=client", "-http=" + httpLn.Addr().String()}, client...)...)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = os.Stdout, os.Stderr, []*os.File{dbFile}
	check(cmd.Start())
	dbFile.Close()
	dbLn.Close()

	switch driverName {
	case "wiredb":
		sql.Register("wiredb", wiredb.Driver{})
	case "cgodb":
		sql.Register("cgodb", cgodb.Driver{})
	default:
		check(fmt.Errorf("unknown -driver %q", driverName))
	}
	db, err = sql.Open(driverName, dbLn.Addr().String())
	check(err)
	db.SetMaxOpenConns(pool)
	dbTimeout = timeout
	cacheJSON = fix == "cache" || fix == "cache_stream"
	stream = fix == "stream" || fix == "cache_stream"
	if cacheJSON { // fill the cache before listening, then refresh it in the background
		data, err := fetchFromDB(context.Background(), "rows=100000")
		check(err)
		b, _ := json.Marshal(data)
		cache.Store(&b)
		go refreshJSONCache(period, refreshQuery)
	}
	go renderLoop()
	http.HandleFunc("/metrics", handleMetrics)
	srv := &http.Server{}
	check(srv.Serve(httpLn))
}

// ---- the client role: the toy database and the dashboards ---------------------------------

func database(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				v, _ := url.ParseQuery(strings.TrimSpace(line))
				if v.Get("hold") != "" {
					select {} // the query never returns
				}
				n, _ := strconv.Atoi(v.Get("rows"))
				fmt.Fprintf(c, "%d\n", n)
			}
		}()
	}
}

func request(addr, path string) net.Conn {
	c, err := net.Dial("tcp", addr)
	check(err)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: dashboard\r\n\r\n", path)
	return c
}

func metrics(query string) string { return "/metrics?query=" + url.QueryEscape(query) }

// scenario is what the client does to the server before it fetches the dumps.
type scenario struct {
	idle, unread, spin bool
	held, busy, dumps  int
}

func clients(addr string, sc scenario) {
	ln, err := net.FileListener(os.NewFile(3, "db"))
	check(err)
	go database(ln)
	var keep []net.Conn
	if sc.idle { // answered, then kept open (keep-alive)
		idle := request(addr, metrics("rows=10"))
		resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
		check(err)
		io.Copy(io.Discard, resp.Body)
		keep = append(keep, idle)
	}
	if sc.unread { // a big answer nobody reads: the handler blocks writing it
		keep = append(keep, request(addr, metrics("rows=100000")))
		time.Sleep(200 * time.Millisecond)
	}
	if sc.spin {
		keep = append(keep, request(addr, "/metrics?spin=1"))
	}
	for range sc.held {
		keep = append(keep, request(addr, metrics("rows=10&hold=1")))
		time.Sleep(20 * time.Millisecond)
	}
	for range sc.busy { // dashboards that poll big answers back to back
		go func() {
			c, err := net.Dial("tcp", addr)
			check(err)
			r := bufio.NewReader(c)
			for {
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: dashboard\r\n\r\n", metrics("rows=100000"))
				resp, err := http.ReadResponse(r, nil)
				check(err)
				io.Copy(io.Discard, resp.Body)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	for i := range sc.dumps {
		dump, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=2")
		check(err)
		fmt.Printf("==== dump %d\n", i)
		io.Copy(os.Stdout, dump.Body)
		dump.Body.Close()
		time.Sleep(150 * time.Millisecond)
	}
	syscall.Kill(os.Getppid(), syscall.SIGTERM)
	_ = keep
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashboard:", err)
		os.Exit(1)
	}
}

func main() {
	role := flag.String("role", "server", "server, or client (started by the server)")
	driverName := flag.String("driver", "wiredb", "wiredb (pure Go) or cgodb (blocking C call)")
	fix := flag.String("fix", "none", "none, stream, cache or cache_stream")
	pool := flag.Int("pool", 2, "SetMaxOpenConns")
	timeout := flag.Duration("timeout", 0, "context.WithTimeout on each query (0: none)")
	period := flag.Duration("period", time.Hour, "cache refresh period")
	refreshQuery := flag.String("refresh_query", "rows=100000", "the refresher's query")
	draw := flag.Duration("draw", 0, "CPU per frame of the render loop")
	addr := flag.String("http", "", "the server's address (client role)")
	var sc scenario
	flag.BoolVar(&sc.idle, "idle", true, "open an idle keep-alive connection")
	flag.BoolVar(&sc.unread, "unread", true, "request a big answer and never read it")
	flag.BoolVar(&sc.spin, "spin", false, "send a request whose handler spins")
	flag.IntVar(&sc.held, "held", 3, "requests whose query never returns")
	flag.IntVar(&sc.busy, "busy", 0, "clients that poll big answers back to back")
	flag.IntVar(&sc.dumps, "dumps", 1, "dumps to take, 150 ms apart")
	flag.Parse()
	if *role == "client" {
		clients(*addr, sc)
		return
	}
	drawCost = *draw
	client := []string{
		fmt.Sprintf("-idle=%t", sc.idle), fmt.Sprintf("-unread=%t", sc.unread),
		fmt.Sprintf("-spin=%t", sc.spin), fmt.Sprintf("-held=%d", sc.held),
		fmt.Sprintf("-busy=%d", sc.busy), fmt.Sprintf("-dumps=%d", sc.dumps),
	}
	serve(*driverName, *fix, *pool, *timeout, *period, *refreshQuery, client)
}
