package commands

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/shopfile/shopfile/market"
	"github.com/spf13/cobra"
)

// The web side of a wallet: pay buttons for publishers, paired browsers
// for readers, receipts for programs.

type buttonJSON struct {
	Shop string `json:"shop"`
	HTML string `json:"html"`
}

func buttonCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "button SHOP",
		Short: "the HTML snippet that sells SHOP on any web page (payee only)",
		Args:  exactArgs(1, "SHOP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			html, err := env.Market.Button(env.Ctx, env.Actor, args[0])
			if err != nil {
				return err
			}
			return emit(cmd, buttonJSON{Shop: args[0], HTML: html}, func(w io.Writer) {
				fmt.Fprintf(w, "Paste this where the button should be:\n\n%s\n\n", html)
				fmt.Fprintln(w, "When a reader pays, the page gets a `shopfile:paid` event whose detail.receipt")
				fmt.Fprintln(w, "you verify with this shop's host key (see /.well-known/shopfile.json).")
			})
		},
	}
}

type pairJSON struct {
	URL            string `json:"url"`
	ExpiresAt      string `json:"expires_at"`
	PerPurchaseCap int64  `json:"per_purchase_cap_sats"`
	DailyCap       int64  `json:"daily_cap_sats"`
}

func pairCmd(env *Env) *cobra.Command {
	var caps market.BrowserCaps
	cmd := &cobra.Command{
		Use:   "pair [--max-price SATS] [--daily SATS]",
		Short: "a one-time link that pairs a browser with your wallet",
		Args:  exactArgs(0, "[--max-price SATS] [--daily SATS]"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := env.Market.NewPairing(env.Ctx, env.Actor, caps)
			if err != nil {
				return err
			}
			v := pairJSON{URL: l.URL, ExpiresAt: stamp(l.ExpiresAt), PerPurchaseCap: l.Caps.PerPurchaseSats, DailyCap: l.Caps.DailySats}
			return emit(cmd, v, func(w io.Writer) {
				fmt.Fprintf(w, "Open this link in the browser to pair, before %s (it works once):\n\n  %s\n\n", v.ExpiresAt, v.URL)
				fmt.Fprintf(w, "That browser may then pay up to %d sats a click and %d sats a day without asking.\n", v.PerPurchaseCap, v.DailyCap)
				fmt.Fprintf(w, "List paired browsers: %s sessions; unpair one: %s revoke SESSION\n", env.Dial, env.Dial)
			})
		},
	}
	cmd.Flags().Int64Var(&caps.PerPurchaseSats, "max-price", 0, fmt.Sprintf("largest single purchase without asking (default %d)", market.DefaultPerPurchaseCap))
	cmd.Flags().Int64Var(&caps.DailySats, "daily", 0, fmt.Sprintf("most spent per UTC day without asking (default %d)", market.DefaultDailyCap))
	return cmd
}

type sessionJSON struct {
	Session        string `json:"session"`
	Label          string `json:"label"`
	PerPurchaseCap int64  `json:"per_purchase_cap_sats"`
	DailyCap       int64  `json:"daily_cap_sats"`
	SpentToday     int64  `json:"spent_today_sats"`
	CreatedAt      string `json:"created_at"`
	LastUsedAt     string `json:"last_used_at"`
	ExpiresAt      string `json:"expires_at"`
}

func sessionsCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "sessions",
		Short: "your paired browsers, with their caps",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ss, err := env.Market.BrowserSessions(env.Ctx, env.Actor)
			if err != nil {
				return err
			}
			out := make([]sessionJSON, 0, len(ss))
			for _, s := range ss {
				out = append(out, sessionJSON{Session: s.ID, Label: s.Label, PerPurchaseCap: s.Caps.PerPurchaseSats, DailyCap: s.Caps.DailySats,
					SpentToday: s.SpentTodaySats, CreatedAt: stamp(s.CreatedAt), LastUsedAt: stamp(s.LastUsedAt), ExpiresAt: stamp(s.ExpiresAt)})
			}
			return emit(cmd, out, func(w io.Writer) {
				if len(out) == 0 {
					fmt.Fprintf(w, "no paired browsers; pair one with: %s pair\n", env.Dial)
					return
				}
				tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SESSION\tPER CLICK\tDAILY\tTODAY\tLAST USED\tBROWSER")
				for _, s := range out {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", s.Session, s.PerPurchaseCap, s.DailyCap, s.SpentToday, s.LastUsedAt, s.Label)
				}
				tw.Flush()
			})
		},
	}
}

type revokeJSON struct {
	Session string `json:"session"`
	Revoked bool   `json:"revoked"`
}

func revokeCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke SESSION",
		Short: "unpair a browser at once",
		Args:  exactArgs(1, "SESSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := env.Market.RevokeBrowserSession(env.Ctx, env.Actor, args[0]); err != nil {
				return err
			}
			return emit(cmd, revokeJSON{Session: args[0], Revoked: true}, func(w io.Writer) {
				fmt.Fprintf(w, "session %s revoked: that browser can no longer pay\n", args[0])
			})
		},
	}
}

type receiptJSON struct {
	Shop      string `json:"shop"`
	Account   string `json:"account"`
	Purchase  string `json:"purchase"`
	PriceSats int64  `json:"price_sats"`
	At        string `json:"at"`
	Receipt   string `json:"receipt"`
}

func receiptCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "receipt SHOP",
		Short: "a signed receipt of your purchase (for GET /s/SHOP/content)",
		Args:  exactArgs(1, "SHOP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, c, err := env.Market.Receipt(env.Ctx, env.Actor, args[0])
			if err != nil {
				return err
			}
			v := receiptJSON{Shop: c.Shop, Account: c.Account, Purchase: c.Purchase, PriceSats: c.PriceSats, At: c.At, Receipt: tok}
			return emit(cmd, v, func(w io.Writer) { fmt.Fprintln(w, tok) })
		},
	}
}
