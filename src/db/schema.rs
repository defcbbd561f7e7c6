//! Table definitions shared by both backends. The SQL types are the ones PostgreSQL and SQLite
//! both map (Text, Bool, Integer, Date, Timestamp), so one query code base serves both.
//! Timestamps are UTC by convention.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        password_hash -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        refresh_token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        prefix -> Text,
        key_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        email -> Text,
        address -> Nullable<Text>,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    contacts (id) {
        id -> Text,
        kind -> Text,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        organization_name -> Nullable<Text>,
        display_name -> Text,
        sort_name -> Text,
        category -> Text,
        codice_fiscale -> Nullable<Text>,
        partita_iva -> Nullable<Text>,
        notes -> Nullable<Text>,
        responsible_user_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        restricted_at -> Nullable<Timestamp>,
        restriction_reason -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        personal_interests -> Nullable<Text>,
        family_details -> Nullable<Text>,
    }
}

diesel::table! {
    contact_emails (id) {
        id -> Text,
        contact_id -> Text,
        position -> Integer,
        address -> Text,
        address_key -> Text,
        label -> Nullable<Text>,
        is_pec -> Bool,
    }
}

diesel::table! {
    contact_phones (id) {
        id -> Text,
        contact_id -> Text,
        position -> Integer,
        number -> Text,
        label -> Nullable<Text>,
    }
}

diesel::table! {
    contact_addresses (id) {
        id -> Text,
        contact_id -> Text,
        position -> Integer,
        label -> Nullable<Text>,
        street -> Text,
        postal_code -> Nullable<Text>,
        city -> Text,
        province -> Nullable<Text>,
        country -> Text,
    }
}

diesel::table! {
    contact_tags (contact_id, tag) {
        contact_id -> Text,
        tag -> Text,
    }
}

diesel::table! {
    affiliations (id) {
        id -> Text,
        person_id -> Text,
        organization_id -> Text,
        job_title -> Nullable<Text>,
    }
}

diesel::table! {
    matters (id) {
        id -> Text,
        reference -> Text,
        title -> Text,
        practice_area -> Text,
        status -> Text,
        description -> Nullable<Text>,
        responsible_user_id -> Nullable<Text>,
        opened_on -> Nullable<Date>,
        closed_on -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        criminal_proceedings_notes -> Nullable<Text>,
        health_details -> Nullable<Text>,
        retention_applied_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    matter_parties (matter_id, contact_id, role) {
        matter_id -> Text,
        contact_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    matter_team_members (matter_id, user_id) {
        matter_id -> Text,
        user_id -> Text,
        role -> Nullable<Text>,
    }
}

diesel::table! {
    matter_events (id) {
        id -> Text,
        matter_id -> Text,
        occurred_at -> Timestamp,
        kind -> Text,
        summary -> Text,
        actor_user_id -> Nullable<Text>,
    }
}

diesel::table! {
    communications (id) {
        id -> Text,
        channel -> Text,
        direction -> Text,
        occurred_at -> Timestamp,
        subject -> Nullable<Text>,
        summary -> Nullable<Text>,
        matter_id -> Nullable<Text>,
        author_user_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    communication_participants (communication_id, contact_id) {
        communication_id -> Text,
        contact_id -> Text,
    }
}

diesel::table! {
    deadlines (id) {
        id -> Text,
        title -> Text,
        kind -> Text,
        description -> Nullable<Text>,
        due_at -> Timestamp,
        status -> Text,
        completed_at -> Nullable<Timestamp>,
        matter_id -> Nullable<Text>,
        contact_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    deadline_reminders (deadline_id, minutes_before) {
        deadline_id -> Text,
        minutes_before -> Integer,
        remind_at -> Timestamp,
    }
}

diesel::table! {
    deadline_user_assignees (deadline_id, user_id) {
        deadline_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    deadline_team_assignees (deadline_id, team_id) {
        deadline_id -> Text,
        team_id -> Text,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Text,
        name -> Text,
        purpose -> Text,
        status -> Text,
        description -> Nullable<Text>,
        audience_filter -> Text,
        scheduled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        analogous_services -> Bool,
    }
}

diesel::table! {
    roles (name) {
        name -> Text,
        description -> Nullable<Text>,
        base_role -> Text,
        denied_fields -> Text,
        built_in -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(contacts -> users (responsible_user_id));
diesel::joinable!(contact_emails -> contacts (contact_id));
diesel::joinable!(contact_phones -> contacts (contact_id));
diesel::joinable!(contact_addresses -> contacts (contact_id));
diesel::joinable!(contact_tags -> contacts (contact_id));
diesel::joinable!(matters -> users (responsible_user_id));
diesel::joinable!(matter_parties -> matters (matter_id));
diesel::joinable!(matter_parties -> contacts (contact_id));
diesel::joinable!(matter_team_members -> matters (matter_id));
diesel::joinable!(matter_team_members -> users (user_id));
diesel::joinable!(matter_events -> matters (matter_id));
diesel::joinable!(communications -> matters (matter_id));
diesel::joinable!(communication_participants -> communications (communication_id));
diesel::joinable!(communication_participants -> contacts (contact_id));
diesel::joinable!(deadlines -> matters (matter_id));
diesel::joinable!(deadlines -> contacts (contact_id));
diesel::joinable!(deadline_reminders -> deadlines (deadline_id));
diesel::joinable!(deadline_user_assignees -> deadlines (deadline_id));
diesel::joinable!(deadline_user_assignees -> users (user_id));
diesel::joinable!(deadline_team_assignees -> deadlines (deadline_id));
diesel::joinable!(deadline_team_assignees -> teams (team_id));

diesel::joinable!(sessions -> users (user_id));

diesel::table! {
    retired_refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        retired_at -> Timestamp,
    }
}

diesel::joinable!(retired_refresh_tokens -> sessions (session_id));

diesel::table! {
    access_log (seq) {
        seq -> BigInt,
        occurred_at -> Timestamp,
        principal_kind -> Text,
        principal_id -> Text,
        role -> Text,
        operation_name -> Nullable<Text>,
        client_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        action -> Text,
        fields -> Text,
        subject_count -> BigInt,
        prev_hash -> Text,
        hash -> Text,
        subject_set -> Text,
    }
}

diesel::table! {
    access_log_subject_sets (set_id, contact_id) {
        set_id -> Text,
        contact_id -> Text,
    }
}

diesel::table! {
    access_log_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

// --- GDPR core (migration 2026-11-25-000001_gdpr_core) ---

diesel::table! {
    purposes (id) {
        id -> Text,
        key -> Text,
        name -> Text,
        description -> Nullable<Text>,
        marketing -> Bool,
        built_in -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        // migration 2026-12-06-000300_retention_clocks
        profiling -> Bool,
    }
}

diesel::table! {
    contact_sources (id) {
        id -> Text,
        contact_id -> Text,
        kind -> Text,
        detail -> Text,
        connector -> Nullable<Text>,
        external_id -> Nullable<Text>,
        acquired_at -> Timestamp,
        acquired_by -> Nullable<Text>,
        recorded_at -> Timestamp,
        recorded_by -> Nullable<Text>,
    }
}

diesel::table! {
    assessments (id) {
        id -> Text,
        kind -> Text,
        title -> Text,
        outcome -> Text,
        summary -> Nullable<Text>,
        assessed_on -> Date,
        owner_id -> Nullable<Text>,
        review_on -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    assessment_purposes (assessment_id, purpose_id) {
        assessment_id -> Text,
        purpose_id -> Text,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        contact_id -> Text,
        purpose_id -> Text,
        given_at -> Timestamp,
        method -> Text,
        notice_version -> Text,
        collected_by -> Text,
        proof_reference -> Nullable<Text>,
        double_opt_in_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        withdrawal_method -> Nullable<Text>,
        recorded_at -> Timestamp,
        recorded_by -> Nullable<Text>,
        // migration 2026-12-07-000402_double_opt_in
        double_opt_in_requested_at -> Nullable<Timestamp>,
        double_opt_in_client_address -> Nullable<Text>,
        double_opt_in_user_agent -> Nullable<Text>,
        lifts_suppression -> Bool,
    }
}

diesel::table! {
    processing_grounds (id) {
        id -> Text,
        contact_id -> Text,
        purpose_id -> Text,
        legal_basis -> Text,
        consent_id -> Nullable<Text>,
        assessment_id -> Nullable<Text>,
        note -> Nullable<Text>,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
        recorded_at -> Timestamp,
        recorded_by -> Nullable<Text>,
        // migration 2026-12-06-000300_retention_clocks
        basis_evidence -> Nullable<Text>,
    }
}

diesel::table! {
    objections (id) {
        id -> Text,
        contact_id -> Text,
        purpose_id -> Nullable<Text>,
        received_at -> Timestamp,
        method -> Text,
        note -> Nullable<Text>,
        recorded_at -> Timestamp,
        recorded_by -> Nullable<Text>,
    }
}

diesel::table! {
    suppressions (id) {
        id -> Text,
        channel -> Text,
        value_hash -> Text,
        purpose_id -> Nullable<Text>,
        reason -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    instance_keys (name) {
        name -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(contact_sources -> contacts (contact_id));
diesel::joinable!(contact_sources -> users (acquired_by));
diesel::joinable!(assessments -> users (owner_id));
diesel::joinable!(assessment_purposes -> assessments (assessment_id));
diesel::joinable!(assessment_purposes -> purposes (purpose_id));
diesel::joinable!(consents -> contacts (contact_id));
diesel::joinable!(consents -> purposes (purpose_id));
diesel::joinable!(processing_grounds -> contacts (contact_id));
diesel::joinable!(processing_grounds -> purposes (purpose_id));
diesel::joinable!(processing_grounds -> consents (consent_id));
diesel::joinable!(processing_grounds -> assessments (assessment_id));
diesel::joinable!(objections -> contacts (contact_id));
diesel::joinable!(objections -> purposes (purpose_id));
diesel::joinable!(suppressions -> purposes (purpose_id));

// --- Data-subject rights (migration 2026-11-25-000003_subject_rights) ---

diesel::table! {
    subject_requests (id) {
        id -> Text,
        kind -> Text,
        status -> Text,
        contact_id -> Nullable<Text>,
        received_at -> Timestamp,
        channel -> Text,
        requester_name -> Nullable<Text>,
        requester_contact -> Nullable<Text>,
        identity_verified_at -> Nullable<Timestamp>,
        identity_verified_by -> Nullable<Text>,
        identity_method -> Nullable<Text>,
        due_on -> Date,
        extended_due_on -> Nullable<Date>,
        extension_reason -> Nullable<Text>,
        refusal_reason -> Nullable<Text>,
        executed_at -> Nullable<Timestamp>,
        notes -> Nullable<Text>,
        handled_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contact_changes (id) {
        id -> Text,
        contact_id -> Text,
        changed_at -> Timestamp,
        changed_by -> Text,
        field -> Text,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
    }
}

diesel::table! {
    legal_holds (id) {
        id -> Text,
        contact_id -> Nullable<Text>,
        matter_id -> Nullable<Text>,
        reason -> Text,
        legal_basis -> Text,
        until_on -> Nullable<Date>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        released_at -> Nullable<Timestamp>,
        released_by -> Nullable<Text>,
    }
}

diesel::table! {
    erasure_log (id) {
        id -> Text,
        request_id -> Nullable<Text>,
        retention_policy_id -> Nullable<Text>,
        contact_id -> Text,
        executed_at -> Timestamp,
        executed_by -> Text,
        contact_deleted -> Bool,
        erased_categories -> Text,
        kept_categories -> Text,
        hold_reasons -> Text,
    }
}

diesel::table! {
    tombstones (id) {
        id -> Text,
        kind -> Text,
        value_hash -> Text,
        connector -> Nullable<Text>,
        request_id -> Nullable<Text>,
        erased_at -> Timestamp,
    }
}

diesel::joinable!(legal_holds -> matters (matter_id));
diesel::joinable!(erasure_log -> subject_requests (request_id));
diesel::joinable!(tombstones -> subject_requests (request_id));

// --- Retention (migration 2026-11-25-000004_retention) ---

diesel::table! {
    retention_policies (id) {
        id -> Text,
        name -> Text,
        category -> Text,
        purpose_id -> Nullable<Text>,
        months -> Integer,
        renew_on_contact -> Bool,
        description -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        // migration 2026-12-06-000300_retention_clocks
        purpose_category -> Nullable<Text>,
    }
}

diesel::table! {
    retention_runs (id) {
        id -> Text,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        dry_run -> Bool,
        triggered_by -> Text,
        grounds_ended -> Integer,
        contacts_erased -> Integer,
        contacts_partly_kept -> Integer,
        matters_anonymised -> Integer,
    }
}

diesel::joinable!(retention_policies -> purposes (purpose_id));

// --- GDPR registers (migration 2026-11-25-000002_registers) ---

diesel::table! {
    processing_activities (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        controller_contact -> Text,
        joint_controller_contact -> Nullable<Text>,
        representative_contact -> Nullable<Text>,
        dpo_contact -> Nullable<Text>,
        data_subject_categories -> Text,
        personal_data_categories -> Text,
        recipient_categories -> Text,
        processors -> Text,
        transfers -> Text,
        retention -> Text,
        retention_months -> Nullable<Integer>,
        security_measures -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    processing_activity_purposes (activity_id, purpose_id) {
        activity_id -> Text,
        purpose_id -> Text,
    }
}

diesel::table! {
    breaches (id) {
        id -> Text,
        detected_at -> Timestamp,
        natures -> Text,
        description -> Text,
        subject_categories -> Text,
        approximate_subjects -> Nullable<BigInt>,
        record_categories -> Text,
        approximate_records -> Nullable<BigInt>,
        likely_consequences -> Nullable<Text>,
        measures -> Nullable<Text>,
        authority_notification_required -> Bool,
        no_notification_reason -> Nullable<Text>,
        authority_notified_at -> Nullable<Timestamp>,
        subjects_notification_required -> Bool,
        subjects_notified_at -> Nullable<Timestamp>,
        dpo_notes -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    breach_subjects (breach_id, contact_id) {
        breach_id -> Text,
        contact_id -> Text,
        fields -> Text,
    }
}

diesel::joinable!(processing_activity_purposes -> processing_activities (activity_id));
diesel::joinable!(processing_activity_purposes -> purposes (purpose_id));
diesel::joinable!(breach_subjects -> breaches (breach_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    retired_refresh_tokens,
    api_keys,
    login_failures,
    teams,
    team_members,
    contacts,
    contact_emails,
    contact_phones,
    contact_addresses,
    contact_tags,
    affiliations,
    matters,
    matter_parties,
    matter_team_members,
    roles,
    matter_events,
    communications,
    communication_participants,
    deadlines,
    deadline_reminders,
    deadline_user_assignees,
    deadline_team_assignees,
    campaigns,
    access_log,
    access_log_subject_sets,
    access_log_head,
    purposes,
    contact_sources,
    assessments,
    assessment_purposes,
    consents,
    processing_grounds,
    objections,
    suppressions,
    instance_keys,
    retention_policies,
    retention_runs,
    subject_requests,
    contact_changes,
    legal_holds,
    erasure_log,
    tombstones,
    processing_activities,
    processing_activity_purposes,
    breaches,
    breach_subjects,
);

// ---- Connectors and the sync engine (migration 2026-11-25-000005_connectors) ----

diesel::table! {
    connector_instances (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        base_url -> Text,
        settings -> Text,
        credentials -> Nullable<Text>,
        webhook_secret -> Nullable<Text>,
        provenance -> Text,
        schedule_minutes -> Nullable<Integer>,
        enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sync_cursors (instance_id, stream) {
        instance_id -> Text,
        stream -> Text,
        cursor -> Nullable<Text>,
        generation -> Integer,
        full_sync -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sync_links (instance_id, external_id) {
        instance_id -> Text,
        external_id -> Text,
        contact_id -> Nullable<Text>,
        seen_generation -> Integer,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        record_hash -> Nullable<Text>,
    }
}

diesel::table! {
    sync_runs (id) {
        id -> Text,
        instance_id -> Text,
        trigger -> Text,
        holder -> Text,
        status -> Text,
        full_sync -> Bool,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        created -> Integer,
        updated -> Integer,
        linked -> Integer,
        deleted -> Integer,
        skipped -> Integer,
        review -> Integer,
        failed -> Integer,
        errors -> Text,
        pushed -> Integer,
        push_removed -> Integer,
        push_conflicts -> Integer,
    }
}

diesel::table! {
    sync_leases (instance_id) {
        instance_id -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sync_review_items (id) {
        id -> Text,
        instance_id -> Text,
        external_id -> Text,
        origin -> Text,
        record -> Text,
        reason -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolution -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        contact_id -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_events (instance_id, event_id) {
        instance_id -> Text,
        event_id -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    oauth_pending (state_hash) {
        state_hash -> Text,
        instance_id -> Text,
        pkce_verifier -> Text,
        started_by -> Nullable<Text>,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    data_recipients (id) {
        id -> Text,
        contact_id -> Text,
        instance_id -> Nullable<Text>,
        recipient -> Text,
        fields -> Text,
        external_id -> Nullable<Text>,
        disclosed_at -> Timestamp,
    }
}

diesel::joinable!(sync_links -> connector_instances (instance_id));
diesel::joinable!(sync_links -> contacts (contact_id));
diesel::joinable!(sync_runs -> connector_instances (instance_id));
diesel::joinable!(data_recipients -> contacts (contact_id));

// Only the new tables and `contacts`: pairs among the tables listed above are declared there.
diesel::allow_tables_to_appear_in_same_query!(
    contacts,
    connector_instances,
    sync_cursors,
    sync_links,
    sync_runs,
    sync_leases,
    sync_review_items,
    webhook_events,
    oauth_pending,
    data_recipients,
);

// Communications imported by mail connectors (migration 2026-12-06-000501).
diesel::table! {
    communication_imports (communication_id) {
        communication_id -> Text,
        message_id -> Text,
        instance_id -> Nullable<Text>,
        body -> Nullable<Text>,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    communication_attachments (id) {
        id -> Text,
        communication_id -> Text,
        position -> Integer,
        name -> Nullable<Text>,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
    }
}

diesel::table! {
    sync_message_links (instance_id, external_id) {
        instance_id -> Text,
        external_id -> Text,
        communication_id -> Nullable<Text>,
        seen_generation -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(communication_imports -> communications (communication_id));
diesel::joinable!(communication_attachments -> communications (communication_id));
diesel::joinable!(sync_message_links -> communications (communication_id));
diesel::joinable!(communication_imports -> connector_instances (instance_id));

diesel::allow_tables_to_appear_in_same_query!(
    communications,
    communication_imports,
    communication_attachments,
    sync_message_links,
    connector_instances,
);

// --- Role generation (migration 2026-12-07-000101_role_generation) ---

diesel::table! {
    role_generation (id) {
        id -> Integer,
        generation -> BigInt,
        /// Moved by every change that can end or alter a credential (migration
        /// 2026-12-10-000201_credential_generation).
        credentials -> BigInt,
    }
}

// Per-user iCalendar feeds (migration 2026-12-07-000501).
diesel::table! {
    calendar_feeds (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(calendar_feeds -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(calendar_feeds, users);

// The mail outbox (migration 2026-12-07-000401_mail_outbox).
diesel::table! {
    outbox_messages (id) {
        id -> Text,
        kind -> Text,
        dedup_key -> Text,
        reference_id -> Nullable<Text>,
        recipient -> Text,
        user_id -> Nullable<Text>,
        contact_id -> Nullable<Text>,
        subject -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        list_unsubscribe -> Nullable<Text>,
    }
}

diesel::joinable!(outbox_messages -> users (user_id));
diesel::joinable!(outbox_messages -> contacts (contact_id));

// Pairs with the outbox only: the other pairs are declared above.
diesel::allow_tables_to_appear_in_same_query!(outbox_messages, users);
diesel::allow_tables_to_appear_in_same_query!(outbox_messages, contacts);
diesel::allow_tables_to_appear_in_same_query!(outbox_messages, deadlines);
diesel::allow_tables_to_appear_in_same_query!(outbox_messages, consents);

// Campaigns that are sent (migration 2026-12-08-000201_campaign_sending).
diesel::table! {
    campaign_deliveries (id) {
        id -> Text,
        campaign_id -> Text,
        contact_id -> Text,
        outbox_message_id -> Text,
        recipient -> Text,
        basis -> Text,
        ground_id -> Nullable<Text>,
        consent_id -> Nullable<Text>,
        assessment_id -> Nullable<Text>,
        queued_at -> Timestamp,
        unsubscribed_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(campaign_deliveries -> campaigns (campaign_id));
diesel::joinable!(campaign_deliveries -> contacts (contact_id));
diesel::joinable!(campaign_deliveries -> outbox_messages (outbox_message_id));

diesel::allow_tables_to_appear_in_same_query!(campaign_deliveries, campaigns);
diesel::allow_tables_to_appear_in_same_query!(campaign_deliveries, contacts);
diesel::allow_tables_to_appear_in_same_query!(campaign_deliveries, outbox_messages);
diesel::allow_tables_to_appear_in_same_query!(campaign_deliveries, purposes);

// Deadlines pushed to calendars (migration 2026-12-08-000501).
diesel::table! {
    deadline_pushes (instance_id, deadline_id) {
        instance_id -> Text,
        deadline_id -> Text,
        external_id -> Text,
        uid -> Text,
        etag -> Nullable<Text>,
        digest -> Text,
        outcome -> Text,
        pushed_at -> Timestamp,
    }
}

diesel::joinable!(deadline_pushes -> connector_instances (instance_id));

diesel::allow_tables_to_appear_in_same_query!(deadline_pushes, connector_instances);
diesel::allow_tables_to_appear_in_same_query!(deadline_pushes, deadlines);

// Users' daily digests (migration 2026-12-08-000101_daily_digests).
diesel::table! {
    daily_digests (user_id) {
        user_id -> Text,
        enabled -> Bool,
        hour -> Integer,
        time_zone -> Text,
        days_ahead -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(daily_digests -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(daily_digests, users);

// Documents of matters' case files, metadata only (migration 2026-12-08-000401, issue 17).
diesel::table! {
    documents (id) {
        id -> Text,
        matter_id -> Text,
        title -> Text,
        href -> Text,
        content_type -> Nullable<Text>,
        etag -> Nullable<Text>,
        size_bytes -> Nullable<BigInt>,
        sha256 -> Nullable<Text>,
        created_by -> Nullable<Text>,
        modified_by -> Nullable<Text>,
        created_at -> Timestamp,
        modified_at -> Nullable<Timestamp>,
        instance_id -> Nullable<Text>,
        external_id -> Nullable<Text>,
        status -> Text,
        deleted_at -> Nullable<Timestamp>,
        moved_from -> Nullable<Text>,
        moved_at -> Nullable<Timestamp>,
        seen_generation -> Nullable<Integer>,
        imported_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(documents -> matters (matter_id));
diesel::joinable!(documents -> connector_instances (instance_id));

// Pairs with documents only: the other pairs are declared above.
diesel::allow_tables_to_appear_in_same_query!(documents, matters);
diesel::allow_tables_to_appear_in_same_query!(documents, connector_instances);
diesel::allow_tables_to_appear_in_same_query!(documents, matter_team_members);

// Billing (migration 2026-12-08-000301_billing).
diesel::table! {
    invoices (id) {
        id -> Text,
        kind -> Text,
        status -> Text,
        fiscal_year -> Nullable<Integer>,
        number -> Nullable<Integer>,
        client_contact_id -> Nullable<Text>,
        client_name -> Nullable<Text>,
        client_codice_fiscale -> Nullable<Text>,
        client_partita_iva -> Nullable<Text>,
        client_street -> Nullable<Text>,
        client_postal_code -> Nullable<Text>,
        client_city -> Nullable<Text>,
        client_province -> Nullable<Text>,
        client_country -> Nullable<Text>,
        recipient_code -> Text,
        recipient_pec -> Nullable<Text>,
        issue_date -> Nullable<Date>,
        due_date -> Nullable<Date>,
        net_cents -> BigInt,
        cassa_rate_bp -> Integer,
        cassa_cents -> BigInt,
        vat_rate_bp -> Integer,
        vat_cents -> BigInt,
        withholding_rate_bp -> Integer,
        withholding_cents -> BigInt,
        paid_cents -> BigInt,
        notes -> Nullable<Text>,
        created_by -> Nullable<Text>,
        paid_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    invoice_matters (invoice_id, matter_id) {
        invoice_id -> Text,
        matter_id -> Text,
    }
}

diesel::table! {
    time_entries (id) {
        id -> Text,
        matter_id -> Text,
        user_id -> Nullable<Text>,
        work_date -> Date,
        minutes -> Integer,
        task_code -> Nullable<Text>,
        activity_code -> Nullable<Text>,
        narrative -> Text,
        billable -> Bool,
        rate_cents -> BigInt,
        invoice_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    invoice_lines (id) {
        id -> Text,
        invoice_id -> Text,
        position -> Integer,
        time_entry_id -> Nullable<Text>,
        matter_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        work_date -> Date,
        description -> Text,
        task_code -> Nullable<Text>,
        activity_code -> Nullable<Text>,
        minutes -> Integer,
        rate_cents -> BigInt,
        amount_cents -> BigInt,
    }
}

diesel::table! {
    invoice_payments (id) {
        id -> Text,
        invoice_id -> Text,
        amount_cents -> BigInt,
        paid_on -> Date,
        method -> Text,
        reference -> Nullable<Text>,
        recorded_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(invoice_matters -> invoices (invoice_id));
diesel::joinable!(invoice_matters -> matters (matter_id));
diesel::joinable!(time_entries -> matters (matter_id));
diesel::joinable!(time_entries -> users (user_id));
diesel::joinable!(time_entries -> invoices (invoice_id));
diesel::joinable!(invoice_lines -> invoices (invoice_id));
diesel::joinable!(invoice_payments -> invoices (invoice_id));

diesel::allow_tables_to_appear_in_same_query!(
    invoices,
    invoice_matters,
    time_entries,
    invoice_lines,
    invoice_payments,
);
diesel::allow_tables_to_appear_in_same_query!(invoices, matters);
diesel::allow_tables_to_appear_in_same_query!(invoices, matter_team_members);
diesel::allow_tables_to_appear_in_same_query!(invoices, matter_parties);
diesel::allow_tables_to_appear_in_same_query!(invoices, users);
diesel::allow_tables_to_appear_in_same_query!(invoices, contacts);
diesel::allow_tables_to_appear_in_same_query!(invoices, team_members);
diesel::allow_tables_to_appear_in_same_query!(invoice_matters, matters);
diesel::allow_tables_to_appear_in_same_query!(invoice_matters, matter_team_members);
diesel::allow_tables_to_appear_in_same_query!(invoice_matters, matter_parties);
diesel::allow_tables_to_appear_in_same_query!(invoice_matters, users);
diesel::allow_tables_to_appear_in_same_query!(invoice_matters, contacts);
diesel::allow_tables_to_appear_in_same_query!(invoice_matters, team_members);
diesel::allow_tables_to_appear_in_same_query!(time_entries, matters);
diesel::allow_tables_to_appear_in_same_query!(time_entries, matter_team_members);
diesel::allow_tables_to_appear_in_same_query!(time_entries, matter_parties);
diesel::allow_tables_to_appear_in_same_query!(time_entries, users);
diesel::allow_tables_to_appear_in_same_query!(time_entries, contacts);
diesel::allow_tables_to_appear_in_same_query!(time_entries, team_members);
diesel::allow_tables_to_appear_in_same_query!(invoice_lines, matters);
diesel::allow_tables_to_appear_in_same_query!(invoice_lines, matter_team_members);
diesel::allow_tables_to_appear_in_same_query!(invoice_lines, matter_parties);
diesel::allow_tables_to_appear_in_same_query!(invoice_lines, users);
diesel::allow_tables_to_appear_in_same_query!(invoice_lines, contacts);
diesel::allow_tables_to_appear_in_same_query!(invoice_lines, team_members);
diesel::allow_tables_to_appear_in_same_query!(invoice_payments, matters);
diesel::allow_tables_to_appear_in_same_query!(invoice_payments, matter_team_members);
diesel::allow_tables_to_appear_in_same_query!(invoice_payments, matter_parties);
diesel::allow_tables_to_appear_in_same_query!(invoice_payments, users);
diesel::allow_tables_to_appear_in_same_query!(invoice_payments, contacts);
diesel::allow_tables_to_appear_in_same_query!(invoice_payments, team_members);

diesel::table! {
    invoice_external_ids (source, external_id) {
        source -> Text,
        external_id -> Text,
        invoice_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(invoice_external_ids -> invoices (invoice_id));
diesel::allow_tables_to_appear_in_same_query!(invoice_external_ids, invoices);

// Case-file folders to make for new matters (migration 2026-12-10-000102_matter_folder_requests).
diesel::table! {
    matter_folder_requests (instance_id, matter_id) {
        instance_id -> Text,
        matter_id -> Text,
        requested_at -> Timestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        not_before -> Timestamp,
        made_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(matter_folder_requests -> connector_instances (instance_id));
diesel::joinable!(matter_folder_requests -> matters (matter_id));

diesel::allow_tables_to_appear_in_same_query!(matter_folder_requests, connector_instances, matters);

// Billing connectors (migration 2026-12-10-000101_billing_connectors).
diesel::table! {
    sync_invoice_links (instance_id, external_id) {
        instance_id -> Text,
        external_id -> Text,
        invoice_id -> Text,
        seen_generation -> Integer,
        removed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    billing_pushes (idempotency_key) {
        idempotency_key -> Text,
        bill_key -> Text,
        kind -> Text,
        instance_id -> Text,
        matter_id -> Text,
        time_entry_id -> Nullable<Text>,
        customer -> Text,
        amount_cents -> BigInt,
        remote_id -> Nullable<Text>,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(sync_invoice_links -> invoices (invoice_id));
diesel::joinable!(billing_pushes -> time_entries (time_entry_id));
diesel::allow_tables_to_appear_in_same_query!(sync_invoice_links, invoices);
diesel::allow_tables_to_appear_in_same_query!(billing_pushes, time_entries);

// Practice-management records kept as matters, deadlines and time entries (migration
// 2026-12-11-000101_sync_record_links).
diesel::table! {
    sync_record_links (instance_id, stream, external_id) {
        instance_id -> Text,
        stream -> Text,
        external_id -> Text,
        record_id -> Text,
        digest -> Text,
        client_external_id -> Nullable<Text>,
        seen_generation -> Integer,
        removed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(sync_record_links -> connector_instances (instance_id));
diesel::allow_tables_to_appear_in_same_query!(sync_record_links, connector_instances);
diesel::allow_tables_to_appear_in_same_query!(sync_record_links, deadlines);
diesel::allow_tables_to_appear_in_same_query!(sync_record_links, matters);
diesel::allow_tables_to_appear_in_same_query!(sync_record_links, time_entries);

// lexgate's time entries pushed to a practice-management system (migration
// 2026-12-11-000501_time_entry_pushes).
diesel::table! {
    time_entry_pushes (instance_id, time_entry_id) {
        instance_id -> Text,
        time_entry_id -> Text,
        external_id -> Text,
        digest -> Text,
        pushed_at -> Timestamp,
    }
}

diesel::joinable!(time_entry_pushes -> connector_instances (instance_id));
diesel::allow_tables_to_appear_in_same_query!(time_entry_pushes, connector_instances);
diesel::allow_tables_to_appear_in_same_query!(time_entry_pushes, matters);
diesel::allow_tables_to_appear_in_same_query!(time_entry_pushes, sync_record_links);
diesel::allow_tables_to_appear_in_same_query!(time_entry_pushes, time_entries);

// The webhooks kept at a provider (migration 2026-12-11-000201_connector_webhooks).
diesel::table! {
    connector_webhooks (instance_id, model) {
        instance_id -> Text,
        model -> Text,
        remote_id -> Nullable<Text>,
        status -> Text,
        secret -> Nullable<Text>,
        token_hash -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        not_before -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(connector_webhooks -> connector_instances (instance_id));
diesel::allow_tables_to_appear_in_same_query!(connector_webhooks, connector_instances);
