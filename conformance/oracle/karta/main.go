// Command karta-oracle prints Karta's own reading of workload objects: for one definition file
// (ResourceInterface documents, optimization.nvidia.com/v1alpha1) and the Snapshots the harness
// saved, what Karta's Go packages (github.com/run-ai/karta/pkg/...) say about each Pod (component,
// instance, replica key, gang pod group and its minimum), each component (instance ids, scales,
// pod templates) and the root's status. Nothing here re-implements Karta: every reading is a call
// into Karta's packages, and an error Karta returns is printed as part of the reading.
//
//	karta-oracle -definitions FILE -crd KARTA_CRD.yaml -snapshot S1.json [-snapshot S2.json ...]
//
// Output: one JSON document on stdout. Bad input (unreadable files): one line on stderr, exit 2.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/run-ai/karta/pkg/api/optimization/v1alpha1"
	"github.com/run-ai/karta/pkg/instructions"
	"github.com/run-ai/karta/pkg/resource"
)

// Value is one reading: the value Karta returned, or the error it returned instead.
type Value struct {
	Value any    `json:"value"`
	Error string `json:"error,omitempty"`
}

func ok(v any) Value { return Value{Value: v} }

func fail(err error) Value { return Value{Error: oneLine(err.Error())} }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// snapshotFile is the part of the harness's Snapshot (conformance/snapshot.py) Karta reads.
type snapshotFile struct {
	Scenario string           `json:"scenario"`
	Phase    string           `json:"phase"`
	Root     map[string]any   `json:"root"`
	Tree     []map[string]any `json:"tree"`
}

type definitionDoc struct {
	Document int    `json:"document"` // 1-based, among the file's non-empty documents
	Name     string `json:"name"`
	ri       *v1alpha1.ResourceInterface
	Error    string    `json:"error,omitempty"`      // the document could not be read as a ResourceInterface
	Invalid  []string  `json:"validation,omitempty"` // Karta's RIValidator errors
	Readings []reading `json:"readings"`
}

type reading struct {
	Snapshot   string          `json:"snapshot"`
	Scenario   string          `json:"scenario"`
	Phase      string          `json:"phase"`
	Status     *Value          `json:"status"`
	Components []componentRead `json:"components"`
	Pods       []podRead       `json:"pods"`
}

type componentRead struct {
	Name         string `json:"name"`
	InstanceIDs  Value  `json:"instance_ids"`
	Scales       Value  `json:"scales"`
	PodTemplates Value  `json:"pod_templates"`
	SubtreeScale Value  `json:"subtree_scale"` // CalculateSubtreeScale(component, nil)
}

type podRead struct {
	Pod        string `json:"pod"` // namespace/name
	Component  Value  `json:"component"`
	Instance   Value  `json:"instance"`
	ReplicaKey Value  `json:"replica_key"`
	Gang       Value  `json:"gang"`
	Minimum    Value  `json:"minimum"`
}

type gangRead struct {
	PodGroup           string   `json:"pod_group"`
	EffectiveComponent string   `json:"effective_component"`
	Key                []string `json:"key"`
}

type statusRead struct {
	Phase      *string              `json:"phase"`
	Conditions []resource.Condition `json:"conditions"`
	Matched    []string             `json:"matched"`
}

type output struct {
	Karta       string          `json:"karta"`
	Definitions string          `json:"definitions"`
	Documents   []definitionDoc `json:"documents"`
}

func main() {
	var snapshots multiFlag
	definitions := flag.String("definitions", "", "definition file (YAML, one or more ResourceInterface documents)")
	crdPath := flag.String("crd", "", "Karta's ResourceInterface CRD (its defaults are applied as the API server would)")
	kartaVersion := flag.String("karta-version", "", "the Karta version built in (reported only)")
	flag.Var(&snapshots, "snapshot", "a Snapshot JSON file saved by the harness (repeatable)")
	flag.Parse()
	if *definitions == "" || *crdPath == "" {
		die("usage: karta-oracle -definitions FILE -crd CRD.yaml -snapshot FILE...")
	}
	defaulter, err := newDefaulter(*crdPath)
	if err != nil {
		die(fmt.Sprintf("%s: %v", *crdPath, err))
	}
	docs, err := readDefinitions(*definitions, defaulter)
	if err != nil {
		die(fmt.Sprintf("%s: %v", *definitions, err))
	}
	loaded := make([]*snapshotFile, 0, len(snapshots))
	for _, path := range snapshots {
		s, err := readSnapshot(path)
		if err != nil {
			die(fmt.Sprintf("%s: %v", path, err))
		}
		loaded = append(loaded, s)
	}
	ctx := context.Background()
	for i := range docs {
		doc := &docs[i]
		doc.Readings = []reading{}
		if doc.ri == nil {
			continue
		}
		for j, s := range loaded {
			if !appliesTo(doc.ri, s.Root) {
				continue
			}
			r := read(ctx, doc.ri, s)
			r.Snapshot = snapshots[j]
			doc.Readings = append(doc.Readings, r)
		}
	}
	out := output{Karta: *kartaVersion, Definitions: *definitions, Documents: docs}
	encoder := json.NewEncoder(os.Stdout)
	if err := encoder.Encode(out); err != nil {
		die(err.Error())
	}
}

func die(message string) {
	fmt.Fprintln(os.Stderr, "karta-oracle: "+oneLine(message))
	os.Exit(2)
}

// readDefinitions splits the file into YAML documents as kubectl does, converts each to JSON,
// applies the CRD's defaults and decodes it into Karta's ResourceInterface type.
func readDefinitions(path string, defaulter *defaulter) ([]definitionDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []definitionDoc
	for {
		chunk, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		raw, err := yaml.YAMLToJSON(chunk)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(docs)+1, err)
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue // an empty document
		}
		doc := definitionDoc{Document: len(docs) + 1}
		var object map[string]any
		if err := json.Unmarshal(raw, &object); err != nil {
			doc.Error = oneLine(err.Error())
			docs = append(docs, doc)
			continue
		}
		if meta, isMap := object["metadata"].(map[string]any); isMap {
			doc.Name, _ = meta["name"].(string)
		}
		defaulter.apply(object)
		defaulted, err := json.Marshal(object)
		if err != nil {
			doc.Error = oneLine(err.Error())
			docs = append(docs, doc)
			continue
		}
		ri := &v1alpha1.ResourceInterface{}
		if err := json.Unmarshal(defaulted, ri); err != nil {
			doc.Error = oneLine(err.Error())
			docs = append(docs, doc)
			continue
		}
		if verr := v1alpha1.NewRIValidator(ri).Validate(); verr != nil {
			for _, line := range strings.Split(verr.Error(), "\n") {
				if strings.TrimSpace(line) != "" {
					doc.Invalid = append(doc.Invalid, oneLine(line))
				}
			}
		}
		doc.ri = ri
		docs = append(docs, doc)
	}
	return docs, nil
}

func readSnapshot(path string) (*snapshotFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &snapshotFile{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("not a Snapshot: %w", err)
	}
	if s.Root == nil {
		return nil, fmt.Errorf("not a Snapshot: no root object")
	}
	return s, nil
}

// appliesTo: the definition's root kind is the snapshot root's (as a consumer looks definitions up).
func appliesTo(ri *v1alpha1.ResourceInterface, root map[string]any) bool {
	kind := ri.Spec.StructureDefinition.RootComponent.Kind
	if kind == nil {
		return false
	}
	u := unstructured.Unstructured{Object: root}
	gvk := u.GroupVersionKind()
	return gvk.Group == kind.Group && gvk.Version == kind.Version && gvk.Kind == kind.Kind
}

func read(ctx context.Context, ri *v1alpha1.ResourceInterface, s *snapshotFile) reading {
	r := reading{Scenario: s.Scenario, Phase: s.Phase, Components: []componentRead{}, Pods: []podRead{}}
	summary, err := instructions.NewStructureSummary(ri)
	if err != nil {
		v := fail(err)
		r.Status = &v
		return r
	}
	root := &unstructured.Unstructured{Object: s.Root}
	factory := resource.NewComponentFactoryFromObject(ri, root)

	rootComponent, err := factory.GetRootComponent()
	if err == nil {
		status := readStatus(ctx, rootComponent)
		r.Status = &status
	}
	components, _ := factory.GetChildComponents()
	if rootComponent != nil {
		components = append([]*resource.Component{rootComponent}, components...)
	}
	for _, c := range components {
		r.Components = append(r.Components, readComponent(ctx, c, factory, summary))
	}
	for _, object := range s.Tree {
		if object["kind"] != "Pod" {
			continue
		}
		r.Pods = append(r.Pods, readPod(ctx, object, factory, summary))
	}
	return r
}

func readStatus(ctx context.Context, root *resource.Component) Value {
	status, err := root.GetStatus(ctx)
	if err != nil {
		return fail(err)
	}
	if status == nil {
		return ok(nil)
	}
	matched := make([]string, 0, len(status.MatchedStatuses))
	for _, m := range status.MatchedStatuses {
		matched = append(matched, string(m))
	}
	return ok(statusRead{Phase: status.Phase, Conditions: status.Conditions, Matched: matched})
}

func readComponent(ctx context.Context, c *resource.Component, factory *resource.ComponentFactory, summary *instructions.StructureSummary) componentRead {
	read := componentRead{Name: c.Name()}
	if ids, err := c.GetInstanceIds(ctx); err != nil {
		read.InstanceIDs = fail(err)
	} else {
		read.InstanceIDs = ok(ids)
	}
	if scales, err := c.GetScale(ctx); err != nil {
		read.Scales = fail(err)
	} else if scales == nil {
		read.Scales = ok(nil)
	} else {
		read.Scales = ok(scales)
	}
	if templates, err := c.GetPodTemplateSpec(ctx); err != nil {
		read.PodTemplates = fail(err)
	} else if templates == nil {
		read.PodTemplates = ok(nil)
	} else {
		read.PodTemplates = ok(templates)
	}
	if scale, err := instructions.CalculateSubtreeScale(ctx, c.Name(), nil, factory, summary); err != nil {
		read.SubtreeScale = fail(err)
	} else {
		read.SubtreeScale = ok(scale)
	}
	return read
}

// readPod asks Karta what a consumer asks for one Pod: its component (InferPodComponent), its
// instance (InferPodComponentInstance), its replica key, its pod group (GetPodGroupingEffectiveComponent
// and the member's group keys) and the group's minimum as KAI Scheduler's Karta grouper computes it:
// CalculateSubtreeScale of the effective component, for the Pod's instance when the effective
// component is the Pod's own component, else for all instances.
func readPod(ctx context.Context, object map[string]any, factory *resource.ComponentFactory, summary *instructions.StructureSummary) podRead {
	read := podRead{Pod: podName(object)}
	notAsked := fail(errors.New("not read: the Pod has no component"))
	read.Instance, read.ReplicaKey, read.Gang, read.Minimum = notAsked, notAsked, notAsked, notAsked
	pod := &corev1.Pod{}
	data, err := json.Marshal(object)
	if err == nil {
		err = json.Unmarshal(data, pod)
	}
	if err != nil {
		read.Component = fail(fmt.Errorf("the Pod does not decode as a core/v1 Pod: %w", err))
		return read
	}
	querier := resource.NewPodQuerier(pod)
	name, err := instructions.InferPodComponent(ctx, querier, summary)
	if err != nil {
		if strings.HasPrefix(err.Error(), "no component found for pod") {
			read.Component = Value{Value: nil, Error: ""}
			none := ok(nil)
			read.Instance, read.ReplicaKey, read.Gang, read.Minimum = none, none, none, none
			return read
		}
		read.Component = fail(err)
		return read
	}
	read.Component = ok(name)

	instance, instanceErr := instructions.InferPodComponentInstance(ctx, querier, name, factory)
	if instanceErr != nil {
		read.Instance = fail(instanceErr)
	} else {
		read.Instance = ok(instance)
	}

	read.ReplicaKey = ok(nil)
	if component, err := factory.GetComponent(name); err != nil {
		read.ReplicaKey = fail(err)
	} else if selector := component.GetPodSelector(); selector != nil {
		key, found, err := querier.ExtractReplicaKey(ctx, selector.ReplicaSelector)
		switch {
		case err != nil:
			read.ReplicaKey = fail(err)
		case found:
			read.ReplicaKey = ok(key)
		}
	}

	effective, err := instructions.GetPodGroupingEffectiveComponent(ctx, querier, name, summary)
	if err != nil {
		read.Gang, read.Minimum = fail(err), fail(err)
		return read
	}
	if effective == nil {
		read.Gang, read.Minimum = ok(nil), ok(nil)
		return read
	}
	keys, err := querier.ExtractGroupKeys(ctx, effective.MemberDefinition.GroupByKeyPaths)
	if err != nil {
		read.Gang = fail(err)
	} else {
		read.Gang = ok(gangRead{PodGroup: effective.PodGroupName, EffectiveComponent: effective.EffectiveComponent, Key: keys})
	}
	var scaleInstance *string
	if effective.EffectiveComponent == name {
		if instanceErr != nil {
			read.Minimum = fail(instanceErr)
			return read
		}
		scaleInstance = instance
	}
	minimum, err := instructions.CalculateSubtreeScale(ctx, effective.EffectiveComponent, scaleInstance, factory, summary)
	if err != nil {
		read.Minimum = fail(err)
	} else {
		read.Minimum = ok(minimum)
	}
	return read
}

func podName(object map[string]any) string {
	meta, _ := object["metadata"].(map[string]any)
	namespace, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	if name == "" {
		name = "?"
	}
	return namespace + "/" + name
}
