// Command loadgen offers HTTP POST requests at a constant rate (open loop) and reports each
// request's latency measured from its *scheduled* time, so a server that stalls is charged
// for every request it delayed (no coordinated omission).
//
// The body is a template: %USER% becomes a user number (i mod -users, or random with
// -random-user), %UUID% a fresh random UUID, %I% the request's index. The result is one JSON
// object on stdout: {"seconds", "latencies_ms", "statuses", "errors"}.
//
//	loadgen -url http://127.0.0.1:8003/api/v1/budgets/check -rate 500 -duration 10s \
//	    -header "Authorization: Bearer ..." -body '{"user_id": "user-%USER%"}' -ok 200
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	Seconds   float64        `json:"seconds"`
	Latencies []float64      `json:"latencies_ms"`
	Statuses  map[string]int `json:"statuses"`
	Errors    int            `json:"errors"`
}

func uuid4() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func main() {
	url := flag.String("url", "", "the URL to POST to")
	rate := flag.Float64("rate", 100, "requests per second offered")
	duration := flag.Duration("duration", 10*time.Second, "how long to offer them")
	body := flag.String("body", "{}", "body template (%USER%, %UUID%, %I%)")
	users := flag.Int("users", 20, "distinct users for %USER%")
	randomUser := flag.Bool("random-user", false, "a random user per request (else i mod users)")
	conns := flag.Int("connections", 200, "most connections open at once")
	timeout := flag.Duration("timeout", 30*time.Second, "per request")
	okList := flag.String("ok", "200", "comma-separated statuses that count as success")
	seed := flag.Int64("seed", 5, "random seed for users")
	var hdrs headers
	flag.Var(&hdrs, "header", "a request header 'Name: value' (repeatable)")
	flag.Parse()
	if *url == "" || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -url and a positive -rate are required")
		os.Exit(2)
	}
	ok := map[int]bool{}
	for _, s := range strings.Split(*okList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: bad -ok:", s)
			os.Exit(2)
		}
		ok[n] = true
	}
	header := http.Header{"Content-Type": {"application/json"}}
	for _, h := range hdrs {
		name, value, found := strings.Cut(h, ":")
		if !found {
			fmt.Fprintln(os.Stderr, "loadgen: bad -header:", h)
			os.Exit(2)
		}
		header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 60 * time.Second}).DialContext,
		MaxIdleConns:        *conns,
		MaxIdleConnsPerHost: *conns,
		MaxConnsPerHost:     *conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	client := &http.Client{Transport: transport, Timeout: *timeout}

	total := int(math.Round(*rate * duration.Seconds()))
	rng := mrand.New(mrand.NewSource(*seed))
	bodies := make([][]byte, total) // made before the clock starts: no work on the schedule
	for i := range bodies {
		user := i % *users
		if *randomUser {
			user = rng.Intn(*users)
		}
		b := strings.ReplaceAll(*body, "%USER%", strconv.Itoa(user))
		b = strings.ReplaceAll(b, "%I%", strconv.Itoa(i))
		if strings.Contains(b, "%UUID%") {
			b = strings.ReplaceAll(b, "%UUID%", uuid4())
		}
		bodies[i] = []byte(b)
	}

	latencies := make([]float64, total)
	statuses := make([]int, total) // 0: a transport error
	var wg sync.WaitGroup
	interval := float64(time.Second) / *rate
	start := time.Now().Add(50 * time.Millisecond)
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func(i int, due time.Time) {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, *url, bytes.NewReader(bodies[i]))
			if err == nil {
				req.Header = header.Clone()
				var resp *http.Response
				resp, err = client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil {
						statuses[i] = resp.StatusCode
					}
				}
			}
			latencies[i] = float64(time.Since(due).Microseconds()) / 1000
		}(i, due)
	}
	wg.Wait()
	out := result{
		Seconds:   time.Since(start).Seconds(),
		Latencies: latencies,
		Statuses:  map[string]int{},
	}
	for _, s := range statuses {
		out.Statuses[strconv.Itoa(s)]++
		if !ok[s] {
			out.Errors++
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
