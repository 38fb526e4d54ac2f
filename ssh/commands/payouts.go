package commands

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/shopfile/shopfile/market"
	"github.com/spf13/cobra"
)

// maxSignedPSBT bounds what payout-submit reads from stdin.
const maxSignedPSBT = 8 << 20

type withdrawJSON struct {
	Payout     string `json:"payout"`
	Address    string `json:"address"`
	AmountSats int64  `json:"amount_sats"`
	FeeSats    int64  `json:"fee_sats"`
	Status     string `json:"status"`
}

func withdrawCmd(env *Env) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "withdraw ADDRESS SATS [--key KEY]",
		Short: "send SATS from your wallet to a Bitcoin address (the fee is held on top)",
		Args:  exactArgs(2, "ADDRESS SATS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			amount, err := parseSats("amount", args[1])
			if err != nil {
				return err
			}
			p, err := env.Market.Withdraw(env.Ctx, env.Actor, args[0], amount, key)
			if err != nil {
				return err
			}
			v := withdrawJSON{Payout: p.ID, Address: p.Address, AmountSats: p.AmountSats, FeeSats: p.FeeSats, Status: p.Status}
			return emit(cmd, v, func(w io.Writer) {
				fmt.Fprintf(w, "withdrawal %s: %d sats to %s, fee %d sats, %s\n", p.ID, p.AmountSats, p.Address, p.FeeSats, p.Status)
				fmt.Fprintf(w, "follow it: %s payouts\n", env.Dial)
			})
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "idempotency key: repeating it never withdraws twice")
	return cmd
}

type payoutJSON struct {
	Payout     string `json:"payout"`
	Address    string `json:"address"`
	AmountSats int64  `json:"amount_sats"`
	FeeSats    int64  `json:"fee_sats"`
	Status     string `json:"status"`
	TxID       string `json:"txid"`
	At         string `json:"at"`
}

func payoutsCmd(env *Env) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "payouts",
		Short: "your withdrawals: pending, signed, broadcast, confirmed or failed",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := env.Market.Payouts(env.Ctx, env.Actor, limit)
			if err != nil {
				return err
			}
			out := make([]payoutJSON, 0, len(ps))
			for _, p := range ps {
				out = append(out, payoutJSON{Payout: p.ID, Address: p.Address, AmountSats: p.AmountSats, FeeSats: p.FeeSats,
					Status: p.Status, TxID: p.TxID, At: stamp(p.At)})
			}
			return emit(cmd, out, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PAYOUT\tAMOUNT\tFEE\tSTATUS\tADDRESS\tTXID")
				for _, p := range out {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", p.Payout, p.AmountSats, p.FeeSats, p.Status, p.Address, p.TxID)
				}
				tw.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many")
	return cmd
}

// payoutBatchCmd gives a signer the unsigned batch (`shopfile signer` runs
// it; people rarely do).
func payoutBatchCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "payout-batch",
		Short: "signers: the unsigned payout batch (a PSBT) and the payouts it must pay",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := env.Market.PayoutBatch(env.Ctx, env.Actor)
			if err != nil {
				return err
			}
			return emit(cmd, b, func(w io.Writer) {
				if b.Batch == "" {
					fmt.Fprintln(w, "no payouts wait for a signature")
					return
				}
				fmt.Fprintf(w, "batch %s (%s): %d payouts, fee %d sats, txid %s\n%s\n", b.Batch, b.Network, len(b.Payouts), b.FeeSats, b.TxID, b.PSBT)
			})
		},
	}
}

// payoutSubmitCmd takes a signer's signed PSBT (base64 or binary) on stdin.
func payoutSubmitCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "payout-submit BATCH < SIGNED.psbt",
		Short: "signers: submit the signed PSBT of a payout batch",
		Args:  exactArgs(1, "BATCH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := io.ReadAll(io.LimitReader(env.Stdin, maxSignedPSBT+1))
			if err != nil {
				return fmt.Errorf("read the signed PSBT: %w", err)
			}
			if len(data) > maxSignedPSBT {
				return fmt.Errorf("the signed PSBT is larger than %d bytes: %w", maxSignedPSBT, market.ErrTooLarge)
			}
			r, err := env.Market.SubmitBatch(env.Ctx, env.Actor, args[0], data)
			if err != nil {
				return err
			}
			return emit(cmd, r, func(w io.Writer) {
				fmt.Fprintf(w, "batch %s: %s (txid %s)\n", r.Batch, r.Status, r.TxID)
			})
		},
	}
}
