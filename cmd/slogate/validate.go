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
		Long: `Validate checks each PATH and prints every problem as FILE:LINE: FIELD: MESSAGE.

A PATH is a spec file (*.yaml, *.yml), a directory of spec files, or a
directory holding a server config named slogate.yaml, which is checked with
all the specs it names. Other files are skipped. With --config, the PATHs are
checked as the specs of that config: their schedules and sources must exist
in it. It exits 1 when there is any problem, 0 when all is valid.`,
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

// validate checks config and paths, prints problems to out and a summary
// to errOut, and reports whether everything is valid.
func validate(out, errOut io.Writer, config string, paths []string) bool {
	var problems slo.Problems
	var other []error
	services := 0
	collect := func(n int, err error) {
		services += n
		var ps slo.Problems
		switch {
		case errors.As(err, &ps):
			problems = append(problems, ps...)
		case err != nil:
			other = append(other, err)
		}
	}
	if config != "" {
		cat, err := slo.LoadWithSpecs(config, paths)
		collect(count(cat), err)
	} else {
		var specs []string
		for _, p := range paths {
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				other = append(other, fmt.Errorf("validate: %w", err))
			case fi.IsDir() && isConfig(filepath.Join(p, configName)):
				cat, err := slo.Load(filepath.Join(p, configName))
				collect(count(cat), err)
			case fi.IsDir(), isYAML(p):
				specs = append(specs, p)
			default:
				fmt.Fprintf(errOut, "skipped %s: not a YAML file or directory\n", p)
			}
		}
		if len(specs) > 0 {
			svcs, err := slo.LoadServices(specs)
			collect(len(svcs), err)
		}
	}
	for _, p := range problems {
		fmt.Fprintln(out, p.String())
	}
	for _, err := range other {
		fmt.Fprintln(out, err)
	}
	if n := len(problems) + len(other); n > 0 {
		fmt.Fprintf(errOut, "%d problem(s)\n", n)
		return false
	}
	fmt.Fprintf(errOut, "ok: %d service(s) valid\n", services)
	return true
}

func count(c *slo.Catalog) int {
	if c == nil {
		return 0
	}
	return len(c.Services)
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
