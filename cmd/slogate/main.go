// Command slogate answers a deploy pipeline's question "may we ship?" from
// error budgets. `slogate serve` runs the service; the other verbs are the
// CLI around it.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		if _, reported := err.(exitError); !reported {
			fmt.Fprintln(os.Stderr, "slogate:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitError carries an exit code for errors already reported to the user.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func exitCode(err error) int {
	if e, ok := err.(exitError); ok {
		return e.code
	}
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "slogate",
		Short:         "SLO error budgets, release gating and burn-rate alerts",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newValidateCmd(), newGateCmd(), newDeployCmd(), newBacktestCmd())
	root.AddCommand(newRulesCmd())
	root.AddCommand(newImportCmd())
	return root
}
