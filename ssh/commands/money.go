package commands

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

type walletJSON struct {
	BalanceSats    int64  `json:"balance_sats"`
	PendingSats    int64  `json:"pending_sats"`
	DepositAddress string `json:"deposit_address"`
	Network        string `json:"network"`
	NodeReachable  bool   `json:"node_reachable"`
	Status         string `json:"status"`
}

func walletCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "wallet",
		Short: "your balance, pending deposits and deposit address",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := env.Market.Wallet(env.Ctx, env.Actor)
			if err != nil {
				return err
			}
			v := walletJSON{BalanceSats: w.BalanceSats, PendingSats: w.PendingSats, DepositAddress: w.DepositAddress,
				Network: w.Chain.Network, NodeReachable: w.Chain.Reachable, Status: chainStatus(w.Chain.Enabled, w.Chain.Reachable, w.Chain.Error)}
			return emit(cmd, v, func(out io.Writer) {
				fmt.Fprintf(out, "balance  %d sats\npending  %d sats (seen on chain, not yet confirmed)\n", v.BalanceSats, v.PendingSats)
				if v.DepositAddress != "" {
					fmt.Fprintf(out, "deposit  %s (%s)\n", v.DepositAddress, v.Network)
				}
				fmt.Fprintf(out, "status   %s\n", v.Status)
			})
		},
	}
}

func chainStatus(enabled, reachable bool, lastErr string) string {
	switch {
	case !enabled:
		return "deposits are off: this shop runs without a Bitcoin node (--chain none)"
	case !reachable && lastErr != "":
		return "node unreachable: " + lastErr
	case !reachable:
		return "node unreachable"
	}
	return "ok"
}

type historyJSON struct {
	Transfer    string `json:"transfer"`
	Kind        string `json:"kind"`
	AmountSats  int64  `json:"amount_sats"`
	BalanceSats int64  `json:"balance_sats"`
	Ref         string `json:"ref"`
	At          string `json:"at"`
}

func historyCmd(env *Env) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history",
		Short: "your wallet's movements, newest first",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			items, err := env.Market.History(env.Ctx, env.Actor, limit)
			if err != nil {
				return err
			}
			out := make([]historyJSON, 0, len(items))
			for _, it := range items {
				out = append(out, historyJSON{Transfer: it.Transfer, Kind: it.Kind, AmountSats: it.AmountSats, BalanceSats: it.BalanceSats, Ref: it.Ref, At: stamp(it.At)})
			}
			return emit(cmd, out, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "AT\tKIND\tAMOUNT\tBALANCE\tREF")
				for _, h := range out {
					fmt.Fprintf(tw, "%s\t%s\t%+d\t%d\t%s\n", h.At, h.Kind, h.AmountSats, h.BalanceSats, h.Ref)
				}
				tw.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many")
	return cmd
}

type buyJSON struct {
	Purchase    string `json:"purchase"`
	Shop        string `json:"shop"`
	PriceSats   int64  `json:"price_sats"`
	FeeSats     int64  `json:"fee_sats"`
	BalanceSats int64  `json:"balance_sats"`
	Existing    bool   `json:"existing"`
}

func buyCmd(env *Env) *cobra.Command {
	var maxPrice int64
	var key string
	cmd := &cobra.Command{
		Use:   "buy SHOP [--max-price SATS] [--key KEY]",
		Short: "buy a shop from your wallet",
		Args:  exactArgs(1, "SHOP [--max-price SATS] [--key KEY]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := env.Market.Buy(env.Ctx, env.Actor, args[0], key, maxPrice)
			if err != nil {
				return err
			}
			v := buyJSON{Purchase: p.ID, Shop: p.Shop, PriceSats: p.PriceSats, FeeSats: p.FeeSats, BalanceSats: p.BalanceSats, Existing: p.Existing}
			return emit(cmd, v, func(w io.Writer) {
				if p.Existing {
					fmt.Fprintf(w, "you already own %s (purchase %s): nothing was charged\n", p.Shop, p.ID)
				} else {
					fmt.Fprintf(w, "bought %s for %d sats (purchase %s); balance %d sats\n", p.Shop, p.PriceSats, p.ID, p.BalanceSats)
				}
				fmt.Fprintf(w, "get it:     %s get %s > file\nor licence: %s licence %s > %s.slip\n", env.Dial, p.Shop, env.Dial, p.Shop, p.Shop)
			})
		},
	}
	cmd.Flags().Int64Var(&maxPrice, "max-price", 0, "refuse if the live price is above this")
	cmd.Flags().StringVar(&key, "key", "", "idempotency key: repeating it never charges twice")
	return cmd
}

type libraryJSON struct {
	Purchase  string `json:"purchase"`
	Shop      string `json:"shop"`
	Title     string `json:"title"`
	PriceSats int64  `json:"price_sats"`
	At        string `json:"at"`
}

func libraryCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "library",
		Short: "what you bought",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			items, err := env.Market.Library(env.Ctx, env.Actor)
			if err != nil {
				return err
			}
			out := make([]libraryJSON, 0, len(items))
			for _, it := range items {
				out = append(out, libraryJSON{Purchase: it.Purchase, Shop: it.Shop, Title: it.Title, PriceSats: it.PriceSats, At: stamp(it.At)})
			}
			return emit(cmd, out, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SHOP\tPRICE\tBOUGHT\tTITLE")
				for _, it := range out {
					fmt.Fprintf(tw, "%s\t%d sats\t%s\t%s\n", it.Shop, it.PriceSats, it.At, it.Title)
				}
				tw.Flush()
			})
		},
	}
}

func licenceCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:     "licence SHOP > SHOP.slip",
		Aliases: []string{"license"},
		Short:   "a key slip that opens the .shop file with your own SSH key",
		Args:    exactArgs(1, "SHOP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			slip, err := env.Market.Licence(env.Ctx, env.Actor, args[0])
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(slip)
			return err
		},
	}
}
