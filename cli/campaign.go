package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/campaign"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
)

func newCampaignCmd() *cobra.Command {
	var storeDir, shard, only string
	var parallel int
	var quiet, smoke, print bool
	var sf sshFlags
	c := &cobra.Command{
		Use:   "campaign [FILE]",
		Short: "Run a matrix of target × workload × nemesis cells with expectations (default: the embedded campaign)",
		Long: `campaign runs every cell of a campaign file (docs/campaigns.md) and writes
store/campaigns/<timestamp>/ with index.html, results.json and junit.xml.
With no FILE it runs the campaign embedded in the binary, which shows each
claim of the distributed-lock chapter.

Exit codes: 0 every expectation met; 1 a safe cell found a violation; 2 an
unsafe cell did not reproduce, or a result was unknown; 3 bad campaign file;
4 infrastructure failure.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "default"
			if smoke {
				name = "smoke"
			}
			if print {
				b, err := campaign.EmbeddedSource(name)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			if parallel < 0 || parallel > campaign.MaxParallel {
				return usageErr("--parallel %d must be 0 (the file's setting) or 1..%d", parallel, campaign.MaxParallel)
			}
			var i, n int
			if shard != "" {
				var err error
				if i, n, err = campaign.ParseShard(shard); err != nil {
					return usageErr("%v", err)
				}
			}
			f, err := loadCampaign(args, smoke)
			if err != nil {
				return err
			}
			cells := f.Expand()
			if only != "" {
				if cells, err = campaign.Select(cells, only); err != nil {
					return usageErr("%v", err)
				}
			}
			if shard != "" {
				cells, _ = campaign.Shard(cells, i, n)
			}
			if err := f.CheckClients(cells); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if err := store.CheckRoot(storeDir); err != nil {
				return usageErr("--store: %v", err)
			}
			// The servers the cells build or bring, before the node image
			// and the first run: a version that does not exist stops the
			// campaign here.
			seen := map[string]bool{}
			if err := f.Provision(cmd.Context(), cells, func(line string) {
				if !seen[line] && !quiet {
					seen[line] = true
					fmt.Fprintf(cmd.ErrOrStderr(), "lockstorm: %s\n", line)
				}
			}); err != nil {
				if errors.Is(err, campaign.ErrBadFile) {
					return &exitError{code: exitUsage, err: err}
				}
				return err
			}
			var names []string
			for _, c := range cells {
				names = append(names, c.Target)
			}
			opts := campaign.Options{StoreDir: storeDir, Parallel: parallel, Shard: shard}
			open := openRuntime
			if hosts := cmp.Or(sf.hosts, f.Hosts); hosts != "" {
				open = func(ctx context.Context, _ io.Writer, names ...string) (runtime.Runtime, func(), error) {
					return openSSHFor(ctx, hosts, sf.acceptNew, names...)
				}
			}
			rt, closeRT, err := open(cmd.Context(), cmd.ErrOrStderr(), names...)
			if err == nil {
				defer closeRT()
				// The node image before the progress display, whose bar a
				// build's lines would tear.
				err = prepareImage(cmd.Context(), rt)
			}
			if e, stuck := runtime.EngineStuck(err); stuck {
				// Say so on the page too: CI keeps the page, not the terminal.
				reason := fmt.Sprintf("the container engine stopped answering (%s got no answer in %s), so no cell ran; %s", e.Call, e.Waited, runtime.EngineAdvice)
				res, werr := campaign.NotRun(f.Name, cells, reason, opts)
				printCampaign(cmd, res, storeDir)
				return errors.Join(err, werr)
			}
			if err != nil {
				return err
			}
			opts.Runtime = rt
			if opts.ClientBinary, err = os.Executable(); err != nil {
				return fmt.Errorf("%w: find the lockstorm binary: %v", harness.ErrInfrastructure, err)
			}
			if !quiet && isTerminal(cmd.ErrOrStderr()) {
				opts.Progress = newBarProgress(cmd.ErrOrStderr())
			} else if !quiet {
				opts.Progress = &lineProgress{w: cmd.ErrOrStderr()}
			}
			res, runErr := campaign.Run(cmd.Context(), f.Name, cells, f.Parallel, opts)
			printCampaign(cmd, res, storeDir)
			if runErr != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "lockstorm: %v\n", runErr)
			}
			if res.ExitCode != 0 {
				return &exitError{code: res.ExitCode, err: fmt.Errorf("campaign exit %d", res.ExitCode)}
			}
			return nil
		},
	}
	f := c.Flags()
	sf.register(c)
	f.StringVar(&storeDir, "store", store.DefaultDir, "store directory for run output")
	f.StringVar(&shard, "shard", "", "run only shard i/n of the cells (e.g. 1/2), for fanning out over CI runners")
	f.StringVar(&only, "cells", "", "run only the cells whose names match these comma-separated patterns (e.g. 'nats-*,etcd-pause')")
	f.IntVar(&parallel, "parallel", 0, "cells to run at once (0: the file's setting)")
	f.BoolVar(&quiet, "quiet", false, "no progress display; print only the summary")
	f.BoolVar(&smoke, "smoke", false, "run the short embedded smoke campaign that CI runs")
	f.BoolVar(&print, "print", false, "print the embedded campaign file and exit")
	return c
}

func loadCampaign(args []string, smoke bool) (*campaign.File, error) {
	if len(args) == 0 {
		if smoke {
			return campaign.Smoke()
		}
		return campaign.Default()
	}
	f, err := campaign.Load(args[0])
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return f, nil
}

func printCampaign(cmd *cobra.Command, res store.CampaignResult, storeDir string) {
	w := cmd.OutOrStdout()
	met, notRun := 0, 0
	for _, c := range res.Cells {
		mark, status := "ok  ", string(c.Status)
		switch {
		case c.Met:
			met++
		case c.NotRun != "":
			notRun++
			mark, status = "----", "not run"
		default:
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %-34s %-8s %s\n", mark, c.Name, status, c.Outcome)
	}
	fmt.Fprintf(w, "%d of %d cells met their expectation in %s", met, len(res.Cells), res.Duration.Round(1e9))
	if notRun > 0 {
		fmt.Fprintf(w, "; %d did not run", notRun)
	}
	fmt.Fprintln(w)
	if res.Interrupted != "" {
		fmt.Fprintf(w, "interrupted: %s\n", res.Interrupted)
	}
	if res.ID != "" {
		fmt.Fprintf(w, "report: %s\n", filepath.Join(storeDir, store.CampaignsDir, res.ID, store.IndexFile))
	}
}

// newReportCmd groups commands that work on results already in a store.
func newReportCmd() *cobra.Command {
	r := &cobra.Command{Use: "report", Short: "Work with results already in a store"}
	r.AddCommand(newMergeCmd())
	return r
}

func newMergeCmd() *cobra.Command {
	var storeDir string
	c := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Merge shard campaign results (campaign directories or results.json files) into one campaign",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := store.CheckRoot(storeDir); err != nil {
				return usageErr("--store: %v", err)
			}
			res, dir, err := campaign.Merge(storeDir, args)
			if err != nil {
				if errors.Is(err, campaign.ErrBadFile) {
					return &exitError{code: exitUsage, err: err}
				}
				return err
			}
			printCampaign(cmd, res, storeDir)
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d shards into %s\n", len(args), strings.TrimSuffix(dir, "/"))
			if res.ExitCode != 0 {
				return &exitError{code: res.ExitCode, err: fmt.Errorf("campaign exit %d", res.ExitCode)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&storeDir, "store", store.DefaultDir, "store to write the merged campaign into")
	return c
}
