package commands

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/shopfile/shopfile/market"
	"github.com/spf13/cobra"
)

type refJSON struct {
	Ref     string `json:"ref"`
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	Matches int    `json:"matches,omitempty"`
}

func refCmd(env *Env) *cobra.Command {
	ref := &cobra.Command{Use: "ref", Short: "reference content (rights holders)", Args: noArgs, RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	ref.AddCommand(&cobra.Command{
		Use:   "add NAME < FILE",
		Short: "register reference content; every shop file is matched against it at once",
		Args:  rangeArgs(1, 64, "NAME < FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, found, err := env.Market.AddRef(env.Ctx, env.Actor, joinWords(args), env.Stdin)
			if err != nil {
				return err
			}
			v := refJSON{Ref: r.ID, Name: r.Name, Size: r.Size, Matches: len(found)}
			return emit(cmd, v, func(w io.Writer) {
				fmt.Fprintf(w, "reference %s: %q, %s; %d matching shop files\n", r.ID, r.Name, market.FormatBytes(r.Size), len(found))
			})
		},
	})
	return ref
}

func refsCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "refs",
		Short: "your references",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs, err := env.Market.Refs(env.Ctx, env.Actor)
			if err != nil {
				return err
			}
			out := make([]refJSON, 0, len(rs))
			for _, r := range rs {
				out = append(out, refJSON{Ref: r.ID, Name: r.Name, Size: r.Size})
			}
			return emit(cmd, out, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "REF\tSIZE\tNAME")
				for _, r := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Ref, market.FormatBytes(r.Size), r.Name)
				}
				tw.Flush()
			})
		},
	}
}

type matchJSON struct {
	Match    string          `json:"match"`
	Ref      string          `json:"ref"`
	Shop     string          `json:"shop"`
	Score    float64         `json:"score"`
	Strength string          `json:"strength"`
	Status   string          `json:"status"`
	Evidence market.Evidence `json:"evidence"`
}

func toMatchJSON(m market.MatchView) matchJSON {
	return matchJSON{Match: m.ID, Ref: m.Ref, Shop: m.Shop, Score: m.Score, Strength: m.Strength, Status: m.Status, Evidence: m.Evidence}
}

func printMatch(w io.Writer, m matchJSON) {
	e := m.Evidence
	fmt.Fprintf(w, "match %s: %s (%s, score %.2f)\n", m.Match, m.Status, m.Strength, m.Score)
	fmt.Fprintf(w, "  reference  %-28q %10s  %5.1f%% covered  first seen %s\n", e.RefName, market.FormatBytes(e.RefSize), 100*e.RefCovered, e.RefFirstSeen.Format("2006-01-02 15:04"))
	name := e.FileName
	if e.Member != "" {
		name += " / " + e.Member
	}
	fmt.Fprintf(w, "  shop file  %-28q %10s  %5.1f%% covered  first seen %s  (shop %s)\n", name, market.FormatBytes(e.FileSize), 100*e.FileCovered, e.FileFirstSeen.Format("2006-01-02 15:04"), m.Shop)
	if e.PriorArt {
		fmt.Fprintln(w, "  note: the upload was first seen before the reference was registered")
	}
}

func reportCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "report SHOP",
		Short: "compare one shop against your references now",
		Args:  exactArgs(1, "SHOP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := env.Market.Report(env.Ctx, env.Actor, args[0])
			if err != nil {
				return err
			}
			v := toMatchJSON(m)
			return emit(cmd, v, func(w io.Writer) { printMatch(w, v) })
		},
	}
}

func matchesCmd(env *Env) *cobra.Command {
	var ref string
	cmd := &cobra.Command{
		Use:   "matches [--ref REF]",
		Short: "shop files that contain your references, strongest first",
		Args:  exactArgs(0, "[--ref REF]"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ms, err := env.Market.Matches(env.Ctx, env.Actor, ref)
			if err != nil {
				return err
			}
			out := make([]matchJSON, 0, len(ms))
			for _, m := range ms {
				out = append(out, toMatchJSON(m))
			}
			return emit(cmd, out, func(w io.Writer) {
				if len(out) == 0 {
					fmt.Fprintln(w, "no matches")
				}
				for _, m := range out {
					printMatch(w, m)
				}
			})
		},
	}
	cmd.Flags().StringVar(&ref, "ref", "", "only this reference's matches")
	return cmd
}

type claimJSON struct {
	Claim     string `json:"claim"`
	Shop      string `json:"shop"`
	Holder    string `json:"holder"`
	Uploader  string `json:"uploader"`
	Payee     string `json:"payee"`
	PriceSats int64  `json:"price_sats"`
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
}

func toClaimJSON(c market.ClaimView) claimJSON {
	return claimJSON{Claim: c.ID, Shop: c.Shop, Holder: c.Holder, Uploader: c.Uploader, Payee: c.Payee, PriceSats: c.PriceSats, Status: c.Status, Reason: c.Reason}
}

func approveCmd(env *Env) *cobra.Command {
	var price int64
	cmd := &cobra.Command{
		Use:   "approve MATCH [--price SATS]",
		Short: "claim a match: you become the shop's payee at once",
		Args:  exactArgs(1, "MATCH [--price SATS]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("price") && price <= 0 {
				return market.ValidPrice(price)
			}
			c, err := env.Market.Approve(env.Ctx, env.Actor, args[0], price)
			if err != nil {
				return err
			}
			v := toClaimJSON(c)
			return emit(cmd, v, func(w io.Writer) {
				fmt.Fprintf(w, "claim %s: shop %s now pays you, at %d sats\n", v.Claim, v.Shop, v.PriceSats)
			})
		},
	}
	cmd.Flags().Int64Var(&price, "price", 0, "the shop's new price in satoshis")
	return cmd
}

func dismissCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "dismiss MATCH",
		Short: "close a match without claiming",
		Args:  exactArgs(1, "MATCH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := env.Market.Dismiss(env.Ctx, env.Actor, args[0])
			if err != nil {
				return err
			}
			return emit(cmd, map[string]string{"match": m.ID, "status": m.Status}, func(w io.Writer) {
				fmt.Fprintf(w, "match %s dismissed\n", m.ID)
			})
		},
	}
}

func claimsCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "claims",
		Short: "claims you are party to (admins: all)",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := env.Market.Claims(env.Ctx, env.Actor)
			if err != nil {
				return err
			}
			out := make([]claimJSON, 0, len(cs))
			for _, c := range cs {
				out = append(out, toClaimJSON(c))
			}
			return emit(cmd, out, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CLAIM\tSHOP\tSTATUS\tPRICE\tHOLDER\tUPLOADER")
				for _, c := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d sats\t%s\t%s\n", c.Claim, c.Shop, c.Status, c.PriceSats, c.Holder, c.Uploader)
				}
				tw.Flush()
			})
		},
	}
}

func disputeCmd(env *Env) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "dispute CLAIM --reason TEXT",
		Short: "contest a claim on your upload (its sales go to escrow until resolved)",
		Args:  exactArgs(1, "CLAIM --reason TEXT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := env.Market.Dispute(env.Ctx, env.Actor, args[0], reason)
			if err != nil {
				return err
			}
			return emit(cmd, map[string]string{"claim": c.ID, "status": c.Status}, func(w io.Writer) {
				fmt.Fprintf(w, "claim %s disputed: the price is frozen and new sales are held in escrow until an admin resolves it\n", c.ID)
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the claim is wrong")
	return cmd
}

func resolveCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "resolve CLAIM uphold|reverse",
		Short: "decide a disputed claim (admins)",
		Args:  exactArgs(2, "CLAIM uphold|reverse"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := env.Market.Resolve(env.Ctx, env.Actor, args[0], args[1])
			if err != nil {
				return err
			}
			return emit(cmd, map[string]string{"claim": c.ID, "status": c.Status}, func(w io.Writer) {
				fmt.Fprintf(w, "claim %s %s; shop %s pays %s at %d sats\n", c.ID, c.Status, c.Shop, c.Payee, c.PriceSats)
			})
		},
	}
}

type auditJSON struct {
	Actor    string `json:"actor"`
	Kind     string `json:"kind"`
	Body     string `json:"body"`
	At       string `json:"at"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

func auditCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "audit CLAIM",
		Short: "a claim's hash-chained history (its parties and admins)",
		Args:  exactArgs(1, "CLAIM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			evs, err := env.Market.Audit(env.Ctx, env.Actor, args[0])
			if err != nil {
				return err
			}
			out := make([]auditJSON, 0, len(evs))
			for _, e := range evs {
				out = append(out, auditJSON{Actor: e.Actor, Kind: e.Kind, Body: e.Body, At: stamp(e.At), PrevHash: e.PrevHash, Hash: e.Hash})
			}
			return emit(cmd, out, func(w io.Writer) {
				for _, e := range out {
					fmt.Fprintf(w, "%s  %-9s %s  %s\n          hash %s\n", e.At, e.Kind, e.Actor, e.Body, e.Hash)
				}
			})
		},
	}
}
