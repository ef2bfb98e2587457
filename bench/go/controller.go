// The client-go peer of the controller benchmark: the User controller's
// reconcile logic (examples/user-controller/src/reconcile.rs, step for step)
// on client-go's shared informers, listers and rate-limited work queue, as a
// Go controller is usually written. The User comes through a typed REST
// client, informer and lister (user_types.go, the shape code-generator
// emits), so no reconcile decodes unstructured objects.
//
// client-go limits each client to 5 requests per second (burst 10) unless
// told otherwise; kube-rs, which crdforge's clients sit on, has no
// client-side limit, so --qps defaults to -1, which turns client-go's off.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
)

const (
	manager     = "user-controller"
	managedBy   = "app.kubernetes.io/managed-by"
	userLabel   = "example.com/user"
	finalizer   = "example.com/account-directory"
	roleBinding = "user-access"
	quotaName   = "user-quota"
	rbacGroup   = "rbac.authorization.k8s.io"
)

func (u *User) clusterRole() string {
	switch u.Spec.Role {
	case "edit", "view":
		return u.Spec.Role
	default:
		return "admin"
	}
}

type controller struct {
	kube       kubernetes.Interface
	users      *rest.RESTClient
	userLister userLister
	namespaces corelisters.NamespaceLister
	bindings   rbaclisters.RoleBindingLister
	quotas     corelisters.ResourceQuotaLister
	queue      workqueue.TypedRateLimitingInterface[string]
	directory  string
	instance   string
	reconciles atomic.Uint64
}

func runController(args []string) error {
	flags := flag.NewFlagSet("controller", flag.ContinueOnError)
	directory := flags.String("directory", "", "folder of the file-backed account directory")
	workers := flags.Int("workers", 4, "concurrent reconciles")
	metricsAddr := flags.String("metrics-addr", "127.0.0.1:8080", "address of /readyz and /metrics")
	qps := flags.Float64("qps", -1, "client-side requests per second (negative: no limit, as kube-rs)")
	burst := flags.Int("burst", 0, "client-side burst (with a positive --qps)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *directory == "" {
		return errors.New("--directory is required")
	}
	if err := os.MkdirAll(filepath.Join(*directory, "accounts"), 0o755); err != nil {
		return err
	}
	config, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return fmt.Errorf("loading KUBECONFIG: %w", err)
	}
	config.QPS = float32(*qps)
	config.Burst = *burst
	kube, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	users, err := userClient(config)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	all := informers.NewSharedInformerFactory(kube, 0)
	// Only our own RoleBindings and quotas are cached.
	ours := informers.NewSharedInformerFactoryWithOptions(kube, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = managedBy + "=" + manager }))
	userInformer := newUserInformer(users)
	nsInformer := all.Core().V1().Namespaces()
	rbInformer := ours.Rbac().V1().RoleBindings()
	quotaInformer := ours.Core().V1().ResourceQuotas()

	c := &controller{
		kube:       kube,
		users:      users,
		userLister: userLister{userInformer.GetIndexer()},
		namespaces: nsInformer.Lister(),
		bindings:   rbInformer.Lister(),
		quotas:     quotaInformer.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "user"}),
		directory: *directory,
		instance:  fmt.Sprintf("client-go-%d", os.Getpid()),
	}
	enqueueSelf := func(obj any) {
		if m := metaOf(obj); m != nil {
			c.queue.Add(m.GetName())
		}
	}
	enqueueOwner := func(obj any) {
		if m := metaOf(obj); m != nil {
			if owner := controllingUser(m); owner != "" {
				c.queue.Add(owner)
			}
		}
	}
	// A namespace event concerns the User that controls it or, for one that
	// is not ours, a User of the same name, whose conflict may be over.
	enqueueForNamespace := func(obj any) {
		m := metaOf(obj)
		if m == nil {
			return
		}
		if owner := controllingUser(m); owner != "" {
			c.queue.Add(owner)
		} else if _, err := c.userLister.Get(m.GetName()); err == nil {
			c.queue.Add(m.GetName())
		}
	}
	for _, h := range []struct {
		informer cache.SharedIndexInformer
		enqueue  func(any)
	}{
		{userInformer, enqueueSelf},
		{nsInformer.Informer(), enqueueForNamespace},
		{rbInformer.Informer(), enqueueOwner},
		{quotaInformer.Informer(), enqueueOwner},
	} {
		enqueue := h.enqueue
		if _, err := h.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
			DeleteFunc: enqueue,
		}); err != nil {
			return err
		}
	}

	// What the User controller's informers drop before caching, done with
	// client-go's SetTransform as a Go author trimming the cache would: the
	// peer never reads managedFields or the last-applied annotation.
	for _, informer := range []cache.SharedIndexInformer{
		userInformer, nsInformer.Informer(), rbInformer.Informer(), quotaInformer.Informer(),
	} {
		if err := informer.SetTransform(dropManagedFields); err != nil {
			return err
		}
	}

	var ready atomic.Bool
	go serveProbes(*metricsAddr, &ready, &c.reconciles)
	all.Start(ctx.Done())
	ours.Start(ctx.Done())
	go userInformer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(),
		userInformer.HasSynced, nsInformer.Informer().HasSynced,
		rbInformer.Informer().HasSynced, quotaInformer.Informer().HasSynced) {
		return errors.New("the informer caches did not sync")
	}
	ready.Store(true)

	var wg sync.WaitGroup
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	c.queue.ShutDownWithDrain()
	wg.Wait()
	return nil
}

func serveProbes(addr string, ready *atomic.Bool, reconciles *atomic.Uint64) {
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "controller_runtime_reconcile_total %d\n", reconciles.Load())
	})
	if err := http.ListenAndServe(addr, mux); err != nil {
		fail(err.Error())
	}
}

func (c *controller) processNext(ctx context.Context) bool {
	name, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(name)
	requeueAfter, err := c.reconcile(ctx, name)
	c.reconciles.Add(1)
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "reconcile %s failed; requeued with backoff: %v\n", name, err)
		c.queue.AddRateLimited(name)
	case requeueAfter > 0:
		c.queue.Forget(name)
		c.queue.AddAfter(name, requeueAfter)
	default:
		c.queue.Forget(name)
	}
	return true
}

func (c *controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	// The cached object, read and never written, as listers are used.
	user, err := c.userLister.Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	if user.DeletionTimestamp != nil {
		return 0, c.finalize(ctx, user)
	}
	if !hasFinalizer(user) {
		patch := map[string]any{"metadata": map[string]any{
			"finalizers":      append(append([]string{}, user.Finalizers...), finalizer),
			"resourceVersion": user.ResourceVersion,
		}}
		return 0, c.patchUser(ctx, name, patch, "", "adding the finalizer")
	}
	if err := c.registerAccount(user); err != nil {
		return 0, err
	}
	if why := dnsLabel(name); why != "" {
		_, err := c.setStatus(ctx, user, "", false, "InvalidName", why)
		return 0, err
	}

	ns, err := c.namespaces.Get(name)
	switch {
	case apierrors.IsNotFound(err):
		if _, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: childMeta(user, name, "")},
			metav1.CreateOptions{FieldManager: manager}); err != nil {
			return 0, fmt.Errorf("creating the namespace: %w", err)
		}
		c.publish(ctx, user, "Created", "created namespace "+name)
	case err != nil:
		return 0, err
	case !ownedBy(ns, user):
		message := fmt.Sprintf("namespace %s already exists and does not belong to this user; it is left alone", name)
		wrote, err := c.setStatus(ctx, user, "", false, "NamespaceConflict", message)
		if wrote {
			c.publish(ctx, user, "NamespaceConflict", message)
		}
		return 0, err
	case ns.DeletionTimestamp != nil:
		message := fmt.Sprintf("namespace %s is being deleted; it will be created again", name)
		if _, err := c.setStatus(ctx, user, "", false, "NamespaceTerminating", message); err != nil {
			return 0, err
		}
		return 2 * time.Second, nil
	case !hasLabels(ns, user):
		apply := corev1ac.Namespace(name).WithUID(ns.UID).WithLabels(labels(user)).
			WithOwnerReferences(ownerReference(user))
		if _, err := c.kube.CoreV1().Namespaces().Apply(ctx, apply,
			metav1.ApplyOptions{FieldManager: manager, Force: true}); err != nil {
			return 0, fmt.Errorf("repairing the namespace: %w", err)
		}
	}

	if err := c.ensureRoleBinding(ctx, user); err != nil {
		return 0, err
	}
	if err := c.ensureQuota(ctx, user); err != nil {
		return 0, err
	}
	message := fmt.Sprintf("namespace %s with role %s", name, user.clusterRole())
	_, err = c.setStatus(ctx, user, name, true, "Provisioned", message)
	return 0, err
}

func (c *controller) finalize(ctx context.Context, user *User) error {
	if !hasFinalizer(user) {
		return nil
	}
	if err := c.removeAccount(string(user.UID)); err != nil {
		return err
	}
	remaining := []string{}
	for _, f := range user.Finalizers {
		if f != finalizer {
			remaining = append(remaining, f)
		}
	}
	patch := map[string]any{"metadata": map[string]any{"finalizers": remaining, "resourceVersion": user.ResourceVersion}}
	if err := c.patchUser(ctx, user.Name, patch, "", "releasing the finalizer"); err != nil {
		return err
	}
	c.publish(ctx, user, "Deleted", "account removed")
	return nil
}

func (c *controller) patchUser(ctx context.Context, name string, patch any, subresource, doing string) error {
	body, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	var sub []string
	if subresource != "" {
		sub = []string{subresource}
	}
	err = c.users.Patch(types.MergePatchType).Resource("users").Name(name).SubResource(sub...).
		VersionedParams(&metav1.PatchOptions{FieldManager: manager}, metav1.ParameterCodec).
		Body(body).Do(ctx).Error()
	if err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return nil
}

func (c *controller) ensureRoleBinding(ctx context.Context, user *User) error {
	name := user.Name
	roleRef := rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: user.clusterRole()}
	subjects := []rbacv1.Subject{{APIGroup: rbacGroup, Kind: "User", Name: name}}
	for _, g := range user.Spec.Groups {
		subjects = append(subjects, rbacv1.Subject{APIGroup: rbacGroup, Kind: "Group", Name: g})
	}
	current, err := c.bindings.RoleBindings(name).Get(roleBinding)
	if err == nil {
		if apiequality.Semantic.DeepEqual(current.RoleRef, roleRef) && apiequality.Semantic.DeepEqual(current.Subjects, subjects) &&
			hasLabels(current, user) && ownedBy(current, user) {
			return nil
		}
		if current.RoleRef != roleRef {
			// roleRef is immutable: a new role means a new binding.
			if err := c.kube.RbacV1().RoleBindings(name).Delete(ctx, roleBinding, metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("replacing the role binding: %w", err)
			}
		}
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	apply := rbacv1ac.RoleBinding(roleBinding, name).WithLabels(labels(user)).WithOwnerReferences(ownerReference(user)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(roleRef.APIGroup).WithKind(roleRef.Kind).WithName(roleRef.Name))
	for _, s := range subjects {
		apply = apply.WithSubjects(rbacv1ac.Subject().WithAPIGroup(s.APIGroup).WithKind(s.Kind).WithName(s.Name))
	}
	if _, err := c.kube.RbacV1().RoleBindings(name).Apply(ctx, apply, metav1.ApplyOptions{FieldManager: manager, Force: true}); err != nil {
		return fmt.Errorf("applying the role binding: %w", err)
	}
	return nil
}

func (c *controller) ensureQuota(ctx context.Context, user *User) error {
	name := user.Name
	current, err := c.quotas.ResourceQuotas(name).Get(quotaName)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if user.Spec.Quota == nil {
		if err == nil && ownedBy(current, user) {
			if err := c.kube.CoreV1().ResourceQuotas(name).Delete(ctx, quotaName, metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("removing the quota: %w", err)
			}
		}
		return nil
	}
	hard := corev1.ResourceList{}
	for k, v := range user.Spec.Quota {
		hard[corev1.ResourceName(k)] = v
	}
	if err == nil && apiequality.Semantic.DeepEqual(current.Spec.Hard, hard) && hasLabels(current, user) && ownedBy(current, user) {
		return nil
	}
	apply := corev1ac.ResourceQuota(quotaName, name).WithLabels(labels(user)).WithOwnerReferences(ownerReference(user)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(hard))
	if _, err := c.kube.CoreV1().ResourceQuotas(name).Apply(ctx, apply, metav1.ApplyOptions{FieldManager: manager, Force: true}); err != nil {
		return fmt.Errorf("applying the quota: %w", err)
	}
	return nil
}

// setStatus writes the status when it differs from the stored one and says
// whether it wrote. lastTransitionTime is kept while the status stays.
func (c *controller) setStatus(ctx context.Context, user *User, namespace string, ready bool, reason, message string) (bool, error) {
	current := UserStatus{}
	if user.Status != nil {
		current = *user.Status
	}
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	var previous *metav1.Condition
	for i := range current.Conditions {
		if current.Conditions[i].Type == "Ready" {
			previous = &current.Conditions[i]
		}
	}
	unchanged := previous != nil && previous.Status == status && previous.Reason == reason && previous.Message == message
	generation := user.Generation
	transition := metav1.Now()
	if previous != nil && previous.Status == status {
		transition = previous.LastTransitionTime
	}
	desired := UserStatus{
		Namespace:          namespace,
		ObservedGeneration: &generation,
		Conditions: []metav1.Condition{{
			Type: "Ready", Status: status, Reason: reason, Message: message,
			ObservedGeneration: generation, LastTransitionTime: transition,
		}},
	}
	if unchanged && current.Namespace == desired.Namespace && current.ObservedGeneration != nil && *current.ObservedGeneration == generation {
		return false, nil
	}
	// A forced server-side apply of the status, as the User controller
	// writes it, so that every contender makes the same kind of write.
	body, err := json.Marshal(map[string]any{
		"apiVersion": "example.com/v1", "kind": "User",
		"metadata": map[string]any{"name": user.Name},
		"status":   desired,
	})
	if err != nil {
		return false, err
	}
	force := true
	err = c.users.Patch(types.ApplyPatchType).Resource("users").Name(user.Name).SubResource("status").
		VersionedParams(&metav1.PatchOptions{FieldManager: manager, Force: &force}, metav1.ParameterCodec).
		Body(body).Do(ctx).Error()
	if err != nil {
		return false, fmt.Errorf("writing the status: %w", err)
	}
	return true, nil
}

// publish creates an Event in default; failures are logged, never returned.
func (c *controller) publish(ctx context.Context, user *User, reason, message string) {
	now := time.Now()
	event := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", user.Name, now.UnixNano()), Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "example.com/v1", Kind: "User", Name: user.Name, UID: user.UID, ResourceVersion: user.ResourceVersion,
		},
		Reason: reason, Message: message, Type: corev1.EventTypeNormal,
		Source:              corev1.EventSource{Component: manager},
		ReportingController: manager, ReportingInstance: c.instance,
		FirstTimestamp: metav1.NewTime(now), LastTimestamp: metav1.NewTime(now), EventTime: metav1.NewMicroTime(now),
		Action: reason, Count: 1,
	}
	if _, err := c.kube.CoreV1().Events("default").Create(ctx, event, metav1.CreateOptions{FieldManager: manager}); err != nil {
		fmt.Fprintf(os.Stderr, "could not publish an event: %v\n", err)
	}
}

// account is one record of the file-backed account directory, in the
// layout of the User controller's FileDirectory.
type account struct {
	UID         string `json:"uid"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
}

func (c *controller) accountPath(uid string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return -1
	}, uid)
	return filepath.Join(c.directory, "accounts", safe+".json")
}

func (c *controller) registerAccount(user *User) error {
	want := account{UID: string(user.UID), Name: user.Name, DisplayName: user.Spec.DisplayName, Email: user.Spec.Email}
	path := c.accountPath(want.UID)
	var have account
	existed := false
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &have) == nil {
		existed = true
		if have == want {
			return nil
		}
	}
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("account directory: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("account directory: %w", err)
	}
	if !existed {
		return c.journal("created", want.UID, want.Name)
	}
	return nil
}

func (c *controller) removeAccount(uid string) error {
	err := os.Remove(c.accountPath(uid))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("account directory: %w", err)
	}
	return c.journal("removed", uid, "")
}

func (c *controller) journal(what, uid, name string) error {
	f, err := os.OpenFile(filepath.Join(c.directory, "journal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("account directory: %w", err)
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s %s %s\n", what, uid, name)
	return err
}

func dropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a != nil {
			delete(a, "kubectl.kubernetes.io/last-applied-configuration")
		}
	}
	return obj, nil
}

func metaOf(obj any) metav1.Object {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return m
}

func controllingUser(m metav1.Object) string {
	for _, o := range m.GetOwnerReferences() {
		if o.Controller != nil && *o.Controller && o.Kind == "User" && o.APIVersion == "example.com/v1" {
			return o.Name
		}
	}
	return ""
}

func hasFinalizer(user *User) bool {
	for _, f := range user.Finalizers {
		if f == finalizer {
			return true
		}
	}
	return false
}

func labels(user *User) map[string]string {
	return map[string]string{managedBy: manager, userLabel: user.Name}
}

func hasLabels(m metav1.Object, user *User) bool {
	have := m.GetLabels()
	for k, v := range labels(user) {
		if have[k] != v {
			return false
		}
	}
	return true
}

func ownedBy(m metav1.Object, user *User) bool {
	for _, o := range m.GetOwnerReferences() {
		if o.Controller != nil && *o.Controller && o.Kind == "User" && o.UID == user.UID {
			return true
		}
	}
	return false
}

func ownerReference(user *User) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().WithAPIVersion("example.com/v1").WithKind("User").
		WithName(user.Name).WithUID(user.UID).WithController(true).WithBlockOwnerDeletion(true)
}

func childMeta(user *User, name, namespace string) metav1.ObjectMeta {
	t := true
	return metav1.ObjectMeta{
		Name: name, Namespace: namespace, Labels: labels(user),
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "example.com/v1", Kind: "User", Name: user.Name, UID: user.UID,
			Controller: &t, BlockOwnerDeletion: &t,
		}},
	}
}

// dnsLabel returns why name cannot name a namespace, or "".
func dnsLabel(name string) string {
	valid := name != "" && len(name) <= 63 && !strings.HasPrefix(name, "-") && !strings.HasSuffix(name, "-")
	for _, r := range name {
		if !(('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || r == '-') {
			valid = false
		}
	}
	if valid {
		return ""
	}
	return fmt.Sprintf("`%s` cannot name a namespace: it must be at most 63 lower-case letters, digits "+
		"or '-', starting and ending with a letter or digit", name)
}
