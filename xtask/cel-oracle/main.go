// Command cel-oracle prices every x-kubernetes-validations rule of the CRD
// schemas it reads the way kube-apiserver does when a CRD is created: the
// same schema walk, cardinalities, DeclTypes and cel.Compile as
// apiextensions-apiserver's validation, so its figures are the ones the
// apiserver compares against its budgets.
//
// Input (stdin): a JSON array of {"name": ..., "schema": <openAPIV3Schema>}.
// Output (stdout): a JSON array of one entry per rule and per message
// expression: {"name", "path", "index", "what", "cost", "error"}, where
// path is written as crdforge writes it (".spec.items[*]"), cost is what
// the apiserver counts toward its budgets (a rule's cost times its
// cardinality, a message expression's cost alone), and error is the
// compiler's refusal, if any.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

type input struct {
	Name   string                          `json:"name"`
	Schema apiextensionsv1.JSONSchemaProps `json:"schema"`
}

type output struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	Index int    `json:"index"`
	What  string `json:"what"`
	Cost  uint64 `json:"cost"`
	Error string `json:"error,omitempty"`
}

func main() {
	var inputs []input
	if err := json.NewDecoder(os.Stdin).Decode(&inputs); err != nil {
		fail("reading the schemas: %v", err)
	}
	envSet := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	results := []output{}
	for _, in := range inputs {
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&in.Schema, &internal, nil); err != nil {
			fail("%s: converting the schema: %v", in.Name, err)
		}
		w := walker{name: in.Name, envSet: envSet, out: &results}
		w.walk(&internal, "", validation.RootCELContext(&internal))
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", " ")
	if err := encoder.Encode(results); err != nil {
		fail("writing the costs: %v", err)
	}
}

type walker struct {
	name   string
	envSet *environment.EnvSet
	out    *[]output
}

// walk visits the node's rules, then its properties (in name order, as
// crdforge walks them), items and additional properties, with the child
// contexts the apiserver's validation uses, which carry the cardinality.
func (w walker) walk(s *apiextensions.JSONSchemaProps, path string, ctx *validation.CELSchemaContext) {
	if len(s.XValidations) > 0 {
		w.rules(s, path, ctx)
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		property := s.Properties[name]
		w.walk(&property, path+"."+name, ctx.ChildPropertyContext(&property, name))
	}
	if s.Items != nil && s.Items.Schema != nil {
		w.walk(s.Items.Schema, path+"[*]", ctx.ChildItemsContext(s.Items.Schema))
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		w.walk(s.AdditionalProperties.Schema, path+"[*]", ctx.ChildAdditionalPropertiesContext(s.AdditionalProperties.Schema))
	}
}

func (w walker) rules(s *apiextensions.JSONSchemaProps, path string, ctx *validation.CELSchemaContext) {
	info, err := ctx.TypeInfo()
	if err != nil || info == nil {
		w.push(path, 0, "rule", 0, fmt.Sprintf("no CEL type for the node: %v", err))
		return
	}
	results, err := cel.Compile(info.Schema, info.DeclType, celconfig.PerCallLimit, w.envSet, cel.NewExpressionsEnvLoader())
	if err != nil {
		w.push(path, 0, "rule", 0, err.Error())
		return
	}
	for i, result := range results {
		// The apiserver's getExpressionCost: the cardinality of the schema
		// walk where it is bounded, else the compiler's own estimate.
		cardinality := result.MaxCardinality
		if ctx.MaxCardinality != nil {
			cardinality = *ctx.MaxCardinality
		}
		errText := ""
		if result.Error != nil {
			errText = result.Error.Detail
		}
		w.push(path, i, "rule", times(result.MaxCost, cardinality), errText)
		if s.XValidations[i].MessageExpression != "" {
			errText = ""
			if result.MessageExpressionError != nil {
				errText = result.MessageExpressionError.Detail
			}
			w.push(path, i, "messageExpression", result.MessageExpressionMaxCost, errText)
		}
	}
}

func (w walker) push(path string, index int, what string, cost uint64, errText string) {
	*w.out = append(*w.out, output{Name: w.name, Path: path, Index: index, What: what, Cost: cost, Error: errText})
}

// times multiplies with the apiserver's overflow guard: a zero cost stays
// zero, an overflow saturates.
func times(cost, cardinality uint64) uint64 {
	if cost == 0 {
		return 0
	}
	if math.MaxUint64/cost < cardinality {
		return math.MaxUint64
	}
	return cost * cardinality
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cel-oracle: "+format+"\n", args...)
	os.Exit(1)
}
