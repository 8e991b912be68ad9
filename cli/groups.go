package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// refuseUnknownSubcommands gives every command group under root (a
// command that only holds subcommands, such as report and image) an Args
// and a RunE that refuse a word that is not one of its subcommands, and
// no word at all. Cobra would print the group's help and exit 0, so that
// a misspelt step in CI (`lockstorm report merg`) passed doing nothing.
func refuseUnknownSubcommands(root *cobra.Command) {
	for _, c := range root.Commands() {
		if !c.HasSubCommands() {
			continue
		}
		if c.Run == nil && c.RunE == nil {
			c.Args = refuseWord
			c.RunE = func(cmd *cobra.Command, args []string) error { return refuseWord(cmd, args) }
		}
		refuseUnknownSubcommands(c)
	}
}

// refuseWord is the error of a group called with args: the word that is
// not a subcommand, or no word, named with the valid ones.
func refuseWord(cmd *cobra.Command, args []string) error {
	var valid []string
	for _, s := range cmd.Commands() {
		if s.IsAvailableCommand() {
			valid = append(valid, s.Name())
		}
	}
	list := strings.Join(valid, ", ")
	name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	if len(args) == 0 {
		return usageErr("%s needs a subcommand (valid: %s; see %s --help)", name, list, cmd.CommandPath())
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	hint := ""
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hint = fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
	}
	return usageErr("%s: unknown subcommand %q (valid: %s%s)", name, args[0], list, hint)
}

// nonEmptyFlags are the flags that an empty value would silently turn
// into something else: an empty --store writes into the current
// directory's store, and an empty --cells selects every cell.
var nonEmptyFlags = map[string]string{
	"store": "name a store directory, or leave the flag out for ./store",
	"cells": "it would select every cell; leave it out to run every cell, or give patterns such as 'etcd-*'",
}

// refuseEmptyFlags refuses, on any command, a flag of nonEmptyFlags that
// was given with an empty value.
func refuseEmptyFlags(cmd *cobra.Command, _ []string) error {
	for name, why := range nonEmptyFlags {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed && strings.TrimSpace(f.Value.String()) == "" {
			return usageErr("--%s is empty: %s", name, why)
		}
	}
	return nil
}
