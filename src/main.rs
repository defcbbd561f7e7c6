//! The `lexgate` command: serve, migrate, print the schema, seed data, verify the access log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lexgate::config::Settings;
use lexgate::db::Database;

#[derive(Parser)]
#[command(
    name = "lexgate",
    version,
    about = "The law-firm CRM behind one GraphQL API"
)]
struct Cli {
    /// TOML settings file (default: ./lexgate.toml when present).
    #[arg(long, global = true, env = "LEXGATE_CONFIG")]
    config: Option<PathBuf>,
    /// postgres://user@host/db or sqlite://file.db (default: sqlite://lexgate.db).
    #[arg(long, global = true, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// How log lines on standard error are written: text or json (default: text).
    #[arg(long, global = true, env = "LEXGATE_LOG_FORMAT", value_enum)]
    log_format: Option<lexgate::telemetry::LogFormat>,
    /// Export traces to this OpenTelemetry collector's OTLP/HTTP base URL, e.g.
    /// http://collector:4318 (default: no traces).
    #[arg(long, global = true, env = "LEXGATE_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    /// The service name traces carry (default: lexgate).
    #[arg(long, global = true, env = "LEXGATE_OTLP_SERVICE_NAME")]
    otlp_service_name: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API and the playground.
    Serve(ServeArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Write the GraphQL schema (SDL) to stdout or a file.
    PrintSchema {
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Fill the database with demo or synthetic data.
    Seed(SeedArgs),
    /// Manage the firm's users (e.g. bootstrap the first admin).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Check the GDPR access log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Data-subject requests.
    #[command(subcommand)]
    Dsar(DsarCommand),
    /// Retention of personal data.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The record of processing activities (Art. 30 GDPR).
    #[command(subcommand)]
    Register(RegisterCommand),
    /// Dump the whole database.
    Export(ExportArgs),
    /// Sync one connector instance (by name), or every enabled one, now.
    Sync {
        /// The instance's name; all enabled instances when left out.
        instance: Option<String>,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Apply the retention policies now: end expired grounds, erase or anonymise what has
    /// expired (legal holds respected, erasure log written), then print a summary.
    Run {
        /// Report what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum DsarCommand {
    /// Write everything held about one contact as JSON (Art. 15, 20); the export is recorded
    /// in the access log.
    Export {
        /// The contact's global ID (as the API shows it) or database ID.
        #[arg(long)]
        contact: String,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Withhold third parties' data (Art. 15(4) GDPR; art. 2-undecies Codice Privacy):
        /// the fields each item lists in `thirdPartyData` are written as null.
        #[arg(long)]
        redact_third_parties: bool,
    },
}

#[derive(Subcommand)]
enum RegisterCommand {
    /// Write the record of processing activities as JSON or Markdown.
    Export {
        #[arg(long, value_enum)]
        format: RegisterFormatArg,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RegisterFormatArg {
    Json,
    Markdown,
}

#[derive(Args)]
struct ExportArgs {
    /// Replace every personal value with a consistent pseudonym and leave out secrets and
    /// restricted contacts (the only kind of dump there is).
    #[arg(long, required = true)]
    anonymized: bool,
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the access log's hash chain; exits with 1 and names the first broken entry if it
    /// was altered, with 2 if it cannot be read.
    Verify,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user; the password is read from the first line of standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, partner, lawyer, trainee, staff, marketing, dpo or integration.
        #[arg(long)]
        role: String,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "LEXGATE_BIND")]
    bind: Option<std::net::SocketAddr>,
    /// Do not run migrations at start-up.
    #[arg(long, env = "LEXGATE_NO_MIGRATE")]
    no_migrate: bool,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("kind").required(true).args(["demo", "contacts"]))]
struct SeedArgs {
    /// A realistic demo firm: users, teams, a few hundred contacts, matters, communications, deadlines.
    #[arg(long)]
    demo: bool,
    /// A synthetic data set with this many contacts.
    #[arg(long)]
    contacts: Option<u64>,
    /// Matters in the synthetic set.
    #[arg(long, default_value_t = 0, requires = "contacts")]
    matters: u64,
    /// Communications in the synthetic set.
    #[arg(long, default_value_t = 0, requires = "contacts")]
    communications: u64,
    /// Deadlines in the synthetic set.
    #[arg(long, default_value_t = 0, requires = "contacts")]
    deadlines: u64,
    /// Random seed of the synthetic set (same seed, same data).
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(url) = &cli.database_url {
        settings.database_url = url.clone();
    }
    if let Some(format) = cli.log_format {
        settings.log_format = format;
    }
    if let Some(endpoint) = &cli.otlp_endpoint {
        settings.otlp_endpoint = Some(endpoint.clone());
    }
    if let Some(name) = &cli.otlp_service_name {
        settings.otlp_service_name = name.clone();
    }
    settings.validate()?;
    Ok(settings)
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if let Command::PrintSchema { output } = &cli.command {
        print_schema(output.as_deref())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut settings = settings(&cli)?;
    // Held to the end of main: dropping it exports the last spans.
    let _telemetry = lexgate::telemetry::init(settings.telemetry_outputs())?;
    match cli.command {
        Command::Serve(args) => {
            if let Some(bind) = args.bind {
                settings.bind = bind;
            }
            if args.no_migrate {
                settings.migrate = false;
            }
            lexgate::server::serve(settings).await?;
        }
        Command::Migrate => {
            let db = Database::connect(&settings.database_url, 1, false).await?;
            let applied = db.run(lexgate::db::run_migrations).await?;
            println!("{applied} migration(s) applied");
        }
        Command::Seed(args) => seed(&settings, args).await?,
        Command::Users(UsersCommand::Create { email, name, role }) => {
            create_user(&settings, email, name, role).await?
        }
        Command::Audit(AuditCommand::Verify) => return verify_access_log(&settings).await,
        Command::Dsar(DsarCommand::Export {
            contact,
            output,
            redact_third_parties,
        }) => dsar_export(&settings, &contact, output.as_deref(), redact_third_parties).await?,
        Command::Retention(RetentionCommand::Run { dry_run }) => {
            retention_run(&settings, dry_run).await?
        }
        Command::Register(RegisterCommand::Export { format, output }) => {
            export_register(&settings, format, output.as_deref()).await?
        }
        Command::Export(args) => export_anonymized(&settings, args).await?,
        Command::Sync { instance } => return sync(&settings, instance).await,
        Command::PrintSchema { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Walks the access log's hash chain. A broken chain is a finding, not a failure to run: it
/// is printed on standard output with exit status 1. Not being able to check at all (no
/// database, not migrated) exits with 2, so a monitor can tell the two apart.
async fn verify_access_log(settings: &Settings) -> anyhow::Result<ExitCode> {
    // No migrations: verification must not change the database it inspects.
    let outcome = match Database::connect(&settings.database_url, 1, false).await {
        Ok(db) => db.run(lexgate::audit::verify_chain).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(lexgate::audit::VerifyOutcome::Intact { entries }) => {
            println!("access log intact: {entries} entries");
            Ok(ExitCode::SUCCESS)
        }
        Ok(lexgate::audit::VerifyOutcome::Broken { seq, reason }) => {
            println!("access log broken at entry {seq}: {reason}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("cannot verify the access log: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// One retention run from the command line, with a progress bar and a summary.
async fn retention_run(settings: &Settings, dry_run: bool) -> anyhow::Result<()> {
    let db = Database::connect(&settings.database_url, 1, settings.migrate).await?;
    let gdpr_key = settings.gdpr_key.clone();
    let hasher = db
        .run(move |c| lexgate::gdpr::KeyedHasher::load(c, gdpr_key.as_deref()))
        .await?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} retention policies")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let by = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned())
    );
    let summary = lexgate::personal_data::retention::run_logged(
        &db,
        &hasher,
        dry_run,
        by,
        std::sync::Arc::new(move |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        }),
        settings
            .access_log
            .then(|| lexgate::personal_data::retention::system_log("cli:retention")),
    )
    .await?;
    bar.finish();
    let verb = if dry_run { "would be" } else { "were" };
    println!(
        "retention{}: {} processing grounds {verb} ended, {} contacts {verb} erased ({} of them kept in part under a legal hold), {} closed matters {verb} anonymised",
        if dry_run { " (dry run, nothing changed)" } else { "" },
        summary.grounds_ended,
        summary.contacts_erased,
        summary.contacts_partly_kept,
        summary.matters_anonymised,
    );
    Ok(())
}

/// The subject access export of one contact, logged as a read by the command line before the
/// data leaves.
async fn dsar_export(
    settings: &Settings,
    contact: &str,
    output: Option<&std::path::Path>,
    redact_third_parties: bool,
) -> anyhow::Result<()> {
    use lexgate::ids::{self, NodeType};
    let contact_id = match ids::parse(contact) {
        Some((NodeType::Contact, key)) => key,
        Some((other, _)) => anyhow::bail!("{contact} is a {} ID, not a contact ID", other.name()),
        None => contact.to_owned(),
    };
    let db = Database::connect(&settings.database_url, 1, true).await?;
    let (key, gdpr_key) = (contact_id.clone(), settings.gdpr_key.clone());
    let export = db
        .run(move |c| {
            let hasher = lexgate::gdpr::KeyedHasher::load(c, gdpr_key.as_deref())?;
            lexgate::personal_data::export::subject_access_export(
                c,
                &hasher,
                &key,
                redact_third_parties,
            )
        })
        .await
        .with_context(|| format!("cannot export contact {contact}"))?;
    let text = lexgate::personal_data::export::to_text(&export)?;
    let log = lexgate::audit::AccessLog::start(db);
    log.append(vec![lexgate::audit::AccessEntry {
        occurred_at: lexgate::db::now(),
        principal_kind: "cli".to_owned(),
        principal_id: std::env::var("USER").unwrap_or_else(|_| "cli".to_owned()),
        role: "dpo".to_owned(),
        operation_name: Some("dsar export".to_owned()),
        client_address: None,
        user_agent: None,
        action: lexgate::audit::AccessAction::Read,
        fields: vec!["Query.subjectAccessExport".to_owned()],
        subjects: vec![contact_id],
    }])
    .await
    .context("the export could not be recorded in the access log, so it is not written")?;
    match output {
        Some(path) => std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}

/// Syncs with a progress line per instance; exits with 1 if any sync did not run or failed,
/// else with 75 (EX_TEMPFAIL: try again later) if one stopped because its provider kept
/// throttling it.
async fn sync(settings: &Settings, only: Option<String>) -> anyhow::Result<ExitCode> {
    use lexgate::sync::runs::SyncRunStatus;
    let db =
        Database::connect(&settings.database_url, settings.pool_size, settings.migrate).await?;
    let service = lexgate::server::sync_service(&db, settings).await?;
    let all = db.run(lexgate::sync::instances::list).await?;
    let chosen: Vec<_> = match &only {
        Some(name) => all.into_iter().filter(|i| &i.name == name).collect(),
        None => all.into_iter().filter(|i| i.enabled).collect(),
    };
    if let (Some(name), true) = (&only, chosen.is_empty()) {
        eprintln!("no connector instance named {name}");
        return Ok(ExitCode::FAILURE);
    }
    let (mut failures, mut throttled) = (0, 0);
    for instance in chosen {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_prefix(instance.name.clone());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let progress = bar.clone();
        let outcome = service
            .sync_instance(&instance, "cli", &move |counts| {
                progress.set_message(format!("{} records", counts.handled()))
            })
            .await;
        match outcome {
            Ok(run) => {
                // The counts are printed, not only drawn: the bar is hidden when stderr is no
                // terminal (cron, CI).
                bar.finish_and_clear();
                println!(
                    "{}: {}: {} created, {} updated, {} linked, {} deleted, {} skipped, {} to review, {} failed",
                    instance.name, run.status, run.created, run.updated, run.linked, run.deleted, run.skipped, run.review, run.failed
                );
                if run.pushed + run.push_removed + run.push_conflicts > 0 {
                    println!(
                        "  deadlines: {} pushed, {} removed, {} left as edited in the calendar",
                        run.pushed, run.push_removed, run.push_conflicts
                    );
                }
                for error in run.errors() {
                    let record = error
                        .external_id
                        .map(|id| format!(" ({id})"))
                        .unwrap_or_default();
                    println!("  error{record}: {}", error.message);
                }
                if run.status == SyncRunStatus::Throttled.as_str() {
                    println!("  the provider kept throttling: the next run continues from here");
                    throttled += 1;
                } else if run.status != SyncRunStatus::Succeeded.as_str() {
                    failures += 1;
                }
            }
            Err(error) => {
                bar.finish_and_clear();
                println!("{}: not synced: {error}", instance.name);
                failures += 1;
            }
        }
    }
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else if throttled > 0 {
        ExitCode::from(EX_TEMPFAIL)
    } else {
        ExitCode::SUCCESS
    })
}

/// sysexits.h: a temporary failure, worth retrying later.
const EX_TEMPFAIL: u8 = 75;

fn print_schema(output: Option<&std::path::Path>) -> anyhow::Result<()> {
    write_output(output, &lexgate::graphql::sdl())
}

/// Writes a document to the file named, or to standard output.
fn write_output(output: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

async fn export_register(
    settings: &Settings,
    format: RegisterFormatArg,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use lexgate::gdpr::registers::export::{export, RegisterFormat};
    let format = match format {
        RegisterFormatArg::Json => RegisterFormat::Json,
        RegisterFormatArg::Markdown => RegisterFormat::Markdown,
    };
    let disabled = settings.disabled_contact_fields()?;
    let db = Database::connect(&settings.database_url, 1, false).await?;
    let fields = lexgate::contacts::OptionalContactField::statuses(&disabled);
    let document = db.run(move |c| export(c, format, fields)).await?;
    write_output(output, &document)
}

async fn export_anonymized(settings: &Settings, args: ExportArgs) -> anyhow::Result<()> {
    let db = Database::connect(&settings.database_url, 1, false).await?;
    let dump = lexgate::gdpr::anonymized_export::run(&db).await?;
    write_output(args.output.as_deref(), &dump)
}

async fn seed(settings: &Settings, args: SeedArgs) -> anyhow::Result<()> {
    let db = Database::connect(&settings.database_url, settings.pool_size, true).await?;
    let summary = if args.demo {
        lexgate::seed::demo(&db).await?
    } else {
        let sizes = lexgate::seed::SyntheticSizes {
            contacts: args.contacts.unwrap_or(0),
            matters: args.matters,
            communications: args.communications,
            deadlines: args.deadlines,
        };
        let total = sizes.contacts + sizes.matters + sizes.communications + sizes.deadlines;
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} records ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let progress = bar.clone();
        let summary =
            lexgate::seed::synthetic(&db, sizes, args.seed, move |n| progress.set_position(n))
                .await?;
        bar.finish();
        summary
    };
    println!("seeded: {summary}");
    Ok(())
}

async fn create_user(
    settings: &Settings,
    email: String,
    name: String,
    role: String,
) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let db = Database::connect(&settings.database_url, 1, true).await?;
    let input = lexgate::directory::CreateUserInput {
        email,
        display_name: name,
        role,
    };
    let user = db
        .transaction(move |conn| {
            let user = lexgate::directory::create_user(conn, input)?;
            lexgate::identity::set_password(conn, &user.id, &password)?;
            Ok(user)
        })
        .await?;
    println!(
        "created {} ({}) with role {}",
        user.display_name, user.email, user.role
    );
    Ok(())
}
