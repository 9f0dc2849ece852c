// Command obscheck checks the observability artefacts with the real libraries of the tools that
// read them, and lists what their queries select so tests can compare it with what REX exports.
//
//	obscheck dashboard FILE   strict Grafana dashboard model (grafana-foundation-sdk) + PromQL
//	obscheck rules FILE...    Prometheus rule files, parsed as Prometheus loads them
//
// Both print JSON: every query with the metric names and label names its selectors use.
// Grafana's template variables ($__rate_interval, $org, ...) are replaced by sample values
// before parsing, as Grafana interpolates them before Prometheus sees the query.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Selector is one series selector of a query: a metric name and the labels it matches on.
type Selector struct {
	Metric string   `json:"metric"`
	Labels []string `json:"labels"`
}

// Query is one PromQL expression found in an artefact.
type Query struct {
	Where     string     `json:"where"`
	Expr      string     `json:"expr"`
	Selectors []Selector `json:"selectors"`
	Grouping  []string   `json:"grouping"`
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: obscheck dashboard FILE | obscheck rules FILE...")
		os.Exit(2)
	}
	var queries []Query
	var err error
	switch os.Args[1] {
	case "dashboard":
		queries, err = checkDashboard(os.Args[2])
	case "rules":
		queries, err = checkRules(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "obscheck:", err)
		os.Exit(1)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	if err := out.Encode(queries); err != nil {
		fmt.Fprintln(os.Stderr, "obscheck:", err)
		os.Exit(1)
	}
}

func checkDashboard(path string) ([]Query, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	plugins.RegisterDefaultPlugins()
	var model dashboard.Dashboard
	// Strict: unknown fields, wrong types and missing required fields are all errors.
	if err := realError(model.UnmarshalJSONStrict(raw)); err != nil {
		return nil, fmt.Errorf("%s is not a valid Grafana dashboard model: %w", path, err)
	}
	if err := realError(model.Validate()); err != nil {
		return nil, fmt.Errorf("%s breaks a Grafana dashboard constraint: %w", path, err)
	}
	panels, err := rawPanels(raw)
	if err != nil {
		return nil, err
	}
	var queries []Query
	for _, item := range panels {
		found, err := checkPanel(item)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		queries = append(queries, found...)
	}
	return queries, nil
}

// rawPanel is what the checks read of a panel. The SDK validates panels, but the model it
// fills in drops panels and targets (see realError), so the queries are read from the JSON.
type rawPanel struct {
	Type    string            `json:"type"`
	Title   string            `json:"title"`
	Panels  []json.RawMessage `json:"panels"`
	Targets []struct {
		Expr       string `json:"expr"`
		Datasource struct {
			Type string `json:"type"`
		} `json:"datasource"`
	} `json:"targets"`
	raw json.RawMessage
}

func rawPanels(dashboardJSON []byte) ([]rawPanel, error) {
	var top struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(dashboardJSON, &top); err != nil {
		return nil, err
	}
	var out []rawPanel
	for _, raw := range top.Panels {
		var p rawPanel
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		p.raw = raw
		out = append(out, p)
		for _, nested := range p.Panels { // the panels of a collapsed row
			var child rawPanel
			if err := json.Unmarshal(nested, &child); err != nil {
				return nil, err
			}
			child.raw = nested
			out = append(out, child)
		}
	}
	return out, nil
}

// checkPanel validates one panel on its own (strict model and constraints) and returns its
// PromQL queries; every target must be a Prometheus query.
func checkPanel(p rawPanel) ([]Query, error) {
	where := fmt.Sprintf("panel %q", p.Title)
	if p.Type == "row" {
		var row dashboard.RowPanel
		if err := realError(row.UnmarshalJSONStrict(p.raw)); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return nil, realError(row.Validate())
	}
	var panel dashboard.Panel
	if err := realError(panel.UnmarshalJSONStrict(p.raw)); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := realError(panel.Validate()); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if len(p.Targets) == 0 {
		return nil, fmt.Errorf("%s has no query", where)
	}
	var queries []Query
	for i, target := range p.Targets {
		if target.Datasource.Type != "prometheus" || target.Expr == "" {
			return nil, fmt.Errorf("%s target %d: not a Prometheus query with an expr", where, i)
		}
		q, err := parse(where, target.Expr)
		if err != nil {
			return nil, err
		}
		queries = append(queries, q)
	}
	return queries, nil
}

// realError drops the empty error list the generated code returns on success: it returns its
// `cog.BuildErrors` slice as an `error` even when the slice is nil (a typed nil, so != nil).
func realError(err error) error {
	var list cog.BuildErrors
	if errors.As(err, &list) && len(list) == 0 {
		return nil
	}
	return err
}

func checkRules(paths []string) ([]Query, error) {
	var queries []Query
	for _, path := range paths {
		// Unknown fields are errors and names must be classic Prometheus names, as REX exports.
		groups, errs := rulefmt.ParseFile(path, false, model.LegacyValidation,
			parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			return nil, fmt.Errorf("%s: %w", path, errors.Join(errs...))
		}
		for _, group := range groups.Groups {
			for _, rule := range group.Rules {
				name := rule.Alert + rule.Record
				q, err := parse(fmt.Sprintf("%s: rule %q", path, name), rule.Expr)
				if err != nil {
					return nil, err
				}
				queries = append(queries, q)
			}
		}
	}
	return queries, nil
}

var (
	builtinVar = regexp.MustCompile(`\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}`)
	userVar    = regexp.MustCompile(`\$\{\w+(:\w+)?\}|\$\w+`)
)

func parse(where, expr string) (Query, error) {
	sample := builtinVar.ReplaceAllString(expr, "5m")
	sample = userVar.ReplaceAllString(sample, "sample")
	node, err := parser.NewParser(parser.Options{}).ParseExpr(sample)
	if err != nil {
		return Query{}, fmt.Errorf("%s: PromQL %q: %w", where, expr, err)
	}
	q := Query{Where: where, Expr: expr, Selectors: []Selector{}, Grouping: []string{}}
	grouping := map[string]bool{}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		switch v := n.(type) {
		case *parser.VectorSelector:
			q.Selectors = append(q.Selectors, selector(v))
		case *parser.AggregateExpr:
			for _, label := range v.Grouping {
				grouping[label] = true
			}
		}
		return nil
	})
	for label := range grouping {
		q.Grouping = append(q.Grouping, label)
	}
	sort.Strings(q.Grouping)
	return q, nil
}

func selector(v *parser.VectorSelector) Selector {
	s := Selector{Metric: v.Name, Labels: []string{}}
	for _, m := range v.LabelMatchers {
		if m.Name == "__name__" {
			if s.Metric == "" {
				s.Metric = m.Value
			}
			continue
		}
		s.Labels = append(s.Labels, m.Name)
	}
	sort.Strings(s.Labels)
	return s
}
