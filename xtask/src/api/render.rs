//! rustdoc JSON of the workspace's library crates → one sorted snapshot line per public item.
//!
//! Two passes over all crates at once: [`Crate::places`] walks each crate from its root module
//! and records every public path of every item (following `pub use` of the crate's own items,
//! also from private modules and globs); then [`render`] names each item by its shortest public
//! path and writes its lines. Types from another workspace crate are named by *that* crate's
//! public path (`opsrun_event::Event`, not the private `opsrun_event::event::Event` rustdoc
//! records), which is why the crates are rendered together.
//!
//! The line format (see `ARCHITECTURE.md`): a kind word, the full path, then the shape:
//!
//! ```text
//! mod opsrun_spec::template
//! use opsrun::engine = opsrun_engine
//! #[non_exhaustive] enum opsrun_change::ClassifyError
//! variant opsrun_event::Event::TaskStarted { task: String }
//! struct opsrun_plan::PlanOptions
//! field opsrun_plan::PlanOptions::only: Option<String>
//! fn opsrun_spec::load(path: &std::path::Path) -> Result<opsrun_spec::Spec, opsrun_spec::SpecError>
//! const opsrun_engine::MASK: &str
//! type opsrun_spec::FileId = usize
//! trait opsrun_event::EventSink: Send + Sync
//! impl Clone for opsrun_event::Event
//! ```
//!
//! Lines are sorted by the path they are about (an impl by its self type), so a type, its
//! impls, fields and methods stay together. Auto-trait and blanket impls are left out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::types::{Names, TypeRenderer, UNKNOWN, id_key, tagged};

/// The rustdoc JSON `format_version` this renderer was written against (Rust 1.95).
pub(crate) const FORMAT_VERSION: u64 = 57;

/// Trait impls that are always generated together with another one and add nothing to read:
/// `#[derive(PartialEq)]` also implements the unstable `StructuralPartialEq` marker.
const NOISE_TRAITS: &[&str] = &["std::marker::StructuralPartialEq"];

/// Standard-library items whose canonical path (where rustdoc says they are defined) is not
/// the path people write; everything else from `core`/`alloc` is shown under `std::`.
const STD_PATHS: &[(&str, &str)] = &[
    ("std::collections::hash::map::HashMap", "std::collections::HashMap"),
    ("std::collections::hash::set::HashSet", "std::collections::HashSet"),
    ("std::collections::btree::map::BTreeMap", "std::collections::BTreeMap"),
    ("std::collections::btree::set::BTreeSet", "std::collections::BTreeSet"),
    ("std::collections::vec_deque::VecDeque", "std::collections::VecDeque"),
    ("std::io::error::Error", "std::io::Error"),
    ("std::io::error::ErrorKind", "std::io::ErrorKind"),
    ("std::io::error::Result", "std::io::Result"),
    ("std::sync::poison::mutex::Mutex", "std::sync::Mutex"),
    ("std::sync::poison::rwlock::RwLock", "std::sync::RwLock"),
    ("std::str::traits::FromStr", "std::str::FromStr"),
    ("std::ops::range::Range", "std::ops::Range"),
    ("std::iter::traits::iterator::Iterator", "Iterator"),
    ("std::iter::traits::collect::IntoIterator", "IntoIterator"),
    ("std::iter::traits::collect::FromIterator", "FromIterator"),
    ("std::iter::traits::collect::Extend", "Extend"),
    ("std::iter::traits::double_ended::DoubleEndedIterator", "DoubleEndedIterator"),
    ("std::iter::traits::exact_size::ExactSizeIterator", "ExactSizeIterator"),
    ("std::ops::drop::Drop", "Drop"),
    ("std::ops::function::Fn", "Fn"),
    ("std::ops::function::FnMut", "FnMut"),
    ("std::ops::function::FnOnce", "FnOnce"),
];

/// Prelude items, shown by their bare name (`Option<String>`, `impl Clone for ..`).
const PRELUDE: &[&str] = &[
    "std::boxed::Box",
    "std::string::String",
    "std::string::ToString",
    "std::vec::Vec",
    "std::borrow::ToOwned",
    "std::option::Option",
    "std::result::Result",
    "std::clone::Clone",
    "std::marker::Copy",
    "std::marker::Send",
    "std::marker::Sized",
    "std::marker::Sync",
    "std::marker::Unpin",
    "std::cmp::PartialEq",
    "std::cmp::PartialOrd",
    "std::cmp::Eq",
    "std::cmp::Ord",
    "std::convert::AsRef",
    "std::convert::AsMut",
    "std::convert::From",
    "std::convert::Into",
    "std::convert::TryFrom",
    "std::convert::TryInto",
    "std::default::Default",
];

/// One crate's rustdoc JSON, checked to have the shape this renderer reads.
pub(crate) struct Crate<'a> {
    index: &'a Map<String, Value>,
    paths: &'a Map<String, Value>,
    root: String,
    name: String,
}

impl<'a> Crate<'a> {
    /// Checks the format version and the top-level shape.
    pub(crate) fn open(json: &'a Value) -> Result<Self, String> {
        let version = json.get("format_version").and_then(Value::as_u64).ok_or("no `format_version` number")?;
        if version != FORMAT_VERSION {
            return Err(format!(
                "rustdoc JSON format_version is {version}, but xtask/src/api/render.rs reads version {FORMAT_VERSION} \
                 (the stable toolchain it was written for). Check the renderer against the rustdoc-types changelog, \
                 update FORMAT_VERSION and regenerate api/, or run with the toolchain the project pins"
            ));
        }
        let index = json.get("index").and_then(Value::as_object).ok_or("no `index` object")?;
        let paths = json.get("paths").and_then(Value::as_object).ok_or("no `paths` object")?;
        let root = json.get("root").and_then(id_key).ok_or("no `root` id")?;
        let root_item = index.get(&root).ok_or("the `root` id is not in `index`")?;
        if kind_of(root_item).map(|(kind, _)| kind) != Some("module") {
            return Err("the root item is not a module".into());
        }
        let name = root_item.get("name").and_then(Value::as_str).ok_or("the root module has no name")?.to_string();
        Ok(Self { index, paths, root, name })
    }

    /// A local item by id (rustdoc leaves stripped and foreign items out of `index`).
    fn item(&self, id: &Value) -> Option<&'a Value> {
        let item = self.index.get(&id_key(id)?)?;
        (item.get("crate_id").and_then(Value::as_u64) == Some(0)).then_some(item)
    }

    /// Where rustdoc says the item `id` is defined, joined with `::` (`paths` table).
    fn defined_at(&self, id: &str) -> Option<String> {
        let segments = self.paths.get(id)?.get("path")?.as_array()?;
        let segments: Option<Vec<&str>> = segments.iter().map(Value::as_str).collect();
        Some(segments?.join("::"))
    }

    /// Every public path of every item reachable from the crate root.
    pub(crate) fn places(&self) -> Places {
        let mut places = Places::default();
        places.record(&self.root, self.name.clone());
        if let Some(root) = self.index.get(&self.root) {
            let mut stack = vec![self.root.clone()];
            self.walk_module(root, &self.name, &mut places, &mut stack);
        }
        places
    }

    fn walk_module(&self, module: &Value, path: &str, places: &mut Places, stack: &mut Vec<String>) {
        let items = module.get("inner").and_then(|i| i.get("module")).and_then(|m| m.get("items"));
        for id in items.and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
            let Some(item) = self.item(id) else { continue };
            if item.get("visibility").and_then(Value::as_str) != Some("public") {
                continue;
            }
            let name = item.get("name").and_then(Value::as_str).unwrap_or(UNKNOWN);
            self.visit(item, path, name, places, stack);
        }
    }

    /// Records `item`, seen as `parent::name`, and walks into it if it is a module or a re-export.
    fn visit(&self, item: &Value, parent: &str, name: &str, places: &mut Places, stack: &mut Vec<String>) {
        let Some((kind, body)) = kind_of(item) else { return };
        let Some(id) = item.get("id").and_then(id_key) else { return };
        match kind {
            "use" => {
                let target_id = body.get("id").filter(|t| !t.is_null());
                let glob = body.get("is_glob").and_then(Value::as_bool) == Some(true);
                let own_name = body.get("name").and_then(Value::as_str).unwrap_or(name);
                match target_id.and_then(|t| self.item(t)) {
                    Some(target) if glob && kind_of(target).is_some_and(|(k, _)| k == "module") => {
                        let target_key = target.get("id").and_then(id_key).unwrap_or_default();
                        if !stack.contains(&target_key) {
                            stack.push(target_key);
                            self.walk_module(target, parent, places, stack);
                            stack.pop();
                        }
                    }
                    Some(target) if !glob => self.visit(target, parent, own_name, places, stack),
                    _ => places.foreign.push(Foreign {
                        path: format!("{parent}::{}", if glob { "*" } else { own_name }),
                        target: target_id.cloned(),
                        source: body.get("source").and_then(Value::as_str).unwrap_or(UNKNOWN).to_string(),
                        glob,
                    }),
                }
            }
            "module" => {
                let path = format!("{parent}::{name}");
                places.record(&id, path.clone());
                if !stack.contains(&id) {
                    stack.push(id);
                    self.walk_module(item, &path, places, stack);
                    stack.pop();
                }
            }
            // Reached through their type or trait, never by path.
            "impl" | "primitive" => {}
            _ => places.record(&id, format!("{parent}::{name}")),
        }
    }
}

/// What the walk found in one crate.
#[derive(Default)]
pub(crate) struct Places {
    /// Every public path of each local item, by id; the first (fewest segments, then
    /// alphabetical) is the one the item is shown at.
    paths: BTreeMap<String, BTreeSet<(usize, String)>>,
    /// `pub use` of items of other crates, shown as re-export lines rather than expanded.
    foreign: Vec<Foreign>,
}

impl Places {
    fn record(&mut self, id: &str, path: String) {
        self.paths.entry(id.to_string()).or_default().insert((path.matches("::").count(), path));
    }

    fn preferred(&self, id: &str) -> Option<&str> {
        self.paths.get(id)?.first().map(|(_, path)| path.as_str())
    }
}

struct Foreign {
    path: String,
    target: Option<Value>,
    source: String,
    glob: bool,
}

/// How items are named: local items by their shortest public path, items of other workspace
/// crates by theirs, standard-library items by the path people write.
struct Naming<'a> {
    krate: &'a Crate<'a>,
    places: &'a Places,
    /// Defining path (as in rustdoc's `paths`) → public path, for every workspace crate.
    workspace: &'a HashMap<String, String>,
}

impl Names for Naming<'_> {
    fn path_of(&self, id: Option<&Value>, written: &str) -> String {
        if let Some(id) = id.and_then(id_key) {
            if let Some(path) = self.places.preferred(&id) {
                return path.to_string();
            }
            if let Some(defined) = self.krate.defined_at(&id) {
                return self.workspace.get(&defined).cloned().unwrap_or_else(|| external_path(&defined));
            }
        }
        // Not in `paths` (rare): what the source wrote, which rustdoc sometimes leaves empty.
        let written = written.trim_start_matches("::");
        if written.is_empty() { UNKNOWN.into() } else { written.into() }
    }
}

/// A path outside the workspace: `core::`/`alloc::` shown as `std::`, prelude items bare.
fn external_path(defined: &str) -> String {
    let std_path = match defined.split_once("::") {
        Some(("core" | "alloc", rest)) => format!("std::{rest}"),
        _ => defined.to_string(),
    };
    if let Some((_, shown)) = STD_PATHS.iter().find(|(canonical, _)| *canonical == std_path) {
        return (*shown).to_string();
    }
    if PRELUDE.contains(&std_path.as_str()) {
        return std_path.rsplit("::").next().unwrap_or(&std_path).to_string();
    }
    std_path
}

/// Renders every crate's snapshot text, in input order. All crates of the workspace are passed together so that each can name the others' items by
/// their public paths.
pub(crate) fn render(crates: &[Crate<'_>]) -> Vec<String> {
    let places: Vec<Places> = crates.iter().map(Crate::places).collect();
    let mut workspace = HashMap::new();
    for (krate, places) in crates.iter().zip(&places) {
        for id in places.paths.keys() {
            if let (Some(defined), Some(public)) = (krate.defined_at(id), places.preferred(id)) {
                workspace.insert(defined, public.to_string());
            }
        }
    }
    crates
        .iter()
        .zip(&places)
        .map(|(krate, places)| {
            let naming = Naming { krate, places, workspace: &workspace };
            let mut lines =
                Lines { krate, types: TypeRenderer { names: &naming }, out: BTreeSet::new(), impls: BTreeSet::new() };
            lines.crate_lines(places);
            lines.out.into_iter().map(|(_, _, line)| line + "\n").collect()
        })
        .collect()
}

/// The lines of one crate, keyed by the path they are about.
struct Lines<'a> {
    krate: &'a Crate<'a>,
    types: TypeRenderer<'a>,
    /// `(path, 0 for the item itself and its members or 1 for an impl, line)`.
    out: BTreeSet<(String, u8, String)>,
    /// Impl blocks of the public types and traits, rendered after the items.
    impls: BTreeSet<String>,
}

impl Lines<'_> {
    fn push(&mut self, key: &str, line: String) {
        self.out.insert((key.to_string(), 0, line));
    }

    fn crate_lines(&mut self, places: &Places) {
        for (id, paths) in &places.paths {
            let Some((_, preferred)) = paths.first() else { continue };
            for (_, other) in paths.iter().skip(1) {
                self.push(other, format!("use {other} = {preferred}"));
            }
            if *id == self.krate.root {
                continue;
            }
            if let Some(item) = self.krate.index.get(id) {
                self.item_lines(item, preferred);
            }
        }
        for foreign in &places.foreign {
            let mut target = self.types.names.path_of(foreign.target.as_ref(), &foreign.source);
            if foreign.glob {
                target.push_str("::*");
            }
            self.push(&foreign.path, format!("use {} = {target}", foreign.path));
        }
        for id in std::mem::take(&mut self.impls) {
            if let Some(item) = self.krate.index.get(&id) {
                self.impl_lines(item);
            }
        }
    }

    fn item_lines(&mut self, item: &Value, path: &str) {
        let Some((kind, body)) = kind_of(item) else { return };
        let marks = marks(item);
        let generics = body.get("generics");
        let (params, where_clause) = (self.types.generic_params(generics), self.types.where_clause(generics));
        match kind {
            "module" => self.push(path, format!("{marks}mod {path}")),
            "struct" | "union" => {
                let shape = self.struct_shape(body);
                self.push(path, format!("{marks}{kind} {path}{params}{shape}{where_clause}"));
                let fields = body.get("kind").and_then(|k| k.get("plain")).and_then(|p| p.get("fields"));
                self.field_lines(path, fields.or_else(|| body.get("fields")));
                self.collect_impls(body.get("impls"));
            }
            "enum" => {
                let hidden = if flag(body, "has_stripped_variants") { " { /* hidden variants */ }" } else { "" };
                self.push(path, format!("{marks}enum {path}{params}{hidden}{where_clause}"));
                for variant_id in array(body.get("variants")) {
                    if let Some(variant) = self.krate.item(variant_id) {
                        let name = variant.get("name").and_then(Value::as_str).unwrap_or(UNKNOWN);
                        self.variant_line(variant, &format!("{path}::{name}"));
                    }
                }
                self.collect_impls(body.get("impls"));
            }
            "variant" => self.variant_line(item, path),
            "function" => self.push(path, format!("{marks}{}", self.types.function(path, body))),
            "constant" => {
                self.push(path, format!("{marks}const {path}: {}", self.type_at(body, "type")));
            }
            "static" => {
                let mutable = if flag(body, "is_mutable") { "mut " } else { "" };
                self.push(path, format!("{marks}static {mutable}{path}: {}", self.type_at(body, "type")));
            }
            "type_alias" => {
                self.push(path, format!("{marks}type {path}{params} = {}{where_clause}", self.type_at(body, "type")));
            }
            "trait" => self.trait_lines(item, body, path),
            "trait_alias" => {
                let bounds = self.types.bounds(array(body.get("params")));
                self.push(path, format!("{marks}trait {path}{params} = {bounds}{where_clause}"));
            }
            "macro" => self.push(path, format!("{marks}macro {path}!")),
            "proc_macro" => {
                let shown = match body.get("kind").and_then(Value::as_str) {
                    Some("attr") => format!("#[{path}]"),
                    Some("derive") => format!("derive({path})"),
                    _ => format!("{path}!"),
                };
                self.push(path, format!("{marks}proc_macro {shown}"));
            }
            "extern_type" => self.push(path, format!("{marks}extern type {path}")),
            "extern_crate" => {
                let name = body.get("name").and_then(Value::as_str).unwrap_or(UNKNOWN);
                self.push(path, format!("{marks}use {path} = {name}"));
            }
            other => self.push(path, format!("{marks}{UNKNOWN}{other} {path}")),
        }
    }

    fn type_at(&self, value: &Value, key: &str) -> String {
        value.get(key).map_or_else(|| UNKNOWN.into(), |ty| self.types.ty(ty))
    }

    /// `;` for a unit struct, `(T, _)` for a tuple struct (`_`: a private field), and a note
    /// when a braced struct has private fields (it cannot be built or matched outside).
    fn struct_shape(&self, body: &Value) -> String {
        match body.get("kind").and_then(tagged) {
            Some(("unit", _)) => ";".into(),
            Some(("tuple", fields)) => format!("({})", self.tuple_fields(array(Some(fields))).join(", ")),
            Some(("plain", plain)) if flag(plain, "has_stripped_fields") => " { /* private fields */ }".into(),
            // A union: `has_stripped_fields` on the body itself.
            None if flag(body, "has_stripped_fields") => " { /* private fields */ }".into(),
            _ => String::new(),
        }
    }

    /// Types of tuple fields; `_` for one rustdoc stripped (private).
    fn tuple_fields(&self, ids: &[Value]) -> Vec<String> {
        ids.iter()
            .map(|id| {
                self.krate
                    .item(id)
                    .and_then(|field| field.get("inner")?.get("struct_field"))
                    .map_or_else(|| "_".to_string(), |ty| self.types.ty(ty))
            })
            .collect()
    }

    fn field_lines(&mut self, path: &str, fields: Option<&Value>) {
        for field_id in array(fields) {
            let Some(field) = self.krate.item(field_id) else { continue };
            if field.get("visibility").and_then(Value::as_str) != Some("public") {
                continue;
            }
            let name = field.get("name").and_then(Value::as_str).unwrap_or(UNKNOWN);
            let ty = field.get("inner").and_then(|i| i.get("struct_field"));
            let ty = ty.map_or_else(|| UNKNOWN.into(), |ty| self.types.ty(ty));
            let field_path = format!("{path}::{name}");
            self.push(&field_path, format!("{}field {field_path}: {ty}", marks(field)));
        }
    }

    fn variant_line(&mut self, variant: &Value, path: &str) {
        let Some(("variant", body)) = kind_of(variant) else { return };
        let shape = match body.get("kind") {
            Some(Value::String(plain)) if plain == "plain" => String::new(),
            Some(kind) => match tagged(kind) {
                Some(("tuple", fields)) => format!("({})", self.tuple_fields(array(Some(fields))).join(", ")),
                Some(("struct", fields)) => {
                    let mut shown: Vec<String> = array(fields.get("fields"))
                        .iter()
                        .filter_map(|id| self.krate.item(id))
                        .map(|field| {
                            let name = field.get("name").and_then(Value::as_str).unwrap_or(UNKNOWN);
                            let ty = field.get("inner").and_then(|i| i.get("struct_field"));
                            format!("{name}: {}", ty.map_or_else(|| UNKNOWN.into(), |ty| self.types.ty(ty)))
                        })
                        .collect();
                    if flag(fields, "has_stripped_fields") {
                        shown.push("..".into());
                    }
                    format!(" {{ {} }}", shown.join(", "))
                }
                _ => format!(" {UNKNOWN}"),
            },
            None => format!(" {UNKNOWN}"),
        };
        let discriminant = body
            .get("discriminant")
            .and_then(|d| d.get("expr"))
            .and_then(Value::as_str)
            .map(|expr| format!(" = {expr}"))
            .unwrap_or_default();
        self.push(path, format!("{}variant {path}{shape}{discriminant}", marks(variant)));
    }

    fn trait_lines(&mut self, item: &Value, body: &Value, path: &str) {
        let generics = body.get("generics");
        let bounds = array(body.get("bounds"));
        let supertraits = if bounds.is_empty() { String::new() } else { format!(": {}", self.types.bounds(bounds)) };
        let unsafety = if flag(body, "is_unsafe") { "unsafe " } else { "" };
        let auto = if flag(body, "is_auto") { "auto " } else { "" };
        self.push(
            path,
            format!(
                "{}{unsafety}{auto}trait {path}{}{supertraits}{}",
                marks(item),
                self.types.generic_params(generics),
                self.types.where_clause(generics)
            ),
        );
        for member_id in array(body.get("items")) {
            let Some(member) = self.krate.item(member_id) else { continue };
            let name = member.get("name").and_then(Value::as_str).unwrap_or(UNKNOWN);
            let member_path = format!("{path}::{name}");
            let line = self.assoc_line(member, &member_path, true);
            self.push(&member_path, line);
        }
        self.collect_impls(body.get("implementations"));
    }

    /// A function, constant or type inside a trait or an impl block. In a trait, a default
    /// (`provided`) is part of the API: removing it breaks implementors.
    fn assoc_line(&self, member: &Value, path: &str, in_trait: bool) -> String {
        let marks = marks(member);
        let Some((kind, body)) = kind_of(member) else { return format!("{marks}{UNKNOWN} {path}") };
        match kind {
            "function" => {
                let provided = if in_trait && flag(body, "has_body") { " (provided)" } else { "" };
                format!("{marks}{}{provided}", self.types.function(path, body))
            }
            "assoc_const" => {
                // `value` until format 36 renamed it `default`.
                let default = body.get("value").or_else(|| body.get("default")).filter(|d| !d.is_null());
                let provided = if in_trait && default.is_some() { " (provided)" } else { "" };
                format!("{marks}const {path}: {}{provided}", self.type_at(body, "type"))
            }
            "assoc_type" => {
                let generics = body.get("generics");
                let bounds = array(body.get("bounds"));
                let bounds = if bounds.is_empty() { String::new() } else { format!(": {}", self.types.bounds(bounds)) };
                let value = body
                    .get("type")
                    .filter(|t| !t.is_null())
                    .map(|ty| format!(" = {}", self.types.ty(ty)))
                    .unwrap_or_default();
                format!(
                    "{marks}type {path}{}{bounds}{value}{}",
                    self.types.generic_params(generics),
                    self.types.where_clause(generics)
                )
            }
            other => format!("{marks}{UNKNOWN}{other} {path}"),
        }
    }

    fn collect_impls(&mut self, ids: Option<&Value>) {
        self.impls.extend(array(ids).iter().filter_map(id_key));
    }

    /// `impl Trait for Type` (with its associated types), or the public items of an inherent
    /// impl. Auto-trait impls (`is_synthetic`) and blanket impls are left out.
    fn impl_lines(&mut self, item: &Value) {
        let Some(("impl", body)) = kind_of(item) else { return };
        if flag(body, "is_synthetic") || body.get("blanket_impl").is_some_and(|b| !b.is_null()) {
            return;
        }
        let Some(for_type) = body.get("for") else { return };
        let self_type = self.types.ty(for_type);
        let trait_path = body.get("trait").filter(|t| !t.is_null());
        // Sorted with the crate's own type (by its path without generic arguments); an impl of the
        // crate's trait for a foreign or generic type is sorted with the trait instead.
        let local_self =
            for_type.get("resolved_path").filter(|p| p.get("id").and_then(|id| self.krate.item(id)).is_some());
        let key = match (local_self, trait_path) {
            (Some(path), _) => self.types.path_name(path),
            (None, Some(trait_path)) => self.types.path_name(trait_path),
            (None, None) => self_type.clone(),
        };
        let generics = body.get("generics");
        let (params, where_clause) = (self.types.generic_params(generics), self.types.where_clause(generics));
        let members: Vec<&Value> = array(body.get("items")).iter().filter_map(|id| self.krate.item(id)).collect();

        if let Some(trait_path) = trait_path {
            if NOISE_TRAITS.contains(&self.types.path_name(trait_path).as_str()) {
                return;
            }
            let unsafety = if flag(body, "is_unsafe") { "unsafe " } else { "" };
            let negative = if flag(body, "is_negative") { "!" } else { "" };
            let assoc_types: Vec<String> = members
                .iter()
                .filter_map(|member| match kind_of(member) {
                    Some(("assoc_type", assoc)) => Some(format!(
                        "type {} = {}",
                        member.get("name").and_then(Value::as_str).unwrap_or(UNKNOWN),
                        self.type_at(assoc, "type")
                    )),
                    _ => None,
                })
                .collect();
            let assoc_types =
                if assoc_types.is_empty() { String::new() } else { format!(" {{ {} }}", assoc_types.join("; ")) };
            let trait_text = self.types.path(trait_path);
            self.out.insert((
                key,
                1,
                format!("{unsafety}impl{params} {negative}{trait_text} for {self_type}{where_clause}{assoc_types}"),
            ));
            return;
        }

        // Inherent impl: one line per public item, at `Type::item`. When the impl is generic or
        // for one instantiation (`impl Foo<String>`), the line says which; `impl<'a> Foo<'a>`
        // is the plain case and says nothing.
        let context = if where_clause.is_empty() && (self_type == key || only_own_lifetimes(generics, for_type)) {
            String::new()
        } else {
            format!(" [impl{params} {self_type}{where_clause}]")
        };
        for member in members {
            if member.get("visibility").and_then(Value::as_str) != Some("public") {
                continue;
            }
            let name = member.get("name").and_then(Value::as_str).unwrap_or(UNKNOWN);
            let path = format!("{key}::{name}");
            let line = self.assoc_line(member, &path, false);
            self.push(&path, format!("{line}{context}"));
        }
    }
}

/// Whether an impl is `impl<'a, 'b> Type<'a, 'b>`: unbounded lifetime parameters only, each
/// passed straight to the self type, and no other arguments.
fn only_own_lifetimes(generics: Option<&Value>, for_type: &Value) -> bool {
    let params = array(generics.and_then(|g| g.get("params")));
    let mut own = Vec::new();
    for param in params {
        match param.get("kind").and_then(tagged) {
            Some(("lifetime", body)) if array(body.get("outlives")).is_empty() => {
                own.push(param.get("name").and_then(Value::as_str).unwrap_or(UNKNOWN));
            }
            _ => return false,
        }
    }
    let args = for_type.get("resolved_path").and_then(|p| p.get("args")).and_then(|a| a.get("angle_bracketed"));
    let Some(args) = args else { return false };
    array(args.get("constraints")).is_empty()
        && array(args.get("args")).iter().all(|arg| match tagged(arg) {
            Some(("lifetime", lifetime)) => lifetime.as_str().is_some_and(|l| own.contains(&l)),
            _ => false,
        })
}

/// `#[non_exhaustive] ` and `#[deprecated] ` markers of an item, in that order.
fn marks(item: &Value) -> String {
    let mut marks = String::new();
    // Format 54 and later: `"non_exhaustive"` (or `{"non_exhaustive": ..}`); before: the
    // attribute's source text.
    let non_exhaustive = array(item.get("attrs")).iter().any(|attr| match attr {
        Value::String(text) => text == "non_exhaustive" || text.contains("#[non_exhaustive]"),
        other => tagged(other).is_some_and(|(kind, _)| kind == "non_exhaustive"),
    });
    if non_exhaustive {
        marks.push_str("#[non_exhaustive] ");
    }
    if item.get("deprecation").is_some_and(|d| !d.is_null()) {
        marks.push_str("#[deprecated] ");
    }
    marks
}

/// `("struct", body)` of an item's `inner`.
fn kind_of(item: &Value) -> Option<(&str, &Value)> {
    tagged(item.get("inner")?)
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool) == Some(true)
}

fn array(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A small crate as rustdoc 1.95 writes it: a private module re-exported by name and by
    /// glob, a public module, a struct with a private field, an enum, a trait with a provided
    /// method, a function, a constant and a type alias, derived, auto-trait and blanket impls,
    /// and a re-export of another crate.
    #[expect(clippy::too_many_lines, reason = "a hand-written rustdoc JSON fixture, one item per line")]
    fn demo_crate() -> Value {
        let unit_ty = |name: &str, id: u64| json!({"resolved_path": {"path": name, "id": id, "args": null}});
        let no_generics = json!({"params": [], "where_predicates": []});
        let header = json!({"is_const": false, "is_unsafe": false, "is_async": false, "abi": "Rust"});
        let item = |id: u64, name: Option<&str>, visibility: &str, inner: Value| {
            json!({"id": id, "crate_id": 0, "name": name, "visibility": visibility, "attrs": [],
                   "deprecation": null, "inner": inner})
        };
        let mut index = serde_json::Map::new();
        let mut add = |value: Value| {
            index.insert(value["id"].to_string(), value);
        };
        add(item(
            0,
            Some("demo"),
            "public",
            json!({"module": {"is_crate": true, "items": [1, 2, 3, 4, 5, 30], "is_stripped": false}}),
        ));
        // `pub use model::Config;` with `mod model` private; `pub use errors::*;`
        add(item(
            1,
            None,
            "public",
            json!({"use": {"source": "model::Config", "name": "Config", "id": 10, "is_glob": false}}),
        ));
        add(item(2, None, "public", json!({"use": {"source": "errors", "name": "errors", "id": 6, "is_glob": true}})));
        add(item(
            3,
            Some("util"),
            "public",
            json!({"module": {"is_crate": false, "items": [40, 41, 42], "is_stripped": false}}),
        ));
        add(item(
            4,
            None,
            "public",
            json!({"use": {"source": "other_crate", "name": "other", "id": 900, "is_glob": false}}),
        ));
        // The same struct, public at a second (longer) path.
        add(item(
            5,
            None,
            "public",
            json!({"use": {"source": "model::Config", "name": "Settings", "id": 10, "is_glob": false}}),
        ));
        add(item(
            6,
            Some("errors"),
            "crate",
            json!({"module": {"is_crate": false, "items": [20, 60], "is_stripped": true}}),
        ));
        add(item(
            60,
            Some("hidden"),
            "crate",
            json!({"function": {"sig": {"inputs": [], "output": null, "is_c_variadic": false},
            "generics": no_generics, "header": header, "has_body": true}}),
        ));

        // struct Config { pub name: String, secret: u8 } with derived Clone, auto Send, blanket From, inherent new().
        add(item(
            10,
            Some("Config"),
            "public",
            json!({"struct": {"kind": {"plain": {"fields": [11], "has_stripped_fields": true}},
            "generics": no_generics, "impls": [12, 13, 14, 15]}}),
        ));
        add(item(11, Some("name"), "public", json!({"struct_field": unit_ty("String", 800)})));
        add(item(
            12,
            None,
            "default",
            json!({"impl": {"is_unsafe": false, "generics": no_generics, "provided_trait_methods": [],
            "trait": {"path": "Clone", "id": 801, "args": null}, "for": unit_ty("Config", 10), "items": [],
            "is_negative": false, "is_synthetic": false, "blanket_impl": null}}),
        ));
        add(item(
            13,
            None,
            "default",
            json!({"impl": {"is_unsafe": false, "generics": no_generics, "provided_trait_methods": [],
            "trait": {"path": "Send", "id": 802, "args": null}, "for": unit_ty("Config", 10), "items": [],
            "is_negative": false, "is_synthetic": true, "blanket_impl": null}}),
        ));
        add(item(
            14,
            None,
            "default",
            json!({"impl": {"is_unsafe": false, "generics": {"params": [
                {"name": "T", "kind": {"type": {"bounds": [], "default": null, "is_synthetic": false}}}], "where_predicates": []},
            "provided_trait_methods": [], "trait": {"path": "From", "id": 803, "args": {"angle_bracketed": {"args": [{"type": {"generic": "T"}}], "constraints": []}}},
            "for": {"generic": "T"}, "items": [], "is_negative": false, "is_synthetic": false, "blanket_impl": {"generic": "T"}}}),
        ));
        add(item(
            15,
            None,
            "default",
            json!({"impl": {"is_unsafe": false, "generics": no_generics, "provided_trait_methods": [],
            "trait": null, "for": unit_ty("Config", 10), "items": [16, 17], "is_negative": false, "is_synthetic": false, "blanket_impl": null}}),
        ));
        add(item(
            16,
            Some("new"),
            "public",
            json!({"function": {"sig": {"inputs": [["name", {"borrowed_ref": {"lifetime": null, "is_mutable": false, "type": {"primitive": "str"}}}]],
            "output": {"generic": "Self"}, "is_c_variadic": false}, "generics": no_generics, "header": header, "has_body": true}}),
        ));
        add(item(
            17,
            Some("private_helper"),
            "default",
            json!({"function": {"sig": {"inputs": [], "output": null, "is_c_variadic": false},
            "generics": no_generics, "header": header, "has_body": true}}),
        ));

        // #[non_exhaustive] pub enum Error { Io(std::io::Error), Bad { line: usize }, Other = 3 }
        let mut error = item(
            20,
            Some("Error"),
            "public",
            json!({"enum": {"generics": no_generics, "has_stripped_variants": false,
            "variants": [21, 22, 23], "impls": [25]}}),
        );
        error["attrs"] = json!(["non_exhaustive"]);
        add(error);
        add(item(21, Some("Io"), "default", json!({"variant": {"kind": {"tuple": [24]}, "discriminant": null}})));
        add(item(24, Some("0"), "default", json!({"struct_field": unit_ty("io::Error", 804)})));
        add(item(
            22,
            Some("Bad"),
            "default",
            json!({"variant": {"kind": {"struct": {"fields": [26], "has_stripped_fields": false}}, "discriminant": null}}),
        ));
        add(item(26, Some("line"), "default", json!({"struct_field": {"primitive": "usize"}})));
        add(item(
            23,
            Some("Other"),
            "default",
            json!({"variant": {"kind": "plain", "discriminant": {"expr": "3", "value": "3"}}}),
        ));
        add(item(
            25,
            None,
            "default",
            json!({"impl": {"is_unsafe": false, "generics": no_generics, "provided_trait_methods": [],
            "trait": {"path": "StructuralPartialEq", "id": 805, "args": null}, "for": unit_ty("Error", 20), "items": [],
            "is_negative": false, "is_synthetic": false, "blanket_impl": null}}),
        ));

        // pub trait Sink: Send { fn emit(&self, event: &Error); fn flush(&mut self) {} }
        add(item(
            30,
            Some("Sink"),
            "public",
            json!({"trait": {"is_auto": false, "is_unsafe": false, "is_dyn_compatible": true,
            "items": [31, 32], "generics": no_generics,
            "bounds": [{"trait_bound": {"trait": {"path": "Send", "id": 802, "args": null}, "generic_params": [], "modifier": "none"}}],
            "implementations": []}}),
        ));
        add(item(
            31,
            Some("emit"),
            "default",
            json!({"function": {"sig": {"inputs": [
                ["self", {"borrowed_ref": {"lifetime": null, "is_mutable": false, "type": {"generic": "Self"}}}],
                ["event", {"borrowed_ref": {"lifetime": null, "is_mutable": false, "type": unit_ty("Error", 20)}}]],
            "output": null, "is_c_variadic": false}, "generics": no_generics, "header": header, "has_body": false}}),
        ));
        add(item(
            32,
            Some("flush"),
            "default",
            json!({"function": {"sig": {"inputs": [
                ["self", {"borrowed_ref": {"lifetime": null, "is_mutable": true, "type": {"generic": "Self"}}}]],
            "output": null, "is_c_variadic": false}, "generics": no_generics, "header": header, "has_body": true}}),
        ));

        // pub mod util { pub fn parse(text: &str) -> Option<Config>; pub const LIMIT: usize; pub type Id = u32; }
        add(item(
            40,
            Some("parse"),
            "public",
            json!({"function": {"sig": {"inputs": [["text", {"borrowed_ref": {"lifetime": null, "is_mutable": false, "type": {"primitive": "str"}}}]],
            "output": {"resolved_path": {"path": "Option", "id": 806, "args": {"angle_bracketed": {"args": [{"type": unit_ty("Config", 10)}], "constraints": []}}}},
            "is_c_variadic": false}, "generics": no_generics, "header": header, "has_body": true}}),
        ));
        add(item(
            41,
            Some("LIMIT"),
            "public",
            json!({"constant": {"type": {"primitive": "usize"}, "const": {"expr": "8", "value": "8", "is_literal": true}}}),
        ));
        add(item(
            42,
            Some("Id"),
            "public",
            json!({"type_alias": {"type": {"primitive": "u32"}, "generics": no_generics}}),
        ));

        let path = |crate_id: u64, segments: &[&str], kind: &str| json!({"crate_id": crate_id, "path": segments, "kind": kind});
        json!({
            "root": 0,
            "crate_version": "0.1.0",
            "includes_private": false,
            "format_version": FORMAT_VERSION,
            "index": index,
            "paths": {
                "10": path(0, &["demo", "model", "Config"], "struct"),
                "20": path(0, &["demo", "errors", "Error"], "enum"),
                "800": path(2, &["alloc", "string", "String"], "struct"),
                "801": path(1, &["core", "clone", "Clone"], "trait"),
                "802": path(1, &["core", "marker", "Send"], "trait"),
                "803": path(1, &["core", "convert", "From"], "trait"),
                "804": path(3, &["std", "io", "error", "Error"], "struct"),
                "805": path(1, &["core", "marker", "StructuralPartialEq"], "trait"),
                "806": path(1, &["core", "option", "Option"], "enum"),
                "900": path(9, &["other_crate"], "module"),
            },
            "external_crates": {},
        })
    }

    #[test]
    fn renders_a_small_crate() {
        let json = demo_crate();
        let krate = Crate::open(&json).expect("the demo crate has the expected shape");
        let rendered = render(&[krate]);
        let expected = "\
struct demo::Config { /* private fields */ }
impl Clone for demo::Config
field demo::Config::name: String
fn demo::Config::new(name: &str) -> Self
#[non_exhaustive] enum demo::Error
variant demo::Error::Bad { line: usize }
variant demo::Error::Io(std::io::Error)
variant demo::Error::Other = 3
use demo::Settings = demo::Config
trait demo::Sink: Send
fn demo::Sink::emit(&self, event: &demo::Error)
fn demo::Sink::flush(&mut self) (provided)
use demo::other = other_crate
mod demo::util
type demo::util::Id = u32
const demo::util::LIMIT: usize
fn demo::util::parse(text: &str) -> Option<demo::Config>
";
        assert_eq!(rendered, [expected]);
    }

    #[test]
    fn other_workspace_crates_are_named_by_their_public_path() {
        let demo = demo_crate();
        // A second crate whose function returns `demo::Config`, which rustdoc records at its
        // private defining path `demo::model::Config`.
        let user = json!({
            "root": 0, "format_version": FORMAT_VERSION, "external_crates": {},
            "index": {
                "0": {"id": 0, "crate_id": 0, "name": "user", "visibility": "public", "attrs": [], "deprecation": null,
                      "inner": {"module": {"is_crate": true, "items": [1], "is_stripped": false}}},
                "1": {"id": 1, "crate_id": 0, "name": "config", "visibility": "public", "attrs": [], "deprecation": null,
                      "inner": {"function": {"sig": {"inputs": [], "output": {"resolved_path": {"path": "demo::Config", "id": 5, "args": null}},
                      "is_c_variadic": false}, "generics": {"params": [], "where_predicates": []},
                      "header": {"is_const": false, "is_unsafe": false, "is_async": false, "abi": "Rust"}, "has_body": true}}}
            },
            "paths": {"5": {"crate_id": 1, "path": ["demo", "model", "Config"], "kind": "struct"}}
        });
        let crates = [Crate::open(&demo).expect("demo"), Crate::open(&user).expect("user")];
        assert_eq!(render(&crates)[1], "fn user::config() -> demo::Config\n");
    }

    #[test]
    fn inherent_impls_say_which_instantiation_only_when_it_matters() {
        let lifetime = |name: &str| json!({"name": name, "kind": {"lifetime": {"outlives": []}}});
        let with_args = |args: Value| json!({"resolved_path": {"path": "Wrap", "id": 2, "args": {"angle_bracketed": {"args": args, "constraints": []}}}});
        let function = json!({"function": {"sig": {"inputs": [["self", {"borrowed_ref": {"lifetime": null, "is_mutable": false, "type": {"generic": "Self"}}}]],
            "output": null, "is_c_variadic": false}, "generics": {"params": [], "where_predicates": []},
            "header": {"is_const": false, "is_unsafe": false, "is_async": false, "abi": "Rust"}, "has_body": true}});
        let plain = |id: u64, name: &str, inner: Value| {
            json!({"id": id, "crate_id": 0, "name": name, "visibility": "public",
            "attrs": [], "deprecation": null, "inner": inner})
        };
        let inherent = |id: u64, params: Vec<Value>, for_type: Value, method: u64| {
            json!({"id": id, "crate_id": 0, "name": null,
            "visibility": "default", "attrs": [], "deprecation": null, "inner": {"impl": {"is_unsafe": false,
            "generics": {"params": params, "where_predicates": []}, "provided_trait_methods": [], "trait": null,
            "for": for_type, "items": [method], "is_negative": false, "is_synthetic": false, "blanket_impl": null}}})
        };
        let json = json!({
            "root": 0, "format_version": FORMAT_VERSION, "external_crates": {}, "paths": {},
            "index": {
                "0": plain(0, "demo", json!({"module": {"is_crate": true, "items": [2], "is_stripped": false}})),
                "2": plain(2, "Wrap", json!({"struct": {"kind": {"plain": {"fields": [], "has_stripped_fields": true}},
                    "generics": {"params": [lifetime("'a")], "where_predicates": []}, "impls": [3, 4]}})),
                // impl<'a> Wrap<'a> { pub fn get(&self) }   and   impl Wrap<'static> { pub fn leak(&self) }
                "3": inherent(3, vec![lifetime("'a")], with_args(json!([{"lifetime": "'a"}])), 5),
                "4": inherent(4, vec![], with_args(json!([{"lifetime": "'static"}])), 6),
                "5": plain(5, "get", function.clone()),
                "6": plain(6, "leak", function),
            }
        });
        let rendered = render(&[Crate::open(&json).expect("shape")]);
        assert_eq!(
            rendered[0],
            "struct demo::Wrap<'a> { /* private fields */ }\n\
             fn demo::Wrap::get(&self)\n\
             fn demo::Wrap::leak(&self) [impl demo::Wrap<'static>]\n"
        );
    }

    #[test]
    fn an_unexpected_format_or_shape_is_a_clear_error() {
        let mut json = demo_crate();
        json["format_version"] = json!(FORMAT_VERSION + 1);
        let error = Crate::open(&json).err().expect("a newer format is refused");
        assert!(error.contains(&format!("format_version is {}", FORMAT_VERSION + 1)), "{error}");
        assert!(Crate::open(&json!({"format_version": FORMAT_VERSION})).is_err());
        let no_root = json!({"format_version": FORMAT_VERSION, "index": {}, "paths": {}, "root": 7});
        assert_eq!(Crate::open(&no_root).err().as_deref(), Some("the `root` id is not in `index`"));
    }

    #[test]
    fn std_paths_are_shown_as_written() {
        assert_eq!(external_path("alloc::string::String"), "String");
        assert_eq!(external_path("core::fmt::Result"), "std::fmt::Result");
        assert_eq!(external_path("core::time::Duration"), "std::time::Duration");
        assert_eq!(external_path("std::collections::hash::map::HashMap"), "std::collections::HashMap");
        assert_eq!(external_path("jiff::timestamp::Timestamp"), "jiff::timestamp::Timestamp");
    }
}
