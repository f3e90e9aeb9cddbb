// Command dashboard is chapter 5's incident as a real service: GET /dashboard?id=N queries a real
// database through database/sql with a small pool (SetMaxOpenConns(-pool)), encodes the rows as
// JSON and writes the response. The query is slow inside the database engine (db.go): each one
// is planned to take a time drawn from a lognormal (-db-median-ms, -db-sigma), spent counting a
// recursive CTE (-slow=work) or in pg_sleep (-slow=sleep, PostgreSQL), never in Go.
//
// Chapter 5's three fixes are flags:
//
//	-cache-json       a refresher goroutine sleeps -refresh-ms, then queries and marshals
//	                  every dashboard in turn, and again; handlers write the cached bytes (JSON
//	                  off the request path)
//	-stream           encode rows into the ResponseWriter as they are scanned, through a 32 KiB
//	                  buffer (the send overlaps the scan); with -cache-json, io.Copy the bytes
//	-db-timeout-ms    context.WithTimeout on the query (the article's 50 ms); the engine really
//	                  stops (sqlite3_interrupt / PostgreSQL's cancel request), and the handler
//	                  falls back to the last good body of that dashboard (an LRU of -lru)
//
// and so are the capstone's causes a real service can have: a small pool (-pool), a huge payload
// (-rows), the cgo driver (-db=sqlite: each query a C call holding a thread) against the pure-Go
// one (-db=postgres), a loop without calls in the handler (-hot-loop-ms), GOMAXPROCS and GOGC
// (environment). A render loop in the same process draws 60 frames a second of -frame-cpu-ms.
//
// Queries take the request's context, as the article's fetchFromDB(r.Context()) does. With
// go-sqlite3 (1.14.16) that costs a goroutine and a channel per row: SQLiteRows.Next runs each
// step in a new goroutine whenever the context can be cancelled, so that it can call
// sqlite3_interrupt when the context ends (sqlite3.go:2162-2181). A 1000-row dashboard is 1000
// goroutines per request; the trace and the goroutine counts show them.
//
// Prometheus at /metrics: dashboard_request_seconds{outcome} (ok, fallback, cached, error),
// dashboard_db_query_seconds{outcome} (ok, cancelled, error), dashboard_db_fallbacks_total,
// dashboard_render_fps, dashboard_frames_total, go_sql_* (database/sql's pool: waits, in use)
// and the runtime's go_sched_* / go_gc_*; net/http/pprof at /debug/pprof/, runtime/metrics at
// /debug/metrics, the service's own counts at /debug/stats.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime/trace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"labkit.local/services/internal/obs"
)

var (
	requestSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "dashboard_request_seconds", Help: "Handler time of GET /dashboard, by outcome.",
		Buckets: obs.DurationBuckets(),
	}, []string{"outcome"})
	dbSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "dashboard_db_query_seconds", Help: "Query time (query to last row), by outcome.",
		Buckets: obs.DurationBuckets(),
	}, []string{"outcome"})
	fallbacks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "dashboard_db_fallbacks_total", Help: "Responses served from the LRU after a failed query.",
	})
	renderFPS = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "dashboard_render_fps", Help: "Frames the render loop finished in the last second.",
	})
	framesTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "dashboard_frames_total", Help: "Frames the render loop finished.",
	})
)

type config struct {
	db, dsn, slow                  string
	pool, rows, dashboards, lruCap int
	dbMedianMs, dbSigma            float64
	cacheJSON, stream              bool
	timeout, refresh               time.Duration
	hotLoopMs, frameCPUMs          float64
	seed                           uint64
}

type server struct {
	cfg      config
	eng      *engine
	cache    []atomic.Pointer[[]byte]
	lru      *lru
	hotLoopN int

	mu  sync.Mutex
	rng *rand.Rand
	st  counts
}

// counts are the service's own figures, served at /debug/stats.
type counts struct {
	requests                                map[string]int64
	latencyMs                               []float64 // the last 8192 handler times
	queries                                 map[string]int64
	cancelledPlanMs, cancelledMs, maxCancel float64
	lruMisses                               int64
	frames, lateFrames                      int64
	fps                                     float64
}

var sink float64

// downsample is a loop without function calls: only asynchronous preemption stops it.
func downsample(n int) float64 {
	s := 0.0
	for i := 0; i < n; i++ {
		s += float64(i%7) * 0.5
	}
	return s
}

// loopsPerMs measures downsample's speed (the fastest of 3 runs).
func loopsPerMs() float64 {
	const n = 5_000_000
	best := time.Duration(1 << 62)
	for range 3 {
		t := time.Now()
		sink += downsample(n)
		best = min(best, time.Since(t))
	}
	return n / (float64(best) / 1e6)
}

// planMs draws the next query's time inside the engine: lognormal, median -db-median-ms.
func (s *server) planMs() float64 {
	s.mu.Lock()
	z := s.rng.NormFloat64()
	s.mu.Unlock()
	return min(s.cfg.dbMedianMs*math.Exp(s.cfg.dbSigma*z), 30_000)
}

// query runs one dashboard query and records its outcome.
func (s *server) query(ctx context.Context, id int, visit func(point) error) error {
	plan := s.planMs()
	begin := time.Now()
	var err error
	trace.WithRegion(ctx, "query", func() { err = s.eng.fetch(ctx, id, plan, visit) })
	took := time.Since(begin)
	outcome := "ok"
	switch {
	case err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)):
		outcome = "cancelled"
	case err != nil:
		outcome = "error"
	}
	dbSeconds.WithLabelValues(outcome).Observe(took.Seconds())
	s.mu.Lock()
	s.st.queries[outcome]++
	if outcome == "cancelled" {
		ms := float64(took) / 1e6
		s.st.cancelledPlanMs += plan
		s.st.cancelledMs += ms
		s.st.maxCancel = max(s.st.maxCancel, ms)
	}
	s.mu.Unlock()
	return err
}

// marshalled queries a dashboard, collects its rows and json.Marshals them (the article's handler).
func (s *server) marshalled(ctx context.Context, id int) ([]byte, error) {
	var pts []point
	if err := s.query(ctx, id, func(p point) error { pts = append(pts, p); return nil }); err != nil {
		return nil, err
	}
	var body []byte
	var err error
	trace.WithRegion(ctx, "encode", func() { body, err = json.Marshal(pts) })
	return body, err
}

// streamWriter encodes rows into the response as they are scanned; nothing is written until the
// first row arrives, so a query that fails before it can still fall back.
type streamWriter struct {
	w       http.ResponseWriter
	buf     *bufio.Writer
	enc     *json.Encoder
	keep    *bytes.Buffer // a copy for the LRU, when the timeout fix is on
	started bool
}

func (sw *streamWriter) row(p point) error {
	if !sw.started {
		sw.started = true
		var out io.Writer = sw.w
		if sw.keep != nil {
			out = io.MultiWriter(sw.w, sw.keep)
		}
		sw.buf = bufio.NewWriterSize(out, 32<<10)
		sw.enc = json.NewEncoder(sw.buf)
		sw.buf.WriteByte('[')
	} else {
		sw.buf.WriteByte(',')
	}
	return sw.enc.Encode(p)
}

func (s *server) handle(w http.ResponseWriter, r *http.Request) {
	begin := time.Now()
	ctx, task := trace.NewTask(r.Context(), "dashboard")
	outcome := s.serve(ctx, w, r)
	task.End()
	took := time.Since(begin)
	requestSeconds.WithLabelValues(outcome).Observe(took.Seconds())
	s.mu.Lock()
	s.st.requests[outcome]++
	if len(s.st.latencyMs) == 8192 {
		s.st.latencyMs = s.st.latencyMs[1:]
	}
	s.st.latencyMs = append(s.st.latencyMs, float64(took)/1e6)
	s.mu.Unlock()
}

func (s *server) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) string {
	id, err := strconv.Atoi(r.URL.Query().Get("id"))
	if err != nil || id < 0 || id >= s.cfg.dashboards {
		http.Error(w, "id must be a whole number from 0 to "+strconv.Itoa(s.cfg.dashboards-1),
			http.StatusBadRequest)
		return "bad_request"
	}
	if s.hotLoopN > 0 {
		sink += downsample(s.hotLoopN)
	}
	w.Header().Set("Content-Type", "application/json")
	if s.cfg.cacheJSON {
		body := *s.cache[id].Load()
		trace.WithRegion(ctx, "write", func() {
			if s.cfg.stream {
				io.Copy(w, bytes.NewReader(body))
			} else {
				w.Write(body)
			}
		})
		return "cached"
	}
	if s.cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.timeout)
		defer cancel()
	}
	var body []byte
	if s.cfg.stream {
		sw := &streamWriter{w: w}
		if s.cfg.timeout > 0 {
			sw.keep = &bytes.Buffer{}
		}
		err = s.query(ctx, id, sw.row)
		if sw.started {
			if err != nil { // the body is cut short: the client sees a broken response
				return "error"
			}
			sw.buf.WriteString("]\n")
			sw.buf.Flush()
			if sw.keep != nil {
				s.lru.put(id, sw.keep.Bytes())
			}
			return "ok"
		}
		if err == nil { // no rows
			w.Write([]byte("[]\n"))
			return "ok"
		}
	} else {
		body, err = s.marshalled(ctx, id)
	}
	if err != nil {
		if s.cfg.timeout > 0 {
			if old, ok := s.lru.get(id); ok {
				fallbacks.Inc()
				w.Header().Set("X-Fallback", "lru")
				w.Write(old)
				return "fallback"
			}
			s.mu.Lock()
			s.st.lruMisses++
			s.mu.Unlock()
		}
		http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
		return "error"
	}
	trace.WithRegion(ctx, "write", func() { w.Write(body) })
	if s.cfg.timeout > 0 {
		s.lru.put(id, body)
	}
	return "ok"
}

// refresher re-marshals every dashboard in turn, -refresh-ms after the last round ended
// (chapter 5's first fix): an answer is as old as a round plus the sleep.
func (s *server) refresher() {
	for {
		time.Sleep(s.cfg.refresh)
		for id := range s.cache {
			if body, err := s.marshalled(context.Background(), id); err == nil {
				s.cache[id].Store(&body)
			}
		}
	}
}

// renderLoop draws 60 frames a second, each -frame-cpu-ms of CPU.
func (s *server) renderLoop() {
	const period = time.Second / 60
	cost := time.Duration(s.cfg.frameCPUMs * float64(time.Millisecond))
	t0 := time.Now()
	var done []time.Time
	for i := int64(1); ; i++ {
		due := t0.Add(time.Duration(i) * period)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		begin := time.Now()
		if behind := begin.Sub(due); behind > period {
			i += int64(behind / period)
		}
		for time.Since(begin) < cost {
			sink += downsample(2000)
		}
		end := time.Now()
		done = append(done, end)
		for len(done) > 0 && end.Sub(done[0]) > time.Second {
			done = done[1:]
		}
		fps := float64(len(done)) / min(1, max(end.Sub(t0).Seconds(), period.Seconds()))
		renderFPS.Set(fps)
		framesTotal.Inc()
		s.mu.Lock()
		s.st.frames++
		if begin.Sub(due) > period/2 {
			s.st.lateFrames++
		}
		s.st.fps = fps
		s.mu.Unlock()
	}
}

func (s *server) stats(*http.Request) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	dbs := s.eng.db.Stats()
	return map[string]any{
		"service": "dashboard", "requests": s.st.requests, "queries": s.st.queries,
		"handler_ms_p50": obs.Quantile(s.st.latencyMs, 0.5), "handler_ms_p99": obs.Quantile(s.st.latencyMs, 0.99),
		"cancelled_planned_ms_sum": s.st.cancelledPlanMs, "cancelled_ms_sum": s.st.cancelledMs,
		"cancelled_ms_max": s.st.maxCancel, "fallbacks": s.st.requests["fallback"],
		"lru_misses": s.st.lruMisses, "frames": s.st.frames, "late_frames": s.st.lateFrames,
		"fps": s.st.fps, "cte_rows_per_ms": s.eng.perMs, "hot_loop_iterations": s.hotLoopN,
		"pool_wait_count": dbs.WaitCount, "pool_wait_ms": float64(dbs.WaitDuration) / 1e6,
		"pool_in_use": dbs.InUse, "pool_open": dbs.OpenConnections,
		"config": map[string]any{
			"db": s.cfg.db, "slow": s.cfg.slow, "pool": s.cfg.pool, "rows": s.cfg.rows,
			"dashboards": s.cfg.dashboards, "db_median_ms": s.cfg.dbMedianMs, "db_sigma": s.cfg.dbSigma,
			"cache_json": s.cfg.cacheJSON, "stream": s.cfg.stream,
			"db_timeout_ms": float64(s.cfg.timeout) / 1e6, "refresh_ms": float64(s.cfg.refresh) / 1e6,
			"lru": s.cfg.lruCap, "hot_loop_ms": s.cfg.hotLoopMs, "frame_cpu_ms": s.cfg.frameCPUMs,
			"seed": s.cfg.seed,
		},
	}
}

func main() {
	fs := flag.CommandLine
	common := obs.Register(fs)
	var cfg config
	var timeoutMs, refreshMs float64
	fs.StringVar(&cfg.db, "db", "sqlite", "database: sqlite (cgo driver) or postgres (lib/pq, pure Go)")
	fs.StringVar(&cfg.dsn, "dsn", "", "data source: a SQLite file, or a lib/pq connection string")
	fs.StringVar(&cfg.slow, "slow", "work", "how a query is slow in the engine: work (recursive CTE) or sleep (pg_sleep)")
	fs.IntVar(&cfg.pool, "pool", 2, "database/sql SetMaxOpenConns")
	fs.IntVar(&cfg.rows, "rows", 1000, "points per dashboard (about 70 bytes of JSON each)")
	fs.IntVar(&cfg.dashboards, "dashboards", 8, "distinct dashboards (ids 0..n-1)")
	fs.Float64Var(&cfg.dbMedianMs, "db-median-ms", 5, "median time a query spends in the engine")
	fs.Float64Var(&cfg.dbSigma, "db-sigma", 1, "lognormal spread of that time (0: always the median)")
	fs.BoolVar(&cfg.cacheJSON, "cache-json", false, "fix 1: marshal off the request path, serve cached bytes")
	fs.Float64Var(&refreshMs, "refresh-ms", 100, "how often the cache is refreshed (with -cache-json)")
	fs.BoolVar(&cfg.stream, "stream", false, "fix 2: stream the JSON into the response (io.Copy when cached)")
	fs.Float64Var(&timeoutMs, "db-timeout-ms", 0, "fix 3: query deadline in ms (0: none), LRU fallback")
	fs.IntVar(&cfg.lruCap, "lru", 16, "bodies the fallback LRU keeps")
	fs.Float64Var(&cfg.hotLoopMs, "hot-loop-ms", 0, "a loop without calls in the handler, this long")
	fs.Float64Var(&cfg.frameCPUMs, "frame-cpu-ms", 2, "CPU per frame of the 60 fps render loop (0: no loop)")
	fs.Uint64Var(&cfg.seed, "seed", 0, "seed of the query-time draws")
	flag.Parse()
	cfg.timeout = time.Duration(timeoutMs * float64(time.Millisecond))
	cfg.refresh = time.Duration(refreshMs * float64(time.Millisecond))
	if cfg.pool < 1 || cfg.rows < 0 || cfg.dashboards < 1 || cfg.dbMedianMs < 0 || cfg.dbSigma < 0 ||
		timeoutMs < 0 || refreshMs <= 0 || cfg.hotLoopMs < 0 || cfg.frameCPUMs < 0 || cfg.frameCPUMs > 16 {
		obs.Fatal("dashboard: a flag is out of range (pool >= 1, rows >= 0, dashboards >= 1, " +
			"db-median-ms, db-sigma, db-timeout-ms, hot-loop-ms >= 0, refresh-ms > 0, 0 <= frame-cpu-ms <= 16)")
	}
	obs.Setup(common)

	eng, err := openEngine(cfg.db, cfg.dsn, cfg.slow, cfg.pool)
	if err != nil {
		obs.Exit(ExitDatabase, "database: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	for _, step := range []func(context.Context) error{
		func(c context.Context) error { return eng.seed(c, cfg.dashboards, cfg.rows) },
		eng.calibrate,
	} {
		if err := step(ctx); err != nil {
			cancel()
			obs.Exit(ExitDatabase, "database: %v", err)
		}
	}
	cancel()
	prometheus.MustRegister(collectors.NewDBStatsCollector(eng.db, "dashboard"))

	s := &server{cfg: cfg, eng: eng, lru: newLRU(cfg.lruCap),
		rng: rand.New(rand.NewPCG(cfg.seed, 0x1abc17)),
		st:  counts{requests: map[string]int64{}, queries: map[string]int64{}}}
	if cfg.hotLoopMs > 0 {
		s.hotLoopN = int(cfg.hotLoopMs * loopsPerMs())
	}
	if cfg.cacheJSON { // fill the cache before serving, then refresh it in the background
		s.cache = make([]atomic.Pointer[[]byte], cfg.dashboards)
		for id := range s.cache {
			body, err := s.marshalled(context.Background(), id)
			if err != nil {
				obs.Exit(ExitDatabase, "database: filling the JSON cache: %v", err)
			}
			s.cache[id].Store(&body)
		}
		go s.refresher()
	}
	if cfg.frameCPUMs > 0 {
		go s.renderLoop()
	}
	obs.Stats(s.stats)
	http.HandleFunc("/dashboard", s.handle)
	obs.Serve(common, func() { eng.db.Close() })
}
