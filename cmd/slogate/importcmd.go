package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slogate/slogate/slo/translate"
)

type importOptions struct {
	out, ownerTeam string
	partial, force bool
}

func newImportCmd() *cobra.Command {
	var o importOptions
	cmd := &cobra.Command{
		Use:   "import openslo|sloth [--out DIR] [--owner-team TEAM] [--partial] FILE...",
		Short: "Translate OpenSLO or Sloth SLOs into slogate specs",
		Long: `import translates SLOs written for other tools into slogate service specs:
OpenSLO v1 documents (import openslo) or Sloth prometheus/v1 specs and
PrometheusServiceLevel objects (import sloth).

It prints the specs to stdout as YAML documents, or with --out writes one
<service>.yaml per service into DIR, each one valid for slogate validate.
Whatever cannot be translated is listed on stderr as FILE:LINE: FIELD:
MESSAGE; fields left out that change neither what is measured nor who is
alerted (display names, alert labels) are listed as warnings. When
anything cannot be translated, import writes nothing and exits 1, unless
--partial is given: it then writes what translates and exits 0.`,
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.out, "out", "", "directory to write one <service>.yaml per service into (default: print the specs to stdout)")
	f.StringVar(&o.ownerTeam, "owner-team", "", "owning team of services whose source names none (with a team or owner label)")
	f.BoolVar(&o.partial, "partial", false, "write what translates even when something does not, and exit 0")
	f.BoolVar(&o.force, "force", false, "overwrite existing files in --out")
	for _, format := range []struct {
		name, short string
		translate   func([]translate.Input, translate.Options) translate.Result
	}{
		{"openslo", "Translate OpenSLO v1 documents (Service, SLO, SLI, DataSource), read together", translate.OpenSLO},
		{"sloth", "Translate Sloth prometheus/v1 specs and sloth.slok.dev/v1 PrometheusServiceLevel objects", translate.Sloth},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:   format.name + " FILE...",
			Short: format.short,
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runImport(cmd.OutOrStdout(), cmd.ErrOrStderr(), format.translate, o, args)
			},
		})
	}
	return cmd
}

// runImport translates files, prints the report to errOut, and writes the
// specs to out or into o.out.
func runImport(out, errOut io.Writer, fn func([]translate.Input, translate.Options) translate.Result, o importOptions, files []string) error {
	inputs := make([]translate.Input, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		inputs = append(inputs, translate.Input{File: f, Data: data})
	}
	res := fn(inputs, translate.Options{OwnerTeam: o.ownerTeam})
	for _, p := range res.Report {
		fmt.Fprintln(errOut, p.String())
	}
	problems, warnings := res.Report.Count()
	if problems > 0 && !o.partial {
		fmt.Fprintf(errOut, "%d problem(s), %d warning(s): nothing written; fix the sources, or give --partial to write what translates\n", problems, warnings)
		return exitError{code: 1}
	}

	// Render everything before writing anything, so that a failure leaves
	// no half-written directory.
	type file struct {
		path string
		data []byte
	}
	var specs []file
	slos := 0
	for _, s := range res.Services {
		data, err := translate.Marshal(s)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		specs = append(specs, file{path: s.Spec.Name + ".yaml", data: data})
		slos += len(s.Spec.SLOs)
	}
	if o.out == "" {
		for _, s := range specs {
			fmt.Fprint(out, "---\n")
			if _, err := out.Write(s.data); err != nil {
				return fmt.Errorf("import: %w", err)
			}
		}
	} else {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		var exist []string
		for i := range specs {
			specs[i].path = filepath.Join(o.out, specs[i].path)
			if _, err := os.Stat(specs[i].path); err == nil {
				exist = append(exist, specs[i].path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("import: %w", err)
			}
		}
		if len(exist) > 0 && !o.force {
			return fmt.Errorf("import: %s already exist(s); nothing written: remove them, choose another --out, or give --force to overwrite", strings.Join(exist, ", "))
		}
		for _, s := range specs {
			if err := os.WriteFile(s.path, s.data, 0o644); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			fmt.Fprintf(errOut, "wrote %s\n", s.path)
		}
	}
	summary := fmt.Sprintf("%d service(s) with %d SLO(s) translated", len(specs), slos)
	if problems > 0 {
		summary += fmt.Sprintf("; %d problem(s) not translated", problems)
	}
	if warnings > 0 {
		summary += fmt.Sprintf(", %d warning(s)", warnings)
	}
	fmt.Fprintln(errOut, summary)
	return nil
}
