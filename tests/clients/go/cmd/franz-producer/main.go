// franz-go (github.com/twmb/franz-go/pkg/kgo) producer with default settings: idempotent, with
// franz-go's own default batch compression.
//
// usage: franz-producer BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S]
// Produces COUNT records of the contract in tests/clients/records.py, waits for every promise and
// prints one JSON summary line. Exit 1 unless every record was acknowledged.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"edgebridge/tests/clients/go/internal/security"
)

const (
	client = "franz-go"
	padLen = 100
)

type summary struct {
	Client     string  `json:"client"`
	Count      int64   `json:"count"`
	Acked      int64   `json:"acked"`
	Errors     int64   `json:"errors"`
	FirstError *string `json:"first_error"`
	Seconds    float64 `json:"seconds"`
}

func value(runID string, i int64) []byte {
	b := []byte(fmt.Sprintf("%s-%s-%d|", client, runID, i))
	for j := int64(0); j < padLen; j++ {
		b = append(b, byte('a'+(i+j)%26))
	}
	return b
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: franz-producer BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S]")
		os.Exit(2)
	}
	bootstrap, topic, runID := os.Args[1], os.Args[2], os.Args[4]
	count, err := strconv.ParseInt(os.Args[3], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad COUNT:", err)
		os.Exit(2)
	}
	timeout := 120.0
	if len(os.Args) > 5 {
		if timeout, err = strconv.ParseFloat(os.Args[5], 64); err != nil {
			fmt.Fprintln(os.Stderr, "bad TIMEOUT_S:", err)
			os.Exit(2)
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout*float64(time.Second)))
	defer cancel()

	secOpts, err := security.Options()
	if err != nil {
		fmt.Fprintln(os.Stderr, "EB_CLIENT_SECURITY:", err)
		os.Exit(2)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap)}, secOpts...)...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kgo.NewClient:", err)
		os.Exit(2)
	}

	var mu sync.Mutex
	s := summary{Client: client, Count: count}
	done := func(_ *kgo.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			s.Acked++
			return
		}
		s.Errors++
		if s.FirstError == nil {
			msg := err.Error()
			s.FirstError = &msg
		}
	}
	for i := int64(0); i < count; i++ {
		rec := &kgo.Record{
			Topic: topic,
			Key:   []byte(fmt.Sprintf("key-%d", i)),
			Value: value(runID, i),
			Headers: []kgo.RecordHeader{
				{Key: "seq", Value: []byte(strconv.FormatInt(i, 10))},
				{Key: "client", Value: []byte(client)},
			},
		}
		// Produce blocks while the client's record buffer is full; the promise runs once per record.
		cl.Produce(ctx, rec, done)
	}
	if err := cl.Flush(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "flush:", err)
	}
	cl.Close()

	mu.Lock()
	defer mu.Unlock()
	if missing := count - s.Acked - s.Errors; missing > 0 {
		s.Errors += missing
		if s.FirstError == nil {
			msg := fmt.Sprintf("%d records without a promise call", missing)
			s.FirstError = &msg
		}
	}
	s.Seconds = float64(time.Since(start).Milliseconds()) / 1000
	line, _ := json.Marshal(s)
	fmt.Println(string(line))
	if s.Acked != count || s.Errors != 0 {
		os.Exit(1)
	}
}
