package commands

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shopfile/shopfile/market"
	"github.com/spf13/cobra"
)

type whoamiJSON struct {
	Account     string   `json:"account"`
	Roles       []string `json:"roles"`
	BalanceSats int64    `json:"balance_sats"`
}

func whoamiCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "your account (your SSH key's fingerprint), roles and balance",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			bal, err := env.Market.Balance(env.Ctx, env.Actor)
			if err != nil {
				return err
			}
			roles := env.Actor.Roles
			if roles == nil {
				roles = []string{}
			}
			v := whoamiJSON{Account: env.Actor.ID, Roles: roles, BalanceSats: bal}
			return emit(cmd, v, func(w io.Writer) {
				fmt.Fprintf(w, "account  %s\nroles    %s\nbalance  %d sats\n", v.Account, strings.Join(append([]string{"buyer", "seller"}, roles...), ", "), bal)
			})
		},
	}
}

type uploadJSON struct {
	Shop        string `json:"shop"`
	Title       string `json:"title"`
	Size        int64  `json:"size"`
	PriceSats   int64  `json:"price_sats"`
	ContentHash string `json:"content_hash"`
	ContentID   string `json:"content_id"`
}

func uploadCmd(env *Env) *cobra.Command {
	var req market.UploadRequest
	cmd := &cobra.Command{
		Use:   "upload NAME [--price SATS] [--title T] [--description D] < FILE",
		Short: "sell the file on stdin as a new shop",
		Args:  rangeArgs(1, 64, "NAME [--price SATS] [--title T] [--description D] < FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = strings.Join(args, " ") // a name with spaces arrives as several words
			if cmd.Flags().Changed("price") && req.PriceSats <= 0 {
				return market.ValidPrice(req.PriceSats)
			}
			s, err := env.Market.Upload(env.Ctx, env.Actor, req, env.Stdin)
			if err != nil {
				return err
			}
			v := uploadJSON{Shop: s.ID, Title: s.Title, Size: s.Size, PriceSats: s.PriceSats, ContentHash: s.ContentHash, ContentID: s.ContentID}
			return emit(cmd, v, func(w io.Writer) {
				fmt.Fprintf(w, "shop %s: %q, %s, %d sats\n", s.ID, s.Title, market.FormatBytes(s.Size), s.PriceSats)
				fmt.Fprintf(w, "share it: %s fetch %s > %s.shop\n", env.Dial, s.ID, s.ID)
			})
		},
	}
	cmd.Flags().Int64Var(&req.PriceSats, "price", 0, "price in satoshis")
	cmd.Flags().StringVar(&req.Title, "title", "", "title (default: the file name)")
	cmd.Flags().StringVar(&req.Description, "description", "", "description")
	return cmd
}

type shopLineJSON struct {
	Shop      string `json:"shop"`
	Title     string `json:"title"`
	PriceSats int64  `json:"price_sats"`
	Size      int64  `json:"size"`
	Payee     string `json:"payee"`
}

func lsCmd(env *Env) *cobra.Command {
	var q market.ListQuery
	cmd := &cobra.Command{
		Use:   "ls [QUERY] [--mine] [--sort newest|price|price-desc]",
		Short: "list and search shops",
		Args:  rangeArgs(0, 64, "[QUERY] [--mine] [--sort newest|price|price-desc] [--limit N] [--offset N]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Text = strings.Join(args, " ")
			page, err := env.Market.List(env.Ctx, env.Actor, q)
			if err != nil {
				return err
			}
			lines := make([]shopLineJSON, 0, len(page.Shops))
			for _, s := range page.Shops {
				lines = append(lines, shopLineJSON{Shop: s.ID, Title: s.Title, PriceSats: s.PriceSats, Size: s.Size, Payee: s.Payee})
			}
			return emit(cmd, lines, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SHOP\tPRICE\tSIZE\tTITLE")
				for _, s := range page.Shops {
					fmt.Fprintf(tw, "%s\t%d sats\t%s\t%s\n", s.ID, s.PriceSats, market.FormatBytes(s.Size), s.Title)
				}
				tw.Flush()
				fmt.Fprintf(w, "%d of %d shops\n", len(page.Shops), page.Total)
			})
		},
	}
	cmd.Flags().BoolVar(&q.Mine, "mine", false, "only shops you uploaded or are paid for")
	cmd.Flags().StringVar(&q.Sort, "sort", "newest", "newest, price or price-desc")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "at most this many")
	cmd.Flags().IntVar(&q.Offset, "offset", 0, "skip this many")
	return cmd
}

type showJSON struct {
	Shop        string `json:"shop"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Name        string `json:"name"`
	PriceSats   int64  `json:"price_sats"`
	Size        int64  `json:"size"`
	Payee       string `json:"payee"`
	Uploader    string `json:"uploader"`
	Sales       int64  `json:"sales"`
	ContentID   string `json:"content_id"`
	Frozen      bool   `json:"frozen"`
	CreatedAt   string `json:"created_at"`
	// Magnet is the container's magnet link (BitTorrent v1 infohash, with
	// the HTTP web seed when the shop serves HTTP); Torrent the .torrent's
	// URL, "" without the HTTP face.
	Magnet  string `json:"magnet"`
	Torrent string `json:"torrent"`
}

func showCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "show SHOP",
		Short: "one shop's terms",
		Args:  exactArgs(1, "SHOP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := env.Market.Show(env.Ctx, env.Actor, args[0])
			if err != nil {
				return err
			}
			v := showJSON{Shop: s.ID, Title: s.Title, Description: s.Description, Name: s.Name, PriceSats: s.PriceSats, Size: s.Size,
				Payee: s.Payee, Uploader: s.Uploader, Sales: s.Sales, ContentID: s.ContentID, Frozen: s.Frozen, CreatedAt: stamp(s.CreatedAt)}
			// The torrent describes the public container; if it cannot be
			// built now, the shop's terms are still worth showing.
			if t, err := env.Market.Torrent(env.Ctx, s.ID); err == nil {
				v.Magnet, v.Torrent = t.Magnet, t.URL
			}
			return emit(cmd, v, func(w io.Writer) {
				fmt.Fprintf(w, "shop         %s\ntitle        %s\n", v.Shop, v.Title)
				if v.Description != "" {
					fmt.Fprintf(w, "description  %s\n", v.Description)
				}
				fmt.Fprintf(w, "price        %d sats\nsize         %s (%d bytes)\npayee        %s\nuploader     %s\nsales        %d\ncontent id   %s\n",
					v.PriceSats, market.FormatBytes(v.Size), v.Size, v.Payee, v.Uploader, v.Sales, v.ContentID)
				fmt.Fprintf(w, "buy it:      %s buy %s\n", env.Dial, v.Shop)
				if v.Torrent != "" {
					fmt.Fprintf(w, "torrent      %s\n", v.Torrent)
				}
			})
		},
	}
}

type priceJSON struct {
	Shop      string `json:"shop"`
	PriceSats int64  `json:"price_sats"`
}

func priceCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "price SHOP SATS",
		Short: "reprice a shop you are paid for",
		Args:  exactArgs(2, "SHOP SATS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			price, err := parseSats("price", args[1])
			if err != nil {
				return err
			}
			s, err := env.Market.Reprice(env.Ctx, env.Actor, args[0], price)
			if err != nil {
				return err
			}
			return emit(cmd, priceJSON{Shop: s.ID, PriceSats: s.PriceSats}, func(w io.Writer) {
				fmt.Fprintf(w, "%s now costs %d sats\n", s.ID, s.PriceSats)
			})
		},
	}
}

func getCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "get SHOP > FILE",
		Short: "the plaintext, for its uploader, payee and buyers",
		Args:  exactArgs(1, "SHOP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := env.Market.Get(env.Ctx, env.Actor, args[0], cmd.OutOrStdout())
			return err
		},
	}
}

func fetchCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "fetch SHOP > SHOP.shop",
		Short: "the encrypted .shop file, for anyone",
		Args:  exactArgs(1, "SHOP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := env.Market.Fetch(env.Ctx, env.Actor, args[0], cmd.OutOrStdout())
			return err
		},
	}
}

// parseSats reads a whole, non-negative number of satoshis.
func parseSats(what, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q must be a whole number of satoshis: %w", what, s, market.ErrInvalid)
	}
	return n, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
