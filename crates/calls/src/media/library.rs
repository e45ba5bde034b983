//! The audio the media engine plays: prompts fetched from their `mediaInfo.uri` (cached by URI), and the files the
//! simulated people say (`sim:<name>`, kept in the data directory's `media/` folder or uploaded through `/_sim`).
//! Loading happens in the background; the conference asks for what it needs and waits, silent, until it is there.

use std::{
    collections::{HashMap, VecDeque},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use switchboard_media::{Clip, Library, Lookup, codec};
use tokio::sync::{Semaphore, watch};
use uuid::Uuid;

use super::fetch::{ByteBudget, FetchPolicy, fetch};

/// The prefix of the simulated people's media in library keys.
pub(crate) const SIM_PREFIX: &str = "sim:";
/// A failed load is remembered this long before it is tried again.
const FAILURE_MEMORY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
enum Entry {
    Loading,
    Ready(Clip),
    Failed(String, Instant),
}

#[derive(Debug, Clone)]
pub struct LibraryConfig {
    pub fetch: FetchPolicy,
    /// Where the simulated people's media files live; `None` keeps uploads in memory.
    pub files: Option<PathBuf>,
    /// The longest audio accepted, in seconds.
    pub max_seconds: u64,
    /// How many samples of decoded audio the cache keeps.
    pub cache_samples: usize,
    /// How many prompts are fetched and decoded at once, for all apps and for each one, and how many of their bytes
    /// may be held at once: a bot asking for many large prompts (a query string makes each URI new to the cache)
    /// waits for its turn instead of making the server hold them all.
    pub fetches: FetchLimits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    pub at_once: usize,
    pub at_once_per_app: usize,
    pub bytes_in_flight: u64,
}

impl Default for FetchLimits {
    fn default() -> FetchLimits {
        FetchLimits { at_once: 4, at_once_per_app: 2, bytes_in_flight: 64 * 1024 * 1024 }
    }
}

pub struct ClipLibrary {
    entries: Mutex<HashMap<String, Entry>>,
    /// Keys of ready clips, oldest first, for eviction.
    order: Mutex<VecDeque<String>>,
    /// Loads under way.
    loading: watch::Sender<usize>,
    /// Uploads, when there is no directory to keep them in.
    uploads: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    /// Turns at fetching and decoding a prompt: for everyone, and per app.
    fetching: Arc<Semaphore>,
    fetching_per_app: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
    budget: ByteBudget,
    config: LibraryConfig,
}

const POISON: &str = "invariant: nothing panics while holding a library lock";

/// A media name of the simulated people: letters, digits, `.`, `-` and `_`, not starting with a dot.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn extension(name: &str) -> Option<&str> {
    let last = name.rsplit('/').next()?.split(['?', '#']).next()?;
    last.rsplit_once('.').map(|(_, extension)| extension)
}

impl ClipLibrary {
    pub fn new(config: LibraryConfig) -> Arc<ClipLibrary> {
        Arc::new(ClipLibrary {
            entries: Mutex::new(HashMap::new()),
            order: Mutex::new(VecDeque::new()),
            loading: watch::Sender::new(0),
            uploads: Mutex::new(HashMap::new()),
            fetching: Arc::new(Semaphore::new(config.fetches.at_once.max(1))),
            fetching_per_app: Mutex::new(HashMap::new()),
            budget: ByteBudget::new(config.fetches.bytes_in_flight),
            config,
        })
    }

    /// Starts loading `key` for `app` (the app whose call plays it, when known) unless it is loaded, loading, or
    /// failed a moment ago.
    pub(crate) fn request(self: &Arc<Self>, key: &str, app: Option<Uuid>) {
        {
            let mut entries = self.entries.lock().expect(POISON);
            match entries.get(key) {
                Some(Entry::Loading | Entry::Ready(_)) => return,
                Some(Entry::Failed(_, at)) if at.elapsed() < FAILURE_MEMORY => return,
                _ => {}
            }
            entries.insert(key.to_owned(), Entry::Loading);
        }
        self.loading.send_modify(|n| *n += 1);
        let library = self.clone();
        let key = key.to_owned();
        tokio::spawn(async move {
            let loaded = library.load(&key, app).await;
            library.settle(&key, loaded);
            library.loading.send_modify(|n| *n -= 1);
        });
    }

    async fn load(&self, key: &str, app: Option<Uuid>) -> Result<Clip, String> {
        let extension = extension(key).map(str::to_owned);
        let Some(name) = key.strip_prefix(SIM_PREFIX) else {
            // A turn of the app's, then one of everyone's, held until the prompt is decoded.
            let app_turns = app.map(|app| {
                let mut per_app = self.fetching_per_app.lock().expect(POISON);
                let at_once = self.config.fetches.at_once_per_app.max(1);
                per_app.entry(app).or_insert_with(|| Arc::new(Semaphore::new(at_once))).clone()
            });
            let _app_turn = match app_turns {
                Some(turns) => Some(turns.acquire_owned().await.expect("invariant: fetch turns are never closed")),
                None => None,
            };
            let _turn = self.fetching.acquire().await.expect("invariant: fetch turns are never closed");
            let fetched = fetch(key, &self.config.fetch, &self.budget).await?;
            return self.decode(fetched.bytes, extension).await;
        };
        let bytes = self.file(name).await?;
        self.decode(bytes.to_vec(), extension).await
    }

    /// Decodes audio off the async threads.
    async fn decode(&self, bytes: Vec<u8>, extension: Option<String>) -> Result<Clip, String> {
        let max_seconds = self.config.max_seconds;
        let decoded = tokio::task::spawn_blocking(move || codec::decode(bytes, extension.as_deref(), max_seconds))
            .await
            .map_err(|e| format!("decoding failed: {e}"))?;
        decoded.map_err(|e| e.to_string())
    }

    fn settle(&self, key: &str, loaded: Result<Clip, String>) {
        let mut entries = self.entries.lock().expect(POISON);
        match loaded {
            Ok(clip) => {
                entries.insert(key.to_owned(), Entry::Ready(clip));
                let mut order = self.order.lock().expect(POISON);
                order.push_back(key.to_owned());
                // Evict the oldest clips beyond the budget; playing ones keep their own reference.
                let mut total: usize =
                    entries.values().map(|e| if let Entry::Ready(c) = e { c.samples().len() } else { 0 }).sum();
                while total > self.config.cache_samples && order.len() > 1 {
                    let Some(oldest) = order.pop_front() else { break };
                    if let Some(Entry::Ready(clip)) = entries.remove(&oldest) {
                        total -= clip.samples().len();
                    }
                }
            }
            Err(why) => {
                tracing::warn!(key, %why, "media could not be loaded");
                entries.insert(key.to_owned(), Entry::Failed(why, Instant::now()));
            }
        }
    }

    /// Waits until nothing is loading (the virtual clock does not move while media loads).
    pub(crate) async fn settled(&self) {
        let mut loading = self.loading.subscribe();
        let _ = loading.wait_for(|n| *n == 0).await;
    }

    /// The clip of `key`, loading it if need be.
    pub(crate) async fn clip(self: &Arc<Self>, key: &str) -> Result<Clip, String> {
        self.request(key, None);
        let mut loading = self.loading.subscribe();
        loop {
            match self.entries.lock().expect(POISON).get(key).cloned() {
                Some(Entry::Ready(clip)) => return Ok(clip),
                Some(Entry::Failed(why, _)) => return Err(why),
                Some(Entry::Loading) => {}
                None => self.request(key, None),
            }
            if loading.changed().await.is_err() {
                return Err("the media library stopped".into());
            }
        }
    }

    // ---- the simulated people's files --------------------------------------------------------------------------

    /// A file of the media library by its name — never a path: `/_sim` speech and `sim:` prompt URIs name files
    /// of the library only, and the answer for a name that is not one is the answer for a file that does not exist,
    /// so it tells nothing about the disk.
    pub(crate) async fn file(&self, name: &str) -> Result<Arc<Vec<u8>>, String> {
        let missing = || {
            format!(
                "there is no media file '{name}' (a name of GET /_sim/media: letters, digits, '.', '-', '_'); upload it \
                 with PUT /_sim/media/<name>"
            )
        };
        if !valid_name(name) {
            return Err(missing());
        }
        if let Some(bytes) = self.uploads.lock().expect(POISON).get(name) {
            return Ok(bytes.clone());
        }
        let Some(directory) = &self.config.files else { return Err(missing()) };
        let path = directory.join(name);
        tokio::fs::read(&path).await.map(Arc::new).map_err(|error| {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), %error, "a media file cannot be read");
            }
            missing()
        })
    }

    /// Stores a file the simulated people can say, after checking it decodes; returns its length in ms.
    pub(crate) async fn upload(self: &Arc<Self>, name: &str, bytes: Vec<u8>) -> Result<u64, String> {
        if !valid_name(name) {
            return Err(format!("'{name}' is not a media name (letters, digits, '.', '-', '_')"));
        }
        let clip = self.decode(bytes.clone(), extension(name).map(str::to_owned)).await?;
        match &self.config.files {
            Some(directory) => {
                tokio::fs::create_dir_all(directory)
                    .await
                    .map_err(|e| format!("cannot create {}: {e}", directory.display()))?;
                let path = directory.join(name);
                tokio::fs::write(&path, &bytes).await.map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            None => {
                self.uploads.lock().expect(POISON).insert(name.to_owned(), Arc::new(bytes));
            }
        }
        let duration = clip.duration_ms();
        self.settle(&format!("{SIM_PREFIX}{name}"), Ok(clip));
        Ok(duration)
    }

    /// The simulated people's files: name and size in bytes.
    pub(crate) async fn files(&self) -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> =
            self.uploads.lock().expect(POISON).iter().map(|(n, b)| (n.clone(), b.len() as u64)).collect();
        if let Some(directory) = &self.config.files
            && let Ok(mut entries) = tokio::fs::read_dir(directory).await
        {
            while let Ok(Some(entry)) = entries.next_entry().await {
                let name = entry.file_name().to_string_lossy().into_owned();
                let size = entry.metadata().await.map(|m| m.len()).unwrap_or_default();
                if valid_name(&name) && entry.file_type().await.is_ok_and(|t| t.is_file()) {
                    files.push((name, size));
                }
            }
        }
        files.sort();
        files.dedup_by(|a, b| a.0 == b.0);
        files
    }

    pub(crate) async fn delete_file(&self, name: &str) -> bool {
        if !valid_name(name) {
            return false;
        }
        self.entries.lock().expect(POISON).remove(&format!("{SIM_PREFIX}{name}"));
        let uploaded = self.uploads.lock().expect(POISON).remove(name).is_some();
        let removed = match &self.config.files {
            Some(directory) => tokio::fs::remove_file(directory.join(name)).await.is_ok(),
            None => false,
        };
        uploaded || removed
    }
}

impl Library for ClipLibrary {
    fn lookup(&self, key: &str) -> Lookup {
        match self.entries.lock().expect(POISON).get(key) {
            Some(Entry::Ready(clip)) => Lookup::Ready(clip.clone()),
            Some(Entry::Failed(why, _)) => Lookup::Failed(why.clone()),
            // Loading, or evicted and asked for again at the next step.
            Some(Entry::Loading) | None => Lookup::Pending,
        }
    }
}
