// franz-go group consumer: default settings except a reset offset at the start, without which a new
// group skips everything produced before it joined.
//
// usage: franz-consumer BOOTSTRAP TOPIC GROUP COUNT [TIMEOUT_S]
// Subscribes GROUP to TOPIC, prints each record as a JSON line (topic, partition, offset, key,
// value, headers) until COUNT records or the timeout, commits the offsets after what it printed with
// CommitRecords (the default auto-commit stays on as well), leaves the group and prints one JSON
// summary line. Exit 1 unless COUNT records were consumed and the commit succeeded.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"edgebridge/tests/clients/go/internal/security"
)

const client = "franz-go"

type record struct {
	Topic     string      `json:"topic"`
	Partition int32       `json:"partition"`
	Offset    int64       `json:"offset"`
	Key       *string     `json:"key"`
	Value     *string     `json:"value"`
	Headers   [][2]string `json:"headers"`
}

type summary struct {
	Client     string  `json:"client"`
	Count      int     `json:"count"`
	Consumed   int     `json:"consumed"`
	Errors     int     `json:"errors"`
	FirstError *string `json:"first_error"`
	Committed  bool    `json:"committed"`
	Seconds    float64 `json:"seconds"`
}

func text(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: franz-consumer BOOTSTRAP TOPIC GROUP COUNT [TIMEOUT_S]")
		os.Exit(2)
	}
	bootstrap, topic, group := os.Args[1], os.Args[2], os.Args[3]
	count, err := strconv.Atoi(os.Args[4])
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
	s := summary{Client: client, Count: count}
	fail := func(err error) {
		s.Errors++
		if s.FirstError == nil {
			msg := err.Error()
			s.FirstError = &msg
		}
	}

	secOpts, err := security.Options()
	if err != nil {
		fmt.Fprintln(os.Stderr, "EB_CLIENT_SECURITY:", err)
		os.Exit(2)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, secOpts...)...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kgo.NewClient:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	var printed []*kgo.Record
	for s.Consumed < count && ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		fetches.EachError(func(_ string, _ int32, err error) {
			if ctx.Err() == nil { // the deadline itself shows up as a fetch error
				fail(err)
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if s.Consumed >= count {
				return // past COUNT: neither printed nor committed by us
			}
			rec := record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: text(r.Key),
				Value: text(r.Value), Headers: [][2]string{}}
			for _, h := range r.Headers {
				rec.Headers = append(rec.Headers, [2]string{h.Key, string(h.Value)})
			}
			line, _ := json.Marshal(rec)
			out.Write(line)
			out.WriteByte('\n')
			s.Consumed++
			printed = append(printed, r)
		})
	}
	if len(printed) > 0 {
		commitCtx, commitCancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := cl.CommitRecords(commitCtx, printed...); err != nil {
			fail(err)
		} else {
			s.Committed = true
		}
		commitCancel()
	}
	cl.Close()
	if s.Consumed < count && s.FirstError == nil {
		msg := fmt.Sprintf("consumed %d of %d in %g s", s.Consumed, count, timeout)
		s.FirstError = &msg
	}
	s.Seconds = float64(time.Since(start).Milliseconds()) / 1000
	line, _ := json.Marshal(s)
	out.Write(line)
	out.WriteByte('\n')
	out.Flush()
	if s.Consumed != count || !s.Committed || s.Errors != 0 {
		os.Exit(1)
	}
}
