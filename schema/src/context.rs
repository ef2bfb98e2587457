//! The state threaded through schema generation: where we are (for error
//! messages), which types we are inside (to stop on recursion instead of
//! overflowing the stack), and the problems found so far.

use std::fmt;

use super::Schema;

/// A problem found while generating or checking a schema, with the path of
/// the field it concerns (`.spec.ports[*].name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where: the type it was found in, then the field path.
    pub path: String,
    /// What is wrong, and what to do about it where we know.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Schema generation state. Create one per root type with [`Context::new`].
#[derive(Debug, Default)]
pub struct Context {
    path: Vec<String>,
    types: Vec<&'static str>,
    problems: Vec<Problem>,
}

impl Context {
    /// A fresh context at the root.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` one property deeper, so that problems found inside name it.
    pub fn at<T>(&mut self, property: &str, f: impl FnOnce(&mut Context) -> T) -> T {
        self.path.push(format!(".{property}"));
        let value = f(self);
        self.path.pop();
        value
    }

    /// Runs `f` for the elements of a list or the values of a map.
    pub fn items<T>(&mut self, f: impl FnOnce(&mut Context) -> T) -> T {
        self.path.push("[*]".to_owned());
        let value = f(self);
        self.path.pop();
        value
    }

    /// Runs `f` to describe the type named `type_name`, unless we are
    /// already inside it: a structural schema has no references, so a
    /// recursive type cannot be described. Then the problem is recorded and
    /// an "any value" schema stands in, so generation finishes and the offline
    /// check refuses the CRD with the path.
    pub fn enter(
        &mut self,
        type_name: &'static str,
        f: impl FnOnce(&mut Context) -> Schema,
    ) -> Schema {
        if self.types.contains(&type_name) {
            self.problem(format!(
                "`{type_name}` contains itself; structural schemas cannot describe recursive types \
                 (mark the field that holds it #[crd(schemaless)]: stored as given, unchecked)"
            ));
            return Schema::any();
        }
        self.types.push(type_name);
        let schema = f(self);
        self.types.pop();
        schema
    }

    /// Records a problem at the current path, naming the Rust type being
    /// described so the user knows which type to change.
    pub fn problem(&mut self, message: impl Into<String>) {
        let path = self.path.concat();
        let mut message = message.into();
        if let Some(type_name) = self.types.last() {
            message = format!("{message} (in `{type_name}`)");
        }
        self.problems.push(Problem { path, message });
    }

    /// The problems found so far.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Takes the problems out, leaving none.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursion_is_a_problem_not_a_stack_overflow() {
        fn tree(ctx: &mut Context) -> Schema {
            ctx.enter("Tree", |ctx| {
                let mut schema = Schema::typed("object");
                let child = ctx.at("children", |ctx| ctx.items(tree));
                schema
                    .properties
                    .insert("children".into(), Schema::array(child));
                schema
            })
        }
        let mut ctx = Context::new();
        let schema = tree(&mut ctx);
        assert_eq!(schema.type_name(), "object");
        assert_eq!(ctx.problems().len(), 1);
        assert_eq!(ctx.problems()[0].path, ".children[*]");
        assert!(ctx.problems()[0].message.contains("contains itself"));
        assert!(
            ctx.problems()[0].message.ends_with("(in `Tree`)"),
            "names the type"
        );
    }
}
