// Command shopfile runs the shop and its local tools. It only wires: every
// rule lives in market/, every face in ssh/ and tui/.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries an exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func main() {
	root := &cobra.Command{
		Use:           "shopfile",
		Short:         "every file is its own shop",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(serveCmd(), inspectCmd(), adminCmd(), openCmd(), regtestCmd(), benchCmd(), signerCmd(), receiptCmd())
	err := root.Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "shopfile: "+err.Error())
	var ee exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}
