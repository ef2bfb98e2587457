package v2

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Access is what the developer may do in their namespace.
type Access struct {
	// Role is the ClusterRole bound in the namespace: admin, edit or view.
	Role string `json:"role"`
	// Groups are bound to the same role in the namespace.
	Groups []string `json:"groups,omitempty"`
}

// UserSpec is what a User asks for.
type UserSpec struct {
	DisplayName string                       `json:"displayName"`
	Email       string                       `json:"email"`
	Access      Access                       `json:"access"`
	Quota       map[string]resource.Quantity `json:"quota,omitempty"`
	// Team is the team the developer belongs to (new in v2).
	Team *string `json:"team,omitempty"`
}

// UserStatus is what the controller last did (the same shape as v1's).
type UserStatus struct {
	Namespace          string             `json:"namespace,omitempty"`
	ObservedGeneration *int64             `json:"observedGeneration,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
}

// User is example.com/v2 User.
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
