//! The server secret that keys stored digests: from config, or generated
//! once into `<data_dir>/server.secret` (mode 0600).

use anyhow::Context;
use std::path::Path;

/// File name of the generated secret inside the data directory.
pub const SECRET_FILE: &str = "server.secret";

/// Returns the configured secret, or reads (creating on first use) the
/// data directory's secret file.
pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = configured {
        anyhow::ensure!(s.len() >= 16, "keys.secret must be at least 16 characters");
        return Ok(s.as_bytes().to_vec());
    }
    let path = data_dir.join(SECRET_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let text = text.trim();
        anyhow::ensure!(text.len() >= 32, "{} is too short; was it truncated?", path.display());
        return Ok(text.as_bytes().to_vec());
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    Ok(text.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_is_stable_across_loads() {
        let dir = std::env::temp_dir().join(format!("kwsecret-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = load_or_create(None, &dir).unwrap();
        let b = load_or_create(None, &dir).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(load_or_create(Some("configured-secret-123"), &dir).unwrap(), b"configured-secret-123");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
