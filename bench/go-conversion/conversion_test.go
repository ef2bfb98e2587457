package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "crdforge.local/bench-conversion/api/v1"
	v2 "crdforge.local/bench-conversion/api/v2"
)

const key = v2.ConversionData

func ptr[T any](v T) *T { return &v }

func newV1() *v1.User {
	return &v1.User{TypeMeta: metav1.TypeMeta{APIVersion: "example.com/v1", Kind: "User"}}
}

func newV2() *v2.User {
	return &v2.User{TypeMeta: metav1.TypeMeta{APIVersion: "example.com/v2", Kind: "User"}}
}

func hubUser(annotations map[string]string) *v1.User {
	u := newV1()
	u.ObjectMeta = metav1.ObjectMeta{Name: "ada", Generation: 3, Labels: map[string]string{"a": "b"}, Annotations: annotations}
	u.Spec = v1.UserSpec{
		DisplayName: "Ada", Email: "ada@example.com", Role: "edit",
		Groups: []string{"g1", "g2"},
		Quota:  map[string]resource.Quantity{"pods": resource.MustParse("10")},
	}
	u.Status = &v1.UserStatus{
		Namespace:          "ada",
		ObservedGeneration: ptr(int64(3)),
		Conditions: []metav1.Condition{{
			Type: "Ready", Status: metav1.ConditionTrue, Reason: "Done", Message: "ok",
			LastTransitionTime: metav1.Date(2026, 1, 2, 3, 4, 5, 0, metav1.Now().Location()),
		}},
	}
	return u
}

func spokeUser(team *string, annotations map[string]string) *v2.User {
	u := newV2()
	u.ObjectMeta = metav1.ObjectMeta{Name: "bob", Annotations: annotations}
	u.Spec = v2.UserSpec{
		DisplayName: "Bob", Email: "bob@example.com",
		Access: v2.Access{Role: "view", Groups: []string{"ops"}},
		Team:   team,
	}
	return u
}

func toV2(t *testing.T, in *v1.User) *v2.User {
	t.Helper()
	out := newV2()
	if err := out.ConvertFrom(in); err != nil {
		t.Fatalf("v1 -> v2: %v", err)
	}
	return out
}

func toV1(t *testing.T, in *v2.User) *v1.User {
	t.Helper()
	out := newV1()
	if err := in.ConvertTo(out); err != nil {
		t.Fatalf("v2 -> v1: %v", err)
	}
	return out
}

func TestV1ToV2ToV1IsIdentity(t *testing.T) {
	for name, annotations := range map[string]map[string]string{
		"no annotations":     nil,
		"other annotation":   {"keep": "1"},
		"team":               {key: `{"team":"core"}`},
		"team and other":     {key: `{"team":"core"}`, "keep": "1"},
		"team with < and &":  {key: `{"team":"a<b&c"}`},
		"empty stashed data": {key: `{}`, "keep": "1"},
	} {
		t.Run(name, func(t *testing.T) {
			in := hubUser(annotations)
			before := in.DeepCopy()
			mid := toV2(t, in)
			if _, ok := mid.Annotations[key]; ok {
				t.Errorf("v2 keeps the annotation: %v", mid.Annotations)
			}
			back := toV1(t, mid)
			want := before.DeepCopy()
			if annotations[key] == `{}` { // stashes nothing, so it is not written back
				want.Annotations = map[string]string{"keep": "1"}
			}
			if !equality.Semantic.DeepEqual(back, want) {
				t.Errorf("round trip changed the object:\n got %+v\nwant %+v", back, want)
			}
			if !equality.Semantic.DeepEqual(in, before) {
				t.Errorf("conversion modified its source")
			}
		})
	}
}

func TestV2ToV1ToV2IsIdentity(t *testing.T) {
	for name, u := range map[string]*v2.User{
		"no team":              spokeUser(nil, nil),
		"team":                 spokeUser(ptr("core"), nil),
		"empty team":           spokeUser(ptr(""), nil),
		"team and annotations": spokeUser(ptr("core"), map[string]string{"keep": "1"}),
		"annotations only":     spokeUser(nil, map[string]string{"keep": "1"}),
	} {
		t.Run(name, func(t *testing.T) {
			before := u.DeepCopy()
			mid := toV1(t, u)
			if u.Spec.Team != nil {
				want := `{"team":"` + *u.Spec.Team + `"}`
				if got := mid.Annotations[key]; got != want {
					t.Errorf("annotation = %q, want %q", got, want)
				}
			} else if _, ok := mid.Annotations[key]; ok {
				t.Errorf("v1 has an annotation without a team: %v", mid.Annotations)
			}
			back := toV2(t, mid)
			if !equality.Semantic.DeepEqual(back, before) {
				t.Errorf("round trip changed the object:\n got %+v\nwant %+v", back, before)
			}
			if !equality.Semantic.DeepEqual(u, before) {
				t.Errorf("conversion modified its source")
			}
		})
	}
}

func TestStaleAnnotationIsDropped(t *testing.T) {
	stale := `{"team":"old"}`

	// No team: the stale annotation goes, and the map with it when empty.
	v1u := toV1(t, spokeUser(nil, map[string]string{key: stale}))
	if v1u.Annotations != nil {
		t.Errorf("annotations = %v, want nil", v1u.Annotations)
	}
	v1u = toV1(t, spokeUser(nil, map[string]string{key: stale, "keep": "1"}))
	if !reflect.DeepEqual(v1u.Annotations, map[string]string{"keep": "1"}) {
		t.Errorf("annotations = %v, want only keep", v1u.Annotations)
	}
	if got := toV2(t, v1u).Spec.Team; got != nil {
		t.Errorf("team = %q, want none", *got)
	}

	// A team: it replaces the stale annotation.
	v1u = toV1(t, spokeUser(ptr("new"), map[string]string{key: stale}))
	if !reflect.DeepEqual(v1u.Annotations, map[string]string{key: `{"team":"new"}`}) {
		t.Errorf("annotations = %v", v1u.Annotations)
	}
	if back := toV2(t, v1u); back.Spec.Team == nil || *back.Spec.Team != "new" || back.Annotations != nil {
		t.Errorf("back to v2: team %v, annotations %v", back.Spec.Team, back.Annotations)
	}
}

func TestBadAnnotationFails(t *testing.T) {
	for _, bad := range []string{`not json`, `null`, `"core"`, `{"team":3}`, `["core"]`, ``} {
		err := newV2().ConvertFrom(hubUser(map[string]string{key: bad}))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("annotation %q: error %v, want one naming %s", bad, err, key)
		}
	}
}

// review posts a ConversionReview to the handler main mounts and returns
// the decoded response.
func review(t *testing.T, desired string, objects ...string) map[string]any {
	t.Helper()
	scheme, err := newScheme()
	if err != nil {
		t.Fatal(err)
	}
	body := `{"apiVersion":"apiextensions.k8s.io/v1","kind":"ConversionReview","request":{"uid":"u-1","desiredAPIVersion":"` +
		desired + `","objects":[` + strings.Join(objects, ",") + `]}}`
	rec := httptest.NewRecorder()
	newMux(scheme).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/convert", bytes.NewBufferString(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out["kind"] != "ConversionReview" || out["apiVersion"] != "apiextensions.k8s.io/v1" {
		t.Errorf("not a ConversionReview: %v", out)
	}
	resp := out["response"].(map[string]any)
	if resp["uid"] != "u-1" {
		t.Errorf("uid = %v", resp["uid"])
	}
	return resp
}

func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

const v1Wire = `{"apiVersion":"example.com/v1","kind":"User",
 "metadata":{"name":"ada","creationTimestamp":"2026-01-02T03:04:05Z","annotations":{"example.com/conversion-data":"{\"team\":\"core\"}"}},
 "spec":{"displayName":"Ada","email":"ada@example.com","role":"edit","groups":["g1"],"quota":{"pods":"10"}},
 "status":{"namespace":"ada","observedGeneration":2,"conditions":[{"type":"Ready","status":"True","observedGeneration":2,"lastTransitionTime":"2026-01-02T03:04:05Z","reason":"Done","message":"ok"}]}}`

const v2Wire = `{"apiVersion":"example.com/v2","kind":"User",
 "metadata":{"name":"ada","creationTimestamp":"2026-01-02T03:04:05Z"},
 "spec":{"displayName":"Ada","email":"ada@example.com","access":{"role":"edit","groups":["g1"]},"quota":{"pods":"10"},"team":"core"},
 "status":{"namespace":"ada","observedGeneration":2,"conditions":[{"type":"Ready","status":"True","observedGeneration":2,"lastTransitionTime":"2026-01-02T03:04:05Z","reason":"Done","message":"ok"}]}}`

func TestWebhookWire(t *testing.T) {
	for _, c := range []struct{ desired, in, want string }{
		{"example.com/v2", v1Wire, v2Wire},
		{"example.com/v1", v2Wire, v1Wire},
	} {
		resp := review(t, c.desired, c.in, c.in)
		if st := resp["result"].(map[string]any)["status"]; st != "Success" {
			t.Fatalf("to %s: %v", c.desired, resp["result"])
		}
		objs := resp["convertedObjects"].([]any)
		if len(objs) != 2 {
			t.Fatalf("to %s: %d objects", c.desired, len(objs))
		}
		for _, o := range objs {
			if !reflect.DeepEqual(o, jsonValue(t, c.want)) {
				got, _ := json.Marshal(o)
				t.Errorf("to %s:\n got %s\nwant %s", c.desired, got, c.want)
			}
		}
	}
}

func TestWebhookFailures(t *testing.T) {
	bad := strings.Replace(v1Wire, `{\"team\":\"core\"}`, `not json`, 1)
	result := review(t, "example.com/v2", v1Wire, bad)["result"].(map[string]any)
	if result["status"] != "Failure" || !strings.Contains(result["message"].(string), key) {
		t.Errorf("bad annotation: %v", result)
	}
	// controller-runtime refuses a whole review holding an object already
	// at the desired version (the apiserver never sends one).
	result = review(t, "example.com/v2", v1Wire, v2Wire)["result"].(map[string]any)
	if result["status"] != "Failure" {
		t.Errorf("mixed list: %v", result)
	}
}
