package main

import (
	"context"
	"fmt"

	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store/sqlstore"
)

// setupChain builds the deposit side for --chain, or nothing for none.
func setupChain(ctx context.Context, c serveConfig, st *sqlstore.DB, logger *log.Logger) (market.Chain, func(context.Context), error) {
	if c.chain == "none" {
		return nil, nil, nil
	}
	return nil, nil, fmt.Errorf("--chain %s: not wired yet", c.chain)
}
