// Command loadgen drives HTTP load and reports latency honestly.
//
// Open loop (the default): request i is due at start + its arrival time (-arrivals constant:
// i/rate; poisson: exponential gaps with mean 1/rate, seeded), whatever the server is doing. A
// dispatcher sleeps until each due time and starts the request in its own goroutine; at most
// -max-inflight are in flight (a full set makes the dispatcher wait, which only delays the
// send). Latency is measured from the due (intended) time to the last byte of the response, so
// time a request spent waiting to be sent counts: no coordinated omission. Each record also has
// the service time, from the actual send, which is what a tool that waits to send measures.
//
// Closed loop (-mode closed): -concurrency workers each send, wait for the answer, and send
// again; latency from the send. This is what most benchmarking tools do, and it hides a stall:
// while the server is stuck, the workers send nothing, so the stall is one slow request each.
//
// Times are from start, the first request's due time (start_unix_ns in the report).
// Requests go to -url with "{id}" replaced by the request number modulo -ids. The report, one
// JSON object on stdout (or -out): counts, errors by kind, status codes, responses the server
// marked X-Fallback, p50/p90/p99/p99.9/max/mean of latency and service time (ms), the
// throughput of completed requests, and with -records each request's
// [due ms from start, latency ms, service ms, status (0: no response), fallback 0/1].
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type record struct {
	due, latency, service float64 // ms
	status                int
	fallback              bool
	errKind               string
}

func summarize(xs []float64) map[string]float64 {
	if len(xs) == 0 {
		return map[string]float64{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	q := func(p float64) float64 { return s[min(len(s)-1, max(0, int(math.Ceil(p*float64(len(s))))-1))] }
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return map[string]float64{
		"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999),
		"max": s[len(s)-1], "mean": sum / float64(len(s)),
	}
}

func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "refused"
	case strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "EOF"):
		return "reset"
	}
	return "other"
}

type generator struct {
	client *http.Client
	url    string
	ids    int
}

// do sends request n and reads the whole body; the status is 0 when there was no response.
func (g *generator) do(n int) (status int, fallback bool, kind string) {
	url := strings.ReplaceAll(g.url, "{id}", strconv.Itoa(n%g.ids))
	resp, err := g.client.Get(url)
	if err != nil {
		return 0, false, errKind(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, false, errKind(err)
	}
	return resp.StatusCode, resp.Header.Get("X-Fallback") != "", ""
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func (g *generator) open(rate float64, duration time.Duration, arrivals string, seed uint64,
	maxInflight int) ([]record, time.Time) {
	rng := rand.New(rand.NewPCG(seed, 0x10ad))
	var offsets []time.Duration
	for t := 0.0; ; {
		if arrivals == "poisson" {
			t += rng.ExpFloat64() / rate
		} else {
			t = float64(len(offsets)) / rate
		}
		at := time.Duration(t * float64(time.Second))
		if at >= duration {
			break
		}
		offsets = append(offsets, at)
	}
	recs := make([]record, len(offsets))
	slots := make(chan struct{}, maxInflight)
	var wg sync.WaitGroup
	start := time.Now().Add(20 * time.Millisecond)
	for i, off := range offsets {
		due := start.Add(off)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		slots <- struct{}{}
		wg.Add(1)
		go func(i int, due time.Time) {
			defer wg.Done()
			sent := time.Now()
			status, fb, kind := g.do(i)
			end := time.Now()
			recs[i] = record{ms(due.Sub(start)), ms(end.Sub(due)), ms(end.Sub(sent)), status, fb, kind}
			<-slots
		}(i, due)
	}
	wg.Wait()
	return recs, start
}

func (g *generator) closed(concurrency int, duration time.Duration) ([]record, time.Time) {
	var mu sync.Mutex
	var recs []record
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(duration)
	n := 0
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				sent := time.Now()
				if !sent.Before(stop) {
					return
				}
				mu.Lock()
				i := n
				n++
				mu.Unlock()
				status, fb, kind := g.do(i)
				end := time.Now()
				mu.Lock()
				recs = append(recs, record{ms(sent.Sub(start)), ms(end.Sub(sent)), ms(end.Sub(sent)), status, fb, kind})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(recs, func(a, b int) bool { return recs[a].due < recs[b].due })
	return recs, start
}

func main() {
	url := flag.String("url", "", "request URL; {id} is replaced by the request number modulo -ids")
	ids := flag.Int("ids", 1, "distinct ids for {id}")
	mode := flag.String("mode", "open", "open (arrivals on a schedule) or closed (workers send back to back)")
	rate := flag.Float64("rate", 50, "open loop: requests per second")
	arrivals := flag.String("arrivals", "constant", "open loop: constant or poisson")
	seed := flag.Uint64("seed", 0, "open loop: seed of poisson arrivals")
	maxInflight := flag.Int("max-inflight", 256, "open loop: requests in flight at most")
	concurrency := flag.Int("concurrency", 1, "closed loop: workers")
	duration := flag.Duration("duration", 5*time.Second, "how long to send")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	records := flag.Bool("records", false, "include every request's record")
	out := flag.String("out", "", "write the report here instead of stdout")
	flag.Parse()
	fail := func(msg string) { fmt.Fprintln(os.Stderr, "loadgen: "+msg); os.Exit(2) }
	switch {
	case *url == "":
		fail("-url is required")
	case *ids < 1 || *rate <= 0 || *maxInflight < 1 || *concurrency < 1 || *duration <= 0 || *timeout <= 0:
		fail("-ids, -rate, -max-inflight, -concurrency, -duration and -timeout must be > 0")
	case *mode != "open" && *mode != "closed":
		fail("-mode must be open or closed")
	case *arrivals != "constant" && *arrivals != "poisson":
		fail("-arrivals must be constant or poisson")
	}
	conns := *maxInflight
	if *mode == "closed" {
		conns = *concurrency
	}
	g := &generator{url: *url, ids: *ids, client: &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second,
			DialContext: (&net.Dialer{Timeout: *timeout}).DialContext,
		},
	}}
	var recs []record
	var start time.Time
	if *mode == "open" {
		recs, start = g.open(*rate, *duration, *arrivals, *seed, *maxInflight)
	} else {
		recs, start = g.closed(*concurrency, *duration)
	}
	wall := time.Since(start)

	var lat, svc []float64
	errs := map[string]int{}
	statuses := map[string]int{}
	fallbacks, completed := 0, 0
	rows := make([][5]float64, 0, len(recs))
	for _, r := range recs {
		lat = append(lat, r.latency)
		svc = append(svc, r.service)
		if r.errKind != "" {
			errs[r.errKind]++
		} else {
			completed++
		}
		statuses[strconv.Itoa(r.status)]++
		fb := 0.0
		if r.fallback {
			fallbacks++
			fb = 1
		}
		rows = append(rows, [5]float64{r.due, r.latency, r.service, float64(r.status), fb})
	}
	report := map[string]any{
		"mode": *mode, "rate": *rate, "arrivals": *arrivals, "duration_s": duration.Seconds(),
		"wall_s": wall.Seconds(), "sent": len(recs), "completed": completed, "errors": errs,
		"status": statuses, "fallbacks": fallbacks, "latency_ms": summarize(lat),
		"service_ms": summarize(svc), "throughput_rps": float64(completed) / duration.Seconds(),
		"start_unix_ns": start.UnixNano(), "concurrency": *concurrency, "max_inflight": *maxInflight,
	}
	if *records {
		report["records"] = rows
	}
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fail(err.Error())
		}
		defer f.Close()
		w = f
	}
	if err := json.NewEncoder(w).Encode(report); err != nil {
		fail(err.Error())
	}
}
