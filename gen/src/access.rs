//! What a controller declares it does with each resource, and the RBAC
//! rules that follows from it. A controller names operations in the terms
//! its code uses — it watches through an informer, applies, deletes — and
//! the verbs are derived here, once, so a role can hold no verb that no
//! declared operation needs.

use crate::rbac::Permission;

/// One thing a controller does with a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Reads through an informer and its lister: `list` and `watch`.
    /// Lister reads are served from the cache and need no `get`.
    Watch,
    /// Direct reads from the apiserver: `get`.
    Get,
    /// `create`.
    Create,
    /// Server-side apply of objects that may not exist yet: `patch`, and
    /// `create`, since the apiserver authorizes an apply that creates as a
    /// create.
    Apply,
    /// Merge or JSON patches of existing objects: `patch`.
    Patch,
    /// `update` (a PUT).
    Update,
    /// `delete`.
    Delete,
    /// Writes of the `status` subresource, applied or patched: `patch` on
    /// `<resource>/status`.
    PatchStatus,
    /// Children carry ownerReferences with `blockOwnerDeletion` pointing at
    /// objects of this resource: `update` on `<resource>/finalizers`, which
    /// the OwnerReferencesPermissionEnforcement admission plugin checks.
    OwnsChildren,
    /// RoleBindings made by the controller refer to these roles, which it
    /// does not itself hold: `bind` on them by name.
    Bind(&'static [&'static str]),
}

/// The verbs on the resource itself, in the order RBAC documentation lists
/// them, so generated roles read the same way every time.
const VERB_ORDER: [&str; 7] = [
    "get", "list", "watch", "create", "update", "patch", "delete",
];

impl Op {
    /// Verbs this operation needs on the resource itself.
    fn verbs(self) -> &'static [&'static str] {
        match self {
            Op::Watch => &["list", "watch"],
            Op::Get => &["get"],
            Op::Create => &["create"],
            Op::Apply => &["patch", "create"],
            Op::Patch => &["patch"],
            Op::Update => &["update"],
            Op::Delete => &["delete"],
            Op::PatchStatus | Op::OwnsChildren | Op::Bind(_) => &[],
        }
    }

    /// Whether the operation writes (for the fence).
    pub fn writes(self) -> bool {
        !matches!(self, Op::Watch | Op::Get | Op::Bind(_) | Op::OwnsChildren)
    }
}

/// What a controller does with one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uses {
    /// API group; `""` for the core group.
    pub group: &'static str,
    /// Resource (plural), without subresource.
    pub resource: &'static str,
    /// The operations.
    pub ops: Vec<Op>,
    /// Whether writes are fenced to namespaces the controller manages
    /// (see [`crate::fence`]): for a namespaced resource, it may be written
    /// only in a managed namespace; for `namespaces` itself, created only
    /// with the managed label, and changed or deleted only when it carries
    /// the label, which it keeps.
    pub managed: bool,
}

impl Uses {
    /// `ops` on `group`/`resource`, unfenced.
    pub fn new(group: &'static str, resource: &'static str, ops: &[Op]) -> Self {
        Self {
            group,
            resource,
            ops: ops.to_vec(),
            managed: false,
        }
    }

    /// Fences writes to managed namespaces.
    pub fn in_managed_namespaces(mut self) -> Self {
        self.managed = true;
        self
    }

    /// Whether this is the core group's Namespace resource.
    pub fn is_namespaces(&self) -> bool {
        self.group.is_empty() && self.resource == "namespaces"
    }

    /// The RBAC rules these operations need: one for the resource's own
    /// verbs, one per subresource, one for named `bind`s.
    pub fn permissions(&self) -> Vec<Permission> {
        let mut out = Vec::new();
        let verbs: Vec<&'static str> = VERB_ORDER
            .into_iter()
            .filter(|verb| self.ops.iter().any(|op| op.verbs().contains(verb)))
            .collect();
        if !verbs.is_empty() {
            out.push(Permission::new(
                self.group,
                vec![self.resource.into()],
                verbs,
            ));
        }
        if self.ops.contains(&Op::PatchStatus) {
            out.push(Permission::new(
                self.group,
                vec![format!("{}/status", self.resource)],
                vec!["patch"],
            ));
        }
        if self.ops.contains(&Op::OwnsChildren) {
            out.push(Permission::new(
                self.group,
                vec![format!("{}/finalizers", self.resource)],
                vec!["update"],
            ));
        }
        for op in &self.ops {
            if let Op::Bind(names) = op {
                let mut bind =
                    Permission::new(self.group, vec![self.resource.into()], vec!["bind"]);
                bind.resource_names = names.to_vec();
                out.push(bind);
            }
        }
        out
    }
}

/// The rules for everything in `uses`, in declaration order.
pub fn permissions(uses: &[Uses]) -> Vec<Permission> {
    uses.iter().flat_map(Uses::permissions).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_follow_from_operations_and_nothing_else() {
        let rules = Uses::new(
            "example.com",
            "users",
            &[Op::Apply, Op::Watch, Op::PatchStatus, Op::OwnsChildren],
        )
        .permissions();
        let flat: Vec<(Vec<String>, Vec<&str>)> = rules
            .iter()
            .map(|p| (p.resources.clone(), p.verbs.clone()))
            .collect();
        assert_eq!(
            flat,
            [
                (
                    vec!["users".to_string()],
                    vec!["list", "watch", "create", "patch"]
                ),
                (vec!["users/status".to_string()], vec!["patch"]),
                (vec!["users/finalizers".to_string()], vec!["update"]),
            ]
        );
        // Reads through listers never need `get`.
        assert!(rules.iter().all(|p| !p.verbs.contains(&"get")));
        let bind = Uses::new(
            "rbac.authorization.k8s.io",
            "clusterroles",
            &[Op::Bind(&["view"])],
        )
        .permissions();
        assert_eq!(bind[0].verbs, ["bind"]);
        assert_eq!(bind[0].resource_names, ["view"]);
    }
}
