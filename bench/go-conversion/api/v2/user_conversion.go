package v2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"

	"sigs.k8s.io/controller-runtime/pkg/conversion"

	v1 "crdforge.local/bench-conversion/api/v1"
)

// ConversionData is the annotation of a v1 User holding what only v2 can
// express, as compact JSON: {"team":"..."}.
const ConversionData = "example.com/conversion-data"

// onlyInV2 is v2's fields that v1 lacks, kept on a v1 object.
type onlyInV2 struct {
	Team *string `json:"team,omitempty"`
}

// ConvertTo converts this v2 User to the hub v1: role and groups come out
// of access, and the team rides on the annotation ConversionData.
func (src *User) ConvertTo(dstRaw conversion.Hub) error {
	dst := dstRaw.(*v1.User)
	dst.ObjectMeta = src.ObjectMeta
	// A v2 object has team itself; an annotation a client copied over from
	// a v1 read is stale and must not come back as the team when the
	// object is read as v2 again.
	if _, stale := dst.Annotations[ConversionData]; stale {
		dst.Annotations = without(dst.Annotations, ConversionData)
	}
	if src.Spec.Team != nil {
		data, err := stash(onlyInV2{Team: src.Spec.Team})
		if err != nil {
			return err
		}
		// Copy before writing: the map is still shared with src.
		annotations := make(map[string]string, len(dst.Annotations)+1)
		maps.Copy(annotations, dst.Annotations)
		annotations[ConversionData] = data
		dst.Annotations = annotations
	}
	dst.Spec = v1.UserSpec{
		DisplayName: src.Spec.DisplayName,
		Email:       src.Spec.Email,
		Role:        src.Spec.Access.Role,
		Groups:      src.Spec.Access.Groups,
		Quota:       src.Spec.Quota,
	}
	if src.Status != nil {
		status := v1.UserStatus(*src.Status)
		dst.Status = &status
	} else {
		dst.Status = nil
	}
	return nil
}

// ConvertFrom converts the hub v1 to this v2 User: role and groups go
// under access, and the team is taken out of the annotation
// ConversionData (an error naming the annotation if it does not parse).
func (dst *User) ConvertFrom(srcRaw conversion.Hub) error {
	src := srcRaw.(*v1.User)
	dst.ObjectMeta = src.ObjectMeta
	var kept onlyInV2
	if data, ok := src.Annotations[ConversionData]; ok {
		dst.Annotations = without(src.Annotations, ConversionData)
		var err error
		if kept, err = unstash(data); err != nil {
			return fmt.Errorf("annotation %s does not hold the stashed fields: %w", ConversionData, err)
		}
	}
	dst.Spec = UserSpec{
		DisplayName: src.Spec.DisplayName,
		Email:       src.Spec.Email,
		Access: Access{
			Role:   src.Spec.Role,
			Groups: src.Spec.Groups,
		},
		Quota: src.Spec.Quota,
		Team:  kept.Team,
	}
	if src.Status != nil {
		status := UserStatus(*src.Status)
		dst.Status = &status
	} else {
		dst.Status = nil
	}
	return nil
}

// without returns a copy of annotations lacking key, nil if nothing is
// left (the map may be shared with the source object, so it is never
// modified in place).
func without(annotations map[string]string, key string) map[string]string {
	if len(annotations) <= 1 {
		return nil
	}
	out := make(map[string]string, len(annotations)-1)
	for k, v := range annotations {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// stash writes kept as compact JSON without HTML escaping, the bytes
// serde_json writes for the Rust side.
func stash(kept onlyInV2) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(kept); err != nil {
		return "", fmt.Errorf("annotation %s: %w", ConversionData, err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// unstash parses the annotation's value, which must be a JSON object;
// encoding/json would take a bare null as an empty object, so that is
// refused as the Rust side refuses it.
func unstash(data string) (onlyInV2, error) {
	var kept onlyInV2
	if t := bytes.TrimSpace([]byte(data)); len(t) == 0 || t[0] != '{' {
		return kept, fmt.Errorf("expected a JSON object, got %q", data)
	}
	err := json.Unmarshal([]byte(data), &kept)
	return kept, err
}
