// The example.com/v1 User as a Go controller author has it after running
// code-generator: a typed struct registered in a scheme, deep copies, a
// REST client for its group and version, and a typed informer and lister
// on top. Written by hand here (the same shape deepcopy-gen, client-gen,
// informer-gen and lister-gen emit) so that the peer pays no unstructured
// decoding per reconcile, as the typed Rust contenders do not.

package main

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

var userGV = schema.GroupVersion{Group: "example.com", Version: "v1"}

// User is example.com/v1 User.
type User struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              UserSpec    `json:"spec"`
	Status            *UserStatus `json:"status,omitempty"`
}

// UserList is a list of Users, as the apiserver returns it.
type UserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []User `json:"items"`
}

// UserSpec is what a User asks for.
type UserSpec struct {
	DisplayName string                       `json:"displayName"`
	Email       string                       `json:"email"`
	Role        string                       `json:"role,omitempty"`
	Groups      []string                     `json:"groups,omitempty"`
	Quota       map[string]resource.Quantity `json:"quota,omitempty"`
}

// UserStatus is what the controller last did.
type UserStatus struct {
	Namespace          string             `json:"namespace,omitempty"`
	ObservedGeneration *int64             `json:"observedGeneration,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
}

// DeepCopyInto copies every field of in into out, as deepcopy-gen writes it.
func (in *UserSpec) DeepCopyInto(out *UserSpec) {
	*out = *in
	if in.Groups != nil {
		out.Groups = append([]string(nil), in.Groups...)
	}
	if in.Quota != nil {
		out.Quota = make(map[string]resource.Quantity, len(in.Quota))
		for k, v := range in.Quota {
			out.Quota[k] = v.DeepCopy()
		}
	}
}

// DeepCopyInto copies every field of in into out.
func (in *UserStatus) DeepCopyInto(out *UserStatus) {
	*out = *in
	if in.ObservedGeneration != nil {
		g := *in.ObservedGeneration
		out.ObservedGeneration = &g
	}
	if in.Conditions != nil {
		out.Conditions = make([]metav1.Condition, len(in.Conditions))
		for i := range in.Conditions {
			in.Conditions[i].DeepCopyInto(&out.Conditions[i])
		}
	}
}

// DeepCopyInto copies every field of in into out.
func (in *User) DeepCopyInto(out *User) {
	*out = *in
	out.TypeMeta = in.TypeMeta
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	in.Spec.DeepCopyInto(&out.Spec)
	if in.Status != nil {
		out.Status = new(UserStatus)
		in.Status.DeepCopyInto(out.Status)
	}
}

// DeepCopy returns a deep copy.
func (in *User) DeepCopy() *User {
	if in == nil {
		return nil
	}
	out := new(User)
	in.DeepCopyInto(out)
	return out
}

// DeepCopyObject makes User a runtime.Object.
func (in *User) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopyObject makes UserList a runtime.Object.
func (in *UserList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := new(UserList)
	*out = *in
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]User, len(in.Items))
		for i := range in.Items {
			in.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
	return out
}

// userClient is the typed REST client client-gen would make for the
// group and version.
func userClient(config *rest.Config) (*rest.RESTClient, error) {
	scheme := runtime.NewScheme()
	scheme.AddKnownTypes(userGV, &User{}, &UserList{})
	metav1.AddToGroupVersion(scheme, userGV)
	c := rest.CopyConfig(config)
	c.GroupVersion = &userGV
	c.APIPath = "/apis"
	c.ContentType = runtime.ContentTypeJSON
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	return rest.RESTClientFor(c)
}

// newUserInformer is the typed shared informer informer-gen would make:
// list and watch through the typed client, objects stored as *User.
func newUserInformer(client *rest.RESTClient) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
			list := &UserList{}
			err := client.Get().Resource("users").VersionedParams(&options, metav1.ParameterCodec).
				Do(ctx).Into(list)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
			options.Watch = true
			return client.Get().Resource("users").VersionedParams(&options, metav1.ParameterCodec).
				Watch(ctx)
		},
	}
	return cache.NewSharedIndexInformer(lw, &User{}, 0, cache.Indexers{})
}

// userLister reads Users from the informer's store, as lister-gen's does.
type userLister struct{ indexer cache.Indexer }

// Get returns the cached User of that name (cluster-scoped), or a NotFound
// error.
func (l userLister) Get(name string) (*User, error) {
	obj, exists, err := l.indexer.GetByKey(name)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: userGV.Group, Resource: "users"}, name)
	}
	return obj.(*User), nil
}
