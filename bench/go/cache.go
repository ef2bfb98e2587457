package main

import (
	"flag"
	"fmt"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// memResult is one measurement; the Rust side prints the same fields. The
// Go heap counts whole size classes, so its bytes include the rounding that
// the Rust side's count leaves to the allocator.
type memResult struct {
	Suite          string  `json:"suite"`
	Impl           string  `json:"impl"`
	Workload       string  `json:"workload"`
	Objects        int     `json:"objects"`
	Bytes          uint64  `json:"bytes"`
	BytesPerObject float64 `json:"bytes_per_object"`
}

func runCacheMemory(args []string) error {
	fs := flag.NewFlagSet("cache-memory", flag.ContinueOnError)
	objects := fs.Int("objects", 10_000, "ConfigMaps to cache")
	workload := fs.String("workload", "watch", "watch (Add per object) or relist (one Replace)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *objects <= 0 {
		return fmt.Errorf("--objects must be positive")
	}
	before := liveHeap()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{
		cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
		"owner-uid": func(obj any) ([]string, error) {
			var uids []string
			for _, o := range obj.(*corev1.ConfigMap).OwnerReferences {
				uids = append(uids, string(o.UID))
			}
			return uids, nil
		},
		"label:app": func(obj any) ([]string, error) {
			if v, ok := obj.(*corev1.ConfigMap).Labels["app"]; ok {
				return []string{v}, nil
			}
			return nil, nil
		},
	})
	switch *workload {
	case "watch":
		for i := 0; i < *objects; i++ {
			if err := indexer.Add(configMap(i)); err != nil {
				return err
			}
		}
	case "relist":
		list := make([]any, *objects)
		for i := range list {
			list[i] = configMap(i)
		}
		if err := indexer.Replace(list, "1"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown workload %q", *workload)
	}
	after := liveHeap()
	if n := len(indexer.ListKeys()); n != *objects {
		return fmt.Errorf("indexer holds %d objects, want %d", n, *objects)
	}
	runtime.KeepAlive(indexer)
	bytes := after - before
	emit(memResult{
		Suite: "cache-memory", Impl: "client-go", Workload: *workload,
		Objects: *objects, Bytes: bytes, BytesPerObject: float64(bytes) / float64(*objects),
	})
	return nil
}

// liveHeap is the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

var tiers = [...]string{"frontend", "backend", "cache"}

// configMap is the i-th object of the workload; the Rust side builds the
// same one (bench/src/objects.rs).
func configMap(i int) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:              fmt.Sprintf("config-%05d", i),
			Namespace:         fmt.Sprintf("ns-%02d", i%50),
			UID:               uidOf(0, i),
			ResourceVersion:   fmt.Sprint(100_000 + i),
			CreationTimestamp: metav1.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Labels: map[string]string{
				"app":                          fmt.Sprintf("app-%02d", i%20),
				"tier":                         tiers[i%3],
				"app.kubernetes.io/managed-by": "crdforge-bench",
			},
		},
		Data: map[string]string{
			"config.yaml": fmt.Sprintf("key: value-%05d\nmode: fast\nreplicas: 3\n", i),
			"version":     fmt.Sprint(i),
		},
	}
	cm.ManagedFields = []metav1.ManagedFieldsEntry{{
		Manager:    "crdforge-bench",
		Operation:  metav1.ManagedFieldsOperationApply,
		APIVersion: "v1",
		Time:       &metav1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		FieldsType: "FieldsV1",
		FieldsV1:   &metav1.FieldsV1{Raw: []byte(appliedFields(i))},
	}}
	if i%2 == 1 {
		cm.ManagedFields = append(cm.ManagedFields, metav1.ManagedFieldsEntry{
			Manager:    "kubectl-edit",
			Operation:  metav1.ManagedFieldsOperationUpdate,
			APIVersion: "v1",
			Time:       &metav1.Time{Time: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
			FieldsType: "FieldsV1",
			FieldsV1:   &metav1.FieldsV1{Raw: []byte(editedFields)},
		})
	}
	if i%4 == 0 {
		owner := (i / 4) % 250
		yes := true
		cm.OwnerReferences = []metav1.OwnerReference{{
			APIVersion:         "apps/v1",
			Kind:               "ReplicaSet",
			Name:               fmt.Sprintf("owner-%03d", owner),
			UID:                uidOf(1, owner),
			Controller:         &yes,
			BlockOwnerDeletion: &yes,
		}}
	}
	return cm
}

// appliedFields is the applier's managedFields entry as the apiserver
// writes it; the Rust side builds the same text (applied_fields).
func appliedFields(i int) string {
	owner := ""
	if i%4 == 0 {
		owner = fmt.Sprintf(`,"f:ownerReferences":{".":{},"k:{\"uid\":\"%s\"}":{}}`, uidOf(1, (i/4)%250))
	}
	return `{"f:data":{".":{},"f:config.yaml":{},"f:version":{}},"f:metadata":{"f:labels":{".":{},"f:app":{},"f:app.kubernetes.io/managed-by":{},"f:tier":{}}` + owner + `}}`
}

// editedFields is the second manager's entry (on every other object).
const editedFields = `{"f:data":{"f:version":{}}}`

// uidOf is a UID-shaped string, distinct per (kind, n).
func uidOf(kind, n int) types.UID {
	return types.UID(fmt.Sprintf("%08d-0000-4000-8000-%012d", kind, n))
}
