//! Rust-like text for the type-level parts of rustdoc JSON: types, generic parameters and
//! arguments, bounds, where clauses and function signatures.
//!
//! Every function takes a `serde_json::Value` and never panics: a shape this code does not know
//! (a newer rustdoc, a rare type form) renders as `?` so the snapshot still shows where it is.

use serde_json::Value;

/// Rendered in place of a type form, argument or bound this renderer does not know.
pub(crate) const UNKNOWN: &str = "?";

/// How an item referenced by id is named in the snapshot.
pub(crate) trait Names {
    /// The path to show for the item `id` (rustdoc's `Id`, may be absent), which the source
    /// wrote as `written` at the use site.
    fn path_of(&self, id: Option<&Value>, written: &str) -> String;
}

/// The id of an item as an index key: rustdoc writes ids as integers (format 40 and later) and
/// used strings before that.
pub(crate) fn id_key(id: &Value) -> Option<String> {
    match id {
        Value::Number(number) => Some(number.to_string()),
        Value::String(text) => Some(text.clone()),
        _ => None,
    }
}

/// The single `"key": body` of an externally tagged enum value.
pub(crate) fn tagged(value: &Value) -> Option<(&str, &Value)> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.iter().next().map(|(key, body)| (key.as_str(), body))
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or(UNKNOWN)
}

fn list(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Renders types and signatures, naming items through `names`.
pub(crate) struct TypeRenderer<'a> {
    pub(crate) names: &'a dyn Names,
}

impl TypeRenderer<'_> {
    /// A type (`Type` in rustdoc-types).
    pub(crate) fn ty(&self, ty: &Value) -> String {
        if ty.as_str() == Some("infer") {
            return "_".into();
        }
        let Some((kind, body)) = tagged(ty) else { return UNKNOWN.into() };
        match kind {
            "resolved_path" => self.path(body),
            "generic" | "primitive" => body.as_str().unwrap_or(UNKNOWN).into(),
            "tuple" => self.tuple(list(Some(body))),
            "slice" => format!("[{}]", self.ty(body)),
            "array" => format!(
                "[{}; {}]",
                body.get("type").map_or_else(|| UNKNOWN.into(), |t| self.ty(t)),
                str_of(body, "len")
            ),
            "borrowed_ref" => {
                let lifetime =
                    body.get("lifetime").and_then(Value::as_str).map(|l| format!("{l} ")).unwrap_or_default();
                let mutable = if body.get("is_mutable").and_then(Value::as_bool) == Some(true) { "mut " } else { "" };
                format!("&{lifetime}{mutable}{}", self.ty_at(body, "type"))
            }
            "raw_pointer" => {
                let mutable = body.get("is_mutable").and_then(Value::as_bool) == Some(true);
                format!("*{} {}", if mutable { "mut" } else { "const" }, self.ty_at(body, "type"))
            }
            "dyn_trait" => {
                let mut parts: Vec<String> =
                    list(body.get("traits")).iter().map(|poly| self.poly_trait(poly)).collect();
                if let Some(lifetime) = body.get("lifetime").and_then(Value::as_str) {
                    parts.push(lifetime.into());
                }
                format!("dyn {}", parts.join(" + "))
            }
            "impl_trait" => format!("impl {}", self.bounds(list(Some(body)))),
            "function_pointer" => {
                let hrtb = self.for_lifetimes(list(body.get("generic_params")));
                let header = body.get("header").map(header_prefix).unwrap_or_default();
                let sig = body.get("sig").unwrap_or(&Value::Null);
                let inputs: Vec<String> =
                    list(sig.get("inputs")).iter().map(|input| self.ty_at_index(input, 1)).collect();
                let variadic =
                    if sig.get("is_c_variadic").and_then(Value::as_bool) == Some(true) { ", ..." } else { "" };
                format!("{hrtb}{header}fn({}{variadic}){}", inputs.join(", "), self.output(sig.get("output")))
            }
            "qualified_path" => {
                let self_type = self.ty_at(body, "self_type");
                let name = str_of(body, "name");
                let args = self.generic_args(body.get("args"));
                match body.get("trait").filter(|t| !t.is_null()) {
                    Some(trait_path) => format!("<{self_type} as {}>::{name}{args}", self.path(trait_path)),
                    None => format!("{self_type}::{name}{args}"),
                }
            }
            // A pattern type (`u32 is 1..`): unstable; show the underlying type.
            "pat" => self.ty_at(body, "type"),
            _ => UNKNOWN.into(),
        }
    }

    fn ty_at(&self, value: &Value, key: &str) -> String {
        value.get(key).map_or_else(|| UNKNOWN.into(), |ty| self.ty(ty))
    }

    /// `[name, type]` pairs of a signature's inputs.
    fn ty_at_index(&self, pair: &Value, index: usize) -> String {
        pair.get(index).map_or_else(|| UNKNOWN.into(), |ty| self.ty(ty))
    }

    fn tuple(&self, items: &[Value]) -> String {
        match items {
            [one] => format!("({},)", self.ty(one)),
            _ => format!("({})", items.iter().map(|t| self.ty(t)).collect::<Vec<_>>().join(", ")),
        }
    }

    /// A `Path` (`{path, id, args}`): the item's name plus its generic arguments.
    pub(crate) fn path(&self, path: &Value) -> String {
        format!("{}{}", self.path_name(path), self.generic_args(path.get("args")))
    }

    /// A `Path` without its generic arguments.
    pub(crate) fn path_name(&self, path: &Value) -> String {
        let written = path.get("path").or_else(|| path.get("name")).and_then(Value::as_str).unwrap_or("");
        self.names.path_of(path.get("id"), written)
    }

    /// `GenericArgs`: `<T, 'a, Item = U>` or `(A, B) -> C`; empty when absent.
    pub(crate) fn generic_args(&self, args: Option<&Value>) -> String {
        let Some(args) = args.filter(|a| !a.is_null()) else { return String::new() };
        if args.as_str() == Some("return_type_notation") {
            return "(..)".into();
        }
        let Some((kind, body)) = tagged(args) else { return format!("<{UNKNOWN}>") };
        match kind {
            "angle_bracketed" => {
                let mut parts: Vec<String> = list(body.get("args")).iter().map(|arg| self.generic_arg(arg)).collect();
                // `constraints` since format 33; `bindings` before.
                let constraints = body.get("constraints").or_else(|| body.get("bindings"));
                parts.extend(list(constraints).iter().map(|c| self.constraint(c)));
                if parts.is_empty() { String::new() } else { format!("<{}>", parts.join(", ")) }
            }
            "parenthesized" => {
                let inputs: Vec<String> = list(body.get("inputs")).iter().map(|t| self.ty(t)).collect();
                format!("({}){}", inputs.join(", "), self.output(body.get("output")))
            }
            _ => format!("<{UNKNOWN}>"),
        }
    }

    fn generic_arg(&self, arg: &Value) -> String {
        if arg.as_str() == Some("infer") {
            return "_".into();
        }
        match tagged(arg) {
            Some(("lifetime", lifetime)) => lifetime.as_str().unwrap_or(UNKNOWN).into(),
            Some(("type", ty)) => self.ty(ty),
            Some(("const", constant)) => const_text(constant),
            _ => UNKNOWN.into(),
        }
    }

    /// `Item = T` or `Item: Bound` inside angle brackets.
    fn constraint(&self, constraint: &Value) -> String {
        let name = str_of(constraint, "name");
        let args = self.generic_args(constraint.get("args"));
        match constraint.get("binding").and_then(tagged) {
            Some(("equality", term)) => format!("{name}{args} = {}", self.term(term)),
            Some(("constraint", bounds)) => format!("{name}{args}: {}", self.bounds(list(Some(bounds)))),
            _ => format!("{name}{args} {UNKNOWN}"),
        }
    }

    fn term(&self, term: &Value) -> String {
        match tagged(term) {
            Some(("type", ty)) => self.ty(ty),
            Some(("constant", constant)) => const_text(constant),
            _ => UNKNOWN.into(),
        }
    }

    /// `A + B + 'a`.
    pub(crate) fn bounds(&self, bounds: &[Value]) -> String {
        bounds.iter().map(|b| self.bound(b)).collect::<Vec<_>>().join(" + ")
    }

    fn bound(&self, bound: &Value) -> String {
        match tagged(bound) {
            Some(("trait_bound", body)) => {
                let hrtb = self.for_lifetimes(list(body.get("generic_params")));
                let modifier = match body.get("modifier").and_then(Value::as_str) {
                    Some("maybe") => "?",
                    Some("maybe_const") => "[const] ",
                    _ => "",
                };
                let path = body.get("trait").map_or_else(|| UNKNOWN.into(), |t| self.path(t));
                format!("{hrtb}{modifier}{path}")
            }
            Some(("outlives", lifetime)) => lifetime.as_str().unwrap_or(UNKNOWN).into(),
            Some(("use", captures)) => {
                let captures: Vec<String> = list(Some(captures))
                    .iter()
                    .map(|capture| match (capture.as_str(), tagged(capture)) {
                        (Some(name), _) => name.to_string(),
                        (None, Some((_, name))) => name.as_str().unwrap_or(UNKNOWN).to_string(),
                        (None, None) => UNKNOWN.to_string(),
                    })
                    .collect();
                format!("use<{}>", captures.join(", "))
            }
            _ => UNKNOWN.into(),
        }
    }

    /// `A` of a `dyn A + B`: a trait path with its own `for<'a>`.
    fn poly_trait(&self, poly: &Value) -> String {
        let hrtb = self.for_lifetimes(list(poly.get("generic_params")));
        let path = poly.get("trait").map_or_else(|| UNKNOWN.into(), |t| self.path(t));
        format!("{hrtb}{path}")
    }

    /// `for<'a, 'b> ` for higher-ranked bounds; empty when there are none.
    fn for_lifetimes(&self, params: &[Value]) -> String {
        let shown = self.params(params);
        if shown.is_empty() { String::new() } else { format!("for<{}> ", shown.join(", ")) }
    }

    /// `<'a, T: Bound = Default, const N: usize>` (synthetic `impl Trait` parameters left out);
    /// empty when there are none.
    pub(crate) fn generic_params(&self, generics: Option<&Value>) -> String {
        let shown = self.params(list(generics.and_then(|g| g.get("params"))));
        if shown.is_empty() { String::new() } else { format!("<{}>", shown.join(", ")) }
    }

    fn params(&self, params: &[Value]) -> Vec<String> {
        params.iter().filter_map(|param| self.param(param)).collect()
    }

    fn param(&self, param: &Value) -> Option<String> {
        let name = str_of(param, "name");
        match param.get("kind").and_then(tagged) {
            Some(("lifetime", body)) => {
                let outlives: Vec<&str> = list(body.get("outlives")).iter().filter_map(Value::as_str).collect();
                Some(if outlives.is_empty() { name.into() } else { format!("{name}: {}", outlives.join(" + ")) })
            }
            Some(("type", body)) => {
                if body.get("is_synthetic").and_then(Value::as_bool) == Some(true) {
                    return None;
                }
                let bounds = list(body.get("bounds"));
                let mut text = name.to_string();
                if !bounds.is_empty() {
                    text.push_str(&format!(": {}", self.bounds(bounds)));
                }
                if let Some(default) = body.get("default").filter(|d| !d.is_null()) {
                    text.push_str(&format!(" = {}", self.ty(default)));
                }
                Some(text)
            }
            Some(("const", body)) => {
                let mut text = format!("const {name}: {}", self.ty_at(body, "type"));
                if let Some(default) = body.get("default").and_then(Value::as_str) {
                    text.push_str(&format!(" = {default}"));
                }
                Some(text)
            }
            _ => Some(format!("{name}: {UNKNOWN}")),
        }
    }

    /// ` where A: B, 'a: 'b`; empty when there are no predicates.
    pub(crate) fn where_clause(&self, generics: Option<&Value>) -> String {
        let predicates: Vec<String> = list(generics.and_then(|g| g.get("where_predicates")))
            .iter()
            .map(|predicate| match tagged(predicate) {
                Some(("bound_predicate", body)) => format!(
                    "{}{}: {}",
                    self.for_lifetimes(list(body.get("generic_params"))),
                    self.ty_at(body, "type"),
                    self.bounds(list(body.get("bounds")))
                ),
                Some(("lifetime_predicate", body)) => {
                    let outlives: Vec<&str> = list(body.get("outlives")).iter().filter_map(Value::as_str).collect();
                    format!("{}: {}", str_of(body, "lifetime"), outlives.join(" + "))
                }
                Some(("eq_predicate", body)) => format!(
                    "{} = {}",
                    self.ty_at(body, "lhs"),
                    body.get("rhs").map_or_else(|| UNKNOWN.into(), |rhs| self.term(rhs))
                ),
                _ => UNKNOWN.into(),
            })
            .collect();
        if predicates.is_empty() { String::new() } else { format!(" where {}", predicates.join(", ")) }
    }

    /// ` -> T`, or nothing for `()` / no output.
    fn output(&self, output: Option<&Value>) -> String {
        match output.filter(|o| !o.is_null()) {
            Some(ty) if tagged(ty).is_some_and(|(k, b)| k == "tuple" && list(Some(b)).is_empty()) => String::new(),
            Some(ty) => format!(" -> {}", self.ty(ty)),
            None => String::new(),
        }
    }

    /// A `Function` item's body as `[const] [async] [unsafe] [extern "C"] fn {path}<G>(args) -> R where ..`.
    pub(crate) fn function(&self, path: &str, function: &Value) -> String {
        let header = function.get("header").map(header_prefix).unwrap_or_default();
        let generics = function.get("generics");
        // `sig` since format 41; `decl` before.
        let sig = function.get("sig").or_else(|| function.get("decl")).unwrap_or(&Value::Null);
        let mut inputs: Vec<String> = list(sig.get("inputs"))
            .iter()
            .map(|pair| {
                let name = pair.get(0).and_then(Value::as_str).unwrap_or(UNKNOWN);
                let ty = pair.get(1).unwrap_or(&Value::Null);
                if name == "self" { self.self_param(ty) } else { format!("{name}: {}", self.ty(ty)) }
            })
            .collect();
        if sig.get("is_c_variadic").and_then(Value::as_bool) == Some(true) {
            inputs.push("...".into());
        }
        format!(
            "{header}fn {path}{}({}){}{}",
            self.generic_params(generics),
            inputs.join(", "),
            self.output(sig.get("output")),
            self.where_clause(generics)
        )
    }

    /// `self`, `&self`, `&'a mut self`, or `self: Box<Self>`.
    fn self_param(&self, ty: &Value) -> String {
        let is_self = |t: &Value| t.get("generic").and_then(Value::as_str) == Some("Self");
        if is_self(ty) {
            return "self".into();
        }
        if let Some(reference) = ty.get("borrowed_ref").filter(|r| r.get("type").is_some_and(is_self)) {
            let lifetime =
                reference.get("lifetime").and_then(Value::as_str).map(|l| format!("{l} ")).unwrap_or_default();
            let mutable = if reference.get("is_mutable").and_then(Value::as_bool) == Some(true) { "mut " } else { "" };
            return format!("&{lifetime}{mutable}self");
        }
        format!("self: {}", self.ty(ty))
    }
}

/// `const async unsafe extern "C" ` of a function header (each only when set).
fn header_prefix(header: &Value) -> String {
    let mut text = String::new();
    for (flag, word) in [("is_const", "const "), ("is_async", "async "), ("is_unsafe", "unsafe ")] {
        if header.get(flag).and_then(Value::as_bool) == Some(true) {
            text.push_str(word);
        }
    }
    match header.get("abi") {
        None | Some(Value::Null) => {}
        Some(Value::String(abi)) if abi == "Rust" => {}
        Some(Value::String(abi)) => text.push_str(&format!("extern \"{abi}\" ")),
        Some(other) => match tagged(other) {
            Some((abi, _)) => text.push_str(&format!("extern \"{abi}\" ")),
            None => text.push_str(&format!("extern \"{UNKNOWN}\" ")),
        },
    }
    text
}

/// A `Constant` (`{expr, value, is_literal}`) used as a generic argument.
fn const_text(constant: &Value) -> String {
    constant.get("expr").and_then(Value::as_str).unwrap_or(UNKNOWN).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Names every item by what the source wrote, prefixed so that the tests see it was asked.
    struct Written;

    impl Names for Written {
        fn path_of(&self, id: Option<&Value>, written: &str) -> String {
            match id.and_then(id_key) {
                Some(id) if id == "1" => "std::vec::Vec".into(),
                _ => written.into(),
            }
        }
    }

    fn ty(value: &Value) -> String {
        TypeRenderer { names: &Written }.ty(value)
    }

    fn resolved(path: &str, id: u64, args: &[Value]) -> Value {
        let args = if args.is_empty() {
            Value::Null
        } else {
            json!({"angle_bracketed": {"args": args.iter().map(|a| json!({"type": a})).collect::<Vec<_>>(), "constraints": []}})
        };
        json!({"resolved_path": {"path": path, "id": id, "args": args}})
    }

    #[test]
    fn paths_refs_slices_tuples_and_arrays() {
        let string = resolved("String", 2, &[]);
        assert_eq!(ty(&resolved("Vec", 1, std::slice::from_ref(&string))), "std::vec::Vec<String>");
        let str_ref = json!({"borrowed_ref": {"lifetime": "'a", "is_mutable": false, "type": {"primitive": "str"}}});
        assert_eq!(ty(&str_ref), "&'a str");
        assert_eq!(ty(&json!({"slice": str_ref})), "[&'a str]");
        assert_eq!(
            ty(&json!({"borrowed_ref": {"lifetime": null, "is_mutable": true, "type": {"generic": "T"}}})),
            "&mut T"
        );
        assert_eq!(ty(&json!({"tuple": []})), "()");
        assert_eq!(ty(&json!({"tuple": [{"primitive": "u8"}]})), "(u8,)");
        assert_eq!(ty(&json!({"tuple": [{"primitive": "u8"}, string]})), "(u8, String)");
        assert_eq!(ty(&json!({"array": {"type": {"primitive": "u8"}, "len": "32"}})), "[u8; 32]");
        assert_eq!(ty(&json!({"raw_pointer": {"is_mutable": false, "type": {"primitive": "u8"}}})), "*const u8");
        assert_eq!(ty(&json!("infer")), "_");
    }

    #[test]
    fn dyn_impl_and_fn_pointers() {
        let error = json!({"trait": {"path": "Error", "id": 9, "args": null}, "generic_params": []});
        let send = json!({"trait": {"path": "Send", "id": 10, "args": null}, "generic_params": []});
        let boxed = json!({"resolved_path": {"path": "Box", "id": 3, "args": {"angle_bracketed": {
            "args": [{"type": {"dyn_trait": {"traits": [error, send], "lifetime": "'static"}}}], "constraints": []}}}});
        assert_eq!(ty(&boxed), "Box<dyn Error + Send + 'static>");

        let iterator = json!({"impl_trait": [{"trait_bound": {"trait": {"path": "Iterator", "id": 4, "args": {
            "angle_bracketed": {"args": [], "constraints": [{"name": "Item", "args": null,
                "binding": {"equality": {"type": {"generic": "T"}}}}]}}}, "generic_params": [], "modifier": "none"}}]});
        assert_eq!(ty(&iterator), "impl Iterator<Item = T>");

        let pointer = json!({"function_pointer": {"sig": {"inputs": [["_", {"primitive": "u8"}], ["_", {"generic": "T"}]],
            "output": {"primitive": "bool"}, "is_c_variadic": false}, "generic_params": [],
            "header": {"is_const": false, "is_unsafe": false, "is_async": false, "abi": "Rust"}}});
        assert_eq!(ty(&pointer), "fn(u8, T) -> bool");

        let closure = json!({"trait_bound": {"trait": {"path": "Fn", "id": 5, "args": {"parenthesized": {
            "inputs": [{"primitive": "u8"}], "output": null}}}, "generic_params": [
                {"name": "'a", "kind": {"lifetime": {"outlives": []}}}], "modifier": "none"}});
        assert_eq!(
            TypeRenderer { names: &Written }.bounds(&[closure, json!({"outlives": "'b"})]),
            "for<'a> Fn(u8) + 'b"
        );
    }

    #[test]
    fn qualified_paths_and_unknown_forms() {
        let assoc = json!({"qualified_path": {"name": "Err", "args": null, "self_type": {"generic": "T"},
            "trait": {"path": "FromStr", "id": 6, "args": null}}});
        assert_eq!(ty(&assoc), "<T as FromStr>::Err");
        let bare =
            json!({"qualified_path": {"name": "Item", "args": null, "self_type": {"generic": "Self"}, "trait": null}});
        assert_eq!(ty(&bare), "Self::Item");
        assert_eq!(ty(&json!({"something_new": {"x": 1}})), "?");
        assert_eq!(ty(&json!(42)), "?");
        assert_eq!(ty(&resolved("Vec", 1, &[json!({"brand_new_type": 1})])), "std::vec::Vec<?>");
    }

    #[test]
    fn function_signatures_with_generics_and_receivers() {
        let function = json!({
            "sig": {
                "inputs": [
                    ["self", {"borrowed_ref": {"lifetime": null, "is_mutable": true, "type": {"generic": "Self"}}}],
                    ["items", {"generic": "I"}],
                    ["limit", {"resolved_path": {"path": "Option", "id": 7, "args": {"angle_bracketed": {
                        "args": [{"type": {"primitive": "usize"}}], "constraints": []}}}}]
                ],
                "output": {"resolved_path": {"path": "Result", "id": 8, "args": {"angle_bracketed": {
                    "args": [{"type": {"tuple": []}}, {"type": {"generic": "E"}}], "constraints": []}}}},
                "is_c_variadic": false
            },
            "generics": {
                "params": [
                    {"name": "'a", "kind": {"lifetime": {"outlives": []}}},
                    {"name": "I", "kind": {"type": {"bounds": [{"trait_bound": {"trait": {"path": "IntoIterator", "id": 11, "args": null},
                        "generic_params": [], "modifier": "none"}}], "default": null, "is_synthetic": false}}},
                    {"name": "impl Sized", "kind": {"type": {"bounds": [], "default": null, "is_synthetic": true}}},
                    {"name": "N", "kind": {"const": {"type": {"primitive": "usize"}, "default": null}}}
                ],
                "where_predicates": [{"bound_predicate": {"type": {"generic": "E"}, "bounds": [
                    {"trait_bound": {"trait": {"path": "Sized", "id": 12, "args": null}, "generic_params": [], "modifier": "maybe"}}
                ], "generic_params": []}}]
            },
            "header": {"is_const": true, "is_unsafe": false, "is_async": false, "abi": "Rust"},
            "has_body": true
        });
        assert_eq!(
            TypeRenderer { names: &Written }.function("krate::Thing::push", &function),
            "const fn krate::Thing::push<'a, I: IntoIterator, const N: usize>(&mut self, items: I, limit: Option<usize>) \
             -> Result<(), E> where E: ?Sized"
        );
        let unit = json!({"sig": {"inputs": [["self", {"generic": "Self"}]], "output": null, "is_c_variadic": false},
            "generics": {"params": [], "where_predicates": []},
            "header": {"is_const": false, "is_unsafe": true, "is_async": true, "abi": {"C": {"unwind": false}}}});
        assert_eq!(TypeRenderer { names: &Written }.function("f", &unit), "async unsafe extern \"C\" fn f(self)");
    }
}
