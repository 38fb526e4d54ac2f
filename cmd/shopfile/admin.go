package main

import (
	"fmt"

	"github.com/shopfile/shopfile/store"
	"github.com/spf13/cobra"
)

func adminCmd() *cobra.Command {
	admin := &cobra.Command{Use: "admin", Short: "operator commands"}
	var data, dbDriver, dbDSN string
	grant := &cobra.Command{
		Use:   "grant ROLE KEY --data DIR",
		Short: "grant rights-holder, admin or signer to a public key file or a SHA256: fingerprint",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd); err != nil {
				return exitError{2, err}
			}
			role := args[0]
			switch role {
			case store.RoleRightsHolder, store.RoleAdmin, store.RoleSigner:
			default:
				return exitError{2, fmt.Errorf("unknown role %q: rights-holder, admin or signer", role)}
			}
			id, err := accountID(args[1])
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), dbDriver, dbDSN, data)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.GrantRole(cmd.Context(), id, role); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "granted %s to %s\n", role, id)
			return nil
		},
	}
	grant.Flags().StringVar(&data, "data", "./data", "the shop's data directory")
	grant.Flags().StringVar(&dbDriver, "db-driver", "sqlite", "sqlite or postgres")
	grant.Flags().StringVar(&dbDSN, "db-dsn", "", "PostgreSQL connection string")
	admin.AddCommand(grant)
	return admin
}
