package main

import (
	"fmt"
	"os"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"sigs.k8s.io/yaml"
)

// defaulter applies the defaults of Karta's ResourceInterface CRD to a definition, with the API
// server's own structural-schema defaulting: a ResourceInterface reaches Karta's consumers through
// the API server, which fills e.g. conditionsDefinition.typeFieldName with "type".
type defaulter struct {
	schema *structuralschema.Structural
}

func newDefaulter(path string) (*defaulter, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		return nil, fmt.Errorf("not a CustomResourceDefinition: %w", err)
	}
	for _, version := range crd.Spec.Versions {
		if version.Name != "v1alpha1" || version.Schema == nil || version.Schema.OpenAPIV3Schema == nil {
			continue
		}
		internal := &apiextensions.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(version.Schema.OpenAPIV3Schema, internal, nil); err != nil {
			return nil, fmt.Errorf("schema of v1alpha1: %w", err)
		}
		structural, err := structuralschema.NewStructural(internal)
		if err != nil {
			return nil, fmt.Errorf("schema of v1alpha1 is not structural: %w", err)
		}
		return &defaulter{schema: structural}, nil
	}
	return nil, fmt.Errorf("no v1alpha1 schema in %s", crd.Name)
}

func (d *defaulter) apply(object map[string]any) {
	structuraldefaulting.Default(object, d.schema)
}
