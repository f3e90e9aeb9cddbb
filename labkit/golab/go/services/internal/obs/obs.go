// Package obs wires what the course's services expose to whoever observes them: net/http/pprof,
// the Prometheus registry (client_golang, with the Go collector reading runtime/metrics), every
// runtime/metrics sample as JSON at /debug/metrics, the service's own counters at /debug/stats,
// the block and mutex profile rates from flags, and a clean shutdown on SIGTERM / SIGINT.
//
// The runner (labkit/golab/services) starts a service with -addr on a free loopback port and
// waits for /healthz; a port already in use makes the service exit with status 3 and a line
// "listen: ... address already in use" on stderr, which the runner reports as such.
package obs

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	_ "net/http/pprof" // mounts /debug/pprof/ on http.DefaultServeMux
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/metrics"
	"sort"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ExitListen is the exit status when the listen address cannot be bound.
const ExitListen = 3

// Flags are the options every service shares.
type Flags struct {
	Addr          string
	BlockRate     int
	MutexFraction int
}

// Register adds -addr, -block-rate and -mutex-fraction to fs.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Addr, "addr", "127.0.0.1:8080", "listen address (host:port)")
	fs.IntVar(&f.BlockRate, "block-rate", 10000,
		"runtime.SetBlockProfileRate: sample one blocking event per this many ns blocked (0: off)")
	fs.IntVar(&f.MutexFraction, "mutex-fraction", 5,
		"runtime.SetMutexProfileFraction: report 1 in this many contended mutex events (0: off)")
	return f
}

// Setup sets the profile rates and replaces the default registry's Go collector (MemStats only)
// with one that also exports the runtime/metrics scheduler and GC metrics
// (go_sched_latencies_seconds, go_sched_goroutines_runnable_goroutines, go_gc_...).
func Setup(f *Flags) {
	runtime.SetBlockProfileRate(f.BlockRate)
	runtime.SetMutexProfileFraction(f.MutexFraction)
	prometheus.Unregister(collectors.NewGoCollector())
	prometheus.MustRegister(collectors.NewGoCollector(
		collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/(sched|gc)/.*`)},
		),
	))
	http.Handle("/metrics", promhttp.Handler())
	http.HandleFunc("/debug/metrics", runtimeMetricsJSON)
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
}

// Stats serves fn's result as JSON at /debug/stats (fn may read the request's query).
func Stats(fn func(*http.Request) any) {
	http.HandleFunc("/debug/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, fn(r))
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// jsonFloat keeps infinities (a histogram's outer bucket edges) as the strings "+Inf" / "-Inf".
func jsonFloat(x float64) any {
	switch {
	case math.IsInf(x, 1):
		return "+Inf"
	case math.IsInf(x, -1):
		return "-Inf"
	case math.IsNaN(x):
		return "NaN"
	}
	return x
}

// runtimeMetricsJSON writes every runtime/metrics sample: numbers as numbers, histograms as
// {"counts": [...], "buckets": [...]} (len(buckets) == len(counts)+1, as metrics.Float64Histogram).
func runtimeMetricsJSON(w http.ResponseWriter, _ *http.Request) {
	descs := metrics.All()
	samples := make([]metrics.Sample, len(descs))
	for i := range descs {
		samples[i].Name = descs[i].Name
	}
	metrics.Read(samples)
	out := make(map[string]any, len(samples))
	for _, s := range samples {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			out[s.Name] = s.Value.Uint64()
		case metrics.KindFloat64:
			out[s.Name] = jsonFloat(s.Value.Float64())
		case metrics.KindFloat64Histogram:
			h := s.Value.Float64Histogram()
			buckets := make([]any, len(h.Buckets))
			for i, b := range h.Buckets {
				buckets[i] = jsonFloat(b)
			}
			out[s.Name] = map[string]any{"counts": h.Counts, "buckets": buckets}
		}
	}
	writeJSON(w, map[string]any{
		"time_unix_ns": time.Now().UnixNano(),
		"go_version":   runtime.Version(),
		"metrics":      out,
	})
}

// Serve listens on f.Addr and serves http.DefaultServeMux until SIGTERM or SIGINT, then shuts
// down (1 s for requests in flight) and calls each cleanup. A listen error exits with ExitListen.
func Serve(f *Flags, cleanups ...func()) {
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen: %v\n", err)
		os.Exit(ExitListen)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("{\"listening\": %q, \"pid\": %d}\n", ln.Addr().String(), os.Getpid())
	select {
	case <-stop:
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			Fatal("serve: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	for _, c := range cleanups {
		c()
	}
}

// Fatal prints the message on stderr and exits with status 1.
func Fatal(format string, args ...any) { Exit(1, format, args...) }

// Exit prints the message on stderr and exits with status code.
func Exit(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

// Goroutine states as runtime/metrics counts them (src/runtime/metrics/description.go), with the
// label each gets in the article's go_goroutines_by_state gauge (its states: runnable, running,
// syscall, wait): not-in-go (running or blocked in a system call or cgo call) is "syscall",
// waiting is "wait".
var goroutineStates = [...]struct{ metric, label string }{
	{"/sched/goroutines/running:goroutines", "running"},
	{"/sched/goroutines/runnable:goroutines", "runnable"},
	{"/sched/goroutines/waiting:goroutines", "wait"},
	{"/sched/goroutines/not-in-go:goroutines", "syscall"},
}

// GoroutineStates reads the goroutine counts by state; reuse the returned reader for each read.
type GoroutineStates struct{ samples []metrics.Sample }

// NewGoroutineStates prepares the runtime/metrics samples of the four states.
func NewGoroutineStates() *GoroutineStates {
	s := &GoroutineStates{samples: make([]metrics.Sample, len(goroutineStates))}
	for i, st := range goroutineStates {
		s.samples[i].Name = st.metric
	}
	return s
}

// Set reads the counts and sets one gauge per state label.
func (s *GoroutineStates) Set(g *prometheus.GaugeVec) {
	metrics.Read(s.samples)
	for i, st := range goroutineStates {
		if s.samples[i].Value.Kind() == metrics.KindUint64 {
			g.WithLabelValues(st.label).Set(float64(s.samples[i].Value.Uint64()))
		}
	}
}

// Quantile is the nearest-rank q-quantile of xs (0 for none); xs is not changed.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[min(len(s)-1, max(0, int(math.Ceil(q*float64(len(s))))-1))]
}

// DurationBuckets are the services' latency histogram buckets: 0.5 ms to ~16 s, doubling.
func DurationBuckets() []float64 { return prometheus.ExponentialBuckets(0.0005, 2, 16) }
