//! Golden files of the derives' output, formatted with prettyplease, so a
//! change to generated code shows up as a reviewable diff. Re-bless with
//! `UPDATE_EXPECT=1 cargo test -p crdforge-derive`.

use expect_test::expect_file;
use quote::ToTokens;
use syn::{DeriveInput, parse_quote};

fn pretty(tokens: proc_macro2::TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

#[test]
fn custom_resource_expansion() {
    let input: DeriveInput = parse_quote! {
        /// A user.
        #[kube(group = "example.com", version = "v1", kind = "User", namespaced,
               status = "UserStatus", shortname = "usr", derive = "PartialEq",
               printcolumn(name = "Login", type_ = "string", json_path = ".spec.login"))]
        #[serde(rename_all = "camelCase")]
        pub struct UserSpec {
            /// The login name.
            #[crd(max_length = 63, pattern = "^[a-z]+$", immutable)]
            pub login: String,
            #[crd(default = 1, minimum = 0)]
            pub replicas: Option<i32>,
        }
    };
    let tokens = super::expand_custom_resource(input.to_token_stream()).unwrap();
    expect_file!["../../tests/snapshots/custom_resource.expanded.rs"].assert_eq(&pretty(tokens));
}

#[test]
fn enum_schema_expansion() {
    let input: DeriveInput = parse_quote! {
        #[serde(tag = "type", rename_all = "camelCase")]
        pub enum Source {
            /// From git.
            Git { url: String },
            Empty,
        }
    };
    let tokens = super::expand_schema(input.to_token_stream()).unwrap();
    expect_file!["../../tests/snapshots/enum_schema.expanded.rs"].assert_eq(&pretty(tokens));
}

#[test]
fn deep_copy_expansion() {
    // Generics, a serde-skipped field copied by Clone, and an enum with a
    // skipped tuple variant; only the DeepCopy impls are kept, the schemas
    // have the snapshots above.
    let inputs: [DeriveInput; 2] = [
        parse_quote! {
            pub struct Wrapper<T> {
                pub items: Vec<T>,
                #[serde(skip)]
                #[crd(deep_copy = "clone")]
                pub handle: Handle,
            }
        },
        parse_quote! {
            #[serde(tag = "kind")]
            pub enum Source {
                Git { url: String },
                #[serde(skip)]
                Local(PathBuf, u8),
            }
        },
    ];
    let mut items = Vec::new();
    for input in inputs {
        let tokens = super::expand_schema(input.to_token_stream()).unwrap();
        let file: syn::File = syn::parse2(tokens).unwrap();
        for item in file.items {
            let syn::Item::Const(c) = item else { continue };
            let syn::Expr::Block(block) = *c.expr else {
                continue;
            };
            for stmt in block.block.stmts {
                if let syn::Stmt::Item(syn::Item::Impl(imp)) = stmt
                    && imp.trait_.as_ref().is_some_and(|(_, path, _)| {
                        path.segments.last().is_some_and(|s| s.ident == "DeepCopy")
                    })
                {
                    items.push(syn::Item::Impl(imp));
                }
            }
        }
    }
    let file = syn::File {
        shebang: None,
        attrs: Vec::new(),
        items,
    };
    expect_file!["../../tests/snapshots/deep_copy.expanded.rs"]
        .assert_eq(&prettyplease::unparse(&file));
}

/// The files of the fixture API and the User API whose derives are sized.
const FIXTURE_FILES: [&str; 6] = [
    "fixtures/src/widget/v1alpha1.rs",
    "fixtures/src/widget/v1beta1.rs",
    "fixtures/src/widget/v1.rs",
    "fixtures/src/policy.rs",
    "fixtures/src/proxy.rs",
    "examples/user-api/src/lib.rs",
];

/// The size of what the derives write for the fixture API and the User
/// API — every type in them, expanded and formatted — as a golden file,
/// so that a change that grows or shrinks the expansion (which every user
/// crate pays for in compile time) shows up in review with its figure.
#[test]
fn expansion_size_of_the_fixture_api() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut report = String::from("file | types | input lines | expanded lines\n");
    let (mut all_types, mut all_input, mut all_output) = (0, 0, 0);
    for path in FIXTURE_FILES {
        let source = std::fs::read_to_string(root.join(path)).unwrap();
        let file: syn::File = syn::parse_file(&source).unwrap();
        let (mut types, mut input, mut output) = (0, 0, 0);
        for item in file.items {
            let input_item: DeriveInput = match item {
                syn::Item::Struct(s) => s.into(),
                syn::Item::Enum(e) => e.into(),
                _ => continue,
            };
            let derives = |name: &str| {
                input_item.attrs.iter().any(|a| {
                    a.path().is_ident("derive") && a.to_token_stream().to_string().contains(name)
                })
            };
            let expanded = if derives("CustomResource") {
                super::expand_custom_resource(input_item.to_token_stream())
            } else if derives("KubeSchema") {
                super::expand_schema(input_item.to_token_stream())
            } else {
                continue;
            };
            types += 1;
            let item_file = syn::File {
                shebang: None,
                attrs: Vec::new(),
                items: vec![syn::parse2(input_item.to_token_stream()).unwrap()],
            };
            input += prettyplease::unparse(&item_file).lines().count();
            output += pretty(expanded.unwrap()).lines().count();
        }
        report.push_str(&format!("{path} | {types} | {input} | {output}\n"));
        (all_types, all_input, all_output) =
            (all_types + types, all_input + input, all_output + output);
    }
    report.push_str(&format!(
        "total | {all_types} | {all_input} | {all_output}\n"
    ));
    expect_file!["../../tests/snapshots/expansion_size.txt"].assert_eq(&report);
}

/// What produced each part of an expansion, so the figures show where the
/// lines go rather than only how many there are.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Producer {
    /// `impl KubeSchema`.
    Schema,
    /// `impl DeepCopy`.
    DeepCopy,
    /// The `<Type>Apply`/`<Root>Apply` structs and their impls.
    Apply,
    /// The root struct and kube's, serde's and crdforge's resource impls.
    Resource,
    /// The fallback's choices (constants) and the notes of fields that fall
    /// back to schemars.
    Fallback,
}

const PRODUCERS: [(Producer, &str); 5] = [
    (Producer::Schema, "schema"),
    (Producer::DeepCopy, "deep copy"),
    (Producer::Apply, "apply configuration"),
    (Producer::Resource, "resource impls"),
    (Producer::Fallback, "fallback choices and notes"),
];

/// The size of one derive's output: formatted lines and tokens per
/// producer, and how many tokens are fallback probes (`Via<..>` types in
/// the other producers' code, and the choices' constants).
#[derive(Default)]
struct Size {
    lines: std::collections::BTreeMap<Producer, usize>,
    tokens: std::collections::BTreeMap<Producer, usize>,
    probe_tokens: usize,
}

impl Size {
    fn add(&mut self, other: &Size) {
        for (p, n) in &other.lines {
            *self.lines.entry(*p).or_default() += n;
        }
        for (p, n) in &other.tokens {
            *self.tokens.entry(*p).or_default() += n;
        }
        self.probe_tokens += other.probe_tokens;
    }

    fn lines(&self) -> usize {
        self.lines.values().sum()
    }

    fn tokens(&self) -> usize {
        self.tokens.values().sum()
    }

    fn row(&self, label: &str) -> String {
        let mut row = format!("{label} | {} | {}", self.lines(), self.tokens());
        for (p, _) in PRODUCERS {
            let lines = self.lines.get(&p).copied().unwrap_or_default();
            row.push_str(&format!(" | {lines}"));
        }
        let share = 100 * self.probe_tokens / self.tokens().max(1);
        row.push_str(&format!(" | {} ({share}%)\n", self.probe_tokens));
        row
    }
}

fn header(first: &str) -> String {
    let mut h = format!("{first} | lines | tokens");
    for (_, name) in PRODUCERS {
        h.push_str(&format!(" | {name}"));
    }
    h.push_str(" | probe tokens\n");
    h
}

/// Expands one derive input the way rustc would, and sizes the output.
fn size_of(input: &DeriveInput) -> Size {
    let derives = |name: &str| {
        input
            .attrs
            .iter()
            .any(|a| a.path().is_ident("derive") && a.to_token_stream().to_string().contains(name))
    };
    let derive = if derives("CustomResource") {
        crate::model::Derive::CustomResource
    } else {
        crate::model::Derive::Schema
    };
    let Ok(model) = crate::frontend::parse(input, derive) else {
        panic!("{}: the derive reports errors", input.ident);
    };
    let apply: Vec<String> = model
        .apply
        .iter()
        .flat_map(|a| a.own.iter().chain(&a.root))
        .map(ToString::to_string)
        .collect();
    let file: syn::File = syn::parse2(super::emit(&model)).expect("the expansion parses");
    let mut size = Size::default();
    for item in flatten(file.items) {
        let producer = producer(&item, &apply);
        let tokens = item.to_token_stream();
        size.probe_tokens += match &item {
            syn::Item::Const(c) if c.ident.to_string().starts_with("__CRDFORGE_FALLBACK") => {
                count_tokens(tokens.clone())
            }
            _ => probe_tokens(tokens.clone()),
        };
        *size.tokens.entry(producer).or_default() += count_tokens(tokens);
        let one = syn::File {
            shebang: None,
            attrs: Vec::new(),
            items: vec![item],
        };
        *size.lines.entry(producer).or_default() += prettyplease::unparse(&one).lines().count();
    }
    size
}

/// The items of `const _: () = { .. }` blocks in place of the blocks,
/// except the fallback notes' block (the one that declares
/// `SchemarsFallback`), which is one producer's.
fn flatten(items: Vec<syn::Item>) -> Vec<syn::Item> {
    let mut out = Vec::new();
    for item in items {
        if let syn::Item::Const(c) = &item
            && c.ident == "_"
            && let syn::Expr::Block(block) = &*c.expr
        {
            let inner: Vec<syn::Item> = block
                .block
                .stmts
                .iter()
                .filter_map(|s| match s {
                    syn::Stmt::Item(i) => Some(i.clone()),
                    _ => None,
                })
                .collect();
            let notes = inner
                .iter()
                .any(|i| matches!(i, syn::Item::Struct(s) if s.ident == "SchemarsFallback"));
            if notes {
                out.push(item);
                continue;
            }
            out.extend(flatten(inner));
        } else {
            out.push(item);
        }
    }
    out
}

fn producer(item: &syn::Item, apply: &[String]) -> Producer {
    let named = |ty: &syn::Type| {
        let ty = ty.to_token_stream().to_string();
        apply
            .iter()
            .any(|a| ty.split_whitespace().next() == Some(a.as_str()))
    };
    match item {
        syn::Item::Const(_) => Producer::Fallback,
        syn::Item::Struct(s) if apply.contains(&s.ident.to_string()) => Producer::Apply,
        syn::Item::Impl(imp) => {
            let tr = imp
                .trait_
                .as_ref()
                .and_then(|(_, path, _)| path.segments.last())
                .map(|s| s.ident.to_string());
            match tr.as_deref() {
                Some("KubeSchema") => Producer::Schema,
                Some("DeepCopy") => Producer::DeepCopy,
                Some("ApplyConfiguration" | "ObjectConfiguration") => Producer::Apply,
                _ if named(&imp.self_ty) => Producer::Apply,
                _ => Producer::Resource,
            }
        }
        _ => Producer::Resource,
    }
}

/// Leaf tokens, each delimiter pair counted once.
fn count_tokens(tokens: proc_macro2::TokenStream) -> usize {
    tokens
        .into_iter()
        .map(|t| match t {
            proc_macro2::TokenTree::Group(g) => 1 + count_tokens(g.stream()),
            _ => 1,
        })
        .sum()
}

/// Tokens of every `fallback::Via<..>` type: the probes.
fn probe_tokens(tokens: proc_macro2::TokenStream) -> usize {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut total = 0;
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Group(g) => total += probe_tokens(g.stream()),
            TokenTree::Ident(id)
                if id == "Via" && i >= 3 && trees[i - 3].to_string() == "fallback" =>
            {
                // `Via`, then its arguments up to the matching `>`.
                let mut depth = 0usize;
                let mut j = i + 1;
                total += 1;
                while j < trees.len() {
                    total += match &trees[j] {
                        TokenTree::Group(g) => 1 + count_tokens(g.stream()),
                        _ => 1,
                    };
                    if let TokenTree::Punct(p) = &trees[j] {
                        match p.as_char() {
                            '<' => depth += 1,
                            '>' => depth -= 1,
                            _ => {}
                        }
                    }
                    j += 1;
                    if depth == 0 {
                        break;
                    }
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    total
}

/// One type of `cargo xtask gen --bench`'s crate of 100 (its spec, enum,
/// nested struct and status), as that benchmark writes it.
fn bench_type() -> Vec<DeriveInput> {
    vec![
        parse_quote! {
            #[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
            #[kube(group = "bench.crdforge.dev", version = "v1", kind = "Kind0", namespaced, status = "Kind0Status")]
            #[serde(rename_all = "camelCase")]
            pub struct Kind0Spec {
                #[crd(min_length = 1, max_length = 63)]
                pub name: String,
                #[crd(minimum = 0, maximum = 100)]
                pub replicas: i32,
                pub tags: Vec<String>,
                pub labels: BTreeMap<String, String>,
                pub mode: Mode0,
                pub nested: Option<Nested0>,
            }
        },
        parse_quote! {
            #[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
            pub enum Mode0 { Fast, Slow, Off }
        },
        parse_quote! {
            #[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
            #[serde(rename_all = "camelCase")]
            pub struct Nested0 {
                pub address: Option<String>,
                pub port_number: i64,
            }
        },
        parse_quote! {
            #[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default)]
            pub struct Kind0Status {
                pub ready: bool,
            }
        },
    ]
}

/// Most lines one bench type may expand to: a budget, so that a change
/// that grows the expansion every user crate compiles fails here and says
/// so, rather than only moving the figure in the golden file below.
const BENCH_TYPE_LINE_BUDGET: usize = 2000;

/// Where the expansion's lines go, by producer, for the fixture API and the
/// User API (per file) and for one type of the generator benchmark, as a
/// golden file; and the benchmark type held to its budget.
#[test]
fn expansion_split_by_producer() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut report = header("file");
    let mut total = Size::default();
    for path in FIXTURE_FILES {
        let source = std::fs::read_to_string(root.join(path)).unwrap();
        let file: syn::File = syn::parse_file(&source).unwrap();
        let mut size = Size::default();
        for item in file.items {
            let input: DeriveInput = match item {
                syn::Item::Struct(s) => s.into(),
                syn::Item::Enum(e) => e.into(),
                _ => continue,
            };
            let derives = input.attrs.iter().any(|a| {
                let text = a.to_token_stream().to_string();
                a.path().is_ident("derive")
                    && (text.contains("CustomResource") || text.contains("KubeSchema"))
            });
            if derives {
                size.add(&size_of(&input));
            }
        }
        report.push_str(&size.row(path));
        total.add(&size);
    }
    report.push_str(&total.row("total"));
    let mut bench = Size::default();
    for input in bench_type() {
        bench.add(&size_of(&input));
    }
    report.push('\n');
    report.push_str(&header("gen --bench"));
    report.push_str(&bench.row("one type (4 derives)"));
    expect_file!["../../tests/snapshots/expansion_split.txt"].assert_eq(&report);
    assert!(
        bench.lines() <= BENCH_TYPE_LINE_BUDGET,
        "one `gen --bench` type expands to {} lines, over the budget of {BENCH_TYPE_LINE_BUDGET}",
        bench.lines()
    );
}
