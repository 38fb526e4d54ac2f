package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shopfile/shopfile/market/receipt"
	"github.com/spf13/cobra"
)

type receiptVerifyJSON struct {
	Shop      string `json:"shop"`
	Account   string `json:"account"`
	Purchase  string `json:"purchase"`
	PriceSats int64  `json:"price_sats"`
	At        string `json:"at"`
	Valid     bool   `json:"valid"`
	HostKey   string `json:"host_key_fingerprint"`
	Error     string `json:"error,omitempty"`
}

func receiptCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "receipt",
		Short: "work with pay-button receipts",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(receiptVerifyCmd())
	return cmd
}

// receiptVerifyCmd checks a receipt offline: only the shop's host public
// key is needed. Exit 0 valid, 1 invalid (forged, damaged, or for another
// shop or buyer than --shop/--account), 2 usage.
func receiptVerifyCmd() *cobra.Command {
	var hostKey, shop, account string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify TOKEN|- --host-key KEY [--shop SHOP] [--account SHA256:…] [--json]",
		Short: "verify a receipt offline with the shop's host key",
		Long: "KEY is the shop's host key as an authorized_keys line (ssh-ed25519 AAAA…), its 32 bytes in base64url\n" +
			"(\"receipt_key\" in /.well-known/shopfile.json), or a file holding either. TOKEN - reads it from stdin.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return exitError{2, errors.New("usage: shopfile receipt verify TOKEN --host-key KEY [--json]")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if hostKey == "" {
				return exitError{2, errors.New("--host-key is required: the shop's host key (see /.well-known/shopfile.json)")}
			}
			pub, err := receipt.ParseKey(hostKey)
			if err != nil {
				return exitError{2, err}
			}
			tok := args[0]
			if tok == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), receipt.MaxLen+2))
				if err != nil {
					return fmt.Errorf("read receipt: %w", err)
				}
				tok = string(b)
			}
			v := receiptVerifyJSON{HostKey: receipt.Fingerprint(pub)}
			c, err := receipt.Verify(pub, strings.TrimSpace(tok))
			if err == nil {
				v.Shop, v.Account, v.Purchase, v.PriceSats, v.At = c.Shop, c.Account, c.Purchase, c.PriceSats, c.At
				if shop != "" || account != "" {
					want := shop
					if want == "" {
						want = c.Shop
					}
					err = c.For(want, account)
				}
			}
			v.Valid = err == nil
			out := cmd.OutOrStdout()
			if asJSON {
				if err != nil {
					v.Error = err.Error()
				}
				if jerr := json.NewEncoder(out).Encode(v); jerr != nil {
					return jerr
				}
			} else if err == nil {
				fmt.Fprintf(out, "valid receipt: %s bought %s (purchase %s, %d sats) at %s\nsigned by %s\n",
					v.Account, v.Shop, v.Purchase, v.PriceSats, v.At, v.HostKey)
			}
			if err != nil {
				return exitError{1, fmt.Errorf("receipt refused: %w", err)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&hostKey, "host-key", "", "the shop's host public key: ssh-ed25519 line, base64url bytes, or a file")
	f.StringVar(&shop, "shop", "", "refuse unless the receipt is for this shop")
	f.StringVar(&account, "account", "", "refuse unless the receipt is for this buyer (SHA256:…)")
	f.BoolVar(&asJSON, "json", false, `print {"shop","account","purchase","at","valid",…}`)
	return cmd
}
