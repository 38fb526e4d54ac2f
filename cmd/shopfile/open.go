package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/shopfile/shopfile/market/container"
	"github.com/spf13/cobra"
)

func openCmd() *cobra.Command {
	var slip, identity, out string
	cmd := &cobra.Command{
		Use:   "open FILE.shop --licence SLIP --identity KEY [-o OUT]",
		Short: "decrypt a .shop file with a key slip and your SSH private key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if slip == "" {
				return exitError{2, fmt.Errorf("open without --licence is not available yet: get a slip with `ssh … licence SHOP > SHOP.slip`")}
			}
			if identity == "" {
				return exitError{2, fmt.Errorf("--identity KEY (your SSH private key) is required")}
			}
			if out == "" {
				out = strings.TrimSuffix(filepath.Base(args[0]), ".shop")
			}
			if err := container.OpenFile(args[0], slip, identity, out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "opened %s → %s\n", args[0], out)
			return nil
		},
	}
	cmd.Flags().StringVar(&slip, "licence", "", "the key slip from `ssh … licence SHOP`")
	cmd.Flags().StringVar(&slip, "license", "", "alias of --licence")
	cmd.Flags().StringVarP(&identity, "identity", "i", "", "your SSH private key")
	cmd.Flags().StringVarP(&out, "output", "o", "", "where to write the plaintext")
	return cmd
}
