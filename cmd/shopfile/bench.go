package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/shopfile/shopfile/market/bench"
	"github.com/spf13/cobra"
)

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "measure durable purchases per second (in process, or over SSH)"}
	cmd.AddCommand(benchPurchasesCmd(), benchSSHCmd())
	return cmd
}

// benchData returns the data directory to use and a cleanup: a fresh
// temporary one, removed afterwards, when dir is empty.
func benchData(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "shopfile-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("temp data dir: %w", err)
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

func benchPurchasesCmd() *cobra.Command {
	var o bench.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "purchases --buyers N --accounts M --duration D [--data DIR] [--json]",
		Short: "drive market.Buy from N concurrent buyers over M funded accounts on a real on-disk database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, cleanup, err := benchData(o.DataDir)
			if err != nil {
				return err
			}
			defer cleanup()
			o.DataDir = dir
			o.Log = cmd.ErrOrStderr()
			res, err := bench.Purchases(cmd.Context(), o)
			if err != nil {
				return err
			}
			return printBench(cmd.OutOrStdout(), asJSON, res, func(w io.Writer) {
				durable := "fsynced before each acknowledgement"
				if res.Driver == "postgres" {
					durable = "each acknowledged after its batch's COMMIT returned"
				}
				fmt.Fprintf(w, "durable purchases/s  %.0f  (%d purchases in %.1f s on %s; %s)\n",
					res.PurchasesPerSec, res.Purchases, res.Seconds, res.Driver, durable)
				fmt.Fprintf(w, "ack latency          p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", res.P50ms, res.P99ms, res.Maxms)
				fmt.Fprintf(w, "mean batch           %.1f purchases/commit (%.0f commits/s)\n", res.MeanBatch, res.CommitsPerSec)
				fmt.Fprintf(w, "baseline             %.0f/s (1 buyer, 1 purchase per transaction, p50 %.2f ms) → %.1f×\n",
					res.BaselinePerSec, res.BaselineP50ms, res.Ratio)
				fmt.Fprintf(w, "cpu                  %.1f µs per purchase (whole process)\n", res.CPUPerPurchase)
				fmt.Fprintf(w, "setup                %d buyers, %d accounts, %d shops; ledger invariants hold (%d replays and as many second purchases under new keys charged nothing)\n",
					res.Buyers, res.Accounts, res.Shops, res.ReplaysVerified)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Buyers, "buyers", 256, "concurrent buyers")
	f.IntVar(&o.Accounts, "accounts", 1_000_000, "funded accounts")
	f.IntVar(&o.Shops, "shops", 0, "catalogue size (default accounts/100, at least 100)")
	f.DurationVar(&o.Duration, "duration", 30*time.Second, "measured run")
	f.DurationVar(&o.Baseline, "baseline", 0, "one-buyer baseline run (default duration/6, 2s to 5s)")
	f.StringVar(&o.DataDir, "data", "", "a fresh data directory, kept afterwards (default: a temporary one, removed)")
	f.StringVar(&o.DBDriver, "db-driver", "sqlite", "sqlite (in --data) or postgres")
	f.StringVar(&o.DBDSN, "db-dsn", "", "postgres: a server where the bench may create a database (made fresh, dropped afterwards)")
	f.IntVar(&o.MaxBatch, "max-batch", 0, "ledger batch cap (default: the ledger's)")
	f.Int64Var(&o.FeeBps, "fee-bps", 500, "platform fee in basis points (the fee account is in every purchase)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a pprof CPU profile of the measured run here")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func printBench(w io.Writer, asJSON bool, v any, human func(io.Writer)) error {
	if !asJSON {
		human(w)
		return nil
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print result: %w", err)
	}
	return nil
}

func benchSSHCmd() *cobra.Command {
	var o bench.SSHOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ssh --connections N --duration D [--json]",
		Short: "the same purchases through real SSH sessions (Go clients, one channel per buy on persistent connections)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, cleanup, err := benchData(o.DataDir)
			if err != nil {
				return err
			}
			defer cleanup()
			o.DataDir = dir
			o.Log = cmd.ErrOrStderr()
			res, err := bench.SSH(cmd.Context(), o)
			if err != nil {
				return err
			}
			return printBench(cmd.OutOrStdout(), asJSON, res, func(w io.Writer) {
				fmt.Fprintf(w, "durable purchases/s over SSH  %.0f  (%d purchases in %.1f s; fsynced before each receipt)\n",
					res.PurchasesPerSec, res.Purchases, res.Seconds)
				fmt.Fprintf(w, "ack latency                   p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", res.P50ms, res.P99ms, res.Maxms)
				fmt.Fprintf(w, "mean batch                    %.1f purchases/commit\n", res.MeanBatch)
				fmt.Fprintf(w, "cpu                           %.1f µs per purchase (server and clients together)\n", res.CPUPerPurchase)
				fmt.Fprintf(w, "setup                         %d connections × %d channels, %d accounts; ledger invariants hold (%d replays and as many second purchases under new keys charged nothing)\n",
					res.Connections, res.PerConn, res.Accounts, res.ReplaysVerified)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Connections, "connections", 64, "SSH connections (one account each)")
	f.IntVar(&o.PerConn, "channels", 4, "concurrent channels (buys) per connection")
	f.IntVar(&o.Accounts, "accounts", 100_000, "funded accounts")
	f.IntVar(&o.Shops, "shops", 0, "catalogue size (default accounts/100, at least 2000)")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "measured run")
	f.StringVar(&o.DataDir, "data", "", "a fresh data directory, kept afterwards (default: a temporary one, removed)")
	f.Int64Var(&o.FeeBps, "fee-bps", 500, "platform fee in basis points")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a pprof CPU profile of the measured run here")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
