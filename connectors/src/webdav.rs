//! The `webdav` connector: a document store reached over WebDAV (RFC 4918) that keeps one
//! folder per matter under a root collection (Nextcloud, SharePoint's WebDAV, Apache
//! `mod_dav`, WsgiDAV, any DMS that speaks it).
//!
//! - Matter folders: the root's sub-collections. A folder names its matter by the dead
//!   property `{https://lexgate.dev/ns/webdav}matter-reference` (set with PROPPATCH) or, when
//!   it has none, by its own name. [`WebDavConnector::ensure_matter_folders`] makes missing
//!   folders (MKCOL) and sets the property; [`WebDavConnector::make_folder`] makes one
//!   matter's folder idempotently (a 405 to MKCOL means it is there) and always sets it.
//! - Pull: no WebDAV server offers `sync-collection` on files, so each run walks `PROPFIND
//!   Depth: 1` on the root, on every matter folder and, recursively, on its sub-folders down
//!   to [`MAX_DEPTH`] levels (never `Depth: infinity`, which servers may refuse or cap), and
//!   compares each file's ETag and last-modified time with what the previous run saw, which
//!   the cursor carries. New and changed files are records, with their sub-folder relative
//!   to the matter folder; a file gone from one place whose ETag (or, failing that, size and
//!   last-modified time) reappears at another (another sub-folder, another matter) was moved
//!   (`moved_from`); the others gone were deleted.
//! - ETags are compared without `W/` and quotes: Apache answers a weak ETag for a second
//!   after a write and the strong one after, WsgiDAV answers them unquoted.

use std::collections::{BTreeMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::dav::{body_text, child, refused, status_code, xml_escape, DavClient, DAV};
use crate::http::HttpClient;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, MatterFolder, Page, RemoteDocument,
};

pub const KIND: &str = "webdav";

/// The namespace of lexgate's dead properties.
pub const NAMESPACE: &str = "https://lexgate.dev/ns/webdav";
/// The dead property naming a folder's matter.
pub const MATTER_PROPERTY: &str = "matter-reference";
/// The deepest sub-folder level walked below a matter folder (a matter folder's own
/// sub-folders are level 1); files further down are not pulled.
pub const MAX_DEPTH: usize = 8;

/// Where and how to reach the store.
#[derive(Debug, Clone)]
pub struct WebDavConfig {
    /// The collection holding one folder per matter, e.g.
    /// `https://dms.example.com/remote.php/dav/files/studio/Pratiche/`.
    pub root_url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

pub struct WebDavConnector {
    dav: DavClient,
    root: Url,
}

/// What a run saw of one file: what the next run compares with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

/// The cursor: every file of the last run by path.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    v: u32,
    files: BTreeMap<String, Seen>,
}

/// One `DAV:response` of a PROPFIND: its path and the properties found (status 2xx).
#[derive(Debug, Default)]
struct Entry {
    path: String,
    collection: bool,
    etag: Option<String>,
    modified: Option<String>,
    created: Option<String>,
    size: Option<u64>,
    content_type: Option<String>,
    creator: Option<String>,
    matter_reference: Option<String>,
}

/// A matter folder of the root.
#[derive(Debug)]
struct Folder {
    path: String,
    reference: String,
    /// Whether the reference is the folder's dead property (not its name).
    by_property: bool,
}

impl WebDavConnector {
    pub fn new(config: WebDavConfig, http: HttpClient) -> Result<WebDavConnector, ConnectorError> {
        let mut url = config.root_url.trim().to_owned();
        // A collection URL ends with '/', or joining a name would drop its last segment.
        if !url.ends_with('/') {
            url.push('/');
        }
        let root =
            Url::parse(&url).map_err(|e| ConnectorError::Protocol(format!("root URL: {e}")))?;
        Ok(WebDavConnector {
            dav: DavClient::new(http, config.username, config.password, "WebDAV"),
            root,
        })
    }

    /// `PROPFIND Depth: 1` of the collection at `path`; `None` when it is gone.
    async fn propfind(&self, url: Url) -> Result<Option<Vec<Entry>>, ConnectorError> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:l="{NAMESPACE}"><d:prop><d:resourcetype/><d:getetag/><d:getlastmodified/><d:creationdate/><d:getcontentlength/><d:getcontenttype/><d:creator-displayname/><l:{MATTER_PROPERTY}/></d:prop></d:propfind>"#
        );
        let response = self
            .dav
            .send(
                self.dav
                    .request(method("PROPFIND"), url)
                    .header("Depth", "1")
                    .header(CONTENT_TYPE, "application/xml; charset=utf-8")
                    .body(body),
            )
            .await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Ok(None);
        }
        let text = body_text(response).await?;
        if !status.is_success() {
            return Err(refused("PROPFIND", status));
        }
        let entries = parse_multistatus(&text)?
            .into_iter()
            .filter_map(|mut entry| {
                entry.path = self.path_of(&entry.path)?;
                Some(entry)
            })
            .collect();
        Ok(Some(entries))
    }

    /// The path of an href (absolute path or URL), if it lies inside the root.
    fn path_of(&self, href: &str) -> Option<String> {
        let url = self.root.join(href).ok()?;
        let inside = url.origin() == self.root.origin() && url.path().starts_with(self.root.path());
        inside.then(|| url.path().to_owned())
    }

    fn url_of(&self, path: &str) -> Result<Url, ConnectorError> {
        self.root
            .join(path)
            .map_err(|e| ConnectorError::Protocol(format!("URL of {path}: {e}")))
    }

    /// The matter folders of the root.
    async fn folders(&self) -> Result<Vec<Folder>, ConnectorError> {
        let entries = self
            .propfind(self.root.clone())
            .await?
            .ok_or_else(|| ConnectorError::Rejected("the root collection does not exist".into()))?;
        let root = trim_slash(self.root.path()).to_owned();
        Ok(entries
            .into_iter()
            .filter(|e| e.collection && trim_slash(&e.path) != root)
            .map(|e| {
                let property = e.matter_reference.clone().filter(|r| !r.trim().is_empty());
                let by_property = property.is_some();
                let reference = property.unwrap_or_else(|| last_segment(&e.path));
                Folder {
                    path: with_slash(e.path),
                    reference,
                    by_property,
                }
            })
            .collect())
    }

    /// The files of a matter folder and of its sub-folders down to [`MAX_DEPTH`] levels, each
    /// with its sub-folder relative to the matter folder: `PROPFIND Depth: 1` per folder,
    /// breadth first, each folder once.
    async fn walk(&self, folder: &Folder) -> Result<Vec<(Entry, Option<String>)>, ConnectorError> {
        let mut files = Vec::new();
        let mut visited = HashSet::new();
        let mut queue = VecDeque::from([(folder.path.clone(), 0usize)]);
        while let Some((path, depth)) = queue.pop_front() {
            if !visited.insert(trim_slash(&path).to_owned()) {
                continue;
            }
            let Some(entries) = self.propfind(self.url_of(&path)?).await? else {
                continue; // removed since its parent was listed
            };
            for entry in entries {
                let below = entry
                    .path
                    .strip_prefix(folder.path.as_str())
                    .filter(|rest| !trim_slash(rest).is_empty());
                let Some(relative) = below.map(str::to_owned) else {
                    continue; // the folder itself, or outside the matter folder
                };
                if entry.collection {
                    if depth < MAX_DEPTH && trim_slash(&entry.path) != trim_slash(&path) {
                        queue.push_back((with_slash(entry.path), depth + 1));
                    }
                    continue;
                }
                let sub_folder = relative
                    .rsplit_once('/')
                    .map(|(dir, _)| {
                        dir.split('/')
                            .filter(|s| !s.is_empty())
                            .map(percent_decode)
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .filter(|d| !d.is_empty());
                files.push((entry, sub_folder));
            }
        }
        Ok(files)
    }

    async fn pull(&self, cursor: Option<&Cursor>) -> Result<Page<RemoteDocument>, ConnectorError> {
        let previous: State = match cursor {
            None => State::default(),
            Some(cursor) => {
                serde_json::from_str(&cursor.0).map_err(|_| ConnectorError::InvalidCursor)?
            }
        };
        let mut now = State {
            v: 1,
            files: BTreeMap::new(),
        };
        let mut found: Vec<(Entry, String, Option<String>)> = Vec::new();
        for folder in self.folders().await? {
            for (entry, sub_folder) in self.walk(&folder).await? {
                if now.files.contains_key(&entry.path) {
                    continue;
                }
                now.files.insert(
                    entry.path.clone(),
                    Seen {
                        etag: entry.etag.as_deref().map(normalize_etag),
                        modified: entry.modified.clone(),
                        size: entry.size,
                    },
                );
                found.push((entry, folder.reference.clone(), sub_folder));
            }
        }
        // Gone since the last run: deleted, or moved to a path that appeared.
        let mut gone: Vec<(&String, &Seen)> = previous
            .files
            .iter()
            .filter(|(path, _)| !now.files.contains_key(*path))
            .collect();
        let mut records = Vec::new();
        for (entry, reference, sub_folder) in &found {
            let seen = &now.files[&entry.path];
            let moved_from = match previous.files.get(&entry.path) {
                Some(before) if before == seen => continue,
                Some(_) => None,
                None => take_moved(&mut gone, seen),
            };
            records.push(document(entry, reference, sub_folder.clone(), moved_from));
        }
        records.extend(gone.into_iter().map(|(path, _)| RemoteDocument {
            external_id: path.clone(),
            deleted: true,
            ..RemoteDocument::default()
        }));
        let cursor = serde_json::to_string(&now)
            .map_err(|e| ConnectorError::Protocol(format!("cursor: {e}")))?;
        Ok(Page {
            records,
            cursor: Cursor(cursor),
            more: false,
        })
    }

    /// Makes the folders of `matters` the root lacks (MKCOL) and sets their matter property;
    /// a folder already naming the matter (by property or name) is left alone. Answers how many
    /// folders were made.
    pub async fn ensure(&self, matters: &[MatterFolder]) -> Result<usize, ConnectorError> {
        let folders = self.folders().await?;
        let known: HashSet<&str> = folders.iter().map(|f| f.reference.as_str()).collect();
        let names: HashSet<String> = folders.iter().map(|f| last_segment(&f.path)).collect();
        let mut made = 0;
        for matter in matters {
            let name = folder_name(&matter.reference);
            if known.contains(matter.reference.as_str()) || names.contains(&name) {
                continue;
            }
            let url = self.url_of(&format!("{}/", encode_segment(&name)))?;
            let response = self
                .dav
                .send(self.dav.request(method("MKCOL"), url.clone()))
                .await?;
            match response.status() {
                status if status.is_success() => made += 1,
                // Made meanwhile by someone else: it only needs the property.
                StatusCode::METHOD_NOT_ALLOWED => {}
                status => return Err(refused("MKCOL", status)),
            }
            self.set_reference(url, &matter.reference).await?;
        }
        Ok(made)
    }

    /// Makes the folder of one matter and sets its reference, whatever happened before: a
    /// folder already naming the matter by its property (even renamed) only gets the property
    /// again; otherwise MKCOL (405: the folder exists) then PROPPATCH. A folder of that name
    /// naming another matter is refused, never taken over.
    pub async fn make_folder(&self, matter: &MatterFolder) -> Result<(), ConnectorError> {
        let reference = matter.reference.trim();
        if reference.is_empty() {
            return Err(ConnectorError::Rejected(
                "the matter has no reference".into(),
            ));
        }
        let folders = self.folders().await?;
        if let Some(existing) = folders
            .iter()
            .find(|f| f.by_property && f.reference == reference)
        {
            return self
                .set_reference(self.url_of(&existing.path)?, reference)
                .await;
        }
        let name = folder_name(reference);
        if folders
            .iter()
            .any(|f| f.by_property && last_segment(&f.path) == name)
        {
            return Err(ConnectorError::Rejected(
                "a folder of the matter's name belongs to another matter".into(),
            ));
        }
        let url = self.url_of(&format!("{}/", encode_segment(&name)))?;
        let response = self
            .dav
            .send(self.dav.request(method("MKCOL"), url.clone()))
            .await?;
        match response.status() {
            status if status.is_success() => {}
            // It exists already (made by an earlier attempt or by someone else).
            StatusCode::METHOD_NOT_ALLOWED => {}
            status => return Err(refused("MKCOL", status)),
        }
        self.set_reference(url, reference).await
    }

    async fn set_reference(&self, url: Url, reference: &str) -> Result<(), ConnectorError> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:propertyupdate xmlns:d="DAV:" xmlns:l="{NAMESPACE}"><d:set><d:prop><l:{MATTER_PROPERTY}>{}</l:{MATTER_PROPERTY}></d:prop></d:set></d:propertyupdate>"#,
            xml_escape(reference)
        );
        let response = self
            .dav
            .send(
                self.dav
                    .request(method("PROPPATCH"), url)
                    .header(CONTENT_TYPE, "application/xml; charset=utf-8")
                    .body(body),
            )
            .await?;
        let status = response.status();
        let text = body_text(response).await?;
        if !status.is_success() {
            return Err(refused("PROPPATCH", status));
        }
        // A multistatus may still refuse the property.
        if status == StatusCode::MULTI_STATUS && propstat_failed(&text)? {
            return Err(ConnectorError::Rejected(
                "the server refused the matter property".into(),
            ));
        }
        Ok(())
    }
}

impl Connector for WebDavConnector {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pull_documents: true,
            make_matter_folders: true,
            ..Capabilities::default()
        }
    }

    fn pull_documents<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteDocument>, ConnectorError>> {
        Box::pin(self.pull(cursor))
    }

    fn ensure_matter_folders<'a>(
        &'a self,
        matters: &'a [MatterFolder],
    ) -> BoxFuture<'a, Result<usize, ConnectorError>> {
        Box::pin(self.ensure(matters))
    }

    fn make_matter_folder<'a>(
        &'a self,
        matter: &'a MatterFolder,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(self.make_folder(matter))
    }
}

/// The path gone since the last run that `seen` is, moved: same ETag, or (without ETags)
/// same size and last-modified time, and only one such.
fn take_moved(gone: &mut Vec<(&String, &Seen)>, seen: &Seen) -> Option<String> {
    let same_etag = |s: &Seen| seen.etag.is_some() && s.etag == seen.etag;
    let same_shape =
        |s: &Seen| seen.modified.is_some() && s.modified == seen.modified && s.size == seen.size;
    let position = match gone.iter().filter(|(_, s)| same_etag(s)).count() {
        1 => gone.iter().position(|(_, s)| same_etag(s)),
        0 if gone.iter().filter(|(_, s)| same_shape(s)).count() == 1 => {
            gone.iter().position(|(_, s)| same_shape(s))
        }
        _ => None,
    }?;
    Some(gone.remove(position).0.clone())
}

fn document(
    entry: &Entry,
    reference: &str,
    folder: Option<String>,
    moved_from: Option<String>,
) -> RemoteDocument {
    RemoteDocument {
        folder,
        external_id: entry.path.clone(),
        deleted: false,
        moved_from,
        matter_reference: Some(reference.to_owned()),
        title: last_segment(&entry.path),
        content_type: entry
            .content_type
            .as_deref()
            .map(|t| t.split(';').next().unwrap_or(t).trim().to_owned())
            .filter(|t| !t.is_empty()),
        etag: entry.etag.as_deref().map(normalize_etag),
        size: entry.size,
        sha256: None,
        created_at: entry.created.as_deref().and_then(parse_time),
        modified_at: entry.modified.as_deref().and_then(parse_time),
        created_by: entry.creator.clone(),
        modified_by: None,
    }
}

/// `W/"abc"` and `"abc"` and `abc` are one version.
pub fn normalize_etag(etag: &str) -> String {
    let etag = etag.trim();
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.trim_matches('"').to_owned()
}

/// An RFC 1123 date (getlastmodified) or an RFC 3339 one (creationdate).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc2822(text)
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The folder name of a matter: its reference with path separators replaced.
pub fn folder_name(reference: &str) -> String {
    reference
        .trim()
        .chars()
        .map(|c| match c {
            '/' | '\\' => '-',
            c if c.is_control() => '_',
            c => c,
        })
        .collect()
}

fn trim_slash(path: &str) -> &str {
    path.trim_end_matches('/')
}

fn with_slash(mut path: String) -> String {
    if !path.ends_with('/') {
        path.push('/');
    }
    path
}

/// The decoded last segment of a path.
fn last_segment(path: &str) -> String {
    let segment = trim_slash(path).rsplit('/').next().unwrap_or_default();
    percent_decode(segment)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn method(name: &str) -> Method {
    // PROPFIND, PROPPATCH and MKCOL are valid tokens: this never falls back.
    Method::from_bytes(name.as_bytes()).unwrap_or(Method::OPTIONS)
}

fn text_of(node: Option<roxmltree::Node<'_, '_>>) -> Option<String> {
    node.and_then(|n| n.text())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn document_root(text: &str) -> Result<roxmltree::Document<'_>, ConnectorError> {
    let document = roxmltree::Document::parse(text)
        .map_err(|e| ConnectorError::Protocol(format!("multistatus: {e}")))?;
    if !document.root_element().has_tag_name((DAV, "multistatus")) {
        return Err(ConnectorError::Protocol("not a DAV:multistatus".into()));
    }
    Ok(document)
}

/// Whether a PROPPATCH multistatus refused a property.
fn propstat_failed(text: &str) -> Result<bool, ConnectorError> {
    let document = document_root(text)?;
    Ok(document
        .descendants()
        .filter(|n| n.has_tag_name((DAV, "propstat")))
        .filter_map(|p| text_of(child(p, DAV, "status")).and_then(|s| status_code(&s)))
        .any(|code| !(200..300).contains(&code)))
}

/// Reads a PROPFIND multistatus by namespace, whatever prefixes the server chose.
fn parse_multistatus(text: &str) -> Result<Vec<Entry>, ConnectorError> {
    let document = document_root(text)?;
    let mut entries = Vec::new();
    for response in document
        .root_element()
        .children()
        .filter(|c| c.has_tag_name((DAV, "response")))
    {
        let Some(path) = text_of(child(response, DAV, "href")) else {
            continue;
        };
        let mut entry = Entry {
            path,
            ..Entry::default()
        };
        for propstat in response
            .children()
            .filter(|c| c.has_tag_name((DAV, "propstat")))
        {
            let ok = text_of(child(propstat, DAV, "status"))
                .and_then(|s| status_code(&s))
                .is_none_or(|code| (200..300).contains(&code));
            let Some(prop) = child(propstat, DAV, "prop").filter(|_| ok) else {
                continue;
            };
            if let Some(kind) = child(prop, DAV, "resourcetype") {
                entry.collection |= child(kind, DAV, "collection").is_some();
            }
            let get = |name: &str| text_of(child(prop, DAV, name));
            entry.etag = entry.etag.or(get("getetag"));
            entry.modified = entry.modified.or(get("getlastmodified"));
            entry.created = entry.created.or(get("creationdate"));
            entry.size = entry
                .size
                .or(get("getcontentlength").and_then(|s| s.parse().ok()));
            entry.content_type = entry.content_type.or(get("getcontenttype"));
            entry.creator = entry.creator.or(get("creator-displayname"));
            entry.matter_reference =
                entry
                    .matter_reference
                    .or(text_of(child(prop, NAMESPACE, MATTER_PROPERTY)));
        }
        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_without_weakness_or_quotes() {
        assert_eq!(normalize_etag("W/\"3-661f\""), "3-661f");
        assert_eq!(normalize_etag("\"3-661f\""), "3-661f");
        assert_eq!(normalize_etag("3-661f"), "3-661f");
    }

    #[test]
    fn names_and_paths() {
        assert_eq!(folder_name("2026/0042"), "2026-0042");
        assert_eq!(encode_segment("2026-0042 Rossi"), "2026-0042%20Rossi");
        assert_eq!(
            last_segment("/m1/Atto%20di%20citazione.pdf"),
            "Atto di citazione.pdf"
        );
        assert_eq!(last_segment("/m1/2026-0042/"), "2026-0042");
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn a_moved_file_is_found_by_etag_then_by_shape() {
        let a = "/m/a.pdf".to_owned();
        let b = "/m/b.pdf".to_owned();
        let seen_a = Seen {
            etag: Some("e1".into()),
            modified: Some("t1".into()),
            size: Some(3),
        };
        let seen_b = Seen {
            etag: Some("e2".into()),
            modified: Some("t1".into()),
            size: Some(3),
        };
        let mut gone = vec![(&a, &seen_a), (&b, &seen_b)];
        let moved = Seen {
            etag: Some("e2".into()),
            ..seen_b.clone()
        };
        assert_eq!(take_moved(&mut gone, &moved), Some(b.clone()));
        // Without a matching ETag, the one file of that size and time.
        let renamed = Seen {
            etag: Some("e9".into()),
            ..seen_a.clone()
        };
        assert_eq!(take_moved(&mut gone, &renamed), Some(a.clone()));
        assert!(gone.is_empty());
    }

    #[test]
    fn multistatus_is_read_by_namespace() {
        let xml = r#"<?xml version="1.0"?><ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="https://lexgate.dev/ns/webdav"><ns0:response><ns0:href>/m1/</ns0:href><ns0:propstat><ns0:prop><ns0:resourcetype><ns0:collection /></ns0:resourcetype><ns1:matter-reference>2026/0001</ns1:matter-reference></ns0:prop><ns0:status>HTTP/1.1 200 OK</ns0:status></ns0:propstat><ns0:propstat><ns0:prop><ns0:getetag /></ns0:prop><ns0:status>HTTP/1.1 404 Not Found</ns0:status></ns0:propstat></ns0:response><ns0:response><ns0:href>/m1/a%20b.txt</ns0:href><ns0:propstat><ns0:prop><ns0:resourcetype /><ns0:getetag>10-20-3</ns0:getetag><ns0:getlastmodified>Sun, 06 Dec 2026 21:21:07 GMT</ns0:getlastmodified><ns0:getcontentlength>3</ns0:getcontentlength></ns0:prop><ns0:status>HTTP/1.1 200 OK</ns0:status></ns0:propstat></ns0:response></ns0:multistatus>"#;
        let entries = parse_multistatus(xml).expect("parsed");
        assert!(entries[0].collection);
        assert_eq!(entries[0].matter_reference.as_deref(), Some("2026/0001"));
        assert_eq!(entries[0].etag, None);
        assert!(!entries[1].collection);
        assert_eq!(entries[1].size, Some(3));
        assert_eq!(
            entries[1].modified.as_deref().and_then(parse_time),
            DateTime::parse_from_rfc3339("2026-12-06T21:21:07Z")
                .ok()
                .map(|t| t.with_timezone(&Utc))
        );
    }
}
