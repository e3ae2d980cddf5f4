// Command bbs-bench drives any BBS, only through the reference Go client over
// mutual TLS, with the reference's scale workload: desire LRPs while growing
// to N desired / ~2.5N actual, list them, run the reps' claim+start hot path,
// and query one cell's instances; it samples the server's memory meanwhile.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"
)

type options struct {
	URL, CA, Cert, Key string
	Desired            int
	Concurrency        int
	Cells              int
	ClaimStarts        int
	CellQueries        int
	ListRepeats        int
	ServerPID          int
	Out                string
	Label              string
	Phases             map[string]bool
	Settle             time.Duration
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bbs-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("bbs-bench", flag.ContinueOnError)
	fs.StringVar(&o.URL, "bbs-url", "https://127.0.0.1:8889", "BBS API URL")
	fs.StringVar(&o.CA, "ca", "", "CA certificate file")
	fs.StringVar(&o.Cert, "cert", "", "client certificate file")
	fs.StringVar(&o.Key, "key", "", "client key file")
	fs.IntVar(&o.Desired, "desired", 100000, "desired LRPs to create (instances alternate 2 and 3: ~2.5x actual LRPs)")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "concurrent clients")
	fs.IntVar(&o.Cells, "cells", 1000, "distinct cell ids used by claim+start")
	fs.IntVar(&o.ClaimStarts, "claim-starts", 20000, "instances to claim then start")
	fs.IntVar(&o.CellQueries, "cell-queries", 200, "one-cell actual LRP queries to time")
	fs.IntVar(&o.ListRepeats, "list-repeats", 3, "times to repeat each full list (the median is reported)")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "PID of the BBS process, to sample its resident memory (Linux /proc)")
	fs.StringVar(&o.Out, "out", "", "also write the results as JSON to this file")
	fs.StringVar(&o.Label, "label", "", "a name for this run in the results")
	fs.DurationVar(&o.Settle, "settle", 5*time.Second, "pause after the desire phase, so the database's own post-load work (autovacuum, WAL checkpoints) is not timed as listing")
	phases := fs.String("phases", "desire,list,claim,cell", "phases to run, comma separated (list/claim/cell on an existing BBS need the same -desired it was filled with)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Phases = map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		switch p = strings.TrimSpace(p); p {
		case "desire", "list", "claim", "cell":
			o.Phases[p] = true
		default:
			return fmt.Errorf("unknown phase %q: use desire, list, claim, cell", p)
		}
	}
	if o.CA == "" || o.Cert == "" || o.Key == "" {
		return errors.New("-ca, -cert and -key are required (mutual TLS)")
	}
	client, err := bbs.NewClient(o.URL, o.CA, o.Cert, o.Key, 0, o.Concurrency*2)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	b := &bench{o: o, c: client, log: lager.NewLogger("bbs-bench")}
	if !client.Ping(b.log, "") {
		return fmt.Errorf("BBS at %s does not answer ping", o.URL)
	}
	var mem *memSampler
	if o.ServerPID > 0 {
		mem = startMemSampler(o.ServerPID, 100*time.Millisecond)
	}
	res, err := b.run(ctx, stdout)
	if mem != nil {
		res.RSSPeakMB, res.RSSFinalMB = mem.stop()
	}
	printResults(stdout, res)
	if o.Out != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if werr := os.WriteFile(o.Out, data, 0o644); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}
