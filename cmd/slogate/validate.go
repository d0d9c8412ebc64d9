package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/slo"
)

// configName is the file that makes a directory a server setup (a config
// with its specs) rather than a directory of specs, when it is a config.
const configName = "slogate.yaml"

func newValidateCmd() *cobra.Command {
	var config string
	cmd := &cobra.Command{
		Use:   "validate [--config FILE] [PATH...]",
		Short: "Check specs and server configs and list every problem",
		Long: `Validate checks each PATH and prints every problem as FILE:LINE: FIELD: MESSAGE,
and every warning as FILE:LINE: FIELD: warning: MESSAGE.

A PATH is a spec file (*.yaml, *.yml), a directory of spec files, or a
directory holding a server config named slogate.yaml, which is checked with
all the specs it names. Other files are skipped. With --config, the PATHs are
checked as the specs of that config: their schedules and sources must exist
in it. It exits 1 when there is any problem, 0 when all is valid; warnings
alone (such as a service without a runbook) do not fail.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if config == "" && len(args) == 0 {
				return errors.New("nothing to validate: give spec files or directories, or --config")
			}
			ok := validate(cmd.OutOrStdout(), cmd.ErrOrStderr(), config, args)
			if !ok {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "server config file the specs are checked against")
	return cmd
}

// validate checks config and paths, prints problems and warnings to out
// and a summary to errOut, and reports whether everything is valid:
// warnings alone do not make it invalid.
func validate(out, errOut io.Writer, config string, paths []string) bool {
	var problems slo.Problems // with the warnings, in file order
	var other []error
	services := 0
	collect := func(n int, warnings slo.Problems, err error) {
		services += n
		problems = append(problems, warnings...)
		var ps slo.Problems
		switch {
		case errors.As(err, &ps):
			problems = append(problems, ps...)
		case err != nil:
			other = append(other, err)
		}
	}
	fromCatalog := func(cat *slo.Catalog, err error) {
		if cat == nil {
			collect(0, nil, err)
			return
		}
		collect(len(cat.Services), cat.Warnings, err)
	}
	if config != "" {
		fromCatalog(slo.LoadWithSpecs(config, paths))
	} else {
		var specs []string
		for _, p := range paths {
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				other = append(other, fmt.Errorf("validate: %w", err))
			case fi.IsDir() && isConfig(filepath.Join(p, configName)):
				fromCatalog(slo.Load(filepath.Join(p, configName)))
			case fi.IsDir(), isYAML(p):
				specs = append(specs, p)
			default:
				fmt.Fprintf(errOut, "skipped %s: not a YAML file or directory\n", p)
			}
		}
		if len(specs) > 0 {
			svcs, warnings, err := slo.LoadServicesWarnings(specs)
			collect(len(svcs), warnings, err)
		}
	}
	for _, p := range problems {
		fmt.Fprintln(out, p.String())
	}
	for _, err := range other {
		fmt.Fprintln(out, err)
	}
	n, warnings := problems.Count()
	switch n += len(other); {
	case n > 0:
		fmt.Fprintf(errOut, "%d problem(s), %d warning(s)\n", n, warnings)
		return false
	case warnings > 0:
		fmt.Fprintf(errOut, "ok: %d service(s) valid, %d warning(s)\n", services, warnings)
	default:
		fmt.Fprintf(errOut, "ok: %d service(s) valid\n", services)
	}
	return true
}

// isConfig reports whether p is a server config rather than a service
// spec (a service named slogate may well live in slogate.yaml): a config
// has no slos.
func isConfig(p string) bool {
	data, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return true // let the config loader report what is wrong
	}
	_, spec := top["slos"]
	return !spec
}

func isYAML(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	return ext == ".yaml" || ext == ".yml"
}
