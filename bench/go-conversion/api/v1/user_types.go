package v1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UserSpec is what a User asks for.
type UserSpec struct {
	// DisplayName is the name people know the developer by.
	DisplayName string `json:"displayName"`
	// Email is where to reach the developer.
	Email string `json:"email"`
	// Role is the ClusterRole bound in the namespace: admin, edit or view.
	Role string `json:"role,omitempty"`
	// Groups are bound to the same role in the namespace.
	Groups []string `json:"groups,omitempty"`
	// Quota is the hard limits of a ResourceQuota in the namespace.
	Quota map[string]resource.Quantity `json:"quota,omitempty"`
}

// UserStatus is what the controller last did.
type UserStatus struct {
	Namespace          string             `json:"namespace,omitempty"`
	ObservedGeneration *int64             `json:"observedGeneration,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
}

// User is example.com/v1 User, the hub of the conversion.
type User struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   UserSpec    `json:"spec"`
	Status *UserStatus `json:"status,omitempty"`
}

// UserList is a list of Users.
type UserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []User `json:"items"`
}

// Hub marks v1 as the version every other converts through.
func (*User) Hub() {}
