package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/shopfile/shopfile/market/chain"
	"github.com/spf13/cobra"
)

func regtestCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "regtest", Short: "regtest helpers for trying the shop locally"}
	var data string
	pay := &cobra.Command{
		Use:   "pay ADDRESS SATS --data DIR",
		Short: "pay ADDRESS from the regtest node's mining key and mine a block (regtest only)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd); err != nil {
				return exitError{2, err}
			}
			sats, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil || sats <= 0 {
				return exitError{2, fmt.Errorf("SATS %q must be a positive whole number of satoshis", args[1])}
			}
			params, _ := chain.Params("regtest")
			if _, _, err := chain.DecodeAddress(args[0], params); err != nil {
				return fmt.Errorf("%s is not a regtest address (regtest pay refuses every other chain): %w", args[0], err)
			}
			b, err := os.ReadFile(regtestNodeFile(data))
			if err != nil {
				return fmt.Errorf("no regtest node recorded in %s (start the shop with `make run` first): %w", data, err)
			}
			var n regtestNode
			if err := json.Unmarshal(b, &n); err != nil {
				return fmt.Errorf("%s: %w", regtestNodeFile(data), err)
			}
			key, _, err := chain.EnsureMiningKey(data)
			if err != nil {
				return err
			}
			client, err := chain.Dial(chain.RPCConfig{Host: n.RPC, User: n.User, Pass: n.Pass, NoTLS: true})
			if err != nil {
				return err
			}
			defer client.Close()
			txid, err := chain.PayFromMiner(cmd.Context(), client, key, params, args[0], sats)
			if err != nil {
				return fmt.Errorf("pay %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "paid %d sats to %s in %s and mined a block\n", sats, args[0], txid)
			return nil
		},
	}
	pay.Flags().StringVar(&data, "data", "./data", "the shop's data directory")
	cmd.AddCommand(pay)
	return cmd
}
