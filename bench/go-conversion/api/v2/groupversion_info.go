// Package v2 is example.com/v2 User: v1's role and groups gathered under
// access, and the team the developer belongs to (new in v2). It converts
// through the hub v1.
package v2

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is example.com/v2.
	GroupVersion = schema.GroupVersion{Group: "example.com", Version: "v2"}

	// SchemeBuilder registers User and UserList under GroupVersion.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func init() {
	SchemeBuilder.Register(&User{}, &UserList{})
}
