//! Enforcing the policy on every field a request resolves, and noting what personal data it
//! read or wrote for the access log.
//!
//! One schema extension sees each field before it resolves, whatever the path to it: nested,
//! through `node(id:)`, a connection or a mutation payload. A denied field answers `null` with
//! a `FORBIDDEN` error at its path, and the rest of the response still resolves.

use std::collections::{BTreeSet, HashMap};

use rustc_hash::FxHashSet;
use std::sync::{Arc, Mutex};

use crate::access_policy::{DataClass, FieldId, RoleGrant, RowScope, Scope, POLICY};
use crate::audit::{AccessAction, AccessEntry};
use crate::graphql::schema_map::SCHEMA_MAP;
use crate::identity::Principal;
use crate::ids::{self, NodeType};
use async_graphql::extensions::{ExtensionContext, NextExecute, ResolveInfo};
use async_graphql::{
    Context, ErrorExtensionValues, Name, PathSegment, QueryPathSegment, Request, Response,
    ServerError, Value, Variables,
};

/// The caller's network details, as far as the server can tell.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// Everything the policy needs to know about one request, and what it touched.
pub struct RequestAccess {
    pub principal: Option<Principal>,
    pub grant: Arc<RoleGrant>,
    pub client: ClientInfo,
    pub trail: AccessTrail,
    /// The name of the operation the document ran, once execution has picked it.
    operation: Mutex<Option<String>>,
    /// The rows the caller may see: a value, rendered as SQL by the queries that use it.
    scope: Scope,
}

impl RequestAccess {
    pub fn new(
        principal: Option<Principal>,
        grant: Arc<RoleGrant>,
        client: ClientInfo,
    ) -> RequestAccess {
        let rows = grant
            .base
            .map_or(RowScope::OwnMatters, |base| base.row_scope());
        let scope = Scope::for_caller(rows, principal.as_ref().and_then(|p| p.user_id()));
        RequestAccess {
            principal,
            grant,
            client,
            trail: AccessTrail::default(),
            operation: Mutex::new(None),
            scope,
        }
    }

    /// How GDPR records name who did something: `user:ID`, `api_key:ID`, ... (`anonymous` never writes).
    pub fn principal_id(&self) -> String {
        self.principal.as_ref().map_or_else(
            || "anonymous".to_owned(),
            |p| crate::gdpr::Actor::of(p).label,
        )
    }

    /// The lexgate user the caller acts as, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.principal.as_ref()?.user_id()
    }

    /// The rows the caller may see.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Notes the name of the operation execution picked, which the access log records.
    pub fn running(&self, operation: Option<&str>) {
        if let Some(name) = operation {
            *self.operation.lock().unwrap_or_else(|e| e.into_inner()) = Some(name.to_owned());
        }
    }
}

/// The personal data a request read and wrote: which contacts, which fields.
#[derive(Default)]
pub struct AccessTrail(Mutex<Touched>);

#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    /// A hash set: a contact's personal fields note it once per field of every row read, and
    /// a page of a thousand contacts made this ordered set's lookups and inserts a tenth of
    /// the request's work. Ordered when the entry is written.
    pub read_subjects: FxHashSet<String>,
    /// Named only when the entry is written: noting a field read on every row is then an
    /// insert of an index, which allocates nothing.
    pub read_fields: BTreeSet<FieldId>,
    pub write_subjects: BTreeSet<String>,
    pub write_fields: BTreeSet<String>,
    /// A mutation ran: it is logged even when it changed no personal data.
    pub wrote: bool,
}

impl AccessTrail {
    fn with<T>(&self, f: impl FnOnce(&mut Touched) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn read_field(&self, field: FieldId) {
        self.with(|t| t.read_fields.insert(field));
    }

    pub fn read_subject(&self, contact_id: &str) {
        self.with(|t| {
            if !t.read_subjects.contains(contact_id) {
                t.read_subjects.insert(contact_id.to_owned());
            }
        });
    }

    pub fn wrote(&self, fields: impl IntoIterator<Item = String>, subjects: Vec<String>) {
        self.with(|t| {
            t.wrote = true;
            t.write_fields.extend(fields);
            t.write_subjects.extend(subjects);
        });
    }

    pub fn wrote_subject(&self, contact_id: &str) {
        self.with(|t| t.write_subjects.insert(contact_id.to_owned()));
    }

    pub fn take(&self) -> Touched {
        self.with(std::mem::take)
    }
}

/// The request's access record, present on every request `graphql::execute` runs.
pub fn access<'a>(ctx: &Context<'a>) -> &'a RequestAccess {
    ctx.data_unchecked::<Arc<RequestAccess>>()
}

/// Answers `null` for the current field with a `FORBIDDEN` error at its path.
pub fn forbid<T>(ctx: &Context<'_>, message: &str) -> Option<T> {
    ctx.add_error(ctx.set_error_path(forbidden_error(message, None)));
    None
}

fn forbidden_error(message: &str, field: Option<&str>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", "FORBIDDEN");
    if let Some(field) = field {
        extensions.set("field", field);
    }
    error.extensions = Some(extensions);
    error
}

/// Whether the field being resolved, of `type_name`, holds personal data: reading it logs
/// the contacts it is about.
pub fn reads_personal(ctx: &Context<'_>, type_name: &str) -> bool {
    let field = ctx.item.node.name.node.as_str();
    POLICY
        .rule(type_name, field)
        .is_some_and(|r| r.class != DataClass::Plain)
}

/// Notes contacts as read by the request (for the access log).
pub fn note_read_subjects<'s>(ctx: &Context<'_>, contacts: impl IntoIterator<Item = &'s str>) {
    if let Some(access) = ctx.data_opt::<Arc<RequestAccess>>() {
        for contact in contacts {
            access.trail.read_subject(contact);
        }
    }
}

/// Notes that a contact's personal field was read; called by the `Contact` type's guard.
pub struct ContactRead<'a>(pub &'a str);

impl async_graphql::Guard for ContactRead<'_> {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let field = ctx.item.node.name.node.as_str();
        let personal = POLICY
            .rule("Contact", field)
            .is_some_and(|r| r.class != DataClass::Plain);
        if personal {
            if let Some(access) = ctx.data_opt::<Arc<RequestAccess>>() {
                access.trail.read_subject(self.0);
            }
        }
        Ok(())
    }
}

/// Notes the data subject of a GDPR record (a subject request) when one of the record's
/// personal fields is read.
pub struct SubjectRead<'a> {
    type_name: &'static str,
    contact_id: Option<&'a str>,
}

impl<'a> SubjectRead<'a> {
    pub fn new(type_name: &'static str, contact_id: Option<&'a str>) -> SubjectRead<'a> {
        SubjectRead {
            type_name,
            contact_id,
        }
    }
}

impl async_graphql::Guard for SubjectRead<'_> {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let field = ctx.item.node.name.node.as_str();
        let personal = POLICY
            .rule(self.type_name, field)
            .is_some_and(|r| r.class != DataClass::Plain);
        if let (true, Some(contact)) = (personal, self.contact_id) {
            if let Some(access) = ctx.data_opt::<Arc<RequestAccess>>() {
                access.trail.read_subject(contact);
            }
        }
        Ok(())
    }
}

/// Checks a write against the policy, field by field of its input.
fn check_write(
    grant: &RoleGrant,
    mutation: &str,
    arguments: &[(String, async_graphql::Value)],
) -> std::result::Result<(Vec<String>, Vec<String>), String> {
    let mut walk = InputWalk {
        grant,
        fields: Vec::new(),
        subjects: Vec::new(),
    };
    let Some(shape) = SCHEMA_MAP.field("Mutation", mutation) else {
        return Err(String::new());
    };
    for (name, value) in arguments {
        let Some((_, type_name)) = shape.arguments.iter().find(|(arg, _)| arg == name) else {
            continue;
        };
        walk.value(type_name, value, name)?;
    }
    Ok((walk.fields, walk.subjects))
}

struct InputWalk<'a> {
    grant: &'a RoleGrant,
    /// The personal-data input fields the write sets, as `Type.field`.
    fields: Vec<String>,
    /// Contacts named by ID anywhere in the input.
    subjects: Vec<String>,
}

impl InputWalk<'_> {
    /// Walks one value of `type_name`; `Err` carries the path of a denied input field.
    fn value(
        &mut self,
        type_name: &str,
        value: &Value,
        path: &str,
    ) -> std::result::Result<(), String> {
        match value {
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(type_name, item, &format!("{path}[{i}]"))?;
                }
            }
            Value::Object(object) => {
                for (name, inner) in object {
                    let field_path = format!("{path}.{name}");
                    let decided = POLICY
                        .field(type_name, name)
                        .filter(|(id, _)| self.grant.allows_field(*id));
                    let Some((_, rule)) = decided else {
                        return Err(field_path);
                    };
                    if rule.class != DataClass::Plain {
                        self.fields.push(format!("{type_name}.{name}"));
                    }
                    if let Some(shape) = SCHEMA_MAP.field(type_name, name) {
                        self.value(&shape.returns.clone(), inner, &field_path)?;
                    }
                }
            }
            Value::String(text) if type_name == "ID" => {
                if let Some((NodeType::Contact, key)) = ids::parse(text) {
                    self.subjects.push(key);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// One request's enforcement of the policy: the hooks the schema's extension runs.
#[derive(Default)]
pub struct Authorization {
    variables: Mutex<Variables>,
    denials: Mutex<Vec<ServerError>>,
}

impl Authorization {
    fn deny(&self, info: &ResolveInfo<'_>, message: &str, field: Option<&str>) {
        let mut error = forbidden_error(message, field);
        error.path = path_of(info);
        self.denials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(error);
    }

    fn arguments(&self, info: &ResolveInfo<'_>) -> Vec<(String, Value)> {
        let variables = self.variables.lock().unwrap_or_else(|e| e.into_inner());
        info.field
            .arguments
            .iter()
            .filter_map(|(name, value)| {
                let value = value
                    .node
                    .clone()
                    .into_const_with(|var: Name| variables.get(&var).cloned().ok_or(()))
                    .ok()?;
                Some((name.node.to_string(), value))
            })
            .collect()
    }
}

fn path_of(info: &ResolveInfo<'_>) -> Vec<PathSegment> {
    let mut path: Vec<PathSegment> = std::iter::once(info.path_node)
        .chain(info.path_node.parents())
        .map(|node| match node.segment {
            QueryPathSegment::Name(name) => PathSegment::Field(name.to_owned()),
            QueryPathSegment::Index(i) => PathSegment::Index(i),
        })
        .collect();
    path.reverse();
    path
}

impl Authorization {
    /// Before parsing: keeps the variables, which a mutation's input is checked with.
    pub fn prepare(&self, request: &Request) {
        *self.variables.lock().unwrap_or_else(|e| e.into_inner()) = request.variables.clone();
    }

    /// Execution, with the denials added to the response's errors and folded.
    pub async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(access) = ctx.data_opt::<Arc<RequestAccess>>() {
            access.running(operation_name);
        }
        let mut response = next.run(ctx, operation_name).await;
        let denials = std::mem::take(&mut *self.denials.lock().unwrap_or_else(|e| e.into_inner()));
        response.errors.extend(denials);
        response.errors = fold_denials(std::mem::take(&mut response.errors));
        response
    }

    /// Whether the field may resolve: if not, it answers `null` with a `FORBIDDEN` error.
    pub fn admits(&self, ctx: &ExtensionContext<'_>, info: &ResolveInfo<'_>) -> bool {
        // List items pass through here too (as `[Type]`); their field was checked already.
        let list_item = matches!(info.path_node.segment, QueryPathSegment::Index(_));
        if list_item || info.is_for_introspection || info.name.starts_with("__") {
            return true;
        }
        let Some(access) = ctx.data_opt::<Arc<RequestAccess>>() else {
            self.deny(info, "the request carries no identity", None);
            return false;
        };
        let (parent, field) = (info.parent_type, info.name);
        // One lookup decides the field: its entry, then the role's table by index.
        let decided = POLICY
            .field(parent, field)
            .filter(|(id, _)| access.grant.allows_field(*id));
        let Some((id, rule)) = decided else {
            let message = format!(
                "the {} role may not {} {parent}.{field}",
                access.grant.name,
                if parent == "Mutation" { "use" } else { "read" }
            );
            self.deny(info, &message, None);
            return false;
        };
        if parent == "Mutation" {
            match check_write(&access.grant, field, &self.arguments(info)) {
                Ok((fields, subjects)) => access.trail.wrote(fields, subjects),
                Err(path) => {
                    let message = format!("the {} role may not set `{path}`", access.grant.name);
                    self.deny(info, &message, Some(&path));
                    return false;
                }
            }
        } else if rule.class != DataClass::Plain {
            access.trail.read_field(id);
        }
        true
    }
}

/// Folds the `FORBIDDEN` errors that differ only in list indices (the same denied field on
/// every row of a page) into one per field path pattern and reason, keeping every denied path
/// identifiable: `path` is the first one, `extensions.pattern` the path with `[*]` for each
/// list index (`contacts.edges[*].node.phones`), `extensions.count` how many paths it stands
/// for and, when the pattern has lists in it, `extensions.indices` each path's indices in
/// order. Other errors stay as they are, in their place.
pub fn fold_denials(errors: Vec<ServerError>) -> Vec<ServerError> {
    struct Fold {
        at: usize,
        indices: Vec<Value>,
    }
    let mut folded: Vec<ServerError> = Vec::with_capacity(errors.len());
    let mut folds: HashMap<(String, String, String), Fold> = HashMap::new();
    for error in errors {
        let forbidden = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .is_some_and(|code| *code == Value::from("FORBIDDEN"));
        if !forbidden {
            folded.push(error);
            continue;
        }
        let (pattern, indices) = path_pattern(&error.path);
        // Errors fold when everything but their indices is the same.
        let reason = serde_json::to_string(&error.extensions).unwrap_or_default();
        let key = (pattern, error.message.clone(), reason);
        let index_list = Value::List(indices.into_iter().map(Value::from).collect());
        match folds.get_mut(&key) {
            Some(fold) => fold.indices.push(index_list),
            None => {
                folds.insert(
                    key,
                    Fold {
                        at: folded.len(),
                        indices: vec![index_list],
                    },
                );
                folded.push(error);
            }
        }
    }
    for ((pattern, _, _), fold) in folds {
        let extensions = folded[fold.at]
            .extensions
            .get_or_insert_with(Default::default);
        extensions.set("count", fold.indices.len());
        if pattern.contains("[*]") {
            extensions.set("indices", Value::List(fold.indices));
        }
        extensions.set("pattern", pattern);
    }
    folded
}

/// A response path as a pattern (`contacts.edges[*].node.phones`) and its list indices.
fn path_pattern(path: &[PathSegment]) -> (String, Vec<usize>) {
    let mut pattern = String::new();
    let mut indices = Vec::new();
    for segment in path {
        match segment {
            PathSegment::Field(name) => {
                if !pattern.is_empty() {
                    pattern.push('.');
                }
                pattern.push_str(name);
            }
            PathSegment::Index(i) => {
                pattern.push_str("[*]");
                indices.push(*i);
            }
        }
    }
    (pattern, indices)
}

/// Whether the caller is on the team of `matter_id` (or leads it), whatever their role: the
/// condition for special-category data on top of the role. Batched per level of the query.
pub async fn on_matter_team(ctx: &Context<'_>, matter_id: &str) -> async_graphql::Result<bool> {
    if access(ctx).user_id().is_none() {
        return Ok(false);
    }
    Ok(crate::graphql::context::loader(ctx)
        .load_one(crate::graphql::loaders::OnTeamOf(matter_id.to_owned()))
        .await?
        .is_some())
}

/// Special-category data (Art. 9 and 10 GDPR) of a matter: only its team reads it, whatever
/// the role; anyone else gets `null` with `FORBIDDEN`.
pub async fn special_category<T>(
    ctx: &Context<'_>,
    matter_id: &str,
    value: Option<T>,
) -> async_graphql::Result<Option<T>> {
    if on_matter_team(ctx, matter_id).await? {
        Ok(value)
    } else {
        Ok(forbid(
            ctx,
            "special-category data: only the matter's team may read it",
        ))
    }
}

impl RequestAccess {
    /// The access-log entries of what this request touched and no transaction logged yet:
    /// one for what it read, one for what it changed (when a change ran outside
    /// `context::write`, or failed). An anonymous request (logging in) touches no one's data.
    pub fn entries(&self, operation_name: Option<String>) -> Vec<AccessEntry> {
        let touched = self.trail.take();
        let mut entries = Vec::new();
        if !touched.read_fields.is_empty() || !touched.read_subjects.is_empty() {
            let fields = touched
                .read_fields
                .into_iter()
                .map(|id| {
                    let (type_name, field) = POLICY.name(id);
                    format!("{type_name}.{field}")
                })
                .collect();
            let mut subjects: Vec<String> = touched.read_subjects.into_iter().collect();
            subjects.sort_unstable();
            entries.extend(self.entry(
                AccessAction::Read,
                fields,
                subjects,
                operation_name.clone(),
            ));
        }
        if touched.wrote {
            entries.extend(self.entry(
                AccessAction::Write,
                touched.write_fields,
                touched.write_subjects.into_iter().collect(),
                operation_name,
            ));
        }
        entries
    }

    /// The entry of the change being written: the fields and contacts noted so far, plus
    /// `subjects`. `None` for an anonymous caller.
    pub fn change_entry(&self, subjects: Vec<String>) -> Option<AccessEntry> {
        let (fields, mut touched) = self
            .trail
            .with(|t| (t.write_fields.clone(), t.write_subjects.clone()));
        touched.extend(subjects);
        self.entry(
            AccessAction::Write,
            fields,
            touched.into_iter().collect(),
            None,
        )
    }

    /// The change's entry committed with it: the request's final entries do not repeat it.
    pub fn change_logged(&self) {
        self.trail.with(|t| {
            t.wrote = false;
            t.write_fields.clear();
            t.write_subjects.clear();
        });
    }

    fn entry(
        &self,
        action: AccessAction,
        fields: BTreeSet<String>,
        // In order, without duplicates.
        subjects: Vec<String>,
        operation_name: Option<String>,
    ) -> Option<AccessEntry> {
        let principal = self.principal.as_ref()?;
        let operation_name = self
            .operation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .or(operation_name);
        let (kind, id) = principal.kind_and_id();
        Some(AccessEntry {
            occurred_at: crate::db::now(),
            principal_kind: kind.to_owned(),
            principal_id: id,
            role: principal.role.clone(),
            operation_name,
            client_address: self.client.address.clone(),
            user_agent: self.client.user_agent.clone(),
            action,
            fields: fields.into_iter().collect(),
            subjects,
        })
    }
}
