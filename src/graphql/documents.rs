//! Documents of matters' case files in the GraphQL API (issue 17).

use async_graphql::{Context, Object, ID};
use chrono::{DateTime, Utc};

use crate::contacts::ContactColumns;
use crate::documents::{DocumentRow, DocumentStatus};
use crate::error::GraphqlResult;
use crate::graphql::context::loader;
use crate::graphql::decode_id;
use crate::graphql::field_guard::{note_read_subjects, reads_personal};
use crate::graphql::loaders::*;
use crate::graphql::matters::Matter;
use crate::graphql::visibility;
use crate::ids::{self, NodeType};
use crate::sync::folders::{CaseFileFolderStatus, CaseFolder};

/// A document of a matter's case file: metadata only.
pub struct Document(pub DocumentRow);

impl From<DocumentRow> for Document {
    fn from(row: DocumentRow) -> Self {
        Document(row)
    }
}

/// Notes the matter's clients and counterparties as read when a personal field of a
/// document is: a case file's documents are about its parties.
struct DocumentRead<'a>(&'a str);

impl async_graphql::Guard for DocumentRead<'_> {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if reads_personal(ctx, "Document") {
            let parties = loader(ctx)
                .load_one(PartiesOfMatter(self.0.to_owned(), ContactColumns::Summary))
                .await?
                .unwrap_or_default();
            note_read_subjects(ctx, parties.iter().map(|p| p.contact.id()));
        }
        Ok(())
    }
}

/// A document of a matter's case file as the firm's document store holds it: its metadata,
/// never its bytes. Only partners, the matter's team (lawyers and trainees on it) and admins
/// read documents; a document deleted or moved at the store stays, marked so.
#[Object(guard = "DocumentRead(&self.0.matter_id)")]
impl Document {
    /// The document's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Document, &self.0.id)
    }

    /// The file name as the store shows it, e.g. "Atto di citazione.pdf".
    async fn title(&self) -> Option<&str> {
        Some(&self.0.title)
    }

    /// Where the document lies in the store (the path of its URL).
    async fn href(&self) -> Option<&str> {
        Some(&self.0.href)
    }

    /// The content type the store gives, e.g. "application/pdf"; null when it gives none.
    async fn content_type(&self) -> Option<&str> {
        self.0.content_type.as_deref()
    }

    /// The store's version of the document (its ETag); null when unknown.
    async fn etag(&self) -> Option<&str> {
        self.0.etag.as_deref()
    }

    /// The size in bytes; null when unknown.
    async fn size_bytes(&self) -> Option<i64> {
        self.0.size_bytes
    }

    /// Lower-case hex SHA-256 of the content; null when the store does not tell.
    async fn sha256(&self) -> Option<&str> {
        self.0.sha256.as_deref()
    }

    /// Who created the document, as the store names them; null when it does not tell.
    async fn created_by(&self) -> Option<&str> {
        self.0.created_by.as_deref()
    }

    /// Who last changed the document, as the store names them; null when it does not tell.
    async fn modified_by(&self) -> Option<&str> {
        self.0.modified_by.as_deref()
    }

    /// When the document was created at the store (UTC, ISO 8601); when it was first
    /// imported if the store does not tell.
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        Some(self.0.created_at.and_utc())
    }

    /// When the document last changed at the store (UTC, ISO 8601); null when unknown.
    async fn modified_at(&self) -> Option<DateTime<Utc>> {
        self.0.modified_at.map(|t| t.and_utc())
    }

    /// Whether the store still holds the document.
    async fn status(&self) -> async_graphql::Result<Option<DocumentStatus>> {
        DocumentStatus::from_db(&self.0.status).map(Some).gql()
    }

    /// When lexgate saw that the store no longer holds it (UTC, ISO 8601); null while it does.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at.map(|t| t.and_utc())
    }

    /// Where the document was before its last move in the store; null when it never moved.
    async fn moved_from(&self) -> Option<&str> {
        self.0.moved_from.as_deref()
    }

    /// When lexgate saw its last move (UTC, ISO 8601); null when it never moved.
    async fn moved_at(&self) -> Option<DateTime<Utc>> {
        self.0.moved_at.map(|t| t.and_utc())
    }

    /// When lexgate first imported the document (UTC, ISO 8601).
    async fn imported_at(&self) -> Option<DateTime<Utc>> {
        Some(self.0.imported_at.and_utc())
    }

    /// The matter whose case file holds the document.
    async fn matter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Matter>> {
        visibility::referenced_matter(ctx, &self.0.matter_id).await
    }
}

#[derive(Default)]
pub struct DocumentQueries;

#[Object]
impl DocumentQueries {
    /// One document by ID; null when it does not exist or the caller may not see its matter.
    /// Partners, the matter's team and admins.
    async fn document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Document` ID.")] id: ID,
    ) -> async_graphql::Result<Option<Document>> {
        let key = decode_id(NodeType::Document, &id)?;
        let document = loader(ctx).load_one(DocumentById(key)).await?.map(Document);
        visibility::lookup(ctx, document).await
    }
}

/// A matter's folder in a document store.
pub struct CaseFileFolder(pub CaseFolder);

/// A matter's folder in a document store whose connector instance makes one per matter
/// (`matterFolders`): requested when the matter is opened, made right after, retried with
/// backoff while the store fails.
#[Object]
impl CaseFileFolder {
    /// The name of the document store's connector instance.
    async fn store(&self) -> Option<&str> {
        Some(&self.0.store)
    }

    /// Whether the store has the folder.
    async fn status(&self) -> Option<CaseFileFolderStatus> {
        Some(self.0.request.status())
    }

    /// How many attempts to make it failed.
    async fn failed_attempts(&self) -> Option<i32> {
        Some(self.0.request.attempts)
    }

    /// What the store answered to the last failed attempt; null once the folder is made.
    async fn last_error(&self) -> Option<&str> {
        self.0.request.last_error.as_deref()
    }

    /// When the folder was requested (UTC, ISO 8601).
    async fn requested_at(&self) -> Option<DateTime<Utc>> {
        Some(self.0.request.requested_at.and_utc())
    }

    /// When the store was found to have it (UTC, ISO 8601); null until then.
    async fn made_at(&self) -> Option<DateTime<Utc>> {
        self.0.request.made_at.map(|t| t.and_utc())
    }

    /// When the next attempt is due (UTC, ISO 8601); null once the folder is made.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .request
            .made_at
            .is_none()
            .then(|| self.0.request.not_before.and_utc())
    }
}
