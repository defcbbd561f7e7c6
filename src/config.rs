//! Settings: defaults, overridden by an optional TOML file, overridden by environment
//! variables and command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The file read when `--config` / `LEXGATE_CONFIG` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "lexgate.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

/// The TOML file's shape; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub bind: Option<SocketAddr>,
    pub migrate: Option<bool>,
    pub pool_size: Option<usize>,
    pub phone_region: Option<String>,
    pub max_page_size: Option<usize>,
    pub default_page_size: Option<usize>,
    pub body_limit_bytes: Option<usize>,
    pub log: Option<String>,
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: SocketAddr,
    pub migrate: bool,
    pub pool_size: usize,
    pub phone_region: String,
    pub max_page_size: usize,
    pub default_page_size: usize,
    pub body_limit_bytes: usize,
    pub log: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://lexgate.db".to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            migrate: true,
            pool_size: 8,
            phone_region: "IT".to_owned(),
            max_page_size: 1000,
            default_page_size: 50,
            body_limit_bytes: 1024 * 1024,
            log: "info".to_owned(),
        }
    }
}

impl Settings {
    /// Reads `path` (or `lexgate.toml` if present) over the defaults.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let default_path = Path::new(DEFAULT_CONFIG_FILE);
        let file = match path {
            Some(path) => Some(read_file(path)?),
            None if default_path.exists() => Some(read_file(default_path)?),
            None => None,
        };
        let mut settings = Settings::default();
        if let Some(file) = file {
            settings.apply(file);
        }
        settings.validate()?;
        Ok(settings)
    }

    fn apply(&mut self, f: FileSettings) {
        let s = self;
        if let Some(v) = f.database_url {
            s.database_url = v;
        }
        if let Some(v) = f.bind {
            s.bind = v;
        }
        if let Some(v) = f.migrate {
            s.migrate = v;
        }
        if let Some(v) = f.pool_size {
            s.pool_size = v;
        }
        if let Some(v) = f.phone_region {
            s.phone_region = v;
        }
        if let Some(v) = f.max_page_size {
            s.max_page_size = v;
        }
        if let Some(v) = f.default_page_size {
            s.default_page_size = v;
        }
        if let Some(v) = f.body_limit_bytes {
            s.body_limit_bytes = v;
        }
        if let Some(v) = f.log {
            s.log = v;
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, message: &str| ConfigError::Invalid {
            name,
            message: message.to_owned(),
        };
        if self.pool_size == 0 {
            return Err(invalid("pool_size", "must be at least 1"));
        }
        if self.max_page_size == 0 {
            return Err(invalid("max_page_size", "must be at least 1"));
        }
        if self.default_page_size == 0 || self.default_page_size > self.max_page_size {
            return Err(invalid(
                "default_page_size",
                "must be between 1 and max_page_size",
            ));
        }
        if self.phone_region.len() != 2 {
            return Err(invalid(
                "phone_region",
                "must be a two-letter region such as IT",
            ));
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lexgate.toml");
        std::fs::write(&path, "database_url = \"postgres://db/x\"\npool_size = 3\n")
            .expect("write");
        let s = Settings::load(Some(&path)).expect("loads");
        assert_eq!(s.database_url, "postgres://db/x");
        assert_eq!(s.pool_size, 3);
        assert_eq!(s.bind, Settings::default().bind);

        std::fs::write(&path, "databse_url = \"typo\"\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Parse { .. })
        ));

        std::fs::write(&path, "pool_size = 0\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid {
                name: "pool_size",
                ..
            })
        ));
    }
}
