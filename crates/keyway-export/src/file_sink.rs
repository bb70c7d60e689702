//! The JSON-lines call log in a file: each batch appended and flushed,
//! the file created (private to its owner) when missing, and reopened on
//! SIGHUP, so `logrotate` (move the file, then send SIGHUP) or any tool
//! that renames it works without losing a row. A write that fails is
//! retried with backoff on a freshly opened file.

use crate::pump::{Destination, Encoded, SendError};
use crate::{ndjson, Batch};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// A file the call log is appended to.
#[derive(Debug)]
pub(crate) struct FileSink {
    path: PathBuf,
    file: Mutex<Option<tokio::fs::File>>,
    reopen: Arc<AtomicBool>,
}

impl FileSink {
    /// A sink appending to `path`, opened at the first batch; setting
    /// `reopen` has the next batch go to a freshly opened file.
    pub(crate) fn new(path: PathBuf, reopen: Arc<AtomicBool>) -> Self {
        Self { path, file: Mutex::new(None), reopen }
    }

    async fn open(&self) -> std::io::Result<tokio::fs::File> {
        let mut options = tokio::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        options.mode(0o600);
        options.open(&self.path).await
    }

    async fn write(&self, chunks: &[&Vec<u8>]) -> std::io::Result<()> {
        let mut guard = self.file.lock().await;
        if self.reopen.swap(false, Ordering::Relaxed) {
            if let Some(mut old) = guard.take() {
                old.flush().await?;
            }
        }
        let file = match guard.as_mut() {
            Some(f) => f,
            None => guard.insert(self.open().await?),
        };
        let result = async {
            for chunk in chunks {
                file.write_all(chunk).await?;
            }
            file.flush().await
        }
        .await;
        if result.is_err() {
            // Try a fresh handle next time.
            *guard = None;
        }
        result
    }
}

impl Destination for FileSink {
    type Chunk = Vec<u8>;

    fn encode(&self, batch: &Batch) -> Option<Encoded<Vec<u8>>> {
        let chunk = ndjson::encode(batch);
        (!chunk.is_empty()).then(|| Encoded { items: batch.len() as u64, weight: chunk.len(), chunk })
    }

    async fn send(&self, chunks: &[&Vec<u8>]) -> Result<(), SendError> {
        self.write(chunks).await.map_err(|e| SendError::Retry(format!("{}: {e}", self.path.display())))
    }
}

/// Sets `reopen` on every SIGHUP, until the task is aborted.
#[cfg(unix)]
pub(crate) fn reopen_on_sighup(reopen: Arc<AtomicBool>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: the call-log export file is reopened at the next batch");
            reopen.store(true, Ordering::Relaxed);
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_and_reopens_a_moved_file() {
        let dir = std::env::temp_dir().join(format!("kw-export-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("calls.ndjson");
        let _ = std::fs::remove_file(&path);
        let reopen = Arc::new(AtomicBool::new(false));
        let sink = FileSink::new(path.clone(), reopen.clone());
        let a = b"{\"a\":1}\n".to_vec();
        let b = b"{\"b\":2}\n".to_vec();
        sink.send(&[&a, &b]).await.unwrap();
        let moved = dir.join("calls.ndjson.1");
        std::fs::rename(&path, &moved).unwrap();
        // Until told, writes go on to the moved file (the open handle).
        sink.send(&[&a]).await.unwrap();
        reopen.store(true, Ordering::Relaxed);
        sink.send(&[&b]).await.unwrap();
        assert_eq!(std::fs::read_to_string(&moved).unwrap(), "{\"a\":1}\n{\"b\":2}\n{\"a\":1}\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"b\":2}\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
