package campaign

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/reports"
	"github.com/lockstorm/lockstorm/store"
)

// JUnitFile is the name of the campaign's JUnit report.
const JUnitFile = "junit.xml"

// writeCampaign writes store/campaigns/<timestamp>/ and returns its path.
func writeCampaign(root string, began time.Time, res store.CampaignResult) (string, error) {
	dir, _, err := store.NewRunDir(root, store.CampaignsDir, began)
	if err != nil {
		return "", err
	}
	res.ID = filepath.Base(dir)
	return dir, WriteDir(dir, res)
}

// WriteDir writes results.json, index.html and junit.xml of a campaign
// into dir, each as a new file (store.WriteFile), and cells/, its runs by
// cell name (store.LinkCells). A symbolic link in the
// place of one of them is refused before any is written.
func WriteDir(dir string, res store.CampaignResult) error {
	if err := store.RefuseLinks(dir, store.ResultsFile, store.IndexFile, JUnitFile); err != nil {
		return err
	}
	if err := store.WriteJSON(filepath.Join(dir, store.ResultsFile), res); err != nil {
		return err
	}
	var buf bytes.Buffer
	// dir is <store>/campaigns/<id>: the runs are read from the store.
	if err := reports.WriteCampaignFromStore(&buf, res, filepath.Dir(filepath.Dir(dir))); err != nil {
		return fmt.Errorf("render campaign page: %w", err)
	}
	if err := store.WriteFile(filepath.Join(dir, store.IndexFile), buf.Bytes()); err != nil {
		return fmt.Errorf("write campaign page: %w", err)
	}
	b, err := JUnit(res)
	if err != nil {
		return err
	}
	if err := store.WriteFile(filepath.Join(dir, JUnitFile), b); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return store.LinkCells(dir, res)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     float64      `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit renders the campaign as JUnit XML: one testcase per cell, failed
// when its expectation was not met.
func JUnit(res store.CampaignResult) ([]byte, error) {
	s := junitSuite{Name: "lockstorm." + res.Name}
	for _, c := range res.Cells {
		var secs float64
		for _, r := range c.Runs {
			secs += r.Duration.Seconds()
		}
		tc := junitCase{Name: c.Name, Classname: "lockstorm." + c.Target, Time: secs}
		out := fmt.Sprintf("expect %s; verdict %s; detection rate %.0f%%; %s", c.Expect, c.Status, 100*c.DetectionRate, c.Outcome)
		for _, r := range c.Runs {
			out += fmt.Sprintf("\nseed %d: %s (%s) %s", r.Seed, r.Status, r.Dir, r.Summary)
		}
		tc.SystemOut = out
		if !c.Met {
			typ := "expectation-not-met"
			if c.Expect == store.ExpectSafe && c.Status == checker.Invalid {
				typ = "violation"
			}
			tc.Failure = &junitFailure{Message: c.Outcome, Type: typ, Text: out}
			s.Failures++
		}
		s.Tests++
		s.Time += secs
		s.Cases = append(s.Cases, tc)
	}
	all := junitSuites{Name: "lockstorm", Tests: s.Tests, Failures: s.Failures, Time: s.Time, Suites: []junitSuite{s}}
	b, err := xml.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode junit: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// statsInfo reads the number of indeterminate client ops from the stats
// checker's details, which count them per op as "<f>_info".
func statsInfo(details json.RawMessage) int {
	var d map[string]json.RawMessage
	if len(details) == 0 || json.Unmarshal(details, &d) != nil {
		return 0
	}
	n := 0
	for k, v := range d {
		var c int
		if strings.HasSuffix(k, "_info") && json.Unmarshal(v, &c) == nil {
			n += c
		}
	}
	return n
}
