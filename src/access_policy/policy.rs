//! The authorisation policy: for every field of the GraphQL schema, which roles may read it
//! (object fields) or write it (mutations and input fields), and what kind of data it holds.
//!
//! It is an allow-list. A field without an entry is denied to everyone, and the schema test
//! fails while any field lacks one. Row-level need-to-know is `visibility`'s business; this
//! table says what a role may see of a row it can see.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use super::roles::{BuiltinRole::*, RoleSet};

/// What a field carries, which decides whether reading it is logged and who may ever see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataClass {
    /// Identifiers, statuses, counts: nothing about a person.
    Plain,
    /// Personal data: every read and write goes to the access log.
    Personal,
    /// Special categories and judicial data (Art. 9 and 10 GDPR): personal data readable only
    /// by the team of the matter it belongs to, on top of the roles below.
    Special,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRule {
    pub roles: RoleSet,
    pub class: DataClass,
}

struct Group {
    roles: RoleSet,
    class: DataClass,
    fields: &'static [&'static str],
}

struct TypeRules {
    type_name: &'static str,
    groups: &'static [Group],
}

const fn plain(roles: RoleSet, fields: &'static [&'static str]) -> Group {
    Group {
        roles,
        class: DataClass::Plain,
        fields,
    }
}

const fn personal(roles: RoleSet, fields: &'static [&'static str]) -> Group {
    Group {
        roles,
        class: DataClass::Personal,
        fields,
    }
}

const fn special(roles: RoleSet, fields: &'static [&'static str]) -> Group {
    Group {
        roles,
        class: DataClass::Special,
        fields,
    }
}

/// Every signed-in role.
pub const EVERYONE: RoleSet = RoleSet::of(&[
    Admin,
    Partner,
    Lawyer,
    Trainee,
    Staff,
    Marketing,
    Dpo,
    Integration,
]);
/// Every role whose rows are the whole firm's (all but lawyers and trainees).
const FIRM_WIDE: RoleSet = RoleSet::of(&[Admin, Partner, Staff, Marketing, Dpo, Integration]);
/// Signed in or not: logging in, and what a login answers.
const ANYONE: RoleSet = EVERYONE.with(RoleSet::PUBLIC);
/// Everyone who works on client matters, people and firm tools alike.
const CASEWORK: RoleSet = RoleSet::of(&[Admin, Partner, Lawyer, Trainee, Staff, Integration]);
/// Casework minus administrative staff: what was said and written in a matter.
const CASE_CONTENT: RoleSet = RoleSet::of(&[Admin, Partner, Lawyer, Trainee, Integration]);
/// Contact details beyond what a campaign needs; the DPO answers access and rectification requests.
const CONTACT_DETAILS: RoleSet = CASEWORK.with(RoleSet::of(&[Dpo]));
const MATTER_EDITORS: RoleSet = RoleSet::of(&[Admin, Partner, Lawyer, Integration]);
const MANAGEMENT: RoleSet = RoleSet::of(&[Admin, Partner]);
const CAMPAIGNS: RoleSet = RoleSet::of(&[Admin, Partner, Marketing]);
const ADMIN: RoleSet = RoleSet::of(&[Admin]);
const DPO: RoleSet = RoleSet::of(&[Dpo]);
/// The record of processing activities: kept by the DPO, readable by admins.
const REGISTER_READERS: RoleSet = RoleSet::of(&[Dpo, Admin]);
/// Art. 9/10 data: the lawyers of the matter's own team (checked per matter as well).
const MATTER_TEAM: RoleSet = RoleSet::of(&[Partner, Lawyer, Trainee]);
/// Documents of case files (issue 17): partners and the matter's team (lawyers and trainees,
/// who see only their matters' rows), and admins, who must reach whatever a role they hand
/// out reaches (separation of duties, `RoleGrant::gain_over`). Not staff, marketing, the DPO
/// or integrations.
const DOCUMENTS: RoleSet = MATTER_TEAM.with(ADMIN);
/// Purposes and the firm's privacy configuration.
const PRIVACY_ADMIN: RoleSet = RoleSet::of(&[Admin, Dpo]);
/// The assessments register: the DPO keeps it; those who record or rely on legitimate
/// interest read it.
const ASSESSMENT_READERS: RoleSet = RoleSet::of(&[Admin, Partner, Marketing, Dpo]);
/// The suppression list: marketing checks it, the DPO answers for it.
const SUPPRESSION: RoleSet = RoleSet::of(&[Admin, Marketing, Dpo]);
/// Billing (issue 16): who drafts invoices from a matter's time, and who issues them, records
/// payments and cancels them (the firm's administration, not the matter's lawyers).
const INVOICE_MAKERS: RoleSet = RoleSet::of(&[Admin, Partner, Lawyer, Staff, Integration]);
const INVOICE_ADMIN: RoleSet = RoleSet::of(&[Admin, Partner, Staff, Integration]);

/// Contact input fields beyond what a campaign needs: the same in create and update.
const CONTACT_DETAIL_INPUTS: &[&str] = &[
    "phones",
    "addresses",
    "codiceFiscale",
    "partitaIva",
    "notes",
    "responsibleUserId",
    "birthDate",
    "personalInterests",
    "familyDetails",
];

/// Contact details of the people an activity names (controller, representative, DPO).
const ACTIVITY_CONTACTS: &[&str] = &[
    "controllerContact",
    "jointControllerContact",
    "representativeContact",
    "dpoContact",
];

/// The rest of a processing activity's input: the same in create and update.
const ACTIVITY_INPUTS: &[&str] = &[
    "name",
    "description",
    "purposeIds",
    "dataSubjectCategories",
    "personalDataCategories",
    "recipientCategories",
    "processors",
    "transfers",
    "retention",
    "retentionMonths",
    "securityMeasures",
];

/// A breach's free text, which may name people.
const BREACH_TEXT: &[&str] = &["description", "likelyConsequences", "dpoNotes"];

/// The rest of a breach's input: the same in record and update.
const BREACH_INPUTS: &[&str] = &[
    "detectedAt",
    "natures",
    "subjectCategories",
    "approximateSubjects",
    "recordCategories",
    "approximateRecords",
    "measures",
    "authorityNotificationRequired",
    "noNotificationReason",
    "authorityNotifiedAt",
    "subjectsNotificationRequired",
    "subjectsNotifiedAt",
];

const CONNECTION: &[&str] = &["pageInfo", "edges", "nodes", "totalCount"];
const EDGE: &[&str] = &["node", "cursor"];

/// Types whose fields anyone who reaches them may read: the field that leads to them decides.
const OPEN_TYPES: &[(&str, &[&str])] = &[
    (
        "PageInfo",
        &["hasPreviousPage", "hasNextPage", "startCursor", "endCursor"],
    ),
    ("ContactConnection", CONNECTION),
    ("ContactEdge", EDGE),
    ("MatterConnection", CONNECTION),
    ("MatterEdge", EDGE),
    ("CommunicationConnection", CONNECTION),
    ("CommunicationEdge", EDGE),
    ("DeadlineConnection", CONNECTION),
    ("DeadlineEdge", EDGE),
    ("DocumentConnection", CONNECTION),
    ("DocumentEdge", EDGE),
    // Billing (issue 16).
    ("TimeEntryConnection", CONNECTION),
    ("TimeEntryEdge", EDGE),
    ("InvoiceConnection", CONNECTION),
    ("InvoiceEdge", EDGE),
    ("TimeEntryPayload", &["timeEntry"]),
    ("InvoicePayload", &["invoice"]),
    ("RecordPaymentPayload", &["invoice", "payment"]),
    (
        "BillMatterThroughConnectorPayload",
        &["invoice", "itemsPushed", "itemsRecovered"],
    ),
    ("ImportFatturaPaPayload", &["invoices"]),
    ("ImportedInvoice", &["invoice", "created", "clientCreated"]),
    ("InvoiceExternalId", &["source", "externalId", "createdAt"]),
    (
        "UnbilledTime",
        &["matter", "user", "entries", "minutes", "amountCents"],
    ),
    (
        "MonthlyInvoiced",
        &["month", "invoices", "netCents", "totalCents"],
    ),
    ("MonthlyCollected", &["month", "payments", "amountCents"]),
    ("UserConnection", CONNECTION),
    ("UserEdge", EDGE),
    ("TeamConnection", CONNECTION),
    ("TeamEdge", EDGE),
    ("CampaignConnection", CONNECTION),
    ("CampaignEdge", EDGE),
    ("CampaignRecipientConnection", CONNECTION),
    ("CampaignRecipientEdge", EDGE),
    ("CampaignDeliveryConnection", CONNECTION),
    ("CampaignDeliveryEdge", EDGE),
    (
        "CampaignDeliveryCounts",
        &["pending", "sent", "failed", "unsubscribed"],
    ),
    (
        "SendCampaignPayload",
        &["campaign", "queued", "alreadySent"],
    ),
    ("SuppressionConnection", CONNECTION),
    ("SuppressionEdge", EDGE),
    ("PurposePayload", &["purpose"]),
    ("RetentionPolicyPayload", &["policy"]),
    ("AssessmentPayload", &["assessment"]),
    ("ContactSourcePayload", &["source"]),
    ("ProcessingGroundPayload", &["ground"]),
    ("ConsentPayload", &["consent"]),
    ("ObjectionPayload", &["objection"]),
    ("SuppressionPayload", &["suppression"]),
    (
        "Purpose",
        &[
            "key",
            "name",
            "description",
            "marketing",
            "builtIn",
            "profiling",
        ],
    ),
    ("TimelineItemConnection", CONNECTION),
    ("TimelineItemEdge", EDGE),
    ("AccessLogEntryConnection", CONNECTION),
    ("AccessLogEntryEdge", EDGE),
    ("SubjectRequestConnection", CONNECTION),
    ("SubjectRequestEdge", EDGE),
    ("ContactChangeConnection", CONNECTION),
    ("ContactChangeEdge", EDGE),
    ("ErasureLogEntryConnection", CONNECTION),
    ("ErasureLogEntryEdge", EDGE),
    ("SubjectRequestPayload", &["request"]),
    ("ErasurePayload", &["request", "erasure"]),
    ("LegalHoldPayload", &["legalHold"]),
    ("ProcessingRestriction", &["restrictedAt", "reason"]),
    ("ProcessingActivityConnection", CONNECTION),
    ("ProcessingActivityEdge", EDGE),
    ("BreachConnection", CONNECTION),
    ("BreachEdge", EDGE),
    ("ProcessingActivityPayload", &["processingActivity"]),
    ("BreachPayload", &["breach"]),
    ("ContactPayload", &["contact", "warnings"]),
    ("MatterPayload", &["matter"]),
    ("CommunicationPayload", &["communication"]),
    ("DeadlinePayload", &["deadline", "termComputation"]),
    (
        "DeadlineComputation",
        &["date", "expiresAt", "ferialeSuspensionApplied", "steps"],
    ),
    ("DeadlineStep", &["rule", "from", "to", "explanation"]),
    (
        "CalendarFeed",
        &["id", "createdAt", "revokedAt", "lastUsedAt"],
    ),
    ("CreateCalendarFeedPayload", &["feed", "path"]),
    (
        "DailyDigest",
        &["enabled", "hour", "timeZone", "daysAhead", "updatedAt"],
    ),
    ("DailyDigestPayload", &["dailyDigest"]),
    ("CalendarFeedPayload", &["feed"]),
    ("UserPayload", &["user"]),
    ("TeamPayload", &["team"]),
    ("CampaignPayload", &["campaign"]),
    ("RolePayload", &["role"]),
    ("DeletePayload", &["deletedId"]),
    ("DeleteRolePayload", &["deletedName"]),
    ("ApiKeyPayload", &["apiKey"]),
    ("CreateApiKeyPayload", &["apiKey", "secret"]),
    ("LogoutPayload", &["loggedOut"]),
    ("ConnectorInstancePayload", &["connectorInstance"]),
    ("ConnectorAuthorizationPayload", &["authorizationUrl"]),
    ("SyncRunPayload", &["run"]),
    ("SyncReviewItemPayload", &["item"]),
    ("PushContactPayload", &["externalId"]),
    (
        "ProvenanceRule",
        &["origin", "basis", "purposeKey", "assessmentId", "category"],
    ),
    ("SyncRunError", &["externalId", "message"]),
    (
        "ApiKey",
        &[
            "id",
            "name",
            "role",
            "prefix",
            "createdAt",
            "expiresAt",
            "revokedAt",
            "lastUsedAt",
        ],
    ),
    ("Viewer", &["role", "externalSubject", "user", "apiKey"]),
    (
        "Team",
        &["id", "name", "description", "members", "createdAt"],
    ),
    ("MatterTeamMember", &["user", "role"]),
    ("MatterEvent", &["kind", "summary", "occurredAt"]),
    ("MatterStatusCount", &["status", "practiceArea", "count"]),
    ("AssigneeDeadlineCount", &["user", "team", "count"]),
    ("MonthlyChannelCount", &["month", "channel", "count"]),
    ("MonthlyCategoryCount", &["month", "category", "count"]),
    (
        "ContactFilterValue",
        &[
            "text",
            "kind",
            "categories",
            "tags",
            "responsibleUserId",
            "organizationId",
            "createdFrom",
            "createdTo",
        ],
    ),
    (
        "Role",
        &[
            "name",
            "description",
            "baseRole",
            "deniedFields",
            "builtIn",
            "createdAt",
            "updatedAt",
        ],
    ),
    ("Node", &["id"]),
    ("EmailAddress", &["address", "label", "isPec"]),
    ("PhoneNumber", &["number", "label"]),
    (
        "PostalAddress",
        &[
            "label",
            "street",
            "postalCode",
            "city",
            "province",
            "country",
        ],
    ),
];

/// Input types every caller of their mutation or query may fill in completely.
const OPEN_INPUTS: &[(&str, &[&str])] = &[
    ("LoginInput", &["email", "password"]),
    ("RefreshSessionInput", &["refreshToken"]),
    ("SetUserPasswordInput", &["userId", "password"]),
    ("CreateApiKeyInput", &["name", "role", "expiresAt"]),
    ("DeleteInput", &["id"]),
    (
        "SetDailyDigestInput",
        &["enabled", "hour", "timeZone", "daysAhead"],
    ),
    ("MergeContactsInput", &["survivorId", "mergedIds"]),
    ("EmailInput", &["address", "label", "isPec"]),
    ("PhoneInput", &["number", "label"]),
    (
        "AddressInput",
        &[
            "label",
            "street",
            "postalCode",
            "city",
            "province",
            "country",
        ],
    ),
    ("AffiliationInput", &["organizationId", "jobTitle"]),
    ("TeamMemberInput", &["userId", "role"]),
    ("MatterTeamMemberInput", &["matterId", "userId", "role"]),
    (
        "UpdateCommunicationInput",
        &[
            "id",
            "channel",
            "direction",
            "occurredAt",
            "subject",
            "summary",
            "matterId",
            "participantIds",
        ],
    ),
    (
        "CreateDeadlineInput",
        &[
            "title",
            "kind",
            "description",
            "dueAt",
            "matterId",
            "contactId",
            "assigneeUserIds",
            "assigneeTeamIds",
            "reminderOffsets",
            "term",
        ],
    ),
    (
        "DeadlineTermInput",
        &["from", "amount", "unit", "direction", "rules"],
    ),
    ("TermRules", &["free", "ferialeExemption", "act", "court"]),
    (
        "UpdateDeadlineInput",
        &[
            "id",
            "title",
            "kind",
            "description",
            "dueAt",
            "status",
            "matterId",
            "contactId",
            "assigneeUserIds",
            "assigneeTeamIds",
            "reminderOffsets",
        ],
    ),
    ("CreateUserInput", &["email", "displayName", "role"]),
    (
        "UpdateUserInput",
        &["id", "email", "displayName", "role", "active"],
    ),
    ("CreateTeamInput", &["name", "description", "memberIds"]),
    (
        "UpdateTeamInput",
        &["id", "name", "description", "memberIds"],
    ),
    ("TeamMembershipInput", &["teamId", "userId"]),
    (
        "CreateCampaignInput",
        &[
            "name",
            "purpose",
            "description",
            "audienceFilter",
            "scheduledAt",
            "analogousServices",
        ],
    ),
    ("SendCampaignInput", &["id"]),
    (
        "UpdateCampaignInput",
        &[
            "id",
            "name",
            "purpose",
            "status",
            "description",
            "audienceFilter",
            "scheduledAt",
            "analogousServices",
        ],
    ),
    (
        "CreateRoleInput",
        &["name", "description", "baseRole", "deniedFields"],
    ),
    ("UpdateRoleInput", &["name", "description", "deniedFields"]),
    ("DeleteRoleInput", &["name"]),
    // Connector administration: only admins reach these mutations.
    (
        "CreateConnectorInstanceInput",
        &[
            "name",
            "kind",
            "baseUrl",
            "clientId",
            "clientSecret",
            "authUrl",
            "tokenUrl",
            "scopes",
            "webhookSecret",
            "scheduleMinutes",
            "pageSize",
            "sourceDetail",
            "provenance",
            // Mail kinds (issue 15).
            "username",
            "password",
            "login",
            "plaintext",
            "caCertificate",
            "folders",
            "ownDomains",
            "storeBodies",
            "ignoreAddresses",
            // The caldav kind (issue 15).
            "pastDays",
            "futureDays",
            "deadlineUsers",
            // The webdav kind (issue 17).
            "matterFolders",
            // The stripe kind (issue 16).
            "apiKey",
        ],
    ),
    (
        "UpdateConnectorInstanceInput",
        &[
            "id",
            "baseUrl",
            "clientSecret",
            "webhookSecret",
            "scheduleMinutes",
            "enabled",
            "sourceDetail",
            "provenance",
            // Mail kinds (issue 15).
            "password",
            // The calendar and DAV kinds (issue 15).
            "deadlineUsers",
            "caCertificate",
            // The stripe kind (issue 16).
            "apiKey",
        ],
    ),
    (
        "ProvenanceRuleInput",
        &["origin", "basis", "purposeKey", "assessmentId", "category"],
    ),
    ("ConnectorInstanceRefInput", &["id"]),
    ("PushContactToConnectorInput", &["instanceId", "contactId"]),
    (
        "BillMatterThroughConnectorInput",
        &["instanceId", "matterId"],
    ),
    (
        "ResolveSyncReviewItemInput",
        &[
            "id",
            "decision",
            "basis",
            "purposeKey",
            "assessmentId",
            "category",
        ],
    ),
    (
        "ContactFilter",
        &[
            "text",
            "kind",
            "categories",
            "tags",
            "responsibleUserId",
            "organizationId",
            "createdFrom",
            "createdTo",
        ],
    ),
    ("ContactOrder", &["field", "direction"]),
    (
        "MatterFilter",
        &[
            "text",
            "statuses",
            "practiceAreas",
            "contactId",
            "responsibleUserId",
            "teamMemberId",
            "openedFrom",
            "openedTo",
        ],
    ),
    ("MatterOrder", &["field", "direction"]),
    (
        "CommunicationFilter",
        &[
            "text",
            "matterId",
            "contactId",
            "channels",
            "direction",
            "occurredFrom",
            "occurredTo",
        ],
    ),
    (
        "DeadlineFilter",
        &[
            "text",
            "dueFrom",
            "dueTo",
            "statuses",
            "kinds",
            "matterId",
            "contactId",
            "assigneeUserId",
            "assigneeTeamId",
        ],
    ),
    ("UserFilter", &["text", "role", "active"]),
    (
        "CreatePurposeInput",
        &["key", "name", "description", "marketing", "profiling"],
    ),
    ("UpdatePurposeInput", &["key", "name", "description"]),
    (
        "CreateRetentionPolicyInput",
        &[
            "name",
            "category",
            "purpose",
            "months",
            "renewOnContact",
            "description",
            "purposeCategory",
        ],
    ),
    (
        "UpdateRetentionPolicyInput",
        &[
            "id",
            "name",
            "months",
            "renewOnContact",
            "description",
            "active",
        ],
    ),
    (
        "CreateAssessmentInput",
        &[
            "kind",
            "title",
            "outcome",
            "summary",
            "assessedOn",
            "ownerId",
            "reviewOn",
            "purposes",
        ],
    ),
    (
        "UpdateAssessmentInput",
        &[
            "id",
            "title",
            "outcome",
            "summary",
            "assessedOn",
            "ownerId",
            "reviewOn",
            "purposes",
        ],
    ),
    ("AddContactSourceInput", &["contactId", "source"]),
    ("RecordProcessingGroundInput", &["contactId", "ground"]),
    ("RecordReconsentInput", &["contactId", "purpose", "consent"]),
    ("EndProcessingGroundInput", &["id", "reason"]),
    (
        "WithdrawConsentInput",
        &["consentId", "withdrawnAt", "method"],
    ),
    ("CampaignFilter", &["text", "statuses", "purpose"]),
    // Billing (issue 16).
    (
        "TimeEntryFilter",
        &[
            "matterId",
            "userId",
            "from",
            "to",
            "billable",
            "billed",
            "invoiceId",
        ],
    ),
    (
        "InvoiceFilter",
        &[
            "statuses",
            "clientId",
            "matterId",
            "fiscalYear",
            "issuedFrom",
            "issuedTo",
        ],
    ),
    ("IssueInvoiceInput", &["id", "issueDate", "dueDate"]),
    (
        "RecordPaymentInput",
        &["invoiceId", "amountCents", "paidOn", "method", "reference"],
    ),
];

/// The fields whose access depends on the role.
const RULES: &[TypeRules] = &[
    TypeRules {
        type_name: "Query",
        groups: &[
            plain(
                EVERYONE,
                &[
                    "node",
                    "nodes",
                    "viewer",
                    "contacts",
                    "organizations",
                    "contact",
                    "users",
                    "teams",
                ],
            ),
            plain(
                MANAGEMENT.with(RoleSet::of(&[Staff, Marketing])),
                &["reports"],
            ),
            plain(ADMIN, &["apiKeys"]),
            plain(ADMIN.with(RoleSet::of(&[Dpo])), &["roles"]),
            plain(
                MANAGEMENT.with(RoleSet::of(&[Staff, Dpo])),
                &["findDuplicates"],
            ),
            plain(
                CASEWORK,
                &["matters", "matter", "communications", "deadlines"],
            ),
            plain(CASEWORK, &["computeDeadline"]),
            plain(DOCUMENTS, &["document"]),
            plain(EVERYONE, &["calendarFeeds"]),
            plain(EVERYONE, &["dailyDigest"]),
            plain(CAMPAIGNS, &["campaigns", "campaignAudience"]),
            personal(DPO, &["accessLog", "breachScope"]),
            // The record of processing is the DPO's; admins may read it (and its export
            // names the DPO and the controller's contacts: personal data).
            plain(
                REGISTER_READERS,
                &["processingActivities", "processingActivity"],
            ),
            personal(REGISTER_READERS, &["processingRegisterExport"]),
            plain(DPO, &["breaches", "breach"]),
            plain(EVERYONE, &["purposes"]),
            plain(PRIVACY_ADMIN, &["retentionPolicies"]),
            plain(ASSESSMENT_READERS, &["assessments"]),
            plain(SUPPRESSION, &["suppressions", "suppressedEmails"]),
            // Data-subject rights are the DPO's; the export is a whole person's data.
            plain(DPO, &["subjectRequests", "legalHolds", "erasureLog"]),
            personal(DPO, &["subjectAccessExport"]),
            // Connector configuration is the admin's; the review queue holds personal data
            // of people not yet imported, which the DPO may also decide on.
            plain(ADMIN, &["connectorInstances", "connectorInstance"]),
            personal(ADMIN.with(DPO), &["syncReviewItems"]),
            // Billing (issue 16): need-to-know by row, as matters.
            plain(CASEWORK, &["timeEntries", "invoices"]),
            personal(CASEWORK, &["ledesExport", "fatturaPa", "matterLedesExport"]),
        ],
    },
    TypeRules {
        type_name: "Mutation",
        groups: &[
            plain(ANYONE, &["login", "refreshSession"]),
            plain(EVERYONE, &["logout"]),
            plain(
                ADMIN,
                &[
                    "setUserPassword",
                    "createApiKey",
                    "revokeApiKey",
                    "createUser",
                    "updateUser",
                    "deleteUser",
                    "createTeam",
                    "updateTeam",
                    "deleteTeam",
                    "addTeamMember",
                    "removeTeamMember",
                    "createRole",
                    "updateRole",
                    "deleteRole",
                ],
            ),
            personal(CASEWORK.with(RoleSet::of(&[Marketing])), &["createContact"]),
            personal(
                CASEWORK.with(RoleSet::of(&[Marketing, Dpo])),
                &["updateContact"],
            ),
            personal(MANAGEMENT.with(DPO), &["deleteContact"]),
            personal(
                MANAGEMENT.with(RoleSet::of(&[Staff, Dpo])),
                &["mergeContacts"],
            ),
            plain(
                MATTER_EDITORS,
                &[
                    "createMatter",
                    "updateMatter",
                    "archiveMatter",
                    "addMatterTeamMember",
                    "removeMatterTeamMember",
                ],
            ),
            plain(MANAGEMENT, &["deleteMatter"]),
            personal(CASEWORK, &["logCommunication", "updateCommunication"]),
            personal(
                MANAGEMENT.with(RoleSet::of(&[Lawyer])),
                &["deleteCommunication"],
            ),
            plain(
                CASEWORK,
                &["createDeadline", "updateDeadline", "completeDeadline"],
            ),
            plain(
                MANAGEMENT.with(RoleSet::of(&[Lawyer, Staff])),
                &["deleteDeadline"],
            ),
            plain(EVERYONE, &["createCalendarFeed", "revokeCalendarFeed"]),
            plain(EVERYONE, &["setDailyDigest"]),
            // Billing (issue 16).
            personal(CASEWORK, &["createTimeEntry", "updateTimeEntry"]),
            plain(CASEWORK, &["deleteTimeEntry"]),
            personal(INVOICE_MAKERS, &["createInvoice"]),
            personal(INVOICE_ADMIN, &["issueInvoice"]),
            plain(INVOICE_ADMIN, &["recordPayment", "cancelInvoice"]),
            personal(INVOICE_ADMIN, &["importFatturaPa"]),
            // Sends the matter's time to the billing system under the client's customer.
            personal(INVOICE_ADMIN, &["billMatterThroughConnector"]),
            plain(
                CAMPAIGNS,
                &[
                    "createCampaign",
                    "updateCampaign",
                    "deleteCampaign",
                    "sendCampaign",
                ],
            ),
            personal(
                DPO,
                &[
                    "createProcessingActivity",
                    "updateProcessingActivity",
                    "deleteProcessingActivity",
                    "recordBreach",
                    "updateBreach",
                    "fillBreachSubjects",
                ],
            ),
            plain(PRIVACY_ADMIN, &["createPurpose", "updatePurpose"]),
            plain(
                DPO,
                &[
                    "createRetentionPolicy",
                    "updateRetentionPolicy",
                    "runRetention",
                ],
            ),
            plain(
                DPO,
                &["createAssessment", "updateAssessment", "deleteAssessment"],
            ),
            personal(
                EVERYONE,
                &[
                    "addContactSource",
                    "recordProcessingGround",
                    "endProcessingGround",
                    "withdrawConsent",
                    "recordObjection",
                ],
            ),
            personal(SUPPRESSION, &["suppressAddress"]),
            personal(SUPPRESSION, &["recordReconsent"]),
            personal(
                DPO,
                &[
                    "createSubjectRequest",
                    "updateSubjectRequest",
                    "verifySubjectIdentity",
                    "extendSubjectRequest",
                    "refuseRequest",
                    "completeSubjectRequest",
                    "executeErasure",
                    "restrictProcessing",
                    "liftRestriction",
                    "placeLegalHold",
                    "releaseLegalHold",
                ],
            ),
            plain(
                ADMIN,
                &[
                    "createConnectorInstance",
                    "updateConnectorInstance",
                    "deleteConnectorInstance",
                    "startConnectorAuthorization",
                    "runConnectorSync",
                ],
            ),
            // Discloses a contact's data to a provider (recorded as a recipient).
            personal(ADMIN, &["pushContactToConnector"]),
            personal(ADMIN.with(DPO), &["resolveSyncReviewItem"]),
        ],
    },
    TypeRules {
        type_name: "ConnectorInstance",
        groups: &[plain(
            ADMIN,
            &[
                "id",
                "name",
                "kind",
                "baseUrl",
                "clientId",
                "authUrl",
                "tokenUrl",
                "scopes",
                "pageSize",
                "scheduleMinutes",
                "enabled",
                "hasClientSecret",
                "authorized",
                "hasWebhookSecret",
                "sourceDetail",
                "provenance",
                "runs",
                "createdAt",
                "updatedAt",
                // Webhooks kept at the provider (issue 17).
                "webhooks",
                // Mail kinds (issue 15).
                "username",
                "login",
                "plaintext",
                "caCertificate",
                "folders",
                "ownDomains",
                "storeBodies",
                "ignoreAddresses",
                "hasPassword",
                "deadlineUsers",
                // Billing kinds (issue 16).
                "hasApiKey",
            ],
        )],
    },
    TypeRules {
        type_name: "SyncRun",
        groups: &[plain(
            ADMIN,
            &[
                "id",
                "trigger",
                "status",
                "fullSync",
                "startedAt",
                "finishedAt",
                "created",
                "updated",
                "linked",
                "deleted",
                "skipped",
                "review",
                "failed",
                "errors",
                "pushed",
                "pushRemoved",
                "pushConflicts",
            ],
        )],
    },
    TypeRules {
        type_name: "SyncReviewItem",
        groups: &[
            plain(
                ADMIN.with(DPO),
                &[
                    "id",
                    "instanceId",
                    "externalId",
                    "origin",
                    "reason",
                    "createdAt",
                    "resolvedAt",
                    "resolution",
                    "contactId",
                ],
            ),
            personal(ADMIN.with(DPO), &["name", "emails", "phones"]),
        ],
    },
    TypeRules {
        type_name: "Contact",
        groups: &[
            plain(
                EVERYONE,
                &["id", "kind", "category", "createdAt", "updatedAt"],
            ),
            personal(
                EVERYONE,
                &[
                    "displayName",
                    "givenName",
                    "familyName",
                    "organizationName",
                    "emails",
                    "pec",
                    "tags",
                    "organizations",
                    "members",
                ],
            ),
            personal(
                CONTACT_DETAILS,
                &[
                    "phones",
                    "addresses",
                    "codiceFiscale",
                    "partitaIva",
                    "responsible",
                    "birthDate",
                    "personalInterests",
                    "familyDetails",
                ],
            ),
            personal(CASE_CONTENT.with(DPO), &["notes"]),
            personal(CASEWORK, &["matters", "communications"]),
            // Whoever may use a contact must see that its processing is restricted.
            personal(EVERYONE, &["restriction"]),
            personal(DPO, &["changeHistory"]),
            // Provenance and bases: everyone who handles the contact must be able to answer
            // "where did you get my data, and on what basis?".
            personal(
                EVERYONE,
                &["sources", "processingGrounds", "consents", "objections"],
            ),
        ],
    },
    TypeRules {
        type_name: "ContactSource",
        groups: &[
            plain(
                EVERYONE,
                &[
                    "kind",
                    "connector",
                    "externalId",
                    "acquiredAt",
                    "acquiredBy",
                    "recordedAt",
                    "recordedBy",
                ],
            ),
            personal(EVERYONE, &["detail"]),
        ],
    },
    TypeRules {
        type_name: "ProcessingGround",
        groups: &[
            plain(
                EVERYONE,
                &[
                    "id",
                    "purpose",
                    "legalBasis",
                    "consent",
                    "startedAt",
                    "endedAt",
                    "endReason",
                    "active",
                    "recordedBy",
                ],
            ),
            plain(ASSESSMENT_READERS, &["assessment"]),
            personal(EVERYONE, &["note"]),
            personal(EVERYONE, &["basisEvidence"]),
        ],
    },
    TypeRules {
        type_name: "Consent",
        groups: &[
            plain(
                EVERYONE,
                &[
                    "id",
                    "purpose",
                    "givenAt",
                    "method",
                    "noticeVersion",
                    "doubleOptInAt",
                    "withdrawnAt",
                    "withdrawalMethod",
                    "active",
                    "recordedAt",
                    "recordedBy",
                    "doubleOptInRequestedAt",
                    "doubleOptInPending",
                    "liftsSuppression",
                ],
            ),
            personal(EVERYONE, &["collectedBy", "proofReference"]),
            personal(
                EVERYONE,
                &["doubleOptInClientAddress", "doubleOptInUserAgent"],
            ),
        ],
    },
    TypeRules {
        type_name: "Objection",
        groups: &[
            plain(
                EVERYONE,
                &["id", "purpose", "receivedAt", "method", "recordedBy"],
            ),
            personal(EVERYONE, &["note"]),
        ],
    },
    TypeRules {
        type_name: "Assessment",
        groups: &[plain(
            ASSESSMENT_READERS,
            &[
                "id",
                "kind",
                "title",
                "outcome",
                "summary",
                "assessedOn",
                "owner",
                "reviewOn",
                "purposes",
                "createdAt",
                "updatedAt",
            ],
        )],
    },
    TypeRules {
        type_name: "RetentionPolicy",
        groups: &[plain(
            PRIVACY_ADMIN,
            &[
                "id",
                "name",
                "category",
                "purpose",
                "months",
                "renewOnContact",
                "description",
                "active",
                "updatedAt",
                "purposeCategory",
            ],
        )],
    },
    TypeRules {
        type_name: "RetentionSummary",
        groups: &[plain(
            DPO,
            &[
                "dryRun",
                "groundsEnded",
                "contactsErased",
                "contactsPartlyKept",
                "mattersAnonymised",
            ],
        )],
    },
    TypeRules {
        type_name: "Suppression",
        groups: &[plain(
            SUPPRESSION,
            &[
                "channel",
                "valueHash",
                "purpose",
                "reason",
                "createdAt",
                "createdBy",
            ],
        )],
    },
    TypeRules {
        type_name: "CampaignRecipient",
        groups: &[
            plain(CAMPAIGNS, &["contact", "basis", "groundId"]),
            personal(CAMPAIGNS, &["emails"]),
        ],
    },
    TypeRules {
        type_name: "ContactSourceInput",
        groups: &[
            plain(
                EVERYONE,
                &["kind", "connector", "acquiredAt", "acquiredById"],
            ),
            personal(EVERYONE, &["detail", "externalId"]),
        ],
    },
    TypeRules {
        type_name: "ProcessingGroundInput",
        groups: &[
            plain(
                EVERYONE,
                &["purpose", "legalBasis", "consent", "assessmentId"],
            ),
            personal(EVERYONE, &["note"]),
            personal(EVERYONE, &["basisAroseAt", "basisEvidence"]),
        ],
    },
    TypeRules {
        type_name: "ConsentEvidenceInput",
        groups: &[
            plain(
                EVERYONE,
                &["givenAt", "method", "noticeVersion", "doubleOptInAt"],
            ),
            personal(EVERYONE, &["collectedBy", "proofReference"]),
        ],
    },
    TypeRules {
        type_name: "RecordObjectionInput",
        groups: &[
            plain(EVERYONE, &["contactId", "purpose", "receivedAt", "method"]),
            personal(EVERYONE, &["note"]),
        ],
    },
    TypeRules {
        type_name: "SuppressAddressInput",
        groups: &[
            plain(SUPPRESSION, &["purpose"]),
            personal(SUPPRESSION, &["email", "phone"]),
        ],
    },
    TypeRules {
        type_name: "Affiliation",
        groups: &[
            plain(EVERYONE, &["person", "organization"]),
            personal(EVERYONE, &["jobTitle"]),
        ],
    },
    TypeRules {
        type_name: "DuplicateGroup",
        groups: &[
            plain(EVERYONE, &["reason", "contacts"]),
            personal(EVERYONE, &["value"]),
        ],
    },
    TypeRules {
        type_name: "Matter",
        groups: &[
            plain(
                CASEWORK,
                &[
                    "id",
                    "reference",
                    "title",
                    "practiceArea",
                    "status",
                    "openedOn",
                    "closedOn",
                    "responsibleLawyer",
                    "clients",
                    "counterparties",
                    "team",
                    "communications",
                    "deadlines",
                    "timeline",
                    "createdAt",
                    "updatedAt",
                ],
            ),
            personal(CASE_CONTENT, &["description"]),
            special(MATTER_TEAM, &["criminalProceedingsNotes", "healthDetails"]),
            // Billing (issue 16).
            plain(CASEWORK, &["timeEntries"]),
            plain(DOCUMENTS, &["documents", "caseFileFolders"]),
        ],
    },
    // A webhook kept at a connector's provider (issue 17): its state, no secret.
    TypeRules {
        type_name: "ConnectorWebhook",
        groups: &[plain(ADMIN, &["model", "status", "expiresAt", "lastError"])],
    },
    // A matter's folder in a document store (issue 17): its state, no personal data.
    TypeRules {
        type_name: "CaseFileFolder",
        groups: &[plain(
            DOCUMENTS,
            &[
                "store",
                "status",
                "failedAttempts",
                "lastError",
                "requestedAt",
                "madeAt",
                "nextAttemptAt",
            ],
        )],
    },
    // Case-file documents (issue 17). The ID is readable wherever the timeline leads, but
    // the timeline lists documents only to those who may read them.
    TypeRules {
        type_name: "Document",
        groups: &[
            plain(CASEWORK, &["id"]),
            plain(
                DOCUMENTS,
                &[
                    "contentType",
                    "etag",
                    "sizeBytes",
                    "sha256",
                    "createdAt",
                    "modifiedAt",
                    "status",
                    "deletedAt",
                    "movedAt",
                    "importedAt",
                    "matter",
                ],
            ),
            // File names and paths often name people; so do the store's authors.
            personal(
                DOCUMENTS,
                &["title", "href", "createdBy", "modifiedBy", "movedFrom"],
            ),
        ],
    },
    TypeRules {
        type_name: "Communication",
        groups: &[
            plain(
                CASEWORK,
                &[
                    "id",
                    "channel",
                    "direction",
                    "occurredAt",
                    "matter",
                    "participants",
                    "author",
                    "createdAt",
                    "updatedAt",
                    // Imported mail (issue 15).
                    "source",
                    "attachments",
                ],
            ),
            personal(CASE_CONTENT, &["subject", "summary"]),
            // Imported mail (issue 15).
            personal(CASE_CONTENT, &["body"]),
        ],
    },
    // Imported mail (issue 15): where it came from; attachments as metadata.
    TypeRules {
        type_name: "CommunicationSource",
        groups: &[
            plain(CASEWORK, &["connector", "importedAt"]),
            personal(CASEWORK, &["messageId"]),
        ],
    },
    TypeRules {
        type_name: "CommunicationAttachment",
        groups: &[
            plain(CASEWORK, &["contentType", "sizeBytes", "sha256"]),
            personal(CASE_CONTENT, &["name"]),
        ],
    },
    TypeRules {
        type_name: "Deadline",
        groups: &[plain(
            CASEWORK,
            &[
                "id",
                "title",
                "kind",
                "description",
                "dueAt",
                "status",
                "completedAt",
                "overdue",
                "matter",
                "contact",
                "assignedUsers",
                "assignedTeams",
                "reminderOffsets",
                "createdAt",
                "updatedAt",
                "reminderDeliveries",
            ],
        )],
    },
    TypeRules {
        type_name: "ReminderDelivery",
        groups: &[
            personal(CASEWORK, &["recipient"]),
            plain(
                CASEWORK,
                &[
                    "recipientUser",
                    "status",
                    "attempts",
                    "lastError",
                    "nextAttemptAt",
                    "queuedAt",
                    "sentAt",
                ],
            ),
        ],
    },
    TypeRules {
        type_name: "User",
        groups: &[
            plain(
                ANYONE,
                &["id", "displayName", "role", "active", "createdAt"],
            ),
            personal(ANYONE, &["email"]),
            plain(EVERYONE, &["teams"]),
        ],
    },
    TypeRules {
        type_name: "SessionPayload",
        groups: &[plain(
            ANYONE,
            &[
                "accessToken",
                "accessTokenExpiresAt",
                "refreshToken",
                "user",
            ],
        )],
    },
    TypeRules {
        type_name: "Campaign",
        groups: &[plain(
            CAMPAIGNS,
            &[
                "id",
                "name",
                "purpose",
                "status",
                "description",
                "audienceFilter",
                "audienceSize",
                "matchingContacts",
                "analogousServices",
                "scheduledAt",
                "createdAt",
                "updatedAt",
                "deliveryCounts",
                "deliveries",
            ],
        )],
    },
    TypeRules {
        type_name: "CampaignDelivery",
        groups: &[
            plain(
                CAMPAIGNS,
                &[
                    "contact",
                    "basis",
                    "groundId",
                    "consentId",
                    "assessmentId",
                    "status",
                    "attempts",
                    "queuedAt",
                    "sentAt",
                    "unsubscribedAt",
                ],
            ),
            // SMTP replies often quote the address.
            personal(CAMPAIGNS, &["recipient", "lastError"]),
        ],
    },
    TypeRules {
        type_name: "Reports",
        groups: &[
            plain(MANAGEMENT, &["mattersByStatus", "communicationsPerMonth"]),
            plain(
                MANAGEMENT.with(RoleSet::of(&[Staff])),
                &["openDeadlinesPerAssignee"],
            ),
            plain(
                MANAGEMENT.with(RoleSet::of(&[Marketing])),
                &["newContactsPerMonth"],
            ),
            // Billing (issue 16).
            plain(
                MANAGEMENT.with(RoleSet::of(&[Staff])),
                &[
                    "unbilledTimePerMatter",
                    "unbilledTimePerLawyer",
                    "invoicedPerMonth",
                    "collectedPerMonth",
                ],
            ),
        ],
    },
    TypeRules {
        type_name: "AccessLogEntry",
        groups: &[
            plain(
                DPO,
                &[
                    "seq",
                    "occurredAt",
                    "principalKind",
                    "role",
                    "action",
                    "fields",
                    "hash",
                ],
            ),
            personal(
                DPO,
                &[
                    "principalId",
                    "operationName",
                    "clientAddress",
                    "userAgent",
                    "subjects",
                ],
            ),
        ],
    },
    TypeRules {
        type_name: "BreachScope",
        groups: &[
            plain(DPO, &["entryCount", "subjectCount", "fields"]),
            personal(DPO, &["subjects", "principals"]),
        ],
    },
    TypeRules {
        type_name: "SubjectRequest",
        groups: &[
            plain(
                DPO,
                &[
                    "id",
                    "kind",
                    "status",
                    "contact",
                    "contactId",
                    "receivedAt",
                    "channel",
                    "identityVerifiedAt",
                    "identityVerifiedBy",
                    "dueOn",
                    "originalDueOn",
                    "extensionReason",
                    "overdue",
                    "refusalReason",
                    "executedAt",
                    "handledBy",
                    "createdAt",
                    "updatedAt",
                ],
            ),
            personal(
                DPO,
                &[
                    "requesterName",
                    "requesterContact",
                    "identityMethod",
                    "notes",
                ],
            ),
        ],
    },
    TypeRules {
        type_name: "ContactChange",
        groups: &[
            plain(DPO, &["field", "changedAt", "changedBy"]),
            personal(DPO, &["oldValue", "newValue"]),
        ],
    },
    TypeRules {
        type_name: "LegalHold",
        groups: &[plain(
            DPO,
            &[
                "id",
                "contact",
                "matterId",
                "reason",
                "legalBasis",
                "until",
                "active",
                "createdBy",
                "createdAt",
                "releasedAt",
                "releasedBy",
            ],
        )],
    },
    TypeRules {
        type_name: "ErasureLogEntry",
        groups: &[plain(
            DPO,
            &[
                "requestId",
                "retentionPolicyId",
                "contactId",
                "executedAt",
                "executedBy",
                "contactDeleted",
                "erasedCategories",
                "keptCategories",
                "holdReasons",
            ],
        )],
    },
    TypeRules {
        type_name: "CreateSubjectRequestInput",
        groups: &[
            plain(DPO, &["kind", "channel", "receivedAt", "contactId"]),
            personal(DPO, &["requesterName", "requesterContact", "notes"]),
        ],
    },
    TypeRules {
        type_name: "UpdateSubjectRequestInput",
        groups: &[
            plain(DPO, &["id", "contactId"]),
            personal(DPO, &["requesterContact", "notes"]),
        ],
    },
    TypeRules {
        type_name: "VerifySubjectIdentityInput",
        groups: &[
            plain(DPO, &["id", "verifiedAt"]),
            personal(DPO, &["method"]),
        ],
    },
    TypeRules {
        type_name: "ExtendSubjectRequestInput",
        groups: &[plain(DPO, &["id", "months", "reason"])],
    },
    TypeRules {
        type_name: "RefuseRequestInput",
        groups: &[plain(DPO, &["id", "legalReason"])],
    },
    TypeRules {
        type_name: "CompleteSubjectRequestInput",
        groups: &[plain(DPO, &["id"]), personal(DPO, &["notes"])],
    },
    TypeRules {
        type_name: "ExecuteErasureInput",
        groups: &[plain(DPO, &["requestId"])],
    },
    TypeRules {
        type_name: "RestrictProcessingInput",
        groups: &[plain(DPO, &["contactId"]), personal(DPO, &["reason"])],
    },
    TypeRules {
        type_name: "LiftRestrictionInput",
        groups: &[plain(DPO, &["contactId"])],
    },
    TypeRules {
        type_name: "PlaceLegalHoldInput",
        groups: &[plain(
            DPO,
            &["contactId", "matterId", "reason", "legalBasis", "until"],
        )],
    },
    TypeRules {
        type_name: "ReleaseLegalHoldInput",
        groups: &[plain(DPO, &["id"])],
    },
    TypeRules {
        type_name: "SubjectRequestFilter",
        groups: &[plain(DPO, &["statuses", "kinds", "overdue", "contactId"])],
    },
    TypeRules {
        type_name: "CreateContactInput",
        groups: &[
            personal(
                EVERYONE,
                &[
                    "kind",
                    "givenName",
                    "familyName",
                    "organizationName",
                    "category",
                    "emails",
                    "tags",
                    "affiliations",
                    "source",
                    "grounds",
                ],
            ),
            personal(CONTACT_DETAILS, CONTACT_DETAIL_INPUTS),
            plain(EVERYONE, &["confirmReturningSubject"]),
        ],
    },
    TypeRules {
        type_name: "UpdateContactInput",
        groups: &[
            plain(EVERYONE, &["id"]),
            personal(
                EVERYONE,
                &[
                    "givenName",
                    "familyName",
                    "organizationName",
                    "category",
                    "emails",
                    "tags",
                    "affiliations",
                ],
            ),
            personal(CONTACT_DETAILS, CONTACT_DETAIL_INPUTS),
            personal(EVERYONE, &["returningSubjectSource"]),
        ],
    },
    TypeRules {
        type_name: "CreateMatterInput",
        groups: &[
            plain(
                EVERYONE,
                &[
                    "reference",
                    "title",
                    "practiceArea",
                    "status",
                    "description",
                    "responsibleUserId",
                    "openedOn",
                    "clientIds",
                    "counterpartyIds",
                    "team",
                ],
            ),
            special(MATTER_TEAM, &["criminalProceedingsNotes", "healthDetails"]),
        ],
    },
    TypeRules {
        type_name: "LogCommunicationInput",
        groups: &[
            plain(
                EVERYONE,
                &[
                    "channel",
                    "direction",
                    "occurredAt",
                    "subject",
                    "summary",
                    "matterId",
                    "participantIds",
                ],
            ),
            // Authorship makes a communication visible to its author: only roles that see
            // every matter may record one on someone else's behalf.
            plain(FIRM_WIDE, &["authorId"]),
        ],
    },
    TypeRules {
        type_name: "UpdateMatterInput",
        groups: &[
            plain(
                EVERYONE,
                &[
                    "id",
                    "reference",
                    "title",
                    "practiceArea",
                    "status",
                    "description",
                    "responsibleUserId",
                    "openedOn",
                    "closedOn",
                    "clientIds",
                    "counterpartyIds",
                ],
            ),
            special(MATTER_TEAM, &["criminalProceedingsNotes", "healthDetails"]),
        ],
    },
    TypeRules {
        type_name: "ProcessingActivity",
        groups: &[
            plain(
                REGISTER_READERS,
                &[
                    "id",
                    "name",
                    "description",
                    "purposes",
                    "dataSubjectCategories",
                    "personalDataCategories",
                    "specialCategories",
                    "judicialData",
                    "recipientCategories",
                    "processors",
                    "transfers",
                    "retention",
                    "retentionMonths",
                    "securityMeasures",
                    "createdAt",
                    "updatedAt",
                ],
            ),
            personal(REGISTER_READERS, ACTIVITY_CONTACTS),
        ],
    },
    TypeRules {
        type_name: "ActivityPurpose",
        groups: &[plain(REGISTER_READERS, &["id", "key", "name"])],
    },
    TypeRules {
        type_name: "PersonalDataCategory",
        groups: &[plain(REGISTER_READERS, &["name", "kind"])],
    },
    TypeRules {
        type_name: "ThirdCountryTransfer",
        groups: &[plain(
            REGISTER_READERS,
            &["country", "recipient", "safeguard", "detail"],
        )],
    },
    TypeRules {
        type_name: "Breach",
        groups: &[
            plain(
                DPO,
                &[
                    "id",
                    "detectedAt",
                    "natures",
                    "subjectCategories",
                    "approximateSubjects",
                    "recordCategories",
                    "approximateRecords",
                    "measures",
                    "authorityNotificationRequired",
                    "noNotificationReason",
                    "authorityNotifiedAt",
                    "subjectsNotificationRequired",
                    "subjectsNotifiedAt",
                    "closedAt",
                    "notificationDueAt",
                    "overdue",
                    "hoursRemaining",
                    "subjects",
                    "createdAt",
                    "updatedAt",
                ],
            ),
            // Free text about what happened may name people.
            personal(DPO, BREACH_TEXT),
        ],
    },
    TypeRules {
        type_name: "BreachSubject",
        groups: &[
            plain(DPO, &["fields"]),
            personal(DPO, &["contactId", "contact"]),
        ],
    },
    TypeRules {
        type_name: "CreateProcessingActivityInput",
        groups: &[
            plain(DPO, ACTIVITY_INPUTS),
            personal(DPO, ACTIVITY_CONTACTS),
        ],
    },
    TypeRules {
        type_name: "UpdateProcessingActivityInput",
        groups: &[
            plain(DPO, &["id"]),
            plain(DPO, ACTIVITY_INPUTS),
            personal(DPO, ACTIVITY_CONTACTS),
        ],
    },
    TypeRules {
        type_name: "PersonalDataCategoryInput",
        groups: &[plain(DPO, &["name", "kind"])],
    },
    TypeRules {
        type_name: "ThirdCountryTransferInput",
        groups: &[plain(DPO, &["country", "recipient", "safeguard", "detail"])],
    },
    TypeRules {
        type_name: "RecordBreachInput",
        groups: &[plain(DPO, BREACH_INPUTS), personal(DPO, BREACH_TEXT)],
    },
    TypeRules {
        type_name: "UpdateBreachInput",
        groups: &[
            plain(DPO, &["id", "closedAt"]),
            plain(DPO, BREACH_INPUTS),
            personal(DPO, BREACH_TEXT),
        ],
    },
    TypeRules {
        type_name: "BreachFilter",
        groups: &[plain(DPO, &["overdue", "open"])],
    },
    TypeRules {
        type_name: "FillBreachSubjectsInput",
        groups: &[
            plain(DPO, &["breachId", "from", "to"]),
            personal(DPO, &["principal"]),
        ],
    },
    // Billing (issue 16).
    TypeRules {
        type_name: "TimeEntry",
        groups: &[
            plain(
                CASEWORK,
                &[
                    "id",
                    "matter",
                    "user",
                    "date",
                    "minutes",
                    "taskCode",
                    "activityCode",
                    "billable",
                    "rateCents",
                    "amountCents",
                    "billed",
                    "invoice",
                    "createdAt",
                    "updatedAt",
                ],
            ),
            personal(CASEWORK, &["narrative"]),
        ],
    },
    TypeRules {
        type_name: "Invoice",
        groups: &[
            plain(
                CASEWORK,
                &[
                    "id",
                    "kind",
                    "status",
                    "number",
                    "sequence",
                    "fiscalYear",
                    "client",
                    "clientProvince",
                    "clientCountry",
                    "recipientCode",
                    "matters",
                    "issueDate",
                    "dueDate",
                    "currency",
                    "netCents",
                    "cassaRateBasisPoints",
                    "cassaCents",
                    "vatRateBasisPoints",
                    "vatCents",
                    "withholdingRateBasisPoints",
                    "withholdingCents",
                    "totalCents",
                    "payableCents",
                    "paidCents",
                    "outstandingCents",
                    "payments",
                    "paidAt",
                    "cancelledAt",
                    "createdAt",
                    "updatedAt",
                    "externalIds",
                ],
            ),
            personal(
                CASEWORK,
                &[
                    "clientName",
                    "clientCodiceFiscale",
                    "clientPartitaIva",
                    "clientStreet",
                    "clientPostalCode",
                    "clientCity",
                    "recipientPec",
                    "notes",
                    "lines",
                ],
            ),
        ],
    },
    TypeRules {
        type_name: "InvoiceLine",
        groups: &[
            plain(
                CASEWORK,
                &[
                    "position",
                    "matter",
                    "user",
                    "date",
                    "taskCode",
                    "activityCode",
                    "minutes",
                    "rateCents",
                    "amountCents",
                ],
            ),
            personal(CASEWORK, &["description"]),
        ],
    },
    TypeRules {
        type_name: "InvoicePayment",
        groups: &[plain(
            CASEWORK,
            &[
                "id",
                "amountCents",
                "paidOn",
                "method",
                "reference",
                "createdAt",
            ],
        )],
    },
    TypeRules {
        type_name: "CreateTimeEntryInput",
        groups: &[
            plain(
                CASEWORK,
                &[
                    "matterId",
                    "userId",
                    "date",
                    "minutes",
                    "taskCode",
                    "activityCode",
                    "billable",
                    "rateCents",
                ],
            ),
            personal(CASEWORK, &["narrative"]),
        ],
    },
    TypeRules {
        type_name: "UpdateTimeEntryInput",
        groups: &[
            plain(
                CASEWORK,
                &[
                    "id",
                    "date",
                    "minutes",
                    "taskCode",
                    "activityCode",
                    "billable",
                    "rateCents",
                ],
            ),
            personal(CASEWORK, &["narrative"]),
        ],
    },
    TypeRules {
        type_name: "CreateInvoiceInput",
        groups: &[
            plain(
                INVOICE_MAKERS,
                &[
                    "matterIds",
                    "clientId",
                    "kind",
                    "through",
                    "vatRateBasisPoints",
                    "withholding",
                    "recipientCode",
                ],
            ),
            personal(INVOICE_MAKERS, &["recipientPec", "notes"]),
        ],
    },
    TypeRules {
        type_name: "ImportFatturaPaInput",
        groups: &[personal(INVOICE_ADMIN, &["xml", "p7mBase64"])],
    },
];

/// A field the policy names, as the index of its entry: what the per-role tables of
/// [`RoleGrant`](super::RoleGrant) and a request's access trail are indexed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldId(u32);

impl FieldId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The policy as a lookup table from (type, field) to its rule.
pub struct Policy {
    /// FxHash: the keys are the schema's own names, and this lookup runs for every field of
    /// every row a request resolves.
    ids: FxHashMap<(&'static str, &'static str), FieldId>,
    /// Each field's type, name and rule, in `FieldId` order.
    fields: Vec<(&'static str, &'static str, FieldRule)>,
}

impl Policy {
    /// The rule for a field, or `None` when the policy has no entry (and the field is denied).
    pub fn rule(&self, type_name: &str, field: &str) -> Option<FieldRule> {
        self.field(type_name, field).map(|(_, rule)| rule)
    }

    /// The entry of a field and its rule, in one lookup; `None` when the policy has none.
    pub fn field(&self, type_name: &str, field: &str) -> Option<(FieldId, FieldRule)> {
        let id = *self.ids.get(&(type_name, field))?;
        Some((id, self.fields[id.index()].2))
    }

    /// The type and name of the field `id`.
    pub fn name(&self, id: FieldId) -> (&'static str, &'static str) {
        let (type_name, field, _) = self.fields[id.index()];
        (type_name, field)
    }

    /// Every (type, field) the policy names, in `FieldId` order.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &'static str, FieldRule)> + '_ {
        self.fields.iter().copied()
    }

    fn build() -> Policy {
        let mut policy = Policy {
            ids: FxHashMap::default(),
            fields: Vec::new(),
        };
        let open = FieldRule {
            roles: ANYONE,
            class: DataClass::Plain,
        };
        for (type_name, fields) in OPEN_TYPES.iter().chain(OPEN_INPUTS) {
            for field in *fields {
                policy.insert(type_name, field, open);
            }
        }
        for type_rules in RULES {
            for group in type_rules.groups {
                for field in group.fields {
                    let rule = FieldRule {
                        roles: group.roles,
                        class: group.class,
                    };
                    policy.insert(type_rules.type_name, field, rule);
                }
            }
        }
        policy
    }

    /// A later entry for the same field replaces the earlier (`no_field_is_listed_twice`
    /// keeps there from being any).
    fn insert(&mut self, type_name: &'static str, field: &'static str, rule: FieldRule) {
        match self.ids.get(&(type_name, field)) {
            Some(id) => self.fields[id.index()].2 = rule,
            None => {
                let id = FieldId(
                    u32::try_from(self.fields.len()).expect("the policy names under 2^32 fields"),
                );
                self.ids.insert((type_name, field), id);
                self.fields.push((type_name, field, rule));
            }
        }
    }
}

/// The one policy the server enforces.
pub static POLICY: LazyLock<Policy> = LazyLock::new(Policy::build);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access_policy::roles::BuiltinRole;

    #[test]
    fn no_field_is_listed_twice() {
        let mut seen = std::collections::HashSet::new();
        let listed = OPEN_TYPES
            .iter()
            .chain(OPEN_INPUTS)
            .flat_map(|(t, fields)| fields.iter().map(move |f| (*t, *f)))
            .chain(RULES.iter().flat_map(|t| {
                t.groups
                    .iter()
                    .flat_map(move |g| g.fields.iter().map(move |f| (t.type_name, *f)))
            }));
        for entry in listed {
            assert!(seen.insert(entry), "{entry:?} has two entries");
        }
    }

    #[test]
    fn need_to_know_in_brief() {
        let allows = |role: BuiltinRole, t: &str, f: &str| {
            POLICY.rule(t, f).is_some_and(|r| r.roles.contains(role))
        };
        assert!(allows(BuiltinRole::Partner, "Matter", "description"));
        assert!(!allows(BuiltinRole::Marketing, "Query", "matters"));
        assert!(!allows(BuiltinRole::Marketing, "Contact", "phones"));
        assert!(!allows(BuiltinRole::Staff, "Communication", "summary"));
        assert!(allows(BuiltinRole::Staff, "Contact", "phones"));
        assert!(!allows(BuiltinRole::Admin, "Matter", "healthDetails"));
        assert!(allows(BuiltinRole::Dpo, "Query", "accessLog"));
        assert!(!allows(BuiltinRole::Admin, "Query", "accessLog"));
        assert!(POLICY.rule("Contact", "noSuchField").is_none());
        assert!(POLICY
            .rule("Mutation", "login")
            .is_some_and(|r| r.roles.allows_public()));
        assert!(POLICY
            .rule("Mutation", "logout")
            .is_some_and(|r| !r.roles.allows_public()));
    }
}
